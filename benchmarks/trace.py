"""What the run-time trace (daskflow.trace) costs: a task body run inside ``trace.watch`` with
the trace on, against the same body with it off, alternating, median of the pairs.

Two bodies (``benchmarks/fixtures/trace_work.py``): a pandas-heavy one (a frame of 200,000
rows, a Python function mapped over a column, a groupby and a merge) and a pure-Python loop
(300,000 calls of a small user function).  The verdict is the ratio on vs off; the trace is
a documented opt-in when it is above 1.10.

    .venv/bin/python benchmarks/trace.py [--repeat 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "fixtures"))
sys.path.insert(0, os.path.dirname(HERE))

import trace_work  # noqa: E402

from daskflow import config, trace  # noqa: E402


class _Task:
    def __repr__(self) -> str:
        return "Bench()"


def _once(body, on: bool) -> float:
    config.settings.trace = on
    marker = {"code_parts": '{"trace_work:pandas_heavy": {}, "trace_work:python_loop": {}, '
                            '"trace_work:_score": {}, "trace_work:_step": {}}'}
    start = time.perf_counter()
    with trace.watch(_Task(), marker):
        body()
    elapsed = time.perf_counter() - start
    assert (not on) or marker["traced"], "the trace recorded nothing"
    return elapsed


def measure(body, repeat: int) -> tuple[float, float, float]:
    body()  # warm caches and imports
    off, on = [], []
    for i in range(repeat):
        for flag in ((False, True) if i % 2 == 0 else (True, False)):
            (on if flag else off).append(_once(body, flag))
    config.settings.trace = None
    return statistics.median(off), statistics.median(on), statistics.median(b / a for a, b in zip(off, on))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    print(f"{'body':16} {'off (s)':>9} {'on (s)':>9} {'ratio on/off':>13}  verdict (<= 1.10)")
    for name, body in (("pandas-heavy", trace_work.pandas_heavy), ("python-loop", trace_work.python_loop)):
        off, on, ratio = measure(body, args.repeat)
        print(f"{name:16} {off:9.3f} {on:9.3f} {ratio:13.2f}  {'PASS' if ratio <= 1.10 else 'OVER: opt-in'}")


if __name__ == "__main__":
    main()
