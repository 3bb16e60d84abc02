#!/usr/bin/env bash
# Benchmark: verity's C2PA signing and reading against c2pa-rs's own minimal sign and read, on the
# same 100 MB MP4, interleaved in one run; then the peak memory (RSS) of `verity sign` and
# `verity verify` on that file.
#
# Usage: benches/c2pa.sh [RUNS]     (default 9; run via `make bench`)
set -euo pipefail
runs="${1:-9}"
media=.cache/media
bash scripts/fetch-media.sh "$media"
big="$PWD/$media/big100.mp4"
if [ ! -s "$big" ]; then
  # bigbuckbunny.mp4 (real CGI footage, 720p, with 5.1 AAC) repeated 95 times without re-encoding:
  # about 100 MB and 12,500 video samples.
  ffmpeg -hide_banner -loglevel error -nostdin -y -stream_loop 94 -i "$media/bigbuckbunny.mp4" -c copy -f mp4 "$big.part"
  mv "$big.part" "$big"
fi
cargo bench --ignore-rust-version --quiet -p verity-provenance --bench c2pa_sign_read -- "$big" "$runs"

cargo build --ignore-rust-version --release --quiet -p verity
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export VERITY_HOME="$tmp/home"
target/release/verity --quiet keys init --org Bench --alg es256 >/dev/null
/usr/bin/time -f "%e %M" -o "$tmp/sign" target/release/verity --quiet sign "$big" -o "$tmp/signed.mp4" >/dev/null
/usr/bin/time -f "%e %M" -o "$tmp/verify" target/release/verity --quiet verify "$tmp/signed.mp4" >/dev/null
read -r ts ms < "$tmp/sign"
read -r tv mv < "$tmp/verify"
echo
echo "| whole command on the 100 MB file | wall time | peak RSS |"
echo "|---|---|---|"
echo "| \`verity sign\` | $ts s | $((ms / 1024)) MB |"
echo "| \`verity verify\` (probe + SHA-256 of the file + C2PA validation) | $tv s | $((mv / 1024)) MB |"
