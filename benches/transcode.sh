#!/usr/bin/env bash
# Benchmark: `verity transcode` against the plain ffmpeg CLI at the same encoder settings, on the
# same 10-s 1080p clip, interleaved in one run (the machines are noisy, so only the ratio counts).
# Also the peak memory (RSS) of a 60-s 1080p transcode, for both.
#
# Usage: benches/transcode.sh [RUNS]     (default 3; run via `make bench`)
# Prints a Markdown table for docs/benchmarks.md.
set -euo pipefail
runs="${1:-3}"
source benches/lib.sh
bench_setup
in60="$media/bbb-1080p-60s.mp4"

# The peer, exactly as the issue names it, and verity at the same settings.
peer=(ffmpeg -hide_banner -loglevel error -nostdin -y -i)
peer_out=(-c:v libx264 -crf 23 -preset medium -c:a aac)
ours=("$verity" --quiet transcode --crf 23 --preset medium --audio aac)

for i in $(seq 1 "$runs"); do
  # Alternate the order so that neither side always runs on a warmer machine.
  if [ $((i % 2)) -eq 1 ]; then
    measure ffmpeg10 "${peer[@]}" "$in10" "${peer_out[@]}" "$tmp/peer.mp4"; measure verity10 "${ours[@]}" "$in10" "$tmp/ours.mp4"
  else
    measure verity10 "${ours[@]}" "$in10" "$tmp/ours.mp4"; measure ffmpeg10 "${peer[@]}" "$in10" "${peer_out[@]}" "$tmp/peer.mp4"
  fi
done
measure ffmpeg60 "${peer[@]}" "$in60" "${peer_out[@]}" "$tmp/peer60.mp4"
measure verity60 "${ours[@]}" "$in60" "$tmp/ours60.mp4"

python3 - "$tmp/results" "$runs" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
def vals(label, i): return [float(r[i]) for r in rows if r[0] == label]
f10, v10 = vals("ffmpeg10", 1), vals("verity10", 1)
ratios = [v / f for v, f in zip(v10, f10)]
print(f"| measure | ffmpeg CLI | verity transcode | ratio (verity/ffmpeg) |")
print(f"|---|---|---|---|")
print(f"| 10-s 1080p, wall time, median of {sys.argv[2]} | {statistics.median(f10):.2f} s | {statistics.median(v10):.2f} s | {statistics.median(ratios):.3f} (runs: {', '.join(f'{r:.3f}' for r in ratios)}) |")
f60, v60 = vals("ffmpeg60", 2)[0] / 1024, vals("verity60", 2)[0] / 1024
t60f, t60v = vals("ffmpeg60", 1)[0], vals("verity60", 1)[0]
print(f"| 60-s 1080p, peak RSS | {f60:.0f} MB | {v60:.0f} MB | {v60 / f60:.2f} |")
print(f"| 60-s 1080p, wall time | {t60f:.1f} s | {t60v:.1f} s | {t60v / t60f:.3f} |")
PY
