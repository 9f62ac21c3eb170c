"""Atomic, concurrent commits on a shared root (S3, and local disk for comparison).

Outputs are uploaded whole before the commit marker; a writer that fails or is
killed between its outputs and its marker leaves nothing that looks fresh; two
processes building the same task at the same moment leave intact, consistent
builds, and a third run treats the task as fresh.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import daskflow
from test_storage_conformance import REPO, load_module

RACE = '''
import os, time
from pathlib import Path
import numpy as np
import pandas as pd
import daskflow


class Shared(daskflow.tasks.Task):
    persist = {"table": "parquet", "stats": "json"}
    barrier = daskflow.Parameter(default="", significant=False)

    def run(self):
        if self.barrier:  # both writers get here before either writes: their uploads overlap
            (Path(self.barrier) / str(os.getpid())).touch()
            deadline = time.time() + 60
            while len(list(Path(self.barrier).iterdir())) < 2 and time.time() < deadline:
                time.sleep(0.01)
        df = pd.DataFrame({"x": np.arange(50_000), "y": np.arange(50_000) % 7})
        self.save({"table": df, "stats": {"rows": len(df), "sum": int(df["x"].sum())}})


class Killed(daskflow.tasks.Task):
    persist = {"first": "pickle", "second": "pickle"}
    die = daskflow.BoolParameter(default=False, significant=False)

    def run(self):
        self.save({"first": 1, "second": 2})
        if self.die:
            os.kill(os.getpid(), 9)  # killed after its outputs, before its marker
'''


@pytest.fixture(params=["local", "s3"])
def shared_root(request, tmp_path):
    """A root two processes can share: (url, fs, path, env for subprocesses)."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    if request.param == "local":
        import fsspec

        path = str(tmp_path / "store")
        daskflow.set_root(path)
        yield path, fsspec.filesystem("file"), path, env
    else:
        from s3_fixtures import S3Root

        s3 = S3Root(request.getfixturevalue("s3_server"), "race")
        daskflow.set_root(s3.url, **s3.options)
        env.update(s3.env())
        yield s3.url, s3.fs, s3.prefix, env
        s3.cleanup()


def _script(module, url, body):
    return textwrap.dedent(f"""
        import sys; sys.path.insert(0, {str(Path(module.__file__).parent)!r})
        import daskflow, {module.__name__} as m
        daskflow.set_root({url!r})
    """) + textwrap.dedent(body)


def test_two_processes_building_one_task_leave_intact_consistent_results(shared_root, tmp_path):
    url, fs, path, env = shared_root
    module = load_module(tmp_path / "mods", RACE, "race")
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    script = _script(module, url, f"r = daskflow.run(m.Shared(barrier={str(barrier)!r}), scheduler='sync', progress=False)\n"
                                  "print('RAN', len(r.ran))")
    env = dict(env, DASKFLOW_LEASES="off")  # without leases (see test_leases.py for them)
    procs = [subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=180) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, err
        assert "RAN 1" in out  # both really built it, at the same time
    markers = [f for f in fs.find(path) if "._commit." in f]
    builds = {m.partition("._commit.")[0] for m in markers}
    assert len(markers) == 2 and len(builds) == 2
    results = set()
    for marker in markers:  # each build: every output present, bytes as the marker recorded
        body = json.loads(fs.cat_file(marker))
        build = marker.partition("._commit.")[0]
        for name, out in body["outputs"].items():
            data = fs.cat_file(f"{build}.{out['file']}")
            assert hashlib.sha256(data).hexdigest() == out["sha256"], name
        results.add(body["result"])
    assert len(results) == 1  # the same code and inputs gave the same bytes
    assert module.Shared().complete(), str(daskflow.why(module.Shared()))
    third = daskflow.run(module.Shared(), scheduler="sync", progress=False)
    assert third.ran == [] and third.skipped == [module.Shared()]
    out = module.Shared().outputLoad(as_dict=True)
    assert out["stats"] == {"rows": 50_000, "sum": 49_999 * 25_000} and len(out["table"]) == 50_000


def test_a_writer_killed_before_its_marker_leaves_nothing_fresh(shared_root, tmp_path):
    url, fs, path, env = shared_root
    module = load_module(tmp_path / "mods", RACE, "race")
    killed = subprocess.run([sys.executable, "-c", _script(module, url, "daskflow.run(m.Killed(die=True), scheduler='sync')")],
                            env=env, capture_output=True, text=True, timeout=120)
    assert killed.returncode == -9
    files = fs.find(path)
    assert any(f.endswith(".second.pkl") for f in files) and not any("._commit." in f for f in files)
    assert not module.Killed().complete()
    assert [r.kind for r in daskflow.why(module.Killed())[module.Killed()].reasons] == ["no-output"]
    assert daskflow.run(module.Killed(), scheduler="sync").ran == [module.Killed()]
    assert module.Killed().outputLoad() == [1, 2]


def test_a_failed_upload_leaves_nothing_fresh(s3root, tmp_path, monkeypatch):
    """Unit test of the error path: the second PUT of a build fails (stubbed)."""
    module = load_module(tmp_path / "mods", RACE, "race")
    from daskflow.storage import Store

    real = Store.write
    calls = []

    def flaky(self, path, data):
        calls.append(path)
        if path.endswith("second.pkl"):
            raise daskflow.StorageError(f"writing {path!r} failed: connection reset")
        return real(self, path, data)

    monkeypatch.setattr(Store, "write", flaky)
    with pytest.raises(daskflow.RunError) as err:
        daskflow.run(module.Killed(), scheduler="sync")
    assert isinstance(err.value.__cause__, daskflow.StorageError)
    assert any(c.endswith("first.pkl") for c in calls)
    assert not any("._commit." in f for f in s3root.fs.find(s3root.prefix))
    assert not module.Killed().complete()
    monkeypatch.setattr(Store, "write", real)
    assert daskflow.run(module.Killed(), scheduler="sync").ran == [module.Killed()]
