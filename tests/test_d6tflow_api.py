"""d6tflow's public names under ``import daskflow as d6tflow``: settings, targets, formats,
metadata, Workflow(path=, env=), confirm=, outputLoad(keys=...), RuntimeError, messages."""

import json
import logging
from pathlib import Path

import pandas as pd
import pytest

import daskflow as d6tflow


class Frame(d6tflow.tasks.TaskCSVPandas):
    def run(self):
        self.save(pd.DataFrame({"a": [1, 2]}, index=pd.Index(["x", "y"], name="key")))


class Outputs(d6tflow.tasks.TaskPickle):
    persist = ["first", "second"]

    def run(self):
        self.save({"first": 1, "second": 2})
        self.metaSave({"n": 2})


@d6tflow.requires({"up": Outputs, "frame": Frame})
class Down(d6tflow.tasks.TaskJson):
    def run(self):
        meta = self.metaLoad()
        self.save({"z": 1, "a": meta["up"]["n"]})
        self.metaSave({"down": True})


def test_settings_and_set_dir(tmp_path):
    root = d6tflow.set_dir(tmp_path / "d")
    assert isinstance(root, Path) and root == tmp_path / "d" and d6tflow.settings.dirpath == root
    assert d6tflow.settings.dir == str(root) and d6tflow.settings.dir + "/raw.csv" == f"{root}/raw.csv"  # text
    assert d6tflow.settings.dir / "raw.csv" == root / "raw.csv"
    assert d6tflow.set_dir("memory://x") == "memory://x"
    d6tflow.settings.log_level = "WARNING"
    assert logging.getLogger("daskflow").level == logging.WARNING
    with pytest.raises(d6tflow.ParameterError, match="no setting 'dbpath'.*check_dependencies"):
        d6tflow.settings.dbpath = "x"


def test_check_dependencies_off_looks_at_own_outputs(root):
    d6tflow.run(Down(), scheduler="sync")
    Outputs().invalidate(confirm=False)
    assert not Down().complete()
    d6tflow.settings.check_dependencies = False
    try:
        assert Down().complete()
    finally:
        d6tflow.settings.check_dependencies = True


def test_targets_on_their_own_and_cached(tmp_path):
    df = pd.DataFrame({"a": range(3)})
    for cls, name in [(d6tflow.targets.CSVPandasTarget, "t.csv"), (d6tflow.targets.PqPandasTarget, "t.pq"),
                      (d6tflow.targets.CSVGZPandasTarget, "t.csv.gz"), (d6tflow.targets.PickleTarget, "t.pkl")]:
        t = cls(tmp_path / name)
        assert not t.exists() and t.save(df) == tmp_path / name and t.exists()
        assert t.load().equals(df)
    assert d6tflow.targets.JsonTarget(tmp_path / "j.json").save({"b": 1, "a": 2})
    assert list(d6tflow.targets.JsonTarget(tmp_path / "j.json").load()) == ["b", "a"]  # key order kept
    d6tflow.settings.cached = True
    try:
        t = d6tflow.targets.CSVPandasTarget(tmp_path / "c.csv")
        t.save(df)
        assert d6tflow.data[tmp_path / "c.csv"] is df
    finally:
        d6tflow.settings.cached = False
    assert t.invalidate() and not t.exists() and tmp_path / "c.csv" not in d6tflow.data


def test_formats_pass_options_and_keep_the_index(root):
    d6tflow.run(Frame(), scheduler="sync")
    back = Frame().outputLoad()
    assert back.index.name == "key" and back.index.tolist() == ["x", "y"]
    assert Frame().outputLoad(usecols=["key"]).index.tolist() == ["x", "y"]  # reader options

    class NoIndex(d6tflow.tasks.TaskCSVPandas):
        def run(self):
            self.save(pd.DataFrame({"a": [1]}, index=["r"]), index=False, sep=";")  # writer options

    d6tflow.run(NoIndex(), scheduler="sync")
    assert NoIndex().output().load(sep=";").to_dict() == {"a": {0: 1}}

    class Pq(d6tflow.tasks.TaskPqPandas):
        def run(self):
            self.save(pd.DataFrame({"a": [1, 2]}, index=pd.Index([5, 7], name="i")))

    d6tflow.run(Pq(), scheduler="sync")
    assert Pq().outputLoad().index.tolist() == [5, 7]

    class Ordered(d6tflow.tasks.TaskJson):
        def run(self):
            self.save({"z": 1, "a": 2})

    d6tflow.run(Ordered(), scheduler="sync")
    assert list(Ordered().outputLoad()) == ["z", "a"]


@pytest.mark.parametrize("cls, package", [("TaskH5Pandas", "tables"), ("TaskExcelPandas", "openpyxl")])
def test_optional_formats_name_the_missing_package(root, cls, package):
    pytest.importorskip("pandas")
    try:
        __import__(package)
        pytest.skip(f"{package} is installed")
    except ImportError:
        pass

    class Opt(getattr(d6tflow.tasks, cls)):
        def run(self):
            self.save(pd.DataFrame({"a": [1]}))

    with pytest.raises(d6tflow.RunError, match=rf"needs the package '{package}'.*pip install {package}"):
        d6tflow.run(Opt(), scheduler="sync")
    from daskflow.tasks.h5 import TaskH5Pandas  # d6tflow's module path
    assert TaskH5Pandas is d6tflow.tasks.TaskH5Pandas


def test_metadata_api(root):
    d6tflow.run(Down(), scheduler="sync")
    assert Outputs().outputLoadMeta() == {"n": 2}
    assert Down().outputLoadAllMeta() == {"Outputs": {"n": 2}, "Down": {"down": True}}
    flow = d6tflow.Workflow(Down)
    assert flow.outputLoadMeta() == {"down": True} and flow.outputLoadMeta(Outputs) == {"n": 2}
    multi = d6tflow.WorkflowMulti(Down, {"a": {}, "b": {}})
    assert multi.outputLoadMeta() == {"a": {"down": True}, "b": {"down": True}}


def test_output_load_keys_string_and_unknown_key(root):
    d6tflow.run(Outputs(), scheduler="sync")
    assert Outputs().outputLoad(keys="second") == 2  # one name: its value, as in d6tflow
    assert Outputs().outputLoad(keys=["second"]) == [2]
    assert Outputs().outputLoad(keys=["first"], as_dict=True) == {"first": 1}
    with pytest.raises(KeyError, match=r"Outputs\(\): no output\(s\) 'third'; its outputs are 'first', 'second'"):
        Outputs().outputLoad(keys="third")
    with pytest.raises(IndexError):  # what d6tflow raises
        Outputs().outputLoad(keys=["third"])
    with pytest.raises(TypeError, match=r"Outputs\(\): output 'first' \(pickle\): the reader does not take option\(s\) 'as_dic'"):
        Outputs().outputLoad(as_dic=True)  # a typo is not a damaged file


def test_invalidate_confirm_and_runtime_errors(root):
    d6tflow.run(Down(), scheduler="sync")
    d6tflow.invalidate_downstream(Outputs(), Down(), confirm=False)
    assert not Down().complete() and Frame().complete()
    d6tflow.run(Down(), scheduler="sync")
    d6tflow.invalidate_upstream(Down(), confirm=False)
    assert not Frame().complete()
    with pytest.raises(RuntimeError):  # NotBuiltError is a RuntimeError, as d6tflow raises
        Down().outputLoad()

    class Fails(d6tflow.tasks.TaskPickle):
        def run(self):
            raise ValueError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        d6tflow.run(Fails(), scheduler="sync")


def test_workflow_path_env_and_task_path(root, tmp_path):
    other = tmp_path / "other"
    flow = d6tflow.Workflow(Down, path=str(other), env="prod")
    flow.run(scheduler="sync")
    assert str(flow.outputPath(Outputs)["first"]).startswith(str(other / "env=prod"))
    assert flow.outputLoad() == {"z": 1, "a": 2} and not Down().complete()  # not in the project root
    assert flow.outputLoadAll()["Frame"].index.name == "key"
    assert Down(path=str(other / "env=prod")).complete()
    multi = d6tflow.WorkflowMulti(Outputs, {0: {}}, path=str(other / "m"))
    multi.run(scheduler="sync")
    assert "m" in Path(multi.get_task()[0].output()["first"].path).parts

    class Elsewhere(d6tflow.tasks.TaskPickle):
        path = str(tmp_path / "cls")

        def run(self):
            self.save(1)

    d6tflow.run(Elsewhere(), scheduler="sync")
    assert str(Elsewhere().output().path).startswith(str(tmp_path / "cls"))


def test_attach_flow_and_reprs(root):
    class Uses(d6tflow.tasks.TaskPickle):
        def run(self):
            self.save(self.flows["up"].outputLoad()["z"] + 1)

    up = d6tflow.Workflow(Down)
    up.run(scheduler="sync")
    flow = d6tflow.Workflow(Uses)
    flow.attach_flow(up, "up")
    flow.run(scheduler="sync")
    assert flow.outputLoad() == 2
    assert repr(up) == "Workflow(Down, {})" and "<b>Workflow</b> Down" in up._repr_html_()
    multi = d6tflow.WorkflowMulti(Down, {"a": {}, "b": {}})
    assert repr(multi) == "WorkflowMulti(Down, experiments=['a', 'b'])"
    assert multi._repr_html_().count("<tr>") == 3


def test_bool_parameter_with_text_default_says_what_to_write():
    with pytest.raises(d6tflow.ParameterError, match=r"for a text value declare model = "
                                                      r"daskflow\.Parameter\(default='rf'\)"):
        class Template(d6tflow.tasks.TaskPickle):
            model = d6tflow.BoolParameter(default="rf")


def test_multi_output_input_used_as_one_target(root):
    @d6tflow.requires(Outputs)
    class Wrong(d6tflow.tasks.TaskPickle):
        def run(self):
            self.save(self.input().load())

    with pytest.raises(d6tflow.RunError, match=r"Outputs\(\) has several outputs \('first', 'second'\)"):
        d6tflow.run(Wrong(), scheduler="sync")
    assert json.loads(json.dumps(Outputs().outputLoad(as_dict=True))) == {"first": 1, "second": 2}


def test_luigi_parameters_are_daskflow_parameters(root):
    luigi = pytest.importorskip("luigi")

    class Old(d6tflow.tasks.TaskPickle):
        flag = luigi.BoolParameter(default=True)
        n = luigi.IntParameter()
        jobs = luigi.IntParameter(default=1, significant=False)

        def run(self):
            self.save((self.flag, self.n))

    assert Old(n="3") == Old(n=3, jobs=4) and Old(n=3).flag is True
    d6tflow.run(Old(n=3, flag="false"), scheduler="sync")
    assert Old(n=3, flag=False).outputLoad() == (False, 3)
    with pytest.raises(d6tflow.ParameterError, match="missing required parameter"):
        Old()


def test_metadata_that_json_cannot_hold_is_pickled_inside_it(root):
    class WithFrame(d6tflow.tasks.TaskPickle):
        def run(self):
            self.save(1)
            self.metaSave({"frame": pd.DataFrame({"a": [1]}), "score": 0.5})

    @d6tflow.requires(WithFrame)
    class ReadsIt(d6tflow.tasks.TaskPickle):
        def run(self):
            self.save(self.metaLoad()["frame"]["a"].tolist())

    d6tflow.run(ReadsIt(), scheduler="sync")
    meta = WithFrame().outputLoadMeta()
    assert meta["score"] == 0.5 and meta["frame"].equals(pd.DataFrame({"a": [1]}))
    assert ReadsIt().outputLoad() == [1]


def test_an_upstream_task_with_its_own_path_is_stored_there(root, tmp_path):
    class Up(d6tflow.tasks.TaskPickle):
        path = str(tmp_path / "up")

        def run(self):
            self.save(1)
            self.metaSave({"where": "up"})

    @d6tflow.requires(Up)
    class Below(d6tflow.tasks.TaskPickle):
        def run(self):
            self.save(self.inputLoad() + self.metaLoad()["where"].count("u"))

    d6tflow.run(Below(), scheduler="sync")
    assert str(Up().output().path).startswith(str(tmp_path / "up"))
    assert str(Below().output().path).startswith(str(root)) and Below().outputLoad() == 2
    assert d6tflow.Workflow(Below).outputLoadAll() == {"Up": 1, "Below": 2}
    assert d6tflow.run(Below(), scheduler="sync").ran == []  # both fresh, each in its root
    flow = d6tflow.Workflow(Below, path=str(tmp_path / "wf"))  # the workflow's path wins, as in d6tflow
    flow.run(scheduler="sync")
    assert str(flow.outputPath(Up)).startswith(str(tmp_path / "wf"))


def test_target_path_is_a_path_on_a_local_root(root):
    d6tflow.run(Outputs(), scheduler="sync")
    path = Outputs().output()["first"].path
    assert path.exists() and path.stat().st_size > 0 and path.suffix == ".pkl"  # Path questions
    assert path.parent.is_dir() and (path.parent / path.name).exists() and path.startswith(str(root))


def test_taskflow_helpers_and_task_data(root):
    d6tflow.run(Outputs(), scheduler="sync")
    upstream = d6tflow.taskflow_upstream(Down())
    assert set(upstream) == {Outputs(), Frame(), Down()} and upstream[-1] == Down()  # upstream first
    assert d6tflow.taskflow_upstream(Down(), only_complete=True) == [Outputs()]
    assert d6tflow.taskflow_downstream(Outputs(), Down()) == [Outputs(), Down()]
    assert issubclass(d6tflow.tasks.TaskPickle, d6tflow.tasks.TaskData)


def test_an_output_path_answers_what_a_pathlib_path_does(root):
    import copy
    import pathlib
    import pickle

    class Plot(d6tflow.tasks.TaskPickle):
        def run(self):
            self.save(1)

    d6tflow.run(Plot())
    p = Plot().output().path
    as_path = pathlib.Path(p)
    missing = [n for n in dir(pathlib.Path) if not n.startswith("_") and not hasattr(p, n)]
    assert missing == []
    assert p.with_suffix(".png") == as_path.with_suffix(".png") and p.as_posix() == as_path.as_posix()
    assert p.relative_to(root) == as_path.relative_to(root) and p.with_name("plot.png").parent == as_path.parent
    assert p.read_bytes() == as_path.read_bytes() and p.is_file()
    assert p.replace("/", "|") == str(p).replace("/", "|")  # a str first: str's methods win
    assert pickle.loads(pickle.dumps(p)) == p and copy.copy(p) == p and isinstance(p, str)


def test_d6tflows_submodules_import_by_name():
    import importlib

    assert importlib.import_module("daskflow.targets") is d6tflow.targets
    assert importlib.import_module("daskflow.settings") is d6tflow.settings
    assert importlib.import_module("daskflow.utils") is d6tflow.utils
    assert importlib.import_module("daskflow.cache").data is d6tflow.data
    from daskflow.targets import PickleTarget  # noqa: F401
    from daskflow.utils import params_generator_single  # noqa: F401


def test_a_target_invalidates_its_task(root):
    class Two(d6tflow.tasks.TaskPickle):
        persist = ["a", "b"]

        def run(self):
            self.save({"a": 1, "b": 2})

    d6tflow.run(Two())
    target = Two().output()["a"]
    assert target.exists() and Two().complete()
    assert target.invalidate() is True
    assert not Two().complete() and not Two().output()["b"].exists()


def test_errors_and_returns_are_the_kinds_d6tflow_code_catches(root):
    class Pair(d6tflow.tasks.TaskPickle):
        persist = ["x", "y"]

        def run(self):
            self.save({"x": 1})  # y forgotten

    with pytest.raises(ValueError, match=r"exactly the outputs \['x', 'y'\]"):  # d6tflow's ValueError
        Pair().run()
    with pytest.raises(RuntimeError, match="no default task"):
        d6tflow.Workflow(params={}).run()
    with pytest.raises(d6tflow.ParameterError, match="no default task"):
        d6tflow.Workflow(params={}).run()

    class One(d6tflow.tasks.TaskPickle):
        def run(self):
            self.save(1)

    flow = d6tflow.Workflow(One)
    flow.run()
    assert flow.reset() is True and not One().complete()
    flow.run()
    assert flow.reset_upstream() is True and flow.reset_downstream(One) is True
    multi = d6tflow.WorkflowMulti(One, {"a": {}, "b": {}})
    assert multi.reset() == {"a": True, "b": True} and multi.reset(flow="a") is True


def test_d6tflows_names_not_provided_say_what_to_use():
    for name, hint in [("pipes", "S3 root"), ("FlowExport", "S3 root"), ("enable_gcs", "gs://"),
                       ("invalidate_orphans", "daskflow.gc")]:
        with pytest.raises(AttributeError, match=f"does not provide d6tflow's {name}: .*{hint}"):
            getattr(d6tflow, name)
    assert not hasattr(d6tflow, "pipes")
