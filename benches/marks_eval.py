#!/usr/bin/env python3
"""The marks evaluation: verity's spectral mark against invisible-watermark's dwtDct, dwtDctSvd
and rivaGan, on the attack suite of DESIGN.md carried out with the real ffmpeg.

Not part of `make test`. Run it with `make eval-marks` (or scripts/setup-marks-eval.sh, then
`.cache/venv-marks/bin/python benches/marks_eval.py`). It needs a release build of verity, the
test media (scripts/fetch-media.sh) and the bundled generator.

For each clip (lavfi sources, real footage, generated clips; 3.5 s at 30 fps):
  1. each method marks the clip, written losslessly (x264 qp 0), so PSNR and SSIM (luma, ffmpeg's
     psnr and ssim filters) measure the mark alone;
  2. each attack is applied with ffmpeg to every marked copy and to the unmarked clip;
  3. verity reads its mark with `verity verify --json` (default key, pooled frames); the peers
     decode 8 frames (rivaGan 4) spread over the attacked video and pool them (mean of per-frame bits, or of
     rivaGan's probabilities), which is the same pooling help verity gets. verity reads the
     rotated clip twice: by default, and with `--search-rotation` (the row rotate_10_searched).
verity carries 64 bits; dwtDct and dwtDctSvd carry the same 64 bits; rivaGan carries 32 (its
only length). verity's reader knows 24 of its bits (the version and its key's issuer id) and
decodes only words that carry them, so its bit accuracy is measured over the other 40 (the asset
id). Exact recovery means every bit right; for verity it also means the keyed check
passed. A false positive is an unmarked clip read as carrying the payload.

Results go to .cache/marks-eval/results.jsonl (one line per clip, so a run can be resumed) and
the summary table to stdout (markdown) and .cache/marks-eval/table.md.

With --picture-removed, verity's mark is read after each codec attack twice: from the attacked
video, and from the attacked video minus the unmarked source (ffmpeg's blend grainextract, 128
plus the difference, stored losslessly), where no picture is left, only the mark and what the
codec did to it. No blind filter can predict the picture better than that, so a mark that does
not read there is lost to the codec, not to the picture. Results: picture-removed.jsonl and
picture-removed.md.

With --native, the real footage is evaluated again at its own size (Big Buck Bunny at 1920x1080
and 1280x720; the main set scales both to 640x360), verity alone, into native.jsonl and
native-table.md: the same attacks at the sizes platforms carry.

With --rgb-round-trip, verity's mark is read after H.264 CRF 18 with and without a round trip
through RGB (format=rgb24, then back to yuv420p), beside each source's luma range: a stream with
no range tag is limited range, so luma below 16 or above 235 turns black or white on the way to
RGB, and the mark on it is lost. Results: rgb-round-trip.jsonl and rgb-round-trip.md.
"""
import argparse
import importlib.util
import json
import os
import subprocess
import sys
import sysconfig
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VERITY = os.path.join(ROOT, "target", "release", "verity")
MEDIA = os.path.join(ROOT, ".cache", "media")
WORK = os.path.join(ROOT, ".cache", "marks-eval")
DUR = 3.5
FPS = 30

CROP71 = "crop=trunc(iw*0.71/2)*2:trunc(ih*0.71/2)*2"
CROP55 = "crop=trunc(iw*0.55/2)*2:trunc(ih*0.55/2)*2"
BRIGHT05 = "lutrgb=r=val*0.5:g=val*0.5:b=val*0.5"
# name, video filter, encoder (codec, crf), extra input args
ATTACKS = [
    ("none", None, ("x264", 18), []),
    ("h264_crf23", None, ("x264", 23), []),
    ("h264_crf30", None, ("x264", 30), []),
    ("h264_crf40", None, ("x264", 40), []),
    ("h265_crf30", None, ("x265", 30), []),
    ("resize_0.71", "scale=trunc(iw*0.71/2)*2:trunc(ih*0.71/2)*2", ("x264", 18), []),
    ("resize_0.55", "scale=trunc(iw*0.55/2)*2:trunc(ih*0.55/2)*2", ("x264", 18), []),
    ("crop_0.71", CROP71, ("x264", 18), []),
    ("crop_0.55", CROP55, ("x264", 18), []),
    ("brightness_0.5", BRIGHT05, ("x264", 18), []),
    ("brightness_1.5", "lutrgb=r=val*1.5:g=val*1.5:b=val*1.5", ("x264", 18), []),
    ("contrast_0.5", "eq=contrast=0.5", ("x264", 18), []),
    ("contrast_1.5", "eq=contrast=1.5", ("x264", 18), []),
    ("saturation_0.5", "eq=saturation=0.5", ("x264", 18), []),
    ("hue_0.25", "hue=h=90", ("x264", 18), []),
    ("grayscale", "hue=s=0", ("x264", 18), []),
    ("blur", "gblur=sigma=2", ("x264", 18), []),
    ("jpeg_40", None, ("jpeg", 40), []),
    ("fps_30to24", "fps=24", ("x264", 18), []),
    ("trim_3s", None, ("x264", 18), ["-ss", "0.25", "-t", "3"]),
    ("flip", "hflip", ("x264", 18), []),
    ("rotate_10", "rotate=10*PI/180", ("x264", 18), []),
    ("combo_crf23", f"{CROP71},{BRIGHT05}", ("x264", 23), []),
    ("combo_crf30", f"{CROP71},{BRIGHT05}", ("x264", 30), []),
    ("combo_crf40", f"{CROP71},{BRIGHT05}", ("x264", 40), []),
]
# Attacks verity also reads with extra `verify` options, as an extra row: (attack, row, options).
# The rotation search is opt-in (it makes reading an unmarked video about twice as slow).
SEARCHED = [("rotate_10", "rotate_10_searched", ["--search-rotation"])]
ROWS = [r for a, *_ in ATTACKS for r in [a] + [row for b, row, _ in SEARCHED if b == a]]


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, **kw)


def ffmpeg(*args):
    run(["ffmpeg", "-v", "error", "-y", *args])


def probe(path):
    out = run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
               "stream=width,height", "-of", "json", path]).stdout
    s = json.loads(out)["streams"][0]
    return s["width"], s["height"]


NATIVE = [
    ("native-bbb1080-0", "bbb-1080p-10s.mp4", 0),
    ("native-bbb1080-5", "bbb-1080p-10s.mp4", 5),
    ("native-bbb720-0", "bigbuckbunny.mp4", 0),
    ("native-bbb720-1.5", "bigbuckbunny.mp4", 1.5),
]


def make_native_clips():
    """The real footage at its own size (3.5 s, 30 fps, no audio)."""
    specs = []
    for name, file, start in NATIVE:
        src = os.path.join(MEDIA, file)
        if not os.path.exists(src):
            sys.exit(f"{src} is missing: run scripts/fetch-media.sh {MEDIA}")
        specs.append((name, footage_args(src, start)))
    return write_clips(specs)


def footage_args(src, start, vf=None):
    """ffmpeg input arguments for a 3.5-s, 30-fps window of `src` from `start` seconds."""
    args = ["-ss", str(start), "-i", src, "-t", str(DUR), "-r", str(FPS)]
    return args + ["-vf", vf] if vf else args


def write_clips(specs):
    """Writes each (name, ffmpeg input arguments) clip not written yet, nearly losslessly and
    without audio, under the clips folder; returns their paths."""
    d = os.path.join(WORK, "clips")
    os.makedirs(d, exist_ok=True)
    clips = []
    for name, args in specs:
        out = os.path.join(d, name + ".mp4")
        if not os.path.exists(out):
            ffmpeg(*args, "-an", "-c:v", "libx264", "-crf", "12", "-preset", "fast",
                   "-pix_fmt", "yuv420p", out)
        clips.append(out)
    return clips


def make_clips(n_generated):
    """Writes the evaluation clips (3.5 s, 30 fps, no audio) and returns their paths."""
    d = os.path.join(WORK, "clips")
    os.makedirs(d, exist_ok=True)
    specs = []
    size = "640x360"
    for src in ["testsrc2", "testsrc", "smptehdbars", "rgbtestsrc", "yuvtestsrc", "gradients"]:
        specs.append((f"lavfi-{src}", ["-f", "lavfi", "-i", f"{src}=s={size}:r={FPS}:d={DUR}"]))
    for src, extra in [("mandelbrot", ""), ("life", ":mold=10:ratio=0.3"), ("cellauto", ":rule=110"),
                       ("sierpinski", "")]:
        specs.append((f"lavfi-{src}", ["-f", "lavfi", "-i", f"{src}=s={size}:r={FPS}{extra}", "-t", str(DUR)]))
    for name, file, start, vf in [
        ("real-bikes-0", "bikes.mp4", 0, None),
        ("real-bikes-5", "bikes.mp4", 5, None),
        ("real-bbb720-0", "bigbuckbunny.mp4", 0, "scale=640:360"),
        ("real-bbb720-1.5", "bigbuckbunny.mp4", 1.5, "scale=640:360"),
        ("real-bbb1080-0", "bbb-1080p-10s.mp4", 0, "scale=640:360"),
        ("real-bbb1080-5", "bbb-1080p-10s.mp4", 5, "scale=640:360"),
    ]:
        src = os.path.join(MEDIA, file)
        if os.path.exists(src):
            specs.append((name, footage_args(src, start, vf)))
    clips = write_clips(specs)
    prompts = [
        "a large red ball bounces from left to right",
        "a small blue cube moves right while the camera pans left",
        "a green ball falls on a sky background",
        "a yellow cube moves left while the camera zooms in",
        "a large white ball moves up on a night background",
    ][:n_generated]
    home = os.path.join(WORK, "gen-home")
    if prompts and not os.path.exists(os.path.join(home, "keys")):
        run([VERITY, "--home", home, "keys", "init", "--org", "verity eval"])
    for i, p in enumerate(prompts):
        out = os.path.join(d, f"generated-{i}.mp4")
        if not os.path.exists(out):
            raw = out + ".signed.mp4"
            run([VERITY, "--home", home, "-q", "generate", p, "-o", raw, "--seed", str(i),
                 "--duration", str(DUR), "--fps", str(FPS), "--size", "512x512",
                 "--no-visible", "--no-watermark"])
            ffmpeg("-i", raw, "-an", "-c:v", "libx264", "-crf", "12", "-preset", "fast",
                   "-pix_fmt", "yuv420p", out)
            os.remove(raw)
        clips.append(out)
    return clips


# ---------------------------------------------------------------- peers (invisible-watermark)

def load_peers():
    """dwtDct and dwtDctSvd from the installed wheel's modules (its package __init__ imports
    PyTorch for rivaGan's tensor shuffling, which is not needed), and rivaGan's ONNX models."""
    import onnxruntime as ort
    base = os.path.join(sysconfig.get_paths()["purelib"], "imwatermark")

    def load(name):
        spec = importlib.util.spec_from_file_location("iw_" + name, os.path.join(base, name + ".py"))
        m = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(m)
        return m

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 2
    return {
        "dwtDct": load("maxDct").EmbedMaxDct,
        "dwtDctSvd": load("dwtDctSvd").EmbedDwtDctSvd,
        "riva_enc": ort.InferenceSession(os.path.join(base, "rivagan_encoder.onnx"), opts),
        "riva_dec": ort.InferenceSession(os.path.join(base, "rivagan_decoder.onnx"), opts),
    }


def read_frames(path, every=1, limit=None):
    w, h = probe(path)
    vf = [] if every == 1 else ["-vf", f"select='not(mod(n\\,{every}))'", "-vsync", "0"]
    cmd = ["ffmpeg", "-v", "error", "-i", path, *vf, "-f", "rawvideo", "-pix_fmt", "bgr24", "-"]
    if limit:
        cmd[-1:-1] = ["-frames:v", str(limit)]
    raw = run(cmd).stdout
    n = len(raw) // (w * h * 3)
    return np.frombuffer(raw[: n * w * h * 3], np.uint8).reshape(n, h, w, 3)


def write_frames(frames, path):
    n, h, w, _ = frames.shape
    p = subprocess.Popen(["ffmpeg", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "bgr24",
                          "-s", f"{w}x{h}", "-r", str(FPS), "-i", "-", "-c:v", "libx264", "-qp", "0",
                          "-pix_fmt", "yuv420p", path], stdin=subprocess.PIPE)
    p.communicate(frames.tobytes())
    if p.returncode:
        raise RuntimeError(f"ffmpeg failed writing {path}")


def riva_in(frame):
    return (frame.astype(np.float32) / 127.5 - 1.0)[None].transpose(3, 0, 1, 2)[None]


def peer_embed(peers, method, frames, bits):
    out = np.empty_like(frames)
    if method == "rivaGan":
        data = np.array([bits[:32]], np.float32)
        for i, f in enumerate(frames):
            o = peers["riva_enc"].run(None, {"frame": riva_in(f), "data": data})[0]
            out[i] = ((np.clip(o, -1, 1)[0, :, 0].transpose(1, 2, 0) + 1) * 127.5).astype(np.uint8)
        return out
    enc = peers[method](list(bits), wmLen=len(bits))
    for i, f in enumerate(frames):
        out[i] = enc.encode(f)
    return out


def peer_decode(peers, method, path, nbits):
    """Pooled bits from 8 frames spread over the video."""
    n_total = int(run(["ffprobe", "-v", "error", "-count_packets", "-select_streams", "v:0",
                       "-show_entries", "stream=nb_read_packets", "-of", "csv=p=0", path]).stdout or 8)
    k = 4 if method == "rivaGan" else 8
    frames = read_frames(path, every=max(1, n_total // k), limit=k)
    if method == "rivaGan":
        p = np.mean([peers["riva_dec"].run(None, {"frame": riva_in(f)})[0][0] for f in frames], axis=0)
        return (p > 0.5).astype(int)
    dec = peers[method]([0] * nbits, wmLen=nbits)
    return (np.mean([np.array(dec.decode(f), float) for f in frames], axis=0) > 0.5).astype(int)


# ---------------------------------------------------------------- attacks and measures

def attack(src, name, vf, enc, extra, out_dir):
    codec, q = enc
    out = os.path.join(out_dir, name + (".mkv" if codec == "jpeg" else ".mp4"))
    if codec == "jpeg":
        # Per-frame JPEG at quality 40 (ffmpeg's mjpeg takes a qscale; use PIL-free OpenCV).
        import cv2
        frames = read_frames(src)
        with tempfile.TemporaryDirectory() as t:
            for i, f in enumerate(frames):
                ok, buf = cv2.imencode(".jpg", f, [cv2.IMWRITE_JPEG_QUALITY, q])
                with open(os.path.join(t, f"{i:05d}.jpg"), "wb") as fh:
                    fh.write(buf.tobytes())
            ffmpeg("-framerate", str(FPS), "-i", os.path.join(t, "%05d.jpg"), "-c:v", "copy", out)
        return out
    args = [*extra, "-i", src]
    if vf:
        args += ["-vf", vf]
    if codec == "x265":
        args += ["-c:v", "libx265", "-crf", str(q), "-preset", "medium", "-tag:v", "hvc1",
                 "-x265-params", "log-level=error"]
    else:
        # The codec attacks use preset medium (as Video Seal's evaluation does); the others only
        # need the filtered frames stored well, for which veryfast at CRF 18 is enough.
        preset = "medium" if (vf is None or name.split("-", 1)[-1].startswith("combo")) else "veryfast"
        args += ["-c:v", "libx264", "-crf", str(q), "-preset", preset]
    ffmpeg(*args, "-pix_fmt", "yuv420p", "-an", out)
    return out


def quality(marked, src):
    out = run(["ffmpeg", "-i", marked, "-i", src, "-lavfi",
               "[0:v]extractplanes=y[a];[1:v]extractplanes=y[b];[a][b]psnr", "-f", "null", "-"]).stderr.decode()
    psnr = float(out.rsplit("average:", 1)[1].split()[0].replace("inf", "99"))
    out = run(["ffmpeg", "-i", marked, "-i", src, "-lavfi",
               "[0:v]extractplanes=y[a];[1:v]extractplanes=y[b];[a][b]ssim", "-f", "null", "-"]).stderr.decode()
    ssim = float(out.rsplit("All:", 1)[1].split()[0])
    return psnr, ssim


def verity_read(path, home, options=()):
    out = subprocess.run([VERITY, "--home", home, "verify", "--json", *options, path],
                         capture_output=True)
    r = json.loads(out.stdout)
    w = r.get("watermark") or {}
    return w


# verity's payload bits a reader does not know in advance: the 40-bit asset id (see
# crates/provenance/src/marks/payload.rs); its bit accuracy is measured over these.
UNKNOWN = 24


def verity_mark(clip, out, home):
    """Marks `clip` with verity's spectral mark alone (default key), written losslessly to
    `out`; returns the payload (hex)."""
    res = run([VERITY, "--home", home, "sign", clip, "-o", out, "--no-visible", "--no-manifest",
               "--crf", "0", "--json"]).stdout
    return json.loads(res)["payload"]


def load_results(path):
    """A results file (one JSON line per clip) as {clip: record}; empty when it does not exist."""
    done = {}
    if os.path.exists(path):
        for line in open(path):
            r = json.loads(line)
            done[r["clip"]] = r
    return done


def select_clips(clips, names):
    """The clips whose file names contain one of the comma-separated `names` (all without)."""
    if not names:
        return clips
    return [c for c in clips if any(k in os.path.basename(c) for k in names.split(","))]


def bits_of(hex64):
    v = int(hex64, 16)
    return [(v >> (63 - i)) & 1 for i in range(64)]


def eval_clip(clip, peers, with_riva, home, old=None):
    """Evaluates every method on one clip. With `old` (this clip's earlier record), the peers'
    results are taken from it and only verity runs again: the peers do not change between runs
    of verity's evaluation, and they take most of its time."""
    name = os.path.splitext(os.path.basename(clip))[0]
    d = os.path.join(WORK, "work", name)
    os.makedirs(d, exist_ok=True)
    res = {"clip": name, "methods": {}}
    # verity
    vm = os.path.join(d, "verity.mp4")
    payload = verity_mark(clip, vm, home)
    truth = bits_of(payload)
    marked = {"verity": vm}
    frames = read_frames(clip)
    methods = [] if peers is None else ["dwtDct", "dwtDctSvd"] + (["rivaGan"] if with_riva else [])
    if old is not None:
        methods = []
        for m, v in old["methods"].items():
            if m != "verity":
                res["methods"][m] = v
    for m in methods:
        p = os.path.join(d, m + ".mp4")
        t = time.time()
        write_frames(peer_embed(peers, m, frames, truth), p)
        res.setdefault("embed_s", {})[m] = time.time() - t
        marked[m] = p
    for m, p in marked.items():
        psnr, ssim = quality(p, clip)
        res["methods"][m] = {"psnr": psnr, "ssim": ssim, "attacks": {}}
    res["unmarked"] = {}
    if old is not None:
        res["embed_s"] = old.get("embed_s", {})
    for a, vf, enc, extra in ATTACKS:
        ad = os.path.join(d, "att")
        os.makedirs(ad, exist_ok=True)
        for m, p in marked.items():
            out = attack(p, f"{m}-{a}", vf, enc, extra, ad)
            if m == "verity":
                reads = [(a, [])] + [(row, o) for b, row, o in SEARCHED if b == a]
                for row, options in reads:
                    w = verity_read(out, home, options)
                    got = w.get("payload") or w.get("rejected_guess")
                    # Over the 40 asset-id bits: the reader knows the other 24 (the version and
                    # its key's issuer id) and decodes only words that carry them.
                    acc = float(np.mean(np.array(bits_of(got)[UNKNOWN:]) == truth[UNKNOWN:])) if got else 0.5
                    exact = bool(w.get("found")) and w.get("payload") == payload
                    res["methods"][m]["attacks"][row] = {"bit_acc": acc, "exact": exact,
                                                         "signal": w.get("signal")}
            else:
                nb = 32 if m == "rivaGan" else 64
                got = peer_decode(peers, m, out, nb)
                acc = float(np.mean(got == np.array(truth[:nb])))
                res["methods"][m]["attacks"][a] = {"bit_acc": acc, "exact": acc == 1.0}
            os.remove(out)
        # False positives: the unmarked clip under the same attack.
        out = attack(clip, f"unmarked-{a}", vf, enc, extra, ad)
        w = verity_read(out, home)
        fp = {"verity": bool(w.get("found"))}
        for b, row, options in SEARCHED:
            if b == a:
                res["unmarked"][row] = {"verity": bool(verity_read(out, home, options).get("found"))}
        if old is not None:
            fp.update({m: v for m, v in old["unmarked"][a].items() if m != "verity"})
        for m in marked:
            if m != "verity":
                nb = 32 if m == "rivaGan" else 64
                fp[m] = bool(np.all(peer_decode(peers, m, out, nb) == np.array(truth[:nb])))
        res["unmarked"][a] = fp
        os.remove(out)
    return res


def table(results):
    # The methods that ran (verity alone with --verity-only or --native).
    methods = [m for m in ["verity", "dwtDct", "dwtDctSvd", "rivaGan"]
               if any(m in r["methods"] for r in results)]
    lines = []
    head = "| attack | " + " | ".join(f"{m} bit acc | {m} exact" for m in methods) + " |"
    lines.append(head)
    lines.append("|" + "---|" * (1 + 2 * len(methods)))
    q = "| PSNR dB / SSIM (mark alone) | " + " | ".join(
        (lambda xs: f"{np.mean([x['psnr'] for x in xs]):.2f} | {np.mean([x['ssim'] for x in xs]):.4f}" if xs else "– | –")(
            [r["methods"][m] for r in results if m in r["methods"]]) for m in methods) + " |"
    lines.append(q)
    for a in ROWS:
        cells = []
        for m in methods:
            xs = [r["methods"][m]["attacks"][a] for r in results
                  if m in r["methods"] and a in r["methods"][m]["attacks"]]
            if not xs:
                cells.append("– | –")
                continue
            acc = np.mean([x["bit_acc"] for x in xs])
            ex = np.mean([x["exact"] for x in xs])
            cells.append(f"{acc:.3f} | {100 * ex:.0f}% ({sum(x['exact'] for x in xs)}/{len(xs)})")
        lines.append(f"| {a} | " + " | ".join(cells) + " |")
    fp = {m: [r["unmarked"][a][m] for r in results for a in ROWS
              if a in r["unmarked"] and m in r["unmarked"][a]] for m in methods}
    lines.append("| false positives on unmarked clips (all attacks) | " + " | ".join(
        f"{sum(fp[m])}/{len(fp[m])} | " for m in methods) + " |")
    n = len(results)
    nr = sum(1 for r in results if "rivaGan" in r["methods"])
    lines.append("")
    if "rivaGan" in methods:
        lines.append(f"{n} clips (rivaGan on {nr} of them: its ONNX encoder and decoder take about a second a frame on this CPU).")
    else:
        lines.append(f"{n} clips.")
    return "\n".join(lines)


BADGE_ATTACKS = [a for a in ATTACKS if a[0] in ("none", "h264_crf30", "resize_0.55")]


def badge_eval(clips, home):
    """The visible badge: detected on every marked clip after H.264 CRF 30 and a 0.55 resize,
    never on the unmarked ones."""
    rows = []
    for c in clips:
        name = os.path.splitext(os.path.basename(c))[0]
        d = os.path.join(WORK, "work", name, "badge")
        os.makedirs(d, exist_ok=True)
        marked = os.path.join(d, "badge.mp4")
        run([VERITY, "--home", home, "sign", c, "-o", marked, "--no-watermark", "--no-manifest"])
        row = {"clip": name}
        for a, vf, enc, extra in BADGE_ATTACKS:
            for kind, src in (("marked", marked), ("unmarked", c)):
                out = attack(src, f"{kind}-{a}", vf, enc, extra, d)
                r = json.loads(subprocess.run([VERITY, "--home", home, "verify", "--json", out],
                                              capture_output=True).stdout)
                row[f"{kind}-{a}"] = r["visible_mark"]["found"]
                row[f"{kind}-{a}-confidence"] = r["visible_mark"]["confidence"]
                os.remove(out)
        rows.append(row)
        print(name, {k: v for k, v in row.items() if not k.endswith("confidence")}, flush=True)
    lines = ["| attack | badge detected on marked clips | on unmarked clips |", "|---|---|---|"]
    for a, *_ in BADGE_ATTACKS:
        m = sum(r[f"marked-{a}"] for r in rows)
        u = sum(r[f"unmarked-{a}"] for r in rows)
        lo = min(r[f"marked-{a}-confidence"] for r in rows)
        hi = max(r[f"unmarked-{a}-confidence"] for r in rows)
        lines.append(f"| {a} | {m}/{len(rows)} (lowest score {lo:.2f}) | {u}/{len(rows)} (highest score {hi:.2f}) |")
    return "\n".join(lines)


# The codec attacks and the combinations. The source goes through an attack's filter too (stored
# losslessly), so that it lines up with the attacked video frame by frame. Not JPEG 40: its
# full-range frames would be rescaled.
REMOVED_ATTACKS = [a for a in ATTACKS if a[0] in ("none", "h264_crf30", "h264_crf40", "h265_crf30",
                                                  "combo_crf23", "combo_crf30", "combo_crf40")]


def marked_copies(clips, home, done, sub):
    """For each clip not in `done` (a side measurement's results so far): the clip, its name, a
    work folder `sub` of its own, a copy marked by verity and that copy's payload. The copy is
    removed once the caller asks for the next clip."""
    for c in clips:
        name = os.path.splitext(os.path.basename(c))[0]
        if name in done:
            continue
        d = os.path.join(WORK, "work", name, sub)
        os.makedirs(d, exist_ok=True)
        marked = os.path.join(d, "verity.mp4")
        truth = verity_mark(c, marked, home)
        yield c, name, d, marked, truth
        os.remove(marked)


def record(path, done, row):
    """Appends a side measurement's row for one clip to `path` (so a rerun resumes) and to `done`."""
    with open(path, "a") as fh:
        fh.write(json.dumps(row) + "\n")
    done[row["clip"]] = row


def picture_removed_eval(clips, home, path):
    """verity's reads with and without the picture (see --picture-removed); one line per clip
    in `path`, which a rerun resumes."""
    done = load_results(path)
    for c, name, d, marked, truth in marked_copies(clips, home, done, "removed"):
        row = {"clip": name}
        for a, vf, enc, extra in REMOVED_ATTACKS:
            att = attack(marked, a, vf, enc, extra, d)
            ref = c if vf is None else attack(c, a + "-source", vf, ("x264", 0), extra, d)
            diff = os.path.join(d, a + "-removed.mp4")
            ffmpeg("-i", att, "-i", ref, "-filter_complex",
                   "[0:v]format=yuv420p[a];[1:v]format=yuv420p[b];[a][b]blend=all_mode=grainextract",
                   "-c:v", "libx264", "-crf", "0", "-preset", "veryfast", "-an", diff)
            for kind, f in (("with", att), ("removed", diff)):
                w = verity_read(f, home)
                row[f"{a}-{kind}"] = w.get("payload") == truth
                row[f"{a}-{kind}-sync"] = w.get("sync_score") or 0.0
            for f in {att, diff, ref} - {c}:
                os.remove(f)
        record(path, done, row)
        print(name, {k: v for k, v in row.items() if not k.endswith("sync")}, flush=True)
    rows = list(done.values())
    lines = ["| attack | exact reads with the picture | median sync | exact reads with the picture removed | median sync |",
             "|---|---|---|---|---|"]
    for a, *_ in REMOVED_ATTACKS:
        cells = []
        for kind in ("with", "removed"):
            ok = sum(r[f"{a}-{kind}"] for r in rows)
            cells.append(f"{ok}/{len(rows)} | {np.median([r[f'{a}-{kind}-sync'] for r in rows]):.1f}")
        lines.append(f"| {a} | " + " | ".join(cells) + " |")
    missed = {a: [r["clip"] for r in rows if not r[f"{a}-removed"]] for a, *_ in REMOVED_ATTACKS}
    lines.append("")
    lines.append(f"{len(rows)} clips. Not read even with the picture removed: " + ("; ".join(
        f"{a}: {', '.join(m)}" for a, m in missed.items() if m) or "none") + ".")
    return "\n".join(lines)


def luma_range(path):
    """The smallest and largest luma sample over the first 30 frames of `path`."""
    out = run(["ffmpeg", "-i", path, "-frames:v", "30", "-vf",
               "signalstats,metadata=print:file=-", "-f", "null", "-"]).stdout.decode()
    lo = [int(float(l.split("=")[1])) for l in out.splitlines() if "signalstats.YMIN=" in l]
    hi = [int(float(l.split("=")[1])) for l in out.splitlines() if "signalstats.YMAX=" in l]
    return min(lo), max(hi)


# The RGB round trip: what a brightness or contrast filter on RGB, an editor or a player does to
# a limited-range (16-235) stream, with nothing else changed. Luma below 16 or above 235 comes
# back as 16 or 235, with the mark's share of it.
RGB_TRIP = [("h264_crf18", "null", ("x264", 18), []),
            ("rgb_round_trip", "format=rgb24,format=yuv420p", ("x264", 18), [])]


def rgb_round_trip_eval(clips, home, path):
    """verity's reads after a plain re-encode and after an RGB round trip (see
    --rgb-round-trip), with each source's luma range; one line per clip in `path`."""
    done = load_results(path)
    for c, name, d, marked, truth in marked_copies(clips, home, done, "rgb"):
        lo, hi = luma_range(c)
        row = {"clip": name, "luma_min": lo, "luma_max": hi}
        for a, vf, enc, extra in RGB_TRIP:
            att = attack(marked, a, vf, enc, extra, d)
            w = verity_read(att, home)
            row[a] = w.get("payload") == truth
            row[a + "-sync"] = w.get("sync_score") or 0.0
            os.remove(att)
        record(path, done, row)
        print(name, row, flush=True)
    lines = ["| clip | luma range of the source | read after H.264 CRF 18 (sync) | read after the RGB round trip and CRF 18 (sync) |",
             "|---|---|---|---|"]
    for r in done.values():
        cells = [f"{'yes' if r[a] else 'no'} ({r[a + '-sync']:.1f})" for a, *_ in RGB_TRIP]
        lines.append(f"| {r['clip']} | {r['luma_min']}–{r['luma_max']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--generated", type=int, default=4, help="generated clips to include")
    ap.add_argument("--riva-clips", type=int, default=1, help="clips rivaGan runs on")
    ap.add_argument("--limit", type=int, default=0, help="evaluate only the first N clips")
    ap.add_argument("--table-only", action="store_true")
    ap.add_argument("--badge", action="store_true", help="evaluate the visible badge instead")
    ap.add_argument("--reuse-peers", metavar="FILE",
                    help="take the peers' results from an earlier results.jsonl and run only verity")
    ap.add_argument("--verity-only", action="store_true",
                    help="leave the peers out (quick runs while working on verity's mark)")
    ap.add_argument("--clips", metavar="A,B", help="only the clips whose names contain one of these")
    ap.add_argument("--attacks", metavar="A,B", help="only these attacks (names as in the table)")
    ap.add_argument("--picture-removed", action="store_true",
                    help="read verity's mark after the codec attacks with and without the picture "
                         "(the attacked video minus the source): is a miss the picture's or the codec's?")
    ap.add_argument("--rgb-round-trip", action="store_true",
                    help="read verity's mark after a re-encode with and without a round trip through "
                         "RGB, beside each clip's luma range: does luma outside 16-235 lose the mark?")
    ap.add_argument("--native", action="store_true",
                    help="the real footage at its own size (1080p and 720p), verity alone; "
                         "results default to native")
    ap.add_argument("--results", metavar="NAME", default=None,
                    help="results file under .cache/marks-eval, without .jsonl (default results, or native with --native); "
                         "give subset runs their own. Runs share the work folder: one at a time")
    args = ap.parse_args()
    if args.results is None:
        args.results = "native" if args.native else "results"
    if args.native and args.reuse_peers:
        sys.exit("--native runs verity alone; --reuse-peers does not apply")
    global ATTACKS, ROWS
    if args.attacks:
        wanted = args.attacks.split(",")
        unknown = [a for a in wanted if a not in {x[0] for x in ATTACKS}]
        if unknown:
            sys.exit(f"unknown attack(s) {unknown}; known: {[x[0] for x in ATTACKS]}")
        ATTACKS = [x for x in ATTACKS if x[0] in wanted]
        ROWS = [r for a, *_ in ATTACKS for r in [a] + [row for b, row, _ in SEARCHED if b == a]]
    os.makedirs(WORK, exist_ok=True)
    path = os.path.join(WORK, args.results + ".jsonl")
    done = load_results(path)
    if args.badge:
        clips = make_clips(args.generated)
        t = badge_eval(clips, tempfile.mkdtemp(prefix="verity-eval-home-"))
        with open(os.path.join(WORK, "badge.md"), "w") as fh:
            fh.write(t + "\n")
        print(t)
        return
    # The side measurements: verity alone, one results file and one table each.
    for wanted, name, measure in [(args.picture_removed, "picture-removed", picture_removed_eval),
                                  (args.rgb_round_trip, "rgb-round-trip", rgb_round_trip_eval)]:
        if not wanted:
            continue
        if not os.path.exists(VERITY):
            sys.exit("build verity first: cargo build --release -p verity")
        clips = select_clips(make_clips(args.generated), args.clips)
        t = measure(clips, tempfile.mkdtemp(prefix="verity-eval-home-"),
                    os.path.join(WORK, name + ".jsonl"))
        with open(os.path.join(WORK, name + ".md"), "w") as fh:
            fh.write(t + "\n")
        print(t)
        return
    reuse = {}
    if args.reuse_peers:
        if not os.path.exists(args.reuse_peers):
            sys.exit(f"{args.reuse_peers}: no such results file")
        reuse = load_results(args.reuse_peers)
    if not args.table_only:
        if not os.path.exists(VERITY):
            sys.exit("build verity first: cargo build --release -p verity")
        peers = None if reuse or args.verity_only or args.native else load_peers()
        clips = select_clips(make_native_clips() if args.native else make_clips(args.generated),
                             args.clips)
        if args.limit:
            clips = clips[: args.limit]
        home = tempfile.mkdtemp(prefix="verity-eval-home-")
        # rivaGan is slow: spread its clips over the kinds (first lavfi, real, generated).
        riva = set(clips[i] for i in sorted({len(clips) // 2, 0, len(clips) - 1})[: args.riva_clips] if i < len(clips))
        for c in clips:
            name = os.path.splitext(os.path.basename(c))[0]
            if name in done:
                continue
            t = time.time()
            if reuse and name not in reuse:
                sys.exit(f"{name} is not in {args.reuse_peers}; run without --reuse-peers")
            r = eval_clip(c, peers, c in riva, home, reuse.get(name))
            r["seconds"] = time.time() - t
            with open(path, "a") as fh:
                fh.write(json.dumps(r) + "\n")
            done[name] = r
            v = r["methods"]["verity"]
            ok = sum(x["exact"] for x in v["attacks"].values())
            print(f"{name}: {r['seconds']:.0f} s; verity PSNR {v['psnr']:.2f} dB, exact on {ok}/{len(v['attacks'])} rows", flush=True)
    t = table(list(done.values()))
    table_name = "table.md" if args.results == "results" else args.results + "-table.md"
    with open(os.path.join(WORK, table_name), "w") as fh:
        fh.write(t + "\n")
    print(t)


if __name__ == "__main__":
    main()
