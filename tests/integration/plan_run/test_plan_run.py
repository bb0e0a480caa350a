#!/usr/bin/env python3
"""`driftless plan` for CloudRunService against fakegcp, one case per run:

  test_plan_run.py CASE   (lacks-fix, dockerfile, missing, in-sync,
                           fields-secrets, orphan, failed-revision,
                           list-failure)

Each case builds its own git repo, seeds fakegcp, plans, and checks the
JSON plan, the text rendering, the exit code and fakegcp's request counts
(one services list and one revisions list per project and region).
"""
import os
import shutil
import subprocess
import sys

import prun
from prun import check

IMAGE = "us-central1-docker.pkg.dev/%s/services/%s@sha256:" + "ab" * 32
SA = "proc@%s.iam.gserviceaccount.com"


def raw_yaml(project, name="raw", dockerfile="app/Dockerfile", extra=""):
    return """apiVersion: driftless.dev/v1alpha1
kind: CloudRunService
metadata:
  name: %s
spec:
  build:
    dockerfile: %s
    context: .
  requireCommits: [heartbeat-fix]
  serviceAccount: %s
  env:
    PROCESSOR_PHASE: phase2
    SLACK_WEBHOOK_URL: {secret: slack-webhook-url, version: latest}
  resources:
    cpu: "2"
    memory: 2Gi
  scaling:
    minInstances: 0
    maxInstances: 10
  concurrency: 1
  timeout: 30m
  labels:
    team: data-platform
  traffic: latest
%s""" % (name, dockerfile, SA % project, extra)


def live_raw(project, name, commit, dockerfile="app/Dockerfile", **kw):
    """A live service exactly as raw_yaml declares it (Cloud Run's own
    spelling: 2000m, 1800s, a full secret resource name)."""
    tmpl = {
        "annotations": {"driftless.dev/commit": commit,
                        "driftless.dev/dockerfile": dockerfile},
        "serviceAccount": SA % project,
        "containers": [{
            "image": IMAGE % (project, name),
            "env": [
                {"name": "PROCESSOR_PHASE", "value": "phase2"},
                {"name": "SLACK_WEBHOOK_URL", "valueSource": {"secretKeyRef": {
                    "secret": "projects/%s/secrets/slack-webhook-url" % project,
                    "version": "latest"}}},
            ],
            "resources": {"limits": {"cpu": "2000m", "memory": "2Gi"}},
        }],
        "scaling": {"maxInstanceCount": 10},
        "maxInstanceRequestConcurrency": 1,
        "timeout": "1800s",
    }
    svc = prun.service(project, name, template=tmpl,
                       labels={"managed-by": "driftless",
                               "team": "data-platform",
                               "cost-center": "not-declared"})
    svc.update(kw)
    return svc


def check_batching(what, locations, revision_pages=1):
    counts = prun.request_counts()
    svc = counts.get(("GET", prun.SVC_ROUTE), 0)
    rev = counts.get(("GET", prun.REV_ROUTE), 0)
    check(svc == locations,
          "%s: %d services list(s), want %d: %r" % (what, svc, locations,
                                                    counts))
    check(rev == locations * revision_pages,
          "%s: %d revisions page(s), want %d: %r" % (
              what, rev, locations * revision_pages, counts))
    per_service = counts.get(("GET", prun.SVC_ROUTE + "/*"), 0)
    check(per_service == 0, "%s: %d GETs of single services" %
          (what, per_service))


# ---- cases -----------------------------------------------------------------

def case_lacks_fix():
    """A service whose serving revision was built before the fix."""
    p = "proj-run-fix"
    repo = prun.Repo("lacks-fix", {
        "project.yaml": prun.project_doc(p),
        "raw.yaml": raw_yaml(p),
        "analytics.yaml": raw_yaml(p, "analytics"),
        "worker.yaml": raw_yaml(p, "worker"),
        "tagged.yaml": raw_yaml(p, "tagged"),
        "relaxed.yaml": raw_yaml(p, "relaxed", extra=(
            "  ignoreFields: [spec.requireCommits, spec.build.commit]\n")),
    })
    prun.seed(prun.state(p, [live_raw(p, "raw", repo.bug),
                             live_raw(p, "analytics", repo.head),
                             live_raw(p, "worker", repo.head[:7]),
                             # a name, not an id: never handed to git
                             live_raw(p, "tagged", "heartbeat-fix"),
                             # old, but its commit is not managed
                             live_raw(p, "relaxed", repo.bug)]))
    code, _, err, doc = prun.plan(repo, "--only", "CloudRunService/raw",
                                  "--detailed-exitcode")
    check(code == 2, "exit %d, want 2 (stderr %s)" % (code, err))
    check_batching("one service selected", 1)
    r = prun.resource(doc, p + "/CloudRunService/raw")
    check(r is not None, "raw is in the plan")
    if r:
        check(r["status"] == "drifted" and r["action"] == "update",
              "raw: %s/%s" % (r["status"], r["action"]))
        c = prun.change(r, "template.annotations.driftless.dev/commit")
        check(c is not None and c.get("before") == repo.bug and
              c.get("after") == repo.head, "commit change: %r" % (c,))
        notes = r.get("notes", [])
        want = "was built from %s, which lacks %s (heartbeat-fix)" % (
            repo.bug[:7], repo.fix[:7])
        check(any(n.startswith("serving revision raw-00001-") and want in n
                  for n in notes), "lacks-fix note: %r" % notes)
        check(r["preconditions"].get("serving_revision", "").startswith(
            "raw-00001-"), "preconditions: %r" % r["preconditions"])
        check(r["preconditions"].get("etag", "").startswith('"'),
              "etag precondition: %r" % r["preconditions"])
        check(r["preconditions"].get("generation") == 1,
              "generation precondition: %r" % r["preconditions"])
        check(len(r["changes"]) == 1, "only the commit changed: %r" %
              r["changes"])
    code, text, _, _ = prun.plan(repo, "--only", "CloudRunService/raw",
                                 fmt="text")
    check("which lacks %s (heartbeat-fix)" % repo.fix[:7] in text,
          "text shows the note:\n" + text)

    # Every service of the location: still one list of each.
    prun.fake("DELETE", "/_fake/v1/requests")
    code, _, err, doc = prun.plan(repo)
    check_batching("five services", 1)
    for name, st in (("analytics", "in_sync"), ("worker", "in_sync"),
                     ("relaxed", "in_sync"),
                     ("raw", "drifted"), ("tagged", "drifted")):
        r = prun.resource(doc, "%s/CloudRunService/%s" % (p, name))
        check(r is not None and r["status"] == st,
              "%s: %r, want %s" % (name, r and r["status"], st))
    r = prun.resource(doc, p + "/CloudRunService/tagged")
    check(r and any("not a commit id" in n for n in r.get("notes", [])),
          "tagged note: %r" % (r and r.get("notes")))


def case_dockerfile():
    """A service whose serving revision was built from another Dockerfile."""
    p = "proj-run-df"
    repo = prun.Repo("dockerfile", {"project.yaml": prun.project_doc(p),
                                    "raw.yaml": raw_yaml(p)})
    prun.seed(prun.state(p, [live_raw(p, "raw", repo.head,
                                      dockerfile="legacy/Dockerfile")]))
    code, _, err, doc = prun.plan(repo, "--only", "CloudRunService/raw",
                                  "--detailed-exitcode")
    check(code == 2, "exit %d, want 2 (%s)" % (code, err))
    r = prun.resource(doc, p + "/CloudRunService/raw")
    check(r and r["status"] == "drifted" and r["action"] == "update",
          "raw drifted/update: %r" % (r,))
    c = prun.change(r, "template.annotations.driftless.dev/dockerfile")
    check(c and c.get("before") == "legacy/Dockerfile" and
          c.get("after") == "app/Dockerfile", "dockerfile change: %r" % (c,))
    check(r and len(r["changes"]) == 1, "only the Dockerfile changed: %r" %
          (r and r["changes"]))
    check(r and any("was built from legacy/Dockerfile, not app/Dockerfile"
                    in n for n in r.get("notes", [])),
          "dockerfile note: %r" % (r and r.get("notes")))
    check_batching("dockerfile", 1)

    # The same desired state from a plain directory (no git): the commit to
    # build is unknown, which is drift with a note, not a crash.
    plain = repo.path + "-plain"
    shutil.rmtree(plain, ignore_errors=True)
    os.makedirs(plain)
    subprocess.run("git -C '%s' archive HEAD | tar -x -C '%s'" % (repo.path,
                                                                 plain),
                   shell=True, check=True)
    with open(os.path.join(plain, "desired-state/raw.yaml")) as f:
        text = f.read().replace("  requireCommits: [heartbeat-fix]\n", "")
    with open(os.path.join(plain, "desired-state/raw.yaml"), "w") as f:
        f.write(text)
    code, _, err, doc = prun.plan(prun.Dir(plain), "--only",
                                  "CloudRunService/raw", "--detailed-exitcode")
    check(code == 2, "plain directory: exit %d, want 2 (%s)" % (code, err))
    r = prun.resource(doc, p + "/CloudRunService/raw")
    check(r and r["status"] == "drifted" and any(
        "the commit to build is unknown" in n for n in r.get("notes", [])),
        "plain directory: %r" % (r,))


def case_missing():
    """A declared service that does not exist: create (report in report
    mode)."""
    p = "proj-run-miss"
    repo = prun.Repo("missing", {
        "project.yaml": prun.project_doc(p),
        "raw.yaml": raw_yaml(p),
        "later.yaml": raw_yaml(p, "later", extra="  mode: report\n"),
    })
    prun.seed(prun.state(p))
    code, _, err, doc = prun.plan(repo, "--only", "CloudRunService/raw",
                                  "--only", "CloudRunService/later",
                                  "--detailed-exitcode")
    check(code == 2, "exit %d, want 2 (%s)" % (code, err))
    r = prun.resource(doc, p + "/CloudRunService/raw")
    check(r and r["status"] == "missing" and r["action"] == "create",
          "raw missing/create: %r" % (r,))
    want = {
        "template.annotations.driftless.dev/commit": repo.head,
        "template.annotations.driftless.dev/dockerfile": "app/Dockerfile",
        "template.containers[0].env.PROCESSOR_PHASE": "phase2",
        "template.containers[0].env.SLACK_WEBHOOK_URL": {
            "secret": "slack-webhook-url", "version": "latest"},
        "template.serviceAccount": SA % p,
        "template.containers[0].resources.limits.cpu": "2",
        "template.containers[0].resources.limits.memory": "2Gi",
        "template.scaling.minInstanceCount": 0,
        "template.scaling.maxInstanceCount": 10,
        "template.maxInstanceRequestConcurrency": 1,
        "template.timeout": "1800s",
        "labels.team": "data-platform",
        "labels.managed-by": "driftless",
        "traffic": [{"type": "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST",
                     "percent": 100}],
    }
    for path, after in want.items():
        c = prun.change(r, path)
        check(c is not None and "before" not in c and c.get("after") == after,
              "create change %s: %r" % (path, c))
    check(r and len(r["changes"]) == len(want), "create lists %d changes: %r"
          % (len(want), r and [c["path"] for c in r["changes"]]))
    r = prun.resource(doc, p + "/CloudRunService/later")
    check(r and r["status"] == "missing" and r["action"] == "report",
          "report mode: %r" % ((r and (r["status"], r["action"])),))
    code, _, _, _ = prun.plan(repo, "--only", "CloudRunService/later",
                              "--detailed-exitcode")
    check(code == 0, "report-only missing service: exit %d, want 0" % code)

    # Created as apply will create it, it plans in sync.
    prun.apply_service(repo, p, "raw", IMAGE % (p, "raw"))
    code, _, err, doc = prun.plan(repo, "--only", "CloudRunService/raw",
                                  "--detailed-exitcode")
    r = prun.resource(doc, p + "/CloudRunService/raw")
    check(code == 0 and r and r["status"] == "in_sync",
          "created service in sync: %d %r" % (code, r))

    # build.commit pinned to a commit without the fix: the create says so.
    pinned = raw_yaml(p, "pinned").replace(
        "    context: .\n", "    context: .\n    commit: %s\n" % repo.bug[:10])
    repo.set_desired({"project.yaml": prun.project_doc(p),
                      "pinned.yaml": pinned})
    code, _, err, doc = prun.plan(repo, "--only", "CloudRunService/pinned")
    r = prun.resource(doc, p + "/CloudRunService/pinned")
    c = prun.change(r, "template.annotations.driftless.dev/commit")
    check(c is not None and c.get("after") == repo.bug,
          "build.commit resolved: %r (%s)" % (c, err))
    check(r and any("the commit to build, %s, itself lacks %s (heartbeat-fix)"
                    % (repo.bug[:7], repo.fix[:7]) in n
                    for n in r.get("notes", [])),
          "pinned note: %r" % (r and r.get("notes")))


def case_in_sync():
    """A service exactly as declared, in Cloud Run's own spelling."""
    p = "proj-run-sync"
    extra = ("  ignoreFields:\n    - spec.labels.phase\n")
    yaml = raw_yaml(p, extra=extra).replace(
        "    team: data-platform\n",
        "    team: data-platform\n    phase: phase2\n")
    repo = prun.Repo("in-sync", {"project.yaml": prun.project_doc(p),
                                 "raw.yaml": yaml})
    svc = live_raw(p, "raw", repo.head)
    svc["labels"]["phase"] = "something-else"  # ignored by ignoreFields
    svc["labels"]["run-id"] = "r-123"  # not declared
    # 1,100 old revisions: the revisions list takes two pages (1,000 each).
    base = svc["name"] + "/revisions/raw-%05d-old"
    old = [{"name": base % i, "service": "raw",
            "createTime": "2026-01-01T00:00:00Z",
            "annotations": {"driftless.dev/commit": repo.bug}}
           for i in range(2, 1102)]
    prun.seed(prun.state(p, [svc], old))
    code, _, err, doc = prun.plan(repo, "--only", "CloudRunService/raw",
                                  "--detailed-exitcode")
    check(code == 0, "exit %d, want 0 (%s)" % (code, err))
    r = prun.resource(doc, p + "/CloudRunService/raw")
    check(r and r["status"] == "in_sync" and r["action"] == "none" and
          r["changes"] == [], "in sync: %r" % (r,))
    check(r and not r.get("notes"), "no notes: %r" % (r and r.get("notes")))
    code, text, _, _ = prun.plan(repo, "--only", "CloudRunService/raw",
                                 "--detailed-exitcode", fmt="text")
    check(code == 0 and "No changes." in text, "text: %d\n%s" % (code, text))
    check_batching("in sync (json + text)", 2, revision_pages=2)


SECRETS = ("https://hooks.example.com/T000/SECRETVALUE123", "tok-SECRET-456",
           "pw-SECRET-789")


def case_fields_secrets():
    """env/resources/scaling/labels drift, with no secret value shown."""
    p = "proj-run-fields"
    yaml = raw_yaml(p).replace(
        "    PROCESSOR_PHASE: phase2\n",
        "    PROCESSOR_PHASE: phase2\n    API_TOKEN: tok-new-value\n")
    repo = prun.Repo("fields-secrets", {"project.yaml": prun.project_doc(p),
                                        "raw.yaml": yaml})
    svc = live_raw(p, "raw", repo.head)
    c0 = svc["template"]["containers"][0]
    c0["env"] = [
        {"name": "PROCESSOR_PHASE", "value": "phase1"},
        {"name": "SLACK_WEBHOOK_URL", "value": SECRETS[0]},
        {"name": "API_TOKEN", "value": SECRETS[1]},
        {"name": "DB_PASSWORD", "value": SECRETS[2]},
        {"name": "LOG_LEVEL", "value": "debug"},
    ]
    c0["resources"] = {"limits": {"cpu": "1000m", "memory": "512Mi"}}
    svc["template"]["scaling"] = {"minInstanceCount": 1}
    del svc["template"]["maxInstanceRequestConcurrency"]
    del svc["template"]["timeout"]
    svc["labels"] = {"team": "other"}
    prun.seed(prun.state(p, [svc]))
    outs = []
    code, out, err, doc = prun.plan(repo, "--only", "CloudRunService/raw",
                                    "--detailed-exitcode")
    outs += [out, err]
    check(code == 2, "exit %d, want 2 (%s)" % (code, err))
    r = prun.resource(doc, p + "/CloudRunService/raw")
    check(r and r["status"] == "drifted" and r["action"] == "update",
          "drifted/update: %r" % ((r and (r["status"], r["action"])),))
    E = "template.containers[0].env."
    want = {
        E + "PROCESSOR_PHASE": ("phase1", "phase2", False),
        E + "SLACK_WEBHOOK_URL": ("(sensitive)", "(sensitive)", True),
        E + "API_TOKEN": ("(sensitive)", "(sensitive)", True),
        E + "DB_PASSWORD": ("(sensitive)", None, True),
        E + "LOG_LEVEL": ("debug", None, False),
        "template.containers[0].resources.limits.cpu": ("1000m", "2", False),
        "template.containers[0].resources.limits.memory": ("512Mi", "2Gi",
                                                           False),
        "template.scaling.minInstanceCount": (1, 0, False),
        "template.scaling.maxInstanceCount": (None, 10, False),
        # fakegcp, like Cloud Run, filled in the defaults
        "template.maxInstanceRequestConcurrency": (80, 1, False),
        "template.timeout": ("300s", "1800s", False),
        "labels.team": ("other", "data-platform", False),
        "labels.managed-by": (None, "driftless", False),
    }
    for path, (before, after, sens) in want.items():
        c = prun.change(r, path)
        check(c is not None, "change %s present" % path)
        if not c:
            continue
        check(c.get("before") == before and c.get("after") == after and
              bool(c.get("sensitive")) == sens,
              "change %s: %r, want %r" % (path, c, (before, after, sens)))
    check(r and len(r["changes"]) == len(want), "%d changes: %r" % (
        len(want), r and [c["path"] for c in r["changes"]]))
    for fmt in ("text", "markdown"):
        code, out, err, _ = prun.plan(repo, "--only", "CloudRunService/raw",
                                      fmt=fmt)
        outs += [out, err]
        check("(sensitive)" in out, "%s masks: %s" % (fmt, out))
    for s in SECRETS:
        check(all(s not in o for o in outs), "secret %r printed" % s[:6])
        check(all(s[-9:] not in o for o in outs), "secret tail printed")

    # Updated as apply will update it, it plans in sync.
    prun.apply_service(repo, p, "raw", IMAGE % (p, "raw"))
    code, out, err, doc = prun.plan(repo, "--only", "CloudRunService/raw",
                                    "--detailed-exitcode")
    r = prun.resource(doc, p + "/CloudRunService/raw")
    check(code == 0 and r and r["status"] == "in_sync",
          "updated service in sync: %d %r" % (code, r))


def case_orphan():
    """A labelled service no longer declared: report, or delete with
    prune."""
    p = "proj-run-orph"
    web = ("apiVersion: driftless.dev/v1alpha1\nkind: CloudRunService\n"
           "metadata:\n  name: web\nspec:\n  image: %s\n" % (IMAGE % (p, "web")))
    repo = prun.Repo("orphan", {"project.yaml": prun.project_doc(p),
                                "web.yaml": web})
    live_web = prun.service(p, "web", labels={"managed-by": "driftless"},
                            template={"containers": [
                                {"image": IMAGE % (p, "web")}]})
    old = prun.service(p, "old-svc", labels={"managed-by": "driftless"},
                       template={"containers": [{"image": "gcr.io/x/old"}]})
    manual = prun.service(p, "manual-svc",
                          template={"containers": [{"image": "gcr.io/x/m"}]})
    prun.seed(prun.state(p, [live_web, old, manual]))
    only = ["--only", "CloudRunService/web", "--only",
            p + "/CloudRunService/old-svc", "--detailed-exitcode"]
    code, _, err, doc = prun.plan(repo, *only)
    check(code == 0, "report-only orphan: exit %d, want 0 (%s)" % (code, err))
    r = prun.resource(doc, p + "/CloudRunService/old-svc")
    check(r and r.get("orphan") is True and r["status"] == "drifted" and
          r["action"] == "report" and r["defined_at"] == "",
          "orphan reported: %r" % (r,))
    check(r and r["preconditions"].get("etag"), "orphan etag: %r" % (r,))
    check(r and any("set prune: true" in n for n in r.get("notes", [])),
          "orphan note: %r" % (r and r.get("notes")))
    check(prun.resource(doc, p + "/CloudRunService/manual-svc") is None,
          "an unlabelled service is not an orphan")
    w = prun.resource(doc, p + "/CloudRunService/web")
    check(w and w["status"] == "in_sync", "web in sync: %r" % (w,))
    # Without --only every orphan of the listed locations shows.
    code, _, err, doc = prun.plan(repo)
    r = prun.resource(doc, p + "/CloudRunService/old-svc")
    check(r and r["action"] == "report", "orphan without --only: %r" % (r,))
    check_batching("orphan (two plans)", 2)

    repo.set_desired({"project.yaml": prun.project_doc(p, prune=True),
                      "web.yaml": web})
    code, text, err, _ = prun.plan(repo, *only, fmt="text")
    check(code == 2, "prune: exit %d, want 2 (%s)" % (code, err))
    code, _, err, doc = prun.plan(repo, *only)
    r = prun.resource(doc, p + "/CloudRunService/old-svc")
    check(r and r["action"] == "delete" and r.get("orphan") is True,
          "orphan deleted with prune: %r" % (r,))
    check(doc and doc["summary"]["delete"] == 1, "summary: %r" %
          (doc and doc["summary"]))
    check(prun.resource(doc, p + "/CloudRunService/manual-svc") is None,
          "an unlabelled service is never deleted")
    repo.set_desired({"project.yaml": prun.project_doc(p, prune=True,
                                                       mode="report"),
                      "web.yaml": web})
    code, _, err, doc = prun.plan(repo, *only)
    r = prun.resource(doc, p + "/CloudRunService/old-svc")
    check(code == 0 and r and r["action"] == "report",
          "prune in report mode reports: %d %r" % (code, r))


def case_failed_revision():
    """The latest revision failed; an older one still serves."""
    p = "proj-run-fail"
    repo = prun.Repo("failed-revision", {"project.yaml": prun.project_doc(p),
                                         "raw.yaml": raw_yaml(p)})
    base = "projects/%s/locations/us-central1/services/raw" % p
    msg = ("The user-provided container failed to start and listen on the "
           "port defined provided by the PORT=8080 environment variable")
    svc = live_raw(p, "raw", repo.head,
                   latestCreatedRevision=base + "/revisions/raw-00002-bad",
                   latestReadyRevision=base + "/revisions/raw-00001-oka",
                   terminalCondition={
                       "type": "Ready", "state": "CONDITION_FAILED",
                       "reason": "REVISION_FAILED",
                       "message": "Revision 'raw-00002-bad' is not ready and "
                                  "cannot serve traffic. " + msg})
    ok = {"name": base + "/revisions/raw-00001-oka", "service": "raw",
          "createTime": "2026-11-01T00:00:00Z",
          "annotations": {"driftless.dev/commit": repo.fix,
                          "driftless.dev/dockerfile": "app/Dockerfile"},
          "conditions": [{"type": "Ready", "state": "CONDITION_SUCCEEDED"}]}
    bad = {"name": base + "/revisions/raw-00002-bad", "service": "raw",
           "createTime": "2026-11-02T00:00:00Z",
           "annotations": {"driftless.dev/commit": repo.head,
                           "driftless.dev/dockerfile": "app/Dockerfile"},
           "conditions": [{"type": "Ready", "state": "CONDITION_FAILED",
                           "message": msg}]}
    prun.seed(prun.state(p, [svc], [ok, bad]))
    code, _, err, doc = prun.plan(repo, "--only", "CloudRunService/raw",
                                  "--detailed-exitcode")
    check(code == 2, "exit %d, want 2 (%s)" % (code, err))
    r = prun.resource(doc, p + "/CloudRunService/raw")
    check(r and r["status"] == "drifted", "drifted: %r" % (r,))
    notes = r.get("notes", []) if r else []
    check(any("latest revision raw-00002-bad failed (" + msg in n and
              "raw-00001-oka still serves" in n for n in notes),
          "failure note: %r" % notes)
    check(any("serving revision raw-00001-oka was built from %s, not %s"
              % (repo.fix[:7], repo.head[:7]) in n for n in notes),
          "serving commit note: %r" % notes)
    check(not any("lacks" in n for n in notes),
          "the serving revision has the fix: %r" % notes)
    check(r and r["changes"] == [], "template as declared: %r" %
          (r and r["changes"]))
    check(r and r["preconditions"].get("serving_revision") == "raw-00001-oka"
          and r["preconditions"].get("latest_created_revision") ==
          "raw-00002-bad", "preconditions: %r" % (r and r["preconditions"]))

    # The same through fakegcp's own failure: a rollout of the desired
    # commit whose revision fails to start (fail-next-revision).
    prun.seed(prun.state(p, [live_raw(p, "raw", repo.fix)]))
    st, _ = prun.fake("POST", "/_fake/v1/fail-next-revision")
    check(st == 200, "fail-next-revision: %d" % st)
    tmpl = live_raw(p, "raw", repo.head)["template"]
    st, op = prun.fake("PATCH", "/v2/%s?updateMask=template" % base,
                       {"template": tmpl}, auth=True)
    check(st == 200, "patch: %d %r" % (st, op))
    if st == 200:
        st, done = prun.fake("POST", "/v2/%s:wait" % op["name"],
                             {"timeout": "30s"}, auth=True)
        check(st == 200 and done.get("done") and done.get("error"),
              "the rollout failed: %r" % (done,))
    code, _, err, doc = prun.plan(repo, "--only", "CloudRunService/raw",
                                  "--detailed-exitcode")
    check(code == 2, "fakegcp failure: exit %d, want 2 (%s)" % (code, err))
    r = prun.resource(doc, p + "/CloudRunService/raw")
    notes = r.get("notes", []) if r else []
    check(any(n.startswith("latest revision raw-00002-") and
              "failed (The user-provided container failed to start" in n and
              "raw-00001-" in n for n in notes),
          "fakegcp failure note: %r" % notes)
    check(any("was built from %s, not %s" % (repo.fix[:7], repo.head[:7])
              in n for n in notes), "fakegcp serving note: %r" % notes)


def case_list_failure():
    """The services list of one region fails: its services are errors, the
    rest of the plan is built."""
    p = "proj-run-err"
    east = raw_yaml(p, "east-svc").replace(
        "spec:\n", "spec:\n  region: us-east1\n", 1)
    iam = ("apiVersion: driftless.dev/v1alpha1\nkind: IAMPolicyMember\n"
           "metadata:\n  name: metric-writer\nspec:\n"
           "  role: roles/monitoring.metricWriter\n"
           "  member: serviceAccount:%s\n" % (SA % p))
    repo = prun.Repo("list-failure", {"project.yaml": prun.project_doc(p),
                                      "central.yaml": raw_yaml(p, "central"),
                                      "east.yaml": east, "iam.yaml": iam})
    prun.seed(prun.state(p, [live_raw(p, "central", repo.head)]))
    for status in ("403", "500"):
        prun.faults({status: 1.0, "pathRegex":
                     "^/v2/projects/%s/locations/us-east1/services$" % p})
        try:
            code, out, err, doc = prun.plan(repo, "--detailed-exitcode")
        finally:
            prun.faults({})
        check(code == 1, "%s: exit %d, want 1" % (status, code))
        r = prun.resource(doc, p + "/CloudRunService/east-svc")
        check(r and r["status"] == "error" and r["action"] == "none" and
              ("HTTP " + status) in r.get("error", ""),
              "%s: east-svc error: %r" % (status, r))
        c = prun.resource(doc, p + "/CloudRunService/central")
        check(c and c["status"] == "in_sync",
              "%s: central still planned: %r" % (status, c))
        check(prun.resource(doc, p + "/IAMPolicyMember/metric-writer")
              is not None, "%s: other kinds still planned" % status)
        check(doc and doc["summary"]["error"] >= 1, "summary counts errors")
        prun.fake("DELETE", "/_fake/v1/requests")


CASES = {
    "lacks-fix": case_lacks_fix,
    "dockerfile": case_dockerfile,
    "missing": case_missing,
    "in-sync": case_in_sync,
    "fields-secrets": case_fields_secrets,
    "orphan": case_orphan,
    "failed-revision": case_failed_revision,
    "list-failure": case_list_failure,
}

if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in CASES:
        sys.exit("usage: test_plan_run.py %s" % "|".join(CASES))
    # fakegcp is shared: put its state back as it was (other suites expect
    # the sandbox's seed) and leave no faults behind.
    _, saved = prun.fake("GET", "/_fake/v1/state")
    try:
        CASES[sys.argv[1]]()
    finally:
        prun.faults({})
        st, _ = prun.fake("PUT", "/_fake/v1/state", saved)
        check(st == 200, "restoring fakegcp's state: %d" % st)
    prun.finish("plan-run-" + sys.argv[1])
