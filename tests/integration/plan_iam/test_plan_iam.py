"""`driftless plan` for Project, IAMPolicyMember and IAMPolicyBinding against
fakegcp (python3 stdlib only). Run one case: test_plan_iam.py CASE, inside
the sandbox fixture (tests/sandbox/with-env.sh). Each case builds its own
git repository with a desired-state/, seeds fakegcp's whole state, runs the
binary and checks the JSON plan, the text plan and the exit code.
"""
import json
import os
import subprocess
import sys
import tempfile
import urllib.request

FAKE = os.environ.get("FAKEGCP_URL", "")
BIN = os.path.join(os.environ.get("DL_BINARY_DIR", "build"), "driftless")
P = "nba-props-platform"
NUMBER = "424242424242"
SA = "serviceAccount:prediction-worker@nba-props-platform.iam.gserviceaccount.com"
WRITER = "roles/monitoring.metricWriter"
ADMINS = "group:nba-platform-admins@googlegroups.com"

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
    with urllib.request.urlopen(req, timeout=30) as r:
        text = r.read().decode()
        return json.loads(text) if text else None


def seed(iam, projects=None, services=None):
    state = {"projects": projects if projects is not None else
             [{"projectId": P, "projectNumber": NUMBER}],
             "iam": iam}
    if services:
        state["run"] = {"services": services, "revisions": []}
    admin("PUT", "/_fake/v1/state", state)
    admin("PUT", "/_fake/v1/faults", {})
    admin("DELETE", "/_fake/v1/requests")


PROJECT_YAML = """apiVersion: driftless.dev/v1alpha1
kind: Project
metadata:
  name: %s
spec:
  region: us-west2
  mode: %s
  protectedMembers:
    - %s
"""


def member_yaml(name, role, member, mode=None, cond=None, resource=None):
    y = ("apiVersion: driftless.dev/v1alpha1\nkind: IAMPolicyMember\n"
         "metadata:\n  name: %s\nspec:\n  role: %s\n  member: %s\n"
         % (name, role, member))
    if mode:
        y += "  mode: %s\n" % mode
    if resource:
        y += "  resource: %s\n" % resource
    if cond:
        y += "  condition:\n    title: %s\n" % json.dumps(cond[0])
        if cond[2]:
            y += "    description: %s\n" % json.dumps(cond[2])
        y += "    expression: %s\n" % json.dumps(cond[1])
    return y


def binding_yaml(name, role, members, cond=None):
    y = ("apiVersion: driftless.dev/v1alpha1\nkind: IAMPolicyBinding\n"
         "metadata:\n  name: %s\nspec:\n  role: %s\n  members:\n" % (name, role))
    y += "".join("    - %s\n" % m for m in members)
    if cond:
        y += ("  condition:\n    title: %s\n    expression: %s\n"
              % (json.dumps(cond[0]), json.dumps(cond[1])))
    return y


def repo(tmp, docs, project=P, mode="enforce"):
    """A git repository whose desired-state/ holds the Project and docs."""
    d = os.path.join(tmp, "repo")
    ds = os.path.join(d, "desired-state")
    os.makedirs(ds)
    with open(os.path.join(ds, "project.yaml"), "w") as f:
        f.write(PROJECT_YAML % (project, mode, ADMINS))
    with open(os.path.join(ds, "iam.yaml"), "w") as f:
        f.write("---\n".join(docs))
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.com",
               GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.com")
    for cmd in (["git", "init", "-q", "-b", "main", d],
                ["git", "-C", d, "add", "-A"],
                ["git", "-C", d, "commit", "-q", "-m", "desired state"]):
        subprocess.run(cmd, check=True, env=env)
    return d


def plan(src, fmt="json", detailed=True):
    # PLAN_IAM_WRAPPER="valgrind --error-exitcode=99 ..." runs the binary
    # under a tool (by hand; ctest does not set it).
    args = os.environ.get("PLAN_IAM_WRAPPER", "").split()
    args += [BIN, "plan", "--source", src, "--format", fmt]
    if detailed:
        args.append("--detailed-exitcode")
    env = dict(os.environ, DRIFTLESS_ACCESS_TOKEN="test-token", NO_COLOR="1")
    r = subprocess.run(args, capture_output=True, text=True, env=env,
                       timeout=120)
    if r.stderr:
        print(r.stderr, file=sys.stderr)
    return r.returncode, r.stdout


def resources(out):
    try:
        doc = json.loads(out)
    except ValueError:
        check(False, "plan output is not JSON: %r" % out[:300])
        return {}, {}
    return {r["address"]: r for r in doc["resources"]}, doc["summary"]


def addr(kind, name, project=P):
    return "%s/%s/%s" % (project, kind, name)


def iam_requests():
    """How many getIamPolicy requests fakegcp served."""
    counts = admin("GET", "/_fake/v1/requests")["counts"]
    return sum(c["count"] for c in counts if "getIamPolicy" in c["route"])


def case_missing_member(tmp):
    """The first user's incident: metricWriter missing -> create, exit 2."""
    seed({"projects/" + P: {"bindings": [
        {"role": "roles/run.invoker", "members": [SA]},
        {"role": WRITER, "members": ["serviceAccount:other@x.iam.gserviceaccount.com"]}]}})
    src = repo(tmp, [member_yaml("prediction-worker-metric-writer", WRITER, SA)])
    rc, out = plan(src)
    check(rc == 2, "exit %d, want 2" % rc)
    res, summary = resources(out)
    r = res.get(addr("IAMPolicyMember", "prediction-worker-metric-writer"), {})
    check(r.get("status") == "missing", "status %r" % r.get("status"))
    check(r.get("action") == "create", "action %r" % r.get("action"))
    ch = r.get("changes", [])
    check(len(ch) == 1 and ch[0]["path"] ==
          "bindings[roles/monitoring.metricWriter].members", "changes %r" % ch)
    if ch:
        check(ch[0].get("before") ==
              ["serviceAccount:other@x.iam.gserviceaccount.com"],
              "before %r" % ch[0].get("before"))
        check(sorted(ch[0].get("after", [])) ==
              sorted(["serviceAccount:other@x.iam.gserviceaccount.com", SA]),
              "after %r" % ch[0].get("after"))
    pre = r.get("preconditions", {})
    check(pre.get("resource") == "projects/" + P and pre.get("etag")
          and pre.get("version") == 1, "preconditions %r" % pre)
    proj = res.get("%s/Project/%s" % (P, P), {})
    check(proj.get("status") == "in_sync", "project %r" % proj)
    check(proj.get("preconditions", {}).get("projectNumber") == NUMBER,
          "project preconditions %r" % proj.get("preconditions"))
    check(summary.get("create") == 1, "summary %r" % summary)
    rc, text = plan(src, "text")
    check(rc == 2, "text exit %d" % rc)
    check(SA in text and "metricWriter" in text,
          "text does not show the member: %r" % text)
    check("1 to create" in text, "text closing line: %r" % text[-300:])


def case_in_sync(tmp):
    """Member present (with others, in any order) -> No changes, exit 0."""
    seed({"projects/" + P: {"bindings": [
        {"role": WRITER, "members": ["user:z@example.com", SA]}]}})
    src = repo(tmp, [member_yaml("mw", WRITER, SA)])
    rc, out = plan(src)
    check(rc == 0, "exit %d, want 0" % rc)
    res, _ = resources(out)
    r = res.get(addr("IAMPolicyMember", "mw"), {})
    check(r.get("status") == "in_sync" and r.get("action") == "none",
          "resource %r" % r)
    rc, text = plan(src, "text")
    check(rc == 0 and "No changes." in text, "text %d %r" % (rc, text))


def case_report_mode(tmp):
    """A report-mode member missing -> report, exit 0 with -detailed."""
    seed({"projects/" + P: {"bindings": []}})
    src = repo(tmp, [member_yaml("mw", WRITER, SA, mode="report")])
    rc, out = plan(src)
    check(rc == 0, "exit %d, want 0" % rc)
    res, summary = resources(out)
    r = res.get(addr("IAMPolicyMember", "mw"), {})
    check(r.get("status") == "missing" and r.get("action") == "report",
          "resource %r" % r)
    ch = r.get("changes", [])
    check(len(ch) == 1 and "before" not in ch[0] and ch[0].get("after") == [SA],
          "changes %r" % ch)
    check(summary.get("report") == 1, "summary %r" % summary)


def case_binding_protected(tmp):
    """Authoritative binding: extras removed, except a protected one."""
    seed({"projects/" + P: {"bindings": [
        {"role": "roles/editor", "members": [
            "user:keep@example.com", "user:extra@example.com", ADMINS,
            "deleted:serviceAccount:old@x.iam.gserviceaccount.com?uid=123"]}]}})
    src = repo(tmp, [binding_yaml("editors", "roles/editor",
                                  ["user:keep@example.com", "user:new@example.com"])])
    rc, out = plan(src)
    check(rc == 2, "exit %d, want 2" % rc)
    res, _ = resources(out)
    r = res.get(addr("IAMPolicyBinding", "editors"), {})
    check(r.get("status") == "drifted" and r.get("action") == "update",
          "resource %r" % r)
    ch = r.get("changes", [])
    check(len(ch) == 1 and ch[0]["path"] == "bindings[roles/editor].members",
          "changes %r" % ch)
    if ch:
        after = ch[0].get("after", [])
        check(ADMINS in after, "protected member removed: %r" % after)
        check("user:extra@example.com" not in after and
              not any(m.startswith("deleted:") for m in after),
              "extras kept: %r" % after)
        check("user:new@example.com" in after, "missing not added %r" % after)
    notes = r.get("notes", [])
    check(any("protected member '%s'" % ADMINS in n for n in notes),
          "no protected note: %r" % notes)
    check(any("remove member 'user:extra@example.com'" in n for n in notes),
          "no removal note: %r" % notes)
    check(any("remove member 'deleted:serviceAccount:old" in n for n in notes),
          "deleted: member not a removal: %r" % notes)
    check(not any("remove member '%s'" % ADMINS in n for n in notes),
          "protected member listed as removal: %r" % notes)
    check(r.get("preconditions", {}).get("etag"), "no etag %r" % r)


def case_conditions(tmp):
    """Same role, different conditions: distinct bindings."""
    c1 = ("weekdays", "request.time.getDayOfWeek() < 5", "desc one")
    c2 = ("until-2027", 'request.time < timestamp("2027-01-01T00:00:00Z")', "x")
    seed({"projects/" + P: {"version": 3, "bindings": [
        {"role": WRITER, "members": [SA],
         "condition": {"title": c1[0], "expression": c1[1],
                       "description": "another description"}},
        {"role": WRITER, "members": ["user:a@example.com"],
         "condition": {"title": c2[0], "expression": c2[1]}},
        {"role": "roles/run.invoker", "members": ["user:b@example.com"],
         "condition": {"title": c2[0], "expression": c2[1]}},
        {"role": "roles/run.invoker", "members": ["user:c@example.com"]}]}})
    src = repo(tmp, [
        # in sync: title and expression match, description differs
        member_yaml("m-weekdays", WRITER, SA, cond=c1),
        # missing: SA is only in the c1 binding
        member_yaml("m-until", WRITER, SA, cond=c2),
        # missing: no unconditional binding at all
        member_yaml("m-plain", WRITER, SA),
        # same title, other expression: another binding
        member_yaml("m-other-expr", WRITER, SA,
                    cond=(c1[0], "request.time.getDayOfWeek() < 6", "")),
        # authoritative for (run.invoker, c2) only: the unconditional
        # run.invoker binding's member is not an extra
        binding_yaml("b-until", "roles/run.invoker", ["user:b@example.com"],
                     cond=c2)])
    rc, out = plan(src)
    check(rc == 2, "exit %d, want 2" % rc)
    res, _ = resources(out)

    def st(kind, name):
        r = res.get(addr(kind, name), {})
        return r.get("status"), r.get("action")

    check(st("IAMPolicyMember", "m-weekdays") == ("in_sync", "none"),
          "m-weekdays %r" % (st("IAMPolicyMember", "m-weekdays"),))
    check(st("IAMPolicyMember", "m-until") == ("missing", "create"),
          "m-until %r" % (st("IAMPolicyMember", "m-until"),))
    check(st("IAMPolicyMember", "m-plain") == ("missing", "create"),
          "m-plain %r" % (st("IAMPolicyMember", "m-plain"),))
    check(st("IAMPolicyMember", "m-other-expr") == ("missing", "create"),
          "m-other-expr %r" % (st("IAMPolicyMember", "m-other-expr"),))
    check(st("IAMPolicyBinding", "b-until") == ("in_sync", "none"),
          "b-until %r" % (st("IAMPolicyBinding", "b-until"),))
    ch = res.get(addr("IAMPolicyMember", "m-until"), {}).get("changes", [])
    check(ch and ch[0]["path"] ==
          'bindings[roles/monitoring.metricWriter, condition "until-2027"].members'
          and ch[0].get("before") == ["user:a@example.com"], "changes %r" % ch)
    pre = res.get(addr("IAMPolicyMember", "m-until"), {}).get("preconditions")
    check(pre and pre.get("version") == 3, "preconditions %r" % pre)


def case_get_failure(tmp):
    """getIamPolicy fails -> every IAM resource of the project is error."""
    seed({"projects/" + P: {"bindings": []}})
    src = repo(tmp, [member_yaml("mw", WRITER, SA),
                     binding_yaml("viewers", "roles/viewer", ["user:a@example.com"])])
    admin("PUT", "/_fake/v1/faults", {"403": 1.0, "pathRegex": ":getIamPolicy$"})
    try:
        rc, out = plan(src)
        rc_text, text = plan(src, "text")
    finally:
        admin("PUT", "/_fake/v1/faults", {})
    check(rc == 1, "exit %d, want 1" % rc)
    res, summary = resources(out)
    for a in (addr("IAMPolicyMember", "mw"), addr("IAMPolicyBinding", "viewers")):
        r = res.get(a, {})
        check(r.get("status") == "error" and r.get("action") == "none",
              "%s %r" % (a, r))
        check("getIamPolicy on 'projects/%s' failed" % P in (r.get("error") or ""),
              "%s error %r" % (a, r.get("error")))
    check(res.get("%s/Project/%s" % (P, P), {}).get("status") == "in_sync",
          "project should still be in sync")
    check(summary.get("error") == 2, "summary %r" % summary)
    check(rc_text == 1 and "getIamPolicy" in text, "text %d %r" % (rc_text, text))


def case_no_project(tmp):
    """A Project that fakegcp does not know -> Project error, exit 1."""
    seed({}, projects=[{"projectId": "someone-else", "projectNumber": "1"}])
    src = repo(tmp, [member_yaml("mw", WRITER, SA)])
    rc, out = plan(src)
    check(rc == 1, "exit %d, want 1" % rc)
    res, _ = resources(out)
    r = res.get("%s/Project/%s" % (P, P), {})
    check(r.get("status") == "error", "project %r" % r)
    check("cannot read project '%s'" % P in (r.get("error") or "") and
          "permission" in (r.get("error") or ""), "error %r" % r.get("error"))
    check(res.get(addr("IAMPolicyMember", "mw"), {}).get("status") == "error",
          "member should be error too")


def case_batching(tmp):
    """5 members + 2 bindings in one project: one getIamPolicy."""
    seed({"projects/" + P: {"bindings": [
        {"role": "roles/viewer", "members": ["user:v@example.com"]}]}})
    docs = [member_yaml("m%d" % i, "roles/role%d" % i,
                        "user:u%d@example.com" % i) for i in range(5)]
    docs += [binding_yaml("viewers", "roles/viewer", ["user:v@example.com"]),
             binding_yaml("owners", "roles/owner", ["user:o@example.com"])]
    src = repo(tmp, docs)
    rc, out = plan(src)
    check(rc == 2, "exit %d, want 2" % rc)
    res, summary = resources(out)
    check(len(res) == 8, "resources %d, want 8" % len(res))
    check(summary.get("create") == 6, "summary %r" % summary)
    n = iam_requests()
    check(n == 1, "getIamPolicy requests: %d, want 1" % n)


def case_service_resource(tmp):
    """A member on a Cloud Run service's policy; a bad resource is error."""
    svc = "projects/%s/locations/us-west2/services/prediction-worker" % P
    seed({"projects/" + P: {"bindings": []},
          svc: {"bindings": [{"role": "roles/run.invoker", "members": [SA]}]}},
         services=[{"name": svc, "template": {"containers": [
             {"image": "us-docker.pkg.dev/p/r/w@sha256:" + "0" * 64}]}}])
    src = repo(tmp, [
        member_yaml("invoker", "roles/run.invoker", SA,
                    resource="run.googleapis.com/" + svc),
        member_yaml("invoker2", "roles/run.invoker", "user:b@example.com",
                    resource="//run.googleapis.com/" + svc),
        member_yaml("bad", "roles/run.invoker", SA,
                    resource="storage.googleapis.com/buckets/b")])
    rc, out = plan(src)
    check(rc == 1, "exit %d, want 1" % rc)
    res, _ = resources(out)
    r = res.get(addr("IAMPolicyMember", "invoker"), {})
    check(r.get("status") == "in_sync", "invoker %r" % r)
    check(r.get("preconditions", {}).get("resource") == svc, "pre %r" % r)
    r = res.get(addr("IAMPolicyMember", "invoker2"), {})
    check(r.get("status") == "missing" and r.get("action") == "create",
          "invoker2 %r" % r)
    r = res.get(addr("IAMPolicyMember", "bad"), {})
    check(r.get("status") == "error" and
          "is not supported" in (r.get("error") or ""), "bad %r" % r)
    n = iam_requests()
    check(n == 1, "getIamPolicy requests: %d, want 1 (the service's)" % n)


CASES = {
    "missing-member": case_missing_member,
    "in-sync": case_in_sync,
    "report-mode": case_report_mode,
    "binding-protected": case_binding_protected,
    "conditions": case_conditions,
    "get-failure": case_get_failure,
    "no-project": case_no_project,
    "batching": case_batching,
    "service-resource": case_service_resource,
}


def main():
    if not FAKE:
        sys.exit("FAKEGCP_URL is not set: run under tests/sandbox/with-env.sh")
    name = sys.argv[1]
    with tempfile.TemporaryDirectory() as tmp:
        CASES[name](tmp)
    if failures:
        print("plan-iam %s: %d failure(s)" % (name, len(failures)),
              file=sys.stderr)
        sys.exit(1)
    print("plan-iam %s: ok" % name)


if __name__ == "__main__":
    main()
