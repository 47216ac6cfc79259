#!/bin/sh
# One database and one login role per service, the role owning its database and the only one
# (with the superuser) allowed to connect to it: no service can read another's tables.
#
# Idempotent: docker compose runs it at every `up` (the postgres-setup job), so a service added
# later gets its database, and a changed password in .env is applied. Reads:
#   SERVICE_DATABASES         names, space-separated (each is the database and its role)
#   <NAME>_DB_PASSWORD        each role's password (NAME in upper case, e.g. SCORING_DB_PASSWORD)
#   PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE   how psql reaches the server as superuser
set -eu

for name in ${SERVICE_DATABASES:?set SERVICE_DATABASES}; do
  case "$name" in
    *[!a-z0-9_]*) echo "postgres-setup: invalid database name '$name'" >&2; exit 1 ;;
  esac
  variable="$(echo "$name" | tr '[:lower:]' '[:upper:]')_DB_PASSWORD"
  eval "password=\${$variable:-}"
  if [ -z "$password" ]; then
    echo "postgres-setup: $variable is not set" >&2
    exit 1
  fi
  psql --no-psqlrc --quiet -v ON_ERROR_STOP=1 -v name="$name" -v password="$password" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN', :'name')
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'name') \gexec
ALTER ROLE :"name" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'password';
SELECT format('CREATE DATABASE %I OWNER %I', :'name', :'name')
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'name') \gexec
REVOKE ALL ON DATABASE :"name" FROM PUBLIC;
GRANT ALL ON DATABASE :"name" TO :"name";
SQL
  echo "postgres-setup: database and role '$name' ready"
done
