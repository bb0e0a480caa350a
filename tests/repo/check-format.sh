#!/bin/sh
# Fails when a tracked C file differs from what clang-format makes of it.
set -eu
cd "${DL_SOURCE_DIR:?}"
if ! command -v clang-format >/dev/null 2>&1; then
    echo "check-format: clang-format is not installed" >&2
    exit 1
fi
files=$(git ls-files '*.c' '*.h' 2>/dev/null || find src tests bench -name '*.[ch]')
[ -n "$files" ] || { echo "check-format: no C files found" >&2; exit 1; }
# shellcheck disable=SC2086
clang-format --dry-run --Werror $files
echo "check-format: $(echo "$files" | wc -l) files formatted"
