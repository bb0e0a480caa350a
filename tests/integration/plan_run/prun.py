"""Helpers of the CloudRunService plan tests (python3 stdlib only).

Each test builds a small git monorepo (a Dockerfile per app, a history whose
fix commit is tagged heartbeat-fix, desired-state/ in the last commit),
seeds fakegcp through /_fake/v1/state, runs `driftless plan` and checks the
plan. Run under tests/sandbox/with-env.sh (FAKEGCP_URL, ...).
"""
import http.client
import json
import os
import shutil
import subprocess
import sys
import urllib.parse

URL = os.environ.get("FAKEGCP_URL", "")
BUILD = os.environ.get("DL_BINARY_DIR") or sys.exit(
    "DL_BINARY_DIR is not set (ctest sets it: the build directory)")
BIN = os.path.join(BUILD, "driftless")
READER = os.path.join(BUILD, "tests", "integration", "plan_run",
                      "plan_run_read")
APPLY = os.path.join(BUILD, "tests", "integration", "plan_run",
                     "plan_run_apply")
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL: " + what, file=sys.stderr)
    return cond


def finish(name):
    if failures:
        print("%s: %d failure(s)" % (name, len(failures)), file=sys.stderr)
        sys.exit(1)
    print("%s: ok" % name)


def fake(method, path, body=None, auth=False):
    """(status, parsed JSON) of a call to fakegcp (admin calls need no
    token; auth=True sends one, for the API paths)."""
    if not URL:
        sys.exit("FAKEGCP_URL is not set: run under tests/sandbox/with-env.sh")
    u = urllib.parse.urlparse(URL)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"}
    if auth:
        headers["Authorization"] = "Bearer test-token"
    c.request(method, path, body=data, headers=headers)
    r = c.getresponse()
    text = r.read().decode()
    c.close()
    return r.status, (json.loads(text) if text.strip() else None)


def seed(state):
    st, body = fake("PUT", "/_fake/v1/state", state)
    if st != 200:
        raise RuntimeError("seeding fakegcp failed: %s %s" % (st, body))
    st, _ = fake("DELETE", "/_fake/v1/requests")
    if st not in (200, 204):
        raise RuntimeError("resetting request counts failed: %s" % st)


def faults(f):
    st, body = fake("PUT", "/_fake/v1/faults", f)
    if st != 200:
        raise RuntimeError("setting faults failed: %s %s" % (st, body))


def request_counts():
    """{(method, route): count} of what fakegcp served since the reset."""
    _, body = fake("GET", "/_fake/v1/requests")
    out = {}
    for c in body.get("counts", []):
        k = (c["method"], c["route"])
        out[k] = out.get(k, 0) + c["count"]
    return out


SVC_ROUTE = "/v2/projects/*/locations/*/services"
REV_ROUTE = "/v2/projects/*/locations/*/services/*/revisions"


def git(repo, *args):
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@e.x",
               GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@e.x",
               GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL="/dev/null")
    return subprocess.run(["git", "-C", repo] + list(args), env=env,
                          check=True, capture_output=True,
                          text=True).stdout.strip()


def write(repo, path, text):
    full = os.path.join(repo, path)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "w") as f:
        f.write(text)


class Repo:
    """A monorepo: commits skeleton, bug, fix (tag heartbeat-fix), then
    desired-state/. Attributes: path, skeleton, bug, fix, head."""

    def __init__(self, name, desired):
        root = os.path.join(BUILD, "plan_run", name)
        shutil.rmtree(root, ignore_errors=True)
        os.makedirs(root)
        self.path = root
        git(root, "init", "-q", "-b", "main")
        df = "FROM python:3.11-slim\nCOPY . /app\nCMD [\"python\", \"/app/%s\"]\n"
        write(root, "app/Dockerfile", df % "app/main.py")
        write(root, "legacy/Dockerfile", df % "legacy/main.py")
        write(root, "app/main.py", "print('app')\n")
        write(root, "legacy/main.py", "print('legacy')\n")
        self.skeleton = self.commit("skeleton")
        write(root, "app/heartbeat.py", "DOC_ID = '{proc}_{run_id}'\n")
        self.bug = self.commit("heartbeat per run")
        write(root, "app/heartbeat.py", "DOC_ID = '{proc}'\n")
        self.fix = self.commit("fix heartbeat IDs")
        git(root, "tag", "heartbeat-fix")
        self.set_desired(desired)

    def commit(self, msg):
        git(self.path, "add", "-A")
        git(self.path, "-c", "commit.gpgsign=false", "commit", "-q", "-m", msg)
        return git(self.path, "rev-parse", "HEAD")

    def set_desired(self, files):
        shutil.rmtree(os.path.join(self.path, "desired-state"),
                      ignore_errors=True)
        for name, text in files.items():
            write(self.path, "desired-state/" + name, text)
        self.head = self.commit("desired state")


class Dir:
    """A plain directory (no git) to plan from."""

    def __init__(self, path):
        self.path = path


def plan(repo, *args, fmt="json"):
    """Run driftless plan; (exit code, stdout, stderr, parsed JSON|None)."""
    env = dict(os.environ, DRIFTLESS_ACCESS_TOKEN="test-token")
    env.pop("NO_COLOR", None)
    saved = repo.path.rstrip("/") + ".plan.json"
    if os.path.exists(saved):
        os.unlink(saved)
    p = subprocess.run([BIN, "plan", "--source", repo.path, "--format", fmt,
                        "--out", saved] + list(args), env=env,
                       capture_output=True, text=True, timeout=120)
    # Every saved plan must read back as apply will read it.
    if os.path.exists(saved):
        r = subprocess.run([READER, saved], capture_output=True, text=True)
        check(r.returncode == 0, "saved plan does not read back: %s" %
              r.stderr.strip())
    doc = None
    if fmt == "json" and p.stdout.strip():
        try:
            doc = json.loads(p.stdout)
        except ValueError:
            check(False, "plan JSON does not parse: %r" % p.stdout[:300])
    return p.returncode, p.stdout, p.stderr, doc


def apply_service(repo, project, name, image):
    """Make one service live as apply will; True on success."""
    env = dict(os.environ, DRIFTLESS_ACCESS_TOKEN="test-token")
    p = subprocess.run([APPLY, repo.path, project, name, image], env=env,
                       capture_output=True, text=True, timeout=120)
    return check(p.returncode == 0, "apply_probe %s: %s" % (name, p.stderr))


def resource(doc, address):
    for r in (doc or {}).get("resources", []):
        if r["address"] == address:
            return r
    return None


def change(res, path):
    for c in (res or {}).get("changes", []):
        if c["path"] == path:
            return c
    return None


def project_doc(project, region="us-central1", mode="enforce", prune=False):
    return ("apiVersion: driftless.dev/v1alpha1\nkind: Project\n"
            "metadata:\n  name: %s\nspec:\n  region: %s\n  mode: %s\n"
            "  prune: %s\n  build:\n"
            "    sourceUrl: https://git.example.com/platform.git\n"
            "    imageRepository: %s-docker.pkg.dev/%s/services\n"
            % (project, region, mode, "true" if prune else "false", region,
               project))


def state(project, services=(), revisions=(), number="123456789012"):
    return {"projects": [{"projectId": project, "projectNumber": number}],
            "run": {"services": list(services), "revisions": list(revisions)}}


def service(project, name, region="us-central1", **kw):
    s = {"name": "projects/%s/locations/%s/services/%s" % (project, region,
                                                           name)}
    s.update(kw)
    return s
