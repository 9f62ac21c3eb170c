"""Shared pieces of the benchmarks: graph shapes, payloads, the hand-written dask
baseline, timing and table helpers.

Imports only the standard library, pandas and dask (never daskflow), so the
d6tflow runner (``_d6tflow_overhead.py``), which runs in another virtualenv,
can use the very same baseline.
"""

from __future__ import annotations

import gc
import os
import pickle
import statistics
import time

# -- graph shapes -----------------------------------------------------------------------------
# A shape is a string "kind:size" naming a DAG over integer node ids, so a worker
# process that only sees the string (in a task parameter) knows the same graph:
#   "chain:200"  0 <- 1 <- ... <- 199, target 199
#   "fanin:1000" 1000 leaves -> 1 sink (id 1000), target 1000
#   "tree:10"    3 levels, heap-numbered: root 0, 10 middle, 100 leaves (111 tasks)
#   "btree:250"  a binary tree of 250 nodes, heap-numbered: node i needs 2i+1 and 2i+2, target 0
# The sizes: 250 and 4,000 tasks of each kind (a fan-in of N leaves has N + 1 tasks).

DEFAULT_SHAPES = ["chain:250", "fanin:249", "btree:250", "chain:4000", "fanin:3999", "btree:4000"]
CLUSTER_SHAPES = ["fanin:499", "chain:200"]


def _parse(shape: str) -> tuple[str, int]:
    kind, size = shape.split(":")
    return kind, int(size)


def n_tasks(shape: str) -> int:
    kind, n = _parse(shape)
    if kind == "chain":
        return n
    if kind == "fanin":
        return n + 1
    if kind == "btree":
        return n
    return 1 + n + n * n


def target(shape: str) -> int:
    kind, n = _parse(shape)
    if kind == "chain":
        return n - 1
    if kind == "fanin":
        return n
    return 0


def deps_of(shape: str, i: int) -> list[int]:
    """Upstream node ids of node ``i`` (in the order requires() returns them)."""
    kind, n = _parse(shape)
    if kind == "chain":
        return [i - 1] if i > 0 else []
    if kind == "fanin":
        return list(range(n)) if i == n else []
    if kind == "btree":
        return [j for j in (2 * i + 1, 2 * i + 2) if j < n]
    first = n * i + 1
    total = 1 + n + n * n
    return [j for j in range(first, first + n) if j < total]


def topo_order(shape: str) -> list[int]:
    """Node ids, upstream first."""
    order, seen = [], set()
    stack = [(target(shape), False)]
    while stack:
        i, done = stack.pop()
        if done:
            order.append(i)
            continue
        if i in seen:
            continue
        seen.add(i)
        stack.append((i, True))
        stack.extend((j, False) for j in reversed(deps_of(shape, i)))
    return order


# -- payloads: the work each task does (same for every system) -----------------------------------

def make_pickle(i: int, inputs: list):
    """A small picklable object depending on the inputs."""
    return {"i": i, "n": len(inputs), "s": sum(x["i"] for x in inputs), "v": list(range(16))}


def make_frame(i: int, inputs: list):
    """A small DataFrame (8 rows, 2 columns) depending on the inputs."""
    import pandas as pd

    s = sum(int(x["a"].iloc[0]) for x in inputs)
    return pd.DataFrame({"a": [i + s] * 8, "b": [float(k) for k in range(8)]})


MAKERS = {"pickle": make_pickle, "parquet": make_frame}
EXT = {"pickle": "pkl", "parquet": "parquet"}


def save_file(path: str, fmt: str, obj) -> None:
    if fmt == "pickle":
        with open(path, "wb") as f:
            pickle.dump(obj, f, protocol=pickle.HIGHEST_PROTOCOL)
    else:
        obj.to_parquet(path, engine="pyarrow")


def load_file(path: str, fmt: str):
    if fmt == "pickle":
        with open(path, "rb") as f:
            return pickle.load(f)
    import pandas as pd

    return pd.read_parquet(path, engine="pyarrow")


# -- the hand-written dask baseline --------------------------------------------------------------

def baseline_node(path: str, fmt: str, i: int, *dep_paths):
    """One hand-written task: load the upstream files, compute, save, return the path."""
    inputs = [load_file(p, fmt) for p in dep_paths]
    save_file(path, fmt, MAKERS[fmt](i, inputs))
    return path


def run_baseline(shape: str, fmt: str, folder: str, scheduler=None) -> None:
    """Build the shape with ``dask.delayed`` (graph construction included in the timing)."""
    import dask

    os.makedirs(folder, exist_ok=True)
    node = dask.delayed(baseline_node)
    ext = EXT[fmt]
    d = {}
    for i in topo_order(shape):
        d[i] = node(f"{folder}/{i}.{ext}", fmt, i, *[d[j] for j in deps_of(shape, i)])
    if scheduler is None:  # the default: a distributed Client if one is active
        dask.compute(d[target(shape)])
    else:
        dask.compute(d[target(shape)], scheduler=scheduler)


# -- timing and tables -------------------------------------------------------------------------

def timed(fn, *args, **kwargs) -> float:
    return timed_cpu(fn, *args, **kwargs)[0]


def timed_cpu(fn, *args, **kwargs) -> tuple[float, float]:
    """Wall and CPU seconds of one call, both after a full garbage collection (not counted)."""
    gc.collect()
    start, cpu = time.perf_counter(), time.process_time()
    fn(*args, **kwargs)
    return time.perf_counter() - start, time.process_time() - cpu


def median(xs):
    return statistics.median(xs) if xs else float("nan")


def ratios(a: list, b: list) -> list:
    """Pairwise ratios of alternating runs a[k] / b[k]."""
    return [x / y for x, y in zip(a, b)]


def fmt_us(seconds: float) -> str:
    us = seconds * 1e6
    if us >= 1000:
        return f"{us / 1000:.2f} ms"
    return f"{us:.1f} us"


def table(headers: list, rows: list) -> str:
    cells = [[str(h) for h in headers]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[k]) for r in cells) for k in range(len(headers))]
    line = lambda r: "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |"  # noqa: E731
    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(cells[0]), sep] + [line(r) for r in cells[1:]])


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"
