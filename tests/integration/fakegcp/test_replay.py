"""Replay the recorded-exchange fixtures (fixtures/<api>/*.json) against
fakegcp: each file is one real exchange re-expressed as our own fixture.

A fixture: {"description", "seed" (state; default: the sandbox project),
"before": [steps], "request": step, "status": N, "fields": [paths the real
response has], "absent": [paths it does not have], "equals": {path: value}}.
A step: {"method", "path", "body", "auth" (default true), "save":
{"var": "path"}, "wait": "var"  (POST {var}:wait until done),
"sleep_ms": N}. "{project}", "{number}" and saved "{var}"s are substituted
in paths and bodies. Paths look like a.b[0].c; "@type" is a key.
"""
import glob
import json
import os
import sys
import time

import fk


def subst(obj, env):
    if isinstance(obj, str):
        for k, v in env.items():
            obj = obj.replace("{" + k + "}", v)
        return obj
    if isinstance(obj, list):
        return [subst(x, env) for x in obj]
    if isinstance(obj, dict):
        return {subst(k, env): subst(v, env) for k, v in obj.items()}
    return obj


def run_step(c, step, env):
    step = subst(step, env)
    st, body, _ = c.request(step["method"], step["path"], step.get("body"),
                            auth=step.get("auth", True))
    for var, path in step.get("save", {}).items():
        found, val = fk.get_path(body, path)
        if found:
            env[var] = val
    if "wait" in step:
        st2, b2, _ = c.request("POST", "/v2/" + env[step["wait"]] + ":wait",
                               {"timeout": "10s"})
        if st2 != 200 or not b2.get("done"):
            raise RuntimeError("operation did not finish: %s %s" % (st2, b2))
    if step.get("sleep_ms"):
        time.sleep(step["sleep_ms"] / 1000.0)
    return st, body


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    files = sorted(glob.glob(os.path.join(here, "fixtures", "*", "*.json")))
    fk.check(len(files) >= 20, "at least 20 fixtures, found %d" % len(files))
    c = fk.Client()
    for path in files:
        name = os.path.relpath(path, os.path.join(here, "fixtures"))
        with open(path) as f:
            fx = json.load(f)
        env = {"project": fk.PROJECT, "number": fk.PROJECT_NUMBER}
        fk.seed(c, subst(fx.get("seed", fk.default_state()), env))
        try:
            for step in fx.get("before", []):
                st, body = run_step(c, step, env)
                if st >= 400:
                    raise RuntimeError("setup step %s %s: %s %s" %
                                       (step["method"], step["path"], st,
                                        body))
            st, body = run_step(c, fx["request"], env)
        except (RuntimeError, OSError) as e:
            fk.check(False, "%s: %s" % (name, e))
            continue
        fk.check(st == fx["status"], "%s: status %s, want %s (body %s)" %
                 (name, st, fx["status"], json.dumps(body)[:300]))
        for p in fx.get("fields", []):
            found, _ = fk.get_path(body, p)
            fk.check(found, "%s: response lacks %s" % (name, p))
        for p in fx.get("absent", []):
            found, _ = fk.get_path(body, p)
            fk.check(not found, "%s: response has %s" % (name, p))
        for p, want in fx.get("equals", {}).items():
            found, val = fk.get_path(body, p)
            want = subst(want, env)
            fk.check(found and val == want,
                     "%s: %s is %r, want %r" % (name, p, val, want))
    print("replayed %d fixtures" % len(files))
    fk.finish("test_replay")


main()
