#!/usr/bin/env python3
"""Integration test of the controller's HTTP server (ctl_server).

Starts ctl_server on 127.0.0.1 (port 0), fetches every route, parses
/metrics with a strict text-format parser (promtext.py) and, when a Python
with prometheus_client is installed (Debian: python3-prometheus-client),
with the Prometheus client library's own parser too; checks the status JSON
and page against the plan; sends webhooks with good, bad and missing
signatures; and stops the server with SIGTERM, which must exit 0.

With --chromium the status page is also loaded in headless Chromium and
the rendered DOM checked for every resource; exits 77 (skipped) when no
chromium is installed.

Usage: test_httpd.py CTL_SERVER PLAN_JSON [--chromium]
"""

import hashlib
import hmac
import html.parser
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import promtext  # noqa: E402

SECRET = b"integration-webhook-secret"
EXTRA = [
    # A second project, with names that must be escaped on the page.
    {
        "address": "acme-ml/CloudRunService/<img src=x onerror=alert(1)>",
        "kind": "CloudRunService",
        "name": "<img src=x onerror=alert(1)>",
        "project": "acme-ml",
        "mode": "report",
        "status": "in_sync",
        "action": "none",
    },
    {
        "address": "acme-ml/IAMPolicyMember/ml-writer",
        "kind": "IAMPolicyMember",
        "name": "ml-writer",
        "project": "acme-ml",
        "mode": "enforce",
        "status": "error",
        "action": "none",
        "error": "permission denied <script>alert(2)</script>",
    },
    {
        "address": "acme-ml/BigQueryTablePolicy/staging \"tables\" & 'co'",
        "kind": "BigQueryTablePolicy",
        "name": "staging \"tables\" & 'co'",
        "project": "acme-ml",
        "mode": "report",
        "status": "missing",
        "action": "report",
    },
]

failures = []


def check(cond, what):
    if cond:
        print(f"ok: {what}")
    else:
        print(f"FAIL: {what}")
        failures.append(what)


def make_plan(src, dst):
    with open(src) as f:
        plan = json.load(f)
    for r in EXTRA:
        full = {
            "defined_at": "desired-state/ml/x.yaml:1",
            "defined_in_commit": "",
            "changes": [],
            "preconditions": {},
        }
        full.update(r)
        plan["resources"].append(full)
    s = plan["summary"]
    s["resources"] += 3
    s["in_sync"] += 1
    s["error"] += 1
    s["report"] += 1
    with open(dst, "w") as f:
        json.dump(plan, f)
    return plan


def http(port, method, path, body=None, headers=None):
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", data=body, method=method,
        headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def sign(body):
    return "sha256=" + hmac.new(SECRET, body, hashlib.sha256).hexdigest()


def metric_value(fams, family, name, labels=None):
    for n, lab, v in fams.get(family, {}).get("samples", []):
        if n == name and lab == (labels or {}):
            return v
    return None


def prometheus_client_families(text):
    """Parse with prometheus_client, here or in a Python that has it.
    Returns {name: (type, {(sample, labels-tuple): value})}, or None."""
    prog = r"""
import json, sys
from prometheus_client.parser import text_string_to_metric_families
out = {}
for fam in text_string_to_metric_families(sys.stdin.read()):
    out[fam.name] = [fam.type, [[s.name, s.labels, s.value] for s in fam.samples]]
print(json.dumps(out))
"""
    candidates = [sys.executable, "/usr/bin/python3"]
    for py in candidates:
        if not os.path.exists(py):
            continue
        probe = subprocess.run([py, "-c", "import prometheus_client"],
                               capture_output=True)
        if probe.returncode != 0:
            continue
        r = subprocess.run([py, "-c", prog], input=text.encode(),
                           capture_output=True, timeout=60)
        if r.returncode != 0:
            raise RuntimeError("prometheus_client rejected the exposition: "
                               + r.stderr.decode(errors="replace")[-2000:])
        print(f"prometheus_client parser: {py}")
        raw = json.loads(r.stdout)
        return {
            name: (t, {(s, tuple(sorted(lab.items()))): v
                       for s, lab, v in samples})
            for name, (t, samples) in raw.items()
        }
    return None


class PageParser(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags = []
        self.text = []
        self.cells = []
        self._in_td = False

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "td":
            self._in_td = True
            self.cells.append("")

    def handle_endtag(self, tag):
        if tag == "td":
            self._in_td = False

    def handle_data(self, data):
        self.text.append(data)
        if self._in_td:
            self.cells[-1] += data


def check_metrics(port, plan, triggers_expected):
    status, headers, body = http(port, "GET", "/metrics")
    check(status == 200, "/metrics is 200")
    check(headers.get("Content-Type", "").startswith(
        "text/plain; version=0.0.4"), "/metrics content type is 0.0.4")
    text = body.decode("utf-8")
    try:
        fams = promtext.parse(text)
        check(True, "strict parser accepts /metrics")
    except promtext.ParseError as e:
        check(False, f"strict parser accepts /metrics: {e}")
        return None
    want = {
        "driftless_resources": "gauge",
        "driftless_pass_duration_seconds": "histogram",
        "driftless_passes_total": "counter",
        "driftless_api_requests_total": "counter",
        "driftless_changes_applied_total": "counter",
        "driftless_last_success_timestamp_seconds": "gauge",
        "driftless_source_commit_info": "gauge",
        "driftless_firestore_documents": "gauge",
        "driftless_hygiene_violating": "gauge",
    }
    for name, typ in want.items():
        check(fams.get(name, {}).get("type") == typ, f"{name} is a {typ}")
    # driftless_resources agrees with the plan, per project/kind/status.
    counts = {}
    for r in plan["resources"]:
        k = (r["project"], r["kind"], r["status"])
        counts[k] = counts.get(k, 0) + 1
    ok = True
    for (p, k, s), n in counts.items():
        v = metric_value(fams, "driftless_resources", "driftless_resources",
                         {"project": p, "kind": k, "status": s})
        if v != n:
            ok = False
            print(f"  driftless_resources{{{p},{k},{s}}} = {v}, want {n}")
    check(ok, "driftless_resources matches the plan's counts")
    # driftless_hygiene_violating: each hygiene resource's violating count.
    nhyg, ok = 0, True
    for r in plan["resources"]:
        if "hygiene" not in r or r.get("error"):
            continue
        nhyg += 1
        v = metric_value(fams, "driftless_hygiene_violating",
                         "driftless_hygiene_violating",
                         {"project": r["project"], "kind": r["kind"],
                          "name": r["name"]})
        if v != r["hygiene"]["violating"]["total"]:
            ok = False
            print(f"  driftless_hygiene_violating{{{r['name']}}} = {v}, "
                  f"want {r['hygiene']['violating']['total']}")
    check(ok and nhyg > 0,
          f"driftless_hygiene_violating matches the plan ({nhyg} policies)")
    check(metric_value(fams, "driftless_resources", "driftless_resources",
                       {"project": "acme-ml", "kind": "CloudRunService",
                        "status": "drifted"}) == 0,
          "statuses with no resources read 0")
    check(metric_value(fams, "driftless_api_requests_total",
                       "driftless_api_requests_total",
                       {"api": "firestore.googleapis.com", "code": "error"})
          == 1, "api requests without a response count as code=error")
    check(metric_value(fams, "test_webhook_triggers_total",
                       "test_webhook_triggers_total") == triggers_expected,
          f"webhook triggers = {triggers_expected}")
    pc = prometheus_client_families(text)
    if pc is None:
        print("note: prometheus_client is not installed; strict parser only")
    else:
        # The client library names counters without _total; compare samples.
        ours = {}
        for fam in fams.values():
            for n, lab, v in fam["samples"]:
                ours[(n, tuple(sorted(lab.items())))] = v
        theirs = {}
        for _, (_, samples) in pc.items():
            theirs.update(samples)
        # The client adds _created samples for nothing here; compare as is.
        check(set(ours) == set(theirs),
              "prometheus_client sees the same samples")
        check(all(ours[k] == theirs[k] or (ours[k] != ours[k] and
                                           theirs[k] != theirs[k])
                  for k in ours if k in theirs),
              "prometheus_client reads the same values")
        types = {n: t for n, (t, _) in pc.items()}
        check(types.get("driftless_pass_duration_seconds") == "histogram"
              and types.get("driftless_passes") == "counter",
              "prometheus_client sees the histogram and counter types")
    return fams


def check_page(port, plan):
    status, headers, body = http(port, "GET", "/")
    check(status == 200, "/ is 200")
    check(headers.get("Content-Type") == "text/html; charset=utf-8",
          "/ is text/html")
    check("script-src" not in headers.get("Content-Security-Policy", "x")
          and "default-src 'none'" in headers.get(
              "Content-Security-Policy", ""),
          "the page's CSP forbids scripts")
    page = body.decode("utf-8")
    p = PageParser()
    p.feed(page)
    p.close()
    check("script" not in p.tags and "img" not in p.tags,
          "no script or img element on the page (names escaped)")
    check("svg" in p.tags and "rect" in p.tags, "the page has an SVG chart")
    cells = set(c.strip() for c in p.cells)
    missing = [r["address"] for r in plan["resources"]
               if r["address"] not in cells]
    check(not missing, f"every resource address is a table cell {missing}")
    check("acme-ml" in cells and "acme-data" in cells,
          "both projects are listed")
    check(any("git fetch failed" in c for c in cells),
          "the failed pass is listed")
    return page


def run_chromium(port, plan):
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if not exe:
        print("SKIP: chromium is not installed (Debian package chromium)")
        return 77
    profile = tempfile.mkdtemp(prefix="dl-chromium-")
    cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu",
           "--disable-background-networking", "--disable-component-update",
           "--disable-sync", "--no-first-run", "--disable-extensions",
           f"--user-data-dir={profile}", "--dump-dom",
           f"http://127.0.0.1:{port}/"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        check(False, "chromium finished within 120 s")
        return 1
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    check(proc.returncode == 0, f"chromium exit status {proc.returncode}")
    dom = out.decode("utf-8", errors="replace")
    p = PageParser()
    p.feed(dom)
    p.close()
    cells = set(c.strip() for c in p.cells)
    missing = [r["address"] for r in plan["resources"]
               if r["address"] not in cells]
    check(not missing,
          f"chromium's DOM has every resource in a table cell {missing}")
    check("script" not in p.tags and "img" not in p.tags,
          "chromium's DOM has no script or img element")
    check("svg" in p.tags and "rect" in p.tags,
          "chromium's DOM has the SVG chart")
    check("permission denied <script>alert(2)</script>" in cells,
          "the error message reads as text, not markup")
    return 0


def main():
    server, src_plan = sys.argv[1], sys.argv[2]
    chromium = "--chromium" in sys.argv[3:]
    tmp = tempfile.mkdtemp(prefix="dl-ctl-it-")
    proc = None
    rc = 0
    try:
        plan_path = os.path.join(tmp, "plan.json")
        plan = make_plan(src_plan, plan_path)
        secret_path = os.path.join(tmp, "secret")
        with open(secret_path, "wb") as f:
            f.write(SECRET + b"\n")
        proc = subprocess.Popen(
            [server, "--plan", plan_path, "--secret-file", secret_path,
             "--listen", "127.0.0.1:0"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        line = proc.stdout.readline().decode()
        if not line.startswith("listening on 127.0.0.1:"):
            print("server did not start:", line,
                  proc.stderr.read().decode(errors="replace"))
            return 1
        port = int(line.rsplit(":", 1)[1])
        print(f"ctl_server pid {proc.pid} on port {port}")

        if chromium:
            rc = run_chromium(port, plan)
        else:
            rc = run_http_checks(port, plan)
    finally:
        if proc is not None:
            proc.send_signal(signal.SIGTERM)
            try:
                code = proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                code = proc.wait()
            check(code == 0, f"SIGTERM: ctl_server exits 0 (got {code})")
            err = proc.stderr.read().decode(errors="replace")
            check(SECRET.decode() not in err, "the secret is never logged")
        shutil.rmtree(tmp, ignore_errors=True)
    if rc == 77:
        return 77
    if failures:
        print(f"{len(failures)} check(s) failed")
        return 1
    return rc


def run_http_checks(port, plan):
    status, _, body = http(port, "GET", "/healthz")
    check(status == 200 and body == b"ok\n", "/healthz is 200 ok")
    status, _, body = http(port, "GET", "/readyz")
    check(status == 503 and body.startswith(b"not ready: "),
          "/readyz is 503 before any successful pass")
    status, _, _ = http(port, "GET", "/nope")
    check(status == 404, "unknown path is 404")
    status, headers, _ = http(port, "POST", "/readyz", b"x")
    check(status == 405 and headers.get("Allow") == "GET, HEAD",
          "POST /readyz is 405 with Allow")

    check_metrics(port, plan, 0)

    status, headers, body = http(port, "GET", "/api/v1/status")
    check(status == 200 and headers.get("Content-Type") == "application/json",
          "/api/v1/status is JSON")
    st = json.loads(body)
    check(sorted(r["address"] for r in st["resources"])
          == sorted(r["address"] for r in plan["resources"]),
          "status JSON lists exactly the plan's resources")
    check(st["last_plan"]["summary"] == plan["summary"],
          "status JSON summary equals the plan's")
    check([p["id"] for p in st["projects"]] == ["acme-data", "acme-ml"],
          "status JSON lists both projects")
    check(st["last_pass"]["result"] == "error", "last pass is the failed one")

    check_page(port, plan)

    push = json.dumps({
        "ref": "refs/heads/main",
        "after": "e1c10e88a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4",
        "repository": {"full_name": "acme/platform"},
    }).encode()
    hdr = {"X-GitHub-Event": "push", "Content-Type": "application/json"}
    status, _, body = http(port, "POST", "/hooks/git", push, dict(hdr))
    check(status == 401, "webhook without a signature is 401")
    bad = sign(push + b" ")
    status, _, body = http(port, "POST", "/hooks/git", push,
                           dict(hdr, **{"X-Hub-Signature-256": bad}))
    check(status == 401 and body == b"signature mismatch\n",
          "webhook with a bad signature is 401")
    status, _, body = http(port, "POST", "/hooks/git", push,
                           dict(hdr, **{"X-Hub-Signature-256": "sha1=abc"}))
    check(status == 401, "webhook with a malformed signature is 401")
    fams = check_metrics(port, plan, 0)
    check(fams is not None, "no trigger after rejected webhooks")
    status, _, body = http(port, "GET", "/readyz")
    check(status == 503, "still not ready after rejected webhooks")

    status, _, body = http(port, "POST", "/hooks/git", push,
                           dict(hdr, **{"X-Hub-Signature-256": sign(push)}))
    check(status == 202, "webhook with a good signature is 202")
    check_metrics(port, plan, 1)
    status, _, body = http(port, "GET", "/readyz")
    check(status == 200, "ready after the triggered pass succeeded")
    st = json.loads(http(port, "GET", "/api/v1/status")[2])
    check(st["last_pass"]["commit"] ==
          "e1c10e88a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4",
          "the triggered pass used the pushed commit")
    check(len(st["drift"]) == 2, "two drift samples after two plans")
    return 0


if __name__ == "__main__":
    sys.exit(main())
