#!/bin/sh
# No Docker engine runs here: check the Dockerfile's shape instead.
set -eu
f="${DL_SOURCE_DIR:?}/Dockerfile"
fail() { echo "check-dockerfile: $*" >&2; exit 1; }
[ -f "$f" ] || fail "Dockerfile is missing"
[ "$(grep -c '^FROM ' "$f")" -ge 2 ] || fail "want a multi-stage build (two FROM lines)"
grep -q '^FROM debian:12' "$f" || fail "want a Debian 12 builder"
grep -q 'scripts/install-deps' "$f" || fail "the builder must use scripts/install-deps"
grep -q '^USER ' "$f" || fail "the runtime stage must run as a non-root user"
grep -q '^ENTRYPOINT \["/usr/local/bin/driftless"\]\|^ENTRYPOINT \["driftless"\]' "$f" || fail "want ENTRYPOINT [\"driftless\"]"
last_user=$(grep '^USER ' "$f" | tail -1 | awk '{print $2}')
[ "$last_user" != "root" ] && [ "$last_user" != "0" ] || fail "final USER is root"
echo "check-dockerfile: ok"
