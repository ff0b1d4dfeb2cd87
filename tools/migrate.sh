#!/bin/bash
# Applies sql/NNN_*.sql in order, each in its own transaction, recording the
# version (file name without .sql) in schema_migrations and skipping the
# applied ones, exactly as `hubgated migrate` does (same bookkeeping, same
# advisory lock); kept for tests that need the schema without the binary.
#
#   tools/migrate.sh [psql connection args...]
#     default: the private cluster of tools/services.sh, as role hubgate
#   HUBGATE_SQL_DIR: migrations dir (default <repo>/sql)
#
# Safe against concurrent runs: a transaction-scoped advisory lock
# serialises migrators, and the "applied?" check happens under it.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
sqldir=${HUBGATE_SQL_DIR:-$repo/sql}

if [ $# -eq 0 ]; then
    psql=("$repo/tools/services.sh" psql)
else
    psql=(psql "$@")
fi

shopt -s nullglob
files=("$sqldir"/[0-9]*.sql)
[ ${#files[@]} -gt 0 ] || { echo "migrate: no migrations in $sqldir" >&2; exit 1; }

for f in "${files[@]}"; do   # glob order = lexical = numeric with NNN_ prefix
    v=$(basename "$f" .sql)
    out=$("${psql[@]}" -X -q -At -v ON_ERROR_STOP=1 -v version="$v" -v file="$f" <<'EOF2'
BEGIN;
SELECT pg_advisory_xact_lock(7307555142713856);  -- 'hubgate migrate'
SELECT to_regclass('schema_migrations') IS NULL AS fresh \gset
\if :fresh
\set todo 1
\else
SELECT count(*) = 0 AS todo FROM schema_migrations WHERE version = :'version' \gset
\endif
\if :todo
\set QUIET on
\o /dev/null
\i :file
\o
INSERT INTO schema_migrations (version) VALUES (:'version');
\echo applied
\else
\echo skipped
\endif
COMMIT;
EOF2
) || { echo "migrate: $v failed" >&2; exit 1; }
    echo "migrate: $v ${out##*$'\n'}"
done
