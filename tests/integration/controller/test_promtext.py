#!/usr/bin/env python3
"""The strict Prometheus text parser must reject what scrapers reject."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import promtext  # noqa: E402

GOOD = """# HELP a_total Things\\nand \\\\ more
# TYPE a_total counter
a_total{k="x\\"y\\\\z\\n"} 3
a_total{k="w"} 0
# HELP h Latency
# TYPE h histogram
h_bucket{le="0.5"} 1
h_bucket{le="1"} 2
h_bucket{le="+Inf"} 3
h_sum 4.5
h_count 3
# HELP g A gauge
# TYPE g gauge
g -Inf
"""

HIST = """# HELP h x
# TYPE h histogram
h_bucket{le="0.5"} %s
h_bucket{le="1"} %s
h_bucket{le="+Inf"} %s
h_sum 1
h_count %s
"""

BAD = {
    "no TYPE": "# HELP x y\nx 1\n",
    "no HELP": "# TYPE x gauge\nx 1\n",
    "no newline at end": "# HELP x y\n# TYPE x gauge\nx 1",
    "bad escape": '# HELP x y\n# TYPE x gauge\nx{a="\\t"} 1\n',
    "unterminated": '# HELP x y\n# TYPE x gauge\nx{a="1} 1\n',
    "bad label name": '# HELP x y\n# TYPE x gauge\nx{1a="1"} 1\n',
    "duplicate label": '# HELP x y\n# TYPE x gauge\nx{a="1",a="2"} 1\n',
    "duplicate sample": "# HELP x y\n# TYPE x gauge\nx 1\nx 2\n",
    "bad value": "# HELP x y\n# TYPE x gauge\nx one\n",
    "timestamp": "# HELP x y\n# TYPE x gauge\nx 1 1700000000\n",
    "negative counter": "# HELP x y\n# TYPE x counter\nx -1\n",
    "bad type": "# HELP x y\n# TYPE x gaug\nx 1\n",
    "TYPE after samples": "# HELP x y\n# TYPE x gauge\nx 1\n# TYPE x gauge\n",
    "interleaved": ("# HELP x y\n# TYPE x gauge\n# HELP z y\n# TYPE z gauge\n"
                    'x{a="1"} 1\nz 1\nx{a="2"} 1\n'),
    "+Inf != count": HIST % (1, 2, 3, 4),
    "decreasing buckets": HIST % (2, 1, 3, 3),
    "missing +Inf": ("# HELP h x\n# TYPE h histogram\nh_bucket{le=\"1\"} 1\n"
                     "h_sum 1\nh_count 1\n"),
    "bucket without le": ("# HELP h x\n# TYPE h histogram\nh_bucket 1\n"
                          "h_sum 1\nh_count 1\n"),
    "le not a number": ("# HELP h x\n# TYPE h histogram\n"
                        'h_bucket{le="big"} 1\nh_bucket{le="+Inf"} 1\n'
                        "h_sum 1\nh_count 1\n"),
}


def main():
    failed = 0
    fams = promtext.parse(GOOD)
    if fams["a_total"]["samples"][0][1] != {"k": 'x"y\\z\n'}:
        print("FAIL: label value unescaping")
        failed += 1
    if fams["a_total"]["help"] != "Things\nand \\ more":
        print("FAIL: HELP unescaping")
        failed += 1
    promtext.parse(HIST % (1, 2, 3, 3))
    for what, text in BAD.items():
        try:
            promtext.parse(text)
            print(f"FAIL: accepted: {what}")
            failed += 1
        except promtext.ParseError as e:
            print(f"ok: rejected {what}: {e}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
