#!/usr/bin/env bash
# make fuzz: runs each fuzz target (fuzz/fuzz_targets) for a bounded time with cargo-fuzz on
# stable Rust (`--sanitizer none`: libFuzzer's coverage guidance without a sanitizer runtime).
# libFuzzer stops a run on a panic, on an input that takes longer than 30 s (a hang), or on one
# that allocates more than 1 GiB; the input is kept under fuzz/artifacts/TARGET/.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]     (default 60 s, every target)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(box_scan verify prompt keys accumulator)

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "installing cargo-fuzz (once)" >&2
  cargo install cargo-fuzz --locked
fi

# Seed corpora, made here rather than committed: small real MP4s (plain, signed, fragmented,
# rotated), prompts, and PEM files.
corpus=fuzz/corpus
mkdir -p "$corpus"/{box_scan,verify,prompt,keys,accumulator}
if [ -z "$(ls -A "$corpus/verify")" ]; then
  ff() { ffmpeg -hide_banner -loglevel error -nostdin -y "$@"; }
  ff -f lavfi -i testsrc2=s=160x128:r=10:d=1 -c:v libx264 -preset ultrafast -pix_fmt yuv420p "$corpus/verify/plain.mp4"
  ff -f lavfi -i testsrc2=s=160x128:r=10:d=1 -f lavfi -i sine=d=1 -c:v libx264 -preset ultrafast \
     -pix_fmt yuv420p -c:a aac -shortest -movflags frag_keyframe+empty_moov "$corpus/verify/frag.mp4"
  ff -i "$corpus/verify/plain.mp4" -c copy -metadata:s:v:0 rotate=90 "$corpus/verify/rotated.mp4"
  home=$(mktemp -d)
  cargo build --ignore-rust-version --locked -p verity
  VERITY_HOME="$home" target/debug/verity keys init --org fuzz >/dev/null
  ff -f lavfi -i testsrc2=s=256x144:r=10:d=1 -c:v libx264 -preset ultrafast -pix_fmt yuv420p "$home/in.mp4"
  VERITY_HOME="$home" target/debug/verity -q sign "$home/in.mp4" -o "$corpus/verify/signed.mp4" >/dev/null
  cp "$home"/keys/*.pem "$corpus/keys/"
  rm -rf "$home"
  cp "$corpus"/verify/*.mp4 "$corpus/box_scan/"
  printf 'a small red ball bounces from left to right while the camera pans right' > "$corpus/prompt/design"
  printf 'a red ball collides with a large blue cube on sand' > "$corpus/prompt/collide"
  printf 'a green triangle moves up in the sky while the camera zooms in' > "$corpus/prompt/zoom"
fi

# c2pa 0.91 declares rust-version 1.96 but builds on this 1.95 toolchain; cargo-fuzz cannot pass
# --ignore-rust-version to the cargo it runs, so a shim first on PATH adds it to the cargo
# commands that build (build, run, check, rustc).
shim=$(mktemp -d)
trap 'rm -rf "$shim"' EXIT
real_cargo=$(command -v cargo)
cat >"$shim/cargo" <<SHIM
#!/usr/bin/env bash
case "\${1:-}" in
  build|run|check|rustc) sub=\$1; shift; exec "$real_cargo" "\$sub" --ignore-rust-version "\$@" ;;
esac
exec "$real_cargo" "\$@"
SHIM
chmod +x "$shim/cargo"

status=0
for t in "${targets[@]}"; do
  echo "== fuzz $t for ${seconds} s" >&2
  log="fuzz/last-$t.log"
  rc=0
  PATH="$shim:$PATH" cargo fuzz run --sanitizer none "$t" "$corpus/$t" -- \
    -max_total_time="$seconds" -timeout=30 -rss_limit_mb=1024 -malloc_limit_mb=1024 \
    -print_final_stats=1 >"$log" 2>&1 || rc=$?
  grep -E '^#[0-9]+.*DONE|^stat::(number_of_executed_units|peak_rss_mb)' "$log" >&2 || true
  if [ "$rc" -ne 0 ] || grep -qE 'panicked|ERROR: libFuzzer|SUMMARY: libFuzzer' "$log"; then
    tail -n 30 "$log" >&2
    echo "fuzz $t: FAILED (exit $rc; see $log and fuzz/artifacts/$t/)" >&2
    status=1
  else
    echo "fuzz $t: nothing found" >&2
  fi
done
exit $status
