"""The run-time trace (daskflow.trace): recorded in the marker, warns when run() reached user
code the static walk did not, in a fresh process per step; off by default."""

import json
import os
import subprocess
import sys

from test_freshness_cases import HEADER, Project

FLOW = HEADER + '''\
from pkg.helpers import inner


class T(daskflow.tasks.TaskJson):
    def run(self):
        log("T")
        import importlib
        plugin = importlib.import_module("pkg." + "plugins").plugin  # a computed module name:
        self.save({"v": plugin(1) + inner(1) + sum(x for x in [1])})  # the walk cannot follow it
'''

FILES = {"pkg/helpers.py": "def inner(x):\n    return x + 1\n",
         "pkg/plugins.py": "def plugin(x):\n    return _private(x) * 2\n\n\ndef _private(x):\n    return x\n"}

STEP = '''\
import json, warnings
warnings.simplefilter("always")
with warnings.catch_warnings(record=True) as caught:
    import daskflow, flow
    daskflow.run(flow.T(), scheduler="sync", progress=False)
    report = daskflow.why(flow.T())
store = daskflow.storage.default_store()
(commit,) = store.list_task("T", daskflow.plan.param_dir(flow.T()))
print(json.dumps({"warnings": [str(w.message) for w in caught], "why": report.to_dict(),
                  "marker": store.read_body(commit)}))
'''


def _step(project, **env):
    (project.folder / "step.py").write_text(STEP)
    full = dict(os.environ, PYTHONHASHSEED="5", **env)
    full.pop("DASKFLOW_ROOT", None)
    proc = subprocess.run([sys.executable, "step.py"], cwd=project.folder, env=full,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_trace_names_what_the_static_walk_missed(tmp_path):
    project = Project(tmp_path / "proj", FLOW[len(HEADER):], FILES)
    out = _step(project, DASKFLOW_TRACE="1")
    marker = out["marker"]
    assert marker["traced"] == ["flow:T.run", "flow:log", "pkg.helpers:inner", "pkg.plugins:_private",
                                "pkg.plugins:plugin"]
    assert marker["unwalked"] == ["pkg.plugins:_private", "pkg.plugins:plugin"]
    assert any("T(): run() called code the fingerprint does not follow" in w and "pkg.plugins:plugin" in w
               for w in out["warnings"]), out["warnings"]
    (task,) = out["why"]["tasks"]
    assert task["status"] == "fresh" and task["unwalked"] == ["pkg.plugins:_private", "pkg.plugins:plugin"]


def test_trace_is_off_by_default_and_changes_no_fingerprint(tmp_path):
    project = Project(tmp_path / "proj", FLOW[len(HEADER):], FILES)
    out = _step(project)
    assert "traced" not in out["marker"] and not any("does not follow" in w for w in out["warnings"])
    first = out["marker"]["fingerprint"]
    out = _step(project, DASKFLOW_TRACE="1")
    assert out["marker"]["fingerprint"] == first
