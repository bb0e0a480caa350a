"""fakegcp as a process: port 0, 300 concurrent keep-alive connections,
--state kept across a SIGTERM restart, clean exit codes. Starts its own
fakegcp ($DL_BINARY_DIR/fakegcp) so it can signal it."""
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading

import fk

BIN = os.path.join(os.environ.get("DL_BINARY_DIR", "build"), "fakegcp")


def start(*args):
    p = subprocess.Popen([BIN, "--listen", "127.0.0.1:0"] + list(args),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    line = p.stdout.readline().strip()
    prefix = "fakegcp listening on 127.0.0.1:"
    if not line.startswith(prefix):
        p.kill()
        sys.exit("fakegcp did not start: %r %s" % (line, p.stderr.read()))
    port = int(line[len(prefix):])
    fk.check(port > 0, "port 0 picks a free port (%d)" % port)
    return p, fk.Client("http://127.0.0.1:%d" % port), port


def stop(p):
    p.send_signal(signal.SIGTERM)
    try:
        rc = p.wait(timeout=20)
    except subprocess.TimeoutExpired:
        p.kill()
        rc = "hung"
    err = p.stderr.read()
    fk.check(rc == 0, "exit 0 on SIGTERM, got %s: %s" % (rc, err[-500:]))


with tempfile.TemporaryDirectory() as tmp:
    state = os.path.join(tmp, "state.json")
    p, c, port = start("--state", state, "--op-delay-ms", "0")
    seed = fk.default_state()
    seed["iam"] = {"projects/%s" % fk.PROJECT: {"bindings": [
        {"role": "roles/viewer", "members": ["user:keep@example.com"]}]}}
    fk.seed(c, seed)
    st, op, _ = c.request("POST", "/v2/projects/%s/locations/us-central1/"
                          "services?serviceId=kept" % fk.PROJECT,
                          {"template": {"containers": [{"image": "x"}]}})
    fk.check(st == 200 and op.get("done") is True,
             "--op-delay-ms 0 finishes at once")

    # 300 connections open at once, each keeping its connection alive.
    errors = []
    barrier = threading.Barrier(300)

    def one(i):
        s = socket.create_connection(("127.0.0.1", port), timeout=30)
        try:
            barrier.wait(timeout=30)
            for _ in range(2):
                s.sendall(b"GET /v1/projects/%s HTTP/1.1\r\nHost: x\r\n"
                          b"Authorization: Bearer t\r\n\r\n" %
                          fk.PROJECT.encode())
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = s.recv(65536)
                    if not chunk:
                        raise ConnectionError("closed")
                    data += chunk
                head, _, rest = data.partition(b"\r\n\r\n")
                n = int([h.split(b":")[1] for h in head.split(b"\r\n")
                         if h.lower().startswith(b"content-length")][0])
                while len(rest) < n:
                    rest += s.recv(65536)
                if not head.startswith(b"HTTP/1.1 200"):
                    raise ConnectionError(head[:40])
        except Exception as e:  # noqa: BLE001 - collected and reported
            errors.append(repr(e))
        finally:
            s.close()

    threads = [threading.Thread(target=one, args=(i,)) for i in range(300)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    fk.check(not errors, "300 concurrent keep-alive connections: %s" %
             errors[:3])
    stop(p)
    fk.check(os.path.exists(state), "state file written on exit")

    p, c, _ = start("--state", state)
    st, pol, _ = c.request("POST", "/v1/projects/%s:getIamPolicy" %
                           fk.PROJECT, {})
    fk.check(st == 200 and pol["bindings"][0]["members"] ==
             ["user:keep@example.com"], "IAM policy survived a restart")
    st, svc, _ = c.request("GET", "/v2/projects/%s/locations/us-central1/"
                           "services/kept" % fk.PROJECT)
    fk.check(st == 200 and svc["generation"] == "1", "service survived")
    st, whole, _ = c.request("GET", "/_fake/v1/state", auth=False)
    fk.check(set(whole) >= {"projects", "run", "iam"}, "GET state")
    stop(p)

    with open(state, "w") as f:
        f.write("{not json")
    r = subprocess.run([BIN, "--listen", "127.0.0.1:0", "--state", state],
                       capture_output=True, text=True, timeout=20)
    fk.check(r.returncode != 0, "a corrupt state file is an error")
    r = subprocess.run([BIN, "--bogus"], capture_output=True, text=True,
                       timeout=20)
    fk.check(r.returncode == 2 and "usage" in r.stderr, "usage on bad flags")
fk.finish("test_server")
