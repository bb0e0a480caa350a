#!/usr/bin/env python3
"""test_plan_hygiene.py CASE - `driftless plan` for the hygiene kinds
against the sandbox (fakegcp + the Firestore emulator).

Cases (one ctest each):
  incident   106,349 heartbeat documents, 105,623 with a run-suffixed ID;
             measures plan time and peak RSS with /usr/bin/time -v
  defaultcap a small collection without maxDeletesPerRun: cap 1000
  bigquery   50 old staging tables, 3 old temp tables (report), pagination
  buckets    5 empty buckets of 7 (one holds only a noncurrent version)
  insync     nothing violates: "No changes." and exit 0
  missing    a dataset that does not exist: error, exit 1
Environment: the sandbox env (with-env.sh), DL_BINARY_DIR, SEED_FIRESTORE
(the seeding tool). Each case uses its own project IDs.
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request

BIN = os.path.join(os.environ["DL_BINARY_DIR"], "driftless")
SEED = os.environ["SEED_FIRESTORE"]
FAKE = os.environ["FAKEGCP_URL"]
EMU = os.environ["FIRESTORE_EMULATOR_HOST"]
DAY = 86400


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


def http(method, url, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=120) as r:
        raw = r.read()
        return json.loads(raw) if raw else None


def make_repo(tmp, project, docs, mode="enforce"):
    """A git repo with desired-state/project.yaml and policies.yaml."""
    repo = os.path.join(tmp, "repo")
    os.makedirs(os.path.join(repo, "desired-state"))
    with open(os.path.join(repo, "desired-state", "project.yaml"), "w") as f:
        f.write("apiVersion: driftless.dev/v1alpha1\nkind: Project\n"
                "metadata:\n  name: %s\nspec:\n  region: us-west2\n"
                "  mode: %s\n" % (project, mode))
    with open(os.path.join(repo, "desired-state", "policies.yaml"), "w") as f:
        f.write(docs)
    env = dict(os.environ, GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL="/dev/null",
               GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.com",
               GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.com")
    for cmd in (["git", "init", "-q", "-b", "main", "."],
                ["git", "add", "-A"],
                ["git", "-c", "commit.gpgsign=false", "commit", "-q", "-m",
                 "desired state"]):
        subprocess.run(cmd, cwd=repo, env=env, check=True)
    return repo


def plan(repo, only, fmt="json", timed=False):
    """Run driftless plan; returns (exit code, stdout, stderr)."""
    cmd = [BIN, "plan", "--source", repo, "--format", fmt,
           "--detailed-exitcode"]
    for o in only:
        cmd += ["--only", o]
    if timed:
        cmd = ["/usr/bin/time", "-v"] + cmd
    env = dict(os.environ, DRIFTLESS_ACCESS_TOKEN="test-token", NO_COLOR="1")
    p = subprocess.run(cmd, capture_output=True, text=True, env=env,
                       timeout=600)
    return p.returncode, p.stdout, p.stderr


def resource(planj, address):
    """The plan resource at address, its hygiene block flattened: the
    plan's violating {total, id_format, ...} (zero reasons left out)
    becomes violating, id_format, stale, over_limit, empty."""
    for r in planj["resources"]:
        if r["address"] == address:
            h = r.get("hygiene")
            if h and isinstance(h["violating"], dict):
                v = h["violating"]
                h["violating"] = v["total"]
                for k in ("id_format", "stale", "over_limit", "empty"):
                    h[k] = v.get(k, 0)
            return r
    fail("no resource %s in the plan: %s" %
         (address, [r["address"] for r in planj["resources"]]))


def clear_firestore(project):
    http("DELETE", "http://%s/emulator/v1/projects/%s/databases/(default)/"
         "documents" % (EMU, project))


def seed_firestore(project, collection, field, lines):
    clear_firestore(project)
    p = subprocess.run([SEED, project, collection, field],
                       input="".join(lines), capture_output=True, text=True,
                       env=dict(os.environ,
                                DRIFTLESS_ACCESS_TOKEN="test-token"),
                       timeout=600)
    check(p.returncode == 0, "seeding failed: " + p.stderr)
    print(p.stdout.strip())


def seed_fake(state):
    http("PUT", FAKE + "/_fake/v1/state", state)
    http("DELETE", FAKE + "/_fake/v1/requests")


def letters(i, n=3):
    s = ""
    for _ in range(n):
        s = chr(ord("a") + i % 26) + s
        i //= 26
    return s


PROCESSORS = ["nba_phase%d_%s" % (p, letters(k, 4))
              for p in range(1, 4) for k in range(10)]


def incident_lines():
    """The incident's heartbeats as seed_firestore lines: 105,623
    run-suffixed IDs, one fresh document per processor (30), 696 retired
    (stale). Returns (lines, n_bad, n_fresh, n_stale, n_bad_stale)."""
    lines = []
    n_bad, n_fresh, n_stale = 105623, 30, 696
    # Run-suffixed IDs: one per run, a minute apart; their heartbeats are
    # (i % 30) days and an hour old, so those with i % 30 >= 7 are stale too.
    base = time.mktime((2025, 6, 1, 0, 0, 0, 0, 0, 0))
    for i in range(n_bad):
        t = time.gmtime(base + 60 * i)
        proc = PROCESSORS[i % len(PROCESSORS)]
        lines.append("%s_%s %d\n" % (proc, time.strftime("%Y%m%d_%H%M%S", t),
                                     (i % 30) * DAY + 3600))
    for p in PROCESSORS:  # the fixed writer: one fresh document each
        lines.append("%s 60\n" % p)
    for i in range(n_stale):  # retired processors, 8 to 37 days old
        lines.append("retired_%s %d\n" % (letters(i), (8 + i % 30) * DAY))
    check(len(PROCESSORS) == n_fresh, "30 processors")
    return (lines, n_bad, n_fresh, n_stale,
            sum(1 for i in range(n_bad) if i % 30 >= 7))


def case_incident(tmp):
    project = "hyg-incident"
    lines, n_bad, n_fresh, n_stale, exp_bad_stale = incident_lines()
    seed_firestore(project, "processor_heartbeats", "last_heartbeat", lines)
    total = n_bad + n_fresh + n_stale
    violating = n_bad + n_stale

    with open(os.path.join(os.environ["DL_SOURCE_DIR"], "desired-state",
                           "hygiene", "firestore-heartbeats.yaml")) as f:
        policy = f.read()
    repo = make_repo(tmp, project, policy)
    only = ["FirestoreCollectionPolicy/processor-heartbeats"]
    rc, out, err = plan(repo, only, "json", timed=True)
    check(rc == 2, "exit %d (want 2): %s" % (rc, err))
    j = json.loads(out)
    r = resource(j, project + "/FirestoreCollectionPolicy/processor-heartbeats")
    h = r["hygiene"]
    check(r["status"] == "drifted" and r["action"] == "delete",
          "status/action %s/%s" % (r["status"], r["action"]))
    check(h["unit"] == "documents", "unit")
    check(h["total"] == total, "total %d != %d" % (h["total"], total))
    check(h["id_format"] == n_bad, "id_format %d != %d" % (h["id_format"],
                                                           n_bad))
    check(h["stale"] == n_stale + exp_bad_stale,
          "stale %d != %d" % (h["stale"], n_stale + exp_bad_stale))
    check(h["over_limit"] == 0, "over_limit %d" % h["over_limit"])
    check(h["violating"] == violating, "violating %d" % h["violating"])
    check(h["planned_deletes"] == violating, "planned %d" % h["planned_deletes"])
    check(h["cap"] == 150000 and h["cap_is_default"] is False, "cap")
    check(h["still_over_limit_after"] == 0, "still over")
    check(len(h["samples"]) == 10, "10 samples")
    for s in h["samples"]:
        check(not re.fullmatch(r"[a-z][a-z0-9]*(_[a-z][a-z0-9]*)*", s) or
              s.startswith("retired_"), "sample %r is not a violator" % s)
    # Samples follow name order: the first violators by name.
    check(h["samples"] == sorted(h["samples"]), "samples sorted")
    pre = r["preconditions"]
    check(pre["collection"] == "processor_heartbeats" and
          pre["database"] == "projects/%s/databases/(default)" % project and
          pre["observed_documents"] == total, "preconditions %r" % pre)
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", err)
    w = re.search(r"Elapsed \(wall clock\) time.*: ([\d:.]+)", err)
    check(m and w, "no /usr/bin/time figures")
    rss_kb = int(m.group(1))
    print("plan of %d documents: wall %s, peak RSS %d KiB" %
          (total, w.group(1), rss_kb))
    # Bounded: the violators' IDs (~106k) are kept, the documents are not
    # (their JSON is 42 MB). Generous bound against regressions; ASan's
    # quarantine and shadow memory make its figure meaningless.
    if os.environ.get("DL_SANITIZE", "OFF").upper() in ("ON", "1", "TRUE"):
        print("sanitizer build: RSS bound not checked")
    else:
        check(rss_kb < 64 * 1024, "peak RSS %d KiB >= 64 MiB" % rss_kb)

    rc, out, err = plan(repo, only, "text")
    check(rc == 2, "text exit %d: %s" % (rc, err))
    check("Plan: 0 to create, 0 to change, %d to delete, 0 to report." %
          violating in out, "closing line:\n" + out)
    check("id_format %d" % n_bad in out,
          "text counts:\n" + out)
    print(out)


def case_defaultcap(tmp):
    project = "hyg-defaultcap"
    lines = []
    # 1,500 valid fresh documents (ages 1..1500 minutes) and 20 bad IDs.
    for i in range(1500):
        lines.append("doc_%s %d\n" % (letters(i), 60 * (i + 1)))
    for i in range(20):
        lines.append("doc_%s_%04d 60\n" % (letters(i), i))
    seed_firestore(project, "sessions", "seen", lines)
    repo = make_repo(tmp, project, """apiVersion: driftless.dev/v1alpha1
kind: FirestoreCollectionPolicy
metadata:
  name: sessions
spec:
  collection: sessions
  maxDocuments: 200
  idPattern: "doc_[a-z]+"
  staleAfter:
    field: seen
    age: 7d
""")
    rc, out, err = plan(repo, ["FirestoreCollectionPolicy/sessions"])
    check(rc == 2, "exit %d: %s" % (rc, err))
    r = resource(json.loads(out), project + "/FirestoreCollectionPolicy/sessions")
    h = r["hygiene"]
    check(h["total"] == 1520 and h["id_format"] == 20 and h["stale"] == 0,
          "counts %r" % h)
    check(h["over_limit"] == 1300, "over_limit %d" % h["over_limit"])
    check(h["violating"] == 1320, "violating %d" % h["violating"])
    check(h["cap"] == 1000 and h["cap_is_default"] is True, "default cap")
    check(h["planned_deletes"] == 1000, "planned %d" % h["planned_deletes"])
    check(h["still_over_limit_after"] == 1520 - 1000 - 200, "still over")
    rc, out, err = plan(repo, ["FirestoreCollectionPolicy/sessions"], "text")
    check("cap 1000 per run, the default" in out and
          "320 left for later runs" in out, "text:\n" + out)
    check("1000 to delete" in out, "closing line:\n" + out)


def ms_ago(days):
    return str(int((time.time() - days * DAY) * 1000))


def case_bigquery(tmp):
    project = "hyg-bq"
    tables = []

    def t(ds, tid, days):
        tables.append({"tableReference": {"projectId": project,
                                          "datasetId": ds, "tableId": tid},
                       "creationTime": ms_ago(days)})
    for i in range(50):
        t("nba_predictions", "staging_run_%03d" % i, 8 + i % 20)
    for i in range(5):
        t("nba_predictions", "_staging_fresh_%d" % i, 1)
    for i in range(1050):  # other tables: two pages of 1000
        t("nba_predictions", "fact_%04d" % i, 400)
    for n in ("tmp_a", "temp_b", "tmp_c"):
        t("nba_raw", n, 3)
    t("nba_raw", "tmp_new", 0.5)
    t("nba_raw", "games", 100)
    seed_fake({"projects": [{"projectId": project,
                             "projectNumber": "555000000002"}],
               "bigquery": {"tables": tables}})
    with open(os.path.join(os.environ["DL_SOURCE_DIR"], "desired-state",
                           "hygiene", "bigquery-tables.yaml")) as f:
        policy = f.read()
    repo = make_repo(tmp, project, policy)
    only = ["BigQueryTablePolicy/nba-predictions-staging",
            "BigQueryTablePolicy/nba-raw-temp"]
    rc, out, err = plan(repo, only)
    check(rc == 2, "exit %d: %s" % (rc, err))
    j = json.loads(out)
    r = resource(j, project + "/BigQueryTablePolicy/nba-predictions-staging")
    h = r["hygiene"]
    check(r["action"] == "delete" and h["unit"] == "tables", "action/unit")
    check(h["total"] == 55 and h["stale"] == 50 and h["violating"] == 50,
          "counts %r" % h)
    check(h["planned_deletes"] == 50 and h["cap"] == 100, "planned")
    check(all(s.startswith("staging_run_") for s in h["samples"]) and
          len(h["samples"]) == 10, "samples %r" % h["samples"])
    tabs = r["preconditions"]["tables"]
    check(len(tabs) == 50 and "staging_run_000" in tabs and
          tabs["staging_run_000"]["creationTime"].isdigit(),
          "preconditions %r" % r["preconditions"])
    r = resource(j, project + "/BigQueryTablePolicy/nba-raw-temp")
    h = r["hygiene"]
    check(r["mode"] == "report" and r["action"] == "report", "report mode")
    check(h["total"] == 4 and h["stale"] == 3 and h["planned_deletes"] == 0,
          "raw counts %r" % h)
    req = http("GET", FAKE + "/_fake/v1/requests")
    lists = [x for x in req["recent"] if "/tables" in x["path"]]
    pred = [x for x in lists if "/nba_predictions/" in x["path"]]
    raw = [x for x in lists if "/nba_raw/" in x["path"]]
    check(len(pred) == 2 and len(raw) == 1,
          "one paginated list per dataset: %r" % lists)


def bucket(project_number, name):
    return {"name": name, "projectNumber": project_number}


def case_buckets(tmp):
    project, num = "hyg-gcs", "555000000003"
    names = ["nba-empty-%d" % i for i in range(1, 6)]
    buckets = [bucket(num, n) for n in names + ["nba-full", "nba-noncurrent",
                                                "other-empty"]]
    buckets.append(bucket("999000000009", "nba-someone-else"))
    seed_fake({"projects": [{"projectId": project, "projectNumber": num},
                            {"projectId": "someone-else",
                             "projectNumber": "999000000009"}],
               "storage": {"buckets": buckets, "objects": [
                   {"bucket": "nba-full", "name": "a.csv"},
                   {"bucket": "nba-noncurrent", "name": "old.csv",
                    "timeDeleted": "2026-01-01T00:00:00Z"}]}})
    with open(os.path.join(os.environ["DL_SOURCE_DIR"], "desired-state",
                           "hygiene", "storage-empty-buckets.yaml")) as f:
        policy = f.read()
    policy += """---
apiVersion: driftless.dev/v1alpha1
kind: StorageBucketPolicy
metadata:
  name: delete-empty
spec:
  bucketPattern: "nba-empty-[12]|nba-full"
  whenEmpty: delete
"""
    repo = make_repo(tmp, project, policy)
    only = ["StorageBucketPolicy/empty-buckets",
            "StorageBucketPolicy/delete-empty"]
    rc, out, err = plan(repo, only)
    check(rc == 2, "exit %d: %s" % (rc, err))
    j = json.loads(out)
    r = resource(j, project + "/StorageBucketPolicy/empty-buckets")
    h = r["hygiene"]
    check(r["action"] == "report" and h["unit"] == "buckets", "report")
    check(h["total"] == 7 and h["empty"] == 5 and h["violating"] == 5,
          "counts %r" % h)
    check(sorted(h["samples"]) == names, "samples %r" % h["samples"])
    check(h["planned_deletes"] == 0, "no deletes in report")
    r = resource(j, project + "/StorageBucketPolicy/delete-empty")
    h = r["hygiene"]
    check(r["action"] == "delete" and h["total"] == 3 and h["empty"] == 2 and
          h["planned_deletes"] == 2, "delete-empty %r" % h)
    check(r["preconditions"]["buckets"] ==
          {"nba-empty-1": {"metageneration": "1"},
           "nba-empty-2": {"metageneration": "1"}},
          "preconditions %r" % r["preconditions"])
    req = http("GET", FAKE + "/_fake/v1/requests")
    # fakegcp records paths without their query.
    paths = [x["path"] for x in req["recent"]]
    check(paths.count("/storage/v1/b") == 1, "one buckets list: %r" % paths)
    probes = {}
    for p in paths:
        if p.endswith("/o"):
            probes[p.split("/")[4]] = probes.get(p.split("/")[4], 0) + 1
    # versions=true once per candidate; fakegcp gives every bucket a 7-day
    # soft-delete policy, so the empty ones are also asked for soft-deleted
    # objects. Buckets that match no policy, or of another project, never.
    want = {n: 2 for n in names}
    want.update({"nba-full": 1, "nba-noncurrent": 1})
    check(probes == want, "probes %r" % probes)
    rc, out, err = plan(repo, only, "text")
    check("2 to delete" in out and "1 to report" in out,
          "closing line:\n" + out)


def case_insync(tmp):
    project = "hyg-sync"
    seed_firestore(project, "heartbeats", "at",
                   ["proc_%s 120\n" % letters(i) for i in range(5)])
    seed_fake({"projects": [{"projectId": project,
                             "projectNumber": "555000000004"}],
               "bigquery": {"tables": [
                   {"tableReference": {"projectId": project,
                                       "datasetId": "ds", "tableId": "keep"},
                    "creationTime": ms_ago(30)},
                   {"tableReference": {"projectId": project,
                                       "datasetId": "ds",
                                       "tableId": "staging_new"},
                    "creationTime": ms_ago(1)}]},
               "storage": {"buckets": [bucket("555000000004", "nba-used")],
                           "objects": [{"bucket": "nba-used",
                                        "name": "x"}]}})
    repo = make_repo(tmp, project, """apiVersion: driftless.dev/v1alpha1
kind: FirestoreCollectionPolicy
metadata:
  name: hb
spec:
  collection: heartbeats
  maxDocuments: 10
  idPattern: "proc_[a-z]+"
  staleAfter: {field: at, age: 1d}
---
apiVersion: driftless.dev/v1alpha1
kind: BigQueryTablePolicy
metadata:
  name: staging
spec:
  dataset: ds
  tablePattern: "staging_.*"
  olderThan: 7d
---
apiVersion: driftless.dev/v1alpha1
kind: StorageBucketPolicy
metadata:
  name: buckets
spec:
  bucketPattern: "nba-.*"
  whenEmpty: delete
""")
    only = ["FirestoreCollectionPolicy/hb", "BigQueryTablePolicy/staging",
            "StorageBucketPolicy/buckets"]
    rc, out, err = plan(repo, only)
    check(rc == 0, "exit %d (want 0): %s" % (rc, err))
    j = json.loads(out)
    for a in [x["address"] for x in j["resources"]]:
        r = resource(j, a)
        check(r["status"] == "in_sync" and r["action"] == "none",
              "%s: %s/%s" % (a, r["status"], r["action"]))
        check(r["hygiene"]["violating"] == 0, "violating")
    check(len(j["resources"]) == 3, "3 resources")
    check(resource(j, project + "/FirestoreCollectionPolicy/hb")
          ["hygiene"]["total"] == 5, "5 documents")
    rc, out, err = plan(repo, only, "text")
    check(rc == 0 and "No changes." in out, "text %d:\n%s" % (rc, out))


def case_missing(tmp):
    project = "hyg-missing"
    seed_fake({"projects": [{"projectId": project,
                             "projectNumber": "555000000005"}],
               "bigquery": {"tables": [
                   {"tableReference": {"projectId": project,
                                       "datasetId": "exists",
                                       "tableId": "staging_x"},
                    "creationTime": ms_ago(30)}]}})
    repo = make_repo(tmp, project, """apiVersion: driftless.dev/v1alpha1
kind: BigQueryTablePolicy
metadata:
  name: gone
spec:
  dataset: nope
  tablePattern: "staging_.*"
  olderThan: 7d
---
apiVersion: driftless.dev/v1alpha1
kind: BigQueryTablePolicy
metadata:
  name: there
spec:
  dataset: exists
  tablePattern: "staging_.*"
  olderThan: 7d
""")
    only = ["BigQueryTablePolicy/gone", "BigQueryTablePolicy/there"]
    rc, out, err = plan(repo, only)
    check(rc == 1, "exit %d (want 1): %s" % (rc, err))
    j = json.loads(out)
    r = resource(j, project + "/BigQueryTablePolicy/gone")
    check(r["status"] == "error" and r["action"] == "none", "error status")
    check("Not found: Dataset hyg-missing:nope" in r["error"] and
          "nope" in r["error"], "message %r" % r["error"])
    r = resource(j, project + "/BigQueryTablePolicy/there")
    check(r["status"] == "drifted" and r["hygiene"]["stale"] == 1,
          "the rest of the plan is still built")


CASES = {"incident": case_incident, "defaultcap": case_defaultcap,
         "bigquery": case_bigquery, "buckets": case_buckets,
         "insync": case_insync, "missing": case_missing}

if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in CASES:
        fail("usage: test_plan_hygiene.py %s" % "|".join(CASES))
    with tempfile.TemporaryDirectory() as tmp:
        CASES[sys.argv[1]](tmp)
    print("ok")
