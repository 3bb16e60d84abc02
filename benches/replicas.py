#!/usr/bin/env python3
"""Jobs per minute with 1, 2 and 3 replicas of `verity serve` sharing one PostgreSQL database
and one object store (a local folder), each replica with 2 workers, on this machine. Rounds
interleave the replica counts; each run is the kill test's setup with no kill and only valid
clips (1-s 160x120 H.264), timed from the first submission to the last result.

Usage (make bench-replicas):
  scripts/with-postgres.sh python3 benches/replicas.py target/release/verity [--jobs N] [--rounds R]
"""

import argparse
import os
import re
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("verity")
    ap.add_argument("--jobs", type=int, default=150)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    server = os.environ.get("VERITY_TEST_POSTGRES")
    if not server:
        sys.exit("run under scripts/with-postgres.sh (VERITY_TEST_POSTGRES is not set)")
    results = {1: [], 2: [], 3: []}
    for r in range(args.rounds):
        for n in results:
            out = subprocess.run(
                [sys.executable, os.path.join(HERE, "..", "scripts", "kill-test.py"), args.verity,
                 "--postgres", server, "--replicas", str(n), "--kills", "0", "--valid-only",
                 "--jobs", str(args.jobs)],
                capture_output=True, text=True)
            m = re.search(r"throughput ([0-9.]+) jobs/min", out.stderr)
            if out.returncode != 0 or not m:
                sys.exit(f"replicas={n}: the run failed:\n{out.stderr[-2000:]}")
            results[n].append(float(m.group(1)))
            print(f"round {r} replicas={n}: {m.group(1)} jobs/min", file=sys.stderr)
    base = statistics.median(results[1])
    print(f"replicas  jobs/min (median of {args.rounds})  vs 1 replica   ({args.jobs} jobs, "
          f"{os.cpu_count()} CPUs)")
    for n, v in results.items():
        med = statistics.median(v)
        print(f"{n:>8}  {med:>10.1f}                {med / base:>5.2f}x       runs: {v}")


if __name__ == "__main__":
    main()
