#!/usr/bin/env python3
"""`driftless apply` for CloudRunService against fakegcp, one case per run:

  test_apply_run.py CASE   (incident, failed-build, failed-revision,
                            inflight-build, missing, orphan)

Each case builds its own git repo (the plan_run helpers), seeds fakegcp,
runs `driftless apply --auto-approve`, and checks fakegcp's builds,
services and request counts, then plans again. fakegcp's state (and with
it any pending fault) is put back afterwards.
"""
import json
import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "plan_run"))
import prun  # noqa: E402
from prun import check  # noqa: E402

OLD_IMAGE = "us-central1-docker.pkg.dev/%s/services/%s@sha256:" + "cd" * 32
BUILDS_ROUTE = "/v1/projects/*/builds"
SVC_ONE = prun.SVC_ROUTE + "/*"


def svc_yaml(name, extra=""):
    return """apiVersion: driftless.dev/v1alpha1
kind: CloudRunService
metadata:
  name: %s
spec:
  build:
    dockerfile: app/Dockerfile
    context: .
  requireCommits: [heartbeat-fix]
  env:
    PROCESSOR_PHASE: phase2
  labels:
    team: data-platform
  traffic: latest
%s""" % (name, extra)


def live(project, name, commit, dockerfile="legacy/Dockerfile"):
    """A live service built from commit (before the fix) and dockerfile."""
    return prun.service(project, name, template={
        "annotations": {"driftless.dev/commit": commit,
                        "driftless.dev/dockerfile": dockerfile},
        "containers": [{
            "image": OLD_IMAGE % (project, name),
            "env": [{"name": "PROCESSOR_PHASE", "value": "phase2"}],
        }],
    }, labels={"managed-by": "driftless", "team": "data-platform"})


def apply(repo, *args):
    env = dict(os.environ, DRIFTLESS_ACCESS_TOKEN="test-token")
    p = subprocess.run([prun.BIN, "apply", "--source", repo.path,
                        "--auto-approve"] + list(args), env=env,
                       capture_output=True, text=True, timeout=240)
    print("apply exit %d:\n%s" % (p.returncode, p.stdout))
    return p.returncode, p.stdout, p.stderr


def get_service(project, name):
    st, body = prun.fake("GET", "/v2/projects/%s/locations/us-central1/"
                         "services/%s" % (project, name), auth=True)
    return body if st == 200 else None


def builds(project):
    _, body = prun.fake("GET", "/v1/projects/%s/builds?pageSize=100" %
                        project, auth=True)
    return (body or {}).get("builds", [])


def short(name):
    return (name or "").rsplit("/", 1)[-1]


def replan_in_sync(repo, what):
    code, out, err, _ = prun.plan(repo, "--detailed-exitcode", fmt="text")
    check(code == 0 and "No changes." in out,
          "%s: plan after apply: exit %d, %s %s" % (what, code, out, err))


def check_build(b, repo, name, commit):
    check(b.get("source", {}).get("gitSource", {}).get("revision") == commit,
          "%s: build revision %r, want %s" % (name, b.get("source"), commit))
    check(b.get("source", {}).get("gitSource", {}).get("url") ==
          "https://git.example.com/platform.git", "build url: %r" %
          b.get("source"))
    args = (b.get("steps") or [{}])[0].get("args", [])
    check(args[:3] == ["build", "-f", "app/Dockerfile"] and args[-1] == ".",
          "%s: docker args %r" % (name, args))
    check(any(a.endswith("/%s:%s" % (name, commit)) for a in args),
          "%s: image tag in %r" % (name, args))


# ---- cases -----------------------------------------------------------------

def case_incident():
    p = "proj-apply-fix"
    repo = prun.Repo("apply-incident", {
        "project.yaml": prun.project_doc(p),
        "raw.yaml": svc_yaml("raw"),
    })
    prun.seed(prun.state(p, [live(p, "raw", repo.bug)]))
    code, _, err, doc = prun.plan(repo, "--detailed-exitcode")
    check(code == 2, "plan before: exit %d %s" % (code, err))
    code, out, err = apply(repo)
    check(code == 0, "apply: exit %d\n%s\n%s" % (code, out, err))
    bs = builds(p)
    check(len(bs) == 1, "one build, got %d" % len(bs))
    if bs:
        check_build(bs[0], repo, "raw", repo.head)
        check(bs[0]["status"] == "SUCCESS", "build %s" % bs[0]["status"])
    s = get_service(p, "raw") or {}
    ann = s.get("template", {}).get("annotations", {})
    check(ann.get("driftless.dev/commit") == repo.head and
          ann.get("driftless.dev/dockerfile") == "app/Dockerfile",
          "annotations %r" % ann)
    img = s.get("template", {}).get("containers", [{}])[0].get("image", "")
    check("/raw@sha256:" in img and img != OLD_IMAGE % (p, "raw"),
          "image %r" % img)
    check(s.get("latestReadyRevision") == s.get("latestCreatedRevision") and
          not short(s.get("latestReadyRevision")).startswith("raw-00001"),
          "new revision serves: %r" % s.get("latestReadyRevision"))
    check(s.get("labels", {}).get("managed-by") == "driftless", "label")
    replan_in_sync(repo, "incident")
    # A second apply changes nothing: no build, no PATCH.
    prun.fake("DELETE", "/_fake/v1/requests")
    code, out, err = apply(repo)
    check(code == 0, "second apply: exit %d\n%s\n%s" % (code, out, err))
    counts = prun.request_counts()
    check(counts.get(("POST", BUILDS_ROUTE), 0) == 0 and
          counts.get(("PATCH", SVC_ONE), 0) == 0,
          "second apply changed something: %r" % counts)
    check(len(builds(p)) == 1, "still one build")


def case_failed_build():
    p = "proj-apply-fbuild"
    repo = prun.Repo("apply-failed-build", {
        "project.yaml": prun.project_doc(p),
        "raw.yaml": svc_yaml("raw"),
    })
    prun.seed(prun.state(p, [live(p, "raw", repo.bug)]))
    before = get_service(p, "raw") or {}
    prun.fake("POST", "/_fake/v1/fail-next-build")
    code, out, err = apply(repo)
    check(code == 1, "apply: exit %d, want 1\n%s\n%s" % (code, out, err))
    check("Build step failure" in out + err, "build message in %r" % out)
    after = get_service(p, "raw") or {}
    check(after.get("etag") == before.get("etag") and
          after.get("latestReadyRevision") == before.get(
              "latestReadyRevision"), "service changed after a failed build")
    counts = prun.request_counts()
    check(counts.get(("PATCH", SVC_ONE), 0) == 0, "no PATCH: %r" % counts)
    bs = builds(p)
    check(len(bs) == 1 and bs[0]["status"] == "FAILURE", "builds %r" %
          [b.get("status") for b in bs])


def case_failed_revision():
    p = "proj-apply-frev"
    repo = prun.Repo("apply-failed-revision", {
        "project.yaml": prun.project_doc(p),
        "raw.yaml": svc_yaml("raw"),
    })
    prun.seed(prun.state(p, [live(p, "raw", repo.bug)]))
    old = (get_service(p, "raw") or {}).get("latestReadyRevision")
    prun.fake("POST", "/_fake/v1/fail-next-revision")
    code, out, err = apply(repo)
    check(code == 1, "apply: exit %d, want 1\n%s\n%s" % (code, out, err))
    check("failed to start" in out + err or "not ready" in out + err,
          "revision message in %r" % (out + err))
    s = get_service(p, "raw") or {}
    check(s.get("latestReadyRevision") == old and old,
          "old revision still serves: %r, was %r" %
          (s.get("latestReadyRevision"), old))
    check(s.get("latestCreatedRevision") != old, "a new revision was tried")
    # The plan still says the serving revision lacks the fix.
    code, _, _, _ = prun.plan(repo, "--detailed-exitcode")
    check(code == 2, "plan after a failed revision: exit %d" % code)


def case_inflight_build():
    p = "proj-apply-inflight"
    repo = prun.Repo("apply-inflight", {
        "project.yaml": prun.project_doc(p),
        "raw.yaml": svc_yaml("raw"),
    })
    repo_img = "us-central1-docker.pkg.dev/%s/services" % p
    tag = "%s/raw:%s" % (repo_img, repo.head)
    inflight = {
        "id": "inflight-0001",
        "name": "projects/123456789012/locations/global/builds/inflight-0001",
        "projectId": p, "status": "WORKING",
        "createTime": "2026-01-01T00:00:00Z",
        "source": {"gitSource": {"url": "https://git.example.com/platform.git",
                                 "revision": repo.head}},
        "steps": [{"name": "gcr.io/cloud-builders/docker",
                   "args": ["build", "-f", "app/Dockerfile", "-t", tag, "."]}],
        "images": [tag],
        "tags": ["driftless", "commit-" + repo.head, "service-raw"],
        "substitutions": {"_DL_DOCKERFILE": "app/Dockerfile",
                          "_DL_SERVICE": "raw"},
    }
    st = prun.state(p, [live(p, "raw", repo.bug)])
    st["builds"] = [inflight]
    prun.seed(st)
    result = {}

    def run():
        result["r"] = apply(repo)
    t = threading.Thread(target=run)
    t.start()
    # Wait until apply polls the running build, then let it finish.
    polled = False
    for _ in range(600):
        if prun.request_counts().get(("GET", BUILDS_ROUTE + "/*"), 0) > 0:
            polled = True
            break
        if not t.is_alive():
            break
        time.sleep(0.05)
    check(polled, "apply never polled the in-flight build")
    _, state = prun.fake("GET", "/_fake/v1/state")
    digest = "sha256:" + "ef" * 32
    for b in state.get("builds", []):
        if b.get("id") == "inflight-0001":
            b["status"] = "SUCCESS"
            b["finishTime"] = "2026-01-01T00:05:00Z"
            b["results"] = {"images": [{"name": tag, "digest": digest}]}
    st2, body = prun.fake("PUT", "/_fake/v1/state", state)
    check(st2 == 200, "finishing the build: %s %s" % (st2, body))
    t.join(260)
    code, out, err = result.get("r", (None, "", "apply did not finish"))
    check(code == 0, "apply: exit %r\n%s\n%s" % (code, out, err))
    bs = builds(p)
    check(len(bs) == 1, "the in-flight build was duplicated: %d builds" %
          len(bs))
    s = get_service(p, "raw") or {}
    img = s.get("template", {}).get("containers", [{}])[0].get("image", "")
    check(img == "%s/raw@%s" % (repo_img, digest), "image %r" % img)
    replan_in_sync(repo, "inflight-build")


def case_missing():
    p = "proj-apply-missing"
    repo = prun.Repo("apply-missing", {
        "project.yaml": prun.project_doc(p),
        "raw.yaml": svc_yaml("raw", "  scaling:\n    maxInstances: 5\n"),
        "pinned.yaml": """apiVersion: driftless.dev/v1alpha1
kind: CloudRunService
metadata:
  name: pinned
spec:
  image: us-central1-docker.pkg.dev/%s/services/pinned@sha256:%s
""" % (p, "12" * 32),
    })
    prun.seed(prun.state(p, []))
    code, out, err = apply(repo)
    check(code == 0, "apply: exit %d\n%s\n%s" % (code, out, err))
    bs = builds(p)
    check(len(bs) == 1, "one build (the pinned image is not built): %d" %
          len(bs))
    if bs:
        check_build(bs[0], repo, "raw", repo.head)
    check(get_service(p, "raw") is not None, "raw created")
    check(get_service(p, "pinned") is not None, "pinned created")
    replan_in_sync(repo, "missing")


def case_orphan():
    p = "proj-apply-orphan"
    repo = prun.Repo("apply-orphan", {
        "project.yaml": prun.project_doc(p, prune=True),
        "raw.yaml": svc_yaml("raw"),
    })
    old = live(p, "old", repo.bug)
    unlabelled = prun.service(p, "hand-made", template={
        "containers": [{"image": OLD_IMAGE % (p, "hand-made")}]})
    prun.seed(prun.state(p, [old, unlabelled]))
    code, out, err = apply(repo)
    check(code == 0, "apply: exit %d\n%s\n%s" % (code, out, err))
    check(get_service(p, "old") is None, "the orphan was deleted")
    check(get_service(p, "hand-made") is not None, "unlabelled kept")
    check(get_service(p, "raw") is not None, "raw created")
    counts = prun.request_counts()
    check(counts.get(("DELETE", SVC_ONE), 0) == 1, "one DELETE: %r" % counts)
    replan_in_sync(repo, "orphan")


def case_stale():
    """A saved plan whose service moved since: refused, nothing built."""
    p = "proj-apply-stale"
    repo = prun.Repo("apply-stale", {
        "project.yaml": prun.project_doc(p),
        "raw.yaml": svc_yaml("raw"),
    })
    prun.seed(prun.state(p, [live(p, "raw", repo.bug)]))
    code, _, err, _ = prun.plan(repo, "--detailed-exitcode")
    check(code == 2, "plan: exit %d %s" % (code, err))
    saved = repo.path.rstrip("/") + ".plan.json"
    # Someone changes the service after the plan was reviewed.
    st, _ = prun.fake("PATCH", "/v2/projects/%s/locations/us-central1/"
                      "services/raw?updateMask=labels" % p,
                      {"labels": {"managed-by": "driftless", "team": "x"}},
                      auth=True)
    check(st == 200, "PATCH by someone else: %s" % st)
    time.sleep(0.5)
    moved = get_service(p, "raw") or {}
    prun.fake("DELETE", "/_fake/v1/requests")
    env = dict(os.environ, DRIFTLESS_ACCESS_TOKEN="test-token")
    r = subprocess.run([prun.BIN, "apply", "--plan", saved, "--source",
                        repo.path, "--auto-approve"], env=env,
                       capture_output=True, text=True, timeout=240)
    print("apply --plan exit %d:\n%s%s" % (r.returncode, r.stdout, r.stderr))
    check(r.returncode == 1, "stale plan: exit %d" % r.returncode)
    check("etag" in r.stdout + r.stderr or "moved" in r.stdout + r.stderr,
          "names what moved: %r" % (r.stdout + r.stderr))
    counts = prun.request_counts()
    check(counts.get(("POST", BUILDS_ROUTE), 0) == 0 and
          counts.get(("PATCH", SVC_ONE), 0) == 0,
          "a stale plan changed something: %r" % counts)
    check((get_service(p, "raw") or {}).get("etag") == moved.get("etag"),
          "service unchanged")


def case_many():
    """10 drifted services in one apply: built and updated concurrently."""
    p = "proj-apply-many"
    names = ["svc-%02d" % i for i in range(10)]
    files = {"project.yaml": prun.project_doc(p)}
    for n in names:
        files[n + ".yaml"] = svc_yaml(n)
    repo = prun.Repo("apply-many", files)
    prun.seed(prun.state(p, [live(p, n, repo.bug) for n in names]))
    report = repo.path.rstrip("/") + ".report.json"
    prun.fake("DELETE", "/_fake/v1/requests")
    t0 = time.time()
    code, out, err = apply(repo, "--report", report)
    took = time.time() - t0
    check(code == 0, "apply: exit %d\n%s\n%s" % (code, out, err))
    check(len(builds(p)) == len(names), "one build per service")
    # Services are read with one list per location and phase (plus the
    # plan's own); a GET per service only reads each back after its update.
    counts = prun.request_counts()
    check(counts.get(("GET", prun.SVC_ROUTE), 0) == 3,
          "services lists: %r" % counts)
    check(counts.get(("GET", SVC_ONE), 0) == len(names),
          "service GETs: %r" % counts)
    # The services' work overlaps: their durations add up to several times
    # the whole run (serially they would add up to less than it).
    with open(report) as f:
        rep = json.load(f)
    total = sum(r.get("duration_s") or 0 for r in rep.get("resources", []))
    print("apply of %d services: %.2fs wall, %.2fs summed per service" %
          (len(names), took, total))
    check(total > 3 * rep.get("duration_s", took),
          "not concurrent: %.2fs summed in %.2fs" % (total, took))
    replan_in_sync(repo, "many")


def case_env_only():
    """Built from the right commit and Dockerfile, only env drifted: no
    build, the live image is kept."""
    p = "proj-apply-env"
    repo = prun.Repo("apply-env", {
        "project.yaml": prun.project_doc(p),
        "raw.yaml": svc_yaml("raw"),
    })
    svc = live(p, "raw", repo.head, dockerfile="app/Dockerfile")
    svc["template"]["containers"][0]["env"] = [
        {"name": "PROCESSOR_PHASE", "value": "phase1"}]
    prun.seed(prun.state(p, [svc]))
    code, out, err = apply(repo)
    check(code == 0, "apply: exit %d\n%s\n%s" % (code, out, err))
    check(builds(p) == [], "nothing built: %r" % builds(p))
    s = get_service(p, "raw") or {}
    c0 = s.get("template", {}).get("containers", [{}])[0]
    check(c0.get("image") == OLD_IMAGE % (p, "raw"), "image kept: %r" %
          c0.get("image"))
    check(c0.get("env") == [{"name": "PROCESSOR_PHASE", "value": "phase2"}],
          "env: %r" % c0.get("env"))
    replan_in_sync(repo, "env-only")


CASES = {"env-only": case_env_only, "stale": case_stale, "many": case_many, "incident": case_incident, "failed-build": case_failed_build,
         "failed-revision": case_failed_revision,
         "inflight-build": case_inflight_build, "missing": case_missing,
         "orphan": case_orphan}


def main():
    name = sys.argv[1] if len(sys.argv) > 1 else ""
    if name not in CASES:
        sys.exit("usage: test_apply_run.py {%s}" % "|".join(CASES))
    _, initial = prun.fake("GET", "/_fake/v1/state")
    try:
        CASES[name]()
    finally:
        # Put back what the sandbox seeded (also drops pending faults).
        prun.fake("PUT", "/_fake/v1/state", initial)
    prun.finish("apply-run " + name)


if __name__ == "__main__":
    main()
