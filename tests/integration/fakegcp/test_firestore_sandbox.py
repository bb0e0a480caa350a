"""The sandbox's Firestore emulator answers at FIRESTORE_EMULATOR_HOST:
write, read, list, clear (the emulator's own clear endpoint)."""
import os

import fk

host = os.environ.get("FIRESTORE_EMULATOR_HOST")
fk.check(bool(host), "FIRESTORE_EMULATOR_HOST is set")
c = fk.Client("http://" + host)
db = "/v1/projects/%s/databases/(default)/documents" % fk.PROJECT
owner = {"Authorization": "Bearer owner"}

st, _, _ = c.request("DELETE", "/emulator" + db, auth=False)
fk.check(st == 200, "clear emulator: 200, got %s" % st)
st, body, _ = c.request("POST", db + "/sandbox-test?documentId=d1",
                        {"fields": {"n": {"integerValue": "7"}}}, auth=False,
                        headers=owner)
fk.check(st == 200 and body["name"].endswith("/sandbox-test/d1"),
         "create document: got %s %s" % (st, body))
st, body, _ = c.request("GET", db + "/sandbox-test/d1", auth=False,
                        headers=owner)
fk.check(st == 200 and body["fields"]["n"]["integerValue"] == "7",
         "read back")
st, _, _ = c.request("DELETE", "/emulator" + db, auth=False)
st, body, _ = c.request("GET", db + "/sandbox-test", auth=False,
                        headers=owner)
fk.check(st == 200 and body in ({}, None), "empty after clear: %s" % body)
fk.finish("test_firestore_sandbox")
