#!/usr/bin/env python3
"""check-ci-examples.py - the CI files in docs/examples/ parse (PyYAML)
and hold together, checked the way GitHub Actions and Cloud Build would
reject them before running anything:

GitHub Actions workflows (github-*.yml):
  - `on` names known events; every job has runs-on and steps; every step
    has exactly one of uses/run; `needs` names existing jobs;
  - every ${{ steps.ID.outputs.X }} names a step id of the same job, every
    needs.JOB.outputs.X a job it needs that declares output X, every job
    output a step of its own;
  - the apply-on-merge half exists: a job on push that runs
    `driftless apply --plan ... --auto-approve`, after one on pull_request
    that saves plan.json with `plan --out` and uploads it.
Cloud Build configs (cloudbuild-*.yaml but -triggers):
  - every step has a name; ids are unique; waitFor names earlier ids;
  - every $VAR / ${VAR} is a built-in substitution or a declared one, and a
    shell variable is written $$VAR (else Cloud Build rejects the build);
  - every secretEnv is declared in availableSecrets.
Cloud Build triggers (cloudbuild-triggers.yaml): every document names a
  build file that exists in docs/examples/ (by base name), has exactly one
  source (github / sourceToBuild) and a serviceAccount; every _SUBST it
  sets is declared by that build file.
Monitoring (prometheus-*.yml, monitoring-*.yaml) and docs/operations.md:
  every driftless_* metric in a rule, a query or the page is a family the
  controller registers (src/controller/metrics.c), and every label matched
  in a selector is one of that family's labels.
Cloud Run (cloudrun-*.yaml): the container's args are global flags, then
  `run` and flags that `driftless run --help` lists (with DRIFTLESS).
Usage: check-ci-examples.py SOURCE_DIR [DRIFTLESS]
"""
import glob
import os
import re
import sys

import subprocess

try:
    import yaml
except ImportError:  # Debian's python3-yaml is for /usr/bin/python3
    if sys.executable != "/usr/bin/python3" and os.path.exists("/usr/bin/python3"):
        os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)
    raise

top = sys.argv[1]
dl = sys.argv[2] if len(sys.argv) > 2 else None
ex = os.path.join(top, "docs", "examples")
fails = []

GH_EVENTS = {"pull_request", "push", "workflow_dispatch", "schedule",
             "pull_request_target", "workflow_run", "merge_group"}
CB_BUILTINS = {"PROJECT_ID", "PROJECT_NUMBER", "BUILD_ID", "LOCATION",
               "TRIGGER_NAME", "COMMIT_SHA", "SHORT_SHA", "REVISION_ID",
               "REPO_NAME", "REPO_FULL_NAME", "BRANCH_NAME", "TAG_NAME",
               "REF_NAME", "TRIGGER_BUILD_CONFIG_PATH",
               "SERVICE_ACCOUNT_EMAIL", "SERVICE_ACCOUNT", "_HEAD_BRANCH",
               "_BASE_BRANCH", "_HEAD_REPO_URL", "_PR_NUMBER"}


def fail(path, msg):
    fails.append("%s: %s" % (os.path.relpath(path, top), msg))


def strings(node):
    """Every string in a parsed YAML tree."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for k, v in node.items():
            yield from strings(k)
            yield from strings(v)
    elif isinstance(node, list):
        for v in node:
            yield from strings(v)


def check_workflow(path, wf):
    # PyYAML reads the key `on` as the boolean true (YAML 1.1).
    on = wf.get("on", wf.get(True))
    if not on:
        return fail(path, "no 'on'")
    events = set(on) if isinstance(on, (dict, list)) else {on}
    for e in events - GH_EVENTS:
        fail(path, "unknown event '%s'" % e)
    jobs = wf.get("jobs") or {}
    if not jobs:
        return fail(path, "no jobs")
    for name, job in jobs.items():
        needs = job.get("needs", [])
        needs = [needs] if isinstance(needs, str) else needs
        for n in needs:
            if n not in jobs:
                fail(path, "job %s needs unknown job '%s'" % (name, n))
        if "runs-on" not in job:
            fail(path, "job %s has no runs-on" % name)
        steps = job.get("steps") or []
        if not steps:
            fail(path, "job %s has no steps" % name)
        ids = [s["id"] for s in steps if "id" in s]
        if len(ids) != len(set(ids)):
            fail(path, "job %s repeats a step id" % name)
        for i, s in enumerate(steps):
            if ("uses" in s) == ("run" in s):
                fail(path, "job %s step %d: want exactly one of uses/run"
                     % (name, i + 1))
        text = "\n".join(strings(job))
        for sid in re.findall(r"steps\.([A-Za-z0-9_-]+)\.outputs", text):
            if sid not in ids:
                fail(path, "job %s refers to unknown step '%s'"
                     % (name, sid))
        for jn, out in re.findall(
                r"needs\.([A-Za-z0-9_-]+)\.outputs\.([A-Za-z0-9_-]+)", text):
            if jn not in needs:
                fail(path, "job %s uses needs.%s without needing it"
                     % (name, jn))
            elif out not in (jobs[jn].get("outputs") or {}):
                fail(path, "job %s uses output '%s' that job %s does not "
                     "declare" % (name, out, jn))
    text = yaml.safe_dump(wf)
    plan_jobs = [j for j in jobs.values()
                 if "pull_request" in str(j.get("if", ""))
                 and "--out plan.json" in "\n".join(strings(j))
                 and "actions/upload-artifact" in "\n".join(strings(j))]
    apply_jobs = [j for j in jobs.values()
                  if re.search(r"apply --plan \S+ --auto-approve",
                               "\n".join(strings(j)))]
    if not plan_jobs:
        fail(path, "no pull_request job saving and uploading plan.json")
    if not apply_jobs:
        fail(path, "no job running 'apply --plan FILE --auto-approve'")
    if "github-script" not in text or "createComment" not in text:
        fail(path, "the plan is not posted as a comment")


def check_cloudbuild(path, cb):
    steps = cb.get("steps") or []
    if not steps:
        return fail(path, "no steps")
    declared = set((cb.get("substitutions") or {}).keys())
    seen = set()
    for i, s in enumerate(steps):
        if "name" not in s:
            fail(path, "step %d has no name" % (i + 1))
        sid = s.get("id")
        if sid in seen:
            fail(path, "step id '%s' repeated" % sid)
        for w in s.get("waitFor", []):
            if w != "-" and w not in seen:
                fail(path, "step %s waits for unknown '%s'" % (sid, w))
        if sid:
            seen.add(sid)
    secrets = {s["env"] for s in (cb.get("availableSecrets") or {})
               .get("secretManager", [])}
    for s in steps:
        for e in s.get("secretEnv", []):
            if e not in secrets:
                fail(path, "secretEnv %s is not in availableSecrets" % e)
    for text in strings({k: v for k, v in cb.items()
                         if k != "substitutions"}):
        # $$ is a literal $; what is left must be a substitution.
        for m in re.finditer(r"\$(\$|\{([A-Za-z0-9_]+)\}|([A-Za-z_][A-Za-z0-9_]*))",
                             text):
            if m.group(1) == "$":
                continue
            var = m.group(2) or m.group(3)
            if var not in CB_BUILTINS and var not in declared:
                fail(path, "'$%s' is no substitution (write $$%s for a "
                     "shell variable)" % (m.group(2) and "{%s}" % var or var,
                                          var))
    return declared


def metric_families():
    """{family: set(labels)} registered by the controller."""
    text = open(os.path.join(top, "src/controller/metrics.c")).read()
    init = text[text.index("void dl_metrics_controller_init"):]
    arrays = {m.group(1): set(re.findall(r'"([a-z_]+)"', m.group(2)))
              for m in re.finditer(r"static const char \*const (\w+)\[\] = "
                                   r"\{([^}]*)\}", init)}
    fams = {}
    for m in re.finditer(r'must_register\(\s*m,\s*DL_METRIC_(\w+),\s*'
                         r'"(driftless_\w+)",\s*(?:"[^"]*"\s*)+,\s*(\w+)',
                         init):
        labels = set(arrays.get(m.group(3), set()))
        if m.group(1) == "HISTOGRAM":
            for suffix in ("_bucket", "_sum", "_count"):
                fams[m.group(2) + suffix] = labels | (
                    {"le"} if suffix == "_bucket" else set())
        fams[m.group(2)] = labels
    return fams


FAMILIES = None


def check_promql(path, expr):
    """Every driftless_* metric in expr exists, with the labels matched."""
    n = 0
    for m in re.finditer(r"\b(driftless_[a-z_]+)(\{([^}]*)\})?", expr):
        name = m.group(1)
        n += 1
        if name not in FAMILIES:
            fail(path, "no metric %s (the controller exports %s)"
                 % (name, ", ".join(sorted(f for f in FAMILIES
                                           if not f.endswith(("_bucket",
                                                              "_sum",
                                                              "_count"))))))
            continue
        for label in re.findall(r"(\w+)\s*(?:=~|!~|!=|=)", m.group(3) or ""):
            if label not in FAMILIES[name]:
                fail(path, "%s has no label '%s' (it has: %s)"
                     % (name, label, ", ".join(sorted(FAMILIES[name])) or
                        "none"))
    return n


def check_rules(path, doc):
    n = 0
    for g in doc.get("groups") or []:
        for r in g.get("rules") or []:
            if "alert" not in r or "expr" not in r:
                fail(path, "a rule without alert/expr: %r" % r)
                continue
            if check_promql(path, str(r["expr"])) == 0:
                fail(path, "alert %s uses no driftless metric" % r["alert"])
            n += 1
    if n == 0:
        fail(path, "no alerting rules")


def check_policy(path, doc):
    conds = doc.get("conditions") or []
    if not conds or not doc.get("displayName"):
        fail(path, "an alert policy needs displayName and conditions")
    for c in conds:
        q = (c.get("conditionPrometheusQueryLanguage") or {}).get("query")
        if not q or check_promql(path, q) == 0:
            fail(path, "condition %r: no PromQL query on a driftless metric"
                 % c.get("displayName"))


def check_cloudrun(path, doc):
    containers = doc["spec"]["template"]["spec"]["containers"]
    args = [str(a) for a in containers[0].get("args", [])]
    if "run" not in args:
        return fail(path, "the container does not run 'driftless run'")
    if dl is None:
        return
    i = args.index("run")
    run_help = subprocess.run([dl, "run", "--help"], capture_output=True,
                              text=True).stdout
    main_help = subprocess.run([dl, "--help"], capture_output=True,
                               text=True).stdout
    for a, h in [(x, main_help) for x in args[:i]] + [
            (x, run_help) for x in args[i + 1:]]:
        if a.startswith("--") and not re.search(
                r"(^|[ \[])%s\b" % re.escape(a.split("=")[0]), h, re.M):
            fail(path, "driftless has no flag %s here" % a)
    port = containers[0].get("ports", [{}])[0].get("containerPort")
    listen = args[args.index("--listen") + 1] if "--listen" in args else ""
    if not listen.endswith(":%s" % port):
        fail(path, "--listen '%s' is not the container port %s"
             % (listen, port))


def main():
    global FAMILIES
    FAMILIES = metric_families()
    if "driftless_hygiene_violating" not in FAMILIES or len(FAMILIES) < 8:
        fail(os.path.join(top, "src/controller/metrics.c"),
             "could not read the metric families: %r" % FAMILIES)
    ops = os.path.join(top, "docs", "operations.md")
    if os.path.exists(ops):
        text = open(ops).read()
        # driftless_leases is the lease's Firestore collection.
        text = text.replace("driftless_leases", "")
        if check_promql(ops, text) < 5:
            fail(ops, "names fewer than 5 metrics")
    files = sorted(glob.glob(os.path.join(ex, "*.yml")) +
                   glob.glob(os.path.join(ex, "*.yaml")))
    if not files:
        fail(ex, "no YAML files")
    builds = {}
    triggers = []
    nwf = 0
    for path in files:
        try:
            docs = list(yaml.safe_load_all(open(path, encoding="utf-8")))
        except yaml.YAMLError as e:
            fail(path, "does not parse: %s" % str(e).replace("\n", " "))
            continue
        base = os.path.basename(path)
        if base.startswith("github-"):
            nwf += 1
            check_workflow(path, docs[0])
        elif base == "cloudbuild-triggers.yaml":
            triggers = [(path, d) for d in docs]
        elif base.startswith("cloudbuild"):
            builds[base] = check_cloudbuild(path, docs[0]) or set()
        elif base.startswith("prometheus-"):
            check_rules(path, docs[0])
        elif base.startswith("monitoring-"):
            check_policy(path, docs[0])
        elif base.startswith("cloudrun-"):
            check_cloudrun(path, docs[0])
    if nwf == 0:
        fail(ex, "no GitHub Actions workflow")
    if not triggers:
        fail(ex, "no cloudbuild-triggers.yaml")
    used = set()
    for path, t in triggers:
        name = t.get("name", "?")
        build = os.path.basename(t.get("filename") or
                                 (t.get("gitFileSource") or {}).get("path", ""))
        if build not in builds:
            fail(path, "trigger %s runs '%s', not a file in docs/examples/"
                 % (name, build))
            continue
        used.add(build)
        if ("github" in t) == ("sourceToBuild" in t):
            fail(path, "trigger %s: want exactly one of github/sourceToBuild"
                 % name)
        if "serviceAccount" not in t:
            fail(path, "trigger %s has no serviceAccount" % name)
        for k in (t.get("substitutions") or {}):
            if k not in builds[build]:
                fail(path, "trigger %s sets %s, which %s does not declare"
                     % (name, k, build))
    for b in sorted(set(builds) - used):
        fail(ex, "%s is run by no trigger" % b)
    for f in fails:
        print("FAIL " + f)
    print("%d files, %d workflows, %d build configs, %d triggers checked"
          % (len(files), nwf, len(builds), len(triggers)))
    return 1 if fails else 0


sys.exit(main())
