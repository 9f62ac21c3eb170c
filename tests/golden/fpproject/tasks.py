import daskflow

from . import util
from .util import Helper, double, recursive


class Load(daskflow.tasks.TaskJson):
    n = daskflow.IntParameter(default=3)

    def run(self):
        values = [util.scale(i) for i in range(self.n)]
        self.save({"values": values, "names": list(util.NAMES)})


class Fit(daskflow.tasks.TaskJson):
    def requires(self):
        return Load()

    def run(self):
        data = self.inputLoad()
        total = sum(double(v) for v in data["values"]) + recursive(3) + util.ping(4)
        self.save({"total": Helper().apply(total)})


def make_closure(k):
    def body(self):
        self.save({"k": k})
    return body


class Closure(daskflow.tasks.TaskJson):
    run = make_closure(7)


class Pinned(daskflow.tasks.TaskJson):
    version = "2024.1"

    def run(self):
        self.save({})
