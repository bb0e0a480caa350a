#!/usr/bin/env bash
# The bench-smoke test: bench/run --smoke into a temporary directory, then
# check that every figure of the org scenario is there and is a number.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=$(mktemp -d "${TMPDIR:-/tmp}/bench-smoke.XXXXXX")
trap 'rm -rf "$out"' EXIT
"$here/run" --smoke --out "$out"
python3 - "$out/org-smoke.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
f = d["figures"]
need = ["plan_seconds", "plan_lower_bound_seconds", "plan_vs_lower_bound",
        "fakegcp_chain_requests", "raw_runquery_seconds", "baseline_seconds",
        "baseline_speedup", "apply_seconds", "raw_delete_seconds",
        "delete_vs_raw", "controller_requests_per_pass", "plan_peak_rss_mb",
        "apply_peak_rss_mb"]
bad = [k for k in need if not isinstance(f.get(k), (int, float)) or f[k] < 0]
assert not bad, "missing or bad figures: %s" % bad
assert f["fakegcp_chain_requests"] >= 2, f
assert f["apply_deleted"] == f["delete_documents"] == f["raw_deleted"] > 0, f
assert f["controller_passes"] >= 2 and f["controller_requests_per_pass"] > 0, f
assert d["commit"] and d["machine"]["cpus"] >= 1 and d["targets"], d
print("bench-smoke: %d figures, %d targets checked" % (len(f), len(d["targets"])))
PY
