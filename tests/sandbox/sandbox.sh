#!/usr/bin/env bash
# sandbox.sh up|down|env DIR
#
# The local stand-in for Google Cloud that integration tests, benchmarks and
# the demo run against: fakegcp (tests/fakegcp) and the real Firestore
# emulator, each on a free loopback port and in its own process group.
#
#   up DIR    start both, wait until both answer, write DIR/env
#   down DIR  stop both process groups (by the pids recorded in DIR/pids),
#             wait, and fail loudly if anything is left or fakegcp reported
#             a sanitizer error
#   env DIR   print DIR/env
#
# DIR/env holds `export` lines: DRIFTLESS_API_ENDPOINT, FAKEGCP_URL,
# GCE_METADATA_HOST, FIRESTORE_EMULATOR_HOST, DL_SANDBOX_SA_KEY (a service
# account key whose token_uri is fakegcp's /token), DL_SANDBOX_PUBLIC_KEY,
# DL_SANDBOX_PROJECT, DL_SANDBOX_FAKEGCP_PID, DL_SANDBOX_FIRESTORE_PID.
# fakegcp is $FAKEGCP_BIN, else $DL_BINARY_DIR/fakegcp, else build/fakegcp.
# SANDBOX_NO_FIRESTORE=1 skips the emulator (FIRESTORE_EMULATOR_HOST is then
# not written).
set -Eeuo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
project=demo-proj
project_number=123456789012

die() {
    echo "sandbox: $*" >&2
    exit 1
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

group_alive() { # pgid
    kill -0 -- "-$1" 2>/dev/null
}

stop_group() { # pgid name; 0 when gone
    local pgid=$1 name=$2 i
    group_alive "$pgid" || return 0
    kill -TERM -- "-$pgid" 2>/dev/null || true
    for i in $(seq 1 100); do
        group_alive "$pgid" || return 0
        sleep 0.1
    done
    echo "sandbox: $name (process group $pgid) ignored SIGTERM; killing it" >&2
    kill -KILL -- "-$pgid" 2>/dev/null || true
    for i in $(seq 1 50); do
        group_alive "$pgid" || return 1
        sleep 0.1
    done
    echo "sandbox: $name (process group $pgid) is still running" >&2
    return 1
}

do_down() {
    local dir=$1 rc=0 name pid
    [ -f "$dir/pids" ] || return 0
    while read -r name pid; do
        [ -n "$pid" ] || continue
        stop_group "$pid" "$name" || rc=1
    done <"$dir/pids"
    rm -f "$dir/pids"
    if [ -f "$dir/fakegcp.log" ] &&
        grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' \
            "$dir/fakegcp.log"; then
        echo "sandbox: fakegcp reported a sanitizer error:" >&2
        cat "$dir/fakegcp.log" >&2
        rc=1
    fi
    return $rc
}

fs_port=""
fs_pid=""

start_firestore() { # dir; sets fs_port, fs_pid
    fs_port=$(free_port)
    mkdir -p "$1/gcloud"
    CLOUDSDK_CONFIG=$1/gcloud CLOUDSDK_CORE_DISABLE_PROMPTS=1 \
        setsid gcloud emulators firestore start \
        --host-port="127.0.0.1:$fs_port" \
        </dev/null >"$1/firestore.log" 2>&1 &
    fs_pid=$!
    echo "firestore $fs_pid" >>"$1/pids"
}

wait_firestore() { # 0 once the emulator answers, 1 if it died or timed out
    local i
    for i in $(seq 1 600); do
        curl -sf -o /dev/null "http://127.0.0.1:$fs_port/" && return 0
        kill -0 "$fs_pid" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

do_up() {
    local dir=$1 bin port fk_pid i
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    do_down "$dir" || true
    rm -f "$dir/env" "$dir/fakegcp.log" "$dir/firestore.log"

    bin=${FAKEGCP_BIN:-}
    [ -n "$bin" ] || { [ -n "${DL_BINARY_DIR:-}" ] && bin=$DL_BINARY_DIR/fakegcp; }
    [ -n "$bin" ] || bin=$top/build/fakegcp
    [ -x "$bin" ] || die "no fakegcp binary at \"$bin\" (build first)"

    # Credentials: an RSA key pair and a service-account key file whose
    # token_uri points at fakegcp, which checks signatures with the public key.
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
        -out "$dir/sa-private.pem" 2>/dev/null
    openssl pkey -in "$dir/sa-private.pem" -pubout -out "$dir/sa-public.pem"
    chmod 600 "$dir/sa-private.pem"

    : >"$dir/pids"
    trap 'do_down "$dir" >/dev/null 2>&1 || true' ERR
    # Own process group (setsid), no inherited pipes: ctest waits for those.
    setsid "$bin" --listen 127.0.0.1:0 --public-key "$dir/sa-public.pem" \
        </dev/null >"$dir/fakegcp.log" 2>&1 &
    fk_pid=$!
    echo "fakegcp $fk_pid" >>"$dir/pids"

    if [ "${SANDBOX_NO_FIRESTORE:-0}" != 1 ]; then
        start_firestore "$dir"
    fi

    port=""
    for i in $(seq 1 100); do
        port=$(sed -n 's/^fakegcp listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' \
            "$dir/fakegcp.log")
        [ -n "$port" ] && break
        kill -0 "$fk_pid" 2>/dev/null || break
        sleep 0.1
    done
    if [ -z "$port" ]; then
        cat "$dir/fakegcp.log" >&2
        do_down "$dir" || true
        die "fakegcp did not start"
    fi
    curl -sf -o /dev/null "http://127.0.0.1:$port/_fake/v1/state" ||
        { do_down "$dir" || true; die "fakegcp does not answer"; }
    curl -sf -o /dev/null -X PUT \
        -d "{\"projects\":[{\"projectId\":\"$project\",\"projectNumber\":\"$project_number\"}]}" \
        "http://127.0.0.1:$port/_fake/v1/state" ||
        { do_down "$dir" || true; die "cannot seed fakegcp"; }

    if [ -n "$fs_pid" ]; then
        # A port picked free can be taken before Java binds it: try again
        # with another one if the emulator dies.
        local tries=1
        until wait_firestore; do
            if [ $tries -ge 3 ] || kill -0 "$fs_pid" 2>/dev/null; then
                cat "$dir/firestore.log" >&2
                do_down "$dir" || true
                die "the Firestore emulator did not answer within 60 s"
            fi
            tries=$((tries + 1))
            start_firestore "$dir"
        done
    fi

    python3 - "$dir" "$port" "$project" <<'PY'
import json, os, sys
d, port, project = sys.argv[1], sys.argv[2], sys.argv[3]
key = {
    "type": "service_account",
    "project_id": project,
    "private_key_id": os.urandom(20).hex(),
    "private_key": open(os.path.join(d, "sa-private.pem")).read(),
    "client_email": "driftless@%s.iam.gserviceaccount.com" % project,
    "client_id": "100000000000000000001",
    "auth_uri": "https://accounts.google.com/o/oauth2/auth",
    "token_uri": "http://127.0.0.1:%s/token" % port,
    "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
    "client_x509_cert_url": "https://www.googleapis.com/robot/v1/metadata/x509/driftless",
    "universe_domain": "googleapis.com",
}
path = os.path.join(d, "sa-key.json")
fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
with os.fdopen(fd, "w") as f:
    json.dump(key, f, indent=2)
PY

    {
        echo "export DRIFTLESS_API_ENDPOINT=http://127.0.0.1:$port"
        echo "export FAKEGCP_URL=http://127.0.0.1:$port"
        echo "export GCE_METADATA_HOST=127.0.0.1:$port"
        [ -n "$fs_pid" ] && echo "export FIRESTORE_EMULATOR_HOST=127.0.0.1:$fs_port"
        echo "export DL_SANDBOX_SA_KEY=$dir/sa-key.json"
        echo "export DL_SANDBOX_PUBLIC_KEY=$dir/sa-public.pem"
        echo "export DL_SANDBOX_PROJECT=$project"
        echo "export DL_SANDBOX_PROJECT_NUMBER=$project_number"
        echo "export DL_SANDBOX_FAKEGCP_PID=$fk_pid"
        [ -n "$fs_pid" ] && echo "export DL_SANDBOX_FIRESTORE_PID=$fs_pid"
        true
    } >"$dir/env.tmp"
    mv "$dir/env.tmp" "$dir/env"
    trap - ERR
    echo "sandbox: up in $dir (fakegcp 127.0.0.1:$port${fs_pid:+, firestore 127.0.0.1:$fs_port})"
}

[ $# -eq 2 ] || die "usage: sandbox.sh up|down|env DIR"
case $1 in
up) do_up "$2" ;;
down)
    do_down "$2" || die "could not stop everything in $2"
    rm -f "$2/env"
    ;;
env)
    [ -f "$2/env" ] || die "no sandbox in \"$2\" (run up first)"
    cat "$2/env"
    ;;
*) die "usage: sandbox.sh up|down|env DIR" ;;
esac
