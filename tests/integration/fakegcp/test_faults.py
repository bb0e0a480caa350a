"""Fault injection: status rates within statistical tolerance, 429 with
RetryInfo and Retry-After, pathRegex, resets, truncated bodies, latency,
admin paths exempt, request counting."""
import http.client
import json
import time
import urllib.parse

import fk

c = fk.Client()
fk.seed(c, fk.default_state())
get_path = "/v1/projects/%s" % fk.PROJECT


def put_faults(f):
    st, body, _ = c.request("PUT", "/_fake/v1/faults", f, auth=False)
    return st, body


def raw_get(path):
    """One request on a fresh connection, no retry: status, or 'reset' /
    'truncated'."""
    u = urllib.parse.urlparse(fk.URL)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    try:
        conn.request("GET", path, headers=fk.AUTH)
        r = conn.getresponse()
        try:
            r.read()
        except http.client.IncompleteRead:
            return "truncated"
        return r.status
    except (http.client.RemoteDisconnected, ConnectionError):
        return "reset"
    finally:
        conn.close()


# 1. 503 at 0.1 over 1000 requests: expect ~100 (binomial sd ~9.5).
fk.check(put_faults({"503": 0.1, "seed": 42})[0] == 200, "PUT faults")
n503 = 0
for _ in range(1000):
    st, body, _ = c.request("GET", get_path)
    if st == 503:
        n503 += 1
        fk.check(body["error"]["status"] == "UNAVAILABLE", "503 envelope")
    elif st != 200:
        fk.check(False, "unexpected status %s" % st)
fk.check(60 <= n503 <= 140, "503 count %d within 60..140" % n503)
print("503 at rate 0.1: %d of 1000" % n503)

# 2. Admin paths never get faults.
put_faults({"503": 1.0})
st, _, _ = c.request("GET", get_path)
fk.check(st == 503, "rate 1.0 fails every API request")
ok = all(c.request("GET", "/_fake/v1/state", auth=False)[0] == 200
         for _ in range(20))
fk.check(ok, "/_fake/ paths are exempt")

# 3. 429 with RetryInfo and Retry-After.
put_faults({"429": 1.0, "retryInfoSeconds": 2})
st, body, h = c.request("GET", get_path)
fk.check(st == 429 and body["error"]["status"] == "RESOURCE_EXHAUSTED",
         "429 RESOURCE_EXHAUSTED")
types = {d["@type"]: d for d in body["error"].get("details", [])}
ri = types.get("type.googleapis.com/google.rpc.RetryInfo")
fk.check(ri is not None and ri["retryDelay"] == "2s", "RetryInfo 2s")
fk.check("type.googleapis.com/google.rpc.ErrorInfo" in types, "ErrorInfo")
fk.check(h.get("Retry-After") == "2", "Retry-After: 2")
put_faults({"429": 1.0})
st, body, h = c.request("GET", get_path)
fk.check(st == 429 and "Retry-After" not in h, "no Retry-After by default")

# 4. pathRegex limits faults to matching paths.
put_faults({"500": 1.0, "pathRegex": "^/storage/"})
st, body, _ = c.request("GET", "/storage/v1/b?project=" + fk.PROJECT)
fk.check(st == 500, "storage path faulted")
fk.check(body["error"]["errors"][0]["reason"] == "backendError",
         "Storage errors carry the legacy errors[]")
st, _, _ = c.request("GET", get_path)
fk.check(st == 200, "other paths untouched")

# 5. Resets: connection closed with no answer.
put_faults({"resetRate": 0.5, "seed": 7})
results = [raw_get(get_path) for _ in range(200)]
resets = results.count("reset")
fk.check(60 <= resets <= 140, "resets %d of 200 within 60..140" % resets)
fk.check(set(results) <= {"reset", 200}, "only resets and 200s")

# 6. Truncated bodies.
put_faults({"truncateRate": 1.0})
fk.check(raw_get(get_path) == "truncated", "truncated body")

# 7. Latency.
put_faults({"latencyMs": 150, "jitterMs": 20})
t0 = time.monotonic()
st, _, _ = c.request("GET", get_path)
dt = time.monotonic() - t0
fk.check(st == 200 and dt >= 0.15, "latency %.3f s >= 0.15" % dt)

# 7a. Latency spikes: spikeRate of the requests wait spikeMs more.
put_faults({"spikeRate": 1.0, "spikeMs": 200})
t0 = time.monotonic()
st, _, _ = c.request("GET", get_path)
dt = time.monotonic() - t0
fk.check(st == 200 and dt >= 0.2, "spike %.3f s >= 0.2" % dt)
put_faults({"spikeRate": 0.5, "spikeMs": 40, "seed": 3})
slow = 0
for _ in range(40):
    t0 = time.monotonic()
    c.request("GET", get_path)
    slow += time.monotonic() - t0 >= 0.04
fk.check(8 <= slow <= 32, "spikeRate 0.5: %d of 40 slow" % slow)

# 7b2. method and limit: exactly the next request of that method.
put_faults({"503": 1.0, "method": "POST", "limit": 1})
fk.check(c.request("GET", get_path)[0] == 200, "method: GET not faulted")
st, _, _ = c.request("POST", "/v1/projects/%s:getIamPolicy" % fk.PROJECT, {})
fk.check(st == 503, "method: the POST faulted: %s" % st)
st, _, _ = c.request("POST", "/v1/projects/%s:getIamPolicy" % fk.PROJECT, {})
fk.check(st == 200, "limit 1: the second POST is not: %s" % st)

# 7c. retryInfoRate: only that share of the 429s say when to retry.
put_faults({"429": 1.0, "retryInfoSeconds": 1, "retryInfoRate": 0.5,
            "seed": 5})
with_ri = 0
for _ in range(200):
    st, body, h = c.request("GET", get_path)
    has = any(d["@type"] == "type.googleapis.com/google.rpc.RetryInfo"
              for d in body["error"].get("details", []))
    fk.check(has == ("Retry-After" in h), "RetryInfo iff Retry-After")
    with_ri += has
fk.check(60 <= with_ri <= 140, "retryInfoRate 0.5: %d of 200" % with_ri)

# 7b. etag races: a concurrent writer gets in first.
put_faults({})
iam = "/v1/projects/%s" % fk.PROJECT
st, pol, _ = c.request("POST", iam + ":getIamPolicy", {})
put_faults({"etagRaceRate": 1.0})
pol.setdefault("bindings", []).append({"role": "roles/viewer",
                                       "members": ["user:mine@example.com"]})
st, body, _ = c.request("POST", iam + ":setIamPolicy", {"policy": pol})
fk.check(st == 409 and body["error"]["status"] == "ABORTED",
         "IAM write loses the race: %s" % st)
put_faults({})
st, pol, _ = c.request("POST", iam + ":getIamPolicy", {})
members = [m for b in pol["bindings"] for m in b["members"]]
fk.check(any(m.startswith("user:racer-") for m in members),
         "the racer's member is there")
fk.check("user:mine@example.com" not in members, "the lost write is not")
S = "/v2/projects/%s/locations/us-central1/services" % fk.PROJECT
st, op, _ = c.request("POST", S + "?serviceId=raced",
                      {"template": {"containers": [{"image": "x"}]}})
c.request("POST", "/v2/%s:wait" % op["name"], {"timeout": "10s"})
st, svc, _ = c.request("GET", S + "/raced")
put_faults({"etagRaceRate": 1.0, "pathRegex": "/services/"})
st, body, _ = c.request("PATCH", S + "/raced?updateMask=labels",
                        {"labels": {"a": "b"}, "etag": svc["etag"]})
fk.check(st == 409 and body["error"]["status"] == "ABORTED",
         "Run patch loses the race")
put_faults({})
st, svc2, _ = c.request("GET", S + "/raced")
fk.check(svc2["etag"] != svc["etag"] and "fakegcp-race" in svc2["labels"]
         and svc2["generation"] == "2", "the racer changed the service")

# 8. Bad fault specs are rejected; {} clears.
fk.check(put_faults({"503": 2})[0] == 400, "rate > 1 rejected")
fk.check(put_faults({"bogus": 1})[0] == 400, "unknown key rejected")
fk.check(put_faults({"503": 0.6, "500": 0.6})[0] == 400, "sum > 1 rejected")
fk.check(put_faults({})[0] == 200, "{} clears")
st, _, _ = c.request("GET", get_path)
fk.check(st == 200, "no faults after {}")

# 9. Request counting.
st, _, _ = c.request("DELETE", "/_fake/v1/requests", auth=False)
for _ in range(3):
    c.request("GET", "/v2/projects/%s/locations/us-central1/services" %
              fk.PROJECT)
c.request("GET", "/v2/projects/%s/locations/us-central1/services" %
          fk.PROJECT, auth=False)
st, req, _ = c.request("GET", "/_fake/v1/requests", auth=False)
counts = {(x["method"], x["route"], x["status"]): x["count"]
          for x in req["counts"]}
route = "/v2/projects/*/locations/*/services"
fk.check(counts.get(("GET", route, 200)) == 3, "3 counted 200s: %s" % counts)
fk.check(counts.get(("GET", route, 401)) == 1, "1 counted 401")
fk.check(req["total"] == 4, "total 4 (admin calls are not counted), got %s" %
         req["total"])
fk.check(len(req["recent"]) == 4 and req["recent"][-1]["status"] == 401,
         "recent requests")
# Every path counted since the reset; Storage's ?project= kept apart.
for proj in ("p-one", "p-one", "p-two"):
    c.request("GET", "/storage/v1/b?project=%s&maxResults=1" % proj)
st, req, _ = c.request("GET", "/_fake/v1/requests", auth=False)
paths = {(x["method"], x["path"]): x["count"] for x in req["paths"]}
fk.check(paths.get(("GET", "/v2/projects/%s/locations/us-central1/services"
                    % fk.PROJECT)) == 4, "4 on the services path: %s" % paths)
fk.check(paths.get(("GET", "/storage/v1/b?project=p-one")) == 2 and
         paths.get(("GET", "/storage/v1/b?project=p-two")) == 1,
         "bucket listings counted per project: %s" % paths)
fk.finish("test_faults")
