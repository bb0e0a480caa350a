#!/usr/bin/env bash
# with-env.sh CMD... - run CMD inside the sandbox started by the CTest
# fixture `sandbox` (its env file is ${DL_BINARY_DIR}/sandbox/env).
set -euo pipefail
env_file=${DL_SANDBOX_ENV:-${DL_BINARY_DIR:?DL_BINARY_DIR is not set}/sandbox/env}
[ -f "$env_file" ] || { echo "with-env: no sandbox env \"$env_file\"" >&2; exit 1; }
# shellcheck disable=SC1090
. "$env_file"
exec "$@"
