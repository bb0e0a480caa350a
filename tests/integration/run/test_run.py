"""`driftless run` (the controller) against fakegcp and the Firestore
emulator (python3 stdlib only). Run one case: test_run.py CASE, inside the
sandbox fixture (tests/sandbox/with-env.sh). Every process started is
stopped by its pid; fakegcp's state and faults are put back at the end.

Cases:
  drift    a removed IAM member is put back within ~2 intervals; /readyz;
           /metrics through the strict parser (promtext.py)
  two      two controllers on one project: only the lease holder applies;
           SIGKILL it, and after the lease expires the other corrects drift
  webhook  a good signature starts a pass at once; a bad one gets 401 and
           starts none
  sigterm  SIGTERM exits 0 and the lease document is gone
"""
import hashlib
import hmac
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "controller"))
import promtext  # noqa: E402

FAKE = os.environ.get("FAKEGCP_URL", "")
FS = os.environ.get("FIRESTORE_EMULATOR_HOST", "")
BIN = os.path.join(os.environ.get("DL_BINARY_DIR", "build"), "driftless")
P = "dl-run"
NUMBER = "626262626262"
SA = "serviceAccount:prediction-worker@%s.iam.gserviceaccount.com" % P
WRITER = "roles/monitoring.metricWriter"
ADMINS = "group:platform-admins@example.com"
SECRET = b"run-test-webhook-secret"

failures = []
procs = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL: " + what, file=sys.stderr)
    return cond


def http(method, url, body=None, headers=None, raw=False):
    data = None
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
    h = {"Content-Type": "application/json"}
    h.update(headers or {})
    req = urllib.request.Request(url, data=data, method=method, headers=h)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            text = r.read().decode()
            code = r.status
    except urllib.error.HTTPError as e:
        text = e.read().decode()
        code = e.code
    if raw:
        return code, text
    return json.loads(text) if text else None


def admin(method, path, body=None):
    return http(method, FAKE + path, body)


def seed(extra_projects=()):
    projects = [{"projectId": P, "projectNumber": NUMBER}]
    projects += [{"projectId": x, "projectNumber": str(727272727272 + i)}
                 for i, x in enumerate(extra_projects)]
    state = {"projects": projects,
             "iam": {"projects/" + P: {"bindings": [
                 {"role": "roles/owner", "members": [ADMINS]}]}}}
    admin("PUT", "/_fake/v1/state", state)
    admin("PUT", "/_fake/v1/faults", {})
    delete_lease()


def has_member():
    pol = admin("GET", "/_fake/v1/state")["iam"]["projects/" + P]
    return any(b["role"] == WRITER and SA in b.get("members", [])
               and not b.get("condition") for b in pol.get("bindings", []))


def remove_member():
    """Drift: take SA out of the policy through setIamPolicy."""
    hdr = {"Authorization": "Bearer test-token"}
    pol = http("POST", FAKE + "/v1/projects/%s:getIamPolicy" % P, {}, hdr)
    for b in pol.get("bindings", []):
        if b["role"] == WRITER and SA in b.get("members", []):
            b["members"].remove(SA)
    pol["bindings"] = [b for b in pol["bindings"] if b.get("members")]
    http("POST", FAKE + "/v1/projects/%s:setIamPolicy" % P,
         {"policy": pol}, hdr)
    check(not has_member(), "setIamPolicy did not remove the member")


def lease_url():
    return ("http://%s/v1/projects/%s/databases/(default)/documents/"
            "driftless_leases/%s" % (FS, P, P))


def lease_doc():
    code, text = http("GET", lease_url(), headers={
        "Authorization": "Bearer owner"}, raw=True)
    return json.loads(text) if code == 200 else None


def delete_lease():
    if FS:
        http("DELETE", lease_url(), headers={"Authorization": "Bearer owner"},
             raw=True)


PROJECT_YAML = """apiVersion: driftless.dev/v1alpha1
kind: Project
metadata:
  name: %s
spec:
  region: us-west2
  mode: enforce
  protectedMembers:
    - %s
---
apiVersion: driftless.dev/v1alpha1
kind: IAMPolicyMember
metadata:
  name: metric-writer
spec:
  role: %s
  member: %s
"""


EXTRA_YAML = """apiVersion: driftless.dev/v1alpha1
kind: Project
metadata:
  name: %s
spec:
  region: us-west2
  mode: enforce
"""


def repo(tmp, extra_projects=()):
    d = os.path.join(tmp, "repo")
    ds = os.path.join(d, "desired-state")
    os.makedirs(ds)
    with open(os.path.join(ds, "project.yaml"), "w") as f:
        f.write(PROJECT_YAML % (P, ADMINS, WRITER, SA))
    for x in extra_projects:  # one Project per directory
        os.makedirs(os.path.join(ds, x))
        with open(os.path.join(ds, x, "project.yaml"), "w") as f:
            f.write(EXTRA_YAML % x)
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@x.test",
               GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@x.test")
    for cmd in (["git", "init", "-q", "-b", "main", d],
                ["git", "-C", d, "add", "-A"],
                ["git", "-C", d, "commit", "-q", "-m", "desired state"]):
        subprocess.run(cmd, check=True, env=env)
    return d


class Ctl:
    """One `driftless run`, its stderr in a file."""

    def __init__(self, tmp, name, src, args, env=None):
        self.log_path = os.path.join(tmp, name + ".log")
        self.log = open(self.log_path, "w")
        cmd = (os.environ.get("RUN_WRAPPER", "").split() +
               [BIN, "--log-level", "info", "--log-format", "json", "run",
                "--source", src, "--listen", "127.0.0.1:0"] + args)
        env = dict(os.environ, DRIFTLESS_ACCESS_TOKEN="test-token",
                   **(env or {}))
        self.p = subprocess.Popen(cmd, stdout=self.log, stderr=self.log,
                                  stdin=subprocess.DEVNULL, env=env)
        procs.append(self.p)
        self.port = None
        deadline = time.time() + 30
        while time.time() < deadline and self.port is None:
            for line in self.text().splitlines():
                if line.startswith("driftless run: listening on port "):
                    self.port = int(line.rsplit(" ", 1)[1])
            if self.p.poll() is not None:
                break
            time.sleep(0.1)
        check(self.port is not None, "%s: no port (%s)" % (name, self.text()))
        self.name = name

    def text(self):
        with open(self.log_path) as f:
            return f.read()

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def get(self, path):
        return http("GET", self.url(path), raw=True)

    def wait_ready(self, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.port and self.get("/readyz")[0] == 200:
                return True
            time.sleep(0.2)
        return check(False, "%s: /readyz never 200: %s" % (
            self.name, self.get("/readyz")))

    def metrics(self):
        code, text = self.get("/metrics")
        check(code == 200, "/metrics: %d" % code)
        try:
            return promtext.parse(text)
        except promtext.ParseError as e:
            check(False, "/metrics does not parse: %s" % e)
            return {}

    def passes(self):
        fam = self.metrics().get("driftless_passes_total", {})
        return sum(v for (_, _, v) in fam.get("samples", []))

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.p.poll() is None:
            os.kill(self.p.pid, sig)
        try:
            rc = self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.kill(self.p.pid, signal.SIGKILL)
            rc = self.p.wait()
            check(False, "%s did not stop within %d s" % (self.name, timeout))
        self.log.close()
        print("--- %s (exit %d)\n%s" % (self.name, rc, self.text()),
              file=sys.stderr)
        return rc

    def applied(self):
        return [l for l in self.text().splitlines()
                if '"message":"applied ' in l]


def wait_for(pred, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(0.2)
    return pred()


def case_drift(tmp):
    seed()
    src = repo(tmp)
    c = Ctl(tmp, "ctl", src, ["--interval", "2s", "--lease-duration", "10s"])
    c.wait_ready()
    check(has_member(), "the first pass did not add the member")
    remove_member()
    t0 = time.time()
    check(wait_for(has_member, 6), "member not back within ~2 intervals")
    print("drift corrected in %.1f s" % (time.time() - t0), file=sys.stderr)
    fams = c.metrics()
    check("driftless_passes_total" in fams, "no driftless_passes_total")
    res = {(s[1].get("kind"), s[1].get("status")): s[2]
           for s in fams.get("driftless_resources", {}).get("samples", [])}
    check(("IAMPolicyMember", "in_sync") in res,
          "driftless_resources lacks IAMPolicyMember: %s" % res)
    ch = fams.get("driftless_changes_applied_total", {}).get("samples", [])
    check(sum(s[2] for s in ch) >= 2, "changes applied: %s" % ch)
    api = fams.get("driftless_api_requests_total", {}).get("samples", [])
    check(sum(s[2] for s in api) > 0, "no api requests counted")
    code, text = c.get("/api/v1/status")
    st = json.loads(text)
    check(st["last_pass"]["result"] == "success", "last pass: %s"
          % st["last_pass"])
    check(st["projects"][0]["lease"] == "held", "lease: %s" % st["projects"])
    check(c.stop() == 0, "SIGTERM: exit not 0")


def case_two(tmp):
    seed()
    src = repo(tmp)
    args = ["--interval", "1s", "--lease-duration", "3s"]
    a = Ctl(tmp, "a", src, args)
    a.wait_ready()
    b = Ctl(tmp, "b", src, args)
    b.wait_ready()
    check(wait_for(lambda: "does not hold the lease" in b.text(), 10),
          "b's log does not say it lacks the lease")
    remove_member()
    check(wait_for(has_member, 6), "a did not correct the drift")
    time.sleep(1.5)
    check(a.applied(), "a applied nothing")
    check(not b.applied(), "b applied without the lease: %s" % b.applied())
    a.stop(signal.SIGKILL)
    remove_member()
    t0 = time.time()
    check(wait_for(has_member, 15), "b did not take over and correct drift")
    print("taken over in %.1f s" % (time.time() - t0), file=sys.stderr)
    check("lease acquired" in b.text(), "b never acquired the lease")
    check(wait_for(b.applied, 10), "b applied nothing")
    check(b.stop() == 0, "b: SIGTERM exit not 0")


def sign(body):
    return "sha256=" + hmac.new(SECRET, body, hashlib.sha256).hexdigest()


def case_webhook(tmp):
    seed()
    src = repo(tmp)
    sf = os.path.join(tmp, "secret")
    with open(sf, "wb") as f:
        f.write(SECRET + b"\n")
    c = Ctl(tmp, "ctl", src, ["--interval", "10m",
                              "--webhook-secret-file", sf])
    c.wait_ready()
    n0 = c.passes()
    check(n0 == 1, "passes before the webhook: %s" % n0)
    push = json.dumps({"ref": "refs/heads/main", "after": "a" * 40,
                       "before": "b" * 40,
                       "repository": {"full_name": "o/r"}}).encode()
    hdr = {"X-GitHub-Event": "push"}
    code, _ = http("POST", c.url("/hooks/git"), push,
                   dict(hdr, **{"X-Hub-Signature-256":
                                "sha256=" + "0" * 64}), raw=True)
    check(code == 401, "bad signature: %d, want 401" % code)
    time.sleep(2)
    check(c.passes() == n0, "a bad signature started a pass")
    code, _ = http("POST", c.url("/hooks/git"), push,
                   dict(hdr, **{"X-Hub-Signature-256": sign(push)}),
                   raw=True)
    check(code == 202, "good signature: %d, want 202" % code)
    check(wait_for(lambda: c.passes() == n0 + 1, 15),
          "the webhook did not start a pass (passes %s)" % c.passes())
    check(SECRET.decode() not in c.text(), "the secret reached the log")
    check(c.stop() == 0, "SIGTERM: exit not 0")


def case_commit(tmp):
    """A new commit starts a pass at once (the poll), not after --interval."""
    seed()
    src = repo(tmp)
    c = Ctl(tmp, "ctl", src, ["--interval", "10m", "--poll-interval", "1s"])
    c.wait_ready()
    n0 = c.passes()
    check(n0 == 1, "passes before the commit: %s" % n0)
    time.sleep(2.5)
    check(c.passes() == n0, "a pass started without a new commit")
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@x.test",
               GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@x.test")
    subprocess.run(["git", "-C", src, "commit", "-q", "--allow-empty", "-m",
                    "new commit"], check=True, env=env)
    check(wait_for(lambda: c.passes() == n0 + 1, 15),
          "a new commit did not start a pass (passes %s)" % c.passes())
    check("new commit" in c.text(), "the log does not name the new commit")
    check(c.stop() == 0, "SIGTERM: exit not 0")


def case_page(tmp):
    """The status page of a running controller, rendered by headless
    Chromium, lists the resources of the last plan."""
    import shutil
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if not exe:
        print("SKIP: chromium is not installed (Debian package chromium)")
        sys.exit(77)
    seed()
    src = repo(tmp)
    c = Ctl(tmp, "ctl", src, ["--interval", "10m"])
    c.wait_ready()
    profile = tempfile.mkdtemp(prefix="dl-chromium-", dir=tmp)
    proc = subprocess.Popen(
        [exe, "--headless", "--no-sandbox", "--disable-gpu",
         "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run", "--disable-extensions",
         "--user-data-dir=" + profile, "--dump-dom", c.url("/")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        out = b""
        check(False, "chromium did not finish within 120 s")
    dom = out.decode("utf-8", errors="replace")
    check(proc.returncode == 0, "chromium exit status %s" % proc.returncode)
    for addr in ("%s/Project/%s" % (P, P),
                 "%s/IAMPolicyMember/metric-writer" % P):
        check(addr in dom, "the page rendered by chromium lacks %s" % addr)
    check("<svg" in dom, "the page has no drift chart")
    check(c.stop() == 0, "SIGTERM: exit not 0")


def case_sigterm(tmp):
    seed()
    src = repo(tmp)
    c = Ctl(tmp, "ctl", src, ["--interval", "2s", "--lease-duration", "1m"])
    c.wait_ready()
    doc = lease_doc()
    check(doc is not None and "holder" in doc.get("fields", {}),
          "no lease document while running: %s" % doc)
    check(c.stop(signal.SIGTERM) == 0, "SIGTERM: exit not 0")
    check(lease_doc() is None, "the lease document is still there: %s"
          % lease_doc())
    check("lease released" in c.text(), "no 'lease released' in the log")


def case_once(tmp):
    seed()
    src = repo(tmp)
    env = dict(os.environ, DRIFTLESS_ACCESS_TOKEN="test-token")
    r = subprocess.run([BIN, "run", "--source", src, "--once"],
                       capture_output=True, text=True, env=env, timeout=120)
    print(r.stderr, file=sys.stderr)
    check(r.returncode == 0, "--once: exit %d" % r.returncode)
    check(has_member(), "--once did not add the member")
    check(lease_doc() is None, "--once left the lease")
    # The kill switch: plans, changes nothing.
    remove_member()
    r = subprocess.run([BIN, "run", "--source", src, "--once"],
                       capture_output=True, text=True,
                       env=dict(env, DRIFTLESS_SUSPEND="1"), timeout=120)
    print(r.stderr, file=sys.stderr)
    check(r.returncode == 0, "--once suspended: exit %d" % r.returncode)
    check(not has_member(), "DRIFTLESS_SUSPEND=1 changed the policy")
    r = subprocess.run([BIN, "run", "--source", os.path.join(tmp, "nope"),
                        "--once"], capture_output=True, text=True, env=env,
                       timeout=120)
    check(r.returncode == 1, "--once on a missing source: exit %d"
          % r.returncode)


def fnv1a(s):
    h = 0xcbf29ce484222325
    for b in s.encode():
        h = ((h ^ b) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h


def case_shard(tmp):
    """Two shards split two projects; the second takes its shard from
    Cloud Run's environment."""
    other = next(x for x in ("dl-run-%d" % i for i in range(100))
                 if fnv1a(x) % 2 != fnv1a(P) % 2)
    seed([other])
    src = repo(tmp, [other])
    mine = fnv1a(P) % 2
    a = Ctl(tmp, "a", src, ["--interval", "1s", "--shard-index", str(mine),
                            "--shard-count", "2"])
    b = Ctl(tmp, "b", src, ["--interval", "1s"],
            env={"CLOUD_RUN_TASK_INDEX": str(1 - mine),
                 "CLOUD_RUN_TASK_COUNT": "2"})
    a.wait_ready()
    b.wait_ready()
    sa = json.loads(a.get("/api/v1/status")[1])
    sb = json.loads(b.get("/api/v1/status")[1])
    check([p["id"] for p in sa["projects"]] == [P],
          "shard %d projects: %s" % (mine, sa["projects"]))
    check([p["id"] for p in sb["projects"]] == [other],
          "shard %d projects: %s" % (1 - mine, sb["projects"]))
    check(sb["shard"] == {"index": 1 - mine, "count": 2},
          "shard from the environment: %s" % sb["shard"])
    check(has_member(), "shard %d did not apply its project" % mine)
    check(a.stop() == 0 and b.stop() == 0, "SIGTERM: exit not 0")


def case_source(tmp):
    """The source goes away: the last good commit is kept and used."""
    seed()
    src = repo(tmp)
    c = Ctl(tmp, "ctl", "file://" + src,
            ["--interval", "1s", "--cache-dir", os.path.join(tmp, "cache")])
    c.wait_ready()
    os.rename(src, src + ".gone")
    check(wait_for(lambda: "keeping the last good commit" in c.text(), 15),
          "the log does not say the last good commit is kept")

    def last_pass():
        return json.loads(c.get("/api/v1/status")[1])["last_pass"]
    check(wait_for(lambda: last_pass()["result"] == "partial" and
                   "kept the last good commit" in last_pass()["message"], 10),
          "last pass: %s" % last_pass())
    check(c.get("/readyz")[0] == 200, "not ready while the last success is "
          "recent")
    remove_member()
    check(wait_for(has_member, 6),
          "drift not corrected with the last good commit")
    check(c.stop() == 0, "SIGTERM: exit not 0")


CASES = {"commit": case_commit, "page": case_page, "shard": case_shard, "source": case_source, "drift": case_drift, "two": case_two, "webhook": case_webhook,
         "sigterm": case_sigterm, "once": case_once}


def main():
    if len(sys.argv) != 2 or sys.argv[1] not in CASES:
        print("usage: test_run.py %s" % "|".join(CASES), file=sys.stderr)
        return 2
    if not FS:
        print("no Firestore emulator (FIRESTORE_EMULATOR_HOST)",
              file=sys.stderr)
        return 77
    initial = admin("GET", "/_fake/v1/state")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            CASES[sys.argv[1]](tmp)
    finally:
        for p in procs:
            if p.poll() is None:
                os.kill(p.pid, signal.SIGKILL)
                p.wait()
        delete_lease()
        admin("PUT", "/_fake/v1/faults", {})
        admin("PUT", "/_fake/v1/state", initial)
    if failures:
        print("%d check(s) failed" % len(failures), file=sys.stderr)
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
