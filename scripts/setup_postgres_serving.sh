#!/usr/bin/env bash
# Prepare a PostgreSQL server as clientmart's serving target: the loader role and the database.
#   CLIENTMART_LOADER_PASSWORD=... scripts/setup_postgres_serving.sh "postgresql://postgres@dbhost/postgres" [database] [loader_role]
# The first argument is a superuser connection string (libpq; a password comes from PGPASSWORD
# or ~/.pgpass). Then set CLIENTMART_POSTGRES_DSN=postgresql://<loader_role>@dbhost/<database>
# for the pipeline. See docs/serving.md.
set -euo pipefail
if [ $# -lt 1 ]; then
  sed -n '2,6p' "$0" >&2
  exit 2
fi
: "${CLIENTMART_LOADER_PASSWORD:?set CLIENTMART_LOADER_PASSWORD to the password the loader role gets}"
PSQL="${PSQL:-psql}"
"$PSQL" "$1" -X -q \
  -v database="${2:-clientmart}" \
  -v loader_role="${3:-clientmart_loader}" \
  -v loader_password="$CLIENTMART_LOADER_PASSWORD" \
  -f "$(dirname "$0")/postgres_serving_setup.sql"
echo "serving target ready: database ${2:-clientmart}, loader role ${3:-clientmart_loader}"
