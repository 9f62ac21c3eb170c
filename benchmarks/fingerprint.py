"""fingerprint: code fingerprint of a task class, and the cost of one more instance.

Fixture: ``benchmarks/fixtures/fp_tasks.py`` (task classes) whose ``run()``
reaches a helper class and functions in ``fp_features.py`` and
``fp_mathutil.py`` (followed across modules, as the spec asks).

Measured:
1. the code fingerprint of ``FpFeatures``, cold (first in a fresh process,
   median over fresh subprocesses) and warm (cached);
2. that it is computed once per class per process: ``_fingerprint_class`` is
   counted while a Plan over 2,000 instances (two classes) is built;
3. an extra instance's identity: ``Task(...)`` construction (10 parameters of
   mixed types), ``param_bytes``, and the plan's per-node fingerprinting
   (``Node`` + ``Plan._fingerprint``: code lookup, version, param folder,
   fingerprint, key).  Target <= 20 us per instance; measured twice: parameter
   sets seen before in the process (a warm process, a notebook: the folder name
   is looked up) and new ones (written).  Reference, same
   process: ``dask.base.tokenize`` of the same parameters (what a
   hand-written ``delayed`` call pays to name its key with ``pure=True``).

    .venv/bin/python benchmarks/fingerprint.py
    .venv/bin/python benchmarks/fingerprint.py --profile
"""

from __future__ import annotations

import argparse
import datetime
import os
import subprocess
import sys
import tempfile
import types

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import _common as C  # noqa: E402

TARGET_US = 20.0

COLD_SNIPPET = r"""
import sys, time
sys.path.insert(0, {here!r})
from fixtures.fp_tasks import FpFeatures
from daskflow.fingerprint import code_fingerprint
t0 = time.perf_counter(); fp = code_fingerprint(FpFeatures); t1 = time.perf_counter()
code_fingerprint(FpFeatures); t2 = time.perf_counter()
print(t1 - t0, t2 - t1, len(fp.parts), len({{k.split(':')[0] for k in fp.parts}}), len(fp.incomplete))
"""


def params_for(k: int) -> dict:
    return dict(n=100 + k % 7, seed=k, window=3 + k % 4, rate=0.1 * (k % 5), name=f"run{k % 13}",
                columns=["z", "smooth"][: 1 + k % 2], options={"clip": bool(k % 2), "scale": 1.0 + k % 3},
                day=datetime.date(2024, 1, 1) + datetime.timedelta(days=k % 300), flag=bool(k % 3), n_jobs=2)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--instances", type=int, default=5000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--profile", action="store_true", help="cProfile of the per-instance path")
    args = ap.parse_args()

    import dask.base

    import daskflow
    try:
        from daskflow.fingerprint import walk as F  # where code_fingerprint looks _fingerprint_class up
    except ImportError:  # code before the fingerprint package (main at f74774f): one module
        import daskflow.fingerprint as F
    from daskflow.plan import Node, Plan

    from fixtures.fp_tasks import FpFeatures, FpLoad

    # -- 1. cold code fingerprint, in fresh processes ----------------------------------------
    cold, warm = [], []
    parts = modules = incomplete = None
    for _ in range(args.repeat):
        out = subprocess.run([sys.executable, "-c", COLD_SNIPPET.format(here=HERE)], capture_output=True,
                             text=True, check=True).stdout.split()
        cold.append(float(out[0]))
        warm.append(float(out[1]))
        parts, modules, incomplete = int(out[2]), int(out[3]), int(out[4])

    # -- 2. once per class per process -------------------------------------------------------
    calls: dict = {}
    original = F._fingerprint_class

    def counting(cls):
        calls[cls.__name__] = calls.get(cls.__name__, 0) + 1
        return original(cls)

    F._CLASS_CACHE.clear()
    F._fingerprint_class = counting
    try:
        with tempfile.TemporaryDirectory(prefix="bench-fp-") as root:
            daskflow.set_root(root)
            plan = Plan([FpFeatures(**params_for(k)) for k in range(1000)])
            n_nodes = len(plan.nodes)
            Plan([FpFeatures(**params_for(k)) for k in range(1000, 1100)])
    finally:
        F._fingerprint_class = original
    once = all(v == 1 for v in calls.values()) and set(calls) == {"FpFeatures", "FpLoad"}

    # -- 3. one more instance ----------------------------------------------------------------
    kw = [params_for(k) for k in range(args.instances)]
    holder = types.SimpleNamespace(nodes={})

    def construct():
        return [FpFeatures(**p) for p in kw]

    def identity():
        tasks = [FpFeatures(**p) for p in kw]
        for t in tasks:
            t.param_bytes  # noqa: B018
        return tasks

    def full():
        nodes = {}
        for p in kw:
            t = FpFeatures(**p)
            nodes[t] = Node(t, [])
        holder.nodes = nodes
        Plan._fingerprint(holder)

    def full_new():  # parameter sets new to the process: no folder name written before
        try:
            from daskflow.taskdef import _DIRS
        except ImportError:  # code before folder names were kept
            _DIRS = {}
        _DIRS.clear()
        full()

    def tokenize():
        for p in kw:
            dask.base.tokenize(p)

    if args.profile:
        import cProfile
        import pstats

        full()
        prof = cProfile.Profile()
        prof.enable()
        full()
        prof.disable()
        stats = pstats.Stats(prof)
        stats.sort_stats("tottime").print_stats(25)
        return

    full()  # warm
    times = {"construct": [], "identity": [], "full": [], "new": [], "tokenize": []}
    fns = {"construct": construct, "identity": identity, "full": full, "new": full_new, "tokenize": tokenize}
    cpu = {k: [] for k in times}
    for k in range(args.repeat):
        for name in (list(fns) if k % 2 == 0 else list(fns)[::-1]):
            wall, used = C.timed_cpu(fns[name])
            times[name].append(wall)
            cpu[name].append(used)
    n = args.instances
    per = {k: C.median(v) / n for k, v in times.items()}
    per_cpu = {k: C.median(v) / n for k, v in cpu.items()}
    ratio = C.median(C.ratios(times["full"], times["tokenize"]))

    print(f"\nfingerprint: FpFeatures reaches {parts} code parts in {modules} modules "
          f"({incomplete} incomplete); {args.repeat} runs")
    rows = [
        ["code fingerprint, cold (fresh process)", C.fmt_us(C.median(cold)), "-", "-", "(context)", "-"],
        ["code fingerprint, cached", C.fmt_us(C.median(warm)), "-", "-", "(context)", "-"],
        ["computed once per class per process", f"{calls}", "-", f"{n_nodes} nodes planned", "once",
         C.verdict(once)],
        ["Task(**10 params)", C.fmt_us(per["construct"]), C.fmt_us(per_cpu["construct"]), "-", "-", "-"],
        ["  + param_bytes", C.fmt_us(per["identity"]), C.fmt_us(per_cpu["identity"]), "-", "-", "-"],
        ["  + Node + Plan._fingerprint = one more instance", C.fmt_us(per["full"]), C.fmt_us(per_cpu["full"]),
         f"{ratio:.1f} x tokenize", f"<= {TARGET_US:.0f} us", C.verdict(per["full"] * 1e6 <= TARGET_US)],
        ["  the same, parameter sets new to the process", C.fmt_us(per["new"]), C.fmt_us(per_cpu["new"]),
         f"{C.median(C.ratios(times['new'], times['tokenize'])):.1f} x tokenize", f"<= {TARGET_US:.0f} us",
         C.verdict(per["new"] * 1e6 <= TARGET_US)],
        ["ref: dask.base.tokenize(params)", C.fmt_us(per["tokenize"]), C.fmt_us(per_cpu["tokenize"]), "1.0",
         "-", "-"],
    ]
    print(C.table(["what", "time (wall)", "CPU", "ratio", "target", "verdict"], rows))
    print("absolute times are context only (shared, noisy machine)")


if __name__ == "__main__":
    main()
