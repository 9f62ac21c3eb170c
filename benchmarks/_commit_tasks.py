"""Tasks for the commit and lease benchmarks: ``Fan(n)`` over ``n`` small pickle ``Leaf`` tasks."""

import daskflow


class Leaf(daskflow.tasks.TaskPickle):
    i = daskflow.IntParameter()

    def run(self):
        self.save({"i": self.i})


class Fan(daskflow.tasks.TaskPickle):
    n = daskflow.IntParameter()

    def requires(self):
        return [Leaf(i=i) for i in range(self.n)]

    def run(self):
        self.save(sum(t.load()["i"] for t in self.input()))
