#!/usr/bin/env python3
"""Prints the measured training figures of a generator checkpoint (models/generator by default)
as Markdown, for MODEL_CARD.md: steps, wall time, parameter count, weights hash, moving average,
loss curve."""
import hashlib
import json
import struct
import sys
from pathlib import Path

d = Path(sys.argv[1] if len(sys.argv) > 1 else "models/generator")
state = json.loads((d / "train_state.json").read_text())
cfg = json.loads((d / "config.json").read_text())
raw = (d / "model.safetensors").read_bytes()
n = struct.unpack("<Q", raw[:8])[0]
header = json.loads(raw[8:8 + n])
params = sum(
    __import__("math").prod(v["shape"]) for k, v in header.items() if k != "__metadata__"
)
losses = state["losses"]
print(f"- steps trained: {state['step']}")
print(f"- wall time: {state['seconds'] / 3600:.2f} h in all (see the training history for the machines)")
print(f"- parameters: {params:,} ({len(raw) / 1e6:.1f} MB, f32)")
print(f"- weights sha256: `{hashlib.sha256(raw).hexdigest()}`")
if state.get("ema_decay", 0) > 0:
    n = state.get("ema_updates", 0)
    print(f"- weights: the moving average of the optimiser's weights over the last {n} steps, "
          f"decay {state['ema_decay']}; while the average is young its decay is (1 + n) / (10 + n), "
          f"which puts the mean age of what it holds near a tenth of that, {max(1, round(n / 10))} steps")
print(f"- clip: {cfg['frames']} frames of {cfg['width']}x{cfg['height']} over {cfg['clip_seconds']} s; "
      f"dim {cfg['dim']}, depth {cfg['depth']}, heads {cfg['heads']}, text layers {cfg['text_layers']}")
print()
print("| step | mean training loss (the 10 steps before) |")
print("|---|---|")
picks = losses if len(losses) <= 12 else [losses[round(i * (len(losses) - 1) / 11)] for i in range(12)]
for step, loss in picks:
    print(f"| {step} | {loss:.4f} |")
