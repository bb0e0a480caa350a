#!/usr/bin/env bash
# check-secrets.sh PROBE - run the credential paths of src/gcp at debug
# verbosity against the sandbox and fail if a token, a key or a secret
# value appears anywhere in stdout or stderr.
set -euo pipefail
probe=${1:?usage: check-secrets.sh PROBE}
: "${DL_SANDBOX_SA_KEY:?run through tests/sandbox/with-env.sh}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

export PROBE_TOKEN="dl-known-static-token-5f1e2d3c4b5a"
secret_value="dl-known-client-secret-9a8b7c6d"
refresh="1//dl-known-refresh-token-0f0e0d0c"
export PROBE_SA_KEY=$DL_SANDBOX_SA_KEY

# An authorized_user file with known secrets, refreshed at fakegcp.
token_uri=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["token_uri"])' "$DL_SANDBOX_SA_KEY")
umask 077
cat >"$work/user.json" <<JSON
{"type":"authorized_user","client_id":"probe.apps.googleusercontent.com",
 "client_secret":"$secret_value","refresh_token":"$refresh",
 "token_uri":"$token_uri"}
JSON
export PROBE_USER_FILE=$work/user.json
# The sandbox key with a private key fakegcp does not know.
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$work/other.pem" 2>/dev/null
python3 - "$DL_SANDBOX_SA_KEY" "$work/other.pem" "$work/bad.json" <<'PY'
import json, sys
k = json.load(open(sys.argv[1]))
k["private_key"] = open(sys.argv[2]).read()
json.dump(k, open(sys.argv[3], "w"))
PY
export PROBE_BAD_KEY=$work/bad.json

for fmt in text json; do
    "$probe" "$fmt" >"$work/out-$fmt.txt" 2>&1
done
cat "$work"/out-*.txt >"$work/all.txt"

fail=0
need() { # the probe really did its work
    grep -qF -- "$1" "$work/all.txt" || { echo "check-secrets: missing \"$1\" in the output" >&2; fail=1; }
}
never() { # label value
    if grep -qF -- "$2" "$work/all.txt"; then
        echo "check-secrets: $1 appears in the output" >&2
        fail=1
    fi
}
need "static-token: ok:"
need "service-account: ok:"
need "metadata: ok:"
need "wrong-key: error:"
need "gcp: POST /v1/projects/"
never "the static token" "$PROBE_TOKEN"
never "the client secret" "$secret_value"
never "the refresh token" "$refresh"
never "an Authorization header" "Bearer "
never "a fakegcp access token" "ya29."
never "a JWT" "eyJhbGci"
for key in "$DL_SANDBOX_SA_KEY" "$work/bad.json"; do
    python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["private_key"])' "$key" |
        grep -v -- '-----' | cut -c1-32 >"$work/keylines"
    while read -r line; do
        [ -n "$line" ] && never "a private key line" "$line"
    done <"$work/keylines"
done
if [ $fail != 0 ]; then
    echo "--- probe output ---" >&2
    cat "$work/all.txt" >&2
    exit 1
fi
echo "check-secrets: $(wc -l <"$work/all.txt") lines of output, no secret in them"
