"""A loopback HTTP proxy that injects faults in front of the Firestore
emulator (which has none of its own): the same fault vocabulary as
fakegcp's /_fake/v1/faults, so `driftless` sees 503s, 429s, connection
resets, truncated bodies and latency spikes on runQuery, batchWrite and the
lease's document calls too. python3 stdlib only.

    p = FaultProxy("127.0.0.1:8080", seed=42)   # upstream host:port
    p.start()                                    # p.host is "127.0.0.1:N"
    p.set_faults({"503": 0.1, "429": 0.05, "retryInfoSeconds": 1,
                  "retryInfoRate": 0.5, "resetRate": 0.02,
                  "truncateRate": 0.01, "spikeRate": 0.05, "spikeMs": 200})
    p.counts  # {"batchWrite": 12, "runQuery": 3, ...} (requests seen)
    p.stop()

A reset closes the client's connection without an answer, half of the
time after the request reached the emulator (the write happened, its
answer is lost). A truncated answer announces its full Content-Length and
closes half-way through the body.
"""
import http.client
import http.server
import json
import random
import socket
import threading
import time

HOP = {"connection", "keep-alive", "transfer-encoding", "content-length",
       "proxy-connection", "upgrade", "te", "trailer"}
STATUS = {429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE",
          504: "DEADLINE_EXCEEDED", 409: "ABORTED"}


def kind_of(path):
    """A short name for what a request does (for counts and kill points)."""
    for k in (":batchWrite", ":runQuery", ":commit", ":batchGet"):
        if k in path.split("?")[0]:
            return k[1:]
    if "/driftless_leases/" in path:
        return "lease"
    return "other"


class FaultProxy:
    def __init__(self, upstream, seed=0):
        self.upstream = upstream
        self.faults = {}
        self.rng = random.Random(seed)
        self.mu = threading.Lock()
        self.counts = {}
        self.injected = {}
        self.server = None
        self.thread = None
        self.host = None

    def set_faults(self, faults):
        with self.mu:
            self.faults = dict(faults)
            if "seed" in faults:
                self.rng = random.Random(faults["seed"])

    def _count(self, table, key):
        with self.mu:
            table[key] = table.get(key, 0) + 1

    def pick(self):
        """(kind, status, delay_s, retry_info) for one request."""
        with self.mu:
            f, r = self.faults, self.rng
            delay = f.get("latencyMs", 0) / 1000.0
            if f.get("spikeRate", 0) and r.random() < f["spikeRate"]:
                delay += f.get("spikeMs", 0) / 1000.0
            x = r.random()
            if x < f.get("resetRate", 0):
                return ("reset-before" if r.random() < 0.5 else
                        "reset-after"), 0, delay, False
            x -= f.get("resetRate", 0)
            for key, rate in f.items():
                if key.isdigit():
                    if x < rate:
                        ri = (int(key) == 429 and
                              f.get("retryInfoSeconds", 0) > 0 and
                              r.random() < f.get("retryInfoRate", 1.0))
                        return "status", int(key), delay, ri
                    x -= rate
            if f.get("truncateRate", 0) and r.random() < f["truncateRate"]:
                return "truncate", 0, delay, False
            return "none", 0, delay, False

    def start(self):
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def upstream_conn(self):
                c = getattr(self, "_up", None)
                if c is None:
                    c = http.client.HTTPConnection(proxy.upstream, timeout=120)
                    self._up = c
                return c

            def forward(self, body):
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() not in HOP and k.lower() != "host"}
                for attempt in (0, 1):
                    c = self.upstream_conn()
                    try:
                        c.request(self.command, self.path, body=body,
                                  headers=headers)
                        r = c.getresponse()
                        data = r.read()
                        return r.status, r.getheaders(), data
                    except (http.client.HTTPException, OSError):
                        c.close()
                        self._up = None
                        if attempt:
                            raise
                return None

            def reset(self):
                try:
                    self.connection.setsockopt(
                        socket.SOL_SOCKET, socket.SO_LINGER,
                        b"\x01\x00\x00\x00\x00\x00\x00\x00")
                except OSError:
                    pass
                self.close_connection = True
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

            def handle_any(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else None
                kind = kind_of(self.path)
                proxy._count(proxy.counts, kind)
                fault, status, delay, ri = proxy.pick()
                if fault != "none":
                    proxy._count(proxy.injected, fault + (
                        str(status) if status else ""))
                if delay:
                    time.sleep(delay)
                if fault == "reset-before":
                    return self.reset()
                if fault == "status":
                    err = {"code": status, "status": STATUS.get(
                        status, "UNKNOWN"), "message":
                        "injected fault %d (faultproxy)" % status}
                    if ri:
                        err["details"] = [{
                            "@type": "type.googleapis.com/google.rpc.RetryInfo",
                            "retryDelay": "%ds" % self_faults("retryInfoSeconds")}]
                    out = json.dumps({"error": err}).encode()
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    if ri:
                        self.send_header("Retry-After", str(
                            self_faults("retryInfoSeconds")))
                    self.send_header("Content-Length", str(len(out)))
                    self.end_headers()
                    self.wfile.write(out)
                    return
                try:
                    st, hdrs, data = self.forward(body)
                except (http.client.HTTPException, OSError):
                    return self.reset()
                if fault == "reset-after":
                    return self.reset()
                self.send_response(st)
                for k, v in hdrs:
                    if k.lower() not in HOP:
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if fault == "truncate" and len(data) > 1:
                    self.wfile.write(data[:len(data) // 2])
                    self.wfile.flush()
                    return self.reset()
                self.wfile.write(data)

            do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = handle_any

        def self_faults(key):
            with proxy.mu:
                return proxy.faults.get(key, 0)

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True
            request_queue_size = 128

            def handle_error(self, request, client_address):
                pass  # a killed client: broken pipes are expected

        self.server = Server(("127.0.0.1", 0), Handler)
        self.host = "127.0.0.1:%d" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       daemon=True)
        self.thread.start()
        return self

    def stop(self):
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
