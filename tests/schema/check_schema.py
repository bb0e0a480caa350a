#!/usr/bin/env python3
"""Check `driftless schema` against the desired state it describes.

Python standard library only. A small JSON Schema validator for exactly the
subset of draft-07 that the generated schema uses (it refuses any other
keyword, so the schema cannot drift outside what is checked here) validates:
  - every document of desired-state/ and tests/fixtures/model/valid/**,
    and the examples of docs/desired-state.md (each must be accepted),
  - every tests/schema/invalid/*.yaml (each must be rejected, with an
    error naming the path its first line announces),
  - the invalid model fixtures whose error a schema can see (unknown
    fields, wrong types, missing required fields, bad enums): each must
    be rejected too.
YAML is turned into JSON by dl-yaml2json, which reads it with driftless's
own loader and types plain scalars as YAML 1.2 editors do.

Usage: check_schema.py DRIFTLESS YAML2JSON SOURCE_DIR WORK_DIR
"""
import json
import os
import subprocess
import sys

KNOWN = {"$schema", "$id", "title", "description", "definitions", "type",
         "properties", "required", "additionalProperties", "enum", "const",
         "items", "oneOf", "allOf", "if", "then", "$ref", "minimum",
         "maximum", "minLength", "minItems", "uniqueItems"}


class Invalid(Exception):
    pass


def type_ok(value, t):
    if t == "object":
        return isinstance(value, dict)
    if t == "array":
        return isinstance(value, list)
    if t == "string":
        return isinstance(value, str)
    if t == "boolean":
        return isinstance(value, bool)
    if t == "null":
        return value is None
    if t == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if t == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    raise ValueError("unknown type %r" % t)


def same(a, b):
    # JSON equality: true is not 1.
    return type(a) == type(b) and a == b


class Validator:
    def __init__(self, root):
        self.root = root

    def resolve(self, ref):
        if not ref.startswith("#/"):
            raise ValueError("only local $ref: %r" % ref)
        node = self.root
        for part in ref[2:].split("/"):
            node = node[part]
        return node

    def errors(self, schema, value, path="$"):
        """All errors of value against schema, as 'path: message'."""
        unknown = set(schema) - KNOWN
        if unknown:
            raise ValueError("schema keyword(s) outside the subset: %s"
                             % sorted(unknown))
        errs = []
        if "$ref" in schema:
            errs += self.errors(self.resolve(schema["$ref"]), value, path)
        if "type" in schema:
            ts = schema["type"]
            ts = ts if isinstance(ts, list) else [ts]
            if not any(type_ok(value, t) for t in ts):
                return errs + ["%s: want %s, got %s" % (
                    path, " or ".join(ts), json.dumps(value))]
        if "const" in schema and not same(value, schema["const"]):
            errs.append("%s: want %s" % (path, json.dumps(schema["const"])))
        if "enum" in schema and not any(same(value, e)
                                        for e in schema["enum"]):
            errs.append("%s: want one of %s" % (path, schema["enum"]))
        if isinstance(value, str) and len(value) < schema.get("minLength", 0):
            errs.append("%s: too short" % path)
        if type_ok(value, "number"):
            if "minimum" in schema and value < schema["minimum"]:
                errs.append("%s: below %s" % (path, schema["minimum"]))
            if "maximum" in schema and value > schema["maximum"]:
                errs.append("%s: above %s" % (path, schema["maximum"]))
        if isinstance(value, dict):
            props = schema.get("properties", {})
            for key in schema.get("required", []):
                if key not in value:
                    errs.append("%s: missing required %s" % (path, key))
            for key, v in value.items():
                sub = "%s.%s" % (path, key)
                if key in props:
                    errs += self.errors(props[key], v, sub)
                elif schema.get("additionalProperties") is False:
                    errs.append("%s: unknown field" % sub)
                elif isinstance(schema.get("additionalProperties"), dict):
                    errs += self.errors(schema["additionalProperties"], v, sub)
        if isinstance(value, list):
            if len(value) < schema.get("minItems", 0):
                errs.append("%s: too few items" % path)
            if schema.get("uniqueItems"):
                seen = [json.dumps(v, sort_keys=True) for v in value]
                if len(set(seen)) != len(seen):
                    errs.append("%s: items not unique" % path)
            if "items" in schema:
                for i, v in enumerate(value):
                    errs += self.errors(schema["items"], v,
                                        "%s[%d]" % (path, i))
        for sub in schema.get("allOf", []):
            errs += self.errors(sub, value, path)
        if "oneOf" in schema:
            results = [self.errors(s, value, path) for s in schema["oneOf"]]
            ok = sum(1 for r in results if not r)
            if ok != 1:
                why = " | ".join("; ".join(r) for r in results if r)
                errs.append("%s: matches %d of oneOf (want 1)%s" % (
                    path, ok, (": " + why) if why else ""))
        if "if" in schema and not self.errors(schema["if"], value, path):
            errs += self.errors(schema.get("then", {}), value, path)
        return errs


def yaml_docs(yaml2json, path):
    out = subprocess.run([yaml2json, path], capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit("dl-yaml2json %s failed:\n%s" % (path, out.stderr))
    return json.loads(out.stdout)


def yaml_files(top):
    for d, dirs, files in os.walk(top):
        dirs.sort()
        for f in sorted(files):
            if f.endswith((".yaml", ".yml")):
                yield os.path.join(d, f)


# Invalid model fixtures whose problem is visible to a schema, with the
# path of the error the schema must report.
SCHEMA_VISIBLE = {
    "bad-mode": "$.spec.mode",
    "missing-metadata-name": "$.metadata",
    "missing-required-member": "$.spec",
    "missing-spec": "$",
    "negative-cap": "$.spec.maxDeletesPerRun",
    "negative-count": "$.spec.maxDocuments",
    "unknown-api-version": "$.apiVersion",
    "unknown-field-did-you-mean": "$.spec.imge",
    "unknown-field-no-hint": "$.spec.colour",
    "unknown-kind": "$.kind",
    "unknown-kind-no-hint": "$.kind",
    "unknown-metadata-field": "$.metadata.namespace",
    "wrong-type-boolean": "$.spec.prune",
    "wrong-type-env-list": "$.spec.env",
    "wrong-type-integer": "$.spec.maxDocuments",
    "wrong-type-quoted-integer": "$.spec.maxDocuments",
}


def main():
    driftless, yaml2json, src, work = sys.argv[1:5]
    failures = []
    os.makedirs(work, exist_ok=True)
    out_file = os.path.join(work, "schema.json")
    stdout = subprocess.run([driftless, "schema"], check=True,
                            capture_output=True).stdout
    subprocess.run([driftless, "schema", "--out", out_file], check=True)
    with open(out_file, "rb") as f:
        if f.read() != stdout:
            failures.append("schema --out differs from stdout")
    schema = json.loads(stdout)
    for args, code, text in (
            (["--help"], 0, "Usage: driftless schema [--out FILE]"),
            (["--bogus"], 1, "unknown option '--bogus'"),
            (["extra"], 1, "unexpected argument 'extra'"),
            (["--out", os.path.join(work, "no/such/dir/s.json")], 1,
             "cannot write '")):
        r = subprocess.run([driftless, "schema"] + args, capture_output=True,
                           text=True)
        if r.returncode != code or text not in r.stdout + r.stderr:
            failures.append("schema %s: exit %d, output %r" % (
                " ".join(args), r.returncode, r.stdout[:200] + r.stderr))
    v = Validator(schema)

    kinds = schema["properties"]["kind"]["enum"]
    if len(kinds) != 7 or set(schema["definitions"]) != set(kinds):
        failures.append("want one definition per kind, got %s"
                        % sorted(schema["definitions"]))

    accepted = 0
    for top in ("desired-state", "tests/fixtures/model/valid"):
        for path in yaml_files(os.path.join(src, top)):
            for i, doc in enumerate(yaml_docs(yaml2json, path)):
                errs = v.errors(schema, doc)
                if errs:
                    failures.append("%s doc %d rejected: %s"
                                    % (path, i, "; ".join(errs)))
                accepted += 1
    # The complete examples of docs/desired-state.md (fragments have no
    # metadata).
    with open(os.path.join(src, "docs/desired-state.md")) as f:
        blocks = f.read().split("```yaml\n")[1:]
    examples = 0
    for n, block in enumerate(blocks):
        text = block.split("```")[0]
        if "\nmetadata:" not in text:
            continue
        path = os.path.join(work, "doc-example-%d.yaml" % n)
        with open(path, "w") as f:
            f.write(text)
        for doc in yaml_docs(yaml2json, path):
            errs = v.errors(schema, doc)
            if errs:
                failures.append("docs/desired-state.md example %d rejected: "
                                "%s" % (n, "; ".join(errs)))
            examples += 1
    if examples < 8:
        failures.append("only %d examples in docs/desired-state.md" % examples)
    accepted += examples
    if accepted < 20:
        failures.append("only %d valid documents found" % accepted)

    rejected = 0
    for path in yaml_files(os.path.join(src, "tests/schema/invalid")):
        with open(path) as f:
            first = f.readline()
        if not first.startswith("# reject: "):
            failures.append("%s: first line must be '# reject: ...'" % path)
            continue
        want = first[len("# reject: "):].strip()
        docs = yaml_docs(yaml2json, path)
        errs = [e for d in docs for e in v.errors(schema, d)]
        if not any(want in e for e in errs):
            failures.append("%s: want an error with %r, got %s"
                            % (path, want, errs))
        rejected += 1

    fixtures = os.path.join(src, "tests/fixtures/model/invalid")
    for name, want in sorted(SCHEMA_VISIBLE.items()):
        path = os.path.join(fixtures, name, "case.yaml")
        docs = yaml_docs(yaml2json, path)
        errs = [e for d in docs for e in v.errors(schema, d)]
        if not any(e.startswith(want + ":") for e in errs):
            failures.append("fixture %s: want an error at %s, got %s"
                            % (name, want, errs))
        rejected += 1

    for f in failures:
        print("FAIL:", f)
    print("schema: %d documents accepted, %d files rejected, %d failures"
          % (accepted, rejected, len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
