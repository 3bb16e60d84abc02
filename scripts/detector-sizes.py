#!/usr/bin/env python3
"""verity's generator (F1) at the sizes `verity generate` writes, as a rate rather than a spot check.

Makes N clips with `verity generate` (random prompts from the generator's vocabulary, random
output sizes from 256x256 to 1280x720, random seeds, no marks: a clip stripped of its
credentials), and for each the evaluation's three attacks at the clip's own size (H.264 CRF 28,
a 0.5x resize with H.264 CRF 23 as a platform's half-size copy, VP9), then scores every file
with each classifier given and prints, per classifier and version, the share flagged at the
classifier's own operating threshold with an exact 95 % interval, and the lowest, median and
highest probability.

The evaluation's dataset holds F1 only at the canonical 128 pixels, where a 0.5x resize leaves
64 pixels; a platform's half-size copy of a generated clip stays above the canonical view.

Real videos given with --real are the negatives at real sizes: each is cut into up to
--windows windows of 4 s at its own size (evenly spaced, none overlapping; H.264 CRF 18, an
upload's copy), and each window goes through the same three attacks. For them "flagged" is the
false-positive count (its exact interval treats windows as independent, which windows of one
file are not), and a second table gives the AUC of the generated clips against the real
windows per version, with a 95 % bootstrap interval that resamples real files (not windows: the
windows of one file share a camera and scene) and generated clips, and the AUC's drop after
each attack beside it, paired over the same resamples. A clip without enough signal to score
counts against the classifier: a generated one as 0, a real window left out.

--work keeps the clips between runs (generated clips are named by their seed, index and size
only): clear it after the generator's weights change.

Usage: scripts/detector-sizes.py [--clips N] [--seed S] [--work DIR] [--windows W]
           [--real FILE...] -- [DETECTOR_DIR|builtin ...]
       VERITY=path/to/verity (default target/release/verity)
"""

import argparse
import hashlib
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
                    help="real videos, cut into windows at their own size, as the negatives")
    ap.add_argument("--windows", type=int, default=6,
                    help="windows of 4 s cut from each real video (default 6)")
    ap.add_argument("--bootstrap", type=int, default=2000,
                    help="bootstrap resamples for the AUC intervals (default 2000)")
    ap.add_argument("detectors", nargs="*", default=["builtin"])
    a = ap.parse_args()
    if a.clips < 1:
        sys.exit("--clips must be at least 1")
    if a.windows < 1 or a.bootstrap < 1:
        sys.exit("--windows and --bootstrap must be at least 1")
    for f in a.real:
        if not os.path.isfile(f):
            sys.exit(f"--real: {f} is not a file")
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


def ffmpeg(args, out):
    """Runs ffmpeg into a temporary name and renames it to `out` once whole (kept if there)."""
    if os.path.exists(out):
        return
    ext = os.path.splitext(out)[1]
    part = f"{out}.part{ext}"
    try:
        subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", *args, part], check=True)
    except subprocess.CalledProcessError:
        if os.path.exists(part):
            os.remove(part)
        raise
    os.replace(part, out)


def attacked(src):
    """`src` and its three attacked copies beside it, in ATTACKS order."""
    versions = [src]
    for name, args, ext in ATTACKS[1:]:
        out = f"{os.path.splitext(src)[0]}-{name}.{ext}"
        ffmpeg(["-i", src, *args], out)
        versions.append(out)
    return versions


def duration(path):
    out = run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of",
               "default=nw=1:nk=1", path]).strip()
    try:
        d = float(out)
    except ValueError:
        d = float("nan")
    if not d > 0:  # some containers give no duration: count the frames' timestamps instead
        out = run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                   "packet=pts_time", "-of", "csv=p=0", path])
        times = [float(t) for t in out.split() if t.replace(".", "", 1).isdigit()]
        d = max(times) if times else 0.0
    if not d > 0:
        raise Failed(f"{path}: no duration")
    return d


def windows(path, n, work):
    """Up to `n` windows of 4 s of `path` (one of the whole file when it is shorter), each in
    the middle of its own equal share of the file, so that none overlap; at the file's own size
    (H.264 CRF 18). Cached under a name that carries a digest of the file's absolute path."""
    d = duration(path)
    length = min(4.0, d)
    count = max(1, min(n, int(d // 4)))
    share = d / count
    tag = hashlib.sha256(os.path.abspath(path).encode()).hexdigest()[:8]
    stem = os.path.basename(path).replace(".", "_") + "-" + tag
    out = []
    for k in range(count):
        w = os.path.join(work, f"real-{stem}-w{k}of{count}.mp4")
        ffmpeg(["-ss", f"{k * share + (share - length) / 2:.3f}", "-i", path, "-t",
                f"{length:.3f}", "-an", "-vf", "scale=trunc(iw/2)*2:trunc(ih/2)*2",
                "-pix_fmt", "yuv420p", "-c:v", "libx264", "-crf", "18", "-preset", "medium"], w)
        out.append(w)
    return out


def auc(pos, neg):
    """P(a positive scores above a negative), ties counted half (Mann-Whitney)."""
    ranked = sorted([(p, 1) for p in pos] + [(q, 0) for q in neg])
    rank_sum, i = 0.0, 0
    while i < len(ranked):
        j = i
        while j < len(ranked) and ranked[j][0] == ranked[i][0]:
            j += 1
        mid = (i + j + 1) / 2  # the mean 1-based rank of the tie group
        rank_sum += mid * sum(label for _, label in ranked[i:j])
        i = j
    n1, n0 = len(pos), len(neg)
    return (rank_sum - n1 * (n1 + 1) / 2) / (n1 * n0)


def bootstrap_aucs(pos, neg_by_file, rounds, seed):
    """AUCs over `rounds` resamples of the generated clips and of the real files (each file with
    all its windows), the same draws for every version: `pos[v]`, `neg_by_file[v]`."""
    rng = random.Random(seed)
    versions = len(pos)
    n_pos, n_files = len(pos[0]), len(neg_by_file[0])
    out = [[] for _ in range(versions)]
    for _ in range(rounds):
        ip = [rng.randrange(n_pos) for _ in range(n_pos)]
        files = [rng.randrange(n_files) for _ in range(n_files)]
        for v in range(versions):
            p = [pos[v][i] for i in ip]
            q = [x for f in files for x in neg_by_file[v][f]]
            out[v].append(auc(p, q))
    return out


def interval(xs):
    xs = sorted(xs)
    return xs[int(0.025 * (len(xs) - 1))], xs[int(0.975 * (len(xs) - 1))]


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
        files.append(attacked(src))
    real = [[attacked(w) for w in windows(f, a.windows, work)] for f in a.real]
    made = time.time() - started
    print(f"{a.clips} clips from `verity generate` (seed {a.seed}) and their attacked copies, "
          f"made (or found in {work}) in {made:.0f} s")
    if real:
        sizes = ", ".join(f"{os.path.basename(f)} ({len(w)})" for f, w in zip(a.real, real))
        print(f"Real windows of 4 s (H.264 CRF 18 at their own size) and their attacked "
              f"copies: {sizes}")
    print()
    print("| classifier | threshold | file | flagged | exact 95 % interval | lowest | median "
          "| highest |")
    print("|---|---|---|---|---|---|---|---|")
    aucs = []
    for det in a.detectors:
        extra = [] if det == "builtin" else ["--detector", det]
        threshold, unscored_real = 0.0, 0
        gen_probs, real_probs = [], []
        for which, (name, _, _) in enumerate(ATTACKS):
            probs = []
            for versions in files:
                j = detect(verity, extra, versions[which])
                threshold = j["operating_point"]["threshold"]
                # not enough signal counts as not flagged
                p = j["synthetic_probability"]
                probs.append(0.0 if p is None else p)
            gen_probs.append(probs)
            per_file = []
            for wins in real:
                got = []
                for versions in wins:
                    p = detect(verity, extra, versions[which])["synthetic_probability"]
                    if p is None:
                        unscored_real += 1  # no score is no false positive; left out of the AUC
                    else:
                        got.append(p)
                per_file.append(got)
            real_probs.append(per_file)
            rows = [(LABELS[name], probs)]
            if real:
                rows.append((f"real windows, {LABELS[name]}",
                             [p for got in per_file for p in got]))
            for label, ps in rows:
                if not ps:
                    continue
                k = sum(p > threshold for p in ps)
                lo, hi = clopper_pearson(k, len(ps))
                ps = sorted(ps)
                print(f"| {det} | {threshold:.3f} | {label} | {k}/{len(ps)} ({k / len(ps):.3f}) "
                      f"| [{lo:.3f}, {hi:.3f}] | {ps[0]:.3f} | {ps[len(ps) // 2]:.3f} "
                      f"| {ps[-1]:.3f} |")
        if unscored_real:
            print(f"| {det} | | real windows with not enough signal | {unscored_real} | | | | |")
        if real and all(got for per_file in real_probs for got in per_file):
            aucs.append((det, gen_probs, real_probs))
        elif real:
            print(f"| {det} | | no AUC: a real file has no scored window in some version | | | | | |")
    if not aucs:
        return
    print(f"\nAUC of the generated clips against the real windows ({a.bootstrap} bootstrap "
          "resamples of clips and of real files):\n")
    print("| classifier | version | AUC | 95 % interval | drop from as generated | 95 % interval |")
    print("|---|---|---|---|---|---|")
    for det, gen_probs, real_probs in aucs:
        boots = bootstrap_aucs(gen_probs, real_probs, a.bootstrap, a.seed)
        base = auc(gen_probs[0], [p for got in real_probs[0] for p in got])
        for which, (name, _, _) in enumerate(ATTACKS):
            v = auc(gen_probs[which], [p for got in real_probs[which] for p in got])
            lo, hi = interval(boots[which])
            drop = ""
            if which:
                dlo, dhi = interval([b0 - b for b0, b in zip(boots[0], boots[which])])
                drop = f"{base - v:.3f} | [{dlo:.3f}, {dhi:.3f}]"
            else:
                drop = " | "
            print(f"| {det} | {LABELS[name]} | {v:.3f} | [{lo:.3f}, {hi:.3f}] | {drop} |")


if __name__ == "__main__":
    main()
