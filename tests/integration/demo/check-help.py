#!/usr/bin/env python3
"""check-help.py - every flag a command accepts is in its --help, with its
default.

For each command `driftless help` lists, the long options it accepts are
read from its getopt_long table (the src/cli/*.c file whose dl_cmd has that
.name; DL_CLI_SOURCE_LONGOPTS expands to the source flags of cli.h), and
each one is probed through the binary (`driftless CMD --flag[=x] --help`
must not say "unknown option"), so the extraction is what the binary
really accepts. Then, in `driftless CMD --help`:
  - every accepted flag has an item ("  --flag ..." at the start of a line);
  - every item's flag is accepted (no documented flag that does not exist);
  - every item whose flag takes a value says its default ("default"),
    or that it is "repeatable" or "(required)", or what happens without it
    ("without it").
The global options (parsed by hand in cli.c) are checked the same way
against `driftless --help`'s "Global options:" items.
Usage: check-help.py DRIFTLESS SOURCE_DIR
"""
import glob
import os
import re
import subprocess
import sys

dl, top = sys.argv[1], sys.argv[2]
fails = []


def run(args):
    p = subprocess.run([dl] + args, capture_output=True, text=True,
                       timeout=30)
    return p.returncode, p.stdout, p.stderr


def items(help_text):
    """{flag: (takes_value, description)} of the help's option items: the
    layout man.c relies on too (the tag from column 2, the description from
    column 22 or on the following, further indented lines)."""
    out = {}
    lines = help_text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not re.match(r"  -", line):
            continue
        if len(line) > 22 and line[21] == " ":
            tag, desc = line[2:22].strip(), line[22:].strip()
        else:
            tag, desc = line[2:].strip(), ""
        while i < len(lines) and lines[i].startswith("    "):
            desc += " " + lines[i].strip()
            i += 1
        m = re.fullmatch(r"(?:-[a-zA-Z], )?--([a-z][a-z0-9-]*)( \S+)?", tag)
        if not m:
            fails.append("an option item that is not '--flag [ARG]': %r" % tag)
            continue
        out[m.group(1)] = (bool(m.group(2)), desc)
    return out


def source_flags():
    text = open(os.path.join(top, "src/cli/cli.h")).read()
    m = re.search(r"#define DL_CLI_SOURCE_LONGOPTS(.*?)\n\n", text, re.S)
    return re.findall(r'"([a-z][a-z0-9-]*)",\s*(required|no|optional)'
                      r'_argument', m.group(1))


def table_flags(cmd):
    """(flag, kind) pairs of CMD's getopt_long table, or None."""
    for path in sorted(glob.glob(os.path.join(top, "src/cli/*.c"))):
        text = open(path).read()
        if not re.search(r'\.name\s*=\s*"%s"' % re.escape(cmd), text):
            continue
        flags = re.findall(r'\{"([a-z][a-z0-9-]*)",\s*(required|no|optional)'
                           r'_argument', text)
        if "DL_CLI_SOURCE_LONGOPTS" in text:
            flags += source_flags()
        return flags
    return None


def default_said(desc):
    return re.search(r"\(default|default:|\(required\)|repeatable|without it",
                     desc) is not None


rc, main_help, _ = run(["--help"])
commands = re.findall(r"^  ([a-z][a-z-]*) ", main_help.split("Commands:")[1]
                      .split("\n\n")[0], re.M)
if len(commands) < 5:
    fails.append("driftless --help lists only %r" % commands)

nflags = 0
for cmd in commands:
    flags = table_flags(cmd)
    if flags is None:
        fails.append("%s: no src/cli/*.c defines it" % cmd)
        continue
    rc, h, err = run([cmd, "--help"])
    if rc != 0 or not h.startswith("Usage: driftless " + cmd):
        fails.append("%s --help: exit %d, %r" % (cmd, rc, h[:60]))
        continue
    documented = items(h)
    accepted = {f for f, _ in flags}
    for flag, kind in flags:
        nflags += 1
        probe = ["--" + flag + ("=x" if kind == "required" else "")]
        if flag != "help":
            probe.append("--help")
        _, _, err = run([cmd] + probe)
        if "unknown option" in err or "needs a value" in err:
            fails.append("%s: the binary does not accept --%s from its "
                         "option table (%s)" % (cmd, flag, err.strip()))
        if flag not in documented:
            fails.append("%s --help: no item for --%s" % (cmd, flag))
            continue
        takes, desc = documented[flag]
        if kind == "required" and not takes:
            fails.append("%s --help: --%s takes a value, the help shows none"
                         % (cmd, flag))
        if kind == "no" and takes:
            fails.append("%s --help: --%s takes no value, the help shows one"
                         % (cmd, flag))
        if kind == "required" and not default_said(desc):
            fails.append("%s --help: --%s does not say its default: %r"
                         % (cmd, flag, desc))
    for flag in documented:
        if flag not in accepted:
            _, _, err = run([cmd, "--" + flag, "--help"])
            fails.append("%s --help documents --%s, which the binary does "
                         "not accept (%s)" % (cmd, flag, err.strip()))
    if "Exit codes" not in h and cmd != "version":
        fails.append("%s --help: no exit codes" % cmd)
    print("%-9s %2d flags: %s" % (cmd, len(flags),
                                  " ".join(sorted(accepted))))

# The global options, parsed by hand in cli.c: each item is accepted before
# a command, and value-taking ones say their default.
globals_text = main_help.split("Global options:")[1].split("\n\n")[0]
for flag, (takes, desc) in items(globals_text).items():
    nflags += 1
    args = ["--" + flag]
    if takes:
        args.append({"log-level": "info", "log-format": "text",
                     "ca-bundle": "/dev/null"}.get(flag, "x"))
    rc, _, err = run(args + ["version"])
    if rc != 0:
        fails.append("driftless --%s: exit %d (%s)" % (flag, rc, err.strip()))
    if takes and not default_said(desc):
        fails.append("driftless --help: --%s does not say its default" % flag)
for f in re.findall(r'strn?cmp\(a, "(--[a-z-]+)"', open(
        os.path.join(top, "src/cli/cli.c")).read()):
    if not re.search(r"^  (-h, )?%s\b" % re.escape(f), globals_text, re.M):
        fails.append("driftless --help: global option %s is parsed by "
                     "cli.c but not listed" % f)

for f in fails:
    print("FAIL " + f)
print("%d commands, %d flags checked" % (len(commands), nflags))
sys.exit(1 if fails or nflags == 0 else 0)
