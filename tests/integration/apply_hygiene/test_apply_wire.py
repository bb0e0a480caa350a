#!/usr/bin/env python3
"""test_apply_wire.py - what the Firestore hygiene apply sends, and per-write
and whole-request failures the emulator cannot produce, against a scripted
Firestore of our own on 127.0.0.1 (a free port, in this process).

Checks, for 1,203 run-suffixed heartbeat IDs (each with its own
updateTime):
  - batchWrite requests of at most 500 deletes (500, 500, 203), at most
    DL_HYGIENE_FS_INFLIGHT (6) in flight, every document deleted once, each
    delete guarded by currentDocument.updateTime = the listed updateTime;
  - per-write FAILED_PRECONDITION (12 documents "rewritten since") is
    counted as skipped, not fatal: applied, 1,191 objects, exit 0;
  - --max-deletes 700 sends exactly 700 deletes;
  - Ctrl-C (SIGINT) once deleting started: the batches in flight finish,
    no new one starts, exit 130, the report counts what was deleted;
  - a batchWrite refused as a whole (403) fails the resource, exit 1.
Environment: DL_BINARY_DIR.
"""
import http.server
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time

BIN = os.path.join(os.environ["DL_BINARY_DIR"], "driftless")
N = 1203
N_SLOW = 6000  # 12 batches
LOCK = threading.Lock()
STATE = {"batches": [], "inflight": 0, "max_inflight": 0, "queries": 0}


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


def docs_prefix(project):
    return "projects/%s/databases/(default)/documents/hb/" % project


def update_time(i):
    return "2026-01-01T00:00:%02d.%06dZ" % (i // 1000, (i % 1000) * 1000 + 1)


def now():
    return time.strftime("%Y-%m-%dT%H:%M:%S.000001Z", time.gmtime())


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def reply(self, code, obj):
        raw = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def do_GET(self):  # the lease document: not there yet
        self.reply(404, {"error": {"code": 404, "status": "NOT_FOUND",
                                   "message": "no document " + self.path}})

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = json.loads(self.rfile.read(n) or b"{}")
        project = self.path.split("/")[3]
        if self.path.endswith("documents:runQuery"):
            with LOCK:
                STATE["queries"] += 1
            n = N_SLOW if project == "wire-slow" else N
            out = [{"document": {"name": docs_prefix(project) + "p_%04d" % i,
                                 "updateTime": update_time(i),
                                 "fields": {}},
                    "readTime": now()} for i in range(n)]
            self.reply(200, out)
        elif self.path.endswith(":commit"):  # the lease
            self.reply(200, {"writeResults": [{"updateTime": now()}],
                             "commitTime": now()})
        elif self.path.endswith(":batchWrite"):
            with LOCK:
                STATE["inflight"] += 1
                STATE["max_inflight"] = max(STATE["max_inflight"],
                                            STATE["inflight"])
            # Let the others arrive (wire-slow: time for a Ctrl-C).
            time.sleep(1.0 if project == "wire-slow" else 0.05)
            with LOCK:
                STATE["inflight"] -= 1
                STATE["batches"].append(body["writes"])
            if project == "wire-denied":
                self.reply(403, {"error": {"code": 403, "status":
                                           "PERMISSION_DENIED", "message":
                                           "Missing or insufficient "
                                           "permissions."}})
                return
            status = []
            for w in body["writes"]:
                i = int(w["delete"].rsplit("_", 1)[1])
                status.append({"code": 9, "message": "the stored version "
                               "does not match the required base version"}
                              if i % 100 == 7 else {})
            self.reply(200, {"writeResults": [{} for _ in body["writes"]],
                             "status": status})
        else:
            self.reply(404, {"error": {"code": 404, "status": "NOT_FOUND",
                                       "message": "no route " + self.path}})


def make_repo(tmp, project):
    repo = os.path.join(tmp, project)
    os.makedirs(os.path.join(repo, "desired-state"))
    with open(os.path.join(repo, "desired-state", "p.yaml"), "w") as f:
        f.write("""apiVersion: driftless.dev/v1alpha1
kind: Project
metadata:
  name: %s
spec:
  region: us-west2
  mode: enforce
---
apiVersion: driftless.dev/v1alpha1
kind: FirestoreCollectionPolicy
metadata:
  name: hb
spec:
  collection: hb
  idPattern: "[a-z]+"
  maxDeletesPerRun: 5000
""" % project)
    env = dict(os.environ, GIT_CONFIG_NOSYSTEM="1",
               GIT_CONFIG_GLOBAL="/dev/null", GIT_AUTHOR_NAME="t",
               GIT_AUTHOR_EMAIL="t@example.com", GIT_COMMITTER_NAME="t",
               GIT_COMMITTER_EMAIL="t@example.com")
    for cmd in (["git", "init", "-q", "-b", "main", "."], ["git", "add", "-A"],
                ["git", "-c", "commit.gpgsign=false", "commit", "-q", "-m",
                 "x"]):
        subprocess.run(cmd, cwd=repo, env=env, check=True)
    return repo


def apply(port, repo, extra=(), interrupt=False):
    STATE.update(batches=[], inflight=0, max_inflight=0, queries=0)
    report = repo + ".report.json"
    env = dict(os.environ, FIRESTORE_EMULATOR_HOST="127.0.0.1:%d" % port,
               DRIFTLESS_ACCESS_TOKEN="test-token", NO_COLOR="1")
    env.pop("DRIFTLESS_API_ENDPOINT", None)
    p = subprocess.Popen([BIN, "apply", "--source", repo, "--auto-approve",
                          "--only", "FirestoreCollectionPolicy/hb",
                          "--report", report] + list(extra),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, env=env)
    if interrupt:  # Ctrl-C once the first batchWrite arrived
        t0 = time.time()
        while STATE["max_inflight"] == 0 and time.time() - t0 < 60:
            time.sleep(0.01)
        p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=300)
    p.stdout, p.stderr = out, err
    with open(report) as f:
        rep = json.load(f)
    check(len(rep["resources"]) == 1, "report %r" % rep)
    return p.returncode, p.stdout + p.stderr, rep["resources"][0]


def main():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port = srv.server_address[1]
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    with tempfile.TemporaryDirectory() as tmp:
        repo = make_repo(tmp, "wire-apply")
        rc, out, r = apply(port, repo)
        check(rc == 0, "exit %d:\n%s" % (rc, out))
        sizes = sorted((len(b) for b in STATE["batches"]), reverse=True)
        check(sizes == [500, 500, 203], "batch sizes %r" % sizes)
        check(STATE["max_inflight"] <= 6, "in flight %d" %
              STATE["max_inflight"])
        seen = {}
        for b in STATE["batches"]:
            for w in b:
                check(set(w) == {"delete", "currentDocument"}, "write %r" % w)
                i = int(w["delete"].rsplit("_", 1)[1])
                check(w["delete"] == docs_prefix("wire-apply") + "p_%04d" % i,
                      "name %r" % w["delete"])
                check(w["currentDocument"] == {"updateTime": update_time(i)},
                      "precondition of %d: %r" % (i, w["currentDocument"]))
                check(i not in seen, "%d deleted twice" % i)
                seen[i] = 1
        check(len(seen) == N, "deleted %d distinct" % len(seen))
        skipped = sum(1 for i in range(N) if i % 100 == 7)
        check(r["outcome"] == "applied" and r["objects"] == N - skipped,
              "result %r" % r)
        check("%d skipped: changed since listed" % skipped in r["message"],
              "message %r" % r["message"])
        # The plan's listing is deleted from: the collection is read once.
        check(STATE["queries"] == 1, "%d runQuery requests" % STATE["queries"])
        check("listed by the plan" in r["message"], "message %r" % r["message"])
        print("batches %r, max in flight %d: %s" %
              (sizes, STATE["max_inflight"], r["message"]))

        rc, out, r = apply(port, repo, ["--max-deletes", "700"])
        check(rc == 0, "max-deletes exit %d:\n%s" % (rc, out))
        sent = sum(len(b) for b in STATE["batches"])
        check(sent == 700, "--max-deletes 700 sent %d deletes" % sent)
        check("stopped at the delete cap" in r["message"], "msg %r" %
              r["message"])

        # Ctrl-C: the batches in flight finish, no new one starts.
        repo = make_repo(tmp, "wire-slow")
        rc, out, r = apply(port, repo, interrupt=True)
        sent = sum(len(b) for b in STATE["batches"])
        check(rc == 130, "interrupted exit %d:\n%s" % (rc, out))
        check(0 < sent <= 6 * 500 and sent < N_SLOW,
              "sent %d deletes after Ctrl-C" % sent)
        check(r["objects"] == sent - sum(1 for b in STATE["batches"]
                                         for w in b
                                         if int(w["delete"][-4:]) % 100 == 7),
              "interrupted result %r (sent %d)" % (r, sent))
        print("interrupted: sent %d deletes: %s" % (sent, r["message"]))

        repo = make_repo(tmp, "wire-denied")
        rc, out, r = apply(port, repo)
        check(rc == 1, "denied exit %d:\n%s" % (rc, out))
        check(r["outcome"] == "failed" and r["objects"] == 0 and
              "batchWrite requests failed" in r["message"] and
              "insufficient permissions" in r["message"], "denied %r" % r)
    srv.shutdown()
    print("ok")


if __name__ == "__main__":
    main()
