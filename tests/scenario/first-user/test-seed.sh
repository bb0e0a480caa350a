#!/usr/bin/env bash
# Seed the sandbox (CTest fixture) with the first user's state and check,
# through the APIs driftless itself calls, that it is what the demo needs.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$top/tests/sample/make-monorepo.sh" "$work/monorepo" >/dev/null
env_file=${DL_SANDBOX_ENV:-$DL_BINARY_DIR/sandbox/env}
start=$(date +%s%N)
"$here/seed" "$env_file" "$work/monorepo" | tee "$work/seed.out"
end=$(date +%s%N)
echo "seed took $(((end - start) / 1000000)) ms"
grep -q '^seed: Firestore: 106349 documents' "$work/seed.out"
exec python3 "$here/check_seed.py" "$work/monorepo"
