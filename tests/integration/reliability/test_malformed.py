#!/usr/bin/env python3
"""test_malformed.py - malformed Google answers fail their resource only.

Against the sandbox's fakegcp, whose `body`/`bodyHex` fault (with
pathRegex) answers one API call with raw bytes: wrong types, missing
fields, a huge string, deep nesting, invalid UTF-8, not JSON at all. For
each, `driftless plan --format json` must report `status: error` with a
clear one-line message for the resource that call concerns, every other
resource must plan as without the fault, and nothing may crash. Then
`driftless apply` with a malformed getIamPolicy and with a malformed
services list refuses the plan (a plan with a resource in error is never
applied, docs/apply.md): it says why and writes nothing (fakegcp's state
unchanged); without the fault the same apply converges.

Run inside the sandbox fixture (tests/sandbox/with-env.sh); takes the
fakegcp-state lock and leaves fakegcp without faults.
"""
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request

BIN = os.path.join(os.environ["DL_BINARY_DIR"], "driftless")
FAKE = os.environ["FAKEGCP_URL"]
P = "bad-input"
SA = "serviceAccount:api@bad-input.iam.gserviceaccount.com"
IMAGE = "us-west2-docker.pkg.dev/bad-input/services/api@sha256:" + "ab" * 32
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


def ms_ago(days):
    return str(int((time.time() - days * 86400) * 1000))


def seed():
    admin("PUT", "/_fake/v1/faults", {})
    admin("PUT", "/_fake/v1/state", {
        "projects": [{"projectId": P, "projectNumber": "777000000001"}],
        "run": {"services": [{
            "name": "projects/%s/locations/us-west2/services/api" % P,
            "labels": {"managed-by": "driftless", "team": "old"},
            "template": {"containers": [{"image": IMAGE}]}}],
            "revisions": []},
        "iam": {"projects/" + P: {"bindings": [
            {"role": "roles/viewer", "members": ["user:someone@example.com"]}]}},
        "bigquery": {"tables": [
            {"tableReference": {"projectId": P, "datasetId": "ds",
                                "tableId": "staging_old"},
             "creationTime": ms_ago(30)}]},
        "storage": {"buckets": [{"name": "bad-input-empty"}], "objects": []},
    })
    admin("DELETE", "/_fake/v1/requests")


DESIRED = """apiVersion: driftless.dev/v1alpha1
kind: Project
metadata:
  name: %(p)s
spec:
  region: us-west2
  mode: enforce
---
apiVersion: driftless.dev/v1alpha1
kind: CloudRunService
metadata:
  name: api
spec:
  image: %(image)s
  labels:
    team: new
---
apiVersion: driftless.dev/v1alpha1
kind: IAMPolicyMember
metadata:
  name: writer
spec:
  role: roles/monitoring.metricWriter
  member: %(sa)s
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
  name: empty
spec:
  bucketPattern: "bad-input-.*"
  whenEmpty: delete
""" % {"p": P, "image": IMAGE, "sa": SA}

ADDR = {k: "%s/%s" % (P, k) for k in (
    "CloudRunService/api", "IAMPolicyMember/writer",
    "BigQueryTablePolicy/staging", "StorageBucketPolicy/empty")}
# What each resource is without faults.
CLEAN = {"CloudRunService/api": "update", "IAMPolicyMember/writer": "create",
         "BigQueryTablePolicy/staging": "delete",
         "StorageBucketPolicy/empty": "delete"}


def make_repo(tmp):
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


def run(args):
    env = dict(os.environ, DRIFTLESS_ACCESS_TOKEN="test-token", NO_COLOR="1")
    p = subprocess.run([BIN] + args, capture_output=True, env=env,
                       timeout=300)
    # A crash is a signal (negative) or a sanitizer's exit code.
    check(p.returncode in (0, 1, 2), "%s exited %d: %s" % (
        args[0], p.returncode, p.stderr.decode(errors="replace")[-2000:]))
    return p.returncode, p.stdout.decode(errors="replace"), \
        p.stderr.decode(errors="replace")


def plan(repo):
    rc, out, err = run(["plan", "--source", repo, "--format", "json"])
    try:
        doc = json.loads(out)
    except ValueError:
        check(False, "plan JSON unreadable (rc %d): %s" % (rc, err[-500:]))
        return rc, {}
    return rc, {r["address"]: r for r in doc["resources"]}


def expect_error(repo, name, regex, body=None, body_hex=None, words=()):
    """Serve the raw body on paths matching regex; the resources of
    `name`'s API must be in error, the others as CLEAN."""
    fault = {"pathRegex": regex}
    if body_hex is not None:
        fault["bodyHex"] = body_hex
    else:
        fault["body"] = body
    admin("PUT", "/_fake/v1/faults", fault)
    rc, res = plan(repo)
    admin("PUT", "/_fake/v1/faults", {})
    what = "%s (%s)" % (name, regex)
    check(rc == 1, "%s: plan exit %d, want 1 (errors)" % (what, rc))
    bad = [k for k in CLEAN if ADDR[k] in res and
           res[ADDR[k]]["status"] == "error"]
    for k in CLEAN:
        check(ADDR[k] in res, "%s: %s not in the plan" % (what, k))
    check(len(bad) == 1, "%s: want one resource in error, got %r" %
          (what, bad))
    for k in bad:
        r = res[ADDR[k]]
        msg = r.get("error") or ""
        check(msg and "\n" not in msg and all(w in msg for w in words),
              "%s: %s error message %r lacks %r" % (what, k, msg, words))
        check(r["action"] == "none", "%s: %s in error has action %s" %
              (what, k, r["action"]))
    for k, action in CLEAN.items():
        if k not in bad and ADDR[k] in res:
            check(res[ADDR[k]]["action"] == action,
                  "%s: %s planned %s, want %s (unaffected)" %
                  (what, k, res[ADDR[k]]["action"], action))
    proj = res.get("%s/Project/%s" % (P, P))
    check(proj is not None and proj["status"] == "in_sync",
          "%s: the Project is not in sync" % what)
    return bad


RUN = r"^/v2/projects/bad-input/locations/us-west2/services$"
IAM = r":getIamPolicy$"
BQ = r"^/bigquery/v2/projects/bad-input/datasets/ds/tables$"
GCS = r"^/storage/v1/b$"
NAME = "projects/bad-input/locations/us-west2/services/api"


def deep(n):
    return "[" * n + "]" * n


def case_plan(repo):
    rc, res = plan(repo)
    check(rc == 1 or rc == 0 or rc == 2, "clean plan exit %d" % rc)
    for k, action in CLEAN.items():
        r = res.get(ADDR[k], {})
        check(r.get("action") == action, "clean plan: %s is %r, want %s" %
              (k, r.get("action"), action))
    cases = [
        # wrong types
        ("services is an object", RUN, '{"services": {"name": "%s"}}' % NAME,
         None, ("malformed answer", '"services" is not an array')),
        ("a service is a string", RUN, '{"services": ["%s"]}' % NAME, None,
         ("malformed answer", "is not an object")),
        ("nextPageToken is a number", RUN,
         '{"services": [], "nextPageToken": 7}', None,
         ("malformed answer", "nextPageToken")),
        ("bindings is a string", IAM, '{"bindings": "all", "etag": "x"}',
         None, ("malformed policy", "bindings is not an array")),
        ("members is a string", IAM,
         '{"bindings": [{"role": "roles/viewer", "members": "user:a@b.c"}]}',
         None, ("malformed policy", "members")),
        ("tables is a number", BQ, '{"tables": 12}', None,
         ("malformed answer", "tables")),
        ("items is a string", GCS, '{"items": "bad-input-empty"}', None,
         ("malformed answer", "items")),
        # missing fields
        ("a service without a name", RUN,
         '{"services": [{"uid": "u", "labels": {"team": "new"}}]}', None,
         ("malformed answer", "name")),
        ("a binding without a role", IAM,
         '{"bindings": [{"members": ["user:a@example.com"]}]}', None,
         ("malformed policy", "role")),
        # not an object at all
        ("a list answered with an array", BQ, '[]', None,
         ("malformed answer", "not a JSON object")),
        ("a policy answered with a string", IAM, '"policy"', None,
         ("not valid JSON", "'[' or '{' expected")),
        # deep nesting, invalid UTF-8, not JSON
        ("services nested 100000 deep", RUN,
         '{"services": %s}' % deep(100000), None, ("not valid JSON",)),
        ("invalid UTF-8 in a policy", IAM, None,
         b'{"bindings": [{"role": "roles/viewer", "members": ["user:\xff\xfe"]}]}'
         .hex(), ("not valid JSON",)),
        ("an HTML page for buckets", GCS, "<html><body>oops</body></html>",
         None, ("not valid JSON",)),
    ]
    for name, regex, body, hx, words in cases:
        expect_error(repo, name, regex, body, hx, words)
    # A huge string is just data: no crash, the plan reads it (the label
    # differs, so the service is still an update), nothing in error.
    huge = "x" * (8 << 20)
    admin("PUT", "/_fake/v1/faults", {"pathRegex": RUN, "body": json.dumps(
        {"services": [{"name": NAME, "labels": {"team": huge,
                                                "managed-by": "driftless"},
                       "template": {"containers": [{"image": IMAGE}]}}]})})
    rc, res = plan(repo)
    admin("PUT", "/_fake/v1/faults", {})
    check(rc == 0 and all(r["status"] != "error" for r in res.values()),
          "huge label: exit %d, statuses %r" % (
              rc, {k: r["status"] for k, r in res.items()}))


def mutations():
    reqs = admin("GET", "/_fake/v1/requests")
    return [c for c in reqs["counts"] if c["method"] != "GET" and
            not c["route"].endswith(":getIamPolicy")]


def case_apply(repo):
    """apply refuses a plan with a resource in error (docs/apply.md): with
    a malformed answer nothing at all is written, and it says why."""
    for name, regex, body, kind in (
            ("malformed getIamPolicy", IAM,
             '{"bindings": [{"role": "roles/viewer", "members": "user:a"}]}',
             "malformed policy"),
            ("services list without names", RUN,
             '{"services": [{"uid": "u"}]}', "malformed answer")):
        seed()
        before = admin("GET", "/_fake/v1/state")
        admin("PUT", "/_fake/v1/faults", {"pathRegex": regex, "body": body})
        rc, out, err = run(["apply", "--source", repo, "--auto-approve"])
        muts = mutations()
        admin("PUT", "/_fake/v1/faults", {})
        after = admin("GET", "/_fake/v1/state")
        check(rc == 1, "%s: apply exit %d, want 1: %s" % (name, rc, err[-800:]))
        check(kind in out + err, "%s: apply does not say %r:\n%s%s" %
              (name, kind, out[-800:], err[-800:]))
        check(not muts, "%s: writes: %r" % (name, muts))
        check(after == before, "%s: fakegcp's state changed" % name)
    # Without the fault the same apply converges: the refusal was the
    # malformed answer's doing.
    seed()
    rc, out, err = run(["apply", "--source", repo, "--auto-approve"])
    check(rc == 0, "clean apply exit %d: %s" % (rc, err[-800:]))
    rc, res = plan(repo)
    check(rc == 0 and all(r["action"] == "none" for r in res.values()),
          "plan after the clean apply: exit %d, %r" % (
              rc, {k: r["action"] for k, r in res.items()}))


def main():
    case = sys.argv[1] if len(sys.argv) > 1 else "plan"
    tmp = tempfile.mkdtemp()
    repo = make_repo(tmp)
    saved = admin("GET", "/_fake/v1/state")
    try:
        seed()
        {"plan": case_plan, "apply": case_apply}[case](repo)
    finally:
        admin("PUT", "/_fake/v1/faults", {})
        admin("PUT", "/_fake/v1/state", saved)
    if failures:
        print("%d failure(s)" % len(failures), file=sys.stderr)
        sys.exit(1)
    print("ok")


if __name__ == "__main__":
    main()
