"""scale: plan and no-op check of 100,000 tasks against 10,000 (time and driver memory).

The graph is the no-op benchmark's (``_noop_tasks``: 10 families, each task
requiring two of the layer below), 10 x 1,000 and 10 x 10,000 tasks.  Each
size runs in its own fresh process (so peak memory is that size's):

- storage is built by daskflow's own executor (``daskflow.execute``, task by
  task in topological order, without a dask graph: the same outputs and
  commit markers a run writes, whatever the storage layout; the child checks
  that the Plan then finds every task fresh, else it stops;
  ``--build-with-daskflow`` builds with ``daskflow.run(scheduler="sync")``);
- ``Plan(targets)`` is timed (median of ``--repeat``), then ``daskflow.run``
  (must report 0 ran);
- driver peak memory: ``ru_maxrss`` of that process, and the growth of RSS
  during planning.

The 10k child runs before and after the 100k one; the ratio uses the median of
all their Plans.  Storage goes to /dev/shm when it exists (tmpfs: ~1 GB of RAM
during the run for 100k tasks), since creating 200,000 small files on a
loaded VM disk takes minutes.
Targets: the cost per task of 100k within 1.2 x that of 10k (time and memory
growth); driver peak under 1 GB.

    .venv/bin/python benchmarks/scale.py
    .venv/bin/python benchmarks/scale.py --small 2000 --large 20000    # quick
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import _common as C  # noqa: E402

PER_TASK_FACTOR = 1.2  # the large size's cost per task / the small size's
PEAK_BYTES = 1024 ** 3


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def child(args) -> None:
    """One size, in this process: lay out (``--layout``) or time and measure; print RESULT json."""
    import gc

    import daskflow
    from daskflow.plan import Plan

    import _noop_tasks as T

    width = args.child // args.families
    n = width * args.families
    daskflow.set_root(args.root)
    if args.layout:
        t0 = time.perf_counter()
        plan = Plan(T.targets(args.families, width))
        if plan.to_run():
            if args.build_with_daskflow:
                daskflow.run(T.targets(args.families, width), scheduler="sync", progress=False)
            else:  # daskflow's executor, task by task: real outputs and markers, no dask graph
                T.build(plan)
            # the measuring child checks that its Plan is a no-op
        print("RESULT " + json.dumps({"laid_out": time.perf_counter() - t0}))
        return
    targets = T.targets(args.families, width)  # imports and class fingerprints outside the memory figure
    Plan(targets[:1])
    gc.collect()
    rss0 = _rss()
    plan_times = []
    t0 = time.perf_counter()
    plan = Plan(T.targets(args.families, width))  # the first full plan: its RSS growth is the memory figure
    plan_times.append(time.perf_counter() - t0)
    growth = _rss() - rss0
    if plan.to_run() or len(plan.nodes) != n:
        raise SystemExit(f"{len(plan.to_run())} of {n} tasks are stale after building them")
    del plan
    gc.collect()
    for _ in range(args.repeat - 1):
        t0 = time.perf_counter()
        plan = Plan(T.targets(args.families, width))
        plan_times.append(time.perf_counter() - t0)
        del plan
        gc.collect()
    t0 = time.perf_counter()
    result = daskflow.run(T.targets(args.families, width), progress=False)
    run_time = time.perf_counter() - t0
    if result.ran:
        raise SystemExit(f"no-op run ran {len(result.ran)} tasks")
    del result
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    traced = None
    if args.tracemalloc:
        import tracemalloc

        gc.collect()
        tracemalloc.start()
        Plan(T.targets(args.families, width))
        traced = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    print("RESULT " + json.dumps({"n": n, "plan": C.median(plan_times), "plans": plan_times, "run": run_time,
                                  "peak": peak, "growth": growth, "rss0": rss0, "traced": traced}))


def spawn(n: int, root: str, args, layout: bool = False) -> dict:
    cmd = [sys.executable, os.path.abspath(__file__), "--child", str(n), "--root", root,
           "--families", str(args.families), "--repeat", str(args.repeat)]
    if args.build_with_daskflow:
        cmd.append("--build-with-daskflow")
    if layout:
        cmd.append("--layout")
    if args.tracemalloc:
        cmd.append("--tracemalloc")
    proc = subprocess.run(cmd, capture_output=True, text=True)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise SystemExit(f"child for {n} tasks failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--small", type=int, default=10_000)
    ap.add_argument("--large", type=int, default=100_000)
    ap.add_argument("--families", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=2, help="Plans timed per size and child")
    ap.add_argument("--workdir", default=None, help="keep the laid-out roots here (reused on the next run)")
    ap.add_argument("--build-with-daskflow", action="store_true")
    ap.add_argument("--tracemalloc", action="store_true", help="also report tracemalloc's peak of one Plan")
    ap.add_argument("--layout", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--root", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return child(args)

    # tmpfs when there is one: creating 200,000 small files on this VM's disk takes minutes
    # (~3.5 ms per task under load against ~0.3 ms on /dev/shm); about 1 GB of RAM while it runs.
    shm = "/dev/shm" if os.path.isdir("/dev/shm") and shutil.disk_usage("/dev/shm").free > 4 * 1024 ** 3 else None
    work = args.workdir or tempfile.mkdtemp(prefix="bench-scale-", dir=shm)
    start = time.perf_counter()
    try:
        small_root, large_root = os.path.join(work, f"n{args.small}"), os.path.join(work, f"n{args.large}")
        print(f"scale: {args.small} vs {args.large} tasks, {args.families} families; laying out storage "
              f"and planning in fresh processes ...", flush=True)
        spawn(args.small, small_root, args, layout=True)
        laid = spawn(args.large, large_root, args, layout=True)["laid_out"]
        print(f"storage laid out ({laid:.0f} s for {args.large}); measuring ...", flush=True)
        s1 = spawn(args.small, small_root, args)
        big = spawn(args.large, large_root, args)
        s2 = spawn(args.small, small_root, args)
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)

    small_plans = s1["plans"] + s2["plans"]  # every small Plan, before and after the large child
    s1 = dict(s1, plan=C.median(small_plans), run=(s1["run"] + s2["run"]) / 2)
    size_ratio = big["n"] / s1["n"]
    per_task = lambda big_v, small_v: (big_v / big["n"]) / (small_v / s1["n"])  # noqa: E731
    plan_ratio, run_ratio = per_task(big["plan"], s1["plan"]), per_task(big["run"], s1["run"])
    growth_ratio = per_task(big["growth"], max((s1["growth"] + s2["growth"]) / 2, 1))
    limit = PER_TASK_FACTOR
    mb = lambda b: f"{b / 1024 ** 2:.0f} MB"  # noqa: E731
    rows = [
        ["Plan (no-op), median", C.fmt_us(s1["plan"] / s1["n"]) + "/task", C.fmt_us(big["plan"] / big["n"]) + "/task",
         f"{plan_ratio:.2f}", f"<= {limit}", C.verdict(plan_ratio <= limit)],
        ["daskflow.run (0 ran)", C.fmt_us(s1["run"] / s1["n"]) + "/task", C.fmt_us(big["run"] / big["n"]) + "/task",
         f"{run_ratio:.2f}", f"<= {limit}", C.verdict(run_ratio <= limit)],
        ["RSS growth, first Plan in process", mb(s1["growth"]), mb(big["growth"]), f"{growth_ratio:.2f}",
         f"<= {limit}", C.verdict(growth_ratio <= limit)],
        *([["tracemalloc peak of one Plan", mb(s1["traced"]), mb(big["traced"]),
             f"{per_task(big['traced'], (s1['traced'] + s2['traced']) / 2):.2f}", f"<= {limit}",
             C.verdict(per_task(big["traced"], (s1["traced"] + s2["traced"]) / 2) <= limit)]]
          if args.tracemalloc else []),
        ["driver peak RSS (ru_maxrss)", mb(s1["peak"]), mb(big["peak"]), "-",
         "< 1 GB", C.verdict(big["peak"] < PEAK_BYTES)],
    ]
    print(C.table(["what", f"{s1['n']} tasks", f"{big['n']} tasks", f"per-task ratio ({size_ratio:.0f}x tasks)",
                   "target", "verdict"], rows))
    print(f"small-size Plans (s): {', '.join(f'{t:.2f}' for t in small_plans)}; large: "
          f"{', '.join(f'{t:.2f}' for t in big['plans'])}; "
          f"absolute times are context only (shared, noisy machine); {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
