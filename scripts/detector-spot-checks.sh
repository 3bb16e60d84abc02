#!/usr/bin/env bash
# Spot checks of a classifier on files at their own size and encode, beside the evaluation's
# canonical clips: clips from `verity generate` at several output sizes without marks, one with
# the visible badge and the watermark (as generate makes them by default), two of them resized
# 0.5x as a platform would, and two real videos.
# Prints each file's calibrated probability and the classifier's threshold.
#
# Usage: scripts/detector-spot-checks.sh [DETECTOR_DIR]   (default: the built-in classifier)
#        VERITY=path/to/verity to use another binary (default target/release/verity)
set -euo pipefail
verity="${VERITY:-target/release/verity}"
media="${MEDIA:-.cache/media}"
det=()
[ $# -ge 1 ] && det=(--detector "$1")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$verity" --home "$work/home" -q keys init --org "Spot checks" >/dev/null
prob() {
  "$verity" -q detect "$1" "${det[@]}" --json |
    python3 -c 'import json, sys; j = json.load(sys.stdin); print("%.3f (threshold %.3f)" % (j["synthetic_probability"], j["operating_point"]["threshold"]))'
}
prompt="a small blue cube moves from right to left"
for size in 128x128 320x240 512x512 640x360 1280x720; do
  "$verity" --home "$work/home" -q generate "$prompt" -o "$work/gen-$size.mp4" --size "$size" \
    --duration 4 --no-visible --no-watermark >/dev/null
  echo "generated, $size, no marks: $(prob "$work/gen-$size.mp4")"
done
"$verity" --home "$work/home" -q generate "$prompt" -o "$work/gen-badge.mp4" --size 512x512 \
  --duration 4 >/dev/null
echo "generated, 512x512, badge and watermark: $(prob "$work/gen-badge.mp4")"
# A platform's 0.5x resize (H.264 CRF 23) of generated clips at the sizes generate writes, which
# leaves them at or above the canonical view, unlike the evaluation's 128-pixel clips.
for size in 512x512 1280x720; do
  ffmpeg -v error -y -i "$work/gen-$size.mp4" -vf "scale=trunc(iw/4)*2:trunc(ih/4)*2" \
    -c:v libx264 -crf 23 "$work/gen-$size-half.mp4"
  echo "generated, $size, no marks, resized 0.5x: $(prob "$work/gen-$size-half.mp4")"
done
for f in bikes.mp4 carphone_pristine.mp4; do
  [ -s "$media/$f" ] && echo "real, $f: $(prob "$media/$f")"
done
