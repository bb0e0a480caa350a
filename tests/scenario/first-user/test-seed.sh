#!/usr/bin/env bash
# Seed the sandbox (CTest fixture) with the first user's state and check,
# through the APIs driftless itself calls, that it is what the demo needs.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../../.." && pwd)
work=$(mktemp -d)
env_file=${DL_SANDBOX_ENV:-$DL_BINARY_DIR/sandbox/env}
# The fixture is shared: put fakegcp's state back as we found it (other
# suites expect the sandbox's own project) and empty our Firestore database.
curl -sf "$FAKEGCP_URL/_fake/v1/state" -o "$work/state.json"
restore() {
    curl -sf -o /dev/null -X PUT --data-binary "@$work/state.json" \
        "$FAKEGCP_URL/_fake/v1/state" || echo "could not restore fakegcp's state" >&2
    curl -sf -o /dev/null -X DELETE \
        "http://$FIRESTORE_EMULATOR_HOST/emulator/v1/projects/nba-props-platform/databases/(default)/documents" ||
        echo "could not clear the emulator" >&2
    rm -rf "$work"
}
trap restore EXIT
"$top/tests/sample/make-monorepo.sh" "$work/monorepo" >/dev/null
start=$(date +%s%N)
"$here/seed" "$env_file" "$work/monorepo" | tee "$work/seed.out"
end=$(date +%s%N)
echo "seed took $(((end - start) / 1000000)) ms"
grep -q '^seed: Firestore: 106349 documents' "$work/seed.out"
python3 "$here/check_seed.py" "$work/monorepo"
