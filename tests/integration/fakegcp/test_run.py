"""Cloud Run v2 behaviour beyond single exchanges: generations, etags,
revisions only on template changes, updateMask, validateOnly, etag
preconditions, reused revision names, failing revisions, :wait."""
import time

import fk

c = fk.Client()
fk.seed(c, fk.default_state())
S = "/v2/projects/%s/locations/europe-west1/services" % fk.PROJECT


def svc_body(image, **extra):
    b = {"labels": {"managed-by": "driftless"},
         "template": {"containers": [{"image": image}],
                      "annotations": {"driftless.dev/commit": "1a2b3c4",
                                      "driftless.dev/dockerfile":
                                      "services/api/Dockerfile"}}}
    b.update(extra)
    return b


def wait(op):
    st, body, _ = c.request("POST", "/v2/%s:wait" % op["name"],
                            {"timeout": "10s"})
    fk.check(st == 200 and body.get("done"), "op done: %s" % body)
    return body


def get(name="api"):
    st, body, _ = c.request("GET", "%s/%s" % (S, name))
    return body


# create: op not done at first, done after the delay
st, op, _ = c.request("POST", S + "?serviceId=api", svc_body("img:1"))
fk.check(st == 200 and "done" not in op, "create op pending")
st, op_now, _ = c.request("GET", "/v2/" + op["name"])
fk.check("done" not in op_now, "GET op right away: still pending")
st, short, _ = c.request("POST", "/v2/%s:wait" % op["name"],
                         {"timeout": "0.01s"})
fk.check(st == 200 and "done" not in short, ":wait timeout returns pending")
wait(op)
s1 = get()
fk.check(s1["generation"] == "1" and s1["observedGeneration"] == "1", "gen 1")
fk.check(s1["etag"].startswith('"') and s1["etag"].endswith('"'),
         "etag is quoted")
fk.check(s1["uri"].startswith("https://api-") and
         s1["uri"].endswith("-ew.a.run.app"), "uri %s" % s1["uri"])
rev1 = s1["latestReadyRevision"]
fk.check(rev1.startswith(s1["name"] + "/revisions/api-00001-") and
         len(rev1.rsplit("-", 1)[1]) == 3, "revision name %s" % rev1)
st, r, _ = c.request("GET", "/v2/" + rev1)
fk.check(r["annotations"]["driftless.dev/commit"] == "1a2b3c4" and
         r["annotations"]["driftless.dev/dockerfile"] ==
         "services/api/Dockerfile", "revision keeps template annotations")

# labels only (updateMask): generation bumps, etag changes, no revision
st, op, _ = c.request("PATCH", S + "/api?updateMask=labels",
                      {"labels": {"managed-by": "driftless", "team": "x"}})
wait(op)
s2 = get()
fk.check(s2["generation"] == "2" and s2["etag"] != s1["etag"],
         "label change: generation 2, new etag")
fk.check(s2["latestCreatedRevision"] == rev1, "no new revision")
fk.check(s2["template"] == s1["template"], "mask kept the template")
fk.check(s2["labels"]["team"] == "x", "label set")

# the same spec again: nothing changes
st, op, _ = c.request("PATCH", S + "/api", svc_body(
    "img:1", labels={"managed-by": "driftless", "team": "x"}))
wait(op)
s3 = get()
fk.check(s3["generation"] == "2" and s3["etag"] == s2["etag"],
         "no-op patch keeps generation and etag")

# validateOnly persists nothing
st, op, _ = c.request("PATCH", S + "/api?validateOnly=true",
                      svc_body("img:9"))
fk.check(st == 200 and op.get("done") is True and
         op["response"]["template"]["containers"][0]["image"] == "img:9",
         "validateOnly answers with the would-be service")
fk.check(get()["template"]["containers"][0]["image"] == "img:1",
         "validateOnly changed nothing")

# etag preconditions
st, body, _ = c.request("PATCH", S + "/api", dict(svc_body("img:2"),
                                                   etag=s1["etag"]))
fk.check(st == 409 and body["error"]["status"] == "ABORTED",
         "stale etag on patch: 409 ABORTED")
st, body, _ = c.request("DELETE", S + "/api?etag=" +
                        fk.urllib.parse.quote(s1["etag"]))
fk.check(st == 409 and body["error"]["status"] == "ABORTED",
         "stale etag on delete: 409 ABORTED")

# template change with the current etag: new revision 00003
st, op, _ = c.request("PATCH", S + "/api", dict(svc_body("img:2"),
                                                 etag=s3["etag"]))
fk.check(st == 200, "patch with current etag")
mid = get()
fk.check(mid.get("reconciling") is True and
         mid["observedGeneration"] == "2" and mid["generation"] == "3",
         "reconciling while the operation runs")
wait(op)
s4 = get()
rev3 = s4["latestReadyRevision"]
fk.check("/revisions/api-00003-" in rev3 and rev3 ==
         s4["latestCreatedRevision"], "new revision %s" % rev3)
fk.check("reconciling" not in s4, "converged")

# a failing revision: the service keeps serving the previous one
c.request("POST", "/_fake/v1/fail-next-revision", auth=False)
st, op, _ = c.request("PATCH", S + "/api", svc_body("img:broken"))
done = wait(op)
fk.check("error" in done and "response" not in done, "failed op has error")
s5 = get()
fk.check(s5["latestReadyRevision"] == rev3, "still serving the last good")
fk.check("/revisions/api-00004-" in s5["latestCreatedRevision"],
         "failed revision created")
fk.check(s5["terminalCondition"]["state"] == "CONDITION_FAILED" and
         "is not ready and cannot serve traffic" in
         s5["terminalCondition"]["message"], "terminalCondition failed")
fk.check(any(x["state"] == "CONDITION_FAILED" for x in s5["conditions"]),
         "conditions carry the failure")
st, r, _ = c.request("GET", "/v2/" + s5["latestCreatedRevision"])
fk.check(r["conditions"][0]["state"] == "CONDITION_FAILED",
         "revision Ready failed")

# explicit revision names: reuse with another template is rejected
body = svc_body("img:6")
body["template"]["revision"] = "api-explicit"
st, op, _ = c.request("PATCH", S + "/api", body)
wait(op)
fk.check(get()["latestReadyRevision"].endswith("/revisions/api-explicit"),
         "explicit revision name used")
body["template"]["containers"][0]["image"] = "img:7"
st, err, _ = c.request("PATCH", S + "/api", body)
fk.check(st == 409 and err["error"]["status"] == "ALREADY_EXISTS" and
         "with different configuration already exists" in
         err["error"]["message"], "reused revision name rejected: %s" % err)
body["template"]["revision"] = "other-name"
st, err, _ = c.request("PATCH", S + "/api", body)
fk.check(st == 400, "revision name must carry the service prefix")

# traffic split to a named revision
st, op, _ = c.request("PATCH", S + "/api?updateMask=traffic", {"traffic": [
    {"type": "TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION",
     "revision": rev3.rsplit("/", 1)[1], "percent": 100, "tag": "stable"}]})
wait(op)
s6 = get()
fk.check(s6["trafficStatuses"][0]["revision"] == rev3.rsplit("/", 1)[1] and
         s6["trafficStatuses"][0]["uri"].startswith("https://stable---"),
         "trafficStatuses follow traffic")
st, err, _ = c.request("PATCH", S + "/api?updateMask=traffic", {"traffic": [
    {"type": "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST", "percent": 50}]})
fk.check(st == 400, "traffic must add up to 100")

# create errors
st, err, _ = c.request("POST", S + "?serviceId=api", svc_body("img:1"))
fk.check(st == 409 and err["error"]["status"] == "ALREADY_EXISTS",
         "create twice: 409 ALREADY_EXISTS")
st, err, _ = c.request("POST", S + "?serviceId=Bad_Name", svc_body("x"))
fk.check(st == 400, "bad serviceId")
st, err, _ = c.request("POST", S + "?serviceId=noimage",
                       {"template": {"containers": [{}]}})
fk.check(st == 400, "container without image")
st, op, _ = c.request("PATCH", S + "/upserted?allowMissing=true",
                      svc_body("img:1"))
fk.check(st == 200 and op["metadata"]["name"].endswith("/upserted"),
         "allowMissing creates")

# pagination over 5 services
for i in range(3):
    c.request("POST", S + "?serviceId=page%d" % i, svc_body("x"))
names, token, pages = [], None, 0
while True:
    q = "?pageSize=2" + ("&pageToken=" + fk.urllib.parse.quote(token)
                         if token else "")
    st, page, _ = c.request("GET", S + q)
    pages += 1
    names += [s["name"].rsplit("/", 1)[1] for s in page.get("services", [])]
    token = page.get("nextPageToken")
    if not token:
        break
fk.check(names == sorted(names) and len(names) == 5 and pages == 3,
         "3 pages of 5 services: %s" % names)
st, err, _ = c.request("GET", S + "?pageToken=garbage")
fk.check(st == 400, "bad page token")

# revisions.delete: the serving/latest one is refused, an old one goes
st, err, _ = c.request("DELETE", "/v2/" + get()["latestCreatedRevision"])
fk.check(st == 400 and err["error"]["status"] == "FAILED_PRECONDITION",
         "latest revision cannot be deleted")
st, err, _ = c.request("DELETE", "/v2/" + rev3)
fk.check(st == 400, "revision with traffic cannot be deleted")
st, op, _ = c.request("DELETE", "/v2/" + rev1)
fk.check(st == 200 and op.get("done") is True, "old revision deleted")
st, _, _ = c.request("GET", "/v2/" + rev1)
fk.check(st == 404, "deleted revision is gone")

# operations.list with done filters
L = "/v2/projects/%s/locations/europe-west1/operations" % fk.PROJECT
st, ops, _ = c.request("GET", L + "?filter=done:true")
fk.check(st == 200 and len(ops["operations"]) >= 5 and
         all(o.get("done") for o in ops["operations"]), "done operations")
st, _, _ = c.request("GET", L + "?filter=bogus")
fk.check(st == 400, "unsupported operations filter")

# delete: generation bumps, service gone, op completes
before = get()
st, op, _ = c.request("DELETE", S + "/api?etag=" +
                      fk.urllib.parse.quote(before["etag"]))
fk.check(st == 200 and int(op["metadata"]["generation"]) ==
         int(before["generation"]) + 1, "delete bumps generation")
st, _, _ = c.request("GET", S + "/api")
fk.check(st == 404, "deleted")
done = wait(op)
fk.check(done["response"]["name"] == before["name"], "delete op response")
st, _, _ = c.request("GET", S + "/api/revisions")
fk.check(st == 404, "revisions of a deleted service: 404")
fk.finish("test_run")
