#!/usr/bin/env bash
# requireSignedCommits end to end: a commit signed by an allowed key is read;
# an unsigned commit, a commit signed by another key and a dirty work tree
# are refused (exit 1) before anything else happens.
set -euo pipefail
bin="${DL_BINARY_DIR:?}/driftless"
command -v ssh-keygen >/dev/null || { echo "ssh-keygen missing (openssh-client)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

ssh-keygen -q -t ed25519 -N '' -C allowed -f "$work/allowed"
ssh-keygen -q -t ed25519 -N '' -C other -f "$work/other"
repo="$work/repo"
git init -q -b main "$repo"
cd "$repo"
export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@example.com \
    GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@example.com
mkdir desired-state
cat > desired-state/project.yaml <<YAML
apiVersion: driftless.dev/v1alpha1
kind: Project
metadata:
  name: signed-project
spec:
  region: us-west2
  source:
    requireSignedCommits: true
    allowedSigners:
      - "$(cat "$work/allowed.pub")"
YAML
git add -A
sign() { git -c gpg.format=ssh -c user.signingkey="$1" commit -q -S "${@:2}"; }
sign "$work/allowed" -m "signed by the allowed key"

out=$("$bin" validate --source "$repo" 2>&1) || fail "signed commit refused: $out"
echo "$out" | grep -q '^valid: 0 resources in 1 file, 1 project' || fail "summary: $out"

git commit -q --allow-empty -m "unsigned"
if out=$("$bin" validate --source "$repo" 2>&1); then fail "unsigned commit accepted"; fi
echo "$out" | grep -q "project 'signed-project': commit [0-9a-f]\{7\} is not signed" ||
    fail "unsigned message: $out"

sign "$work/other" --allow-empty -m "signed by another key"
if out=$("$bin" validate --source "$repo" 2>&1); then fail "foreign key accepted"; fi
echo "$out" | grep -q "not an allowed key" || fail "foreign key message: $out"

# --ref reads an older, signed commit: accepted again.
"$bin" validate --source "$repo" --ref HEAD~2 >/dev/null 2>&1 || fail "--ref to the signed commit refused"

sign "$work/allowed" --allow-empty -m "signed again"
echo "# edit" >> desired-state/project.yaml
if out=$("$bin" validate --source "$repo" 2>&1); then fail "dirty work tree accepted"; fi
echo "$out" | grep -q "uncommitted changes" || fail "dirty message: $out"
echo "ok: signed-commit policy enforced"
