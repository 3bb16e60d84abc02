#!/usr/bin/env python3
"""The service's API fuzz: schemathesis runs every check it has against every operation of the
OpenAPI document that a running `verity serve` publishes (no 5xx, documented statuses, content
types and bodies, schema-invalid data refused, auth enforced), with the configuration in
tests/api-fuzz/schemathesis.toml.

Usage: scripts/api-fuzz.py path/to/verity [--max-examples N] [--seed N] [--schemathesis PATH]

The server runs on a loopback port in a temporary folder, with an admin key and no rate limit
(the fuzzer's burst is not what is being tested); the script stops it on every way out, and
schemathesis's own run is bounded by the examples per operation and a deadline."""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEADLINE_S = 900


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("verity")
    ap.add_argument("--max-examples", type=int, default=25)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--schemathesis", default=os.path.join(ROOT, ".cache/venv-api/bin/schemathesis"))
    args = ap.parse_args()
    verity = os.path.abspath(args.verity)
    with tempfile.TemporaryDirectory(prefix="verity-api-fuzz-") as tmp:
        env = dict(os.environ, VERITY_HOME=os.path.join(tmp, "home"))
        env.pop("VERITY_CONFIG", None)
        subprocess.run([verity, "keys", "init", "--org", "API Fuzz"], env=env, check=True,
                       stdout=subprocess.DEVNULL)
        out = subprocess.run([verity, "serve", "keys", "create",
                              "--name", "fuzz", "--scope", "admin", "--json"],
                             env=env, check=True, capture_output=True, text=True).stdout
        token = json.loads(out)["token"]
        config = os.path.join(tmp, "serve.toml")
        with open(config, "w") as f:
            f.write("[limits]\nrequests_per_minute = 0\n")
        server = subprocess.Popen(
            [verity, "serve", "--listen", "127.0.0.1:0", "--config", config],
            env=env, stdout=subprocess.PIPE, stderr=open(os.path.join(tmp, "serve.log"), "w"), text=True)
        try:
            prefix = "verity serve: listening on "
            line = ""
            timer = threading.Timer(120, server.kill)
            timer.start()
            for line in server.stdout:
                if line.startswith(prefix):
                    break
            timer.cancel()
            if not line.startswith(prefix):
                sys.exit(f"api fuzz: FAIL: the server did not start (its log: {tmp}/serve.log)")
            base = line[len(prefix):].strip()
            cmd = [args.schemathesis, "--config-file", os.path.join(ROOT, "tests/api-fuzz/schemathesis.toml"),
                   "--no-color", "run", f"{base}/v1/openapi.json",
                   "-H", f"Authorization: Bearer {token}",
                   "--checks", "all", "--phases", "examples,coverage,fuzzing",
                   "--max-examples", str(args.max_examples), "--seed", str(args.seed),
                   "--workers", "1", "--request-timeout", "60",
                   "--generation-database", "none"]
            print("api fuzz:", " ".join(c if "Bearer" not in c else "'Authorization: Bearer …'" for c in cmd[1:]),
                  flush=True)
            try:
                rc = subprocess.run(cmd, timeout=DEADLINE_S).returncode
            except subprocess.TimeoutExpired:
                sys.exit(f"api fuzz: FAIL: schemathesis ran past {DEADLINE_S} s")
            if rc != 0:
                with open(os.path.join(tmp, "serve.log")) as f:
                    errors = [l for l in f if '"ERROR"' in l]
                if errors:
                    print("the server's errors:", *errors[-20:], sep="\n", file=sys.stderr)
                sys.exit(f"api fuzz: FAIL: schemathesis exited {rc}")
            print("api fuzz: passed")
        finally:
            server.kill()
            server.wait()


if __name__ == "__main__":
    main()
