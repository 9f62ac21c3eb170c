"""collection: ``dask.compute(daskflow.delayed(task))`` against ``daskflow.run`` and hand-written dask.

The same graphs as ``overhead`` (chain, fan-in; small pickle outputs), each run
building everything in a fresh storage root, on the threads scheduler.  Three
ways to build: ``daskflow.run(task)``, ``dask.compute(daskflow.delayed(task))``
(the collection: the same graph plus one gathering node and the load of the
target's output) and the hand-written ``dask.delayed`` baseline of
``_common``.  Runs alternate after a warm-up; the figures are medians of the
pairwise ratios to the baseline.  Target: the collection within 1.1 of
``daskflow.run`` (it is the same graph).

    .venv/bin/python benchmarks/collection.py            # chain 200, fan-in 500, 5 rounds
    .venv/bin/python benchmarks/collection.py --quick    # chain 50, fan-in 100, 3 rounds
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import _common as C  # noqa: E402

TARGET = 1.1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeat", type=int, default=None)
    args = parser.parse_args()
    shapes = ["chain:50", "fanin:100"] if args.quick else ["chain:200", "fanin:500"]
    repeat = args.repeat or (3 if args.quick else 5)

    import dask

    import daskflow
    from _overhead_tasks import CLASSES

    cls = CLASSES["pickle"]
    scratch = tempfile.mkdtemp(prefix="daskflow-bench-collection-")
    rows, ok = [], True
    try:
        for shape in shapes:
            task = cls(shape=shape, i=C.target(shape))
            times = {"run": [], "collection": [], "baseline": []}

            def one(way: str, k: int) -> float:
                root = os.path.join(scratch, f"{shape.replace(':', '-')}-{way}-{k}")
                if way == "baseline":
                    return C.timed(C.run_baseline, shape, "pickle", root, scheduler="threads")
                daskflow.set_root(root)
                if way == "run":
                    return C.timed(daskflow.run, task, scheduler="threads", progress=False)
                return C.timed(dask.compute, daskflow.delayed(task), scheduler="threads")

            for k in range(repeat + 1):  # k == 0: warm-up, not counted
                order = ["run", "collection", "baseline"] if k % 2 else ["baseline", "collection", "run"]
                measured = {way: one(way, k) for way in order}
                if k:
                    for way, t in measured.items():
                        times[way].append(t)
            run_ratio = C.median(C.ratios(times["run"], times["baseline"]))
            coll_ratio = C.median(C.ratios(times["collection"], times["baseline"]))
            vs_run = C.median(C.ratios(times["collection"], times["run"]))
            good = vs_run <= TARGET
            ok &= good
            n = C.n_tasks(shape)
            rows.append([shape, n, C.fmt_us(C.median(times["baseline"]) / n),
                         f"{run_ratio:.2f}", f"{coll_ratio:.2f}", f"{vs_run:.2f}", C.verdict(good)])
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(C.table(["shape", "tasks", "baseline per task", "run / baseline", "collection / baseline",
                   f"collection / run (target <= {TARGET})", "verdict"], rows))
    print(f"medians of {repeat} alternating rounds, threads scheduler, small pickle outputs")


if __name__ == "__main__":
    main()
