"""d6tflow's and luigi's names that d6tflow projects use beyond the core API (a probe of 48
d6tflow usage patterns, run under d6tflow 0.2.8 and daskflow side by side, found them
missing): luigi's task API and parameter kinds, d6tflow's settings, utils and run options."""

import datetime
from pathlib import Path

import luigi
import luigi.task
import pytest

import daskflow as d6tflow


class A(d6tflow.tasks.TaskPickle):
    n = d6tflow.IntParameter(default=5)
    model = d6tflow.Parameter(default="svm")

    def run(self):
        self.save(self.n)
        self.metaSave({"n": self.n})


class B(d6tflow.tasks.TaskPickle):
    k = d6tflow.IntParameter(default=1)

    def run(self):
        self.save(self.k)


@d6tflow.inherits(A, B)
class Both(d6tflow.tasks.TaskPickle):
    def requires(self):
        return self.clone_parents()

    def run(self):
        self.save(sum(self.inputLoad()))


@d6tflow.inherits({"a": A, "b": B})
class ByName(d6tflow.tasks.TaskPickle):
    def requires(self):
        return self.clone_parents_dict()

    def run(self):
        self.save(self.inputLoad(keys=["a"]))  # d6tflow: only the inputs named


@d6tflow.inherits(A)
class One(d6tflow.tasks.TaskPickle):
    def requires(self):
        return self.clone_parent(n=7)

    def run(self):
        self.save(self.inputLoad())


class Fails(d6tflow.tasks.TaskPickle):
    def run(self):
        raise ValueError("no")


def test_luigi_task_api(root, monkeypatch):
    task = A(n=12, model="a long model name!")
    params = task.to_str_params(only_significant=True)
    assert params == {"n": "12", "model": "a long model name!"}
    assert task.task_id.startswith("A_a_long_model_name__12_")  # d6tflow's 20 values of 64 characters
    monkeypatch.setattr(luigi.task, "TASK_ID_INCLUDE_PARAMS", 20)  # as d6tflow sets luigi's on import
    monkeypatch.setattr(luigi.task, "TASK_ID_TRUNCATE_PARAMS", 64)
    assert task.task_id == luigi.task.task_id_str("A", params)  # luigi's own formula
    assert A.get_param_names() == ["n", "model"] and [n for n, _ in A.get_params()] == ["n", "model"]
    assert A.get_task_family() == "A" and task.task_module == __name__
    d6tflow.settings.set_parameter_len(3, 16)  # luigi's own
    try:
        assert task.task_id.startswith("A_a_long_model_nam_12_")
        monkeypatch.setattr(luigi.task, "TASK_ID_INCLUDE_PARAMS", 3)
        monkeypatch.setattr(luigi.task, "TASK_ID_TRUNCATE_PARAMS", 16)
        assert task.task_id == luigi.task.task_id_str("A", params)
    finally:
        d6tflow.settings.set_parameter_len()
    assert task.metadata is None
    d6tflow.run(task, scheduler="sync")
    assert task.metadata == {"n": 12}


def test_clone_parent_parents_and_dict(root):
    assert One().requires() == A(n=7) and Both(n=2).requires() == [A(n=2), B()]
    assert ByName(k=3).requires() == {"a": A(), "b": B(k=3)}
    d6tflow.run([Both(), ByName()], scheduler="sync")
    assert Both().outputLoad() == 6 and ByName().outputLoad() == {"a": 5}
    with pytest.raises(d6tflow.TaskDefinitionError, match="B has no parents"):
        B().clone_parent()


def test_luigi_parameter_kinds(root):
    class Up(d6tflow.tasks.TaskPickle):
        def run(self):
            self.save(1)

    class Kinds(d6tflow.tasks.TaskPickle):
        tup = luigi.TupleParameter(default=(1, 2))
        opt = luigi.OptionalParameter()
        month = luigi.MonthParameter(default=datetime.date(2024, 3, 5))
        year = d6tflow.YearParameter(default="2024")
        hour = luigi.DateHourParameter(default=datetime.datetime(2024, 3, 1, 13, 45))
        delta = luigi.TimeDeltaParameter(default=datetime.timedelta(days=1))
        num = luigi.NumericalParameter(default=0.5, var_type=float, min_value=0, max_value=1)
        task = luigi.TaskParameter(default=Up)

    t = Kinds()
    assert (t.tup, t.opt, t.month, t.year) == ((1, 2), None, datetime.date(2024, 3, 1), datetime.date(2024, 1, 1))
    assert t.hour == datetime.datetime(2024, 3, 1, 13) and t.delta == datetime.timedelta(days=1) and t.task is Up
    assert Kinds(month="2024-03") == t and Kinds(hour="2024-03-01T13") == t and Kinds(tup=[1, 2]) == t
    assert Kinds(task=Kinds) != t and Kinds(num=0.25) != t
    with pytest.raises(d6tflow.ParameterError, match=r"Kinds: parameter 'num' \(number\) cannot take 3"):
        Kinds(num=3)
    with pytest.raises(d6tflow.TaskDefinitionError, match=r"luigi.DateIntervalParameter, which daskflow does not provide"):
        class Interval(d6tflow.tasks.TaskPickle):
            span = luigi.DateIntervalParameter()


def test_settings_utils_and_show(root, capsys):
    assert d6tflow.settings.dirpath == Path(d6tflow.settings.dir) and d6tflow.settings.isinit is True
    assert d6tflow.settings.save_with_param is True and d6tflow.settings.check_crc is False
    with pytest.raises(d6tflow.ParameterError, match="save_with_param = False"):
        d6tflow.settings.save_with_param = False
    assert d6tflow.utils.params_generator_single({"a": [1, 2]}, {"b": 0}) == {0: {"a": 1, "b": 0}, 1: {"a": 2, "b": 0}}
    assert list(d6tflow.utils.params_generator_multiple({"beta": [3], "alpha": [1, 2]})) == [
        "alpha_1_beta_3", "alpha_2_beta_3"]
    assert d6tflow.utils.traverse(Both()) == [Both(), A(), B()]  # the task first, as d6tflow
    d6tflow.show(One())
    assert "One" in capsys.readouterr().out
    multi = d6tflow.WorkflowMulti(A, {"x": {"n": 1}, "y": {"n": 2}})
    assert multi.get_flow("y").get_task() == A(n=2)
    with pytest.raises(d6tflow.ParameterError, match="no experiment 'z'"):
        multi.get_flow("z")


def test_run_takes_luigi_build_options_and_abort(root):
    assert d6tflow.run(B(), local_scheduler=True, log_level="WARNING", scheduler="sync")
    assert d6tflow.run(B(), scheduler_url="http://luigi:8082", worker_scheduler_factory=None,
                       parallel_scheduling_processes=2, no_configure_logging=True, scheduler="sync")
    with pytest.raises(TypeError, match="unexpected keyword argument.*'colour'"):
        d6tflow.run(B(), colour="red")
    result = d6tflow.run(Fails(), abort=False, scheduler="sync")
    assert not result and result.scheduling_succeeded is False and result.failed[0].task == Fails()
    with pytest.raises(d6tflow.RunError):
        d6tflow.run(Fails(), scheduler="sync")
