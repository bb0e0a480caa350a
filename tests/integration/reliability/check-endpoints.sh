#!/usr/bin/env bash
# check-endpoints.sh - endpoint safety through the binary: every way of
# pointing driftless at a plain http:// URL on a non-loopback host (the API
# endpoint overrides, the Firestore emulator variable, token_uri in a
# service-account or authorized_user file, an external account's STS
# token_url) is refused with a clear message before
# anything is sent; the source has no switch that turns TLS verification
# off; the one insecure switch (ssh host keys) warns on every run.
# Needs no network: every refusal happens before a connection.
set -euo pipefail
bin="${DL_BINARY_DIR:?}/driftless"
src="${DL_SOURCE_DIR:?}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
umask 077
mkdir -p "$work/repo/desired-state"
cat >"$work/repo/desired-state/project.yaml" <<'YAML'
apiVersion: driftless.dev/v1alpha1
kind: Project
metadata:
  name: endpoint-check
spec:
  region: us-west2
YAML
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
    -out "$work/key.pem" 2>/dev/null
python3 - "$work" <<'PY'
import json, sys
w = sys.argv[1]
pem = open(w + "/key.pem").read()
def dump(name, doc):
    with open("%s/%s.json" % (w, name), "w") as f:
        json.dump(doc, f)
dump("sa", {"type": "service_account", "project_id": "p",
            "private_key_id": "k1", "private_key": pem,
            "client_email": "x@p.iam.gserviceaccount.com",
            "token_uri": "http://10.0.0.1/token"})
dump("user", {"type": "authorized_user", "client_id": "c",
              "client_secret": "s", "refresh_token": "r",
              "token_uri": "http://10.0.0.1/token"})
open(w + "/subject.txt", "w").write("subject-token")
dump("sts", {"type": "external_account", "audience": "//iam/x",
             "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
             "token_url": "http://10.0.0.1/v1/token",
             "credential_source": {"file": w + "/subject.txt"}})
PY

fail=0
# refused LABEL HOST ENV=VALUE...: plan exits 1 quickly and says why.
refused() {
    local label=$1 host=$2 out rc=0
    shift 2
    out=$(env -i PATH="$PATH" HOME="$work" "$@" timeout 60 \
          "$bin" plan --source "$work/repo" 2>&1) || rc=$?
    if [ "$rc" != 1 ] ||
       ! grep -qF "refusing plain http:// to '$host'" <<<"$out"; then
        echo "check-endpoints: $label: exit $rc, not refused: $out" >&2
        fail=1
    fi
}
T=DRIFTLESS_ACCESS_TOKEN=endpoint-check-token
refused "DRIFTLESS_API_ENDPOINT" 10.0.0.1 $T DRIFTLESS_API_ENDPOINT=http://10.0.0.1
refused "DRIFTLESS_RUN_ENDPOINT" run.example.com $T DRIFTLESS_RUN_ENDPOINT=http://run.example.com:80
refused "DRIFTLESS_OAUTH2_ENDPOINT" 10.0.0.2 $T DRIFTLESS_OAUTH2_ENDPOINT=http://10.0.0.2
refused "DRIFTLESS_STS_ENDPOINT" sts.example.com $T DRIFTLESS_STS_ENDPOINT=http://sts.example.com
refused "FIRESTORE_EMULATOR_HOST" 10.0.0.1 $T FIRESTORE_EMULATOR_HOST=10.0.0.1:8080
refused "an IPv6 host" "fd00::1" $T "DRIFTLESS_API_ENDPOINT=http://[fd00::1]:8080"
refused "token_uri of a service-account key" 10.0.0.1 GOOGLE_APPLICATION_CREDENTIALS="$work/sa.json"
refused "token_uri of an authorized_user file" 10.0.0.1 GOOGLE_APPLICATION_CREDENTIALS="$work/user.json"
refused "STS token_url" 10.0.0.1 GOOGLE_APPLICATION_CREDENTIALS="$work/sts.json"

# TLS verification has no off switch: libcurl and libgit2 verify by
# default, and nothing in src/ may weaken that.
if grep -rnE 'CURLOPT_(PROXY_)?SSL_VERIFY(PEER|HOST|STATUS)|CURLSSLOPT_(NO_REVOKE|ALLOW_BEAST)|GIT_OPT_SET_SSL_CERT_LOCATIONS.*NULL|CURLOPT_FOLLOWLOCATION' "$src/src"; then
    echo "check-endpoints: src/ touches TLS verification or follows redirects" >&2
    fail=1
fi
# libgit2's certificate callback accepts an invalid certificate only for
# ssh host keys under --insecure-skip-host-key-check.
if ! grep -q 'if (ssh && ctx->opts->insecure_skip_host_key_check)' "$src/src/source/remote.c"; then
    echo "check-endpoints: remote.c's certificate check changed; review it" >&2
    fail=1
fi
# The one insecure switch warns on every run.
out=$(env -i PATH="$PATH" HOME="$work" "$bin" validate \
      --insecure-skip-host-key-check --source "$work/repo" 2>&1) || true
if ! grep -q "ssh host keys of git servers are not verified" <<<"$out"; then
    echo "check-endpoints: --insecure-skip-host-key-check is silent: $out" >&2
    fail=1
fi
[ $fail = 0 ] && echo "check-endpoints: every plain-http endpoint refused; no TLS off switch"
exit $fail
