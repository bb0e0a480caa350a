"""A strict parser for the Prometheus text exposition format 0.0.4.

Stricter than Prometheus itself where the format leaves room, so that
anything it accepts any scraper accepts:
- every family has exactly one # HELP and one # TYPE, both before its
  first sample; samples of one family are contiguous;
- metric and label names match the format's grammar; label values use only
  the escapes \\\\, \\" and \\n; no duplicate label names in one sample;
- values parse as Go floats (+Inf, -Inf, NaN accepted); no timestamps;
- no two samples with the same name and labels;
- counters are >= 0 and not NaN;
- histograms: only name_bucket / name_sum / name_count samples; each
  bucket has an "le" label parsing as a float; per label set the buckets
  are in increasing le order with non-decreasing counts, the last one is
  le="+Inf", and it equals name_count.
parse(text) returns {family: {"type", "help", "samples": [(name, labels,
value)]}} or raises ParseError with the line number.
"""

import math
import re

NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
FLOAT = re.compile(r"[+-]?(Inf|NaN|(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?)")
TYPES = ("counter", "gauge", "histogram", "summary", "untyped")


class ParseError(Exception):
    pass


def parse_float(s, where):
    if not FLOAT.fullmatch(s):
        raise ParseError(f"{where}: bad value {s!r}")
    if s in ("+Inf", "Inf"):
        return math.inf
    if s == "-Inf":
        return -math.inf
    return float(s)


def parse_labels(s, i, where):
    """s[i] == '{'. Returns (labels dict, index after '}')."""
    labels = {}
    i += 1
    while True:
        if i < len(s) and s[i] == "}":
            return labels, i + 1
        m = LABEL.match(s, i)
        if not m:
            raise ParseError(f"{where}: bad label name at column {i + 1}")
        name = m.group(0)
        i = m.end()
        if s[i : i + 2] != '="':
            raise ParseError(f"{where}: expected =\" after label {name}")
        i += 2
        val = []
        while True:
            if i >= len(s):
                raise ParseError(f"{where}: unterminated label value")
            c = s[i]
            if c == "\\":
                nxt = s[i + 1 : i + 2]
                if nxt == "\\":
                    val.append("\\")
                elif nxt == '"':
                    val.append('"')
                elif nxt == "n":
                    val.append("\n")
                else:
                    raise ParseError(f"{where}: bad escape \\{nxt}")
                i += 2
            elif c == '"':
                i += 1
                break
            elif c == "\n":
                raise ParseError(f"{where}: raw newline in label value")
            else:
                val.append(c)
                i += 1
        if name in labels:
            raise ParseError(f"{where}: duplicate label {name}")
        labels[name] = "".join(val)
        if i < len(s) and s[i] == ",":
            i += 1
        elif i < len(s) and s[i] == "}":
            continue
        else:
            raise ParseError(f"{where}: expected , or }} after label value")


def family_of(name, families):
    if name in families:
        return name
    for suffix in ("_bucket", "_sum", "_count"):
        if name.endswith(suffix):
            base = name[: -len(suffix)]
            if families.get(base, {}).get("type") == "histogram":
                return base
    return None


def parse(text):
    if text and not text.endswith("\n"):
        raise ParseError("exposition does not end with a newline")
    families = {}
    order = []  # families in order of first sample
    seen = set()
    for n, line in enumerate(text.split("\n")[:-1], 1):
        where = f"line {n}"
        if line == "":
            continue
        if line.startswith("#"):
            parts = line.split(" ", 3)
            if len(parts) >= 3 and parts[1] in ("HELP", "TYPE"):
                name = parts[2]
                if not NAME.fullmatch(name):
                    raise ParseError(f"{where}: bad metric name {name!r}")
                fam = families.setdefault(
                    name, {"type": None, "help": None, "samples": []}
                )
                if fam["samples"]:
                    raise ParseError(f"{where}: {parts[1]} after samples")
                rest = parts[3] if len(parts) > 3 else ""
                if parts[1] == "HELP":
                    if fam["help"] is not None:
                        raise ParseError(f"{where}: second HELP for {name}")
                    if re.search(r"\\[^\\n]", rest.replace("\\\\", "")):
                        raise ParseError(f"{where}: bad escape in HELP")
                    fam["help"] = rest.replace("\\n", "\n").replace("\\\\", "\\")
                else:
                    if fam["type"] is not None:
                        raise ParseError(f"{where}: second TYPE for {name}")
                    if rest not in TYPES:
                        raise ParseError(f"{where}: bad type {rest!r}")
                    fam["type"] = rest
            continue
        m = NAME.match(line)
        if not m:
            raise ParseError(f"{where}: bad sample line {line!r}")
        name = m.group(0)
        i = m.end()
        labels = {}
        if i < len(line) and line[i] == "{":
            labels, i = parse_labels(line, i, where)
        if line[i : i + 1] != " ":
            raise ParseError(f"{where}: expected a space before the value")
        fields = line[i + 1 :].split(" ")
        if len(fields) != 1:
            raise ParseError(f"{where}: timestamps or extra fields {fields!r}")
        value = parse_float(fields[0], where)
        fname = family_of(name, families)
        if fname is None or families[fname]["type"] is None:
            raise ParseError(f"{where}: sample {name} without a TYPE line")
        if fname in order and order[-1] != fname:
            raise ParseError(f"{where}: samples of {fname} are not contiguous")
        if fname not in order:
            order.append(fname)
        fam = families[fname]
        if families[fname]["help"] is None:
            raise ParseError(f"{where}: sample {name} without a HELP line")
        key = (name, tuple(sorted(labels.items())))
        if key in seen:
            raise ParseError(f"{where}: duplicate sample {key!r}")
        seen.add(key)
        if fam["type"] == "counter" and (math.isnan(value) or value < 0):
            raise ParseError(f"{where}: counter {name} is {value}")
        if fam["type"] == "histogram":
            if name == fname:
                raise ParseError(f"{where}: bare sample {name} of a histogram")
            if name.endswith("_bucket"):
                if "le" not in labels:
                    raise ParseError(f"{where}: bucket without le")
                parse_float(labels["le"], where)
            elif "le" in labels:
                raise ParseError(f"{where}: le on {name}")
        elif name != fname:
            raise ParseError(f"{where}: {name} in {fam['type']} {fname}")
        fam["samples"].append((name, labels, value))
    for fname, fam in families.items():
        if fam["type"] is None or fam["help"] is None:
            raise ParseError(f"{fname}: missing TYPE or HELP")
        if fam["type"] == "histogram":
            check_histogram(fname, fam["samples"])
    return families


def check_histogram(fname, samples):
    groups = {}
    for name, labels, value in samples:
        rest = tuple(sorted((k, v) for k, v in labels.items() if k != "le"))
        g = groups.setdefault(rest, {"buckets": [], "sum": None, "count": None})
        if name.endswith("_bucket"):
            g["buckets"].append((parse_float(labels["le"], fname), value))
        elif name.endswith("_sum"):
            g["sum"] = value
        else:
            g["count"] = value
    for rest, g in groups.items():
        where = f"{fname}{dict(rest)}"
        b = g["buckets"]
        if not b or g["count"] is None or g["sum"] is None:
            raise ParseError(f"{where}: needs buckets, _sum and _count")
        les = [le for le, _ in b]
        if les != sorted(les) or len(set(les)) != len(les):
            raise ParseError(f"{where}: buckets not in increasing le order")
        counts = [c for _, c in b]
        if any(later < earlier for earlier, later in zip(counts, counts[1:])):
            raise ParseError(f"{where}: bucket counts decrease")
        if les[-1] != math.inf:
            raise ParseError(f"{where}: last bucket is not le=\"+Inf\"")
        if counts[-1] != g["count"]:
            raise ParseError(f"{where}: +Inf bucket {counts[-1]} != count")
