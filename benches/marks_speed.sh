#!/usr/bin/env bash
# Benchmark: `verity sign` with all three layers (badge, spectral mark, C2PA manifest and the
# repository) against a plain ffmpeg libx264 transcode at the same CRF and preset, on the same
# 10-s 1080p clip, interleaved in one run; and the time `verity verify` spends reading the marks
# of the signed clip (its timings_ms.marks, which runs beside the C2PA check).
#
# Usage: benches/marks_speed.sh [RUNS]     (default 3; run via `make bench-marks`)
set -euo pipefail
runs="${1:-3}"
source benches/lib.sh
bench_setup
home="$tmp/home"
"$verity" --home "$home" keys init --org "verity bench" >/dev/null

peer=(ffmpeg -hide_banner -loglevel error -nostdin -y -i "$in10" -c:v libx264 -crf 18 -preset medium -c:a copy "$tmp/peer.mp4")
ours=("$verity" --home "$home" --quiet sign "$in10" -o "$tmp/ours.mp4" --crf 18 --preset medium)
for i in $(seq 1 "$runs"); do
  rm -f "$tmp/ours.mp4"
  if [ $((i % 2)) -eq 1 ]; then measure ffmpeg "${peer[@]}"; measure verity "${ours[@]}"
  else measure verity "${ours[@]}"; rm -f "$tmp/ours.mp4"; measure ffmpeg "${peer[@]}"; fi
done
for i in $(seq 1 "$runs"); do
  "$verity" --home "$home" verify --json "$tmp/ours.mp4" > "$tmp/v.json" || true
  python3 -c "import json,sys; r=json.load(open('$tmp/v.json')); print('marks', r['timings_ms']['marks']/1000, r['timings_ms']['total']/1000, r['watermark']['found'], r['visible_mark']['found'])" >> "$tmp/verify"
done
python3 - "$tmp/results" "$tmp/verify" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
t = lambda k: [float(r[1]) for r in rows if r[0] == k]
f, v = t("ffmpeg"), t("verity")
ratios = [b / a for a, b in zip(f, v)]
ver = [l.split() for l in open(sys.argv[2])]
marks = [float(x[1]) for x in ver]
total = [float(x[2]) for x in ver]
print("| measure (10-s 1080p, CRF 18, preset medium) | ffmpeg transcode | verity sign (all layers) | ratio |")
print("|---|---|---|---|")
print(f"| wall time, median of {len(f)} | {statistics.median(f):.2f} s | {statistics.median(v):.2f} s | {statistics.median(ratios):.3f} |")
print()
print(f"verify: reading the marks took {statistics.median(marks):.2f} s (median of {len(marks)}; whole verify {statistics.median(total):.2f} s); found: watermark {ver[0][3]}, badge {ver[0][4]}")
PY
