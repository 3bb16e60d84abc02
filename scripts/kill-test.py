#!/usr/bin/env python3
"""The service's kill test: 200 jobs of mixed valid and malformed clips, the server killed with
SIGKILL twice while they run and restarted each time. Passes when every job ends succeeded or
failed-with-a-reason, none is lost, none is run to a result twice, every job's webhook is
delivered with a valid signature, and no upload is left in the object store (a kill between a
job's end and its upload's delete included).

With --postgres URL the service runs on that PostgreSQL server (a new database in it) instead of
SQLite. With --replicas N (the replica test) N servers share that database and one object store
(a folder given to each as file://…), each with its own data folder; jobs go to them in turn, one
replica is SIGKILLed mid-run and started again, and every job's webhook must carry exactly one
message id (a second would mean a second result).

Usage: scripts/kill-test.py path/to/verity [--jobs N] [--kills K] [--postgres URL [--replicas N]]

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
import re
import resource
import select
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
# Every server started, stopped on every way out.
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
    return wait_listening(p)


def wait_listening(p):
    SERVER.append(p)
    # The first line, or nothing within a minute (the service does not start): never a hang.
    ready, _, _ = select.select([p.stdout], [], [], 60)
    line = p.stdout.readline().strip() if ready else ""
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


class Database:
    """The service's database, read by the test: a SQLite file, or a Postgres URL through psql."""

    def __init__(self, sqlite_path=None, url=None):
        self.sqlite_path, self.url = sqlite_path, url

    def rows(self, sql):
        if self.url is None:
            con = sqlite3.connect(self.sqlite_path, timeout=30)
            try:
                return con.execute(sql).fetchall()
            finally:
                con.close()
        out = subprocess.run(["psql", self.url, "-X", "-A", "-t", "-F", "\t", "-c", sql],
                             check=True, capture_output=True, text=True).stdout
        rows = []
        for line in out.splitlines():
            if not line:
                continue
            cells = [None if c == "" else c for c in line.split("\t")]
            rows.append(tuple(int(c) if c is not None and c.lstrip("-").isdigit() else c for c in cells))
        return rows


def counts(db):
    return dict(db.rows("SELECT status, COUNT(*) FROM verify_jobs GROUP BY status"))


def new_database(server):
    """A fresh database on the Postgres server at `server`; its URL."""
    name = "verity_kill_" + os.urandom(6).hex()
    subprocess.run(["psql", server, "-X", "-q", "-c", f"CREATE DATABASE {name}"], check=True)
    return server.rsplit("/", 1)[0] + "/" + name


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("verity")
    ap.add_argument("--jobs", type=int, default=200)
    ap.add_argument("--kills", type=int, default=2)
    ap.add_argument("--postgres", metavar="URL", help="a server whose user may create databases")
    ap.add_argument("--replicas", type=int, default=1)
    ap.add_argument("--valid-only", action="store_true", help="no malformed uploads (for throughput)")
    args = ap.parse_args()
    if args.replicas > 1 and not args.postgres:
        ap.error("--replicas needs --postgres (replicas share one database)")
    verity = os.path.abspath(args.verity)
    started = time.monotonic()
    rng = random.Random(7)
    label = "replica test" if args.replicas > 1 else "kill test"
    with tempfile.TemporaryDirectory() as d:
        env = dict(os.environ, VERITY_HOME=os.path.join(d, "home"))
        env.pop("VERITY_DATABASE_URL", None)
        env.pop("VERITY_STORAGE", None)
        if args.postgres:
            env["VERITY_DATABASE_URL"] = new_database(args.postgres)
        if args.postgres:
            # Replicas share the database and this object store, nothing else.
            env["VERITY_STORAGE"] = "file://" + os.path.join(d, "shared-store")
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
        db = Database(os.path.join(d, "home", "service", "service.db"), env.get("VERITY_DATABASE_URL"))
        # Each replica has its own data folder (scratch uploads; no shared files but the store).
        envs = []
        for r in range(args.replicas):
            e = dict(env)
            if args.postgres:
                e["VERITY_DATA"] = os.path.join(d, f"replica-{r}")
            envs.append(e)
        servers = [start(verity, e, config) for e in envs]
        ids, malformed = [], set()
        first_submit = time.monotonic()
        cpu0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        self0 = resource.getrusage(resource.RUSAGE_SELF)
        for n in range(args.jobs):
            kind = 1.0 if args.valid_only else rng.random()
            clip = clips[n % len(clips)]
            if kind < 0.15:
                data, name = clip[: len(clip) // 2], f"truncated-{n}.mp4"
            elif kind < 0.3:
                data, name = os.urandom(4000 + n), f"noise-{n}.mp4"
            else:
                data, name = clip, f"clip-{n}.mp4"
            body, ctype = form({"callback_url": rec.url, "metadata": json.dumps({"n": n})}, name, data)
            # Round-robin over the replicas.
            status, job = request(servers[n % len(servers)][1], token, "POST", "/v1/jobs", body,
                                  {"Content-Type": ctype, "Idempotency-Key": f"job-{n}"})
            if status != 202:
                fail(f"job {n} was not queued: {status} {job}")
            ids.append(job["id"])
            if not name.startswith("clip"):
                malformed.add(job["id"])

        submitted = time.monotonic()
        kills = 0
        # The victim: the second replica (or the only server).
        victim = min(1, len(servers) - 1)
        while True:
            if time.monotonic() - started > DEADLINE_S:
                fail(f"not every job finished in {DEADLINE_S} s: {counts(db)}")
            c = counts(db)
            final = c.get("succeeded", 0) + c.get("failed", 0)
            if kills < args.kills and final >= (kills + 1) * len(ids) // (args.kills + 1):
                p, _ = servers[victim]
                p.send_signal(signal.SIGKILL)
                p.wait()
                kills += 1
                print(f"{label}: SIGKILL {kills} (replica {victim}) with {final}/{len(ids)} jobs finished",
                      file=sys.stderr)
                servers[victim] = start(verity, envs[victim], config)
                continue
            if final == len(ids) and kills == args.kills:
                all_done = time.monotonic()
                break
            time.sleep(0.2)

        # Every webhook delivered (at least once, each signature valid).
        while len(rec.jobs) < len(ids) and time.monotonic() - started < DEADLINE_S:
            time.sleep(0.2)
        for p, _ in servers:
            p.send_signal(signal.SIGTERM)
        for p, _ in servers:
            p.wait(timeout=60)
        cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        self1 = resource.getrusage(resource.RUSAGE_SELF)
        servers_cpu = (cpu1.ru_utime + cpu1.ru_stime) - (cpu0.ru_utime + cpu0.ru_stime)
        script_cpu = (self1.ru_utime + self1.ru_stime) - (self0.ru_utime + self0.ru_stime)

        rows = db.rows("SELECT id, status, error, attempts FROM verify_jobs")
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
        results = db.rows(
            "SELECT subject, COUNT(*) FROM audit WHERE action IN ('job.succeeded', 'job.failed') GROUP BY subject"
        )
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
        if args.replicas > 1 and dup:
            fail(f"{dup} jobs' webhooks came with more than one message id")
        deliveries = dict(db.rows("SELECT job_id, COUNT(*) FROM webhook_deliveries GROUP BY job_id"))
        if any(n != 1 for n in deliveries.values()) or len(deliveries) != len(ids):
            fail(f"jobs with other than one webhook delivery: {len(deliveries)} of {len(ids)}")
        ran_on = db.rows("SELECT split_part(worker, '-', 3), COUNT(*) FROM job_attempts GROUP BY 1"
                         if args.postgres else
                         "SELECT 'all', COUNT(*) FROM job_attempts")
        if args.replicas > 1 and len(ran_on) < 2:
            fail(f"one worker process ran every job: {ran_on}")
        # Nothing left behind: no upload in the store (each ended job removed its own), nothing
        # in the scratch folders of the replicas that were never killed.
        store = (os.path.join(d, "shared-store") if args.postgres
                 else os.path.join(d, "home", "service", "store"))
        recorded = dict(db.rows("SELECT key, claims FROM store_orphans"))

        def stored(prefix):
            """The object keys of the files under `prefix` in the store; a staging file `KEY#N`
            (a write a kill cut short) counts as KEY."""
            return [re.sub(r"#[0-9]+$", "", os.path.relpath(os.path.join(r, f), store).replace(os.sep, "/"))
                    for r, _, fs in os.walk(os.path.join(store, prefix)) for f in fs]

        # A row a sweep took when its server was killed waits ten minutes for the next try, its
        # object with it: let through (rare: a sweep holds a row for one delete).
        left = [k for k in stored("uploads") if recorded.get(k, 0) == 0]
        if left:
            fail(f"{len(left)} uploads left in the object store: {left[:3]}")
        # Every object let go of was deleted with its record (a kill between a job's commit and
        # its upload's delete leaves the record: the restarted server's sweep takes it). What is
        # left is reservations within their grace: a review video stored by a run that was
        # killed before its item was recorded, swept an hour later.
        now_ms = int(time.time() * 1000)
        due = db.rows(f"SELECT key FROM store_orphans WHERE due_at <= {now_ms}")
        if due:
            fail(f"{len(due)} stored objects let go of and not deleted: {due[:3]}")
        reserved = [k for k, claims in recorded.items() if claims == 0]
        if any(not k.startswith("review/") for k in reserved):
            fail(f"an upload's reservation outlived its request: {reserved[:3]}")
        # Every review video in the store is an open item's, or recorded for its sweep: none is
        # lost track of, whole or cut short.
        held = {k for (k,) in db.rows("SELECT video_path FROM review_items WHERE video_path IS NOT NULL")}
        loose = [k for k in stored("review") if k not in held and k not in recorded]
        if loose:
            fail(f"{len(loose)} review videos in the store that nothing holds or records: {loose[:3]}")
        for r, e in enumerate(envs):
            if r == victim:
                continue
            scratch = os.path.join(e.get("VERITY_DATA", os.path.join(d, "home", "service")), "uploads")
            stale = [f for _, _, fs in os.walk(scratch) for f in fs]
            if stale:
                fail(f"replica {r} left {len(stale)} files in its scratch folder")
        print(f"{label}: ok: {len(ids)} jobs ({len(malformed)} malformed), {len(servers)} "
              f"{'replicas' if len(servers) > 1 else 'server'} on {'Postgres' if args.postgres else 'SQLite'}, "
              f"{kills} SIGKILLs, {retried} jobs re-run after a kill, each with one result "
              f"({len(reserved)} review videos of killed runs reserved, swept after their grace); "
              f"{len(rec.jobs)} webhooks delivered ({dup} with more than one message id); "
              f"attempts by worker process: {sorted(ran_on)}; "
              f"throughput {len(ids) * 60 / (all_done - first_submit):.1f} jobs/min "
              f"(first submission to last result; submitting took {submitted - first_submit:.1f} s); "
              f"CPU: the servers {servers_cpu:.1f} s, this script {script_cpu:.1f} s, "
              f"over {time.monotonic() - first_submit:.1f} s on {os.cpu_count()} cores; "
              f"{time.monotonic() - started:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    # A TERM (a CI timeout) stops the servers too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        main()
    finally:
        stop_server()
