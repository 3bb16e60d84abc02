#!/usr/bin/env bash
# Installs c2pa-python (an independent C2PA implementation) into a git-ignored venv for the
# interop tests. Idempotent: a working venv is left as it is.
#
# Usage: scripts/setup-interop.sh [VENV]   (default .cache/venv-c2pa)
set -euo pipefail
venv="${1:-.cache/venv-c2pa}"
version=0.38.1
if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c "import c2pa, cryptography" 2>/dev/null \
   && [ "$("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("c2pa-python"))')" = "$version" ]; then
  exit 0
fi
echo "installing c2pa-python $version into $venv" >&2
rm -rf "$venv"
python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "c2pa-python==$version"
