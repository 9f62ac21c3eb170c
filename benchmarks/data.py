"""The `data` benchmark: a TaskPqDask pipeline over a parquet dataset larger than one
worker's memory limit, against the same pipeline in hand-written dask.dataframe.

    .venv/bin/python benchmarks/data.py            # 2 workers x 1 thread, 512 MiB each
    .venv/bin/python benchmarks/data.py --quick    # smaller, 3 repeats

Pipeline (both sides, on the same 2-process LocalCluster, outputs on local disk):

1. read the dataset, keep rows with ``x > 0``, add ``z = x * y`` and write it as
   partitioned parquet (daskflow: a ``TaskPqDask`` whose run() does this; its
   workers write the partitions through a ``worker_client``);
2. read that lazily, group by ``key`` and write the small aggregate
   (daskflow: a ``TaskPqPandas`` downstream of it).

Runs alternate (daskflow, dask, daskflow, ...), every daskflow run rebuilds
everything (``forced_all_upstream``) into a fresh folder, and the verdict is the
median ratio daskflow / dask (target <= 1.1, issue #13).  The
dataset's in-memory size is printed beside the worker memory limit; a run that
loses a worker (KilledWorker) fails the benchmark.

Measured on a shared 2-core machine under load average 7-15 (other jobs):
median ratio 1.18 (pairs 0.80, 1.35, 0.71, 1.32, 1.18) in one full run and
1.71 in another; the per-task durations put the gap in step 1: the same
``to_parquet`` submitted from inside a worker task (``worker_client``) took
18-21 s against 13-15 s from the driver in 2 of 3 pairs (12 files).  Step 2
was as fast as by hand.  The noise here is as large as the gap: rerun on a
quiet machine before drawing conclusions.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time

import numpy as np
import pandas as pd

import daskflow

TARGET = 1.1  # daskflow / hand-written dask.dataframe, median of alternating pairs


class Filtered(daskflow.tasks.TaskPqDask):
    """Step 1: filter and derive a column over the whole dataset (workers write the parts)."""

    source = daskflow.Parameter()

    def run(self):
        import dask.dataframe as dd

        df = dd.read_parquet(self.source)
        df = df[df.x > 0]
        self.save(df.assign(z=df.x * df.y))


class Totals(daskflow.tasks.TaskPqPandas):
    """Step 2: a small aggregate of step 1, read lazily."""

    source = daskflow.Parameter()

    def requires(self):
        return Filtered(source=self.source)

    def run(self):
        df = self.inputLoad()
        self.save(df.groupby("key").agg({"z": "sum", "x": "mean"}).compute().reset_index())


def hand_written(source: str, out: str) -> pd.DataFrame:
    """The same two steps in plain dask.dataframe, computed on the default (distributed) client."""
    import dask.dataframe as dd

    df = dd.read_parquet(source)
    df = df[df.x > 0]
    df.assign(z=df.x * df.y).to_parquet(f"{out}/filtered.parquet")
    totals = dd.read_parquet(f"{out}/filtered.parquet").groupby("key").agg(
        {"z": "sum", "x": "mean"}).compute().reset_index()
    totals.to_parquet(f"{out}/totals.parquet")
    return totals


def make_dataset(path: str, parts: int, rows: int) -> int:
    """``parts`` parquet files of ``rows`` rows; returns the in-memory size in bytes."""
    os.makedirs(path, exist_ok=True)
    rng = np.random.default_rng(0)
    size = 0
    for i in range(parts):
        df = pd.DataFrame({"key": rng.integers(0, 1000, rows), "x": rng.standard_normal(rows),
                           "y": rng.standard_normal(rows), "w": rng.standard_normal(rows)})
        size += int(df.memory_usage(index=False).sum())
        df.to_parquet(f"{path}/part.{i:03d}.parquet", index=False)
    return size


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--parts", type=int, default=24)
    ap.add_argument("--rows", type=int, default=1_000_000, help="rows per dataset file")
    ap.add_argument("--memory-limit", default="512MiB", help="per worker")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="--parts 16 --repeat 3")
    ap.add_argument("--workdir", default=None)
    args = ap.parse_args()
    if args.quick:
        args.parts, args.repeat = 16, 3

    import dask
    from dask.utils import format_bytes, parse_bytes
    from distributed import Client, LocalCluster

    work = args.workdir or tempfile.mkdtemp(prefix="daskflow-bench-data-")
    source = os.path.join(work, "dataset")
    t0 = time.perf_counter()
    size = make_dataset(source, args.parts, args.rows)
    print(f"dataset: {args.parts} files x {args.rows:,} rows = {format_bytes(size)} in memory "
          f"({time.perf_counter() - t0:.1f}s to write); worker memory limit {args.memory_limit}, "
          f"2 workers x 1 thread", flush=True)
    if size <= parse_bytes(args.memory_limit):
        print("note: the dataset is not larger than one worker's memory limit", flush=True)

    times = {"daskflow": [], "dask": []}
    failures = []
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}), \
            LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                         memory_limit=args.memory_limit, host="127.0.0.1") as cluster, \
            Client(cluster) as client:
        expected = None
        for i in range(args.repeat):
            for side in ("daskflow", "dask") if i % 2 == 0 else ("dask", "daskflow"):
                out = os.path.join(work, f"{side}-{i}")
                start = time.perf_counter()
                try:
                    if side == "dask":
                        totals = hand_written(source, out)
                    else:
                        daskflow.set_root(out)
                        daskflow.run(Totals(source=source), client=client, progress=False,
                                     forced_all_upstream=True)
                        totals = Totals(source=source).outputLoad()
                except Exception as exc:
                    failures.append(f"{side} run {i}: {type(exc).__name__}: {str(exc)[:300]}")
                    print(f"  {side:8} run {i}: FAILED {failures[-1]}", flush=True)
                    continue
                elapsed = time.perf_counter() - start
                times[side].append(elapsed)
                totals = totals.sort_values("key").reset_index(drop=True)
                if expected is None:
                    expected = totals
                else:
                    pd.testing.assert_frame_equal(totals, expected, check_dtype=False)
                print(f"  {side:8} run {i}: {elapsed:6.2f}s", flush=True)
                shutil.rmtree(out, ignore_errors=True)
    if not args.workdir:
        shutil.rmtree(work, ignore_errors=True)

    if failures or not times["dask"] or not times["daskflow"]:
        print("FAILED:", *failures, sep="\n  ")
        return 1
    ratios = [a / b for a, b in zip(times["daskflow"], times["dask"])]
    median = statistics.median(ratios)
    print()
    print("| pipeline | daskflow median | dask median | ratio (median of pairs) | target |")
    print("|---|---|---|---|---|")
    print(f"| TaskPqDask filter+derive -> groupby, {format_bytes(size)} | "
          f"{statistics.median(times['daskflow']):.2f}s | {statistics.median(times['dask']):.2f}s | "
          f"{median:.2f} | <= {TARGET} {'met' if median <= TARGET else 'NOT MET'} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
