"""d6tflow's Workflow and WorkflowMulti."""

import contextlib
import io

import pytest

import daskflow
from flows import CALLS, GetData, Preprocess, Train


@pytest.fixture(autouse=True)
def _calls(root):
    CALLS.clear()


def test_workflow_runs_loads_and_resets():
    flow = daskflow.Workflow(Train, {"do_preprocess": False, "model": "gbm"})
    assert flow.get_task() == Train(do_preprocess=False, model="gbm")
    assert flow.get_task(Preprocess) == Preprocess(do_preprocess=False)
    flow.run()
    assert flow.complete() and flow.outputLoad()["model"] == "gbm"
    everything = flow.outputLoadAll()
    assert set(everything) == {"Train", "Preprocess", "GetData"} and len(everything["GetData"]) == 10
    flow.reset(Preprocess)
    assert not flow.complete(Preprocess)
    flow.run()
    assert CALLS["Preprocess"] == 2 and CALLS["GetData"] == 1


def test_d6tflow_argument_order_and_unknown_parameters():
    flow = daskflow.Workflow({"model": "x"}, task=Train)
    assert flow.get_task().model == "x"
    with pytest.raises(daskflow.ParameterError, match="'modle' is declared by no task"):
        daskflow.Workflow(Train, {"modle": "x"})


def test_workflow_multi_runs_all_experiments_in_one_graph():
    flows = daskflow.WorkflowMulti(Train, {"a": {"model": "ols"}, "b": {"model": "gbm"},
                                           "c": {"do_preprocess": False}})
    result = flows.run()
    assert len(result.ran) == 6  # 3 Train, 2 Preprocess, GetData once
    assert sorted(result) == ["a", "b", "c"] and result  # d6tflow: a result per experiment
    assert [len(result[k].ran) for k in "abc"] == [3, 3, 3]  # each: its Train, Preprocess and the shared GetData
    assert all(isinstance(r, daskflow.RunResult) for r in result.values())
    assert CALLS["GetData"] == 1 and CALLS["Preprocess"] == 2
    models = flows.outputLoad()
    assert {k: v["model"] for k, v in models.items()} == {"a": "ols", "b": "gbm", "c": "ols"}
    assert flows.outputLoad(flow="c")["mean_x"] == 4.5
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        flows.preview(flow="a")
    assert buf.getvalue().count("COMPLETE") == 3
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        shown = flows.preview()  # each experiment's tree, a dict as d6tflow returns
    assert sorted(shown) == ["a", "b", "c"] and buf.getvalue().count("COMPLETE") == 9


def test_workflow_multi_grid_and_list():
    grid = daskflow.WorkflowMulti(Train, {"model": ["ols", "gbm"], "do_preprocess": [True, False]})
    assert list(grid.workflows) == [  # named with the keys in sorted order, as d6tflow names them
        "do_preprocess_True_model_ols", "do_preprocess_True_model_gbm",
        "do_preprocess_False_model_ols", "do_preprocess_False_model_gbm"]
    assert list(grid.workflows) == list(daskflow.utils.params_generator_multiple(
        {"model": ["ols", "gbm"], "do_preprocess": [True, False]}))
    listed = daskflow.WorkflowMulti(GetData, [{"n": 4}, {"n": 6}])
    listed.run()
    assert {k: len(v) for k, v in listed.outputLoad().items()} == {0: 4, 1: 6}
    with pytest.raises(daskflow.ParameterError):
        daskflow.WorkflowMulti(Train)


def test_parameter_only_an_upstream_class_declares_is_refused():
    with pytest.raises(daskflow.ParameterError, match=r"'n' is declared only by GetData"):
        daskflow.Workflow(Train, {"n": 5})
