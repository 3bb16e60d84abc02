#!/usr/bin/env bash
# Makes synthetic clips with ffmpeg's lavfi sources into the media cache, for the demo and the
# benchmarks. Each clip is made once; delete the file to make it again.
#
# Usage: scripts/make-clips.sh [CACHE_DIR] [bench]
#   without "bench": small lavfi clips (a few seconds, SD)
#   with "bench":    also the 1080p clips for the benchmarks (10 s and 60 s, from bigbuckbunny)
set -euo pipefail

cache="${1:-.cache/media}"
mode="${2:-}"
mkdir -p "$cache"
ff() { ffmpeg -hide_banner -loglevel error -nostdin -y "$@"; }

clip() { # clip OUT ARGS...: runs ffmpeg into OUT.part and renames it when done
  local out="$1"; shift
  [ -s "$out" ] && return 0
  echo "making $out" >&2
  ff "$@" -f mp4 "$out.part" && mv "$out.part" "$out"
}

clip "$cache/testsrc2.mp4" -f lavfi -i testsrc2=s=640x360:r=30:d=5 -f lavfi -i sine=f=440:d=5:r=48000 \
  -c:v libx264 -crf 18 -preset fast -pix_fmt yuv420p -c:a aac -shortest
clip "$cache/mandelbrot.mp4" -f lavfi -i mandelbrot=s=480x320:r=24 -t 4 \
  -c:v libx264 -crf 18 -preset fast -pix_fmt yuv420p
clip "$cache/smptehdbars.mp4" -f lavfi -i smptehdbars=s=1280x720:r=25:d=3 -f lavfi -i sine=f=1000:d=3:r=44100 \
  -c:v libx264 -crf 18 -preset fast -pix_fmt yuv420p -c:a aac -shortest

if [ "$mode" = "bench" ]; then
  src="$cache/bigbuckbunny.mp4"
  [ -s "$src" ] || { echo "error: $src missing; run scripts/fetch-media.sh first" >&2; exit 1; }
  # Real (CGI) footage with 5.1 AAC audio, looped and scaled to 1920x1080.
  clip "$cache/bbb-1080p-10s.mp4" -stream_loop -1 -i "$src" -t 10 -vf scale=1920:1080:flags=bicubic \
    -c:v libx264 -crf 18 -preset veryfast -pix_fmt yuv420p -c:a aac -b:a 384k
  clip "$cache/bbb-1080p-60s.mp4" -stream_loop -1 -i "$src" -t 60 -vf scale=1920:1080:flags=bicubic \
    -c:v libx264 -crf 18 -preset veryfast -pix_fmt yuv420p -c:a aac -b:a 384k
fi
