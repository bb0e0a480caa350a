#!/usr/bin/env bash
# End-to-end tests of `driftless validate` (run by ctest, which sets
# DL_SOURCE_DIR and DL_BINARY_DIR).
set -euo pipefail

src=${DL_SOURCE_DIR:?}
bin=${DL_BINARY_DIR:?}/driftless
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0

fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}

# run EXPECTED_EXIT ARGS...: runs driftless, keeping stdout and stderr.
run() {
    local want=$1 rc=0
    shift
    "$bin" "$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
    if [ "$rc" -ne "$want" ]; then
        fail "driftless $* exited $rc, want $want"
        sed 's/^/  | /' "$tmp/err" >&2
    fi
}

expect_err() { # substring
    grep -qF -- "$1" "$tmp/err" || fail "stderr lacks '$1': $(cat "$tmp/err")"
}

"$src/tests/sample/make-monorepo.sh" "$tmp/repo" >/dev/null

# The example is valid in its monorepo.
run 0 validate --source "$tmp/repo"
expect_err "valid: 9 resources in 9 files, 1 project"
[ "$(wc -l <"$tmp/err")" -eq 1 ] || fail "valid output is not one line"

run 0 validate --source "$tmp/repo" --path desired-state --format json
python3 -m json.tool "$tmp/out" >/dev/null || fail "json output does not parse"
[ "$(tr -d ' \n' <"$tmp/out")" = "[]" ] || fail "json of a valid state: $(cat "$tmp/out")"

# A path that does not exist.
run 1 validate --source "$tmp/repo" --path nope
expect_err "path 'nope' not found in"

# The sample without the raw processor's Dockerfile (committed, so that a
# git source sees it too).
cp -R "$tmp/repo" "$tmp/broken"
git -C "$tmp/broken" rm -q data_processors/raw/Dockerfile
git -C "$tmp/broken" -c user.name=t -c user.email=t@example.com \
    -c commit.gpgsign=false commit -q -m "Move the raw Dockerfile away"
run 1 validate --source "$tmp/broken"
expect_err "desired-state/services/nba-phase2-raw-processors.yaml:7:17: dockerfile 'data_processors/raw/Dockerfile' not found in"
expect_err "    7 |     dockerfile: data_processors/raw/Dockerfile"
expect_err "      |                 ^"
expect_err "invalid: 1 error in 1 file"

run 1 validate --source "$tmp/broken" --format json
python3 - "$tmp/out" <<'PY' || fail "json diagnostics are wrong: $(cat "$tmp/out")"
import json, sys
d = json.load(open(sys.argv[1]))
assert len(d) == 1, d
e = d[0]
assert e["file"] == "desired-state/services/nba-phase2-raw-processors.yaml", e
assert (e["line"], e["column"]) == (7, 17), e
assert e["message"].startswith("dockerfile 'data_processors/raw/Dockerfile'"), e
PY
expect_err "invalid: 1 error in 1 file"

# Every invalid fixture is rejected at the positions its expected file
# lists (the unit test checks the messages too).
# (Copied out of this checkout, so that no enclosing git repository is
# read instead.)
for case in "$src"/tests/fixtures/model/invalid/*/; do
    name=$(basename "$case")
    rm -rf "$tmp/fixture"
    cp -R "$case" "$tmp/fixture"
    run 1 validate --source "$tmp/fixture" --path . --format json
    python3 - "$tmp/out" "$tmp/fixture/expected" <<'PY' || fail "fixture $name: positions differ"
import json, re, sys
got = [(e["file"], e["line"], e["column"]) for e in json.load(open(sys.argv[1]))]
want = []
for line in open(sys.argv[2]):
    m = re.match(r"([^:]+):(\d+):(\d+): ", line)
    want.append((m.group(1), int(m.group(2)), int(m.group(3))))
if got != want:
    print("got", got, "want", want, file=sys.stderr)
    sys.exit(1)
PY
done

# Usage.
run 0 validate --help
for flag in --source --ref --path --format --cache-dir "default: text" \
    "default: desired-state"; do
    grep -qF -- "$flag" "$tmp/out" || fail "--help lacks '$flag'"
done
run 1 validate --format yaml
expect_err "invalid format 'yaml'"
run 1 validate --bogus
expect_err "unknown option '--bogus'"
run 1 validate --source "$tmp/does-not-exist"
expect_err "not found"

if [ "$failures" -ne 0 ]; then
    echo "$failures failure(s)" >&2
    exit 1
fi
echo "validate-cli: all passed"
