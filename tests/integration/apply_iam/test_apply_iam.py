"""`driftless apply` for IAMPolicyMember and IAMPolicyBinding against fakegcp
(python3 stdlib only). Run one case: test_apply_iam.py CASE, inside the
sandbox fixture (tests/sandbox/with-env.sh). Each case builds its own git
repository, seeds fakegcp, plans, applies and checks fakegcp's policy, its
request log, the report and the exit codes; fakegcp's state and faults are
put back as they were at the end.
"""
import json
import os
import subprocess
import sys
import tempfile
import urllib.request

FAKE = os.environ.get("FAKEGCP_URL", "")
BIN = os.path.join(os.environ.get("DL_BINARY_DIR", "build"), "driftless")
P = "dl-apply-iam"
NUMBER = "515151515151"
SA = "serviceAccount:prediction-worker@%s.iam.gserviceaccount.com" % P
WRITER = "roles/monitoring.metricWriter"
ADMINS = "group:platform-admins@example.com"
OTHER_WRITER = "serviceAccount:other@%s.iam.gserviceaccount.com" % P

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL: " + what, file=sys.stderr)
    return cond


def http(method, url, body=None, headers=None):
    data = json.dumps(body).encode() if body is not None else None
    h = {"Content-Type": "application/json"}
    h.update(headers or {})
    req = urllib.request.Request(url, data=data, method=method, headers=h)
    with urllib.request.urlopen(req, timeout=30) as r:
        text = r.read().decode()
        return json.loads(text) if text else None


def admin(method, path, body=None):
    return http(method, FAKE + path, body)


def seed(bindings, extra_iam=None, services=None):
    state = {"projects": [{"projectId": P, "projectNumber": NUMBER}],
             "iam": {"projects/" + P: {"bindings": bindings}}}
    state["iam"].update(extra_iam or {})
    if services:
        state["run"] = {"services": services, "revisions": []}
    admin("PUT", "/_fake/v1/state", state)
    admin("PUT", "/_fake/v1/faults", {})
    admin("DELETE", "/_fake/v1/requests")


def policy(name=None):
    return admin("GET", "/_fake/v1/state")["iam"][name or "projects/" + P]


def members(pol, role):
    out = set()
    for b in pol.get("bindings", []):
        if b["role"] == role and not b.get("condition"):
            out |= set(b.get("members", []))
    return out


def all_members(pol):
    return {(b["role"], m) for b in pol.get("bindings", [])
            for m in b.get("members", [])}


def set_requests():
    counts = admin("GET", "/_fake/v1/requests")["counts"]
    return [c for c in counts if "setIamPolicy" in c["route"]]


PROJECT_YAML = """apiVersion: driftless.dev/v1alpha1
kind: Project
metadata:
  name: %s
spec:
  region: us-west2
  mode: enforce
  protectedMembers:
    - %s
"""


def member_yaml(name, role, member, mode=None, resource=None, cond=None):
    y = ("apiVersion: driftless.dev/v1alpha1\nkind: IAMPolicyMember\n"
         "metadata:\n  name: %s\nspec:\n  role: %s\n  member: %s\n"
         % (name, role, member))
    if mode:
        y += "  mode: %s\n" % mode
    if resource:
        y += "  resource: %s\n" % resource
    if cond:
        y += ("  condition:\n    title: %s\n    expression: %s\n"
              % (json.dumps(cond[0]), json.dumps(cond[1])))
    return y


def binding_yaml(name, role, mems):
    y = ("apiVersion: driftless.dev/v1alpha1\nkind: IAMPolicyBinding\n"
         "metadata:\n  name: %s\nspec:\n  role: %s\n  members:\n" % (name, role))
    return y + "".join("    - %s\n" % m for m in mems)


def repo(tmp, docs):
    d = os.path.join(tmp, "repo")
    ds = os.path.join(d, "desired-state")
    os.makedirs(ds)
    with open(os.path.join(ds, "project.yaml"), "w") as f:
        f.write(PROJECT_YAML % (P, ADMINS))
    with open(os.path.join(ds, "iam.yaml"), "w") as f:
        f.write("---\n".join(docs))
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.com",
               GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.com")
    for cmd in (["git", "init", "-q", "-b", "main", d],
                ["git", "-C", d, "add", "-A"],
                ["git", "-C", d, "commit", "-q", "-m", "desired state"]):
        subprocess.run(cmd, check=True, env=env)
    return d


def run(args):
    # APPLY_IAM_WRAPPER="valgrind --error-exitcode=99 ..." runs the binary
    # under a tool (by hand; ctest does not set it).
    cmd = os.environ.get("APPLY_IAM_WRAPPER", "").split() + [BIN] + args
    env = dict(os.environ, DRIFTLESS_ACCESS_TOKEN="test-token", NO_COLOR="1")
    r = subprocess.run(cmd, capture_output=True, text=True, env=env,
                       timeout=170, stdin=subprocess.DEVNULL)
    print("$ driftless %s -> %d\n%s%s" % (" ".join(args), r.returncode,
                                          r.stdout, r.stderr), file=sys.stderr)
    return r.returncode, r.stdout, r.stderr


def plan(src, fmt="json"):
    return run(["plan", "--source", src, "--format", fmt,
                "--detailed-exitcode"])


def apply(src, tmp, extra=()):
    rep = os.path.join(tmp, "report.json")
    if os.path.exists(rep):
        os.remove(rep)
    rc, out, err = run(["apply", "--source", src, "--auto-approve",
                        "--report", rep] + list(extra))
    doc = None
    if os.path.exists(rep):
        with open(rep) as f:
            doc = json.load(f)
    return rc, out, err, doc


def outcomes(doc):
    if not doc:
        return {}
    return {r["address"]: r for r in doc["resources"]}


def addr(kind, name):
    return "%s/%s/%s" % (P, kind, name)


def converged(src, tmp):
    """plan shows No changes (exit 0), and a second apply sets nothing."""
    rc, out, _ = plan(src, "text")
    check(rc == 0, "plan after apply: exit %d, want 0" % rc)
    check("No changes." in out, "plan after apply is not 'No changes.'")
    admin("DELETE", "/_fake/v1/requests")
    rc, out, _, _ = apply(src, tmp)
    check(rc == 0, "second apply: exit %d" % rc)
    check(not set_requests(), "second apply sent setIamPolicy: %s"
          % set_requests())


PRE = [{"role": "roles/viewer", "members": ["user:a@example.com",
                                             "user:b@example.com"]},
       {"role": WRITER, "members": [OTHER_WRITER]},
       {"role": "roles/owner", "members": [ADMINS]}]


def case_metric_writer(tmp):
    seed(PRE)
    before = all_members(policy())
    src = repo(tmp, [member_yaml("metric-writer", WRITER, SA)])
    rc, out, _ = plan(src)
    res = {r["address"]: r for r in json.loads(out)["resources"]}
    a = addr("IAMPolicyMember", "metric-writer")
    check(rc == 2, "plan: exit %d, want 2" % rc)
    check(res.get(a, {}).get("action") == "create", "plan: not create")
    rc, out, _, doc = apply(src, tmp)
    check(rc == 0, "apply: exit %d, want 0" % rc)
    check(outcomes(doc).get(a, {}).get("outcome") == "applied",
          "apply report: %s" % outcomes(doc).get(a))
    after = all_members(policy())
    check((WRITER, SA) in after, "member not added: %s" % sorted(after))
    check(before <= after, "pre-existing members lost: %s"
          % sorted(before - after))
    check(after - before == {(WRITER, SA)}, "unexpected changes: %s"
          % sorted(after - before))
    check(len(set_requests()) == 1 and set_requests()[0]["count"] == 1,
          "want exactly one setIamPolicy: %s" % set_requests())
    converged(src, tmp)


def case_race(tmp):
    seed(PRE)
    before = all_members(policy())
    src = repo(tmp, [member_yaml("metric-writer", WRITER, SA),
                     binding_yaml("invokers", "roles/run.invoker", [SA])])
    rc, _, _ = plan(src)
    check(rc == 2, "plan: exit %d, want 2" % rc)
    # The first setIamPolicy loses a race with a concurrent writer, who
    # adds user:racer-N to roles/browser; the retry does not (fakegcp draws
    # twice per faulted request from splitmix64: with seed 7 draw 2 is below
    # 0.5 and draw 4 is not).
    admin("PUT", "/_fake/v1/faults", {"etagRaceRate": 0.5, "seed": 7,
                                      "pathRegex": "setIamPolicy"})
    rc, _, _, doc = apply(src, tmp)
    admin("PUT", "/_fake/v1/faults", {})
    check(rc == 0, "apply: exit %d, want 0" % rc)
    sets = {c["status"]: c["count"] for c in set_requests()}
    check(sets.get(409, 0) >= 1, "no setIamPolicy lost a race: %s" % sets)
    check(sets.get(200, 0) == 1, "want one successful setIamPolicy: %s" % sets)
    after = all_members(policy())
    racers = {m for (r, m) in after if r == "roles/browser"}
    check(racers and all(m.startswith("user:racer-") for m in racers),
          "the racer's members are gone: %s" % sorted(after))
    check(before <= after, "pre-existing members lost")
    check((WRITER, SA) in after and ("roles/run.invoker", SA) in after,
          "desired members missing: %s" % sorted(after))
    for a in (addr("IAMPolicyMember", "metric-writer"),
              addr("IAMPolicyBinding", "invokers")):
        check(outcomes(doc).get(a, {}).get("outcome") == "applied",
              "%s: %s" % (a, outcomes(doc).get(a)))
    converged(src, tmp)


def case_binding_protected(tmp):
    seed(PRE + [{"role": "roles/run.invoker",
                 "members": ["user:extra@example.com", ADMINS]}])
    src = repo(tmp, [binding_yaml("invokers", "roles/run.invoker", [SA])])
    rc, out, _ = plan(src)
    check(rc == 2, "plan: exit %d, want 2" % rc)
    rc, _, _, doc = apply(src, tmp)
    check(rc == 0, "apply: exit %d, want 0" % rc)
    pol = policy()
    check(members(pol, "roles/run.invoker") == {SA, ADMINS},
          "invokers: %s" % sorted(members(pol, "roles/run.invoker")))
    for b in PRE:
        check(members(pol, b["role"]) == set(b["members"]),
              "%s changed: %s" % (b["role"], sorted(members(pol, b["role"]))))
    a = addr("IAMPolicyBinding", "invokers")
    msg = outcomes(doc).get(a, {}).get("message") or ""
    check("added 1, removed 1" in msg, "report message: %r" % msg)
    converged(src, tmp)


def case_report_mode(tmp):
    seed(PRE)
    src = repo(tmp, [member_yaml("watcher", "roles/viewer",
                                 "user:watch@example.com", mode="report"),
                     member_yaml("metric-writer", WRITER, SA)])
    rc, out, _, doc = apply(src, tmp)
    check(rc == 0, "apply: exit %d, want 0" % rc)
    a = addr("IAMPolicyMember", "watcher")
    check(outcomes(doc).get(a, {}).get("outcome") == "reported",
          "report-mode member: %s" % outcomes(doc).get(a))
    check("reported" in out and a in out, "text report does not list %s" % a)
    pol = policy()
    check("user:watch@example.com" not in members(pol, "roles/viewer"),
          "a report-mode member was added")
    check(SA in members(pol, WRITER), "the enforce member was not added")


def case_saved_moved(tmp):
    seed(PRE)
    src = repo(tmp, [member_yaml("metric-writer", WRITER, SA)])
    saved = os.path.join(tmp, "plan.json")
    rc, _, _ = run(["plan", "--source", src, "--out", saved])
    check(os.path.exists(saved), "plan --out wrote nothing")
    # A foreign writer changes the policy through the API.
    base = os.environ.get("DRIFTLESS_API_ENDPOINT", FAKE)
    auth = {"Authorization": "Bearer test-token"}
    cur = http("POST", base + "/v1/projects/%s:getIamPolicy" % P,
               {"options": {"requestedPolicyVersion": 3}}, auth)
    cur["bindings"].append({"role": "roles/browser",
                            "members": ["user:foreign@example.com"]})
    http("POST", base + "/v1/projects/%s:setIamPolicy" % P,
         {"policy": cur}, auth)
    before = policy()
    admin("DELETE", "/_fake/v1/requests")
    rc, out, err = run(["apply", "--source", src, "--plan", saved,
                        "--auto-approve"])
    check(rc == 1, "stale saved plan: exit %d, want 1" % rc)
    check("etag" in err and "IAMPolicyMember/metric-writer" in err,
          "refusal does not name the moved policy: %r" % err)
    check(policy() == before, "the policy changed")
    check(not set_requests(), "setIamPolicy was sent: %s" % set_requests())


def case_service(tmp):
    """A member on a Cloud Run service's policy: set through Cloud Run."""
    svc = "projects/%s/locations/us-west2/services/prediction-worker" % P
    seed(PRE, {svc: {"bindings": [{"role": "roles/run.invoker",
                                   "members": ["user:b@example.com"]}]}},
         services=[{"name": svc, "template": {"containers": [
             {"image": "us-docker.pkg.dev/p/r/w@sha256:" + "0" * 64}]}}])
    project_before = policy()
    src = repo(tmp, [member_yaml("invoker", "roles/run.invoker", SA,
                                 resource="run.googleapis.com/" + svc)])
    rc, _, _, doc = apply(src, tmp)
    check(rc == 0, "apply: exit %d, want 0" % rc)
    check(members(policy(svc), "roles/run.invoker") ==
          {SA, "user:b@example.com"},
          "service policy: %s" % policy(svc))
    check(policy() == project_before, "the project's policy changed")
    routes = [c["route"] for c in set_requests()]
    check(len(routes) == 1 and routes[0].startswith("/v2/"),
          "want one Cloud Run setIamPolicy: %s" % routes)
    converged(src, tmp)


def case_condition(tmp):
    """A conditional member: version 3 is sent, other conditions kept."""
    other = {"role": WRITER, "members": ["user:c@example.com"],
             "condition": {"title": "other", "expression": "true"}}
    seed(PRE + [other])
    src = repo(tmp, [member_yaml("temp", WRITER, SA,
                                 cond=("until-2027", "request.time < "
                                       "timestamp(\"2027-01-01T00:00:00Z\")"))])
    rc, _, _, _ = apply(src, tmp)
    check(rc == 0, "apply: exit %d, want 0" % rc)
    pol = policy()
    conds = {b.get("condition", {}).get("title"): set(b["members"])
             for b in pol["bindings"] if b["role"] == WRITER}
    check(conds.get("until-2027") == {SA}, "conditional binding: %s" % conds)
    check(conds.get("other") == {"user:c@example.com"},
          "other condition lost: %s" % conds)
    check(conds.get(None) == {OTHER_WRITER}, "unconditional: %s" % conds)
    check(pol.get("version") == 3, "policy version %r" % pol.get("version"))
    converged(src, tmp)


CASES = {"service": case_service, "condition": case_condition,
         "metric-writer": case_metric_writer, "race": case_race,
         "binding-protected": case_binding_protected,
         "report-mode": case_report_mode, "saved-moved": case_saved_moved}


def main():
    if len(sys.argv) != 2 or sys.argv[1] not in CASES:
        print("usage: test_apply_iam.py %s" % "|".join(CASES), file=sys.stderr)
        return 2
    initial = admin("GET", "/_fake/v1/state")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            CASES[sys.argv[1]](tmp)
    finally:
        admin("PUT", "/_fake/v1/faults", {})
        admin("PUT", "/_fake/v1/state", initial)
    if failures:
        print("%d check(s) failed" % len(failures), file=sys.stderr)
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
