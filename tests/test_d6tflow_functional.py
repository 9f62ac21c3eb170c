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


SCRIPT = '''
import warnings
warnings.simplefilter("error")  # no "code fingerprint incomplete" for the user's own steps
import daskflow as d6tflow
from daskflow.functional import Workflow
import pandas as pd

flow = Workflow()

class Scale:  # a class of the script, held by a constant a step reads
    def apply(self, df):
        return df * 2

SCALE = Scale()

@flow.task(d6tflow.tasks.TaskPqPandas)
def get_data(task):
    task.save(pd.DataFrame({"x": range(4)}))

@flow.task(d6tflow.tasks.TaskPqPandas)
@flow.requires(get_data)
@flow.params(mult=d6tflow.IntParameter(default=1))
def use_data(task):
    task.save(SCALE.apply(task.inputLoad()) * task.mult)

if __name__ == "__main__":
    code = Scale.apply.__code__
    result = flow.run(use_data, progress=False)
    assert Scale.apply.__code__ is code  # fingerprinting left the script's classes as they were
    print(sorted(t.task_family for t in result.ran), flow.outputLoad(use_data)["x"].tolist(),
          flow.outputLoad(use_data, {"mult": 1})["x"].tolist())
'''


def test_a_functional_flow_run_as_a_script_sees_an_edit_to_one_step_and_reruns_only_it(tmp_path):
    import os
    import subprocess
    import sys

    def step(text):
        (tmp_path / "flow.py").write_text(text)
        proc = subprocess.run([sys.executable, "flow.py"], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                              env={k: v for k, v in os.environ.items() if k != "DASKFLOW_ROOT"})
        assert proc.returncode == 0, proc.stderr
        return proc.stdout.strip()

    assert step(SCRIPT) == "['get_data', 'use_data'] [0, 2, 4, 6] [0, 2, 4, 6]"
    assert step(SCRIPT) == "[] [0, 2, 4, 6] [0, 2, 4, 6]"
    assert step(SCRIPT.replace("return df * 2", "return df * 3")) == "['use_data'] [0, 3, 6, 9] [0, 3, 6, 9]"
    edited = SCRIPT.replace("return df * 2", "return df * 3").replace("* task.mult)", "* task.mult + 1)")
    assert step(edited) == "['use_data'] [1, 4, 7, 10] [1, 4, 7, 10]"  # one step edited: get_data stays
