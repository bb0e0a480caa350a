"""20 clients each add 10 members to one project policy with
getIamPolicy/setIamPolicy read-modify-writes, retrying the whole
read-modify-write on 409 ABORTED: all 200 members must survive."""
import random
import threading
import time

import fk

CLIENTS, EACH = 20, 10
ROLE = "roles/viewer"
path = "/v1/projects/%s" % fk.PROJECT
c = fk.Client()
fk.seed(c, fk.default_state())
conflicts = [0] * CLIENTS
errors = []


def worker(n):
    cl = fk.Client()
    rnd = random.Random(n)
    for i in range(EACH):
        member = "user:client%02d-%02d@example.com" % (n, i)
        for attempt in range(200):
            st, pol, _ = cl.request("POST", path + ":getIamPolicy",
                                    {"options": {"requestedPolicyVersion": 3}})
            if st != 200:
                errors.append("get: %s" % st)
                return
            bindings = pol.get("bindings", [])
            for b in bindings:
                if b["role"] == ROLE and "condition" not in b:
                    b["members"].append(member)
                    break
            else:
                bindings.append({"role": ROLE, "members": [member]})
            st, body, _ = cl.request("POST", path + ":setIamPolicy", {
                "policy": {"bindings": bindings, "etag": pol["etag"],
                           "version": 3}})
            if st == 200:
                break
            if st == 409 and body["error"]["status"] == "ABORTED":
                conflicts[n] += 1
                time.sleep(rnd.uniform(0, 0.002 * min(attempt + 1, 10)))
                continue
            errors.append("set: %s %s" % (st, body))
            return
        else:
            errors.append("client %d gave up on %s" % (n, member))
    cl.close()


t0 = time.monotonic()
threads = [threading.Thread(target=worker, args=(n,)) for n in range(CLIENTS)]
for t in threads:
    t.start()
for t in threads:
    t.join()
elapsed = time.monotonic() - t0
fk.check(not errors, "no errors: %s" % errors[:3])
st, pol, _ = c.request("POST", path + ":getIamPolicy", {})
members = set()
for b in pol.get("bindings", []):
    if b["role"] == ROLE:
        members.update(b["members"])
want = {"user:client%02d-%02d@example.com" % (n, i)
        for n in range(CLIENTS) for i in range(EACH)}
fk.check(want <= members, "lost %d members" % len(want - members))
fk.check(len(members) == CLIENTS * EACH, "%d members" % len(members))
fk.check(sum(conflicts) > 0, "concurrent writers saw at least one 409")
print("%d read-modify-writes by %d clients in %.2f s, %d conflicts retried"
      % (CLIENTS * EACH, CLIENTS, elapsed, sum(conflicts)))

# Limits and masks checked on the way.
big = [{"role": "roles/viewer",
        "members": ["user:u%04d@example.com" % i for i in range(1501)]}]
st, body, _ = c.request("POST", path + ":setIamPolicy",
                        {"policy": {"bindings": big}})
fk.check(st == 400 and "1500" in body["error"]["message"],
         "more than 1500 principals rejected")
big[0]["members"].pop()
st, body, _ = c.request("POST", path + ":setIamPolicy",
                        {"policy": {"bindings": big}})
fk.check(st == 200, "1500 principals accepted")
st, body, _ = c.request("POST", path + ":setIamPolicy",
                        {"policy": {"bindings": []}, "updateMask": "owners"})
fk.check(st == 400, "an updateMask outside the policy is rejected")
fk.finish("test_iam_concurrency")
