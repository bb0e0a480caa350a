#!/usr/bin/env bash
# Run fakegcp under valgrind memcheck while the replay, Cloud Run, IAM
# concurrency and fault tests drive it; fail on any memcheck error or leak
# (valgrind exits 99) or an unclean exit after SIGTERM.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${DL_BINARY_DIR:?}/fakegcp
vg=${VALGRIND:-valgrind}
tmp=$(mktemp -d)
"$vg" --quiet --error-exitcode=99 --leak-check=full \
    --show-leak-kinds=definite,indirect \
    --errors-for-leak-kinds=definite,indirect \
    "$bin" --listen 127.0.0.1:0 --op-delay-ms 1000 \
    </dev/null >"$tmp/out" 2>"$tmp/err" &
pid=$!
cleanup() {
    kill "$pid" 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT
port=""
for _ in $(seq 1 300); do
    port=$(sed -n 's/^fakegcp listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$tmp/out")
    [ -n "$port" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
done
[ -n "$port" ] || { cat "$tmp/err" >&2; echo "fakegcp did not start" >&2; exit 1; }
export FAKEGCP_URL=http://127.0.0.1:$port
for t in replay run iam_concurrency faults; do
    python3 "$here/test_$t.py"
done
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
if [ "$rc" -ne 0 ]; then
    grep -v 'Application reported\|application reported' "$tmp/err" >&2 || true
    echo "fakegcp under valgrind exited $rc" >&2
    exit 1
fi
echo "fakegcp: clean under valgrind"
