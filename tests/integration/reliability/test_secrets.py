#!/usr/bin/env python3
"""test_secrets.py - no secret reaches any output of the binary.

Complements tests/integration/gcp/check-secrets.sh (which drives every
credential path of src/gcp through a probe): here the real commands run
against the sandbox with known secrets in play, at --log-level debug, with
--log-format text and json:

  * an access token (DRIFTLESS_ACCESS_TOKEN), and in a second round the
    sandbox's service-account key (its private key, and the access tokens
    fakegcp mints for it);
  * a git token (DRIFTLESS_GIT_TOKEN) and a webhook secret file;
  * a live Cloud Run env var with a literal secret value (API_TOKEN, which
    the desired state changes, so the plan has that change) and one taken
    from Secret Manager (secretKeyRef: never read, only named).

Commands: validate; plan as text, markdown and json, and --out FILE; apply
(text) with --report FILE; run, with its log and GET /metrics,
/api/v1/status, / and /healthz. Fails if a secret, a distinctive part of
it, or its base64 form appears in stdout, stderr, a written file or an
HTTP answer; also checks the outputs did contain the work (the masked env
change, the applied resources), so the test cannot pass by doing nothing.
"""
import base64
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

BIN = os.path.join(os.environ["DL_BINARY_DIR"], "driftless")
FAKE = os.environ["FAKEGCP_URL"]
SA_KEY = os.environ["DL_SANDBOX_SA_KEY"]
P = "secret-check"
IMAGE = "us-west2-docker.pkg.dev/secret-check/services/api@sha256:" + "cd" * 32
ACCESS_TOKEN = "dl-known-access-token-7e3a9c1f5b2d"
GIT_TOKEN = "dl-known-git-token-4f8b2a6c0e1d"
ENV_SECRET = "dl-known-env-secret-2b4d6f8a0c1e"
WEBHOOK_SECRET = "dl-known-webhook-secret-9d7b5f3a1c"
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


def seed():
    admin("PUT", "/_fake/v1/faults", {})
    admin("PUT", "/_fake/v1/state", {
        "projects": [{"projectId": P, "projectNumber": "777000000002"}],
        "run": {"services": [{
            "name": "projects/%s/locations/us-west2/services/api" % P,
            "labels": {"managed-by": "driftless"},
            "template": {"containers": [{"image": IMAGE, "env": [
                {"name": "MODE", "value": "live"},
                {"name": "API_TOKEN", "value": ENV_SECRET},
                {"name": "DB_PASSWORD", "valueSource": {"secretKeyRef": {
                    "secret": "db-password", "version": "3"}}}]}]}}],
            "revisions": []},
        "iam": {"projects/" + P: {"bindings": []}},
    })


DESIRED = """apiVersion: driftless.dev/v1alpha1
kind: Project
metadata:
  name: %s
spec:
  region: us-west2
---
apiVersion: driftless.dev/v1alpha1
kind: CloudRunService
metadata:
  name: api
spec:
  image: %s
  env:
    MODE: live
    API_TOKEN: rotated-by-git
    DB_PASSWORD: {secret: db-password, version: "3"}
---
apiVersion: driftless.dev/v1alpha1
kind: IAMPolicyMember
metadata:
  name: viewer
spec:
  role: roles/viewer
  member: user:auditor@example.com
""" % (P, IMAGE)


def forms(secret):
    """The secret, a distinctive middle part and base64 forms."""
    out = {secret, secret[len(secret) // 4: 3 * len(secret) // 4],
           urllib.parse.quote(secret, safe="")}
    for s in (secret, "x-access-token:" + secret):
        b = base64.b64encode(s.encode()).decode().rstrip("=")
        out.add(b)
        out.add(base64.urlsafe_b64encode(s.encode()).decode().rstrip("="))
    return {f for f in out if len(f) >= 12}


def key_forms():
    with open(SA_KEY) as f:
        k = json.load(f)
    lines = [l for l in k["private_key"].splitlines()
             if l and not l.startswith("-----")]
    # Every full line of the key's base64 body, and the key id.
    return set(l for l in lines if len(l) >= 40) | {k["private_key_id"]}


class Scan:
    def __init__(self):
        self.texts = []  # (label, text)

    def add(self, label, data):
        if isinstance(data, bytes):
            data = data.decode("latin-1")
        self.texts.append((label, data))

    def add_tree(self, label, root, skip):
        for d, _, files in os.walk(root):
            if "/.git" in d or d.endswith(".git"):
                continue
            for f in files:
                p = os.path.join(d, f)
                if p in skip:
                    continue
                with open(p, "rb") as fh:
                    self.add("%s %s" % (label, os.path.relpath(p, root)),
                             fh.read())

    def never(self, what, needles):
        for label, text in self.texts:
            for n in needles:
                if n in text:
                    check(False, "%s (%r...) appears in %s" %
                          (what, n[:6], label))

    def need(self, what, needle):
        check(any(needle in t for _, t in self.texts),
              "the outputs never show %s (%r)" % (what, needle))


def git_repo(tmp):
    d = os.path.join(tmp, "repo")
    os.makedirs(os.path.join(d, "desired-state"))
    with open(os.path.join(d, "desired-state", "all.yaml"), "w") as f:
        f.write(DESIRED)
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@e.com",
               GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@e.com",
               GIT_CONFIG_GLOBAL="/dev/null", GIT_CONFIG_NOSYSTEM="1")
    for cmd in (["git", "init", "-q", "-b", "main", d],
                ["git", "-C", d, "add", "-A"],
                ["git", "-C", d, "commit", "-q", "-m", "desired"]):
        subprocess.run(cmd, check=True, env=env)
    return d


def run_round(scan, tmp, repo, cred_env, fmt, tag):
    env = dict(os.environ, NO_COLOR="1", DRIFTLESS_GIT_TOKEN=GIT_TOKEN)
    env.pop("DRIFTLESS_ACCESS_TOKEN", None)
    env.pop("GOOGLE_APPLICATION_CREDENTIALS", None)
    env.update(cred_env)
    out_dir = os.path.join(tmp, "out-" + tag)
    os.makedirs(out_dir)
    base = [BIN, "--log-level", "debug", "--log-format", fmt]

    def cmd(label, args, want=(0, 1, 2)):
        p = subprocess.run(base + args, capture_output=True, env=env,
                           timeout=300, cwd=out_dir)
        scan.add("%s %s stdout" % (tag, label), p.stdout)
        scan.add("%s %s stderr" % (tag, label), p.stderr)
        check(p.returncode in want, "%s %s: exit %d: %s" % (
            tag, label, p.returncode, p.stderr.decode(errors="replace")[-800:]))
        return p

    seed()
    cmd("validate", ["validate", "--source", repo], (0,))
    for f in ("text", "markdown", "json"):
        cmd("plan " + f, ["plan", "--source", repo, "--format", f], (0,))
    cmd("plan --out", ["plan", "--source", repo, "--out",
                       os.path.join(out_dir, "plan.json")], (0,))
    cmd("apply", ["apply", "--source", repo, "--auto-approve", "--report",
                  os.path.join(out_dir, "report.json")], (0,))
    # The controller: one pass (the state drifts again first), its pages.
    seed()
    secret_file = os.path.join(tmp, "webhook-secret")
    log_path = os.path.join(out_dir, "run.log")
    with open(log_path, "w") as log:
        p = subprocess.Popen(base + ["run", "--source", repo, "--listen",
                                     "127.0.0.1:0", "--interval", "1h",
                                     "--webhook-secret-file", secret_file],
                             stdout=log, stderr=log, env=env, cwd=out_dir)
        port, ready = None, False
        deadline = time.time() + 120
        while time.time() < deadline and not ready and p.poll() is None:
            with open(log_path) as f:
                for line in f:
                    if "listening on port " in line and port is None:
                        port = int(line.strip().rsplit(" ", 1)[1]
                                   .rstrip('"}').rstrip())
            if port:
                try:
                    with urllib.request.urlopen(
                            "http://127.0.0.1:%d/readyz" % port,
                            timeout=5) as r:
                        ready = r.status == 200
                except OSError:
                    pass
            time.sleep(0.3)
        check(ready, "%s run: never ready" % tag)
        for path in ("/metrics", "/api/v1/status", "/", "/healthz"):
            try:
                with urllib.request.urlopen(
                        "http://127.0.0.1:%d%s" % (port, path),
                        timeout=10) as r:
                    scan.add("%s run GET %s" % (tag, path), r.read())
            except OSError as e:
                check(False, "%s run GET %s: %s" % (tag, path, e))
        p.send_signal(signal.SIGTERM)
        try:
            check(p.wait(timeout=60) == 0, "%s run: exit %s" % (tag, p.returncode))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            check(False, "%s run did not stop" % tag)
    scan.add_tree(tag + " file", out_dir, set())


def main():
    tmp = tempfile.mkdtemp()
    repo = git_repo(tmp)
    with open(os.path.join(tmp, "webhook-secret"), "w") as f:
        f.write(WEBHOOK_SECRET + "\n")
    os.chmod(os.path.join(tmp, "webhook-secret"), 0o600)
    scan = Scan()
    saved = admin("GET", "/_fake/v1/state")
    try:
        for fmt in ("json", "text"):
            run_round(scan, tmp, repo,
                      {"DRIFTLESS_ACCESS_TOKEN": ACCESS_TOKEN}, fmt,
                      "token-" + fmt)
            run_round(scan, tmp, repo,
                      {"GOOGLE_APPLICATION_CREDENTIALS": SA_KEY}, fmt,
                      "sa-key-" + fmt)
    finally:
        admin("PUT", "/_fake/v1/faults", {})
        admin("PUT", "/_fake/v1/state", saved)
    scan.never("the access token", forms(ACCESS_TOKEN))
    scan.never("the git token", forms(GIT_TOKEN))
    scan.never("the live env secret", forms(ENV_SECRET))
    scan.never("the webhook secret", forms(WEBHOOK_SECRET))
    scan.never("the service-account private key", key_forms())
    scan.never("an Authorization header", ["Bearer "])
    scan.never("a minted access token", ["ya29."])
    scan.never("a JWT", ["eyJhbGci"])
    # The work was done and shown.
    scan.need("the masked env change", "(sensitive)")
    scan.need("the changed secret-named variable", "API_TOKEN")
    scan.need("the applied IAM member", "user:auditor@example.com")
    scan.need("a debug line", "debug")
    scan.need("the status page", "<html")
    if failures:
        print("%d failure(s)" % len(failures), file=sys.stderr)
        sys.exit(1)
    print("ok: %d outputs scanned" % len(scan.texts))


if __name__ == "__main__":
    main()
