#!/usr/bin/env bash
# check-tls.sh PROBE - TLS through the libcurl transport against a local
# openssl s_server with a self-signed certificate: refused without the CA,
# accepted with the client's ca_bundle option or SSL_CERT_FILE; the body
# cap holds over a real connection.
set -euo pipefail
probe=${1:?usage: check-tls.sh PROBE}
work=$(mktemp -d)
pid=""
cleanup() {
    if [ -n "$pid" ]; then
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=localhost" \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
    -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
openssl s_server -accept "127.0.0.1:$port" -cert "$work/cert.pem" \
    -key "$work/key.pem" -www -quiet </dev/null >"$work/server.log" 2>&1 &
pid=$!
for _ in $(seq 1 50); do
    python3 -c "import socket,sys; socket.create_connection(('127.0.0.1',$port),1)" 2>/dev/null && break
    sleep 0.1
done
url="https://localhost:$port/"
unset SSL_CERT_FILE HTTPS_PROXY https_proxy http_proxy
fail=0
expect() { # label pattern output
    if ! grep -qE -- "$2" <<<"$3"; then
        echo "check-tls: $1: expected /$2/, got: $3" >&2
        fail=1
    fi
}
out=$("$probe" "$url")
expect "unknown CA refused" '^rc=-1 status=0 GET /: .*(certificate|SSL)' "$out"
out=$("$probe" "$url" "$work/cert.pem")
expect "ca_bundle option" '^rc=0 status=200' "$out"
out=$(SSL_CERT_FILE=$work/cert.pem "$probe" "$url")
expect "SSL_CERT_FILE" '^rc=0 status=200' "$out"
out=$("$probe" "$url" "$work/cert.pem" 100)
expect "body cap" '^rc=-7 .*response body larger than 100 bytes' "$out"
out=$("$probe" "http://localhost.localdomain.example:$port/")
expect "plain http to a non-loopback host" "^rc=-5 .*refusing plain http://" "$out"

# The same through the binary: `driftless --ca-bundle FILE plan`. s_server
# answers every path with an HTML page, so the Project cannot be planned
# either way; what differs is whether TLS got that far.
bin="${DL_BINARY_DIR:-}/driftless"
if [ -x "$bin" ]; then
    mkdir -p "$work/ds/desired-state"
    cat >"$work/ds/desired-state/project.yaml" <<'YAML'
apiVersion: driftless.dev/v1alpha1
kind: Project
metadata:
  name: tls-check-project
spec:
  region: us-west2
YAML
    export DRIFTLESS_ACCESS_TOKEN=tls-check-token
    out=$(DRIFTLESS_API_ENDPOINT="https://localhost:$port" "$bin" plan --source "$work/ds" 2>&1 || true)
    expect "cli: unknown CA refused" 'certificate|SSL' "$out"
    out=$(DRIFTLESS_API_ENDPOINT="https://localhost:$port" "$bin" --ca-bundle "$work/cert.pem" plan --source "$work/ds" 2>&1 || true)
    if grep -qE 'certificate|SSL' <<<"$out"; then
        echo "check-tls: cli --ca-bundle: TLS still refused: $out" >&2
        fail=1
    fi
    expect "cli --ca-bundle reached the server" 'tls-check-project' "$out"
else
    echo "check-tls: $bin not built" >&2
    fail=1
fi
[ $fail = 0 ] && echo "check-tls: unknown CA refused; ca_bundle, SSL_CERT_FILE and --ca-bundle accepted"
exit $fail
