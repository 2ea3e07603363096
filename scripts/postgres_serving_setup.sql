-- One-time setup of a PostgreSQL server as clientmart's serving target (docs/serving.md).
-- Run as a superuser with psql; scripts/setup_postgres_serving.sh passes the variables:
--   database         the serving database (created, owned by the loader)
--   loader_role      the role the pipeline logs in as (CLIENTMART_POSTGRES_DSN)
--   loader_password  its password
-- The loader gets CREATEROLE (to keep one NOLOGIN role per institution) but neither
-- SUPERUSER nor BYPASSRLS. Everything else (schemas, roles, policies, data) is made by
-- clientmart.serving.postgres.load_publication at every publication. Idempotent.
\set ON_ERROR_STOP on

SELECT format('CREATE ROLE %I LOGIN CREATEROLE PASSWORD %L', :'loader_role', :'loader_password')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'loader_role') \gexec
SELECT format('ALTER ROLE %I LOGIN CREATEROLE NOSUPERUSER NOBYPASSRLS PASSWORD %L',
              :'loader_role', :'loader_password') \gexec

SELECT format('CREATE DATABASE %I OWNER %I', :'database', :'loader_role')
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'database') \gexec
-- Only members of clientmart_reader (granted by the loader) may connect.
SELECT format('REVOKE ALL ON DATABASE %I FROM PUBLIC', :'database') \gexec

\connect :database
-- Nobody but the loader creates objects; readers get nothing from the public schema.
REVOKE ALL ON SCHEMA public FROM PUBLIC;
