import datetime
import enum

import pytest

import daskflow
from daskflow import ParameterError


class Color(enum.Enum):
    RED = 1
    BLUE = 2


class P(daskflow.tasks.TaskPickle):
    i = daskflow.IntParameter(default=1)
    f = daskflow.FloatParameter(default=0.5)
    b = daskflow.BoolParameter(default=False)
    d = daskflow.DateParameter(default=datetime.date(2024, 1, 1))
    l = daskflow.ListParameter(default=[1, 2])
    m = daskflow.DictParameter(default={"a": 1})
    e = daskflow.EnumParameter(enum=Color, default=Color.RED)
    c = daskflow.ChoiceParameter(choices=["x", "y"], default="x")
    s = daskflow.Parameter(default="text")


def test_strings_from_a_command_line_are_normalised():
    t = P(i="3", f="2", b="true", d="2024-02-03", l="[1, 2, 3]", m='{"k": [1]}', e="BLUE", c="y")
    assert (t.i, t.f, t.b, t.d) == (3, 2.0, True, datetime.date(2024, 2, 3))
    assert t.l == (1, 2, 3) and dict(t.m) == {"k": (1,)}
    assert t.e is Color.BLUE and t.c == "y"
    assert P(i="3") == P(i=3)


@pytest.mark.parametrize("kwargs, name", [
    ({"i": "three"}, "i"), ({"i": True}, "i"), ({"f": [1]}, "f"), ({"b": "maybe"}, "b"),
    ({"d": "31/12/2024"}, "d"), ({"l": 5}, "l"), ({"m": [1]}, "m"), ({"e": "GREEN"}, "e"),
    ({"c": "z"}, "c"),
])
def test_ill_typed_values_name_task_and_parameter(kwargs, name):
    with pytest.raises(ParameterError) as err:
        P(**kwargs)
    assert "P" in str(err.value) and repr(name) in str(err.value)


def test_unknown_parameter_is_named_with_the_valid_ones():
    with pytest.raises(ParameterError) as err:
        P(x=1)
    assert "'x'" in str(err.value) and "valid parameters: i, f, b" in str(err.value)


def test_missing_required_parameter():
    class Needs(daskflow.tasks.TaskPickle):
        k = daskflow.IntParameter()

    with pytest.raises(ParameterError, match="missing required parameter.*'k'"):
        Needs()
    assert Needs(4).k == 4


def test_parameters_are_read_only_and_tasks_are_values():
    t = P(i=2)
    with pytest.raises(AttributeError):
        t.i = 3
    assert t == P(i=2) and hash(t) == hash(P(i=2)) and t != P(i=4)
    assert len({P(), P(), P(i=1)}) == 1


def test_insignificant_parameters_are_not_identity():
    class J(daskflow.tasks.TaskPickle):
        a = daskflow.IntParameter(default=1)
        n_jobs = daskflow.IntParameter(default=1, significant=False)

    assert J(n_jobs=1) == J(n_jobs=8)
    assert J(n_jobs=8).n_jobs == 8
    assert J(n_jobs=8).significant_params() == {"a": 1}


def test_typed_identity():
    class Any(daskflow.tasks.TaskPickle):
        v = daskflow.Parameter()

    ids = {Any(v=1).param_bytes, Any(v=1.0).param_bytes, Any(v=True).param_bytes, Any(v="1").param_bytes}
    assert len(ids) == 4
    assert Any(v={"a": 1, "b": 2}) == Any(v={"b": 2, "a": 1})


def test_unhashable_value_is_an_error_naming_task_and_parameter():
    class Any(daskflow.tasks.TaskPickle):
        v = daskflow.Parameter()

    with pytest.raises(daskflow.FingerprintError, match=r"Any\(v=.*parameter 'v'"):
        Any(v=object()).param_bytes


def test_a_frozen_dataclass_is_a_value_and_a_mutable_one_an_error_saying_so():
    import dataclasses

    @dataclasses.dataclass(frozen=True)
    class Cfg:
        alpha: float = 0.5
        tags: frozenset = frozenset({"b", "a"})

    @dataclasses.dataclass
    class Loose:
        alpha: float = 0.5

    class Any(daskflow.tasks.TaskPickle):
        v = daskflow.Parameter()

    assert Any(v=Cfg()) == Any(v=Cfg(0.5)) != Any(v=Cfg(0.25))
    from daskflow.taskdef import param_dir

    assert param_dir(Any(v=Cfg())).startswith("v=Cfg_alpha=0.5,_tags=_a,_b__")  # sorted: every seed
    with pytest.raises(daskflow.FingerprintError, match=r"Any\(v=.*parameter 'v'.*not frozen.*frozen=True"):
        Any(v=Loose()).param_bytes


def test_positional_parameters_follow_declaration_order():
    t = P(5, 1.5)
    assert (t.i, t.f) == (5, 1.5)
    with pytest.raises(ParameterError, match="given twice"):
        P(5, i=6)


def test_none_default_makes_a_typed_parameter_optional():
    class Opt(daskflow.tasks.TaskPickle):
        day = daskflow.DateParameter(default=None)
        n = daskflow.IntParameter(default=None)

    assert Opt().day is None and Opt(day="2024-01-02").day == datetime.date(2024, 1, 2)
    assert Opt(n=None).n is None and Opt(n="4").n == 4
    with pytest.raises(ParameterError):
        P(i=None)  # i's default is 1: None is not an int


def test_bad_default_fails_at_class_definition():
    with pytest.raises(ParameterError, match=r"Bad: parameter 'n' \(int\) cannot take 'x'"):
        class Bad(daskflow.tasks.TaskPickle):
            n = daskflow.IntParameter(default="x")


def test_optional_typed_parameters_plan_and_show(root):
    class OptDay(daskflow.tasks.TaskJson):
        day = daskflow.DateParameter(default=None)
        color = daskflow.EnumParameter(enum=Color, default=None)

        def run(self):
            self.save({"day": str(self.day)})

    daskflow.run(OptDay(), scheduler="sync")
    assert OptDay().outputLoad() == {"day": "None"}
    assert "day=None" in OptDay().output().path


def test_numpy_and_pandas_scalars_are_accepted():
    import numpy as np
    import pandas as pd

    t = P(i=np.int64(3), f=np.float32(0.5), b=np.bool_(True), d=pd.Timestamp("2024-03-01"))
    assert (t.i, t.f, t.b, t.d) == (3, 0.5, True, datetime.date(2024, 3, 1))
    assert type(t.i) is int and type(t.f) is float and type(t.b) is bool
    assert P(i=np.int64(3)) == P(i=3)
    with pytest.raises(ParameterError):
        P(i=np.bool_(True))
    noon = P(d=datetime.datetime(2024, 1, 1, 12, 0))  # a datetime gives its date, as luigi's does
    assert noon.d == datetime.date(2024, 1, 1) and type(noon.d) is datetime.date and noon == P(d="2024-01-01")
    assert P(d=pd.Timestamp("2024-01-01 23:59", tz="US/Pacific")).d == datetime.date(2024, 1, 1)


def test_dict_values_are_read_only_dicts_that_save_and_pickle(root):
    import pickle

    class Cfg(daskflow.tasks.TaskJson):
        cfg = daskflow.DictParameter(default={"a": 1, "b": [1, 2]})

        def run(self):
            self.save(self.cfg)

    t = Cfg()
    assert isinstance(t.cfg, dict) and t.cfg == {"a": 1, "b": (1, 2)}
    with pytest.raises(TypeError, match="read-only"):
        t.cfg["a"] = 2
    import cloudpickle

    assert pickle.loads(cloudpickle.dumps(t)) == t
    daskflow.run(t, scheduler="sync")
    assert t.outputLoad() == {"a": 1, "b": [1, 2]}


def test_clone_keeps_identity_of_plain_parameter_tuples():
    class A(daskflow.tasks.TaskPickle):
        cols = daskflow.Parameter(default=("a", "b"))

    @daskflow.requires(A)
    class B(daskflow.tasks.TaskPickle):
        pass

    assert B().requires() == A()
    import pickle

    import cloudpickle

    assert pickle.loads(cloudpickle.dumps(A())) == A()
