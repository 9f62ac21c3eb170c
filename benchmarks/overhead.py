"""overhead: daskflow against the same graph written by hand with dask.delayed.

Graphs (the issue's sizes): a chain, a fan-in (N leaves into one sink) and a
binary tree of 250 and of 4,000 tasks.  Every task loads its inputs and writes
a small pickle (``TaskPickle``) or a small parquet file (``TaskPqPandas``); the
baseline's tasks load and save the same kind of files in a temporary folder,
on the same scheduler.  Each daskflow run gets a fresh storage root, so it
builds everything (plan + graph + execute + commit are all in its time; the
baseline's ``delayed`` graph construction is in its time too).

Runs alternate (daskflow, baseline, baseline, daskflow, ...) after one
warm-up pair; the verdict is the median of the pairwise ratios
daskflow / baseline, printed with the smallest.  Targets: <= 1.0 on the local
threads scheduler, <= 1.2 on a 2-process LocalCluster (fan-in 500, chain 200).

    .venv/bin/python benchmarks/overhead.py                      # threads scheduler, local disk
    .venv/bin/python benchmarks/overhead.py --tmpdir /dev/shm    # the same on tmpfs
    .venv/bin/python benchmarks/overhead.py --cluster-only       # a 2-process LocalCluster
    .venv/bin/python benchmarks/overhead.py --quick              # small graphs, for a smoke run
    .venv/bin/python benchmarks/overhead.py --profile            # cProfile of daskflow (sync scheduler)

d6tflow's ratio (d6tflow / the same baseline, measured side by side in its own
process) is reported when d6tflow is importable here or in the interpreter given
by ``--d6tflow-python`` (default: .venv-bench/bin/python if it exists).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import _common as C  # noqa: E402

TARGETS = {"threads": 1.0, "cluster": 1.2}  # by scheduler, both formats
TMPDIR = None  # --tmpdir: where both sides write (default: $TMPDIR, i.e. local disk)
QUICK_SHAPES = ["chain:50", "fanin:200", "btree:63"]


def run_daskflow(cls, shape: str, root: str, scheduler=None, client=None) -> None:
    import daskflow

    daskflow.set_root(root)
    kwargs = {"client": client} if client is not None else {"scheduler": scheduler}
    result = daskflow.run(cls(shape=shape, i=C.target(shape)), progress=False, **kwargs)
    if len(result.ran) != C.n_tasks(shape):
        raise SystemExit(f"daskflow ran {len(result.ran)} of {C.n_tasks(shape)} tasks on {shape}")


def measure(mode: str, shapes, formats, repeat: int, scheduler, client) -> list[dict]:
    from _overhead_tasks import CLASSES

    target_ratio = TARGETS["cluster" if client is not None else "threads"]
    rows = []
    for shape in shapes:
        for fmt in formats:
            cls = CLASSES[fmt]
            df_times, bl_times = [], []
            for k in range(repeat + 1):  # pair 0 is a warm-up, discarded
                tmp = tempfile.mkdtemp(prefix="bench-overhead-", dir=TMPDIR)
                try:
                    def df():
                        return C.timed(run_daskflow, cls, shape, os.path.join(tmp, "df"), scheduler, client)

                    def bl():
                        return C.timed(C.run_baseline, shape, fmt, os.path.join(tmp, "bl"),
                                       None if client is not None else scheduler)

                    if k % 2:  # alternate the order inside a pair, so drift cancels
                        b, d = bl(), df()
                    else:
                        d, b = df(), bl()
                finally:
                    shutil.rmtree(tmp, ignore_errors=True)
                if k:
                    df_times.append(d)
                    bl_times.append(b)
            n = C.n_tasks(shape)
            ratio = C.median(C.ratios(df_times, bl_times))
            rows.append({"mode": mode, "shape": shape, "format": fmt, "tasks": n,
                         "daskflow": C.median(df_times) / n, "baseline": C.median(bl_times) / n,
                         "ratio": ratio, "ratio_min": min(C.ratios(df_times, bl_times)),
                         "ratio_max": max(C.ratios(df_times, bl_times)),
                         "target": target_ratio, "ok": ratio <= target_ratio})
            print(f"  {mode:8s} {shape:11s} {fmt:8s} daskflow/baseline median {ratio:.2f}, "
                  f"min {rows[-1]['ratio_min']:.2f}, max {rows[-1]['ratio_max']:.2f} "
                  f"({C.fmt_us(rows[-1]['daskflow'])} vs {C.fmt_us(rows[-1]['baseline'])} per task)",
                  flush=True)
    return rows


def d6tflow_python(arg: str | None) -> str | None:
    """An interpreter that can import d6tflow, or None."""
    candidates = [arg] if arg else [sys.executable, ".venv-bench/bin/python"]
    for py in candidates:
        if not py or not os.path.exists(py):
            continue
        probe = subprocess.run([py, "-c", "import d6tflow, dask, pandas, pyarrow"],
                               capture_output=True, text=True)
        if probe.returncode == 0:
            return py
    return None


def measure_d6tflow(py: str, shapes, formats, repeat: int) -> dict:
    proc = subprocess.run([py, os.path.join(HERE, "_d6tflow_overhead.py"), "--shapes", ",".join(shapes),
                           "--formats", ",".join(formats), "--repeat", str(repeat)],
                          capture_output=True, text=True)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            data = json.loads(line[7:])
            return {k: C.median(C.ratios(v["d6tflow"], v["baseline"])) for k, v in data.items()}
    print(f"d6tflow run failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return {}


def profile(shapes, formats) -> None:
    """cProfile of daskflow building each graph on the sync scheduler (one thread, all visible)."""
    import cProfile
    import pstats

    from _overhead_tasks import CLASSES

    prof = cProfile.Profile()
    for shape in shapes:
        for fmt in formats:
            for _ in range(2):
                tmp = tempfile.mkdtemp(prefix="bench-overhead-prof-")
                try:
                    prof.enable()
                    run_daskflow(CLASSES[fmt], shape, os.path.join(tmp, "df"), "sync", None)
                    prof.disable()
                finally:
                    shutil.rmtree(tmp, ignore_errors=True)
    stats = pstats.Stats(prof)
    stats.sort_stats("cumulative").print_stats(40)
    stats.sort_stats("tottime").print_stats(30)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=5, help="measured pairs per row (default 5)")
    ap.add_argument("--shapes", default=None,
                    help="e.g. chain:250,fanin:249,btree:250 (default: the issue's 250 and 4,000 tasks)")
    ap.add_argument("--cluster-shapes", default=",".join(C.CLUSTER_SHAPES),
                    help="graphs of the LocalCluster rows (default fan-in 500, chain 200)")
    ap.add_argument("--formats", default="pickle,parquet")
    ap.add_argument("--scheduler", default="threads", help="local scheduler for both (default threads)")
    ap.add_argument("--cluster", action="store_true", help="also run on a 2-process LocalCluster")
    ap.add_argument("--cluster-only", action="store_true", help="only the LocalCluster rows")
    ap.add_argument("--quick", action="store_true", help="small graphs: " + ",".join(QUICK_SHAPES))
    ap.add_argument("--no-d6tflow", action="store_true")
    ap.add_argument("--d6tflow-python", default=None)
    ap.add_argument("--d6tflow-shapes", default="chain:250,fanin:249,btree:250",
                    help="d6tflow's graphs (default: the 250-task ones; luigi takes minutes on 4,000)")
    ap.add_argument("--d6tflow-repeat", type=int, default=3,
                    help="measured d6tflow/baseline pairs per row (default 3: d6tflow is slow)")
    ap.add_argument("--profile", action="store_true", help="print a cProfile of daskflow and exit")
    ap.add_argument("--tmpdir", default=None, help="folder for both sides' files, e.g. /dev/shm (tmpfs)")
    args = ap.parse_args()
    global TMPDIR
    TMPDIR = args.tmpdir

    shapes = args.shapes.split(",") if args.shapes else (QUICK_SHAPES if args.quick else C.DEFAULT_SHAPES)
    formats = args.formats.split(",")
    if args.profile:
        profile(shapes, formats)
        return

    import dask
    import daskflow

    print(f"overhead: daskflow {daskflow.__version__}, dask {dask.__version__}, {os.cpu_count()} cores; "
          f"{args.repeat} measured pairs per row; files under {TMPDIR or tempfile.gettempdir()}", flush=True)
    start = time.perf_counter()
    rows = []
    if not args.cluster_only:
        rows += measure(args.scheduler, shapes, formats, args.repeat, args.scheduler, None)
    if args.cluster or args.cluster_only:
        from distributed import Client, LocalCluster

        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                          dashboard_address=None) as cluster, Client(cluster) as client:
            client.run(sys.path.insert, 0, HERE)  # workers import _overhead_tasks like a user's project
            cshapes = QUICK_SHAPES if args.quick else args.cluster_shapes.split(",")
            rows += measure("cluster", cshapes, formats, args.repeat, None, client)

    d6t = {}
    d6t_note = "d6tflow not installed"
    if not args.no_d6tflow:
        py = d6tflow_python(args.d6tflow_python)
        if py:
            print(f"  d6tflow: {args.d6tflow_repeat} pairs per row in {py} ...", flush=True)
            d6t_shapes = QUICK_SHAPES if args.quick else args.d6tflow_shapes.split(",")
            d6t = measure_d6tflow(py, d6t_shapes, formats, args.d6tflow_repeat)
            d6t_note = (f"d6tflow/baseline: luigi local scheduler, 1 worker, against the same dask.delayed "
                        f"baseline on threads, median of {args.d6tflow_repeat} alternating pairs ({py})")
    else:
        d6t_note = "d6tflow skipped (--no-d6tflow)"

    print()
    headers = ["scheduler", "graph", "format", "tasks", "daskflow/task", "dask.delayed/task",
               "daskflow/baseline (median)", "min-max", "target", "verdict"]
    table = []
    for r in rows:
        table.append([r["mode"], r["shape"], r["format"], r["tasks"], C.fmt_us(r["daskflow"]),
                      C.fmt_us(r["baseline"]), f"{r['ratio']:.2f}",
                      f"{r['ratio_min']:.2f}-{r['ratio_max']:.2f}", f"<= {r['target']}",
                      C.verdict(r["ok"])])
    print(C.table(headers, table))
    if d6t:
        print()
        print(C.table(["peer", "graph", "format", "d6tflow/baseline (median)"],
                      [["d6tflow", *key.split("|"), f"{value:.2f}"] for key, value in d6t.items()]))
    print(f"\n{d6t_note}")
    failed = [r for r in rows if not r["ok"]]
    print(f"overall: {C.verdict(not failed)} ({len(rows) - len(failed)}/{len(rows)} rows within target); "
          f"absolute times are context only (shared, noisy machine); "
          f"{time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
