"""The task model: inheritance of parameters, requires shapes, inputs, class-definition errors."""

import pytest

import daskflow
from flows import CALLS, GetData, Mixed, Preprocess, Split, Train


class A(daskflow.tasks.TaskJson):
    a = daskflow.IntParameter(default=1)
    shared = daskflow.Parameter(default="s")

    def run(self):
        self.save({"a": self.a, "shared": self.shared})


class B(daskflow.tasks.TaskJson):
    b = daskflow.IntParameter(default=2)
    shared = daskflow.Parameter(default="s")

    def run(self):
        self.save({"b": self.b})


@daskflow.requires(A, B)
class AB(daskflow.tasks.TaskJson):
    def run(self):
        a, b = self.inputLoad()
        self.save({**a, **b})


@daskflow.requires({"left": A, "right": B})
class Named(daskflow.tasks.TaskJson):
    def run(self):
        data = self.inputLoad()
        self.save(sorted(data))


@daskflow.inherits(A)
class Cloned(daskflow.tasks.TaskJson):
    def requires(self):
        return self.clone(A)

    def run(self):
        self.save(self.inputLoad())


def test_requires_copies_parameters_and_passes_them_up():
    t = AB(a=5, b=7, shared="z")
    assert t.requires() == [A(a=5, shared="z"), B(b=7, shared="z")]
    assert Train(do_preprocess=False).requires() == Preprocess(do_preprocess=False)
    assert set(type(Train())._param_defs) == {"model", "n_jobs", "do_preprocess"}


def test_requires_dict_and_inherits(root):
    assert Named(a=3).requires() == {"left": A(a=3), "right": B()}
    daskflow.run([AB(a=5), Named(), Cloned(a=9)], scheduler="sync")
    assert AB(a=5).outputLoad() == {"a": 5, "b": 2, "shared": "s"}
    assert Named().outputLoad() == ["left", "right"]
    assert Cloned(a=9).outputLoad() == {"a": 9, "shared": "s"}


def test_parents_declaring_one_parameter_differently_is_a_definition_error():
    class C(daskflow.tasks.TaskJson):
        shared = daskflow.Parameter(default="other")

    with pytest.raises(daskflow.TaskDefinitionError) as err:
        @daskflow.requires(A, C)
        class Clash(daskflow.tasks.TaskJson):
            pass
    msg = str(err.value)
    assert "Clash" in msg and "'shared'" in msg and "A" in msg and "C" in msg and "'other'" in msg

    @daskflow.requires(A, C)  # declaring it on the class settles it
    class Settled(daskflow.tasks.TaskJson):
        shared = daskflow.Parameter(default="mine")

    assert Settled().requires() == [A(shared="mine"), C(shared="mine")]


def test_class_definition_errors():
    with pytest.raises(daskflow.TaskDefinitionError, match="unknown output format 'feather'"):
        class F(daskflow.tasks.Task):
            persist = {"x": "feather"}
    with pytest.raises(daskflow.TaskDefinitionError, match="output name '_x'"):
        class G(daskflow.tasks.TaskPickle):
            persist = ["_x"]
    with pytest.raises(daskflow.TaskDefinitionError, match="not a task"):
        class H(daskflow.tasks.TaskPickle):
            def requires(self):
                return "GetData"
        H().deps()


def test_registered_format_is_usable(root):
    @daskflow.register_format
    class Upper(daskflow.Format):
        name, ext = "upper-text", "txt"

        def check(self, obj):
            if not isinstance(obj, str):
                raise TypeError("needs a str")

        def dumps(self, obj):
            return obj.upper().encode()

        def load(self, file):
            return file.read().decode()

    class Shout(daskflow.tasks.Task):
        persist = {"text": "upper-text"}

        def run(self):
            self.save({"text": "hello"})

    daskflow.run(Shout(), scheduler="sync")
    assert Shout().outputLoad() == ["HELLO"]
    assert open(Shout().output()["text"].path, "rb").read() == b"HELLO"  # written by the format


def test_family_is_the_class_name_and_layout_is_readable(root):
    daskflow.run(Train(model="gbm"), scheduler="sync")
    path = Train(model="gbm").output().path
    rel = path[len(str(root)) + 1:]
    family, file = rel.split("/")  # no folder per build: {params}@{build}.{output}.{ext}
    params, rest = file.split("@")
    build, name = rest.split(".", 1)
    assert family == "Train" and params.startswith("model=gbm,do_preprocess=True__")
    assert name == "data.pkl" and build


def test_two_parameter_sets_never_share_a_folder():
    from daskflow.plan import param_dir

    class Long(daskflow.tasks.TaskPickle):
        s = daskflow.Parameter()

    a, b = Long(s="x" * 100 + "a"), Long(s="x" * 100 + "b")
    assert param_dir(a) != param_dir(b)
    assert param_dir(Long(s="a/b")) != param_dir(Long(s="a_b"))


def test_input_outside_run_resolves_upstream_outputs(root):
    daskflow.run(Mixed(), scheduler="sync")
    inputs = Mixed().input()
    assert set(inputs) == {"split", "raw"} and set(inputs["split"]) == {"train", "test"}
    assert len(Mixed().inputLoad(task="raw")) == 10
    assert len(Split().inputLoad()) == 10


def test_save_outside_run_builds_the_task_directly(root):
    with pytest.raises(daskflow.SaveError, match=r"GetData\(n=10\): output 'data' \(parquet\) cannot take"):
        GetData().save(1)
    assert not GetData().complete()  # nothing committed by the failed save
    GetData().run()  # d6tflow's debugging spelling: a normal, committed build
    assert GetData().complete() and len(GetData().outputLoad()) == 10


def test_aggregator(root):
    class All(daskflow.tasks.TaskAggregator):
        def run(self):
            yield GetData()
            yield Preprocess()

    CALLS.clear()
    daskflow.run(All(), scheduler="sync")
    assert CALLS == {"GetData": 1, "Preprocess": 1}
    assert All().complete()
    assert [len(x) for x in All().outputLoad()] == [10, 10]
    All().invalidate()
    assert not GetData().complete()


def test_tasks_pickle_by_value_of_their_parameters():
    import pickle

    t = Train(model="x", n_jobs=3)
    back = pickle.loads(pickle.dumps(t))
    assert back == t and back.n_jobs == 3


def test_requires_returning_none_means_no_inputs(root):
    class Alone(daskflow.tasks.TaskJson):
        def requires(self):
            return None

        def run(self):
            assert self.input() is None
            self.save({"ok": True})

    daskflow.run(Alone(), scheduler="sync")
    assert Alone().outputLoad() == {"ok": True}


def test_single_default_output_saves_a_dict_whole(root):
    class Api(daskflow.tasks.TaskJson):
        def run(self):
            self.save({"data": [1, 2, 3]})

    daskflow.run(Api(), scheduler="sync")
    assert Api().outputLoad() == {"data": [1, 2, 3]}


def test_task_without_outputs_runs_once_then_is_fresh(root):
    calls = []

    class Export(daskflow.tasks.Task):
        persist = []

        def requires(self):
            return GetData()

        def run(self):
            calls.append(len(self.inputLoad()))

    assert set(daskflow.run(Export(), scheduler="sync").ran) == {GetData(), Export()}
    assert calls == [10]
    assert daskflow.run(Export(), scheduler="sync").ran == [] and calls == [10]


def test_two_classes_of_one_name_in_a_graph_are_refused():
    import types

    a = types.new_class("Clean", (daskflow.tasks.TaskJson,), exec_body=lambda ns: ns.update(
        __module__="sales", run=lambda self: self.save(1)))
    b = types.new_class("Clean", (daskflow.tasks.TaskJson,), exec_body=lambda ns: ns.update(
        __module__="customers", run=lambda self: self.save(2)))

    class Join(daskflow.tasks.TaskJson):
        def requires(self):
            return [a(), b()]

    with pytest.raises(daskflow.TaskDefinitionError, match="two task classes named Clean.*sales.*customers"):
        daskflow.why(Join())


def test_forcing_an_aggregator_reruns_what_it_groups(root):
    class All(daskflow.tasks.TaskAggregator):
        def run(self):
            yield GetData()
            yield GetData(n=4)

    daskflow.run(All(), scheduler="sync")
    CALLS.clear()
    daskflow.run(All(), forced_all=True, scheduler="sync")
    assert CALLS == {"GetData": 2}


def test_workflow_multi_forced_list_of_classes(root):
    flows = daskflow.WorkflowMulti(Preprocess, {"a": {"do_preprocess": True}, "b": {"do_preprocess": False}})
    flows.run()
    CALLS.clear()
    flows.run(forced=[GetData])
    assert CALLS == {"GetData": 1, "Preprocess": 2}


def test_save_meta_takes_numpy_values_and_names_the_task_otherwise(root):
    """JSON values stay readable JSON; others (d6tflow pickles metadata) are pickled inside it."""
    import numpy as np

    class Meta(daskflow.tasks.TaskJson):
        bad = daskflow.BoolParameter(default=False)

        def run(self):
            self.saveMeta({"total": np.int64(6), "weights": np.array([0.5, 0.5]),
                           **({"obj": lambda: 1} if self.bad else {})})
            self.save({})

    daskflow.run(Meta(), scheduler="sync")
    assert Meta().outputLoadMeta() == {"total": 6, "weights": [0.5, 0.5]}
    with pytest.raises(daskflow.RunError, match=r"Meta\(bad=True\).saveMeta\(\): a value is neither JSON nor picklable"):
        daskflow.run(Meta(bad=True), scheduler="sync")


def test_requires_may_be_a_generator(root):
    class Gen(daskflow.tasks.TaskJson):
        def requires(self):
            yield GetData(n=2)
            yield GetData(n=3)

        def run(self):
            self.save([len(df) for df in self.inputLoad()])

    daskflow.run(Gen(), scheduler="sync")
    assert Gen().outputLoad() == [2, 3]


def test_a_value_pyarrow_cannot_write_is_a_save_error_naming_the_output(root):
    import pandas as pd

    class Odd(daskflow.tasks.TaskPqPandas):
        def run(self):
            self.save(pd.DataFrame({"x": [object(), object()]}))

    with pytest.raises(daskflow.RunError) as err:
        daskflow.run(Odd(), scheduler="sync")
    (failure,) = err.value.failures
    assert isinstance(failure.exception, daskflow.SaveError)
    assert "Odd(): output 'data' (parquet) cannot take" in str(failure.exception)


def test_two_classes_of_one_name_made_in_a_function_are_told_apart_by_their_place(root):
    def make(k):
        class Same(daskflow.tasks.TaskPickle):
            def run(self):
                self.save(k)
        return Same

    first, second = make(1), make(2)

    class Both(daskflow.tasks.TaskPickle):
        def requires(self):
            return [first(), second()]

        def run(self):
            self.save(0)

    from daskflow.plan import Plan

    with pytest.raises(daskflow.TaskDefinitionError, match=r"two task classes named Same.*test_task.py:\d+\) and "
                                                           r".*test_task.py:\d+\)"):
        Plan(Both())


def test_an_aggregator_of_a_taskcache_is_complete_once_its_members_are(root):
    class Held(daskflow.tasks.TaskCache):
        def run(self):
            self.save({"c": 1})

    class Collect(daskflow.tasks.TaskAggregator):
        def run(self):
            yield GetData()
            yield Held()

    assert not Collect().complete()
    daskflow.run(Collect(), scheduler="sync")
    assert GetData().complete() and Held().complete() and Collect().complete()
    GetData().invalidate()
    assert not Collect().complete()


def _module_of(name, code, tmp_path):
    """A module of the user's from ``code`` (a file, so its classes have source), imported."""
    import importlib
    import sys

    (tmp_path / f"{name}.py").write_text(code)
    sys.path.insert(0, str(tmp_path))
    try:
        sys.modules.pop(name, None)
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(tmp_path))


def test_a_class_defined_again_in_its_module_is_planned_as_its_newest_definition(root, tmp_path):
    import importlib
    import sys

    from daskflow.plan import Plan

    code = ("import daskflow\n\nclass Get(daskflow.tasks.TaskPickle):\n    n = daskflow.IntParameter(default=3)\n\n"
            "    def run(self):\n        self.save(self.n)\n")
    mod = _module_of("redef_flow", code, tmp_path)
    old = mod.Get

    class Use(daskflow.tasks.TaskPickle):
        def requires(self):
            return old()  # an earlier definition, held

        def run(self):
            self.save(self.inputLoad())

    (tmp_path / "redef_flow.py").write_text(code.replace("self.save(self.n)", "self.save(self.n * 10)"))
    sys.path.insert(0, str(tmp_path))
    try:
        importlib.reload(mod)  # the module binds the new Get
    finally:
        sys.path.remove(str(tmp_path))
    assert mod.Get is not old
    with pytest.warns(UserWarning, match="Get was defined again"):
        plan = Plan(Use())
    assert {type(n.task) for n in plan.nodes.values() if n.family == "Get"} == {mod.Get}
    with pytest.warns(UserWarning):
        daskflow.run(Use(), scheduler="sync", progress=False)
    assert Use().outputLoad() == 30  # the newest code ran


def test_two_classes_of_one_name_a_module_does_not_bind_are_two_classes(root):
    from daskflow.plan import Plan

    made = [type("Same", (daskflow.tasks.TaskPickle,), {"__module__": __name__, "k": k,
                                                         "run": lambda self: self.save(self.k)}) for k in (1, 2)]

    class Both(daskflow.tasks.TaskPickle):
        def requires(self):
            return [made[0](), made[1]()]

        def run(self):
            self.save(0)

    with pytest.raises(daskflow.TaskDefinitionError, match="two task classes named Same"):
        Plan(Both())
