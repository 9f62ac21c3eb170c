"""Dynamic branches across processes: a small project in a temp folder whose list comes from
an upstream task; every step runs in a fresh interpreter, and the task bodies that executed
are counted from a log file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

FLOW = '''\
import os
import daskflow

STORES = ["north", "south", "east"]
SALES = {"north": [3, 4], "south": [5], "east": [1, 1, 1], "west": [9]}


def log(name):
    with open(os.path.join(os.path.dirname(__file__), "calls.log"), "a") as f:
        f.write(name + "\\n")


class Stores(daskflow.tasks.TaskJson):
    """The list of stores: known only once this task ran."""

    def run(self):
        log("Stores")
        self.save(list(STORES))


class Model(daskflow.tasks.TaskJson):
    store = daskflow.Parameter()

    def run(self):
        log("Model:" + self.store)
        self.save({"store": self.store, "mean": sum(SALES[self.store]) / len(SALES[self.store])})


class Report(daskflow.tasks.TaskJson):
    def requires(self):
        return daskflow.map(Model, over=Stores(), param="store")

    def run(self):
        log("Report")
        self.save({m["store"]: m["mean"] for m in self.inputLoad()})
'''

RUN = '''\
import json
import daskflow
import flow
result = daskflow.run(flow.Report(), scheduler="sync")
print(json.dumps({"ran": sorted(repr(t) for t in result.ran),
                  "cutoff": sorted(repr(t) for t in result.cutoff),
                  "report": flow.Report().outputLoad()}))
'''


class Project:
    def __init__(self, folder: Path):
        self.folder = folder
        folder.mkdir(parents=True)
        (folder / "pyproject.toml").write_text("[project]\nname = 'p'\n")
        (folder / "flow.py").write_text(FLOW)
        (folder / "run.py").write_text(RUN)

    def edit(self, old, new):
        path = self.folder / "flow.py"
        text = path.read_text()
        assert old in text, old
        path.write_text(text.replace(old, new, 1))

    def env(self):
        env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
        env = {k: v for k, v in env.items() if not k.startswith("DASKFLOW_")}
        return env

    def run(self):
        log = self.folder / "calls.log"
        if log.exists():
            log.unlink()
        proc = subprocess.run([sys.executable, "run.py"], cwd=self.folder, env=self.env(),
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        out = json.loads(proc.stdout.strip().splitlines()[-1])
        out["bodies"] = sorted(log.read_text().split()) if log.exists() else []
        return out

    def cli(self, *args):
        script = Path(sys.executable).with_name("daskflow")
        return subprocess.run([str(script), *args], cwd=self.folder, env=self.env(),
                              capture_output=True, text=True, timeout=120)


@pytest.fixture
def project(tmp_path):
    p = Project(tmp_path / "proj")
    first = p.run()
    assert first["bodies"] == ["Model:east", "Model:north", "Model:south", "Report", "Stores"]
    assert first["report"] == {"north": 3.5, "south": 5.0, "east": 1.0}
    return p


def test_unchanged_list_runs_nothing(project):
    out = project.run()
    assert out["bodies"] == [] and out["ran"] == []


def test_list_grows_by_one_one_branch_runs(project):
    project.edit('STORES = ["north", "south", "east"]', 'STORES = ["north", "south", "east", "west"]')
    out = project.run()
    assert out["bodies"] == ["Model:west", "Report", "Stores"]
    assert out["report"]["west"] == 9.0
    assert project.run()["bodies"] == []


def test_one_item_changes_one_branch_and_the_combiner_run(project):
    project.edit('STORES = ["north", "south", "east"]', 'STORES = ["north", "west", "east"]')
    out = project.run()
    assert out["bodies"] == ["Model:west", "Report", "Stores"]
    assert out["report"] == {"north": 3.5, "west": 9.0, "east": 1.0}


def test_list_task_rerun_with_the_same_list_stops_there(project):
    project.edit('        log("Stores")\n', '        log("Stores")\n        assert STORES\n')
    out = project.run()
    assert out["bodies"] == ["Stores"]  # the same list: the branches and the combiner are fresh
    assert out["ran"] == ["Stores()"]


def test_cli_preview_shows_the_expansion(tmp_path):
    p = Project(tmp_path / "fresh")
    before = p.cli("preview", "flow.py:Report")
    assert before.returncode == 0, before.stderr
    assert "Report()  PENDING: expands after Stores()" in before.stdout
    assert "Model" not in before.stdout
    why = p.cli("why", "flow.py:Report")
    assert "Report() will run:\n  - expands after Stores()" in why.stdout
    ran = p.cli("run", "flow.py:Report", "--scheduler", "sync")
    assert ran.returncode == 0, ran.stderr
    assert "ran  Model(store='north')" in ran.stdout and ran.stdout.rstrip().endswith("5 ran, 0 skipped")
    after = p.cli("preview", "flow.py:Report")
    assert "Model(store=north)  COMPLETE" in after.stdout
    assert "Report()  COMPLETE" in after.stdout


def test_the_fanout_example_rebuilds_only_what_changed(tmp_path):
    example = Path(__file__).parent.parent / "examples" / "fanout.py"
    proc = subprocess.run([sys.executable, str(example), "--root", str(tmp_path / "data")],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    blocks = {b.split("\n", 1)[0]: b for b in proc.stdout.split("\n== ")[1:]}
    assert "(PENDING: expands after Stores(" in proc.stdout.split("\n== ")[0]
    assert "ran: nothing" in blocks["again: nothing changed"]
    added = blocks["a file was added: one new model"]
    assert [w for w in added.split("ran: ")[1].split("\n")[0].split(", ") if w.startswith("Fit")] == ["Fit(turin)"]
    changed = blocks["one file changed: only its model is refitted"]
    assert [w for w in changed.split("ran: ")[1].split("\n")[0].split(", ") if w.startswith("Fit")] == ["Fit(lyon)"]
