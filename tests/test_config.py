"""Where outputs live: set_root, DASKFLOW_ROOT, [tool.daskflow] root, the project folder default."""

import os
import subprocess
import sys
import textwrap

import daskflow
from daskflow import config


def test_precedence(tmp_path, monkeypatch):
    project = tmp_path / "proj"
    (project / "notebooks").mkdir(parents=True)
    monkeypatch.chdir(project / "notebooks")
    config.settings.root = None
    assert config.resolve_root()[0] == str(project / "notebooks" / "data")  # no marker file: cwd
    (project / ".git").mkdir()
    assert config.resolve_root()[0] == str(project / "data")
    (project / "pyproject.toml").write_text('[tool.daskflow]\nroot = "outputs/store"\n')
    assert config.resolve_root()[0] == str(project / "outputs" / "store")
    monkeypatch.setenv("DASKFLOW_ROOT", "memory://from-env")
    assert config.resolve_root() == ("memory://from-env", {})
    daskflow.set_root("memory://explicit", anon=True)
    assert config.resolve_root() == ("memory://explicit", {"anon": True})


def test_notebook_in_a_subfolder_finds_the_scripts_outputs(tmp_path):
    project = tmp_path / "proj"
    (project / "notebooks").mkdir(parents=True)
    (project / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    (project / "tasks.py").write_text(textwrap.dedent('''\
        import daskflow
        class Hello(daskflow.tasks.TaskJson):
            def run(self):
                self.save({"hello": "world"})
        '''))
    env = dict(os.environ, PYTHONPATH=str(project))
    env.pop("DASKFLOW_ROOT", None)
    top = subprocess.run([sys.executable, "-c", "import daskflow, tasks; daskflow.run(tasks.Hello(), scheduler='sync')"],
                         cwd=project, env=env, capture_output=True, text=True, timeout=120)
    assert top.returncode == 0, top.stderr
    sub = subprocess.run([sys.executable, "-c", "import tasks; print(tasks.Hello().outputLoad())"],
                         cwd=project / "notebooks", env=env, capture_output=True, text=True, timeout=120)
    assert sub.returncode == 0, sub.stderr
    assert sub.stdout.strip() == "{'hello': 'world'}"
    assert (project / "data" / "Hello").is_dir()


def test_scheduler_from_environment(root, monkeypatch):
    from flows import Sum

    monkeypatch.setenv("DASKFLOW_SCHEDULER", "sync")
    assert config.default_scheduler() == "sync"
    import threading

    seen = set()

    class Where(daskflow.tasks.TaskJson):
        def run(self):
            seen.add(threading.current_thread().name)
            self.save({})

    daskflow.run(Where())
    assert seen == {threading.main_thread().name}
    monkeypatch.setenv("DASKFLOW_SCHEDULER", "bogus")
    import pytest

    with pytest.raises(daskflow.ParameterError, match="scheduler 'bogus'"):
        daskflow.run(Sum(upto=2))
