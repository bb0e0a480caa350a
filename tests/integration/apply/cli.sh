#!/usr/bin/env bash
# `driftless apply` end to end against the sandbox (fakegcp + the Firestore
# emulator): help text, saved-plan refusals (too old, dirty source, live
# state moved), and no terminal without --auto-approve.
#
# Usage: cli.sh CASE   (help | saved | no-terminal)
set -euo pipefail

bin=${DL_BINARY_DIR:?}/driftless
py=/usr/bin/python3
case_=${1:?case}
work=$(mktemp -d)
# fakegcp's state is shared: put back what the sandbox seeded.
curl -sf "$FAKEGCP_URL/_fake/v1/state" >"$work/initial-state.json"
restore() {
    curl -sf -X PUT "$FAKEGCP_URL/_fake/v1/state" -H 'Content-Type: application/json' \
        --data @"$work/initial-state.json" >/dev/null || echo "cannot restore fakegcp state" >&2
    rm -rf "$work"
}
trap restore EXIT
export DRIFTLESS_ACCESS_TOKEN=test-token
project=dl-apply-cli

fail() { echo "FAIL: $*" >&2; exit 1; }

# A git repo with one enforce-mode project and one IAM member.
make_repo() {
    local repo=$work/repo
    mkdir -p "$repo/desired-state"
    cat >"$repo/desired-state/project.yaml" <<EOF
apiVersion: driftless.dev/v1alpha1
kind: Project
metadata:
  name: $project
spec:
  mode: enforce
  region: europe-west1
---
apiVersion: driftless.dev/v1alpha1
kind: IAMPolicyMember
metadata:
  name: writer
spec:
  role: roles/monitoring.metricWriter
  member: serviceAccount:writer@$project.iam.gserviceaccount.com
EOF
    git -C "$repo" init -q
    git -C "$repo" add -A
    git -C "$repo" -c user.email=t@example.com -c user.name=t commit -qm init
    echo "$repo"
}

# Turn a `driftless plan --out` file into a saved plan that creates the
# member: as a reviewer would have seen it when the member was missing.
# $2: created_at offset in seconds (negative: in the past); $3: dirty.
make_saved() {
    "$py" - "$1" "$2" "$3" <<'EOF'
import json, sys, datetime
path, offset, dirty = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
p = json.load(open(path))
for r in p["resources"]:
    r.pop("error", None)
    if r["kind"] == "IAMPolicyMember":
        r.update(status="missing", action="create",
                 preconditions={"etag": "BwXsaved"})
    else:
        r.update(status="in_sync", action="none", preconditions={})
p["summary"].update(in_sync=1, create=1, error=0)
p["source"]["dirty"] = dirty
t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=offset)
p["created_at"] = t.strftime("%Y-%m-%dT%H:%M:%SZ")
json.dump(p, open(path, "w"), indent=2)
EOF
}

seed_fakegcp() {
    curl -sf -X PUT "$FAKEGCP_URL/_fake/v1/state" -H 'Content-Type: application/json' \
        --data "{\"projects\": [{\"projectId\": \"$project\", \"projectNumber\": \"424242424242\"}],
                 \"iam\": {\"projects/$project\": {\"bindings\": [{\"role\": \"roles/viewer\", \"members\": [\"user:a@example.com\"]}]}}}" \
        >/dev/null
}

case $case_ in
help)
    out=$("$bin" apply --help)
    for flag in --plan --auto-approve "--parallelism N" "--max-deletes N" \
        "--only KIND/NAME" "--report FILE" "--lock-timeout DUR" \
        "--plan-max-age DUR" --source --ref --path "default: 16" \
        "default: 24h" "0, fail at once" "130 interrupted"; do
        grep -qF -- "$flag" <<<"$out" || fail "help lacks '$flag'"
    done
    "$bin" --help | grep -q '^  apply ' || fail "apply not in the command list"
    set +e
    err=$("$bin" apply --parallelism 0 2>&1)
    rc=$?
    set -e
    [ $rc = 1 ] || fail "bad --parallelism: exit $rc"
    grep -qF "invalid --parallelism '0' (want 1 to 256)" <<<"$err" || fail "$err"
    ;;
saved)
    repo=$(make_repo)
    seed_fakegcp
    "$bin" plan --source "$repo" --out "$work/plan.json" >/dev/null 2>&1 || true
    [ -s "$work/plan.json" ] || fail "plan --out wrote nothing"
    before=$(curl -sf "$FAKEGCP_URL/_fake/v1/state")

    # Too old: refused before anything is read or observed.
    cp "$work/plan.json" "$work/old.json"
    make_saved "$work/old.json" -$((49 * 3600)) 0
    set +e
    err=$("$bin" apply --source "$repo" --plan "$work/old.json" --auto-approve 2>&1)
    rc=$?
    set -e
    [ $rc = 1 ] || fail "old plan: exit $rc: $err"
    grep -qF "older than --plan-max-age 1d: plan again" <<<"$err" || fail "old plan: $err"
    grep -qF "Nothing was applied." <<<"$err" || fail "old plan: $err"
    # ... and by a shorter --plan-max-age too.
    cp "$work/plan.json" "$work/hour.json"
    make_saved "$work/hour.json" -7200 0
    set +e
    err=$("$bin" apply --source "$repo" --plan "$work/hour.json" --plan-max-age 1h --auto-approve 2>&1)
    rc=$?
    set -e
    [ $rc = 1 ] || fail "1h plan: exit $rc"
    grep -qF "older than --plan-max-age 1h" <<<"$err" || fail "1h plan: $err"

    # Dirty: cannot be reproduced at its commit.
    cp "$work/plan.json" "$work/dirty.json"
    make_saved "$work/dirty.json" 0 1
    set +e
    err=$("$bin" apply --source "$repo" --plan "$work/dirty.json" --auto-approve 2>&1)
    rc=$?
    set -e
    [ $rc = 1 ] || fail "dirty plan: exit $rc"
    grep -qF "uncommitted changes: it cannot be reproduced at commit" <<<"$err" || fail "dirty: $err"

    # Fresh, but the live state does not match what was reviewed (the
    # saved etag BwXsaved is not the policy's): the whole plan is refused,
    # naming the resource. The branch moved since: the plan's own commit
    # is read, not the branch head.
    cp "$work/plan.json" "$work/moved.json"
    make_saved "$work/moved.json" -60 0
    echo "# later commit" >>"$repo/desired-state/project.yaml"
    git -C "$repo" -c user.email=t@example.com -c user.name=t commit -qam later
    set +e
    err=$("$bin" apply --source "$repo" --plan "$work/moved.json" --auto-approve 2>&1)
    rc=$?
    set -e
    [ $rc = 1 ] || fail "moved plan: exit $rc: $err"
    grep -qF "refusing plan '$work/moved.json': the live state moved since the plan was made: 1 resource changed; nothing was applied" <<<"$err" ||
        fail "moved: $err"
    grep -qF "  $project/IAMPolicyMember/writer: " <<<"$err" || fail "moved: $err"
    grep -qF "Applying" <<<"$err" && fail "moved: applied anyway"

    # A saved plan that changes nothing is applied at its own commit (the
    # branch moved; --ref is overridden) and reports nothing to do.
    "$py" - "$work/plan.json" "$work/none.json" <<'EOF2'
import json, sys, datetime
p = json.load(open(sys.argv[1]))
for r in p["resources"]:
    r.pop("error", None)
    r.update(status="in_sync", action="none", preconditions={}, changes=[])
    r.pop("notes", None)
p["summary"].update(in_sync=len(p["resources"]), error=0, create=0, update=0,
                    delete=0, report=0)
p["created_at"] = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
json.dump(p, open(sys.argv[2], "w"))
EOF2
    commit=$("$py" -c 'import json,sys; print(json.load(open(sys.argv[1]))["source"]["commit"])' "$work/none.json")
    set +e
    out=$("$bin" apply --source "$repo" --ref HEAD --plan "$work/none.json" --report "$work/report.json" 2>&1)
    rc=$?
    set -e
    [ $rc = 0 ] || fail "no-op plan: exit $rc: $out"
    grep -qF "ignored: a saved plan is applied at its own commit $commit" <<<"$out" || fail "no-op: $out"
    grep -qF "at commit $commit)." <<<"$out" || fail "no-op: $out"
    grep -qF "Apply complete: 0 applied, 0 failed, 0 skipped, 0 reported" <<<"$out" || fail "no-op: $out"
    "$py" - "$work/report.json" <<'EOF2'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["format_version"] == "1", r
assert r["summary"] == {"applied": 0, "failed": 0, "skipped": 0, "reported": 0, "objects": 0}, r
assert r["resources"] == [] and r["cancelled"] is False and r["error"] is None, r
EOF2

    after=$(curl -sf "$FAKEGCP_URL/_fake/v1/state")
    [ "$before" = "$after" ] || fail "fakegcp state changed"
    ;;
no-terminal)
    repo=$(make_repo)
    seed_fakegcp
    before=$(curl -sf "$FAKEGCP_URL/_fake/v1/state")
    set +e
    "$bin" plan --source "$repo" --format json >"$work/plan.json" 2>/dev/null
    "$py" -c 'import json,sys; p=json.load(open(sys.argv[1])); s=p["summary"]; sys.exit(0 if s["create"]+s["update"]+s["delete"] > 0 and s["error"] == 0 else 1)' "$work/plan.json"
    has_changes=$?
    out=$("$bin" apply --source "$repo" </dev/null 2>&1)
    rc=$?
    set -e
    [ $rc = 1 ] || fail "no terminal: exit $rc: $out"
    after=$(curl -sf "$FAKEGCP_URL/_fake/v1/state")
    [ "$before" = "$after" ] || fail "fakegcp state changed"
    if [ $has_changes != 0 ]; then
        # The providers cannot plan this yet (their observe is a stub): the
        # refusal is the plan's error, not the missing terminal.
        grep -qF "the plan has resources in error; nothing was applied" <<<"$out" || fail "$out"
        echo "SKIP: the plan has no changes to confirm yet (providers are stubs)"
        exit 77
    fi
    grep -qF "stdin is not a terminal; pass --auto-approve to apply without confirmation" <<<"$out" ||
        fail "no terminal: $out"
    ;;
*)
    fail "unknown case '$case_'"
    ;;
esac
echo "ok: $case_"
