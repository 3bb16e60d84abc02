#!/usr/bin/env python3
"""verity's generator (F1) at the sizes `verity generate` writes, as a rate rather than a spot check.

Makes N clips with `verity generate` (random prompts from the generator's vocabulary, random
output sizes from 256x256 to 1280x720, random seeds, no marks: a clip stripped of its
credentials), and for each the evaluation's three attacks at the clip's own size (H.264 CRF 28,
a 0.5x resize with H.264 CRF 23 as a platform's half-size copy, VP9), then scores every file
with each classifier given and prints, per classifier and version, the share flagged at the
classifier's own operating threshold with an exact 95 % interval, and the lowest and median
probability.

The evaluation's dataset holds F1 only at the canonical 128 pixels, where a 0.5x resize leaves
64 pixels; a platform's half-size copy of a generated clip stays above the canonical view.

Real videos given with --real are scored as they are (their own size and codec); for them the
"flagged" column is the false-positive count.

Usage: scripts/detector-sizes.py [--clips N] [--seed S] [--work DIR] [--real FILE...] --
           [DETECTOR_DIR|builtin ...]
       VERITY=path/to/verity (default target/release/verity)
"""

import argparse
import json
import math
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

SIZES = ["256x256", "320x240", "384x384", "480x270", "512x512", "640x360", "640x480",
         "768x432", "854x480", "960x540", "1024x576", "1280x720"]
COLORS = ["red", "green", "blue", "yellow", "orange", "purple", "pink", "white", "black",
          "cyan", "brown", "gray"]
SHAPES = ["ball", "cube", "triangle"]
OBJECT_SIZES = ["small", "medium", "large"]
MOTIONS = [("moves", True), ("bounces", True), ("rolls", True), ("falls", False)]
DIRECTIONS = [("left", "right"), ("right", "left"), ("up", "down"), ("down", "up")]
BACKGROUNDS = ["grass", "sand", "sky", "snow", "night", "wall"]
CAMERAS = ["is static", "pans left", "pans right", "tilts up", "tilts down", "zooms in",
           "zooms out"]


# The file as generate wrote it, then the evaluation's three attacks (`eval detector --attacks`,
# the same ffmpeg arguments), applied at the clip's own size.
ATTACKS = [
    ("own", [], "mp4"),
    ("crf28", ["-c:v", "libx264", "-crf", "28", "-preset", "medium"], "mp4"),
    ("half", ["-vf", "scale=trunc(iw/4)*2:trunc(ih/4)*2", "-c:v", "libx264", "-crf", "23"], "mp4"),
    ("vp9", ["-c:v", "libvpx-vp9", "-crf", "32", "-b:v", "0", "-deadline", "realtime",
             "-cpu-used", "8"], "webm"),
]
LABELS = {"own": "as generated", "crf28": "H.264 CRF 28", "half": "0.5x, H.264 CRF 23",
          "vp9": "VP9"}


def prompt(rng):
    motion, directed = rng.choice(MOTIONS)
    shape = "ball" if motion == "rolls" else rng.choice(SHAPES)  # only a ball rolls
    p = f"a {rng.choice(OBJECT_SIZES)} {rng.choice(COLORS)} {shape} {motion}"
    if directed:
        a, b = rng.choice(DIRECTIONS[:2])
        p += f" from {a} to {b}"
    return p + f" on {rng.choice(BACKGROUNDS)} while the camera {rng.choice(CAMERAS)}"


def clopper_pearson(k, n):
    """Exact 95 % interval of k successes in n, by bisection on the binomial tails."""
    def cdf(k, n, p):
        if p <= 0.0:
            return 1.0
        if p >= 1.0:
            return 1.0 if k >= n else 0.0
        lp, lq = math.log(p), math.log1p(-p)
        return sum(math.exp(math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1)
                            + i * lp + (n - i) * lq) for i in range(k + 1))

    def solve(f):
        lo, hi = 0.0, 1.0
        for _ in range(60):
            mid = (lo + hi) / 2
            if f(mid):
                lo = mid
            else:
                hi = mid
        return (lo + hi) / 2

    low = 0.0 if k == 0 else solve(lambda p: 1 - cdf(k - 1, n, p) < 0.025)
    high = 1.0 if k == n else solve(lambda p: cdf(k, n, p) > 0.025)
    return low, high


class Failed(Exception):
    pass


def run(cmd, ok=(0,)):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode not in ok:
        raise Failed(f"failed ({r.returncode}): {' '.join(cmd)}\n{r.stderr}")
    return r.stdout


def detect(verity, extra, path):
    """`verity detect --json`: exit 0 below the threshold, 7 above, 6 not enough signal."""
    return json.loads(run([verity, "-q", "detect", "--json", *extra, path], ok=(0, 6, 7)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clips", type=int, default=24)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--work", help="keep the clips in DIR (default: a temporary folder)")
    ap.add_argument("--real", nargs="*", default=[], metavar="FILE",
                    help="real videos to score as they are, beside the generated clips")
    ap.add_argument("detectors", nargs="*", default=["builtin"])
    a = ap.parse_args()
    if a.clips < 1:
        sys.exit("--clips must be at least 1")
    verity = os.environ.get("VERITY", "target/release/verity")
    work = a.work or tempfile.mkdtemp(prefix="detector-sizes-")
    os.makedirs(work, exist_ok=True)
    try:
        measure(a, verity, work)
    except (Failed, subprocess.CalledProcessError, OSError, ValueError, KeyError) as e:
        sys.exit(str(e))
    finally:
        if not a.work:
            shutil.rmtree(work, ignore_errors=True)


def measure(a, verity, work):
    rng = random.Random(a.seed)
    home = os.path.join(work, "home")
    if not os.path.exists(os.path.join(home, "keys")):
        run([verity, "--home", home, "-q", "keys", "init", "--org", "Size checks"])
    files, started = [], time.time()
    for i in range(a.clips):
        size, text, seed = rng.choice(SIZES), prompt(rng), rng.randrange(1 << 32)
        src = os.path.join(work, f"gen-s{a.seed}-{i:03d}-{size}.mp4")
        if not os.path.exists(src):
            run([verity, "--home", home, "-q", "generate", text, "-o", src, "--size", size,
                 "--seed", str(seed), "--duration", "4", "--no-visible", "--no-watermark"])
        versions = [src]
        for name, args, ext in ATTACKS[1:]:
            out = f"{os.path.splitext(src)[0]}-{name}.{ext}"
            if not os.path.exists(out):
                part = f"{out}.part.{ext}"
                try:
                    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", src, *args,
                                    part], check=True)
                except subprocess.CalledProcessError:
                    if os.path.exists(part):
                        os.remove(part)
                    raise
                os.replace(part, out)
            versions.append(out)
        files.append(versions)
    made = time.time() - started
    print(f"{a.clips} clips from `verity generate` (seed {a.seed}) and their attacked copies, "
          f"made (or found in {work}) in {made:.0f} s\n")
    print("| classifier | threshold | file | flagged | exact 95 % interval | lowest | median |")
    print("|---|---|---|---|---|---|---|")
    for det in a.detectors:
        extra = [] if det == "builtin" else ["--detector", det]
        for which, (name, _, _) in enumerate(ATTACKS):
            probs, threshold, unscored = [], 0.0, 0
            for versions in files:
                j = detect(verity, extra, versions[which])
                threshold = j["operating_point"]["threshold"]
                if j["synthetic_probability"] is None:
                    unscored += 1  # not enough signal: counted as not flagged
                else:
                    probs.append(j["synthetic_probability"])
            probs += [0.0] * unscored
            k = sum(p > threshold for p in probs)
            lo, hi = clopper_pearson(k, len(probs))
            probs.sort()
            print(f"| {det} | {threshold:.3f} | {LABELS[name]} | {k}/{len(probs)} ({k / len(probs):.3f}) "
                  f"| [{lo:.3f}, {hi:.3f}] | {probs[0]:.3f} | {probs[len(probs) // 2]:.3f} |")
        if a.real:
            probs = []
            for f in a.real:
                j = detect(verity, extra, f)
                if j["synthetic_probability"] is not None:
                    probs.append(j["synthetic_probability"])
            k = sum(p > threshold for p in probs)
            lo, hi = clopper_pearson(k, len(probs)) if probs else (0.0, 1.0)
            probs.sort()
            print(f"| {det} | {threshold:.3f} | real, as they are | {k}/{len(probs)} "
                  f"| [{lo:.3f}, {hi:.3f}] | {probs[0] if probs else 0:.3f} "
                  f"| {probs[len(probs) // 2] if probs else 0:.3f} |")


if __name__ == "__main__":
    main()
