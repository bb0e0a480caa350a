"""The admin API: state round trip with server-filled fields, bad seeds
rejected with 400 (never a crash), faults round trip."""
import base64
import datetime

import fk

c = fk.Client()
P = fk.PROJECT
seed = fk.default_state()
seed["run"] = {"services": [{
    "name": "projects/%s/locations/us-central1/services/web" % P,
    "template": {"containers": [{"image": "img:1"}],
                 "annotations": {"driftless.dev/commit": "abc"}}}]}
seed["iam"] = {"projects/%s" % P: {"bindings": [
    {"role": "roles/viewer", "members": ["user:b@x.com", "user:a@x.com"]}]}}
seed["bigquery"] = {"tables": [{"tableReference": {
    "projectId": P, "datasetId": "d", "tableId": "t"}}]}
seed["storage"] = {"buckets": [{"name": "bk"}]}
fk.seed(c, seed)
st, state, _ = c.request("GET", "/_fake/v1/state", auth=False)
fk.check(st == 200, "GET state")
svc = state["run"]["services"][0]
fk.check(svc["generation"] == "1" and svc["etag"].startswith('"') and
         svc["latestReadyRevision"].startswith(svc["name"] + "/revisions/web-"
                                               "00001-"),
         "a seeded service gets generation, etag and a serving revision")
rev = state["run"]["revisions"][0]
fk.check(rev["annotations"]["driftless.dev/commit"] == "abc",
         "the seeded revision keeps the template annotations")
pol = state["iam"]["projects/%s" % P]
fk.check(pol["version"] == 1 and len(pol["etag"]) == 12 and
         pol["bindings"][0]["members"] == ["user:a@x.com", "user:b@x.com"],
         "a seeded policy is normalised: %s" % pol)
fk.check(state["bigquery"]["tables"][0]["id"] == "%s:d.t" % P,
         "a seeded table is filled")
fk.check(state["bigquery"]["datasets"][0]["datasetReference"]["datasetId"]
         == "d", "its dataset is remembered")

# Round trip: what GET gives, PUT takes back unchanged.
fk.seed(c, state)
st, again, _ = c.request("GET", "/_fake/v1/state", auth=False)
fk.check(again == state, "state round-trips")

# The etag is built as real Cloud Run builds it (checked by hand against a
# recorded one): quotes around base64(Timestamp proto of updateTime) "/"
# unpadded base64(name). Recompute it here independently.
def varint(n):
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        out += bytes([b | 0x80]) if n else bytes([b])
        if not n:
            return out


name = "projects/%s/locations/us-east1/services/etag-check" % P
when = "2025-03-04T05:06:07.123456Z"
secs = int(datetime.datetime(2025, 3, 4, 5, 6, 7,
                             tzinfo=datetime.timezone.utc).timestamp())
proto = b"\x08" + varint(secs) + b"\x10" + varint(123456000)
want = '"%s/%s"' % (base64.b64encode(proto).decode().rstrip("="),
                    base64.b64encode(name.encode()).decode().rstrip("="))
s2 = fk.default_state()
s2["run"] = {"services": [{"name": name, "createTime": when,
                           "updateTime": when,
                           "template": {"containers": [{"image": "x"}]}}]}
fk.seed(c, s2)
st, got, _ = c.request("GET", "/v2/" + name)
fk.check(got["etag"] == want, "etag %s, want %s" % (got["etag"], want))
fk.seed(c, state)

bad = [
    {"bogus": []},
    {"projects": [{"projectId": "x"}]},
    {"run": {"services": [{"template": {}}]}},
    {"run": {"services": {}}},
    {"run": {"jobs": []}},
    {"builds": [{"id": "1"}]},
    {"bigquery": {"tables": [{"tableReference": {"projectId": "p"}}]}},
    {"storage": {"objects": [{"name": "o"}]}},
    {"iam": {"projects/x": {"bindings": [{"role": "roles/viewer",
                                          "members": "user:a@x.com"}]}}},
    {"iam": []},
]
for b in bad:
    st, body, _ = c.request("PUT", "/_fake/v1/state", b, auth=False)
    fk.check(st == 400 and body["error"]["status"] == "INVALID_ARGUMENT",
             "bad seed %s rejected: %s" % (b, st))
st, _, _ = c.request("PUT", "/_fake/v1/state", raw=b"{not json",
                     auth=False)
fk.check(st == 400, "malformed JSON rejected")
st, state2, _ = c.request("GET", "/_fake/v1/state", auth=False)
fk.check(state2 == state, "rejected seeds change nothing")

faults = {"503": 0.25, "latencyMs": 5, "seed": 1}
c.request("PUT", "/_fake/v1/faults", faults, auth=False)
st, got, _ = c.request("GET", "/_fake/v1/faults", auth=False)
fk.check(got == faults, "faults round-trip")
c.request("PUT", "/_fake/v1/faults", {}, auth=False)
st, got, _ = c.request("GET", "/_fake/v1/faults", auth=False)
fk.check(got == {}, "faults cleared")
st, body, _ = c.request("POST", "/_fake/v1/fail-next-build", auth=False)
fk.check(st == 200 and body["pending"] == 1, "fail-next-build counted")
fk.seed(c, fk.default_state())
st, body, _ = c.request("POST", "/_fake/v1/fail-next-revision", auth=False)
fk.check(st == 200 and body["pending"] == 1, "PUT state resets pending")
fk.seed(c, fk.default_state())
fk.finish("test_admin")
