"""The d6tflow-style example project (examples/d6tflow_project) runs as its README says."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("sklearn", reason="the example needs the examples extra")
PROJECT = Path(__file__).parents[1] / "examples" / "d6tflow_project"


def test_example_project_runs_from_its_folder(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).parents[1]), DASKFLOW_ROOT="")
    env.pop("DASKFLOW_ROOT")
    work = tmp_path / "project"
    work.mkdir()
    for name in ("tasks.py", "run.py"):
        (work / name).write_text((PROJECT / name).read_text())
    out = subprocess.run([sys.executable, "run.py"], cwd=work, env=env, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert "outputs in data" in text and "model: LogisticRegression" in text
    assert "data: {'rows': 569, 'source': 'sklearn breast_cancer'}" in text
    assert "scores: {'ols':" in text and "'svm':" in text
    assert (work / "data" / "env=prod" / "TaskTrain").is_dir()
    assert not (work / "data" / "TaskGetData").exists()  # a TaskCache is never stored
    again = subprocess.run([sys.executable, "-c", "import run; run.main()"], cwd=work, env=env,
                           capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and "PENDING" not in again.stdout  # everything fresh now
