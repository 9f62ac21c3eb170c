"""Task classes shared by the core tests. Each run() records its call in CALLS."""

import collections

import pandas as pd

import daskflow

CALLS = collections.Counter()


class GetData(daskflow.tasks.TaskPqPandas):
    n = daskflow.IntParameter(default=10)

    def run(self):
        CALLS["GetData"] += 1
        self.save(pd.DataFrame({"x": range(self.n), "y": [0, 1] * (self.n // 2) + [0] * (self.n % 2)}))


class Preprocess(daskflow.tasks.TaskPqPandas):
    do_preprocess = daskflow.BoolParameter(default=True)

    def requires(self):
        return GetData()

    def run(self):
        CALLS["Preprocess"] += 1
        df = self.input().load()
        if self.do_preprocess:
            df["x"] = (df["x"] - df["x"].mean()) / df["x"].std()
        self.save(df)


@daskflow.requires(Preprocess)
class Train(daskflow.tasks.TaskPickle):
    model = daskflow.Parameter(default="ols")
    n_jobs = daskflow.IntParameter(default=1, significant=False)

    def run(self):
        CALLS["Train"] += 1
        df = self.input().load()
        self.save({"model": self.model, "rows": len(df), "mean_x": float(df["x"].mean())})


class Split(daskflow.tasks.TaskPqPandas):
    persist = ["train", "test"]

    def requires(self):
        return GetData()

    def run(self):
        CALLS["Split"] += 1
        df = self.inputLoad()
        self.save({"train": df.iloc[:6], "test": df.iloc[6:]})


class Mixed(daskflow.tasks.Task):
    persist = {"df": "parquet", "model": "pickle", "info": "json"}

    def requires(self):
        return {"split": Split(), "raw": GetData()}

    def run(self):
        CALLS["Mixed"] += 1
        train, test = self.inputLoad(task="split")
        raw = self.input()["raw"].load()
        self.save({"df": train, "model": {"k": len(test)}, "info": {"raw_rows": len(raw)}})
        self.saveMeta({"score": 0.5, "rows": len(raw)})


class Leaf(daskflow.tasks.TaskJson):
    i = daskflow.IntParameter()

    def run(self):
        CALLS["Leaf"] += 1
        if self.i == 3:
            raise ValueError("leaf 3 is broken")
        self.save({"i": self.i})


class Sum(daskflow.tasks.TaskJson):
    upto = daskflow.IntParameter(default=5)

    def requires(self):
        return [Leaf(i=i) for i in range(self.upto)]

    def run(self):
        CALLS["Sum"] += 1
        self.save({"total": sum(x["i"] for x in self.inputLoad())})


class NoSave(daskflow.tasks.TaskPickle):
    def run(self):
        CALLS["NoSave"] += 1


class BadSave(daskflow.tasks.TaskPqPandas):
    def run(self):
        self.save({"not": "a frame"})


class WrongNames(daskflow.tasks.TaskPqPandas):
    persist = ["a", "b"]

    def run(self):
        self.save({"a": pd.DataFrame({"x": [1]}), "c": pd.DataFrame({"x": [2]})})


class Raw(daskflow.tasks.TaskCSVPandas):
    external = True
    day = daskflow.Parameter(default="2024-01-01")


class UsesRaw(daskflow.tasks.TaskPickle):
    def requires(self):
        return Raw()

    def run(self):
        CALLS["UsesRaw"] += 1
        self.save(len(self.inputLoad()))


class CycleA(daskflow.tasks.TaskPickle):
    def requires(self):
        return CycleB()

    def run(self):
        self.save(1)


class CycleB(daskflow.tasks.TaskPickle):
    def requires(self):
        return CycleA()

    def run(self):
        self.save(2)


class Both(daskflow.tasks.TaskAggregator):
    def run(self):
        yield GetData()
        yield GetData(n=6)


class AfterAll(daskflow.tasks.TaskJson):
    def requires(self):
        return Both()

    def run(self):
        self.save([len(df) for df in self.inputLoad()])
