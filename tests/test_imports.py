"""``import daskflow`` stays light: dask, distributed, fsspec and pandas are imported by
what uses them (a run, a store, a DataFrame format), not by the import itself."""

from __future__ import annotations

import json
import subprocess
import sys


def _modules_after(code: str) -> set:
    out = subprocess.run([sys.executable, "-c", f"{code}\nimport sys, json; print(json.dumps(sorted(sys.modules)))"],
                         capture_output=True, text=True, check=True)
    return set(json.loads(out.stdout.splitlines()[-1]))


def test_import_daskflow_leaves_heavy_libraries_for_later():
    loaded = _modules_after("import daskflow")
    heavy = {"dask", "distributed", "fsspec", "pandas", "pyarrow", "s3fs", "rich"}
    assert not heavy & {m.split(".")[0] for m in loaded}


def test_delayed_and_flow_import_dask_when_asked_for():
    loaded = _modules_after("import daskflow\nassert daskflow.delayed.__module__ == 'daskflow.collection'\n"
                            "from daskflow import *\nassert Flow")
    assert "dask" in loaded


def test_a_run_in_a_fresh_interpreter_imports_what_it_needs(tmp_path):
    code = (f"import daskflow\nclass T(daskflow.tasks.TaskPickle):\n    def run(self):\n        self.save(1)\n"
            f"daskflow.set_root({str(tmp_path)!r})\nr = daskflow.run(T(), progress=False)\n"
            f"assert len(r.ran) == 1 and T().output().load() == 1")
    assert {"dask", "fsspec"} <= _modules_after(code)
