"""`driftless import` against fakegcp (python3 stdlib only).

Run one case: test_import.py CASE, inside the sandbox fixture
(tests/sandbox/with-env.sh). Each case saves fakegcp's state, seeds its
own, runs the binary and puts the saved state back.

The round trip is the test: what import writes must validate and plan
with every resource in_sync (`No changes.`, exit 0 with
--detailed-exitcode) against the live state it was read from.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.request

FAKE = os.environ.get("FAKEGCP_URL", "")
BUILD = os.environ.get("DL_BINARY_DIR", "build")
BIN = os.path.join(BUILD, "driftless")
TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..",
                                   ".."))
P = "acme-data-platform"
NUMBER = "271828182845"
DIGEST = "@sha256:" + "ab" * 32
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL: " + what, file=sys.stderr)
    return cond


def admin(method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(FAKE + path, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        text = r.read().decode()
        return json.loads(text) if text else None


def seed(state):
    admin("PUT", "/_fake/v1/state", state)
    admin("PUT", "/_fake/v1/faults", {})
    admin("DELETE", "/_fake/v1/requests")


def env():
    return dict(os.environ, DRIFTLESS_ACCESS_TOKEN="test-token", NO_COLOR="1")


def driftless(*args, cwd=None):
    # IMPORT_WRAPPER="valgrind --error-exitcode=99 ..." runs the binary under
    # a tool (by hand; ctest does not set it).
    cmd = os.environ.get("IMPORT_WRAPPER", "").split() + [BIN] + list(args)
    r = subprocess.run(cmd, capture_output=True, text=True, env=env(),
                       cwd=cwd, timeout=180)
    return r.returncode, r.stdout, r.stderr


def git(repo, *args):
    e = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@e.x",
             GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@e.x",
             GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL="/dev/null")
    subprocess.run(["git", "-C", repo] + list(args), env=e, check=True,
                   capture_output=True)


def files_under(d):
    out = {}
    for root, _, names in os.walk(d):
        for n in names:
            full = os.path.join(root, n)
            with open(full, "rb") as f:
                out[os.path.relpath(full, d)] = f.read()
    return out


def svc(name, region, image, **kw):
    s = {"name": "projects/%s/locations/%s/services/%s" % (P, region, name),
         "template": {"containers": [{"image": image}]}}
    tmpl = kw.pop("template", {})
    c0 = kw.pop("container", {})
    s["template"].update(tmpl)
    s["template"]["containers"][0].update(c0)
    s.update(kw)
    return s


SA = "api@%s.iam.gserviceaccount.com" % P

SERVICES = [
    # The first user's kinds: env with secretKeyRef, scaling, labels,
    # built by driftless (annotations), strings that look like numbers,
    # bools, or hold YAML's special characters.
    svc("api", "us-west2", "us-west2-docker.pkg.dev/%s/services/api%s"
        % (P, DIGEST),
        labels={"managed-by": "driftless", "team": "data-platform",
                "tier": "1", "enabled": "true", "phase": "phase2"},
        template={
            "serviceAccount": SA,
            "annotations": {"driftless.dev/commit": "1a2b3c4d" * 5,
                            "driftless.dev/dockerfile": "app/Dockerfile",
                            "run.googleapis.com/operation-id": "op-1"},
            "scaling": {"maxInstanceCount": 10},
            "maxInstanceRequestConcurrency": 1,
            "timeout": "1800s"},
        container={
            "env": [
                {"name": "GCP_PROJECT", "value": P},
                {"name": "PROCESSOR_PHASE", "value": "phase2"},
                {"name": "BATCH", "value": "042"},
                {"name": "RATIO", "value": "1.5e3"},
                {"name": "FLAG", "value": "yes"},
                {"name": "NOTHING", "value": "null"},
                {"name": "MSG", "value": "a: b # c, \"quoted\" \\ 'x' - [y]"},
                {"name": "MULTI", "value": "line one\nline two\ttab"},
                {"name": "UNICODE", "value": "caf\u00e9 \u2028 end"},
                {"name": "EMPTY", "value": ""},
                {"name": "SLACK_WEBHOOK_URL", "valueSource": {"secretKeyRef": {
                    "secret": "projects/%s/secrets/slack-webhook-url" % NUMBER,
                    "version": "3"}}},
                {"name": "DB_PASSWORD", "valueSource": {"secretKeyRef": {
                    "secret": "db-password"}}}],
            "resources": {"limits": {"cpu": "2", "memory": "2Gi"}}},
        traffic=[{"type": "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST",
                  "percent": 100}]),
    # Not labelled managed-by=driftless; traffic split with tags.
    svc("worker", "us-west2", "gcr.io/%s/worker:v1.2.3" % P,
        labels={"team": "ml"},
        template={"scaling": {"minInstanceCount": 1, "maxInstanceCount": 3},
                  "timeout": "300s"},
        container={"resources": {"limits": {"cpu": "1000m",
                                            "memory": "512Mi"}}},
        traffic=[{"type": "TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION",
                  "revision": "worker-00002-abc", "percent": 90},
                 {"type": "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST",
                  "percent": 10, "tag": "canary"},
                 {"type": "TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION",
                  "revision": "worker-00001-old", "percent": 0,
                  "tag": "previous"}]),
    # The second region.
    svc("edge", "europe-west1", "europe-docker.pkg.dev/%s/edge/edge%s"
        % (P, DIGEST), labels={"managed-by": "driftless"}),
    # An unpinned image cannot be declared: left out with a warning.
    svc("legacy", "us-west2", "gcr.io/%s/legacy:latest" % P),
    # A region that is not imported.
    svc("elsewhere", "us-east1", "gcr.io/%s/elsewhere:v1" % P),
]

COND = {"title": "until 2027", "description": "temporary access",
        "expression": "request.time < timestamp(\"2027-01-01T00:00:00Z\")"}

POLICY = {"bindings": [
    {"role": "roles/run.invoker",
     "members": ["user:alice@example.com", "serviceAccount:" + SA]},
    {"role": "roles/monitoring.metricWriter",
     "members": ["serviceAccount:" + SA]},
    {"role": "roles/owner", "members": ["user:owner@example.com"]},
    {"role": "projects/%s/roles/deployer" % P,
     "members": ["serviceAccount:ci@%s.iam.gserviceaccount.com" % P]},
    # A member that cannot be declared: the role becomes IAMPolicyMember
    # documents for the others (additive), with a warning.
    {"role": "roles/viewer",
     "members": ["user:carol@example.com",
                 "deleted:user:bob@example.com?uid=123456789"]},
    {"role": "roles/storage.objectViewer",
     "members": ["group:analysts@example.com"], "condition": COND},
    {"role": "roles/storage.objectViewer",
     "members": ["group:everyone@example.com"]},
]}


def state():
    return {"projects": [{"projectId": P, "projectNumber": NUMBER}],
            "run": {"services": SERVICES, "revisions": []},
            "iam": {"projects/" + P: POLICY}}


def plan_in_sync(src, *args):
    """Plan src: every resource in_sync, `No changes.`, exit 0."""
    rc, out, err = driftless("plan", "--source", src, "--format", "json",
                             "--detailed-exitcode", *args)
    check(rc == 0, "plan json exit %d: %s" % (rc, err))
    try:
        doc = json.loads(out)
    except ValueError:
        check(False, "plan output is not JSON: %r" % out[:300])
        return {}
    res = {r["address"]: r for r in doc["resources"]}
    for a, r in sorted(res.items()):
        check(r["status"] == "in_sync" and r["action"] == "none",
              "%s: %s/%s %r" % (a, r["status"], r["action"],
                                r.get("changes") or r.get("error")))
    rc, out, err = driftless("plan", "--source", src, "--detailed-exitcode",
                             *args)
    check(rc == 0 and "No changes." in out,
          "text plan exit %d: %r %r" % (rc, out[-300:], err))
    return res


def case_roundtrip(tmp):
    seed(state())
    repo = os.path.join(tmp, "repo")
    os.makedirs(repo)
    git(repo, "init", "-q", "-b", "main")
    rc, out, err = driftless("import", "--project", P, "--region", "us-west2",
                             "--region", "europe-west1", cwd=repo)
    check(rc == 0, "import exit %d: %s" % (rc, err))
    outdir = os.path.join(repo, "desired-state", P)
    files = files_under(outdir)
    check(sorted(files) == ["iam.yaml", "project.yaml", "services/api.yaml",
                            "services/edge.yaml", "services/worker.yaml"],
          "files %r" % sorted(files))
    check("Imported project '%s': 3 services, 6 IAM bindings, 1 IAM member"
          % P in out, "summary: %r" % out)
    # What was left out, said on stderr.
    check("'legacy'" in err and "not pinned" in err, "legacy: %r" % err)
    check("deleted:user:bob@example.com" in err, "deleted member: %r" % err)
    check("elsewhere" not in out + err, "us-east1 was not asked for")
    # Secret values are never there; references are.
    api = files.get("services/api.yaml", b"").decode()
    check("secret: slack-webhook-url" in api and "version: \"3\"" in api,
          "secret ref: %s" % api)
    check("DB_PASSWORD:\n      secret: db-password\n      version: latest"
          in api, "secret default version: %s" % api)
    # Quoting: strings that YAML would read as numbers, bools or null.
    for line in ['BATCH: "042"', 'RATIO: "1.5e3"', 'FLAG: "yes"',
                 'NOTHING: "null"', 'EMPTY: ""', 'tier: "1"',
                 'enabled: "true"', 'cpu: "2"', "memory: 2Gi",
                 "timeout: 30m", "concurrency: 1", "minInstances: 0",
                 "maxInstances: 10", "traffic: latest",
                 "serviceAccount: " + SA]:
        check(line in api, "%r not in api.yaml:\n%s" % (line, api))
    check("run.googleapis.com" not in api, "Cloud Run's own annotations")
    check("1a2b3c4d" * 5 in api and "app/Dockerfile" in api,
          "provenance comment: %s" % api)
    check("region:" not in api, "api is in the Project's region")
    worker = files.get("services/worker.yaml", b"").decode()
    check("ignoreFields:\n    - spec.labels.managed-by" in worker,
          "worker is not labelled managed-by: %s" % worker)
    check("tag: canary" in worker and "revision: worker-00002-abc" in worker
          and "tag: previous" in worker, "traffic: %s" % worker)
    edge = files.get("services/edge.yaml", b"").decode()
    check("region: europe-west1" in edge, "edge region: %s" % edge)
    proj = files.get("project.yaml", b"").decode()
    check("region: us-west2" in proj and "mode: report" in proj,
          "project: %s" % proj)
    iam = files.get("iam.yaml", b"").decode()
    check(iam.count("kind: IAMPolicyBinding") == 6 and
          iam.count("kind: IAMPolicyMember") == 1, "iam kinds: %s" % iam)
    check('title: "until 2027"' in iam and "expression:" in iam,
          "condition: %s" % iam)
    check("deleted:" not in iam, "an undeclarable member was written")

    rc, out, err = driftless("validate", "--source", repo)
    check(rc == 0, "validate exit %d: %s" % (rc, err))
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "import")
    res = plan_in_sync(repo)
    check(len(res) == 11, "plan has %d resources, want 11: %r"
          % (len(res), sorted(res)))
    # Also straight from the directory, without git.
    plan_in_sync(outdir, "--path", ".")


def case_overwrite(tmp):
    seed(state())
    out = os.path.join(tmp, "out")
    rc, _, err = driftless("import", "--project", P, "--region", "us-west2",
                           "--out", out)
    check(rc == 0, "first import exit %d: %s" % (rc, err))
    before = files_under(out)
    with open(os.path.join(out, "project.yaml"), "a") as f:
        f.write("# edited by hand\n")
    edited = files_under(out)
    rc, stdout, err = driftless("import", "--project", P, "--region",
                                "us-west2", "--out", out)
    check(rc == 1, "second import exit %d, want 1" % rc)
    check("exists; nothing was written (use --force to overwrite)" in err,
          "refusal message: %r" % err)
    check("wrote" not in stdout, "wrote something: %r" % stdout)
    check(files_under(out) == edited, "files changed without --force")
    rc, _, err = driftless("import", "--project", P, "--region", "us-west2",
                           "--out", out, "--force")
    check(rc == 0, "forced import exit %d: %s" % (rc, err))
    # Deterministic: the same live state, the same bytes.
    check(files_under(out) == before, "a second import differs")
    leftovers = [n for n in os.listdir(out) if n.startswith(".")]
    check(not leftovers, "temporary files left: %r" % leftovers)


def case_no_project(tmp):
    seed(state())
    out = os.path.join(tmp, "out")
    rc, stdout, err = driftless("import", "--project", "no-such-project",
                                "--region", "us-west2", "--out", out)
    check(rc == 1, "exit %d, want 1" % rc)
    check("driftless import: cannot read project 'no-such-project'" in err,
          "message: %r" % err)
    check(not os.path.exists(out), "something was written")
    rc, _, err = driftless("import", "--project", P, "--out", out)
    check(rc == 1 and "--region is required" in err, "no region: %r" % err)
    rc, _, err = driftless("import", "--region", "us-west2")
    check(rc == 1 and "--project is required" in err, "no project: %r" % err)
    rc, _, err = driftless("import", "--project", "Bad_Id", "--region", "x")
    check(rc == 1 and "invalid --project 'Bad_Id'" in err, "bad id: %r" % err)


def case_first_user(tmp):
    """The first user's live state (tests/scenario/first-user): imported,
    it plans in sync."""
    monorepo = os.path.join(tmp, "monorepo")
    subprocess.run([os.path.join(TOP, "tests", "sample", "make-monorepo.sh"),
                    monorepo], check=True, capture_output=True)
    envfile = os.environ.get("DL_SANDBOX_ENV") or os.path.join(
        BUILD, "sandbox", "env")
    r = subprocess.run([os.path.join(TOP, "tests", "scenario", "first-user",
                                     "seed"), envfile, monorepo],
                       capture_output=True, text=True, timeout=600)
    if not check(r.returncode == 0, "seed: %s" % r.stderr[-2000:]):
        return
    out = os.path.join(tmp, "imported")
    rc, stdout, err = driftless("import", "--project", "nba-props-platform",
                                "--region", "us-west2", "--out", out)
    check(rc == 0, "import exit %d: %s" % (rc, err))
    # nba-scrapers runs ':latest', which cannot be declared (not pinned).
    check("Imported project 'nba-props-platform': 4 services, 13 IAM "
          "bindings, 0 IAM members" in stdout, "summary %r" % stdout)
    check("service 'nba-scrapers' in 'us-west2': image" in err and
          "not pinned" in err, "nba-scrapers warning: %r" % err)
    rc, _, err = driftless("validate", "--source", out, "--path", ".")
    check(rc == 0, "validate exit %d: %s" % (rc, err))
    plan_in_sync(out, "--path", ".")


CASES = {
    "roundtrip": case_roundtrip,
    "overwrite": case_overwrite,
    "no-project": case_no_project,
    "first-user": case_first_user,
}


def main():
    if not FAKE:
        sys.exit("FAKEGCP_URL is not set: run under tests/sandbox/with-env.sh")
    name = sys.argv[1]
    saved = admin("GET", "/_fake/v1/state")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            CASES[name](tmp)
    finally:
        admin("PUT", "/_fake/v1/state", saved)
    if failures:
        print("import %s: %d failure(s)" % (name, len(failures)),
              file=sys.stderr)
        sys.exit(1)
    print("import %s: ok" % name)


if __name__ == "__main__":
    main()
