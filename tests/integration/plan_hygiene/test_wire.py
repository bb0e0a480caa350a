#!/usr/bin/env python3
"""test_wire.py - what the hygiene providers send, and cases neither
fakegcp nor the emulator can produce, against a small scripted server of
our own on 127.0.0.1 (a free port; it runs in this process and stops with
it).

Checks:
  - two FirestoreCollectionPolicies on one collection share ONE runQuery,
    whose structured query selects __name__ and both staleness fields
    (nothing else) and orders by __name__;
  - a runQuery that fails makes those resources `error` (exit 1) with the
    message, and a collection in another database is queried under it;
  - a bucket probe that fails makes that policy `error`, naming the bucket;
  - a bucket whose only objects are soft-deleted is not empty (second
    probe ?softDeleted=true), a bucket with only folders (prefixes) is not
    empty either, and an empty one without a soft-delete policy is probed
    once.
Environment: DL_BINARY_DIR.
"""
import http.server
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

BIN = os.path.join(os.environ["DL_BINARY_DIR"], "driftless")
SEEN = []  # (method, path, body)


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


def ts(days_ago):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ",
                         time.gmtime(time.time() - days_ago * 86400))


DOCS = "projects/wire-proj/databases/(default)/documents/hb/"


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

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = json.loads(self.rfile.read(n) or b"{}")
        SEEN.append(("POST", self.path, body))
        if self.path == "/v1/projects/wire-proj/databases/(default)/documents:runQuery":
            docs = [{"document": {"name": DOCS + "a", "updateTime": ts(0),
                                  "fields": {"seen": {"timestampValue": ts(1)},
                                             "at": {"timestampValue": ts(9)}}},
                     "readTime": ts(0)},
                    {"document": {"name": DOCS + "b_1", "updateTime": ts(0),
                                  "fields": {}},
                     "readTime": ts(0)},
                    {"readTime": ts(0), "done": True}]
            self.reply(200, docs)
        elif self.path == "/v1/projects/wire-proj/databases/other/documents:runQuery":
            self.reply(403, {"error": {"code": 403, "status":
                                       "PERMISSION_DENIED", "message":
                                       "Missing or insufficient permissions."}})
        else:
            self.reply(404, {"error": {"code": 404, "status": "NOT_FOUND",
                                       "message": "no route " + self.path}})

    def do_GET(self):
        SEEN.append(("GET", self.path, None))
        u = urllib.parse.urlparse(self.path)
        q = urllib.parse.parse_qs(u.query)
        if u.path == "/storage/v1/b" and q.get("project") == ["wire-two"]:
            self.reply(200, {"kind": "storage#buckets", "items": [
                {"name": "nba-denied", "metageneration": "1"}]})
        elif u.path == "/storage/v1/b/nba-denied/o":
            self.reply(403, {"error": {"code": 403, "message":
                                       "denied@example.com does not have "
                                       "storage.objects.list access",
                                       "errors": [{"reason": "forbidden"}]}})
        elif u.path == "/storage/v1/b":
            soft = {"retentionDurationSeconds": "604800",
                    "effectiveTime": ts(100)}
            self.reply(200, {"kind": "storage#buckets", "items": [
                {"name": "nba-soft", "metageneration": "4",
                 "softDeletePolicy": soft},
                {"name": "nba-folders", "metageneration": "1"},
                {"name": "nba-empty", "metageneration": "7",
                 "softDeletePolicy": {"retentionDurationSeconds": "0"}}]})
        elif u.path.startswith("/storage/v1/b/") and u.path.endswith("/o"):
            b = u.path.split("/")[4]
            if q.get("softDeleted") == ["true"]:
                check("versions" not in q, "softDeleted with versions")
                out = {"kind": "storage#objects"}
                if b == "nba-soft":
                    out["items"] = [{"name": "gone.csv", "bucket": b}]
                self.reply(200, out)
            else:
                check(q.get("versions") == ["true"] and
                      q.get("maxResults") == ["1"], "probe query " + u.query)
                out = {"kind": "storage#objects"}
                if b == "nba-folders":
                    out["prefixes"] = ["folder/"]
                self.reply(200, out)
        else:
            self.reply(404, {"error": {"code": 404, "message": "no route"}})


def make_repo(tmp, docs):
    repo = os.path.join(tmp, "repo")
    os.makedirs(os.path.join(repo, "desired-state", "two"))
    with open(os.path.join(repo, "desired-state", "all.yaml"), "w") as f:
        f.write("apiVersion: driftless.dev/v1alpha1\nkind: Project\n"
                "metadata:\n  name: wire-proj\nspec:\n  mode: enforce\n---\n" + docs)
    # A second project whose bucket cannot be probed.
    with open(os.path.join(repo, "desired-state", "two", "p.yaml"), "w") as f:
        f.write("apiVersion: driftless.dev/v1alpha1\nkind: Project\n"
                "metadata:\n  name: wire-two\n---\n"
                "apiVersion: driftless.dev/v1alpha1\n"
                "kind: StorageBucketPolicy\nmetadata: {name: two}\n"
                "spec: {bucketPattern: \"nba-.*\"}\n")
    return repo


POLICIES = """apiVersion: driftless.dev/v1alpha1
kind: FirestoreCollectionPolicy
metadata: {name: by-seen}
spec:
  collection: hb
  idPattern: "[a-z]+"
  staleAfter: {field: seen, age: 7d}
---
apiVersion: driftless.dev/v1alpha1
kind: FirestoreCollectionPolicy
metadata: {name: by-at}
spec:
  collection: hb
  staleAfter: {field: at, age: 7d}
---
apiVersion: driftless.dev/v1alpha1
kind: FirestoreCollectionPolicy
metadata: {name: other-db}
spec:
  database: other
  collection: hb
  maxDocuments: 10
---
apiVersion: driftless.dev/v1alpha1
kind: StorageBucketPolicy
metadata: {name: buckets}
spec:
  bucketPattern: "nba-.*"
  whenEmpty: delete
"""


def main():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("DRIFTLESS_") and k != "FIRESTORE_EMULATOR_HOST"}
    env.update(DRIFTLESS_API_ENDPOINT="http://127.0.0.1:%d" %
               srv.server_address[1], DRIFTLESS_ACCESS_TOKEN="test-token",
               NO_COLOR="1")
    with tempfile.TemporaryDirectory() as tmp:
        repo = make_repo(tmp, POLICIES)
        only = ["FirestoreCollectionPolicy/by-seen",
                "FirestoreCollectionPolicy/by-at",
                "FirestoreCollectionPolicy/other-db",
                "StorageBucketPolicy/buckets", "StorageBucketPolicy/two"]
        cmd = [BIN, "plan", "--source", repo, "--format", "json",
               "--detailed-exitcode"]
        for o in only:
            cmd += ["--only", o]
        p = subprocess.run(cmd, capture_output=True, text=True, env=env,
                           timeout=120)
    srv.shutdown()
    check(p.returncode == 1, "exit %d (want 1: one error): %s" %
          (p.returncode, p.stderr))
    check(p.stdout.startswith("{"), "no plan: " + p.stderr)
    plan = {r["address"]: r for r in json.loads(p.stdout)["resources"]}

    queries = [b for m, path, b in SEEN if path.endswith(":runQuery")
               and "/(default)/" in path]
    check(len(queries) == 1, "one runQuery for two policies: %r" % queries)
    sq = queries[0]["structuredQuery"]
    check(sq["from"] == [{"collectionId": "hb"}], "from %r" % sq)
    check(sq["select"] == {"fields": [{"fieldPath": "__name__"},
                                      {"fieldPath": "seen"},
                                      {"fieldPath": "at"}]},
          "select %r" % sq["select"])
    check(sq["orderBy"] == [{"field": {"fieldPath": "__name__"},
                             "direction": "ASCENDING"}], "orderBy %r" % sq)
    check(set(sq) == {"from", "select", "orderBy"}, "keys %r" % sorted(sq))

    a = plan["wire-proj/FirestoreCollectionPolicy/by-seen"]
    h = a["hygiene"]
    check(h["total"] == 2 and h["violating"]["total"] == 1 and
          h["violating"].get("id_format") == 1 and "stale" not in
          h["violating"], "by-seen %r" % h)
    check(a["notes"] == ['1 document has no timestamp in "seen"; not counted '
                         'as stale'],
          "note on b_1 %r" % a["notes"])
    b = plan["wire-proj/FirestoreCollectionPolicy/by-at"]["hygiene"]
    check(b["violating"] == {"total": 1, "stale": 1} and
          b["samples"] == ["a"], "by-at %r" % b)
    e = plan["wire-proj/FirestoreCollectionPolicy/other-db"]
    check(e["status"] == "error" and
          "Missing or insufficient permissions" in e["error"] and
          "databases/other" in e["error"], "other-db %r" % e)

    g = plan["wire-proj/StorageBucketPolicy/buckets"]
    h = g["hygiene"]
    check(h["total"] == 3 and h["violating"] == {"total": 1, "empty": 1} and
          h["samples"] == ["nba-empty"], "buckets %r" % h)
    check(g["preconditions"]["buckets"] ==
          {"nba-empty": {"metageneration": "7"}}, "metageneration")
    check(any("soft-deleted" in n for n in g["notes"]),
          "soft-delete note %r" % g["notes"])
    t = plan["wire-two/StorageBucketPolicy/two"]
    check(t["status"] == "error" and t["error"].startswith(
        'listing objects of bucket "nba-denied": ') and
        "storage.objects.list" in t["error"], "probe failure %r" % t)
    soft = [path for m, path, b in SEEN if "softDeleted=true" in path]
    check(soft == ["/storage/v1/b/nba-soft/o?maxResults=1&softDeleted=true"],
          "soft-delete probes %r" % soft)
    print("ok")


if __name__ == "__main__":
    main()
