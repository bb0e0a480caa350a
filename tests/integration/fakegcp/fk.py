"""Shared helpers for the fakegcp integration tests (python3 stdlib only).

Every test runs inside the sandbox fixture (tests/sandbox/with-env.sh), so
FAKEGCP_URL and friends are in the environment.
"""
import base64
import http.client
import json
import os
import subprocess
import sys
import time
import urllib.parse  # noqa: F401 (tests use fk.urllib.parse)

URL = os.environ.get("FAKEGCP_URL", "")
PROJECT = os.environ.get("DL_SANDBOX_PROJECT", "demo-proj")
PROJECT_NUMBER = os.environ.get("DL_SANDBOX_PROJECT_NUMBER", "123456789012")
AUTH = {"Authorization": "Bearer ya29.test-token"}

failures = []


def check(cond, what):
    """Record a failed expectation (the test goes on, then fails)."""
    if not cond:
        failures.append(what)
        print("FAIL: " + what, file=sys.stderr)
    return cond


def finish(name):
    if failures:
        print("%s: %d failure(s)" % (name, len(failures)), file=sys.stderr)
        sys.exit(1)
    print("%s: ok" % name)


class Client:
    """One keep-alive HTTP/1.1 connection to fakegcp."""

    def __init__(self, base=None):
        if not (base or URL):
            sys.exit("FAKEGCP_URL is not set: run under "
                     "tests/sandbox/with-env.sh")
        u = urllib.parse.urlparse(base or URL)
        self.host, self.port = u.hostname, u.port
        self.conn = None

    def request(self, method, path, body=None, headers=None, auth=True,
                raw=None):
        """(status, parsed JSON or text or None, response headers)."""
        h = dict(AUTH) if auth else {}
        if headers:
            h.update(headers)
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
            h.setdefault("Content-Type", "application/json")
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port,
                                                       timeout=30)
            try:
                self.conn.request(method, path, body=data, headers=h)
                r = self.conn.getresponse()
                text = r.read().decode()
                break
            except (http.client.HTTPException, ConnectionError, OSError):
                self.conn.close()
                self.conn = None
                if attempt == 1:
                    raise
        if r.getheader("Connection", "").lower() == "close":
            self.conn.close()
            self.conn = None
        parsed = None
        if text:
            try:
                parsed = json.loads(text)
            except ValueError:
                parsed = text
        return r.status, parsed, dict(r.getheaders())

    def close(self):
        if self.conn:
            self.conn.close()
            self.conn = None


def seed(client, state):
    st, body, _ = client.request("PUT", "/_fake/v1/state", state, auth=False)
    if st != 200:
        raise RuntimeError("seeding fakegcp failed: %s %s" % (st, body))


def default_state():
    return {"projects": [{"projectId": PROJECT,
                          "projectNumber": PROJECT_NUMBER}]}


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def sign_jwt(claims, key_pem_path):
    """An RS256 JWT signed with the PEM key (via the openssl CLI)."""
    header = {"alg": "RS256", "typ": "JWT", "kid": "test"}
    signing_input = (b64url(json.dumps(header).encode()) + "." +
                     b64url(json.dumps(claims).encode()))
    sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign",
                          key_pem_path], input=signing_input.encode(),
                         capture_output=True, check=True).stdout
    return signing_input + "." + b64url(sig)


def get_path(obj, path):
    """Follow a.b[0].c; returns (found, value)."""
    cur = obj
    for part in path.replace("]", "").replace("[", ".").split("."):
        if part == "":
            continue
        if isinstance(cur, list):
            try:
                cur = cur[int(part)]
            except (ValueError, IndexError):
                return False, None
        elif isinstance(cur, dict) and part in cur:
            cur = cur[part]
        else:
            return False, None
    return True, cur


def now():
    return int(time.time())
