#!/usr/bin/env bash
# End-to-end test of the git source with separate processes: a repository
# built with the git CLI, served by a git daemon on 127.0.0.1 that this
# script starts (and stops by pid), read via a local path, file:// and
# git://, concurrently and after upstream changes, and with the daemon gone.
# Usage: source.sh PATH/TO/dl-source-probe
set -euo pipefail
probe=$1
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dl-source-it-XXXXXX")
daemon_pid=
cleanup() {
    if [ -n "$daemon_pid" ]; then kill "$daemon_pid" 2>/dev/null || true; wait "$daemon_pid" 2>/dev/null || true; fi
    rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
# expect NAME WANT GOT
expect() { [ "$2" = "$3" ] || fail "$1: want '$2', got '$3'"; }
field() { sed -n "s/^$1=//p"; }

export HOME=$tmp GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=$tmp/gitconfig
export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@example.com
export GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@example.com
unset XDG_CACHE_HOME DRIFTLESS_GIT_TOKEN SSH_AUTH_SOCK || true
printf '[init]\n\tdefaultBranch = main\n' > "$tmp/gitconfig"

# The monorepo: desired state plus a Dockerfile added in c2, moved in c3.
repo=$tmp/repo
git init -q "$repo"
(
    cd "$repo"
    mkdir -p desired-state
    printf 'kind: Project\n' > desired-state/project.yaml
    git add -A && git commit -q -m c1
    mkdir -p docker/api && echo 'FROM scratch' > docker/api/Dockerfile
    git add -A && git commit -q -m c2 && git tag v1
    mkdir -p services && git mv docker/api services/api
    git commit -q -m c3
)
c1=$(git -C "$repo" rev-parse v1~1)
c2=$(git -C "$repo" rev-parse v1)
c3=$(git -C "$repo" rev-parse main)

# Local path, work tree; then dirty.
out=$("$probe" --source "$repo" --list)
expect "local commit" "$c3" "$(field commit <<<"$out")"
expect "local dirty" 0 "$(field dirty <<<"$out")"
expect "local files" "desired-state/project.yaml" "$(field file <<<"$out")"
echo 'x: 1' >> "$repo/desired-state/project.yaml"
expect "dirty" 1 "$("$probe" --source "$repo" | field dirty)"
git -C "$repo" checkout -q -- desired-state

# --ref on a local path reads the commit: the Dockerfile moved.
out=$("$probe" --source "$repo" --ref v1 --path "" --list)
grep -qx 'file=docker/api/Dockerfile' <<<"$out" || fail "v1 lacks docker/api/Dockerfile"
out=$("$probe" --source "$repo" --ref main --path "" --list)
grep -qx 'file=services/api/Dockerfile' <<<"$out" || fail "main lacks services/api/Dockerfile"
grep -q 'docker/api' <<<"$out" && fail "main still has docker/api"

# Ancestry and blame.
expect "contains" 1 "$("$probe" --source "$repo" --contains "$c1" main | field contains)"
expect "not contains" 0 "$("$probe" --source "$repo" --contains main "$c1" | field contains)"
expect "blame" "$c2" "$("$probe" --source "$repo" --ref main --blame services/api/Dockerfile 1 | field blame)"

# Errors: exit 1, one clear line.
if err=$("$probe" --source "$repo" --ref nope 2>&1); then fail "--ref nope succeeded"; fi
expect "ref error" "error: ref 'nope' not found in $repo" "$err"
if err=$("$probe" --source "$repo" --ref v1 --path nope 2>&1); then fail "--path nope succeeded"; fi
expect "path error" "error: path 'nope' not found in commit ${c2:0:7}" "$err"

# file:// goes through the cache.
cache=$tmp/cache
out=$("$probe" --source "file://$repo" --cache-dir "$cache")
expect "file:// commit" "$c3" "$(field commit <<<"$out")"
expect "file:// ref" main "$(field ref <<<"$out")"

# A git daemon on a free port.
mkdir -p "$tmp/served"
git clone -q --bare "$repo" "$tmp/served/origin.git"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$(git --exec-path)/git-daemon" --reuseaddr --base-path="$tmp/served" --export-all \
    --listen=127.0.0.1 --port="$port" 2>"$tmp/daemon.log" &
daemon_pid=$!
for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.05
done
url=git://127.0.0.1:$port/origin.git

# Four runs at once on an empty cache: all succeed, one valid entry.
cache=$tmp/cache-git
pids=()
for i in 1 2 3 4; do
    "$probe" --source "$url" --cache-dir "$cache" > "$tmp/run$i.out" 2> "$tmp/run$i.err" &
    pids+=($!)
done
for i in 0 1 2 3; do
    wait "${pids[$i]}" || fail "concurrent run $((i + 1)): $(cat "$tmp/run$((i + 1)).err")"
done
for i in 1 2 3 4; do
    expect "concurrent run $i" "$c3" "$(field commit < "$tmp/run$i.out")"
done
entries=$(find "$cache" -mindepth 1 -maxdepth 1 -type d | wc -l)
expect "cache entries" 1 "$entries"
entry=$(find "$cache" -mindepth 1 -maxdepth 1 -type d)
git --git-dir="$entry" fsck --no-dangling || fail "cache entry fails git fsck"
inode=$(stat -c %i "$entry")

# Upstream moves: the next run fetches into the same entry.
work=$tmp/work
git clone -q "$tmp/served/origin.git" "$work"
(cd "$work" && echo more >> desired-state/project.yaml && git commit -q -am c4 && git push -q origin main)
c4=$(git -C "$work" rev-parse HEAD)
expect "fetched commit" "$c4" "$("$probe" --source "$url" --cache-dir "$cache" | field commit)"
expect "same entry" "$inode" "$(stat -c %i "$entry")"

# The daemon goes away: exit 1 naming the URL, cache intact.
kill "$daemon_pid"; wait "$daemon_pid" 2>/dev/null || true; daemon_pid=
if err=$("$probe" --source "$url" --cache-dir "$cache" 2>&1); then fail "fetch without daemon succeeded"; fi
case $err in
"error: cannot fetch '$url'"*) ;;
*) fail "fetch failure message: $err" ;;
esac
git --git-dir="$entry" rev-parse --verify -q "$c4^{commit}" >/dev/null || fail "cache lost $c4"
echo "integration-source: ok"
