"""d6tflow's functional flows (``from daskflow.functional import Workflow``), as d6tflow's docs write them."""

import pandas as pd
import pytest

import daskflow as d6tflow
from daskflow.functional import Workflow


def test_functional_flow_runs_loads_and_resets(root):
    flow = Workflow()
    calls = []

    @flow.task(d6tflow.tasks.TaskCache)
    @flow.persists(["a1", "a2"])
    def get_data(task):
        calls.append("get_data")
        df = pd.DataFrame({"a": range(3)})
        task.save({"a1": df, "a2": df})

    @flow.task(d6tflow.tasks.TaskPqPandas)
    @flow.requires({"raw": get_data})
    @flow.params(offset=d6tflow.IntParameter(default=0))
    def use_data(task):
        calls.append("use_data")
        data = task.inputLoad(as_dict=True)
        assert task.multiplier != 0  # the global parameter reached the step
        task.save(data["raw"]["a1"] * task.multiplier + task.offset)

    flow.add_global_params(multiplier=d6tflow.IntParameter(default=0))
    flow.run(use_data, params={"multiplier": 42}, scheduler="sync")
    assert flow.outputLoad(use_data)["a"].tolist() == [0, 42, 84]
    assert flow.steps["use_data"]().task_family == "use_data"
    assert set(flow.outputLoadAll(use_data)) == {"get_data", "use_data"}
    calls.clear()
    flow.run(use_data, params={"multiplier": 42}, scheduler="sync")
    assert calls == []  # fresh: nothing runs, the cache step is not needed
    flow.reset(use_data)
    flow.run(use_data, params={"multiplier": 42}, scheduler="sync")
    assert calls == ["get_data", "use_data"]
    flow.run(use_data, multi_params={"x": {"multiplier": 1}, "y": {"multiplier": 2, "offset": 1}},
             scheduler="sync")
    loaded = flow.outputLoad(use_data)
    assert {k: v["a"].tolist() for k, v in loaded.items()} == {"x": [0, 1, 2], "y": [1, 3, 5]}


def test_functional_errors_name_the_step(root):
    flow = Workflow()

    def not_a_step(task):
        pass

    with pytest.raises(d6tflow.ParameterError, match="'not_a_step' is not a step of this flow"):
        flow.requires(not_a_step)
    with pytest.raises(d6tflow.TaskDefinitionError, match="takes a task class"):
        flow.task("TaskCache")
