"""Count false-fresh and false-stale results over the cases of tests/test_freshness_cases.py.

Each case runs in fresh interpreters with the daskflow that PYTHONPATH names, so the same table
measures two checkouts:  PYTHONPATH=/path/to/other/checkout .venv/bin/python benchmarks/freshness_cases.py
"""
import collections
import sys
import tempfile
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
import test_freshness_cases as c
res = {}
for name in sorted(c.CASES):
    with tempfile.TemporaryDirectory() as d:
        try:
            out, expect = c.run_case(Path(d), name)
        except AssertionError as e:
            res[name] = "error: " + str(e)[-300:]
            continue
        b = out["bodies"]
        warned = any("incomplete" in w or "cannot" in w for w in out["warnings"])
        if expect == "warn":
            res[name] = "ok" if ("T" in b or warned) else "false-fresh"
        elif b == expect:
            res[name] = "ok"
        elif set(expect) - set(b):
            res[name] = "false-fresh (warned)" if warned else "false-fresh"
        else:
            res[name] = "false-stale"
for k, v in res.items():
    print(f"{k:40s} {v}")
print(collections.Counter(v.split(":")[0] for v in res.values()))
