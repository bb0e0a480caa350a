"""Check the first user's seeded state through the real API paths.

Usage: check_seed.py MONOREPO  (environment: the sandbox's env file)
"""
import json
import os
import re
import subprocess
import sys
import time
import urllib.request

repo = sys.argv[1]
fake = os.environ["FAKEGCP_URL"]
fs = "http://" + os.environ["FIRESTORE_EMULATOR_HOST"]
P = "nba-props-platform"
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def call(url, body=None, token="test-token"):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data)
    req.add_header("Authorization", "Bearer " + token)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=120) as r:
        return json.loads(r.read() or b"{}")


def git(*args):
    return subprocess.run(["git", "-C", repo] + list(args), check=True,
                          capture_output=True, text=True).stdout.strip()


def yaml_scalar(text, key):
    """The value of the one `key:` line in a desired-state file."""
    m = re.search(r"^\s*%s:\s*(.+?)\s*$" % re.escape(key), text, re.M)
    return m.group(1).strip('"') if m else None


head = git("rev-parse", "HEAD")
fix = git("rev-parse", "heartbeat-fix^{commit}")
now = time.time()

# ---- Cloud Run ----
svcs = call(f"{fake}/v2/projects/{P}/locations/us-west2/services")["services"]
byname = {s["name"].rsplit("/", 1)[1]: s for s in svcs}
managed = [n for n, s in byname.items()
           if s.get("labels", {}).get("managed-by") == "driftless"]
ds_dir = os.path.join(repo, "desired-state", "services")
declared = sorted(f[:-5] for f in os.listdir(ds_dir) if f.endswith(".yaml"))
check(sorted(managed) == declared,
      f"managed services {sorted(managed)} are the declared {declared}")
check("nba-scrapers" in byname and "nba-scrapers" not in managed,
      "one unmanaged service (no managed-by label)")
for name in declared:
    s = byname.get(name)
    if not s:
        continue
    text = open(os.path.join(ds_dir, name + ".yaml")).read()
    rev = call(f"{fake}/v2/{s['latestReadyRevision']}")
    ann = rev.get("annotations", {})
    commit = ann.get("driftless.dev/commit", "")
    if name == "nba-phase2-raw-processors":
        lacks = subprocess.run(["git", "-C", repo, "merge-base",
                                "--is-ancestor", fix, commit]).returncode != 0
        check(lacks and len(commit) == 40,
              f"{name}: serving revision built from {commit[:7]}, which "
              "lacks heartbeat-fix")
    else:
        check(commit == head, f"{name}: serving revision built from HEAD")
    check(ann.get("driftless.dev/dockerfile") ==
          yaml_scalar(text, "dockerfile"), f"{name}: dockerfile annotation")
    t = s["template"]
    c = t["containers"][0]
    lim = c["resources"]["limits"]
    check(lim.get("cpu") == yaml_scalar(text, "cpu") and
          lim.get("memory") == yaml_scalar(text, "memory"),
          f"{name}: cpu and memory {lim}")
    sc = t.get("scaling", {})
    check(str(sc.get("minInstanceCount", 0)) ==
          yaml_scalar(text, "minInstances") and
          str(sc.get("maxInstanceCount")) == yaml_scalar(text, "maxInstances"),
          f"{name}: scaling {sc}")
    check(str(t.get("maxInstanceRequestConcurrency")) ==
          yaml_scalar(text, "concurrency"), f"{name}: concurrency")
    tm = yaml_scalar(text, "timeout")
    secs = int(tm[:-1]) * {"s": 1, "m": 60, "h": 3600}[tm[-1]]
    check(t.get("timeout") == f"{secs}s", f"{name}: timeout {t.get('timeout')}")
    check(t.get("serviceAccount") == yaml_scalar(text, "serviceAccount"),
          f"{name}: service account")
    labels = dict(s.get("labels", {}))
    labels.pop("managed-by", None)
    check(labels == {"team": yaml_scalar(text, "team"),
                     "phase": yaml_scalar(text, "phase")},
          f"{name}: labels {labels}")
    env = {e["name"]: e.get("value", e.get("valueSource")) for e in
           c.get("env", [])}
    want = {}
    for k in ("GCP_PROJECT", "PROCESSOR_PHASE", "PREDICTION_DATASET"):
        if yaml_scalar(text, k):
            want[k] = yaml_scalar(text, k)
    if "SLACK_WEBHOOK_URL" in text:
        want["SLACK_WEBHOOK_URL"] = {"secretKeyRef": {
            "secret": "slack-webhook-url", "version": "latest"}}
    check(env == want, f"{name}: env {sorted(env)}")
    tr = s.get("traffic", [])
    check(len(tr) == 1 and tr[0].get("percent") == 100 and
          tr[0].get("type") == "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST",
          f"{name}: traffic to latest")

# ---- IAM ----
pol = call(f"{fake}/v1/projects/{P}:getIamPolicy", {})
roles = {b["role"]: b["members"] for b in pol.get("bindings", [])}
worker = f"serviceAccount:prediction-worker@{P}.iam.gserviceaccount.com"
check(worker not in roles.get("roles/monitoring.metricWriter", []) and
      len(roles.get("roles/monitoring.metricWriter", [])) > 0,
      "metricWriter is bound, but not to the prediction worker")
check(len(roles) >= 8 and worker in roles.get("roles/logging.logWriter", []),
      f"{len(roles)} other realistic bindings")


# ---- BigQuery ----
def tables(ds):
    return call(f"{fake}/bigquery/v2/projects/{P}/datasets/{ds}/tables"
                "?maxResults=1000").get("tables", [])


def old(t, days):
    return now - int(t["creationTime"]) / 1000 > days * 86400


staging = [t for t in tables("nba_predictions")
           if re.fullmatch(r"_?staging_.*", t["tableReference"]["tableId"])]
check(sum(old(t, 7) for t in staging) == 50,
      "50 staging tables in nba_predictions older than 7 days")
check(len(staging) > 50, "and some recent staging tables")
raw = tables("nba_raw")
temp = [t for t in raw
        if re.fullmatch(r"(tmp|temp)_.*", t["tableReference"]["tableId"])]
check(len(temp) == 3 and all(old(t, 2) for t in temp) and len(raw) > 3,
      "3 temp tables older than 2 days in nba_raw, among others")

# ---- Storage ----
buckets = call(f"{fake}/storage/v1/b?project={P}").get("items", [])
empty = []
for b in buckets:
    if re.fullmatch(r"nba-.*", b["name"]):
        o = call(f"{fake}/storage/v1/b/{b['name']}/o?maxResults=1"
                 "&versions=true")
        if not o.get("items"):
            empty.append(b["name"])
check(len(empty) == 5, f"5 empty nba-* buckets: {empty}")
check(len(buckets) > 6, f"{len(buckets)} buckets in all")

# ---- Firestore ----
q = {"structuredQuery": {"from": [{"collectionId": "processor_heartbeats"}],
                         "select": {"fields": [
                             {"fieldPath": "last_heartbeat"}]}}}
docs = call(f"{fs}/v1/projects/{P}/databases/(default)/documents:runQuery",
            q, token="owner")
valid = re.compile(r"[a-z][a-z0-9]*(_[a-z][a-z0-9]*)*")
total = bad = suffixed = fresh = stale = 0
fresh_names = set()
for e in docs:
    d = e.get("document")
    if not d:
        continue
    total += 1
    doc_id = d["name"].rsplit("/", 1)[1]
    if not valid.fullmatch(doc_id):
        bad += 1
        suffixed += re.fullmatch(r"[a-z0-9_]+_\d{8}_\d{6}", doc_id) is not None
        continue
    ts = d["fields"]["last_heartbeat"]["timestampValue"]
    t = time.mktime(time.strptime(ts[:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone
    if now - t < 3600:
        fresh += 1
        fresh_names.add(doc_id)
    elif now - t > 7 * 86400:
        stale += 1
check(total == 106349, f"{total} heartbeat documents (want 106349)")
check(bad == 105623 and suffixed == bad,
      f"{bad} invalid IDs, {suffixed} run-suffixed (want 105623)")
check(fresh == 30 and len(fresh_names) == 30,
      f"{fresh} fresh documents, one per processor (want 30)")
check(stale == 696, f"{stale} stale documents (want 696)")

if failures:
    print(f"{len(failures)} check(s) failed", file=sys.stderr)
    sys.exit(1)
print("first-user seed: all checks passed")
