#!/usr/bin/env python3
"""test_apply_hygiene.py CASE - `driftless apply` for the hygiene kinds
against the sandbox (fakegcp + the Firestore emulator).

Cases (one ctest each):
  incident   the 106,349 heartbeats of the plan test: apply deletes exactly
             the planned number, plan then says No changes. (30 fresh
             documents left), a second apply deletes nothing; apply time
             and peak RSS measured with /usr/bin/time -v
  refreshed  a stale heartbeat rewritten between `plan --out` and
             `apply --plan` is no longer a violator and survives; and the
             updateTime guard itself (the precondition tool)
  maxdeletes --max-deletes 1000 deletes exactly 1000 of 1,500
  bigquery   old staging tables deleted, recent ones kept, then No changes
  bqfail     denied table deletes fail the resource (exit 1) while the
             others are deleted; a rerun converges
  buckets    empty buckets deleted (whenEmpty: delete); one that got an
             object between plan and apply is kept
Seeding reuses tests/integration/plan_hygiene (its helpers and the
seed_firestore tool). Environment: the sandbox env, DL_BINARY_DIR,
SEED_FIRESTORE, PRECONDITION (the guard tool).
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "plan_hygiene"))
import test_plan_hygiene as th  # noqa: E402

check, fail, http = th.check, th.fail, th.http
BIN, FAKE, EMU, DAY = th.BIN, th.FAKE, th.EMU, th.DAY


def env():
    return dict(os.environ, DRIFTLESS_ACCESS_TOKEN="test-token", NO_COLOR="1")


def apply(repo, only, extra=(), timed=False):
    """Run driftless apply --auto-approve with a JSON report; returns
    (exit code, stdout, stderr, report)."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        report = f.name
    cmd = [BIN, "apply", "--source", repo, "--report", report]
    if "--plan" not in extra:
        cmd.append("--auto-approve")
    cmd += list(extra)
    for o in only:
        cmd += ["--only", o]
    if timed:
        cmd = ["/usr/bin/time", "-v"] + cmd
    p = subprocess.run(cmd, capture_output=True, text=True, env=env(),
                       timeout=900)
    rep = None
    try:
        with open(report) as f:
            raw = f.read()
        rep = json.loads(raw) if raw.strip() else None
    finally:
        os.unlink(report)
    return p.returncode, p.stdout, p.stderr, rep


def result(rep, address):
    check(rep is not None, "no report")
    for r in rep["resources"]:
        if r["address"] == address:
            return r
    fail("no %s in the report: %r" % (address, rep))


def save_plan(repo, only, path):
    cmd = [BIN, "plan", "--source", repo, "--out", path, "--format", "json"]
    for o in only:
        cmd += ["--only", o]
    p = subprocess.run(cmd, capture_output=True, text=True, env=env(),
                       timeout=600)
    check(p.returncode in (0, 2), "plan --out: %d %s" % (p.returncode,
                                                        p.stderr))
    return json.loads(p.stdout)


def emu_put(project, coll, doc, fields):
    url = ("http://%s/v1/projects/%s/databases/(default)/documents/%s/%s" %
           (EMU, project, coll, doc))
    req = urllib.request.Request(url, data=json.dumps({"fields": fields})
                                 .encode(), method="PATCH",
                                 headers={"Content-Type": "application/json",
                                          "Authorization": "Bearer owner"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.loads(r.read())


def emu_exists(project, coll, doc):
    url = ("http://%s/v1/projects/%s/databases/(default)/documents/%s/%s" %
           (EMU, project, coll, doc))
    req = urllib.request.Request(url, headers={"Authorization":
                                               "Bearer owner"})
    try:
        with urllib.request.urlopen(req, timeout=60):
            return True
    except urllib.error.HTTPError as e:
        if e.code == 404:
            return False
        raise


def now_ts():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def no_changes(repo, only):
    rc, out, err = th.plan(repo, only, "text")
    check(rc == 0 and "No changes." in out,
          "plan after apply: exit %d\n%s%s" % (rc, out, err))


def case_incident(tmp):
    project = "apy-incident"
    lines, n_bad, n_fresh, n_stale, _ = th.incident_lines()
    th.seed_firestore(project, "processor_heartbeats", "last_heartbeat", lines)
    with open(os.path.join(os.environ["DL_SOURCE_DIR"], "desired-state",
                           "hygiene", "firestore-heartbeats.yaml")) as f:
        repo = th.make_repo(tmp, project, f.read())
    only = ["FirestoreCollectionPolicy/processor-heartbeats"]
    addr = project + "/FirestoreCollectionPolicy/processor-heartbeats"
    rc, out, err = th.plan(repo, only)
    check(rc == 2, "plan exit %d: %s" % (rc, err))
    planned = th.resource(json.loads(out), addr)["hygiene"]["planned_deletes"]
    check(planned == n_bad + n_stale, "planned %d" % planned)

    rc, out, err, rep = apply(repo, only, timed=True)
    check(rc == 0, "apply exit %d:\n%s%s" % (rc, out, err))
    r = result(rep, addr)
    check(r["outcome"] == "applied" and r["objects"] == planned,
          "apply result %r (planned %d)" % (r, planned))
    check("0 skipped" in r["message"] and "0 failed" in r["message"],
          "message %r" % r["message"])
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", err)
    w = re.search(r"Elapsed \(wall clock\) time.*: ([\d:.]+)", err)
    check(m and w, "no /usr/bin/time figures")
    parts = [float(x) for x in w.group(1).split(":")]
    wall = sum(x * 60 ** i for i, x in enumerate(reversed(parts)))
    print("apply of %d documents (plan + delete %d): wall %.1f s "
          "(%.0f deleted/s), peak RSS %s KiB, apply phase %.1f s" %
          (n_bad + n_fresh + n_stale, r["objects"], wall, r["objects"] / wall,
           m.group(1), r["duration_s"]))
    if os.environ.get("DL_SANITIZE", "OFF").upper() not in ("ON", "1",
                                                            "TRUE"):
        check(int(m.group(1)) < 96 * 1024, "peak RSS %s KiB" % m.group(1))

    rc, out, err = th.plan(repo, only)
    check(rc == 0, "plan after apply exit %d: %s" % (rc, err))
    h = th.resource(json.loads(out), addr)["hygiene"]
    check(h["total"] == n_fresh and h["violating"] == 0,
          "left %r" % h)
    no_changes(repo, only)
    rc, out, err, rep = apply(repo, only)
    check(rc == 0 and "No changes" in out + err,
          "second apply exit %d:\n%s%s" % (rc, out, err))
    check(rep is None or rep["summary"]["objects"] == 0,
          "second apply deleted %r" % rep)


def case_refreshed(tmp):
    project = "apy-refreshed"
    lines = ["hb_%s %d\n" % (th.letters(i), 10 * DAY) for i in range(20)]
    lines += ["ok_%s 60\n" % th.letters(i) for i in range(5)]
    th.seed_firestore(project, "beats", "seen", lines)
    repo = th.make_repo(tmp, project, """apiVersion: driftless.dev/v1alpha1
kind: FirestoreCollectionPolicy
metadata:
  name: beats
spec:
  collection: beats
  staleAfter:
    field: seen
    age: 7d
""")
    only = ["FirestoreCollectionPolicy/beats"]
    addr = project + "/FirestoreCollectionPolicy/beats"
    path = os.path.join(tmp, "plan.json")
    j = save_plan(repo, only, path)
    check(th.resource(j, addr)["hygiene"]["planned_deletes"] == 20,
          "planned 20")
    # The heartbeat writer refreshes one stale document after the plan.
    emu_put(project, "beats", "hb_aaa", {"seen": {"timestampValue": now_ts()}})
    rc, out, err, rep = apply(repo, only, ["--plan", path])
    check(rc == 0, "apply --plan exit %d:\n%s%s" % (rc, out, err))
    r = result(rep, addr)
    check(r["outcome"] == "applied" and r["objects"] == 19,
          "result %r" % r)
    check(emu_exists(project, "beats", "hb_aaa"), "refreshed doc deleted")
    check(not emu_exists(project, "beats", "hb_aab"), "stale doc kept")
    no_changes(repo, only)
    # The guard itself: a delete whose updateTime precondition is older
    # than the document fails per write, is counted, and the doc survives.
    p = subprocess.run([os.environ["PRECONDITION"], project],
                       capture_output=True, text=True, env=env(), timeout=120)
    check(p.returncode == 0, "precondition tool: %s%s" % (p.stdout, p.stderr))
    print(p.stdout.strip())


def case_maxdeletes(tmp):
    project = "apy-maxdel"
    lines = ["bad_%04d 60\n" % i for i in range(1500)]
    lines += ["good_%s 60\n" % th.letters(i) for i in range(10)]
    th.seed_firestore(project, "sessions", "seen", lines)
    repo = th.make_repo(tmp, project, """apiVersion: driftless.dev/v1alpha1
kind: FirestoreCollectionPolicy
metadata:
  name: sessions
spec:
  collection: sessions
  idPattern: "[a-z]+_[a-z]+"
  maxDeletesPerRun: 5000
""")
    only = ["FirestoreCollectionPolicy/sessions"]
    addr = project + "/FirestoreCollectionPolicy/sessions"
    rc, out, err, rep = apply(repo, only, ["--max-deletes", "1000"])
    check(rc == 0, "apply exit %d:\n%s%s" % (rc, out, err))
    r = result(rep, addr)
    check(r["objects"] == 1000 and r["outcome"] == "applied",
          "result %r" % r)
    rc, out, err = th.plan(repo, only)
    h = th.resource(json.loads(out), addr)["hygiene"]
    check(h["total"] == 510 and h["violating"] == 500, "left %r" % h)
    rc, out, err, rep = apply(repo, only)
    check(rc == 0 and result(rep, addr)["objects"] == 500, "rest %r" % rep)
    no_changes(repo, only)


def case_bigquery(tmp):
    project = "apy-bq"
    tables = []

    def t(ds, tid, days):
        tables.append({"tableReference": {"projectId": project,
                                          "datasetId": ds, "tableId": tid},
                       "creationTime": th.ms_ago(days)})
    for i in range(50):
        t("nba_predictions", "staging_run_%03d" % i, 8 + i % 20)
    for i in range(5):
        t("nba_predictions", "_staging_fresh_%d" % i, 1)
    for i in range(20):
        t("nba_predictions", "fact_%04d" % i, 400)
    th.seed_fake({"projects": [{"projectId": project,
                                "projectNumber": "556000000002"}],
                  "bigquery": {"tables": tables}})
    with open(os.path.join(os.environ["DL_SOURCE_DIR"], "desired-state",
                           "hygiene", "bigquery-tables.yaml")) as f:
        repo = th.make_repo(tmp, project, f.read())
    only = ["BigQueryTablePolicy/nba-predictions-staging"]
    addr = project + "/BigQueryTablePolicy/nba-predictions-staging"
    rc, out, err, rep = apply(repo, only)
    check(rc == 0, "apply exit %d:\n%s%s" % (rc, out, err))
    r = result(rep, addr)
    check(r["outcome"] == "applied" and r["objects"] == 50, "result %r" % r)
    left = http("GET", FAKE + "/_fake/v1/state")["bigquery"]["tables"]
    ids = sorted(x["tableReference"]["tableId"] for x in left)
    check(len(ids) == 25 and all(not i.startswith("staging_run")
                                 for i in ids), "left %r" % ids)
    no_changes(repo, only)
    rc, out, err, rep = apply(repo, only)
    check(rc == 0 and (rep is None or rep["summary"]["objects"] == 0),
          "second apply %r" % rep)


def case_bqfail(tmp):
    project = "apy-bqfail"
    tables = [{"tableReference": {"projectId": project, "datasetId": "ds",
                                  "tableId": "staging_%d" % i},
               "creationTime": th.ms_ago(30)} for i in range(10)]
    th.seed_fake({"projects": [{"projectId": project,
                                "projectNumber": "556000000004"}],
                  "bigquery": {"tables": tables}})
    repo = th.make_repo(tmp, project, """apiVersion: driftless.dev/v1alpha1
kind: BigQueryTablePolicy
metadata:
  name: staging
spec:
  dataset: ds
  tablePattern: "staging_.*"
  olderThan: 7d
""")
    only = ["BigQueryTablePolicy/staging"]
    addr = project + "/BigQueryTablePolicy/staging"
    # Deleting staging_0..4 is denied.
    http("PUT", FAKE + "/_fake/v1/faults",
         {"403": 1.0, "pathRegex": "/tables/staging_[0-4]$"})
    rc, out, err, rep = apply(repo, only)
    check(rc == 1, "apply with denied deletes: exit %d\n%s%s" % (rc, out,
                                                                  err))
    r = result(rep, addr)
    check(r["outcome"] == "failed" and r["objects"] == 5 and
          "5 failed" in r["message"], "result %r" % r)
    http("PUT", FAKE + "/_fake/v1/faults", {})
    # Rerunning converges.
    rc, out, err, rep = apply(repo, only)
    check(rc == 0 and result(rep, addr)["objects"] == 5, "rerun %r" % rep)
    no_changes(repo, only)


def case_buckets(tmp):
    project, num = "apy-gcs", "556000000003"
    names = ["nba-empty-%d" % i for i in range(1, 4)]
    state = {"projects": [{"projectId": project, "projectNumber": num}],
             "storage": {"buckets": [th.bucket(num, n) for n in
                                     names + ["nba-full"]],
                         "objects": [{"bucket": "nba-full", "name": "a"}]}}
    th.seed_fake(state)
    repo = th.make_repo(tmp, project, """apiVersion: driftless.dev/v1alpha1
kind: StorageBucketPolicy
metadata:
  name: delete-empty
spec:
  bucketPattern: "nba-.*"
  whenEmpty: delete
""")
    only = ["StorageBucketPolicy/delete-empty"]
    addr = project + "/StorageBucketPolicy/delete-empty"
    path = os.path.join(tmp, "plan.json")
    j = save_plan(repo, only, path)
    check(th.resource(j, addr)["hygiene"]["planned_deletes"] == 3,
          "planned 3")
    # nba-empty-3 gets an object after the plan.
    state["storage"]["objects"].append({"bucket": "nba-empty-3",
                                        "name": "late.csv"})
    http("PUT", FAKE + "/_fake/v1/state", state)
    rc, out, err, rep = apply(repo, only, ["--plan", path])
    check(rc == 0, "apply exit %d:\n%s%s" % (rc, out, err))
    r = result(rep, addr)
    check(r["outcome"] == "applied" and r["objects"] == 2 and
          "1 skipped: not empty" in r["message"], "result %r" % r)
    left = http("GET", FAKE + "/_fake/v1/state")["storage"]["buckets"]
    got = sorted(b["name"] for b in left)
    check(got == ["nba-empty-3", "nba-full"], "left %r" % got)
    no_changes(repo, only)


CASES = {"incident": case_incident, "refreshed": case_refreshed,
         "maxdeletes": case_maxdeletes, "bigquery": case_bigquery,
         "bqfail": case_bqfail, "buckets": case_buckets}

if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in CASES:
        fail("usage: test_apply_hygiene.py %s" % "|".join(CASES))
    saved = http("GET", FAKE + "/_fake/v1/state")
    with tempfile.TemporaryDirectory() as tmp:
        try:
            CASES[sys.argv[1]](tmp)
        finally:
            # Leave fakegcp as found, without faults.
            http("PUT", FAKE + "/_fake/v1/state", saved)
            http("PUT", FAKE + "/_fake/v1/faults", {})
    print("ok")
