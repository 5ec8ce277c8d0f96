#!/bin/sh
# Temporal's persistence and visibility databases on Postgres, with the official
# temporal-sql-tool of temporalio/admin-tools (it reads SQL_PLUGIN, SQL_HOST, SQL_PORT,
# SQL_USER and SQL_PASSWORD from the environment). Safe to re-run: an existing database is
# kept, setup-schema only creates the version table, update-schema applies what is missing.
set -eu
SCHEMA=/etc/temporal/schema/postgresql/v12
for db in temporal temporal_visibility; do
  temporal-sql-tool --db "$db" create || echo "database $db already exists"
done
temporal-sql-tool --db temporal setup-schema -v 0.0
temporal-sql-tool --db temporal update-schema -d "$SCHEMA/temporal/versioned"
temporal-sql-tool --db temporal_visibility setup-schema -v 0.0
temporal-sql-tool --db temporal_visibility update-schema -d "$SCHEMA/visibility/versioned"
