"""Every snippet of the seed article, with ``import daskflow as d6tflow``."""

import contextlib
import io
import sys
from pathlib import Path

import pytest

import daskflow as d6tflow

sklearn = pytest.importorskip("sklearn", reason="the seed's ML workflow needs the examples extra")
sys.path.insert(0, str(Path(__file__).parents[1] / "examples"))
import ml_workflow  # noqa: E402
from ml_workflow import TaskGetData, TaskPreprocess, TaskTrain  # noqa: E402


def preview_text(task):
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        d6tflow.preview(task)
    return buf.getvalue()


def test_seed_snippets(root):
    d6tflow.run(TaskTrain())
    # "force execution including downstream tasks"
    result = d6tflow.run(TaskTrain(), force=TaskGetData())
    assert set(result.ran) == {TaskGetData(), TaskPreprocess(), TaskTrain()}
    # "reset single task", "reset all downstream tasks", "reset all upstream tasks"
    TaskGetData().invalidate()
    assert not TaskGetData().complete()
    d6tflow.run(TaskTrain())
    d6tflow.invalidate_downstream(TaskGetData(), TaskTrain())
    assert not TaskPreprocess().complete() and not TaskTrain().complete()
    d6tflow.run(TaskTrain())
    d6tflow.invalidate_upstream(TaskTrain())
    assert not any(t.complete() for t in (TaskGetData(), TaskPreprocess(), TaskTrain()))
    d6tflow.run(TaskTrain())

    # "easily train models with different parameters"
    text = preview_text(TaskTrain(do_preprocess=False))
    lines = text.splitlines()
    assert lines[0].startswith("└─--[TaskTrain-{") and "'do_preprocess': 'False'" in lines[0] and "PENDING" in lines[0]
    assert lines[1].startswith("   └─--[TaskPreprocess-{'do_preprocess': 'False'} (PENDING")
    assert lines[2] == "      └─--[TaskGetData-{} (COMPLETE)]"

    # "easily compare models"
    d6tflow.run(TaskTrain(do_preprocess=False))
    df_train1 = TaskPreprocess().output().load()
    model1 = TaskTrain().output().load()
    acc1 = sklearn.metrics.accuracy_score(df_train1["y"], model1.predict(df_train1.iloc[:, :-1]))
    df_train2 = TaskPreprocess(do_preprocess=False).output().load()
    model2 = TaskTrain(do_preprocess=False).output().load()
    acc2 = sklearn.metrics.accuracy_score(df_train2["y"], model2.predict(df_train2.iloc[:, :-1]))
    assert 0.9 < acc2 < acc1 <= 1.0


def test_seed_process_snippet_and_data_engineer_handoff(root, tmp_path, monkeypatch):
    # the data engineer's module, and the data scientist's external subclass of it
    (tmp_path / "tasks_factors.py").write_text(
        "import daskflow as d6tflow, pandas as pd\n"
        "class Task1(d6tflow.tasks.TaskPqPandas):\n"
        "    def run(self):\n"
        "        self.save(pd.DataFrame({'factor': [1.0, 2.0, 3.0]}))\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import tasks_factors

    d6tflow.run(tasks_factors.Task1())  # the data engineer runs it

    class Task1(tasks_factors.Task1):
        external = True  # rely on data engineer to run

    def do_stuff(data):
        return data * 2

    class TaskProcess(d6tflow.tasks.TaskPqPandas):  # define output format
        def requires(self):
            return Task1()  # define dependency

        def run(self):
            data = self.input().load()  # load input data
            data = do_stuff(data)  # process data
            self.save(data)  # save output data

    d6tflow.run(TaskProcess())
    assert TaskProcess().outputLoad()["factor"].tolist() == [2.0, 4.0, 6.0]
    assert "EXTERNAL" in preview_text(TaskProcess())


def test_example_main_runs(root, capsys):
    ml_workflow.main()
    out = capsys.readouterr().out
    assert "accuracy" in out and "'svm': 'SVC'" in out
