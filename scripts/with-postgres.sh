#!/usr/bin/env bash
# Runs a command beside a throwaway PostgreSQL server: a new cluster in a temporary folder,
# listening on 127.0.0.1 only (and a socket in that folder), its one user `verity` with a random
# password (so other users of the machine cannot connect), stopped and removed when the command
# ends or this script is stopped (INT, TERM).
#
#   scripts/with-postgres.sh CMD [ARGS…]
#
# The command sees VERITY_TEST_POSTGRES=postgres://verity:PASSWORD@127.0.0.1:PORT/postgres: a
# URL whose user may create databases (each test makes its own). Debian's server binaries are used
# (/usr/lib/postgresql/N/bin, the newest N); as root, the server runs as the `postgres` user,
# since PostgreSQL refuses to run as root.
set -euo pipefail

if [ $# -eq 0 ]; then
  echo "usage: $0 CMD [ARGS…]" >&2
  exit 2
fi

bin=""
for d in /usr/lib/postgresql/*/bin; do
  [ -x "$d/postgres" ] && bin="$d"
done
if [ -z "$bin" ] && command -v pg_ctl >/dev/null 2>&1; then
  bin="$(dirname "$(command -v pg_ctl)")"
fi
if [ -z "$bin" ]; then
  echo "error: no PostgreSQL server found (Debian's package postgresql; make deps installs it)" >&2
  exit 1
fi

dir="$(mktemp -d "${TMPDIR:-/tmp}/verity-pg-XXXXXX")"
as_pg=()
if [ "$(id -u)" -eq 0 ]; then
  chown postgres: "$dir"
  as_pg=(runuser -u postgres --)
fi

# A free loopback port, from the kernel.
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"

stop() {
  "${as_pg[@]}" "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap stop EXIT
trap 'exit 130' INT TERM

password="$(python3 -c 'import secrets; print(secrets.token_hex(16))')"
(umask 077 && printf '%s\n' "$password" >"$dir/pw")
[ ${#as_pg[@]} -gt 0 ] && chown postgres: "$dir/pw"
"${as_pg[@]}" "$bin/initdb" -D "$dir/data" -U verity --pwfile="$dir/pw" -A scram-sha-256 -E UTF8 \
  --no-locale >"$dir/initdb.log" 2>&1 || {
  cat "$dir/initdb.log" >&2
  exit 1
}
# Enough connections for three replicas' pools and the tests' own; fsync off: a throwaway
# cluster whose durability is not what is tested (the kill tests kill verity, not Postgres).
# The benchmarks set VERITY_PG_FSYNC=on, to measure commits as a real server makes them.
fsync="${VERITY_PG_FSYNC:-off}"
"${as_pg[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
  -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=$fsync" \
  start >/dev/null || {
  cat "$dir/server.log" >&2
  exit 1
}

rm -f "$dir/pw"
export VERITY_TEST_POSTGRES="postgres://verity:$password@127.0.0.1:$port/postgres"
echo "with-postgres: PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port" >&2
# The command runs in the background so that a signal to this script stops it and the server.
"$@" &
child=$!
trap 'kill -TERM "$child" 2>/dev/null; wait "$child"; exit 143' TERM
trap 'kill -INT "$child" 2>/dev/null; wait "$child"; exit 130' INT
wait "$child"
