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
Usage: check-ci-examples.py SOURCE_DIR
"""
import glob
import os
import re
import sys

import yaml

top = sys.argv[1]
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


def main():
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
