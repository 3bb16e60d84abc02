#!/usr/bin/env python3
"""The service's kill test: 200 jobs of mixed valid and malformed clips, the server killed with
SIGKILL twice while they run and restarted each time. Passes when every job ends succeeded or
failed-with-a-reason, none is lost, none is run to a result twice, and every job's webhook is
delivered with a valid signature.

Usage: scripts/kill-test.py path/to/verity [--jobs N]

Everything is on loopback, in a temporary folder; the script stops its servers itself and gives
up after a fixed deadline (it never waits on a timer for something to happen: it polls the
service's own state)."""

import argparse
import base64
import hashlib
import hmac
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DEADLINE_S = 900
# The server now running, stopped on every way out.
SERVER = []


def stop_server():
    for p in SERVER:
        if p.poll() is None:
            p.kill()
            p.wait()


def fail(msg):
    stop_server()
    print(f"kill test: FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


class Receiver:
    """A webhook receiver that checks each delivery's Standard Webhooks signature."""

    def __init__(self):
        self.secret = None
        self.jobs = {}
        self.bad = []
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", 0))).decode()
                mid = self.headers.get("webhook-id", "")
                ts = self.headers.get("webhook-timestamp", "")
                key = base64.b64decode(outer.secret.removeprefix("whsec_"))
                want = "v1," + base64.b64encode(
                    hmac.new(key, f"{mid}.{ts}.{body}".encode(), hashlib.sha256).digest()
                ).decode()
                with outer.lock:
                    if self.headers.get("webhook-signature") != want:
                        outer.bad.append(mid)
                    else:
                        event = json.loads(body)
                        outer.jobs.setdefault(event["data"]["job_id"], set()).add(mid)
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def run(cmd, env):
    return subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout


def start(verity, env, config):
    p = subprocess.Popen(
        [verity, "serve", "--listen", "127.0.0.1:0", "--workers", "2", "--config", config],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    SERVER.append(p)
    line = p.stdout.readline().strip()
    prefix = "verity serve: listening on "
    if not line.startswith(prefix):
        p.kill()
        fail(f"the service did not start: {line!r}")
    return p, line[len(prefix):]


def request(base, token, method, path, body=None, headers=None):
    req = urllib.request.Request(base + path, data=body, method=method)
    req.add_header("Authorization", f"Bearer {token}")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def form(fields, file_name, data):
    boundary = "killtest" + os.urandom(8).hex()
    out = b""
    for k, v in fields.items():
        out += f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
    out += (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{file_name}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode() + data + f"\r\n--{boundary}--\r\n".encode()
    return out, f"multipart/form-data; boundary={boundary}"


def counts(db):
    con = sqlite3.connect(db, timeout=30)
    try:
        return dict(con.execute("SELECT status, COUNT(*) FROM verify_jobs GROUP BY status").fetchall())
    finally:
        con.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("verity")
    ap.add_argument("--jobs", type=int, default=200)
    args = ap.parse_args()
    verity = os.path.abspath(args.verity)
    started = time.monotonic()
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as d:
        env = dict(os.environ, VERITY_HOME=os.path.join(d, "home"))
        run([verity, "keys", "init", "--org", "Kill Test"], env)
        token = json.loads(run([verity, "serve", "keys", "create", "--name", "k", "--scope", "jobs", "--json"], env))["token"]
        rec = Receiver()
        rec.secret = json.loads(run([verity, "serve", "webhooks", "add", rec.url, "--json"], env))["secret"]
        config = os.path.join(d, "serve.toml")
        with open(config, "w") as f:
            f.write("[limits]\nrequests_per_minute = 0\n[jobs]\nlease = 2\npoll_interval = 0.05\nmax_attempts = 3\n"
                    "[webhooks]\nallow_private = true\nretry_delays = [0.2, 0.5, 1, 2, 4]\n")
        clips = []
        for i, src in enumerate(["testsrc2", "testsrc", "smptebars", "rgbtestsrc"]):
            path = os.path.join(d, f"c{i}.mp4")
            subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"{src}=s=160x120:r=24:d=1",
                            "-c:v", "libx264", "-pix_fmt", "yuv420p", path], check=True)
            clips.append(open(path, "rb").read())
        db = os.path.join(d, "home", "service", "service.db")

        server, base = start(verity, env, config)
        ids, malformed = [], set()
        for n in range(args.jobs):
            kind = rng.random()
            clip = clips[n % len(clips)]
            if kind < 0.15:
                data, name = clip[: len(clip) // 2], f"truncated-{n}.mp4"
            elif kind < 0.3:
                data, name = os.urandom(4000 + n), f"noise-{n}.mp4"
            else:
                data, name = clip, f"clip-{n}.mp4"
            body, ctype = form({"callback_url": rec.url, "metadata": json.dumps({"n": n})}, name, data)
            status, job = request(base, token, "POST", "/v1/jobs", body,
                                  {"Content-Type": ctype, "Idempotency-Key": f"job-{n}"})
            if status != 202:
                fail(f"job {n} was not queued: {status} {job}")
            ids.append(job["id"])
            if not name.startswith("clip"):
                malformed.add(job["id"])

        kills = 0
        while True:
            if time.monotonic() - started > DEADLINE_S:
                server.kill()
                fail(f"not every job finished in {DEADLINE_S} s: {counts(db)}")
            c = counts(db)
            final = c.get("succeeded", 0) + c.get("failed", 0)
            if kills < 2 and final >= (kills + 1) * len(ids) // 3:
                server.send_signal(signal.SIGKILL)
                server.wait()
                kills += 1
                print(f"kill test: SIGKILL {kills} with {final}/{len(ids)} jobs finished", file=sys.stderr)
                server, base = start(verity, env, config)
                continue
            if final == len(ids) and kills == 2:
                break
            time.sleep(0.2)

        # Every webhook delivered (at least once, each signature valid).
        while len(rec.jobs) < len(ids) and time.monotonic() - started < DEADLINE_S:
            time.sleep(0.2)
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)

        con = sqlite3.connect(db)
        rows = con.execute("SELECT id, status, error, attempts FROM verify_jobs").fetchall()
        by_id = {r[0]: r for r in rows}
        missing = [i for i in ids if i not in by_id]
        if missing:
            fail(f"{len(missing)} jobs lost: {missing[:3]}")
        for i in ids:
            _, status, error, attempts = by_id[i]
            if status not in ("succeeded", "failed"):
                fail(f"job {i} ended {status}")
            if status == "failed" and not error:
                fail(f"job {i} failed without a reason")
            if i not in malformed and status != "succeeded":
                fail(f"valid job {i} failed: {error}")
            if i in malformed and status != "failed":
                fail(f"malformed job {i} ended {status}")
        results = con.execute(
            "SELECT subject, COUNT(*) FROM audit WHERE action IN ('job.succeeded', 'job.failed') GROUP BY subject"
        ).fetchall()
        twice = [s for s, n in results if n != 1]
        if twice or len(results) != len(ids):
            fail(f"jobs with other than one result: {twice[:3]} ({len(results)} of {len(ids)} recorded)")
        retried = sum(1 for r in rows if r[3] > 1)
        if rec.bad:
            fail(f"{len(rec.bad)} webhooks with a bad signature")
        lost_hooks = [i for i in ids if i not in rec.jobs]
        if lost_hooks:
            fail(f"{len(lost_hooks)} jobs' webhooks never arrived: {lost_hooks[:3]}")
        dup = sum(1 for v in rec.jobs.values() if len(v) > 1)
        print(f"kill test: ok: {len(ids)} jobs ({len(malformed)} malformed), 2 SIGKILLs, "
              f"{retried} jobs re-run after a kill, each with one result; "
              f"{len(rec.jobs)} webhooks delivered ({dup} with more than one message id); "
              f"{time.monotonic() - started:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    try:
        main()
    finally:
        stop_server()
