#!/usr/bin/env bash
# check-man.sh - docs/driftless.1 is `driftless help --man` of this build
# (so it lists every command of dl_cmds and every flag of their help), and
# it renders without a warning: mandoc -T lint (scripts/install-deps
# --test installs mandoc) and groff -man -ww (what man -l uses).
set -euo pipefail
top=${DL_SOURCE_DIR:?}
dl=${DL_BINARY_DIR:?}/driftless
page=$top/docs/driftless.1
fresh=$(mktemp --suffix=.1)
trap 'rm -f "$fresh"' EXIT
fail=0

"$dl" help --man >"$fresh"
if ! diff -u "$page" "$fresh"; then
    echo "FAIL docs/driftless.1 is stale; regenerate it with:"
    echo "  $dl help --man > docs/driftless.1"
    fail=1
fi

# Every command of the help has its section, every flag of its help is in
# the page (as roff: hyphens escaped).
for cmd in $("$dl" help | sed -n '/^Commands:/,/^$/s/^  \([a-z][a-z-]*\) .*/\1/p'); do
    grep -qx ".SS \"driftless $cmd\"" "$fresh" ||
        { echo "FAIL the page has no section for 'driftless $cmd'"; fail=1; }
    for f in $("$dl" "$cmd" --help | grep -oE -- '^  (-h, )?--[a-z][a-z0-9-]*' | grep -oE -- '--[a-z0-9-]+'); do
        grep -qF -- "\\fB${f//-/\\-}\\fR" "$fresh" ||
            { echo "FAIL the page has no item for 'driftless $cmd $f'"; fail=1; }
    done
done
for s in NAME SYNOPSIS DESCRIPTION COMMANDS "GLOBAL OPTIONS" "EXIT STATUS" \
    ENVIRONMENT FILES "SEE ALSO"; do
    grep -qx "\.SH $s" "$fresh" || { echo "FAIL no section $s"; fail=1; }
done

# mandoc's style checks report at "STYLE" level; only warnings and worse
# count (-W warning).
if command -v mandoc >/dev/null; then
    out=$(mandoc -T lint -W warning "$fresh" 2>&1) || true
    if [ -n "$out" ]; then
        echo "FAIL mandoc -T lint:"
        echo "$out"
        fail=1
    fi
else
    echo "FAIL mandoc is not installed (scripts/install-deps --test)"
    fail=1
fi
out=$(groff -man -ww -z "$fresh" 2>&1) || true
if [ -n "$out" ]; then
    echo "FAIL groff -man -ww:"
    echo "$out"
    fail=1
fi
lines=$(groff -man -Tutf8 "$fresh" 2>/dev/null | wc -l)
echo "groff -man -Tutf8 renders $lines lines"
[ "$lines" -gt 100 ] || { echo "FAIL groff rendered only $lines lines"; fail=1; }
exit "$fail"
