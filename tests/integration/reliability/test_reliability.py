#!/usr/bin/env python3
"""test_reliability.py CASE - `driftless apply` on the first user's
scenario when things go wrong (issue 11: faults, concurrency, crashes).

Inside the sandbox fixture (tests/sandbox/with-env.sh). fakegcp gets the
first user's state (seed-first-user --skip-firestore); the emulator's
processor_heartbeats gets a scaled-down copy of the incident (RELIABILITY_
HEARTBEATS run-suffixed IDs, default 5,000; 30 fresh valid documents; 200
stale valid ones) unless RELIABILITY_FULL=1 seeds all 106,349. driftless
reaches the emulator through faultproxy.FaultProxy, a loopback proxy that
injects the same faults as fakegcp.

Cases:
  faults       10% 503, 5% 429 (half with RetryInfo), 2% resets, 1%
               truncated bodies, 5% of requests +200 ms, on fakegcp and on
               the Firestore path: apply converges within MAX_APPLIES (3)
               runs, then a plan without faults says No changes; no valid
               document was deleted; no IAM member outside the plan removed
  concurrency  20 foreign IAM writers add and remove their own members
               (getIamPolicy, setIamPolicy with the etag, retried on 409)
               during the apply: their final members are all there, ours
               applied
  transient    exactly one build create or service PATCH fails (503, a
               lost answer after it landed, an etag race): one apply
               still converges, one build, one new revision
  crashes      SIGKILL apply at 10 points (IAM write, build wait, service
               patch, batch deletes, random times), rerun it: the end state
               equals an uninterrupted run's, one build per commit and
               Dockerfile, the killed run's lease does not block the rerun

Environment: the sandbox env, DL_BINARY_DIR, DL_SOURCE_DIR, SEED_BIN
(seed-first-user), SEED_FIRESTORE (plan-hygiene-seed-firestore);
RELIABILITY_SEED (random seed; printed), DL_SOAK_ITERATIONS (crashes: kill
points, default 10; faults: fault seeds, default 1; concurrency: rounds,
default 1), RELIABILITY_FULL=1 (the whole 106,349-document incident).
fakegcp's state and faults are put back and the emulator's database
cleared at the end.
"""
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from faultproxy import FaultProxy  # noqa: E402

BIN = os.path.join(os.environ["DL_BINARY_DIR"], "driftless")
TOP = os.environ["DL_SOURCE_DIR"]
FAKE = os.environ["FAKEGCP_URL"]
API = os.environ.get("DRIFTLESS_API_ENDPOINT", FAKE)
EMU = os.environ["FIRESTORE_EMULATOR_HOST"]
P = "nba-props-platform"
REGION = "us-west2"
COLL = "processor_heartbeats"
DB = "projects/%s/databases/(default)" % P
WRITER_SA = "serviceAccount:prediction-worker@%s.iam.gserviceaccount.com" % P
MAX_APPLIES = int(os.environ.get("RELIABILITY_MAX_APPLIES", "3"))
SOAK = int(os.environ.get("DL_SOAK_ITERATIONS", "0"))
FULL = os.environ.get("RELIABILITY_FULL") == "1"
N_BAD = int(os.environ.get("RELIABILITY_HEARTBEATS", "5000"))
DAY = 86400
VALID_ID = re.compile(r"[a-z][a-z0-9]*(_[a-z][a-z0-9]*)*")

failures = []


def log(msg):
    print(msg, flush=True)


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL: " + what, file=sys.stderr, flush=True)
    return cond


def http(method, url, body=None, headers=None, timeout=60):
    data = json.dumps(body).encode() if body is not None else None
    h = {"Content-Type": "application/json"}
    h.update(headers or {})
    req = urllib.request.Request(url, data=data, method=method, headers=h)
    with urllib.request.urlopen(req, timeout=timeout) as r:
        text = r.read().decode()
        return json.loads(text) if text else None


def admin(method, path, body=None):
    return http(method, FAKE + "/_fake/v1/" + path, body)


# ---- seeding ----------------------------------------------------------

class Scenario:
    """The sample monorepo and the seeded state, re-seedable."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.repo = os.path.join(tmp, "monorepo")
        subprocess.run([os.path.join(TOP, "tests/sample/make-monorepo.sh"),
                        self.repo], check=True, stdout=subprocess.DEVNULL)
        rev = lambda r: subprocess.run(  # noqa: E731
            ["git", "-C", self.repo, "rev-parse", r], check=True,
            capture_output=True, text=True).stdout.strip()
        self.head = rev("HEAD^{commit}")
        self.old = rev("heartbeat-fix^{commit}~1")
        env = dict(os.environ, DRIFTLESS_ACCESS_TOKEN="test-token")
        subprocess.run([os.environ["SEED_BIN"], "--head", self.head, "--old",
                        self.old, "--skip-firestore"], check=True, env=env,
                       stdout=subprocess.DEVNULL)
        self.fake_state = admin("GET", "state")
        self.lines = heartbeat_lines()

    def reseed(self):
        admin("PUT", "faults", {})
        admin("PUT", "state", self.fake_state)
        admin("DELETE", "requests")
        clear_firestore()
        env = dict(os.environ, DRIFTLESS_ACCESS_TOKEN="test-token")
        if FULL:
            subprocess.run([os.environ["SEED_BIN"], "--head", self.head,
                            "--old", self.old, "--skip-fakegcp"], check=True,
                           env=env, stdout=subprocess.DEVNULL)
            return
        p = subprocess.run([os.environ["SEED_FIRESTORE"], P, COLL,
                            "last_heartbeat"], input="".join(self.lines),
                           capture_output=True, text=True, env=env,
                           timeout=300)
        if p.returncode != 0:
            raise RuntimeError("seeding Firestore failed: " + p.stderr)


def clear_firestore():
    http("DELETE", "http://%s/emulator/v1/%s/documents" % (EMU, DB))


def heartbeat_lines():
    """The incident in small: N_BAD run-suffixed IDs (0 to 30 days old),
    one fresh document per processor (30), 200 retired processors' stale
    documents with valid IDs. seed_firestore lines "ID AGE_SECONDS"."""
    procs = ["nba_phase%d_%s" % (p, n) for p in (2, 3, 4) for n in (
        "odds", "props", "games", "players", "teams", "injuries", "lines",
        "boxscores", "schedule", "rosters")]
    base = time.mktime((2026, 1, 1, 0, 0, 0, 0, 0, 0))
    out = []
    for i in range(N_BAD):
        t = time.gmtime(base + 61 * i)
        out.append("%s_%s %d\n" % (procs[i % 30], time.strftime(
            "%Y%m%d_%H%M%S", t), (i % 30) * DAY + 3600))
    out += ["%s 60\n" % p for p in procs]
    out += ["retired_%s_backfill %d\n" % ("abcdefghijklmnopqrstuvwxyz"[i % 26]
                                         + "x" * (i // 26), (8 + i % 30) * DAY)
            for i in range(200)]
    return out


# ---- observing ---------------------------------------------------------

def doc_ids(collection=COLL):
    """Every document ID in collection (straight from the emulator)."""
    q = {"structuredQuery": {"from": [{"collectionId": collection}],
                             "select": {"fields": [{"fieldPath": "__name__"}]}}}
    rows = http("POST", "http://%s/v1/%s/documents:runQuery" % (EMU, DB), q,
                {"Authorization": "Bearer owner"}, timeout=300)
    return {r["document"]["name"].rsplit("/", 1)[1] for r in rows
            if "document" in r}


def valid_ids():
    """Documents that satisfy the policy: a valid ID, fresh."""
    q = {"structuredQuery": {"from": [{"collectionId": COLL}]}}
    rows = http("POST", "http://%s/v1/%s/documents:runQuery" % (EMU, DB), q,
                {"Authorization": "Bearer owner"}, timeout=300)
    now = time.time()
    out = set()
    for r in rows:
        d = r.get("document")
        if not d:
            continue
        i = d["name"].rsplit("/", 1)[1]
        ts = d.get("fields", {}).get("last_heartbeat", {}).get(
            "timestampValue", "")
        if not VALID_ID.fullmatch(i) or not ts:
            continue
        age = now - time.mktime(time.strptime(ts[:19], "%Y-%m-%dT%H:%M:%S")) \
            + time.mktime(time.gmtime(0))
        if age < 7 * DAY - 3600:
            out.add(i)
    return out


def lease_holder():
    try:
        d = http("GET", "http://%s/v1/%s/documents/driftless_leases/%s" %
                 (EMU, DB, P), headers={"Authorization": "Bearer owner"})
        return d["fields"]["holder"]["stringValue"]
    except urllib.error.HTTPError as e:
        if e.code == 404:
            return None
        raise


def iam_members(state):
    pol = state["iam"].get("projects/" + P, {})
    return {(b["role"], m, json.dumps(b.get("condition"), sort_keys=True))
            for b in pol.get("bindings", []) for m in b.get("members", [])}


def strip_digest(image):
    return image.split("@", 1)[0]


def end_state(state):
    """What an apply must leave, comparable between runs: each service's
    serving revision (image without digest, driftless annotations, ready),
    the IAM members, the heartbeat IDs, tables, buckets; plus the builds per
    (service, commit, Dockerfile) and whether every served digest is a
    build's."""
    revs = {r["name"]: r for r in state["run"].get("revisions", [])}
    services = {}
    for s in state["run"]["services"]:
        name = s["name"].rsplit("/", 1)[1]
        rev = revs.get(s.get("latestReadyRevision", ""), {})
        cont = rev.get("containers") or [{}]
        ann = {k: v for k, v in rev.get("annotations", {}).items()
               if k.startswith("driftless.dev/")}
        services[name] = {
            "image": strip_digest(cont[0].get("image", "")),
            "annotations": ann,
            "ready": s.get("latestReadyRevision") ==
            s.get("latestCreatedRevision"),
        }
    builds = {}
    digests = set()
    for b in state.get("builds", []):
        tags = b.get("tags", [])
        key = (b.get("substitutions", {}).get("_DL_SERVICE", ""),
               next((t for t in tags if t.startswith("commit-")), ""),
               b.get("substitutions", {}).get("_DL_DOCKERFILE", ""))
        builds[key] = builds.get(key, 0) + 1
        for im in b.get("results", {}).get("images", []):
            digests.add(im.get("digest"))
    return {
        "services": services,
        "iam": sorted(iam_members(state)),
        "docs": sorted(doc_ids()),
        "tables": sorted(t["tableReference"]["datasetId"] + "." +
                         t["tableReference"]["tableId"]
                         for t in state["bigquery"].get("tables", [])),
        "buckets": sorted(b["name"] for b in state["storage"].get(
            "buckets", [])),
        "builds": sorted("%s %s %s=%d" % (k + (n,)) for k, n in
                         builds.items()),
    }, digests


def served_digests(state):
    revs = {r["name"]: r for r in state["run"].get("revisions", [])}
    out = {}
    for s in state["run"]["services"]:
        rev = revs.get(s.get("latestReadyRevision", ""), {})
        image = (rev.get("containers") or [{}])[0].get("image", "")
        if "@" in image:
            out[s["name"].rsplit("/", 1)[1]] = image.split("@", 1)[1]
    return out


def diff(a, b):
    out = []
    for k in a:
        if a[k] != b.get(k):
            if isinstance(a[k], list):
                sa, sb = set(map(str, a[k])), set(map(str, b.get(k) or []))
                out.append("%s: only in reference %s; only here %s" % (
                    k, sorted(sa - sb)[:5], sorted(sb - sa)[:5]))
            else:
                out.append("%s: reference %s; here %s" % (k, a[k], b.get(k)))
    return out


# ---- running driftless -------------------------------------------------

def dl_env(proxy):
    return dict(os.environ, DRIFTLESS_ACCESS_TOKEN="test-token", NO_COLOR="1",
                FIRESTORE_EMULATOR_HOST=proxy.host)


def run(args, proxy, timeout=600):
    t0 = time.monotonic()
    p = subprocess.run([BIN] + args, capture_output=True, text=True,
                       env=dl_env(proxy), timeout=timeout,
                       stdin=subprocess.DEVNULL)
    return p.returncode, p.stdout, p.stderr, time.monotonic() - t0


def show(what, rc, out, err, secs):
    log("$ driftless %s -> exit %d in %.1f s" % (what, rc, secs))
    tail = (out + err).strip().splitlines()
    for line in tail[-25:]:
        log("    " + line)


def apply_cmd(sc):
    return ["--log-level", "info", "--log-format", "text", "apply",
            "--source", sc.repo, "--auto-approve"]


def plan_no_changes(sc, proxy):
    rc, out, err, secs = run(["plan", "--source", sc.repo,
                              "--detailed-exitcode"], proxy)
    ok = check(rc == 0 and "No changes." in out,
               "plan after apply: exit %d, want 0 and 'No changes.'" % rc)
    if not ok:
        show("plan", rc, out, err, secs)
    return ok


# ---- faults ------------------------------------------------------------

FAULTS = {"503": 0.10, "429": 0.05, "retryInfoSeconds": 1,
          "retryInfoRate": 0.5, "resetRate": 0.02, "truncateRate": 0.01,
          "spikeRate": 0.05, "spikeMs": 200}


def injected(counts):
    out = {}
    for c in counts:
        if c["status"] in (0, 429, 503):
            out[c["status"]] = out.get(c["status"], 0) + c["count"]
    return out


def planned_iam_additions(sc, proxy):
    rc, out, err, _ = run(["plan", "--source", sc.repo, "--format", "json"],
                          proxy)
    check(rc in (0, 2), "plan before the faults: exit %d: %s" % (rc, err))
    adds = set()
    for r in json.loads(out)["resources"]:
        if r["kind"] not in ("IAMPolicyMember", "IAMPolicyBinding"):
            continue
        for ch in r.get("changes", []):
            before = ch.get("before") or []
            after = ch.get("after") or []
            if isinstance(after, list):
                adds |= {m for m in after if m not in before}
            elif isinstance(after, str) and after != before:
                adds.add(after)
    return adds


def rounds(name, sc, seed):
    """(round index, its seed) for each of max(1, DL_SOAK_ITERATIONS)
    rounds, the scenario re-seeded before each."""
    n = max(1, SOAK)
    for k in range(n):
        log("== %s round %d/%d, seed %d" % (name, k + 1, n, seed + k))
        sc.reseed()
        yield k, seed + k


def case_faults(sc, proxy, seed):
    for k, s in rounds("faults", sc, seed):
        adds = planned_iam_additions(sc, proxy)
        check(WRITER_SA in adds, "the plan adds %s: %s" % (WRITER_SA, adds))
        before = iam_members(admin("GET", "state"))
        valid = valid_ids()
        check(len(valid) == 30, "30 valid fresh heartbeats seeded: %d"
              % len(valid))
        admin("PUT", "faults", dict(FAULTS, seed=s))
        proxy.set_faults(dict(FAULTS, seed=s))
        proxy.counts.clear()
        proxy.injected.clear()
        admin("DELETE", "requests")
        applies = 0
        while applies < MAX_APPLIES:
            applies += 1
            rc, out, err, secs = run(apply_cmd(sc), proxy)
            show("apply (run %d, faults on)" % applies, rc, out, err, secs)
            check(rc in (0, 1), "apply under faults: exit %d (crash?)" % rc)
            if rc == 0:
                break
        counts = admin("GET", "requests")["counts"]
        admin("PUT", "faults", {})
        proxy.set_faults({})
        log("fakegcp injected (status: count) %s over %d requests; "
            "Firestore proxy %s over %s" % (injected(counts), sum(
                c["count"] for c in counts), proxy.injected, proxy.counts))
        check(rc == 0, "apply did not converge within %d runs (seed %d)"
              % (MAX_APPLIES, s))
        plan_no_changes(sc, proxy)
        left = valid_ids()
        check(valid <= left, "valid heartbeats deleted: %s"
              % sorted(valid - left)[:10])
        after = iam_members(admin("GET", "state"))
        check(before <= after, "IAM members removed: %s"
              % sorted(before - after))
        extra = {m for (_, m, _) in after - before}
        check(extra <= adds, "IAM members added outside the plan: %s"
              % sorted(extra - adds))
        check(lease_holder() is None, "the lease was left behind")
        log("faults round %d: converged in %d apply run(s)" % (k + 1,
                                                                applies))


# ---- transient failures of single writes -------------------------------

def revisions_of(state, svc):
    return sorted(r["name"] for r in state["run"].get("revisions", [])
                  if "/services/%s/" % svc in r["name"])


def case_transient(sc, proxy, seed):
    """Deterministic: exactly one write of each kind fails (fakegcp's
    method + limit), some after they landed; one apply still converges,
    with one build and one new revision."""
    del seed
    phase2 = "nba-phase2-raw-processors"
    sc.reseed()
    rc, out, err, secs = run(apply_cmd(sc), proxy)
    check(rc == 0, "reference apply: exit %d" % rc)
    ref_state = admin("GET", "state")
    ref, _ = end_state(ref_state)
    ref_revs = len(revisions_of(ref_state, phase2))
    cases = [
        ("the build create's answer is lost (the build exists)",
         {"truncateRate": 1.0, "method": "POST", "pathRegex": "/builds$",
          "limit": 1}, "looking for the build again"),
        # (A 503 on either, nothing written, is the simpler case of
        # these; the faults case meets it at random.)
        ("the PATCH's answer is lost (the update landed)",
         {"truncateRate": 1.0, "method": "PATCH", "limit": 1},
         "reading the service again"),
        ("the PATCH loses an etag race (409)",
         {"etagRaceRate": 1.0, "pathRegex": "/services/", "limit": 1},
         "reading the service again"),
    ]
    for what, faults, note in cases:
        sc.reseed()
        admin("PUT", "faults", faults)
        rc, out, err, secs = run(apply_cmd(sc), proxy)
        admin("PUT", "faults", {})
        ok = check(rc == 0, "%s: one apply: exit %d" % (what, rc))
        ok &= check(note in err, "%s: the log does not say %r" % (what, note))
        state = admin("GET", "state")
        got, _ = end_state(state)
        d = diff(ref, got)
        ok &= check(not d, "%s: end state differs: %s" % (what, "; ".join(d)))
        n = len(revisions_of(state, phase2))
        ok &= check(n == ref_revs, "%s: %d revisions of %s, an uninterrupted "
                    "run makes %d" % (what, n, phase2, ref_revs))
        if not ok:
            show("apply (%s)" % what, rc, out, err, secs)
        log("%s: %s" % ("ok  " if ok else "FAIL", what))


# ---- concurrency -------------------------------------------------------

class Writer(threading.Thread):
    """A foreign IAM writer: read-modify-write of the project's policy
    through fakegcp, adding or removing one of its own members each time,
    retried on 409 (and on transient failures); knows its final members."""

    def __init__(self, idx, rng, stop):
        super().__init__(daemon=True)
        self.idx, self.rng, self.stop = idx, rng, stop
        self.role = ["roles/viewer", "roles/browser",
                     "roles/logging.viewer"][idx % 3]
        self.pool = ["user:w%02d-%d@example.com" % (idx, k) for k in range(4)]
        self.mine = set()
        self.writes = self.conflicts = self.errors = 0

    def rmw(self, member, add):
        auth = {"Authorization": "Bearer test-token"}
        url = API + "/v1/projects/%s:" % P
        while True:
            try:
                pol = http("POST", url + "getIamPolicy",
                           {"options": {"requestedPolicyVersion": 3}}, auth)
                binds = pol.setdefault("bindings", [])
                b = next((b for b in binds if b["role"] == self.role and
                          not b.get("condition")), None)
                if b is None:
                    b = {"role": self.role, "members": []}
                    binds.append(b)
                ms = set(b["members"])
                ms = ms | {member} if add else ms - {member}
                b["members"] = sorted(ms)
                if not b["members"]:
                    binds.remove(b)
                http("POST", url + "setIamPolicy", {"policy": pol}, auth)
                self.writes += 1
                return
            except urllib.error.HTTPError as e:
                if e.code == 409:
                    self.conflicts += 1
                else:
                    self.errors += 1
            except OSError:
                self.errors += 1
            time.sleep(self.rng.uniform(0.005, 0.05))

    def run(self):
        while not self.stop.is_set():
            m = self.rng.choice(self.pool)
            add = m not in self.mine or self.rng.random() < 0.3
            self.rmw(m, add)
            if add:
                self.mine.add(m)
            else:
                self.mine.discard(m)
            time.sleep(self.rng.uniform(0.02, 0.2))


def case_concurrency(sc, proxy, seed):
    for _, s in rounds("concurrency", sc, seed):
        before = iam_members(admin("GET", "state"))
        stop = threading.Event()
        writers = [Writer(i, random.Random(s * 100 + i), stop)
                   for i in range(20)]
        for w in writers:
            w.start()
        time.sleep(0.5)
        rc, out, err, secs = run(apply_cmd(sc), proxy)
        show("apply (20 foreign writers)", rc, out, err, secs)
        time.sleep(0.5)
        stop.set()
        for w in writers:
            w.join(60)
        check(rc == 0, "apply with foreign writers: exit %d" % rc)
        sets = {c["status"]: c["count"] for c in admin("GET", "requests")[
            "counts"] if c["route"].endswith(":setIamPolicy")}
        log("setIamPolicy answers %s; driftless's own lost %d race(s) "
            "(409) and redid the read-modify-write" % (
                sets, err.count("concurrent policy change (409)")))
        after = iam_members(admin("GET", "state"))
        log("writers: %d writes, %d conflicts (409), %d other errors" % (
            sum(w.writes for w in writers), sum(w.conflicts for w in writers),
            sum(w.errors for w in writers)))
        check(any(r == "roles/monitoring.metricWriter" and m == WRITER_SA
                  for (r, m, _) in after), "ours not applied: %s" % WRITER_SA)
        for w in writers:
            have = {m for (r, m, _) in after if r == w.role and m in w.pool}
            check(have == w.mine, "writer %d: final members %s, policy has "
                  "%s" % (w.idx, sorted(w.mine), sorted(have)))
        foreign = {(r, m, c) for (r, m, c) in before}
        check(foreign <= after, "members of the seed removed: %s"
              % sorted(foreign - after))
        check(sum(w.writes for w in writers) >= 40,
              "the writers barely wrote: %d" % sum(w.writes for w in writers))
        plan_no_changes(sc, proxy)


# ---- crashes -----------------------------------------------------------

def recent():
    return admin("GET", "requests")["recent"]


def seen(method, pattern, n=1):
    rx = re.compile(pattern)
    return lambda: sum(1 for r in recent() if r["method"] == method and
                       rx.search(r["path"])) >= n


# Each kind: fakegcp faults that widen the window (latency on the
# requests of that moment), a trigger, the kill delay after it.
KINDS = {
    # The apply's getIamPolicy is the second (the plan's is the first):
    # 400 ms each for its read, the setIamPolicy and the confirming read.
    "iam-write": ({"latencyMs": 400, "pathRegex": "IamPolicy"},
                  lambda rng: seen("POST", r":getIamPolicy$", 2),
                  (0.0, 1.2)),
    # Builds take fakegcp's --op-delay-ms (300 ms): apply is polling.
    "build-wait": ({}, lambda rng: seen("POST", r"/builds$"), (0.0, 0.3)),
    # The service phase's services list is the third (plan, build phase):
    # 300 ms each for it, the PATCH, the operation wait, the read-back.
    "service-patch": ({"latencyMs": 300, "pathRegex": "/services"},
                      lambda rng: seen("GET", r"/services$", 3),
                      (0.0, 1.2)),
    "batch-deletes": ({}, None, (0.0, 0.05)),
    "random-time": ({}, None, None),
}
ORDER = ["iam-write", "build-wait", "service-patch", "batch-deletes",
         "random-time"]


def killed_apply(sc, proxy, kind, rng, ref_secs):
    """Start apply, SIGKILL it at the kind's point; returns a description
    of where it died."""
    faults, trig, delay = KINDS[kind]
    admin("PUT", "faults", faults)
    trigger = trig(rng) if trig else None
    if kind == "batch-deletes":
        want = rng.randint(1, max(1, min(8, (N_BAD + 200) // 500)))
        base = proxy.counts.get("batchWrite", 0)
        trigger = lambda: proxy.counts.get("batchWrite", 0) - base >= want  # noqa: E731
    at = rng.uniform(0.3, 0.9 * ref_secs) if kind == "random-time" else None
    p = subprocess.Popen([BIN] + apply_cmd(sc), env=dl_env(proxy),
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         stdin=subprocess.DEVNULL, start_new_session=True)
    t0 = time.monotonic()
    fired = None
    wait = 0.0
    while p.poll() is None and time.monotonic() - t0 < 120:
        now = time.monotonic() - t0
        if at is not None:
            if now >= at:
                break
        elif fired is None and trigger():
            fired = now
            wait = rng.uniform(*delay)
        if fired is not None and now >= fired + wait:
            break
        time.sleep(0.01)
    secs = time.monotonic() - t0
    finished = p.poll() is not None
    if not finished:
        os.kill(p.pid, signal.SIGKILL)
    out = p.communicate()[0].decode(errors="replace")
    admin("PUT", "faults", {})
    last = [ln for ln in out.splitlines() if ln.strip()][-1:] or [""]
    return ("%s at %.2f s%s; last line: %s" % (
        kind, secs, " (finished before the kill)" if finished else "",
        last[0][:160]), finished)


def case_crashes(sc, proxy, seed):
    rng = random.Random(seed)
    n = SOAK or 10
    # The reference: an uninterrupted run.
    sc.reseed()
    rc, out, err, ref_secs = run(apply_cmd(sc), proxy)
    show("apply (uninterrupted reference)", rc, out, err, ref_secs)
    check(rc == 0, "reference apply: exit %d" % rc)
    plan_no_changes(sc, proxy)
    ref, _ = end_state(admin("GET", "state"))
    log("reference: %d heartbeat documents left, builds %s" % (
        len(ref["docs"]), ref["builds"]))
    check(all(s["ready"] for s in ref["services"].values()),
          "reference: a service is not serving its latest revision")
    leftover = killed = 0
    for i in range(n):
        kind = ORDER[i % len(ORDER)]
        sc.reseed()
        where, finished = killed_apply(sc, proxy, kind, rng, ref_secs)
        holder = lease_holder()
        leftover += holder is not None and not finished
        log("kill %d/%d: %s; lease left: %s" % (i + 1, n, where, holder))
        rc, out, err, secs = run(apply_cmd(sc), proxy)
        if rc != 0 or secs > 60:
            show("apply (rerun)", rc, out, err, secs)
        check(rc == 0, "kill %d (%s): rerun exit %d" % (i + 1, kind, rc))
        check(secs < 60, "kill %d: the rerun took %.0f s (blocked by the "
              "lease?)" % (i + 1, secs))
        state = admin("GET", "state")
        got, digests = end_state(state)
        d = diff(ref, got)
        check(not d, "kill %d (%s): end state differs: %s" % (i + 1, kind,
                                                              "; ".join(d)))
        dup = [b for b in got["builds"] if not b.endswith("=1")]
        check(not dup, "kill %d (%s): duplicate builds %s" % (i + 1, kind,
                                                             dup))
        built = served_digests(state).get("nba-phase2-raw-processors")
        check(built in digests, "kill %d: phase 2 serves %s, not the "
              "build's digest %s" % (i + 1, built, sorted(digests)))
        # A rerun with nothing left to change takes no lease, so a killed
        # run's lease stays until it expires (a rerun on this machine
        # takes it over at once, another applier waits for the expiry).
        after = lease_holder()
        check(after is None or (after == holder and "No changes." in out),
              "kill %d: the lease (%s) was left after the rerun" % (i + 1,
                                                                   after))
        killed += not finished
    log("%d of %d killed runs left their lease behind; every rerun took "
        "it over" % (leftover, n))
    check(killed >= n // 2, "only %d of %d runs were killed before they "
          "finished" % (killed, n))
    check(leftover >= 1 or n < 3, "no kill left a lease: the takeover of a "
          "dead holder's lease was not exercised")


CASES = {"faults": case_faults, "concurrency": case_concurrency,
         "crashes": case_crashes, "transient": case_transient}


def main():
    if len(sys.argv) != 2 or sys.argv[1] not in CASES:
        print("usage: test_reliability.py %s" % "|".join(CASES),
              file=sys.stderr)
        return 2
    seed = int(os.environ.get("RELIABILITY_SEED") or
               random.SystemRandom().randrange(1, 1 << 30))
    log("RELIABILITY_SEED=%d (rerun with it to reproduce)" % seed)
    initial = admin("GET", "state")
    proxy = FaultProxy(EMU, seed).start()
    t0 = time.monotonic()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            os.environ["XDG_CACHE_HOME"] = os.path.join(tmp, "cache")
            sc = Scenario(tmp)
            CASES[sys.argv[1]](sc, proxy, seed)
    finally:
        proxy.stop()
        admin("PUT", "faults", {})
        admin("PUT", "state", initial)
        admin("DELETE", "requests")
        clear_firestore()
    log("%s: %.0f s" % (sys.argv[1], time.monotonic() - t0))
    if failures:
        print("%d check(s) failed (RELIABILITY_SEED=%d)" % (
            len(failures), seed), file=sys.stderr)
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
