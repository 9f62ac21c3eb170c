"""Freshness across processes: a small project in a temp folder is run in fresh
interpreters, edited, and run again; we count which task bodies executed."""

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

HELPERS = '''\
from pkg.more import inner

def helper(x):
    """Helper docstring."""
    y = inner(x)
    return y + 1
'''

MORE = '''\
SCALE = 3

def inner(x):
    return x * SCALE
'''

FLOW = '''\
import os
import daskflow
from pkg.helpers import helper

OFFSET = 10
UNUSED = 1


def log(name):
    with open(os.path.join(os.path.dirname(__file__), "calls.log"), "a") as f:
        f.write(name + "\\n")


class A(daskflow.tasks.TaskJson):
    def run(self):
        log("A")
        self.save({"a": helper(2)})


class B(daskflow.tasks.TaskJson):
    """Task B."""

    def requires(self):
        return A()

    def run(self):
        log("B")
        value = self.inputLoad()["a"] + OFFSET
        self.save({"b": value})


class C(daskflow.tasks.TaskJson):
    def requires(self):
        return B()

    def run(self):
        log("C")
        self.save({"c": self.inputLoad()["b"] * 2})
'''

RUN = '''\
import json, sys
import daskflow
import flow
result = daskflow.run(flow.C(), scheduler="sync")
why = daskflow.why(flow.C())
print(json.dumps({"ran": sorted(t.task_family for t in result.ran),
                  "cutoff": sorted(t.task_family for t in result.cutoff),
                  "c": flow.C().outputLoad()}))
'''


class Project:
    def __init__(self, folder: Path):
        self.folder = folder
        (folder / "pkg").mkdir(parents=True)
        (folder / "pyproject.toml").write_text("[project]\nname = 'p'\n")
        (folder / "pkg" / "__init__.py").write_text("")
        self.write("pkg/helpers.py", HELPERS)
        self.write("pkg/more.py", MORE)
        self.write("flow.py", FLOW)
        self.write("run.py", RUN)

    def write(self, name, text):
        (self.folder / name).write_text(text)

    def edit(self, name, old, new):
        path = self.folder / name
        text = path.read_text()
        assert old in text, f"{old!r} not in {name}"
        path.write_text(text.replace(old, new, 1))

    def run(self, seed="0", script="run.py"):
        env = dict(os.environ, PYTHONHASHSEED=seed, PYTHONDONTWRITEBYTECODE="1")
        env.pop("DASKFLOW_ROOT", None)
        log = self.folder / "calls.log"
        if log.exists():
            log.unlink()
        proc = subprocess.run([sys.executable, script], cwd=self.folder, env=env,
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        out = json.loads(proc.stdout.strip().splitlines()[-1])
        out["bodies"] = sorted(log.read_text().split()) if log.exists() else []
        return out


@pytest.fixture
def project(tmp_path):
    p = Project(tmp_path / "proj")
    first = p.run()
    assert first["bodies"] == ["A", "B", "C"] and first["c"] == {"c": 34}
    assert p.run()["bodies"] == []
    return p


def test_body_edit_reruns_task_and_downstream_only(project):
    project.edit("flow.py", '+ OFFSET', '+ OFFSET + 1')
    out = project.run()
    assert out["bodies"] == ["B", "C"] and out["c"] == {"c": 36}


@pytest.mark.parametrize("old, new", [
    ('"""Task B."""', '"""Task B, reworded at length."""'),
    ('        log("B")\n', '        # a comment\n\n        log("B")  # another\n'),
    ('value = self.inputLoad()["a"] + OFFSET\n        self.save({"b": value})',
     'total = self.inputLoad()["a"] + OFFSET\n        self.save({"b": total})'),
    ('UNUSED = 1', 'UNUSED = 2'),
    ('def helper(x):\n    """Helper docstring."""', 'def helper(x):\n    """Another docstring."""\n'),
])
def test_cosmetic_edits_rerun_nothing(project, old, new):
    target = "pkg/helpers.py" if "Helper docstring" in old else "flow.py"
    project.edit(target, old, new)
    assert project.run()["bodies"] == []


def test_helper_of_a_helper_in_another_module_reruns_its_callers(project):
    project.edit("pkg/more.py", "return x * SCALE", "return x * SCALE * 2")
    out = project.run()
    assert out["bodies"] == ["A", "B", "C"] and out["c"] == {"c": 46}


def test_module_constant_edit_reruns_what_uses_it(project):
    project.edit("pkg/more.py", "SCALE = 3", "SCALE = 4")
    assert project.run()["bodies"] == ["A", "B", "C"]
    project.edit("flow.py", "OFFSET = 10", "OFFSET = 11")
    assert project.run()["bodies"] == ["B", "C"]


def test_reverting_reruns_nothing(project):
    project.edit("flow.py", '+ OFFSET', '+ OFFSET + 1')
    assert project.run()["bodies"] == ["B", "C"]
    project.edit("flow.py", '+ OFFSET + 1', '+ OFFSET')
    out = project.run()
    assert out["bodies"] == [] and out["c"] == {"c": 34}


def test_other_folder_and_hash_seed_rerun_nothing(project, tmp_path):
    copy = tmp_path / "elsewhere" / "checkout"
    shutil.copytree(project.folder, copy)
    other = Project.__new__(Project)
    other.folder = copy
    assert other.run(seed="12345")["bodies"] == []


def test_version_overrides_the_code(project):
    project.edit("flow.py", 'class A(daskflow.tasks.TaskJson):\n',
                 'class A(daskflow.tasks.TaskJson):\n    version = "1"\n')
    assert project.run()["bodies"] == ["A"]  # the version replaced the code: A reruns, same output
    project.edit("flow.py", 'self.save({"a": helper(2)})', 'self.save({"a": helper(2) + 0})')
    assert project.run()["bodies"] == []
    project.edit("flow.py", 'version = "1"', 'version = "2"')
    assert project.run()["bodies"] == ["A"]


def test_early_cutoff_skips_downstream(project):
    project.edit("flow.py", 'self.save({"a": helper(2)})', 'self.save({"a": helper(1 + 1)})')
    out = project.run()
    assert out["bodies"] == ["A"] and out["cutoff"] == ["B", "C"]
    assert project.run()["bodies"] == []


def test_why_names_function_file_line_and_statements(project):
    project.edit("flow.py", '+ OFFSET', '+ OFFSET + 1')
    project.write("why.py", textwrap.dedent('''\
        import json, daskflow, flow
        report = daskflow.why(flow.C())
        print(json.dumps(report.to_dict()))
        '''))
    env = dict(os.environ)
    proc = subprocess.run([sys.executable, "why.py"], cwd=project.folder, capture_output=True, text=True,
                          env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    by_family = {t["family"]: t for t in report["tasks"]}
    assert by_family["A"]["status"] == "fresh"
    (reason,) = by_family["B"]["reasons"]
    assert reason["kind"] == "code-changed"
    (change,) = reason["changes"]
    assert change["part"] == "flow:B.run" and change["file"] == "flow.py" and change["line"] == 28
    assert change["old"] == 'value = self.inputLoad()["a"] + OFFSET'
    assert change["new"] == 'value = self.inputLoad()["a"] + OFFSET + 1'
    assert [r["kind"] for r in by_family["C"]["reasons"]] == ["upstream"]
    assert "B()" in by_family["C"]["reasons"][0]["message"]
