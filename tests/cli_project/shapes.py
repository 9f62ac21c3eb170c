"""Graphs for the command line's per-class parameters and its layout at 8 to 200 tasks."""

import daskflow


class Spend(daskflow.tasks.TaskJson):
    def run(self):
        self.save([3, 14, 15, 92, 65, 35])


class Features(daskflow.tasks.TaskJson):
    spend_bins = daskflow.IntParameter(default=3)

    def requires(self):
        return Spend()

    def run(self):
        spend = self.inputLoad()
        width = (max(spend) + 1) / self.spend_bins
        self.save({"bins": self.spend_bins, "binned": [int(s // width) for s in spend]})


class Compare(daskflow.tasks.TaskJson):
    """Two models on Features built by requires() with the class's default."""

    def requires(self):
        return {"a": Features(), "b": Features(spend_bins=2)}

    def run(self):
        self.save({k: v.load()["bins"] for k, v in self.input().items()})


class Part(daskflow.tasks.TaskJson):
    i = daskflow.IntParameter()
    label = daskflow.Parameter(default="a rather long label that a terminal line cannot hold " * 2)
    weights = daskflow.ListParameter(default=list(range(40)))

    def run(self):
        self.save({"i": self.i})


class Wide(daskflow.tasks.TaskJson):
    """``n`` parts side by side (a fan-in of n + 1 tasks)."""

    n = daskflow.IntParameter(default=8)

    def requires(self):
        return [Part(i=i) for i in range(self.n)]

    def run(self):
        self.save(len(self.inputLoad()))


class Chain(daskflow.tasks.TaskJson):
    """A chain of ``depth`` tasks, each with a long parameter."""

    depth = daskflow.IntParameter(default=8)
    note = daskflow.Parameter(default="x" * 90)

    def requires(self):
        return Chain(depth=self.depth - 1) if self.depth > 1 else []

    def run(self):
        self.save(self.depth)
