#!/usr/bin/env bash
# Benchmark: the service's synchronous POST /v1/verify under load (wrk, on loopback) at
# concurrency 1, 4 and 16, against `verity verify` run the same number of times from the shell
# at the same concurrency, interleaved in one run; then the service's peak RSS over the whole load.
#
# Usage: benches/serve.sh [SECONDS]     (default 20 s of load per concurrency; `make bench-serve`)
set -euo pipefail
secs="${1:-20}"
media=.cache/media
bash scripts/fetch-media.sh "$media"
if ! command -v wrk >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get install -y -qq wrk >/dev/null
fi
cargo build --ignore-rust-version --release --quiet -p verity
verity="$PWD/target/release/verity"
tmp=$(mktemp -d)
server=""
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
export VERITY_HOME="$tmp/home"
"$verity" --quiet keys init --org Bench >/dev/null
token=$("$verity" serve keys create --name bench --scope verify --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
# A short real clip: the first 3 s of the CGI footage (720p, H.264), copied without re-encoding.
clip="$tmp/clip.mp4"
ffmpeg -hide_banner -loglevel error -nostdin -y -t 3 -i "$media/bigbuckbunny.mp4" -c copy "$clip"
printf 'workers = 0\n[limits]\nrequests_per_minute = 0\n' > "$tmp/serve.toml"
"$verity" serve --listen 127.0.0.1:0 --config "$tmp/serve.toml" > "$tmp/serve.out" 2>/dev/null &
server=$!
for _ in $(seq 1 300); do grep -q listening "$tmp/serve.out" 2>/dev/null && break; sleep 0.1; done
base=$(sed -n 's/^verity serve: listening on //p' "$tmp/serve.out")
[ -n "$base" ] || { echo "the service did not start" >&2; exit 1; }
cat > "$tmp/post.lua" <<LUA
local f = assert(io.open("$clip", "rb"))
wrk.method = "POST"
wrk.body = f:read("*all")
f:close()
wrk.headers["Authorization"] = "Bearer $token"
wrk.headers["Content-Type"] = "application/octet-stream"
LUA
echo "| concurrency | service: clips | service: s per clip | p50 | p99 | errors | CLI: s per clip (same count) | service / CLI |"
echo "|---|---|---|---|---|---|---|---|"
for c in 1 4 16; do
  threads=$(( c < 2 ? 1 : 2 ))
  wrk -t "$threads" -c "$c" -d "${secs}s" --timeout 120s --latency -s "$tmp/post.lua" \
    "$base/v1/verify?filename=clip.mp4" > "$tmp/wrk.$c"
  n=$(sed -n 's/^ *\([0-9]*\) requests in \([0-9.]*\)s.*/\1/p' "$tmp/wrk.$c")
  dur=$(sed -n 's/^ *[0-9]* requests in \([0-9.]*\)s.*/\1/p' "$tmp/wrk.$c")
  p50=$(awk '$1=="50%"{print $2}' "$tmp/wrk.$c")
  p99=$(awk '$1=="99%"{print $2}' "$tmp/wrk.$c")
  non2xx=$(sed -n 's/^ *Non-2xx or 3xx responses: *\([0-9]*\).*/\1/p' "$tmp/wrk.$c"); non2xx=${non2xx:-0}
  sockerr=$(sed -n 's/.*Socket errors: \(.*\)/\1/p' "$tmp/wrk.$c")
  errors="$non2xx"; [ -n "$sockerr" ] && errors="$non2xx; socket: $sockerr"
  start=$(date +%s.%N)
  seq "$n" | xargs -P "$c" -I{} sh -c '"$0" --quiet verify --json "$1" >/dev/null || [ $? -eq 5 ]' "$verity" "$clip"
  end=$(date +%s.%N)
  python3 - "$c" "$n" "$dur" "$start" "$end" "$p50" "$p99" "$errors" <<'PY'
import sys
c, n, dur, start, end, p50, p99, errors = sys.argv[1:]
n, dur = int(n), float(dur)
cli = (float(end) - float(start)) / n
svc = dur / n
print(f"| {c} | {n} | {svc:.3f} | {p50} | {p99} | {errors} | {cli:.3f} | {svc / cli:.2f}× |")
PY
done
rss=$(awk '/VmHWM/{print $2}' "/proc/$server/status")
echo
echo "service peak RSS over the whole load: $((rss / 1024)) MB"
