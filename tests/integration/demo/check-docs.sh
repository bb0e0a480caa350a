#!/usr/bin/env bash
# check-docs.sh YAML_CHECK - the docs against the binary:
#   1. every YAML file in docs/examples/ parses (libyaml, through
#      yaml-check) and has the top-level keys its kind needs (a GitHub
#      Actions workflow: on, jobs; a Cloud Build config: steps; a trigger:
#      name; check-ci-examples.py checks them further);
#   2. every `driftless ...` command line in README.md, docs/*.md and
#      docs/examples/* names a command that `driftless help` lists (or one
#      of the commands still being written, listed below, reported as
#      skipped) and only flags that `driftless CMD --help` lists.
set -euo pipefail
yaml_check=$1
top=${DL_SOURCE_DIR:?}
dl=${DL_BINARY_DIR:?}/driftless
fail=0

shopt -s nullglob
examples=("$top"/docs/examples/*.yaml "$top"/docs/examples/*.yml)
if [ ${#examples[@]} -eq 0 ]; then
    echo "FAIL no YAML files in docs/examples/"
    exit 1
fi
keys=$("$yaml_check" "${examples[@]}") || { echo "FAIL a YAML example does not parse"; exit 1; }
echo "$keys"
while IFS= read -r line; do
    f=${line%%:*}
    k=" ${line#*:} "
    case $f in
    */github-*)
        for want in on jobs; do
            [[ $k == *" $want "* ]] || { echo "FAIL $f: no top-level '$want'"; fail=1; }
        done ;;
    */cloudbuild-triggers*)
        [[ $k == *" name "* ]] || { echo "FAIL $f: no top-level 'name'"; fail=1; } ;;
    */cloudbuild*)
        [[ $k == *" steps "* ]] || { echo "FAIL $f: no top-level 'steps'"; fail=1; } ;;
    esac
done <<<"$keys"

# Commands documented ahead of their implementation (later issues). Once
# `driftless help` lists one, its flags are checked like the others'.
planned="apply run import schema"

help_of() { # command ("" for the global help)
    if [ -z "$1" ]; then "$dl" --help; else "$dl" "$1" --help; fi
}
commands=$("$dl" help | sed -n 's/^  \([a-z][a-z-]*\) .*/\1/p')
echo "commands: $(echo $commands)"

python3 - "$top" "$commands" "$planned" >"${TMPDIR:-/tmp}/dl-doc-cmds.$$" <<'PY'
import glob, os, re, sys
top, commands, planned = sys.argv[1], sys.argv[2].split(), sys.argv[3].split()
files = [os.path.join(top, "README.md")] + sorted(
    glob.glob(os.path.join(top, "docs", "*.md"))) + sorted(
    glob.glob(os.path.join(top, "docs", "examples", "*")))
GLOBAL = {"--log-level": 1, "--log-format": 1, "--help": 0, "-h": 0,
          "--version": 0}
for path in files:
    rel = os.path.relpath(path, top)
    text = open(path, encoding="utf-8").read()
    snippets = []  # (line number, text)
    if path.endswith(".md"):
        fenced = False
        for n, line in enumerate(text.split("\n"), 1):
            if line.lstrip().startswith("```"):
                fenced = not fenced
                continue
            if fenced:
                snippets.append((n, line))
            else:
                for m in re.finditer(r"`([^`]+)`", line):
                    snippets.append((n, m.group(1)))
    else:
        snippets = list(enumerate(text.split("\n"), 1))
    # Join shell continuation lines ("... \\" + the next line).
    joined = []
    for n, s in snippets:
        if joined and joined[-1][1].rstrip().endswith("\\"):
            joined[-1] = (joined[-1][0], joined[-1][1].rstrip()[:-1] + " " +
                          s.strip())
        else:
            joined.append((n, s))
    for n, s in joined:
        # A command line starts with driftless (after indentation, a YAML
        # comment or list dash, a prompt, variable assignments or a path).
        m = re.match(r"\s*(?:#\s*)?(?:-\s+)?(?:\$\s+)?(?:[A-Z_]+=\S*\s+)*"
                     r"(?:sudo\s+)?(?:\S*/)?driftless((?:\s+\S+)*)\s*$", s)
        if not m:
            continue
        rest = re.split(r"\s(?:&&|\|\||;|#|\||>|>>|2>|<)\s", m.group(1) + " ")[0]
        toks = [t.strip("[]()'\",") for t in rest.split()]
        toks = [t for t in toks if t]
        i, cmd = 0, "-"
        while i < len(toks) and toks[i].startswith("-"):
            flag = toks[i].split("=")[0]
            i += 1 + (GLOBAL.get(flag, 0) if "=" not in toks[i] else 0)
        if i < len(toks) and re.fullmatch(r"[a-z][a-z-]*", toks[i]):
            cmd = toks[i]
            i += 1
            # Prose in a code block ("driftless will make these changes:").
            if (cmd not in commands + planned + ["help"]
                    and s.rstrip().endswith((":", "."))):
                continue
        elif i < len(toks) and not toks[i].startswith("-"):
            continue  # a placeholder such as COMMAND
        scope = toks[i:] if cmd != "-" else toks
        flags = sorted({t.split("=")[0] for t in scope
                        if re.fullmatch(r"--?[a-z][a-z0-9-]*(=.*)?", t)})
        print("\t".join([f"{rel}:{n}", cmd, " ".join(flags) or "-"]))
PY
cmds=${TMPDIR:-/tmp}/dl-doc-cmds.$$
trap 'rm -f "$cmds"' EXIT
nlines=0
while IFS=$'\t' read -r where cmd flags; do
    nlines=$((nlines + 1))
    [ "$flags" != - ] || flags=""
    [ "$cmd" != - ] || cmd=""
    if [ -n "$cmd" ] && [ "$cmd" != help ] &&
        ! grep -qx -- "$cmd" <<<"$commands"; then
        if [[ " $planned " == *" $cmd "* ]]; then
            echo "skip $where: driftless $cmd (not in this build yet)"
            continue
        fi
        echo "FAIL $where: unknown command 'driftless $cmd'"
        fail=1
        continue
    fi
    [ "$cmd" = help ] && cmd=""
    h=$(help_of "$cmd")
    for f in $flags; do
        if ! grep -qE -- "(^|[ ,'\[])$f([ =,']|$)" <<<"$h"; then
            echo "FAIL $where: 'driftless $cmd' has no flag $f"
            fail=1
        fi
    done
done <"$cmds"
echo "$nlines driftless command lines checked"
[ "$nlines" -gt 0 ] || { echo "FAIL no driftless command line found"; fail=1; }
exit "$fail"
