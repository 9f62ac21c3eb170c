"""imports: the cost of ``import daskflow`` in a fresh interpreter.

Each measurement is a new process (``python -c "import X"``, timed inside the
child with ``time.perf_counter`` around the import), alternating daskflow with
two references measured in the same run: ``import dask`` (what any dask user
pays) and ``import pandas``.  The heavy modules (dask's schedulers,
distributed, s3fs, pyarrow, rich) are imported only when a run, a format or a
display needs them.  Target: ``import daskflow`` < 0.3 s (median).

    .venv/bin/python benchmarks/imports.py
    .venv/bin/python benchmarks/imports.py --repeat 11
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import _common as C  # noqa: E402

TARGET_S = 0.3
CHILD = ("import sys, time; t = time.perf_counter(); import {mod}; "
         "print(time.perf_counter() - t, len(sys.modules))")


def once(mod: str) -> tuple[float, int]:
    out = subprocess.run([sys.executable, "-c", CHILD.format(mod=mod)], capture_output=True, text=True,
                         check=True, env=dict(os.environ, PYTHONDONTWRITEBYTECODE="1"))
    seconds, modules = out.stdout.split()
    return float(seconds), int(modules)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    mods = ["daskflow", "dask", "pandas"]
    times = {m: [] for m in mods}
    loaded = {}
    for k in range(args.repeat + 1):  # round 0 warms the OS file cache, discarded
        for mod in (mods if k % 2 == 0 else mods[::-1]):
            t, n = once(mod)
            if k:
                times[mod].append(t)
                loaded[mod] = n
    med = {m: C.median(v) for m, v in times.items()}
    rows = [[f"import {m}", f"{med[m]:.3f} s", f"{min(times[m]):.3f}-{max(times[m]):.3f} s", loaded[m],
             f"{C.median(C.ratios(times['daskflow'], times[m])):.2f}",
             f"< {TARGET_S} s" if m == "daskflow" else "-",
             C.verdict(med[m] < TARGET_S) if m == "daskflow" else "-"] for m in mods]
    print(f"imports: fresh interpreter per measurement, median of {args.repeat}, alternating")
    print(C.table(["what", "median", "min-max", "modules loaded", "daskflow / this", "target", "verdict"], rows))
    print("absolute times are context only (shared, noisy machine)")


if __name__ == "__main__":
    main()
