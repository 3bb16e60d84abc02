#!/usr/bin/env bash
# The scale-out tests, run beside a PostgreSQL server (scripts/with-postgres.sh sets
# VERITY_TEST_POSTGRES): the service's API and review suites on Postgres, the kill test on
# Postgres, the replica test (three replicas sharing one database and one object store, 500
# jobs, one replica SIGKILLed mid-run and started again), and the API fuzz on Postgres.
#
#   scripts/with-postgres.sh bash scripts/scale-out-tests.sh target/debug/verity
set -euo pipefail
verity="${1:?usage: scale-out-tests.sh path/to/verity}"
: "${VERITY_TEST_POSTGRES:?run under scripts/with-postgres.sh}"
cargo_flags=(--ignore-rust-version --locked)

# --workspace, as make test builds: the same features, so the same test binaries (a `-p` build
# would unify features over one package and rebuild much of the tree).
VERITY_TEST_BACKEND=postgres VERITY_REQUIRE_MEDIA=1 VERITY_REQUIRE_POSTGRES=1 \
  cargo test "${cargo_flags[@]}" --workspace --test api --test review --test postgres
python3 scripts/kill-test.py "$verity" --postgres "$VERITY_TEST_POSTGRES"
python3 scripts/kill-test.py "$verity" --postgres "$VERITY_TEST_POSTGRES" --replicas 3 --jobs 500 --kills 1
# The API fuzz against a server on Postgres: a 500 that only Postgres gives (text that SQLite
# takes and Postgres refuses) fails it.
db="verity_fuzz_$$"
psql "$VERITY_TEST_POSTGRES" -X -q -c "CREATE DATABASE $db"
VERITY_DATABASE_URL="${VERITY_TEST_POSTGRES%/*}/$db" \
  python3 scripts/api-fuzz.py "$verity" --max-examples 100
