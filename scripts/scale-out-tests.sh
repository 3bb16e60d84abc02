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

# The api, review and postgres test binaries, run again on Postgres as `make test`'s own
# `cargo test --workspace` built them (found with --no-run, which builds nothing after it). A cargo
# call with --test filters resolves a smaller unit graph (no CLI, so no clap): shared
# dependencies get other hashes, and c2pa, candle and every crate here would build a second time.
suites=$(cargo test "${cargo_flags[@]}" --workspace --no-run --message-format=json | python3 -c '
import json, os, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") \
            and m["target"]["kind"] == ["test"] and m["target"]["name"] in ("api", "review", "postgres"):
        print(os.path.dirname(m["manifest_path"]), m["executable"], sep="\t")
')
if [ "$(wc -l <<<"$suites")" -ne 3 ]; then
  echo "error: expected the api, review and postgres test binaries, found: $suites" >&2
  exit 1
fi
while IFS=$'\t' read -r dir exe; do
  echo "running $(basename "$exe") on Postgres"
  # cargo test runs a test binary in its package's folder.
  (cd "$dir" && VERITY_TEST_BACKEND=postgres VERITY_REQUIRE_MEDIA=1 VERITY_REQUIRE_POSTGRES=1 "$exe")
done <<<"$suites"
python3 scripts/kill-test.py "$verity" --postgres "$VERITY_TEST_POSTGRES"
python3 scripts/kill-test.py "$verity" --postgres "$VERITY_TEST_POSTGRES" --replicas 3 --jobs 500 --kills 1
# The API fuzz against a server on Postgres: a 500 that only Postgres gives (text that SQLite
# takes and Postgres refuses) fails it.
db="verity_fuzz_$$"
psql "$VERITY_TEST_POSTGRES" -X -q -c "CREATE DATABASE $db"
VERITY_DATABASE_URL="${VERITY_TEST_POSTGRES%/*}/$db" \
  python3 scripts/api-fuzz.py "$verity" --max-examples 100
