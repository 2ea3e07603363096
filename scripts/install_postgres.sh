#!/usr/bin/env bash
# Make PostgreSQL server binaries available for the test suite (tests/postgres starts its own
# throwaway server from them) and for a local serving target. Idempotent: does nothing when
# the binaries are already there. Uses Debian's packages; creates no cluster and starts nothing.
set -euo pipefail

have_binaries() {
  compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null && compgen -G "/usr/lib/postgresql/*/bin/pg_ctl" >/dev/null
}

if have_binaries; then
  echo "PostgreSQL binaries present: $(ls -d /usr/lib/postgresql/*/bin | tr '\n' ' ')"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  SUDO=sudo
  command -v sudo >/dev/null || { echo "install_postgres.sh: not root and no sudo; install postgresql (server) with your package manager" >&2; exit 1; }
else
  SUDO=
fi
command -v apt-get >/dev/null || { echo "install_postgres.sh: no apt-get; install the PostgreSQL server (15 or later) with your package manager" >&2; exit 1; }

# Do not create or start the distribution's default cluster: tests make their own.
$SUDO mkdir -p /etc/postgresql-common
if ! grep -qs '^create_main_cluster' /etc/postgresql-common/createcluster.conf; then
  echo "create_main_cluster = false" | $SUDO tee -a /etc/postgresql-common/createcluster.conf >/dev/null
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
if apt-cache show postgresql-15 >/dev/null 2>&1; then
  package=postgresql-15
else
  package=postgresql   # the distribution's current major version
fi
$SUDO apt-get install -y -qq --no-install-recommends "$package" >/dev/null
have_binaries || { echo "install_postgres.sh: $package installed but no initdb under /usr/lib/postgresql/*/bin" >&2; exit 1; }
echo "installed $package: $(ls -d /usr/lib/postgresql/*/bin | tr '\n' ' ')"
