"""BigQuery and Storage listings: full pagination without duplicates,
prefixes, versions, deletes, and builds.list paging."""
import fk

c = fk.Client()
P = fk.PROJECT
st = fk.default_state()
st["bigquery"] = {"tables": [{"tableReference": {
    "projectId": P, "datasetId": "staging", "tableId": "t%03d" % i},
    "creationTime": str(1700000000000 + i)} for i in range(57)]}
st["storage"] = {
    "buckets": [{"name": "%s-b%02d" % (P, i)} for i in range(12)] +
               [{"name": "other-bucket", "projectNumber": "999"}],
    "objects": [{"bucket": "%s-b00" % P, "name": "obj%03d" % i}
                for i in range(30)] +
               [{"bucket": "%s-b01" % P, "name": "old",
                 "timeDeleted": "2024-01-01T00:00:00Z"}]}
fk.seed(c, st)


def all_pages(path, key, size_param, size):
    items, token, pages = [], None, 0
    while True:
        sep = "&" if "?" in path else "?"
        q = "%s%s%s=%d" % (path, sep, size_param, size)
        if token:
            q += "&pageToken=" + token
        s, body, _ = c.request("GET", q)
        if not fk.check(s == 200, "%s: %s %s" % (q, s, body)):
            return items, pages
        pages += 1
        items += body.get(key, [])
        token = body.get("nextPageToken")
        if not token:
            return items, pages


tables, pages = all_pages("/bigquery/v2/projects/%s/datasets/staging/tables"
                          % P, "tables", "maxResults", 10)
ids = [t["tableReference"]["tableId"] for t in tables]
fk.check(len(ids) == 57 and len(set(ids)) == 57 and pages == 6,
         "57 tables in 6 pages, got %d in %d" % (len(ids), pages))
fk.check(ids == sorted(ids), "tables in id order")

s, _, _ = c.request("DELETE", "/bigquery/v2/projects/%s/datasets/staging/"
                    "tables/t000" % P)
fk.check(s == 204, "delete table")
s, body, _ = c.request("GET", "/bigquery/v2/projects/%s/datasets/staging/"
                       "tables?maxResults=1000" % P)
fk.check(body["totalItems"] == 56, "56 left")
for t in body["tables"]:
    c.request("DELETE", "/bigquery/v2/projects/%s/datasets/staging/tables/%s"
              % (P, t["tableReference"]["tableId"]))
s, body, _ = c.request("GET", "/bigquery/v2/projects/%s/datasets/staging/"
                       "tables" % P)
fk.check(s == 200 and "tables" not in body and body["totalItems"] == 0,
         "an emptied dataset still exists and lists no tables: %s" % body)

buckets, pages = all_pages("/storage/v1/b?project=%s" % P, "items",
                           "maxResults", 5)
names = [b["name"] for b in buckets]
fk.check(len(names) == 12 and pages == 3 and "other-bucket" not in names,
         "12 buckets of this project in 3 pages: %s" % names)
s, body, _ = c.request("GET", "/storage/v1/b?project=%s&prefix=%s-b1" %
                       (P, P))
fk.check(len(body.get("items", [])) == 2, "bucket prefix")
s, body, _ = c.request("GET", "/storage/v1/b")
fk.check(s == 400 and body["error"]["errors"][0]["reason"] == "required",
         "project is required")

objs, pages = all_pages("/storage/v1/b/%s-b00/o" % P, "items",
                        "maxResults", 7)
fk.check(len(objs) == 30 and pages == 5, "30 objects in 5 pages")
s, body, _ = c.request("GET", "/storage/v1/b/%s-b00/o?prefix=obj00" % P)
fk.check(len(body.get("items", [])) == 10, "object prefix")
s, body, _ = c.request("GET", "/storage/v1/b/%s-b01/o?maxResults=1" % P)
fk.check(body == {"kind": "storage#objects"},
         "noncurrent versions hidden without versions=true")
s, body, _ = c.request("GET", "/storage/v1/b/%s-b01/o?versions=true" % P)
fk.check(len(body.get("items", [])) == 1, "and listed with versions=true")
s, body, _ = c.request("DELETE", "/storage/v1/b/%s-b02?"
                       "ifMetagenerationMatch=7" % P)
fk.check(s == 412 and body["error"]["errors"][0]["reason"] ==
         "conditionNotMet", "metageneration precondition")

# builds.list paging and filters
B = "/v1/projects/%s/builds" % P
for i in range(5):
    c.request("POST", B, {"steps": [{"name": "gcr.io/cloud-builders/docker"}],
                          "tags": ["n%d" % i],
                          "substitutions": {"_N": str(i)}})
builds, pages = all_pages(B, "builds", "pageSize", 2)
fk.check(len(builds) == 5 and pages == 3, "5 builds in 3 pages")
fk.check([b["createTime"] for b in builds] ==
         sorted([b["createTime"] for b in builds], reverse=True),
         "newest first")
for flt, n in [('tags="n3"', 1), ("substitutions._N!=3", 4),
               ('NOT tags="n1" AND NOT tags="n2"', 3),
               ('(tags="n1" OR tags="n2") AND status="QUEUED"', 2)]:
    s, body, _ = c.request("GET", B + "?filter=" +
                           fk.urllib.parse.quote(flt))
    fk.check(s == 200 and len(body.get("builds", [])) == n,
             "filter %s: %d builds, want %d" %
             (flt, len(body.get("builds", [])), n))
s, _, _ = c.request("GET", B + "?filter=" + fk.urllib.parse.quote('(tags="x"'))
fk.check(s == 400, "unbalanced filter rejected")
s, body, _ = c.request("POST", B, {"steps": []})
fk.check(s == 400, "a build needs steps")
s, body, _ = c.request("POST", B, {"steps": [{"name": "x"}],
                                   "substitutions": {"NOPE": "1"}})
fk.check(s == 400, "user substitutions start with _")
fk.finish("test_data")
