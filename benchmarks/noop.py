"""noop: deciding that nothing needs to run, on a fully built graph (local disk).

A graph of N tasks (default 10,000: 10 task families x 1,000 parameter sets,
each task requiring two tasks of the layer below) is built once by daskflow's
own executor (``_noop_tasks.build``: task by task, the outputs and markers a
run writes), then timed, alternating:

- ``Plan(targets)``: walk, fingerprint, list storage once per family, decide
  (target construction included); a folder unchanged for 2 s is not parsed again
  in the process (one stat of it, one of each file), so the same is also timed
  with the folders' names read again (``daskflow.localscan.forget()`` first);
- ``daskflow.run(targets)``: the same plus graph building; must report 0 ran.

Target: <= 15 us per task (the target is absolute, so the figure is printed
beside two references measured in the same process on the same files: the
floor, a bare recursive listing of each family folder (an ``os.scandir`` walk
with one stat per file, what a plan cannot avoid on this layout),
a luigi/d6tflow-style ``complete()`` check, one ``os.stat`` per output
file, and the graph's own ``requires()`` calls alone: the user's code that
makes the upstream task instances, which any check of this API runs).  The first Plan in the process (class fingerprints not yet cached) is
reported separately.

    .venv/bin/python benchmarks/noop.py              # 10,000 tasks
    .venv/bin/python benchmarks/noop.py --n 2000     # quick
    .venv/bin/python benchmarks/noop.py --profile    # cProfile of one Plan
    .venv/bin/python benchmarks/noop.py --root DIR   # keep/reuse a built root
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import _common as C  # noqa: E402

TARGET_US = 15.0



def _files(store, families):
    """Every file under the families' folders, as ``os.DirEntry``: a recursive scandir walk."""
    for family in families:
        stack = [store.family_path(family)]
        while stack:
            with os.scandir(stack.pop()) as entries:
                for entry in entries:
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(entry.path)
                    else:
                        yield entry

def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=10_000, help="tasks (a multiple of --families)")
    ap.add_argument("--families", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--root", default=None, help="storage root to build into and keep (default: a temp dir)")
    ap.add_argument("--profile", action="store_true", help="print a cProfile of one warm Plan")
    args = ap.parse_args()

    import daskflow
    from daskflow.plan import Plan

    import _noop_tasks as T

    width = args.n // args.families
    n = width * args.families
    root = args.root or tempfile.mkdtemp(prefix="bench-noop-")
    daskflow.set_root(root)
    store = None
    try:
        # -- the first Plan in the process: class fingerprints computed here ---------
        t0 = time.perf_counter()
        plan = Plan(T.targets(args.families, width))
        cold = time.perf_counter() - t0
        if len(plan.nodes) != n:
            raise SystemExit(f"expected {n} tasks, the plan has {len(plan.nodes)}")
        stale = len(plan.to_run())
        if stale:
            print(f"building {stale} of {n} tasks under {root} (daskflow's executor) ...", flush=True)
            t0 = time.perf_counter()
            T.build(plan)
            print(f"built in {time.perf_counter() - t0:.0f} s", flush=True)
            t0 = time.perf_counter()
            plan = Plan(T.targets(args.families, width))
            cold = None  # the first plan was not a no-op
        store = plan.store
        if plan.to_run():
            raise SystemExit(f"after the build {len(plan.to_run())} tasks are still stale")
        families = sorted({node.family for node in plan.nodes.values()})
        # every output file, whatever the layout names it (a folder per build or not): walked once
        outputs = [e.path for e in _files(store, families) if e.name.endswith("data.pkl")]
        if len(outputs) != n:
            raise SystemExit(f"expected {n} output files under {root}, found {len(outputs)}")

        if args.profile:
            import cProfile
            import pstats

            prof = cProfile.Profile()
            prof.enable()
            Plan(T.targets(args.families, width))
            prof.disable()
            stats = pstats.Stats(prof)
            stats.sort_stats("cumulative").print_stats(35)
            stats.sort_stats("tottime").print_stats(25)
            return

        def plan_once():
            p = Plan(T.targets(args.families, width))
            if p.to_run():
                raise SystemExit("a no-op plan found stale tasks")

        try:
            from daskflow.localscan import forget
        except ImportError:  # code before the folder names were kept: always read
            def forget():
                pass

        def plan_unkept():  # the folders' names read again (a folder changed since it was kept)
            forget()
            plan_once()

        def run_once():
            result = daskflow.run(T.targets(args.families, width), progress=False)
            if result.ran:
                raise SystemExit(f"a no-op run ran {len(result.ran)} tasks")

        def listing_once():  # the bare minimum: a recursive os.scandir walk with one stat per file
            for entry in _files(store, families):
                entry.stat()

        def stat_once():
            for path in outputs:
                os.stat(path)

        planned = [node.task for node in plan.nodes.values()]

        def requires_once():  # the user's code every requires()-style check runs: upstream instances
            for task in planned:
                task.requires()

        times = {"plan": [], "unkept": [], "run": [], "listing": [], "stat": [], "requires": []}
        cpu = {k: [] for k in times}
        fns = {"plan": plan_once, "unkept": plan_unkept, "run": run_once, "listing": listing_once, "stat": stat_once,
               "requires": requires_once}
        order = list(fns)
        for k in range(args.repeat + 1):
            for name in (order if k % 2 == 0 else order[::-1]):
                t, c = C.timed_cpu(fns[name])
                if k:
                    times[name].append(t)
                    cpu[name].append(c)
    finally:
        if args.root is None:
            shutil.rmtree(root, ignore_errors=True)

    plan_t, run_t = C.median(times["plan"]), C.median(times["run"])
    cpu_us = {k: C.median(v) / n * 1e6 for k, v in cpu.items()}
    rows = [
        ["Plan(targets), warm", C.fmt_us(plan_t / n), f"{cpu_us['plan']:.0f} us",
         f"{C.median(C.ratios(times['plan'], times['listing'])):.1f}",
         f"{C.median(C.ratios(times['plan'], times['stat'])):.1f}", f"<= {TARGET_US:.0f} us",
         C.verdict(plan_t / n * 1e6 <= TARGET_US)],
        ["Plan(targets), warm, folder names read again", C.fmt_us(C.median(times["unkept"]) / n),
         f"{cpu_us['unkept']:.0f} us", f"{C.median(C.ratios(times['unkept'], times['listing'])):.1f}",
         f"{C.median(C.ratios(times['unkept'], times['stat'])):.1f}", "(context)", "-"],
        ["daskflow.run(targets): 0 ran", C.fmt_us(run_t / n), f"{cpu_us['run']:.0f} us",
         f"{C.median(C.ratios(times['run'], times['listing'])):.1f}",
         f"{C.median(C.ratios(times['run'], times['stat'])):.1f}", f"<= {TARGET_US:.0f} us",
         C.verdict(run_t / n * 1e6 <= TARGET_US)],
    ]
    if cold is not None:
        rows.append(["Plan(targets), first in process", C.fmt_us(cold / n), "-", "-", "-", "(context)", "-"])
    rows += [
        ["ref: os.scandir walk + stat (bare listing)", C.fmt_us(C.median(times["listing"]) / n),
         f"{cpu_us['listing']:.0f} us", "1.0", "-", "-", "-"],
        ["ref: os.stat per output (luigi complete())", C.fmt_us(C.median(times["stat"]) / n),
         f"{cpu_us['stat']:.0f} us", "-", "1.0", "-", "-"],
        ["ref: requires() of every task alone (user code)", C.fmt_us(C.median(times["requires"]) / n),
         f"{cpu_us['requires']:.0f} us", "-", "-", "-", "-"],
    ]
    print(f"\nnoop: {n} tasks ({args.families} families x {width} parameter sets), local disk, "
          f"median of {args.repeat} alternating runs")
    print(C.table(["what", "per task (wall)", "CPU per task", "x listing", "x stat", "target", "verdict"], rows))
    print("the verdict is on wall time; on an oversubscribed machine the CPU column shows the work itself")
    print("absolute times are context only (shared, noisy machine); S3 part: not in this script")


if __name__ == "__main__":
    main()
