"""luigi's and d6tflow's hooks a task overrides: ``complete()``, and d6tflow's custom
targets (``target_class``/``target_ext``, a ``DataTarget`` subclass)."""

from __future__ import annotations

import pytest

import daskflow
import daskflow as d6tflow

RUNS: list = []


class Always(d6tflow.tasks.TaskPickle):
    def complete(self):  # luigi's hook: always rerun
        return False

    def run(self):
        RUNS.append("Always")
        self.save(len(RUNS))


class Down(d6tflow.tasks.TaskPickle):
    def requires(self):
        return Always()

    def run(self):
        RUNS.append("Down")
        self.save(self.inputLoad() * 10)


class Until(d6tflow.tasks.TaskPickle):
    limit = d6tflow.IntParameter(default=2)

    def complete(self):  # freshness, and a condition of the user's
        return super().complete() and RUNS.count("Until") >= self.limit

    def run(self):
        RUNS.append("Until")
        self.save(RUNS.count("Until"))


def test_a_complete_override_returning_false_reruns_the_task_and_says_why(tmp_path):
    RUNS.clear()
    daskflow.set_root(str(tmp_path / "store"))
    daskflow.run(Always(), progress=False)
    daskflow.run(Always(), progress=False)
    assert RUNS == ["Always", "Always"]
    assert Always().output().load() == 2  # the newest build loads (outputs ignore the hook)
    assert "Always().complete() returned False" in str(daskflow.why(Always()))
    daskflow.run(Down(), progress=False)  # the upstream reruns; Down from its new output
    assert RUNS[-2:] == ["Always", "Down"] and Down().outputLoad() == 30


def test_super_complete_inside_an_override_decides_by_freshness(tmp_path):
    RUNS.clear()
    daskflow.set_root(str(tmp_path / "store"))
    for _ in range(4):
        daskflow.run(Until(), progress=False)
    assert RUNS == ["Until", "Until"]  # not built, then until the user's condition holds
    assert Until().outputLoad() == 2
    assert Until().complete() is True


class TxtTarget(d6tflow.targets.DataTarget):  # d6tflow's docs, "Writing Your Own Targets"
    def load(self, cached=False, **kwargs):
        def read(path, **options):
            with open(path) as fh:
                return fh.read().splitlines()
        return super().load(read, cached, **kwargs)

    def save(self, lines, **kwargs):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "w") as fh:
            fh.write("\n".join(lines))
        return self.path


class TaskTxt(d6tflow.tasks.TaskData):
    target_class = TxtTarget
    target_ext = "txt"


class Lines(TaskTxt):
    n = d6tflow.IntParameter(default=3)
    persist = ["head", "tail"]

    def run(self):
        self.save({"head": [f"line{i}" for i in range(self.n)], "tail": ["end"]})


class CountLines(d6tflow.tasks.TaskPickle):
    def requires(self):
        return Lines()

    def run(self):
        self.save(sum(len(v) for v in self.inputLoad()))


def test_a_custom_target_class_writes_and_reads_the_outputs(tmp_path):
    daskflow.set_root(str(tmp_path / "store"))
    daskflow.run(CountLines(), progress=False)
    assert Lines().outputLoad() == [["line0", "line1", "line2"], ["end"]]
    assert str(Lines().output()["head"].path).endswith(".txt")
    assert open(Lines().output()["tail"].path).read() == "end"  # written by the target's save()
    assert CountLines().outputLoad() == 4
    assert daskflow.run(CountLines(), progress=False).ran == []


def test_a_data_target_alone_saves_with_a_method_name_and_loads_with_a_reader(tmp_path):
    import pandas as pd

    t = d6tflow.targets.DataTarget(tmp_path / "sub" / "x.csv")
    assert not t.exists()
    assert t.save(pd.DataFrame({"a": [1, 2]}), "to_csv", index=False) == tmp_path / "sub" / "x.csv"
    assert t.load(pd.read_csv)["a"].tolist() == [1, 2]
    assert t.invalidate() and not t.exists()
    with pytest.raises(daskflow.NotBuiltError, match="x.csv"):
        t.load(pd.read_csv)


EVENTS: list = []


class Good(d6tflow.tasks.TaskPickle):
    def run(self):
        self.set_status_message("halfway")
        self.set_progress_percentage(50)
        self.save(1)

    def on_success(self):
        EVENTS.append(("on_success", self.status_message, self.progress_percentage))


class Bad(d6tflow.tasks.TaskPickle):
    def run(self):
        raise ValueError("x")

    def on_failure(self, exception):
        EVENTS.append(("on_failure", type(exception).__name__))
        return "handled"


def test_luigi_hooks_and_events_are_called_around_each_build(tmp_path, monkeypatch):
    import luigi

    from daskflow import luigi_names

    monkeypatch.setattr(luigi_names, "_CALLBACKS", {})  # this test's handlers only

    @d6tflow.tasks.TaskData.event_handler(luigi.Event.SUCCESS)
    def celebrate(task):
        EVENTS.append(("SUCCESS", type(task).__name__))

    @Bad.event_handler(luigi.Event.FAILURE)
    def mourn(task, exception):
        EVENTS.append(("FAILURE", type(task).__name__, str(exception)))

    monkeypatch.setattr(luigi.Task, "_event_callbacks", {})

    @luigi.Task.event_handler(luigi.Event.START)  # on luigi's base: every task, as for d6tflow's
    def started(task):
        EVENTS.append(("START", type(task).__name__))

    EVENTS.clear()
    daskflow.set_root(str(tmp_path / "store"))
    daskflow.run(Good(), progress=False)
    result = daskflow.run(Bad(), progress=False, abort=False)
    assert not result and Good().outputLoad() == 1
    assert sorted(EVENTS) == [("FAILURE", "Bad", "x"), ("START", "Bad"), ("START", "Good"), ("SUCCESS", "Good"),
                              ("on_failure", "ValueError"), ("on_success", "halfway", 50)]
    EVENTS.clear()
    daskflow.run(Good(), progress=False)  # fresh: not built, no hooks
    assert EVENTS == []


class Pair(d6tflow.tasks.TaskPickle):
    persists = ["a", "b"]  # d6tflow's alias of persist

    def run(self):
        self.save({"a": 1, "b": 2})


class Single(d6tflow.tasks.TaskPickle):
    def run(self):
        self.save(3)


class Uses(d6tflow.tasks.TaskPickle):
    def requires(self):
        return {"p": Pair(), "s": Single()}

    def run(self):
        self.save((self.inputLoad(keys="s"), self.inputLoad(keys=["s"]), self.inputLoad(task="p")))


def test_persists_alias_and_inputload_of_one_input_by_name(tmp_path):
    daskflow.set_root(str(tmp_path / "store"))
    assert Pair.persist == ["a", "b"] and list(Pair._outputs) == ["a", "b"]
    daskflow.run(Uses(), progress=False)
    assert Pair().outputLoad() == [1, 2]
    assert Uses().outputLoad() == (3, {"s": 3}, [1, 2])  # a name: its value; a list: a dict


class MetaList(d6tflow.tasks.TaskPickle):
    def run(self):
        self.saveMeta([1, 2, 3])  # d6tflow keeps any value
        self.save(1)


class ReadsMeta(d6tflow.tasks.TaskPickle):
    def requires(self):
        return MetaList()

    def run(self):
        self.save(self.metaLoad())


class Raising(d6tflow.tasks.TaskPickle):
    def requires(self):
        raise KeyError("cfg")


class Yields(d6tflow.tasks.TaskPickle):
    def run(self):
        yield [MetaList()]
        self.save(1)


def test_meta_of_any_value_a_raising_requires_and_yield_in_run(tmp_path):
    daskflow.set_root(str(tmp_path / "store"))
    daskflow.run(ReadsMeta(), progress=False)
    assert MetaList().outputLoadMeta() == [1, 2, 3] and ReadsMeta().outputLoad() == [1, 2, 3]
    with pytest.raises(RuntimeError, match=r"Raising\(\).requires\(\) raised KeyError") as caught:
        daskflow.run(Raising(), progress=False)  # luigi surfaces it as a RuntimeError: so does this
    assert isinstance(caught.value, daskflow.TaskDefinitionError) and isinstance(caught.value.__cause__, KeyError)
    with pytest.raises(daskflow.RunError, match="yields tasks.*requires"):
        daskflow.run(Yields(), progress=False)


COUNTS: list = []


class Leaf(d6tflow.tasks.TaskPickle):
    p = d6tflow.IntParameter(default=0)

    def run(self):
        COUNTS.append(self.p)
        self.save(self.p)


class Top(d6tflow.tasks.TaskPickle):
    def requires(self):
        return Leaf()

    def run(self):
        self.save(self.inputLoad())


def test_forced_matches_a_task_of_the_graph_by_family_as_d6tflow(tmp_path):
    daskflow.set_root(str(tmp_path / "store"))
    COUNTS.clear()
    daskflow.run(Top(), progress=False)
    daskflow.run(Top(), forced=Leaf(p=9), progress=False)  # not in the graph: Leaf(p=0) is its family
    assert COUNTS == [0, 0]
    with pytest.raises(daskflow.ParameterError, match="not upstream"):
        daskflow.run(Top(), forced=Single(), progress=False)


class CachedStep(d6tflow.tasks.TaskCache):
    def run(self):
        self.save(5)

    def on_success(self):
        EVENTS.append(("on_success", "CachedStep"))


class AfterCache(d6tflow.tasks.TaskPickle):
    def requires(self):
        return CachedStep()

    def run(self):
        self.save(self.inputLoad() + 1)


class CacheYields(d6tflow.tasks.TaskCache):
    def run(self):
        yield Single()


def test_a_taskcache_run_has_luigis_hooks_and_refuses_yield_like_any_run(tmp_path):
    EVENTS.clear()
    daskflow.set_root(str(tmp_path / "store"))
    daskflow.run(AfterCache(), progress=False)
    assert AfterCache().outputLoad() == 6 and ("on_success", "CachedStep") in EVENTS
    result = daskflow.run(CacheYields(), progress=False, abort=False)
    (failure,) = result.failed
    assert "yields tasks" in str(failure.exception)
