"""why() to the line, and library versions, each step in a fresh interpreter with a new hash
seed: a diff of the changed function, old and new values, "invalidated", the upstream task
named when it was rebuilt elsewhere, and `library fakelib 1.0 -> 1.1` for a real (throwaway)
installed distribution."""

import json
import os
import subprocess
import sys
import textwrap

import pytest

from test_freshness_cases import HEADER, Project

FLOW = HEADER + '''\
import functools

OFFSET = 10


class Cfg:
    RATE = 0.5


def times(n):
    def deco(f):
        @functools.wraps(f)
        def wrapper(x):
            return f(x) * n
        return wrapper
    return deco


@times(2)
def helper(x, k=2):
    if x > 0:
        y = x + k
    else:
        y = 0
    return y


class A(daskflow.tasks.TaskJson):
    n = daskflow.IntParameter(default=1)

    def run(self):
        log("A")
        self.save({"a": int(os.environ.get("A_VALUE", "1")) * self.n})


class B(daskflow.tasks.TaskJson):
    def requires(self):
        return A()

    def run(self):
        log("B")
        self.save({"b": self.inputLoad()["a"] + OFFSET + helper(1) + Cfg.RATE})


class B2(daskflow.tasks.TaskJson):
    def requires(self):
        return A()

    def run(self):
        log("B2")
        self.save({"b2": self.inputLoad()["a"]})


class T(daskflow.tasks.TaskJson):
    def requires(self):
        return [B(), B2()]

    def run(self):
        log("T")
        self.save({"t": 1})
'''

SCRIPT = '''\
import json, os, sys, warnings
import daskflow, flow
what = sys.argv[1]
task = eval(sys.argv[2], vars(flow))
out = {}
if what == "run":
    r = daskflow.run(task, scheduler="sync", progress=False)
elif what == "force":
    r = daskflow.run(task, force=task, scheduler="sync", progress=False)
elif what == "invalidate":
    task.invalidate()
elif what == "invalidate_upstream":
    daskflow.invalidate_upstream(task)
elif what == "load":
    try:
        out["loaded"] = task.outputLoad()
    except daskflow.NotBuiltError as exc:
        out["error"] = str(exc)
report = daskflow.why(task)
out["why"] = report.to_dict()
out["text"] = str(report)
print(json.dumps(out))
'''


class WhyProject(Project):
    def __init__(self, folder, flow=FLOW, files=None):
        super().__init__(folder, flow[len(HEADER):], files or {})
        (folder / "step.py").write_text(SCRIPT)

    def step(self, what, task="T()", seed="3", **env):
        full = dict(os.environ, PYTHONHASHSEED=seed, PYTHONDONTWRITEBYTECODE="1", **env)
        full.pop("DASKFLOW_ROOT", None)
        log = self.folder / "calls.log"
        if log.exists():
            log.unlink()
        proc = subprocess.run([sys.executable, "step.py", what, task], cwd=self.folder, env=full,
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        out = json.loads(proc.stdout.strip().splitlines()[-1])
        out["bodies"] = sorted(log.read_text().split()) if log.exists() else []
        out["by"] = {t["task"]: t for t in out["why"]["tasks"]}
        return out


def reasons(out, task):
    """A task's reasons, but the warning that A reads A_VALUE from the environment (on purpose:
    another result from the same code) and that its fingerprint does not hold it."""
    return [r for r in out["by"][task]["reasons"] if r["kind"] != "incomplete-fingerprint"]


@pytest.fixture
def project(tmp_path):
    p = WhyProject(tmp_path / "proj")
    assert p.step("run")["bodies"] == ["A", "B", "B2", "T"]
    return p


def test_edit_inside_a_block_is_a_diff_of_the_function(project):
    project.edit("flow.py", "y = x + k", "y = x + k + 1")
    (reason,) = reasons(project.step("why"), "B()")
    assert reason["kind"] == "code-changed"
    (change,) = reason["changes"]
    assert change["part"] == "flow:helper" and change["file"] == "flow.py"
    assert "-        y = x + k\n+        y = x + k + 1" in change["diff"]
    assert "+        y = x + k + 1" in reason["message"]


@pytest.mark.parametrize("old, new, name, before, after", [
    ("OFFSET = 10", "OFFSET = 11", "OFFSET", "10", "11"),
    ("RATE = 0.5", "RATE = 0.75", "RATE", "0.5", "0.75"),
])
def test_changed_constant_and_class_attribute_show_old_and_new_value(project, old, new, name, before, after):
    project.edit("flow.py", old, new)
    (reason,) = reasons(project.step("why"), "B()")
    assert f"{name}: {before} -> {after}" in reason["message"], reason["message"]


@pytest.mark.parametrize("old, new", [("def helper(x, k=2)", "def helper(x, k=3)"),
                                      ("@times(2)", "@times(3)")])
def test_changed_default_and_decorator_show_in_the_diff(project, old, new):
    project.edit("flow.py", old, new)
    (reason,) = reasons(project.step("why"), "B()")
    assert f"-{old}" in reason["message"] and f"+{new}" in reason["message"], reason["message"]


def test_long_values_are_truncated(project):
    project.edit("flow.py", "OFFSET = 10", "OFFSET = " + repr("x" * 500))
    message = reasons(project.step("why"), "B()")[0]["message"]
    assert "OFFSET: 10 -> 'xxxx" in message and "..." in message and len(message) < 400


def test_invalidated_says_so_and_compares_with_nothing_else(project):
    assert project.step("run", "A(n=2)")["bodies"] == ["A"]
    out = project.step("invalidate", "A(n=2)")
    (reason,) = reasons(out, "A(n=2)")
    assert reason["kind"] == "invalidated" and "parameter n changed" not in out["text"]
    assert project.step("run", "A(n=2)")["bodies"] == ["A"]  # built again: the note is moot
    assert project.step("why", "A(n=2)")["by"]["A(n=2)"]["status"] == "fresh"
    out = project.step("invalidate_upstream", "B()")
    assert [r["kind"] for r in reasons(out, "A(n=1)")] == ["invalidated"]
    # B's family has no build left: its note is not even listed (no request for never-built families)
    assert [r["kind"] for r in reasons(out, "B()")] == ["no-output", "upstream"]
    assert project.step("run")["bodies"] == ["A", "B"]  # same results: B2 and T cut off


def test_code_change_compares_with_the_build_of_the_same_parameters(project):
    assert project.step("run", "A(n=2)")["bodies"] == ["A"]
    project.edit("flow.py", '* self.n})', '* self.n + 0})')
    assert project.step("run", "A(n=2)")["bodies"] == ["A"]
    (reason,) = reasons(project.step("why", "A(n=1)"), "A(n=1)")
    assert reason["kind"] == "code-changed" and "+ 0" in reason["message"]


def test_upstream_rebuilt_by_another_process_or_forced_alone_is_named(project):
    out = project.step("force", "A()", A_VALUE="5")  # A alone, forced, another result
    assert out["bodies"] == ["A"]
    out = project.step("load", "T()")
    for task in ("B()", "B2()"):
        (reason,) = reasons(out, task)
        assert reason["kind"] == "upstream" and "A(n=1) was rebuilt with a different result" in reason["message"]
    (reason,) = reasons(out, "T()")
    assert reason["message"] == "upstream will run: B(), B2()"
    assert "(upstream will run: B(), B2())" in out["error"]
    assert all(r["message"].strip() for t in out["why"]["tasks"] for r in t["reasons"])
    assert "- upstream will run:\n" not in out["text"]


def test_sibling_branch_names_the_rebuilt_upstream(project):
    project.edit("flow.py", '* self.n})', '* self.n * 2})')
    assert project.step("run", "B()")["bodies"] == ["A", "B"]
    (reason,) = reasons(project.step("why", "B2()"), "B2()")
    assert "A(n=1) was rebuilt with a different result" in reason["message"]
    assert project.step("run")["bodies"] == ["B2", "T"]


LIB_FLOW = HEADER + '''\
import fakelib


class T(daskflow.tasks.TaskJson):
    def run(self):
        log("T")
        self.save({"v": fakelib.value()})
'''


def _install_fakelib(site, version):
    for old in site.glob("fakelib-*.dist-info"):
        for f in old.iterdir():
            f.unlink()
        old.rmdir()
    (site / "fakelib").mkdir(parents=True, exist_ok=True)
    (site / "fakelib" / "__init__.py").write_text("def value():\n    return 1\n")
    info = site / f"fakelib-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: fakelib\nVersion: {version}\n")
    (info / "top_level.txt").write_text("fakelib\n")


def test_library_upgrade_reruns_and_is_named_with_both_versions(tmp_path):
    site = tmp_path / "env" / "lib" / "site-packages"  # looks installed: counted by version
    _install_fakelib(site, "1.0")
    p = WhyProject(tmp_path / "proj", LIB_FLOW)
    env = {"PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}
    assert p.step("run", **env)["bodies"] == ["T"]
    assert p.step("run", seed="9", **env)["bodies"] == []
    _install_fakelib(site, "1.1")
    (reason,) = reasons(p.step("why", **env), "T()")
    assert reason["kind"] == "code-changed" and "library fakelib 1.0 -> 1.1" in reason["message"]
    assert reason["libraries"] == [{"library": "fakelib", "old": "1.0", "new": "1.1",
                                    "message": "library fakelib 1.0 -> 1.1"}]
    assert p.step("run", **env)["bodies"] == ["T"]
    _install_fakelib(site, "1.1.5")  # minor granularity: a patch release counts as the same
    assert p.step("run", DASKFLOW_LIBRARY_VERSIONS="minor", **env)["bodies"] == []
    _install_fakelib(site, "1.1.7")
    assert p.step("run", DASKFLOW_LIBRARY_VERSIONS="minor", **env)["bodies"] == []
    _install_fakelib(site, "2.0")
    assert p.step("run", DASKFLOW_LIBRARY_VERSIONS="minor", **env)["bodies"] == ["T"]
    assert p.step("run", DASKFLOW_LIBRARY_VERSIONS="off", **env)["bodies"] == ["T"]  # first "off" build
    _install_fakelib(site, "3.0")
    assert p.step("run", DASKFLOW_LIBRARY_VERSIONS="off", **env)["bodies"] == []
    assert p.step("run", **env)["bodies"] == ["T"]


def test_bad_granularity_is_one_clear_error(tmp_path):
    p = WhyProject(tmp_path / "proj", LIB_FLOW.replace("import fakelib\n", "import json as fakelib\n")
                   .replace("fakelib.value()", "fakelib.dumps(1)"))
    env = dict(os.environ, DASKFLOW_LIBRARY_VERSIONS="major")
    proc = subprocess.run([sys.executable, "step.py", "run", "T()"], cwd=p.folder, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert "DASKFLOW_LIBRARY_VERSIONS='major': expected one of exact, minor, off" in proc.stderr
