#!/usr/bin/env bash
# Installs schemathesis (a property-based API fuzzer, from PyPI) into a git-ignored venv for
# scripts/api-fuzz.py. Idempotent: a working venv at the pinned version is left as it is.
#
# Usage: scripts/setup-api-fuzz.sh [VENV]   (default .cache/venv-api)
set -euo pipefail
venv="${1:-.cache/venv-api}"
version=4.32.5
if [ -x "$venv/bin/schemathesis" ] \
   && [ "$("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("schemathesis"))' 2>/dev/null)" = "$version" ]; then
  exit 0
fi
echo "installing schemathesis $version into $venv" >&2
rm -rf "$venv"
python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "schemathesis==$version"
