#!/usr/bin/env python3
"""Git smart-HTTP server for the source tests.

Serves every repository under ROOT through `git http-backend` (CGI) on
127.0.0.1:PORT, over TLS when CERT and KEY are given (else plain HTTP),
and requires HTTP basic auth USER:PASSWORD. Every request's method, path
and whether (and which) credentials came is appended to LOG, one line each,
so tests can check what the client sent.

Usage: git_http_server.py PORT ROOT USER PASSWORD LOG [CERT KEY]
"""
import base64
import http.server
import os
import ssl
import subprocess
import sys


def main():
    port, root, user, password, log = sys.argv[1:6]
    cert = sys.argv[6] if len(sys.argv) > 7 else None
    key = sys.argv[7] if len(sys.argv) > 7 else None
    want = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, fmt, *args):
            pass

        def note(self, what):
            with open(log, "a") as f:
                f.write(f"{self.command} {self.path} {what}\n")

        def body(self):
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                out = b""
                while True:
                    size = int(self.rfile.readline().strip().split(b";")[0], 16)
                    if size == 0:
                        self.rfile.readline()
                        return out
                    out += self.rfile.read(size)
                    self.rfile.readline()
            n = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(n) if n else b""

        def serve(self):
            auth = self.headers.get("Authorization")
            data = self.body()
            if auth != want:
                self.note("auth=" + ("none" if auth is None else "wrong"))
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="git"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.note("auth=ok")
            path, _, query = self.path.partition("?")
            env = {
                "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                "GIT_PROJECT_ROOT": root,
                "GIT_HTTP_EXPORT_ALL": "1",
                "REQUEST_METHOD": self.command,
                "PATH_INFO": path,
                "QUERY_STRING": query,
                "CONTENT_TYPE": self.headers.get("Content-Type", ""),
                "CONTENT_LENGTH": str(len(data)),
                "REMOTE_USER": user,
                "GIT_CONFIG_NOSYSTEM": "1",
                "HOME": root,
            }
            if self.headers.get("Git-Protocol"):
                env["GIT_PROTOCOL"] = self.headers["Git-Protocol"]
            out = subprocess.run(["git", "http-backend"], input=data, env=env,
                                 capture_output=True).stdout
            sep = out.find(b"\r\n\r\n")
            head, rest = (out[:sep], out[sep + 4:]) if sep >= 0 else (b"", out)
            status, headers = 200, []
            for line in head.decode("latin-1").split("\r\n"):
                if not line:
                    continue
                name, _, value = line.partition(":")
                if name.lower() == "status":
                    status = int(value.strip().split()[0])
                else:
                    headers.append((name, value.strip()))
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(rest)))
            self.end_headers()
            self.wfile.write(rest)

        do_GET = serve
        do_POST = serve

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", int(port)), Handler)
    if cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
