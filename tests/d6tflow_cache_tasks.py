"""Task classes for tests/test_d6tflow_cache.py, in a module so worker processes import them."""

import pandas as pd

import daskflow as d6tflow

CALLS: dict = {}


def _count(name):
    CALLS[name] = CALLS.get(name, 0) + 1


class Raw(d6tflow.tasks.TaskPqPandas):
    n = d6tflow.IntParameter(default=4)

    def run(self):
        _count("Raw")
        self.save(pd.DataFrame({"a": range(self.n)}))


@d6tflow.requires(Raw)
class Doubled(d6tflow.tasks.TaskCachePandas):
    def run(self):
        _count("Doubled")
        df = self.inputLoad()
        self.save(df * 2)
        self.metaSave({"rows": len(df)})


@d6tflow.requires(Doubled)
class Report(d6tflow.tasks.TaskJson):
    label = d6tflow.Parameter(default="x")

    def run(self):
        _count("Report")
        df = self.inputLoad()
        self.save({"label": self.label, "sum": int(df["a"].sum()), "meta": self.metaLoad()})


class Pair(d6tflow.tasks.TaskCache):
    persist = ["left", "right"]

    def run(self):
        _count("Pair")
        self.save({"left": [1, 2], "right": {"k": 3}})


@d6tflow.requires(Pair)
class UsesPair(d6tflow.tasks.TaskPickle):
    def run(self):
        _count("UsesPair")
        pair = self.input()
        self.save({"left": pair["left"].load(), "right": pair["right"].load()})


@d6tflow.requires(Pair)
class MisusesPair(d6tflow.tasks.TaskPickle):
    def run(self):
        self.save(self.input().load())
