#!/usr/bin/env bash
# Installs the watermark peers for the marks evaluation (benches/marks_eval.py) into a
# git-ignored venv: invisible-watermark (dwtDct, dwtDctSvd, rivaGan, whose ONNX weights ship in
# its wheel) with what it needs to run on CPU. Idempotent.
#
# Usage: scripts/setup-marks-eval.sh [VENV]   (default .cache/venv-marks)
set -euo pipefail
venv="${1:-.cache/venv-marks}"
# imwatermark's package __init__ imports PyTorch (for rivaGan's torch path), which is not
# installed: check that the package is there without importing it; the evaluation loads its
# modules one by one.
check='import importlib.util, cv2, pywt, onnxruntime, numpy; assert importlib.util.find_spec("imwatermark")'
if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c "$check" 2>/dev/null; then
  exit 0
fi
echo "installing invisible-watermark into $venv" >&2
rm -rf "$venv"
python3 -m venv "$venv"
pip() { "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$@"; }
# invisible-watermark's own requirements pull in PyTorch, which its CPU encoders and decoders do
# not use; install it alone and its runtime needs beside it.
pip --no-deps "invisible-watermark==0.2.0"
pip "numpy<2.3" "opencv-python-headless<4.12" "PyWavelets" "onnxruntime" "onnx" "Pillow"
"$venv/bin/python" -c "$check"
