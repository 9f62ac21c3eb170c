"""dynamic: a no-op run of a fully built dynamic fan-out against the same graph written out.

Two graphs of N branches (default 1,000) plus a list task and a combiner, built
once with ``scheduler="sync"``:

- dynamic: ``Combine.requires()`` is ``daskflow.map(Branch, over=Items(), param="item")``
  (the list is loaded from the committed ``Items`` build while planning);
- static: ``StaticCombine.requires()`` returns the same ``Items()`` and branches
  from a list in the code.

``--nested``: each branch of the list is a group that fans out over a list of
its own (two levels of expansion), against the same graph written out.

Then, alternating, median of ``--repeat`` (default 7): ``daskflow.run(target)``
(must report 0 ran) and ``Plan(target)`` alone.  Printed: each median, the ratio
dynamic / static (target <= 1.2: the expansion adds a sub-plan of the list task
and one load, never a listing per branch), and the storage listings each no-op
run makes (target: dynamic <= static).

    .venv/bin/python benchmarks/dynamic.py             # 1,000 branches
    .venv/bin/python benchmarks/dynamic.py --n 200     # quick
    .venv/bin/python benchmarks/dynamic.py --nested    # 32 groups x 32 branches, each group its own list
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import daskflow
from daskflow.plan import Plan
from daskflow.storage import Store

TARGET_RATIO = 1.2


class Items(daskflow.tasks.TaskJson):
    n = daskflow.IntParameter()

    def run(self):
        self.save([f"item{i}" for i in range(self.n)])


class Branch(daskflow.tasks.TaskJson):
    item = daskflow.Parameter()

    def run(self):
        self.save(len(self.item))


class Combine(daskflow.tasks.TaskJson):
    n = daskflow.IntParameter()

    def requires(self):
        return daskflow.map(Branch, over=Items(n=self.n), param="item")

    def run(self):
        self.save(sum(self.inputLoad()))


class StaticCombine(daskflow.tasks.TaskJson):
    n = daskflow.IntParameter()

    def requires(self):
        return [Branch(item=f"item{i}") for i in range(self.n)] + [Items(n=self.n)]

    def run(self):
        self.save(sum(self.inputLoad()[:-1]))


class Parts(daskflow.tasks.TaskJson):
    group = daskflow.Parameter()
    size = daskflow.IntParameter()

    def run(self):
        self.save([f"{self.group}-{i}" for i in range(self.size)])


class Group(daskflow.tasks.TaskJson):
    group = daskflow.Parameter()
    size = daskflow.IntParameter()

    def requires(self):
        return daskflow.map(Branch, over=Parts(group=self.group, size=self.size), param="item")

    def run(self):
        self.save(sum(self.inputLoad()))


class Nested(daskflow.tasks.TaskJson):
    """Groups of the list task's items, each fanning out over its own list (two levels)."""

    n = daskflow.IntParameter()

    def requires(self):
        return daskflow.map(Group, over=Items(n=self.n), param="group", size=self.n)

    def run(self):
        self.save(sum(self.inputLoad()))


class StaticGroup(daskflow.tasks.TaskJson):
    group = daskflow.Parameter()
    size = daskflow.IntParameter()

    def requires(self):
        return [Branch(item=f"{self.group}-{i}" ) for i in range(self.size)] + [
            Parts(group=self.group, size=self.size)]

    def run(self):
        self.save(sum(self.inputLoad()[:-1]))


class StaticNested(daskflow.tasks.TaskJson):
    n = daskflow.IntParameter()

    def requires(self):
        return [StaticGroup(group=f"item{i}", size=self.n) for i in range(self.n)] + [Items(n=self.n)]

    def run(self):
        self.save(sum(self.inputLoad()[:-1]))


def _listings(fn) -> int:
    """How many storage listings ``fn()`` makes: ``Store._find`` calls (S3, other
    filesystems) plus ``Store._scan`` calls (local disk, one ``os.scandir`` walk each)."""
    calls = []
    real = {name: getattr(Store, name) for name in ("_find", "_scan")}

    def counting(name):
        def counted(self, path, prefix=""):
            calls.append((name, path))
            return real[name](self, path, prefix)
        return counted

    for name in real:
        setattr(Store, name, counting(name))
    try:
        fn()
    finally:
        for name, method in real.items():
            setattr(Store, name, method)
    return len(calls)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1000, help="branches")
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--root", default=None, help="storage root (default: a temp dir)")
    ap.add_argument("--nested", action="store_true", help="two levels of expansion (about --n branches)")
    args = ap.parse_args()

    daskflow.set_root(args.root or tempfile.mkdtemp(prefix="bench-dynamic-"))
    if args.nested:
        side = max(int(round(args.n ** 0.5)), 1)  # side x side branches in side groups
        dynamic, static = Nested(n=side), StaticNested(n=side)
        shape = f"two levels: {side} groups x {side} branches (+ {side} group lists, the list, the combiners)"
    else:
        dynamic, static = Combine(n=args.n), StaticCombine(n=args.n)
        shape = f"{args.n} branches (+ list task + combiner)"
    daskflow.run([dynamic, static], scheduler="sync", progress=False)

    def noop(target):
        result = daskflow.run(target, scheduler="sync", progress=False)
        assert result.ran == [], result

    times = {("run", "dynamic"): [], ("run", "static"): [], ("plan", "dynamic"): [], ("plan", "static"): []}
    for _ in range(args.repeat):  # alternating, so drifts in machine load hit both sides
        for name, target in (("dynamic", dynamic), ("static", static)):
            start = time.perf_counter()
            noop(target)
            times[("run", name)].append(time.perf_counter() - start)
            start = time.perf_counter()
            plan = Plan(target)
            times[("plan", name)].append(time.perf_counter() - start)
            assert not plan.to_run()

    lists = {name: _listings(lambda t=target: noop(t)) for name, target in (("dynamic", dynamic), ("static", static))}
    print(f"no-op of a fully built fan-out of {shape}, "
          f"local disk, sync scheduler; median of {args.repeat}, alternating")
    print(f"{'what':<22}{'dynamic s':>11}{'static s':>11}{'ratio':>8}{'target':>9}  verdict")
    for what in ("run", "plan"):
        d, s = (statistics.median(times[(what, k)]) for k in ("dynamic", "static"))
        ratio = d / s
        label = "daskflow.run (no-op)" if what == "run" else "Plan() alone"
        print(f"{label:<22}{d:>11.4f}{s:>11.4f}{ratio:>8.2f}{'<= ' + str(TARGET_RATIO):>9}  "
              f"{'PASS' if ratio <= TARGET_RATIO else 'FAIL'}")
    ok = lists["dynamic"] <= lists["static"]
    print(f"{'listings per no-op run':<22}{lists['dynamic']:>11}{lists['static']:>11}{'':>8}"
          f"{'<= static':>9}  {'PASS' if ok else 'FAIL'}")


if __name__ == "__main__":
    main()
