"""The seed's workflow in miniature (GetData -> Preprocess -> Train), JSON outputs, no pandas,
plus a task that fails, an external input nobody produced and a task with typed parameters."""

import datetime

import daskflow


class GetData(daskflow.tasks.TaskJson):
    def run(self):
        self.save({"x": list(range(10)), "y": [0, 1] * 5})


class Preprocess(daskflow.tasks.TaskJson):
    do_preprocess = daskflow.BoolParameter(default=True)

    def requires(self):
        return GetData()

    def run(self):
        data = self.inputLoad()
        if self.do_preprocess:
            mean = sum(data["x"]) / len(data["x"])
            data["x"] = [x - mean for x in data["x"]]
        self.save(data)


@daskflow.requires(Preprocess)
class Train(daskflow.tasks.TaskJson):
    model = daskflow.ChoiceParameter(["ols", "mean"], default="ols")

    def run(self):
        data = self.inputLoad()
        self.save({"model": self.model, "rows": len(data["x"])})


class Flaky(daskflow.tasks.TaskJson):
    fail = daskflow.BoolParameter(default=True)

    def requires(self):
        return GetData()

    def run(self):
        if self.fail:
            raise ValueError("Flaky was told to fail")
        self.save({"ok": True})


class Report(daskflow.tasks.TaskJson):
    """Needs Train (succeeds) and Flaky (fails unless fail=false)."""

    fail = daskflow.BoolParameter(default=True)

    def requires(self):
        return {"train": Train(), "flaky": Flaky(fail=self.fail)}

    def run(self):
        self.save({"ok": True})


class Vendor(daskflow.tasks.TaskJson):
    external = True


class UsesVendor(daskflow.tasks.TaskJson):
    def requires(self):
        return Vendor()

    def run(self):
        self.save(self.inputLoad())


class Typed(daskflow.tasks.TaskJson):
    n = daskflow.IntParameter()
    day = daskflow.DateParameter(default=datetime.date(2024, 1, 1))
    tags = daskflow.ListParameter(default=[])
    label = daskflow.Parameter(default="<b>x</b> & y")

    def run(self):
        self.save({"n": self.n, "day": self.day.isoformat(), "tags": list(self.tags)})


class Survey(daskflow.tasks.TaskJson):
    """External data nobody has published (status: missing)."""

    external = True


class Combine(daskflow.tasks.TaskJson):
    def requires(self):
        return [Vendor(), Survey()]

    def run(self):
        self.save(self.inputLoad())


class Tuned(daskflow.tasks.TaskJson):
    """Plain ``Parameter``s with non-text defaults: the command line gives them the default's type."""

    alpha = daskflow.Parameter(default=0.5)
    layers = daskflow.Parameter(default=[8, 8])
    name = daskflow.Parameter(default="base")
    strict = daskflow.Parameter(default=False)

    def run(self):
        self.save({"alpha": self.alpha})
