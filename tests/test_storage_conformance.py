"""One storage conformance suite, run against local disk, ``memory://`` and a real S3 server.

Every behaviour a user relies on is checked the same way on each backend:
build, skip when fresh, rerun on a code or parameter change, a deleted or
modified output makes its task stale, several outputs in every format,
``saveMeta``/``outputLoadMeta``, external tasks (and republishing), invalidate,
a failed task leaves nothing that looks fresh, and another process's commit is
seen at once.  Task classes live in small modules written to a temp folder, so
a "code change" is a real edit of a real module.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import pytest

import daskflow
from daskflow.listing import inline_fields

REPO = Path(__file__).resolve().parent.parent

FLOW = '''
import pandas as pd
import daskflow


class GetData(daskflow.tasks.TaskPqPandas):
    n = daskflow.IntParameter(default=6)

    def run(self):
        self.save(pd.DataFrame({"x": range(self.n), "y": [0, 1] * (self.n // 2)}))


class Prep(daskflow.tasks.TaskCSVPandas):
    def requires(self):
        return GetData()

    def run(self):
        df = self.input().load()
        df["z"] = df["x"] * 2
        self.save(df)


class Train(daskflow.tasks.TaskPickle):
    model = daskflow.Parameter(default="ols")

    def requires(self):
        return Prep()

    def run(self):
        df = self.inputLoad()
        self.save({"model": self.model, "total": int(df["z"].sum()) + BONUS})


class Report(daskflow.tasks.TaskJson):
    def requires(self):
        return {"train": Train(), "data": GetData()}

    def run(self):
        self.save({"total": self.inputLoad(task="train")["total"]})


class Multi(daskflow.tasks.Task):
    persist = {"df": "parquet", "table": "csv", "model": "pickle", "info": "json"}

    def requires(self):
        return GetData()

    def run(self):
        df = self.inputLoad()
        self.saveMeta({"rows": len(df), "note": "meta"})
        self.save({"df": df, "table": df.head(2), "model": {"k": 3}, "info": [1, "a"]})


class Events(daskflow.tasks.TaskPqDask):
    def run(self):
        import dask.dataframe as dd

        self.save(dd.from_pandas(pd.DataFrame({"x": range(40), "g": [0, 1] * 20}), npartitions=3))


class Broken(daskflow.tasks.TaskPickle):
    persist = ["a", "b"]

    def run(self):
        self.save({"a": 1, "b": 2})
        raise RuntimeError("crashed after saving")


BONUS = 0
'''

PRODUCER = '''
import pandas as pd
import daskflow


class Raw(daskflow.tasks.TaskCSVPandas):
    day = daskflow.Parameter(default="2024-01-01")
    rows = 3

    def run(self):
        self.save(pd.DataFrame({"a": range(self.rows)}))
'''

CONSUMER = '''
import daskflow


class Raw(daskflow.tasks.TaskCSVPandas):
    external = True
    day = daskflow.Parameter(default="2024-01-01")


class UsesRaw(daskflow.tasks.TaskJson):
    def requires(self):
        return Raw()

    def run(self):
        self.save({"rows": len(self.inputLoad())})
'''


def load_module(folder: Path, source: str, stem: str = "flow", name: str | None = None):
    """Write ``source`` as a module in ``folder`` and import it: a unique name each time,
    or ``name`` (an edited version of a module keeps its name, as in a real checkout)."""
    name = name or f"{stem}_{uuid.uuid4().hex[:8]}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.py"
    path.write_text(textwrap.dedent(source))
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


class Backend:
    """A fresh root on one backend, set as daskflow's root."""

    def __init__(self, kind: str, url: str, options: dict, fs, path: str, s3=None):
        self.kind, self.url, self.options, self.fs, self.path, self.s3 = kind, url, options, fs, path, s3
        daskflow.set_root(url, **options)

    def files(self) -> list[str]:
        return sorted(self.fs.find(self.path))

    def overwrite(self, path: str, data: bytes) -> None:
        if self.kind == "s3":
            time.sleep(1.1)  # S3 times have one-second resolution: make the change visible in them
        else:
            time.sleep(0.02)
        self.fs.pipe_file(path, data)

    def env(self) -> dict:
        """Variables a subprocess needs to use this root."""
        env = dict(os.environ, DASKFLOW_ROOT=self.url, PYTHONPATH=str(REPO))
        if self.s3 is not None:
            env.update(self.s3.env())
        return env


@pytest.fixture(params=["local", "memory", "s3"])
def backend(request, tmp_path):
    kind = request.param
    if kind == "local":
        import fsspec

        path = str(tmp_path / "store")
        yield Backend(kind, path, {}, fsspec.filesystem("file"), path)
    elif kind == "memory":
        import fsspec

        fs = fsspec.filesystem("memory")
        path = f"/conformance-{uuid.uuid4().hex[:8]}"
        yield Backend(kind, f"memory://{path}", {}, fs, path)
        if fs.exists(path):
            fs.rm(path, recursive=True)
    else:
        root = request.getfixturevalue("s3_server")
        from s3_fixtures import S3Root

        s3 = S3Root(root, "conformance")
        yield Backend(kind, s3.url, s3.options, s3.fs, s3.prefix, root)
        s3.cleanup()


@pytest.fixture
def flow(tmp_path):
    return load_module(tmp_path / "mods", FLOW)


def run(tasks, **kw):
    return daskflow.run(tasks, scheduler="sync", progress=False, **kw)


def test_build_then_skip_when_fresh(backend, flow):
    first = run(flow.Report())
    assert {repr(t) for t in first.ran} == {"GetData(n=6)", "Prep()", "Train(model='ols')", "Report()"}
    again = run(flow.Report())
    assert again.ran == [] and len(again.skipped) == 4
    assert flow.Report().outputLoad() == {"total": 30}
    files = backend.files()
    assert any("/GetData/n=6__" in f and f.endswith(".data.parquet") for f in files)
    assert sum(map(_commits, files)) == 4
    if backend.kind == "local":  # one file output each: the output is its own marker
        assert not any("._commit." in f for f in files)


def _commits(path: str) -> bool:
    """Whether ``path`` commits a build: a marker file, or an output committed inline."""
    build, _, name = path.rpartition("/")[2].partition("@")[2].partition(".")
    return name.startswith("_commit.") or (inline_fields(build) is not None and not name.startswith("_"))


def test_param_change_reruns_and_reverting_is_free(backend, flow):
    run(flow.Train())
    other = run(flow.Train(model="gbm"))
    assert [repr(t) for t in other.ran] == ["Train(model='gbm')"]
    back = run(flow.Train())
    assert back.ran == []
    assert flow.Train(model="gbm").outputLoad()["model"] == "gbm"


def test_code_change_reruns_the_changed_task_only(backend, flow, tmp_path):
    run(flow.Train())
    edited = load_module(tmp_path / "mods2", FLOW.replace('+ BONUS', '+ BONUS + 100'), name=flow.__name__)
    report = daskflow.why(edited.Train())
    assert [r.kind for r in report[edited.Train()].reasons] == ["code-changed"]
    assert not report[edited.Prep()].runs
    result = run(edited.Train())
    assert [repr(t) for t in result.ran] == ["Train(model='ols')"]
    assert edited.Train().outputLoad()["total"] == 130


def test_deleted_output_makes_the_task_stale(backend, flow):
    run(flow.Train())
    path = flow.Prep().output().path
    backend.fs.rm_file(path)
    report = daskflow.why(flow.Train())
    assert [r.kind for r in report[flow.Prep()].reasons] == ["output-modified"]
    assert "missing" in str(report[flow.Prep()].reasons[0])
    result = run(flow.Train())
    assert [repr(t) for t in result.ran] == ["Prep()"]  # early cutoff: the same bytes again
    assert flow.Train().outputLoad()["total"] == 30


def test_modified_output_makes_the_task_stale(backend, flow):
    run(flow.GetData())
    path = flow.GetData().output().path
    backend.overwrite(path, b"not parquet any more")
    kinds = [r.kind for r in daskflow.why(flow.GetData())[flow.GetData()].reasons]
    assert kinds == ["output-modified"]
    run(flow.GetData())
    assert len(flow.GetData().outputLoad()) == 6


def test_multi_output_every_format_and_meta(backend, flow):
    run(flow.Multi())
    out = flow.Multi().outputLoad(as_dict=True)
    assert list(out["df"]["x"]) == list(range(6)) and list(out["table"]["x"]) == [0, 1]
    assert out["model"] == {"k": 3} and out["info"] == [1, "a"]
    assert flow.Multi().outputLoadMeta() == {"rows": 6, "note": "meta"}
    targets = flow.Multi().output()
    assert {n: t.path.rsplit(".", 1)[1] for n, t in targets.items()} == {
        "df": "parquet", "table": "csv", "model": "pkl", "info": "json"}
    assert run(flow.Multi()).ran == []


def test_dask_dataframe_output_is_a_folder_of_partitions(backend, flow):
    run(flow.Events())
    frame = flow.Events().outputLoad()
    assert frame.npartitions == 3 and frame["x"].sum().compute() == sum(range(40))
    assert run(flow.Events()).ran == []
    parts = [f for f in backend.files() if "/Events/" in f and f.endswith(".parquet")]
    assert len(parts) == 3
    backend.fs.rm_file(parts[0])  # a lost partition makes the task stale
    assert daskflow.why(flow.Events())[flow.Events()].runs


def test_external_task_reads_and_republishing_makes_consumers_stale(backend, tmp_path):
    producer = load_module(tmp_path / "team_a", PRODUCER, "producer")
    consumer = load_module(tmp_path / "team_b", CONSUMER, "consumer")
    with pytest.raises(daskflow.MissingExternalError) as err:
        run(consumer.UsesRaw())
    assert "Raw/day=2024-01-01" in str(err.value)
    run(producer.Raw())
    daskflow.preview(consumer.UsesRaw())
    assert run(consumer.UsesRaw()).ran == [consumer.UsesRaw()]
    assert consumer.Raw().outputLoad()["a"].tolist() == [0, 1, 2]
    assert run(consumer.UsesRaw()).ran == []
    producer.Raw.rows = 5
    run(producer.Raw(), forced_all=True)
    report = daskflow.why(consumer.UsesRaw())
    assert [r.kind for r in report[consumer.UsesRaw()].reasons] == ["external-changed"]
    run(consumer.UsesRaw())
    assert consumer.UsesRaw().outputLoad() == {"rows": 5}


def test_invalidate_makes_tasks_stale(backend, flow):
    run(flow.Train())
    flow.Prep().invalidate()
    report = daskflow.why(flow.Train())
    assert report[flow.Prep()].runs and report[flow.Train()].runs and not report[flow.GetData()].runs
    run(flow.Train())
    daskflow.invalidate_downstream(flow.Prep(), flow.Train())
    report = daskflow.why(flow.Train())
    assert report[flow.Prep()].runs and report[flow.Train()].runs and not report[flow.GetData()].runs
    run(flow.Train())
    daskflow.invalidate_upstream(flow.Train())
    assert len(daskflow.why(flow.Train()).will_run) == 3
    result = run(flow.Train())
    assert len(result.ran) == 3


def test_failed_task_leaves_nothing_that_looks_fresh(backend, flow):
    with pytest.raises(daskflow.RunError) as err:
        run(flow.Broken())
    assert isinstance(err.value.__cause__, RuntimeError)
    files = [f for f in backend.files() if "/Broken/" in f]
    assert any(f.endswith(".a.pkl") for f in files)  # the outputs were written...
    assert not any("._commit." in f for f in files)  # ...but never committed
    assert not flow.Broken().complete()
    assert [r.kind for r in daskflow.why(flow.Broken())[flow.Broken()].reasons] == ["no-output"]


def test_another_process_commit_is_seen_at_once(backend, flow, tmp_path):
    if backend.kind == "memory":
        pytest.skip("memory:// lives in one process")
    assert not flow.Train().complete()  # a first listing (s3fs would cache it)
    module = Path(flow.__file__)
    script = (f"import sys; sys.path.insert(0, {str(module.parent)!r}); import daskflow, {module.stem} as f; "
              f"daskflow.set_root({backend.url!r}); "
              f"r = daskflow.run(f.Train(), scheduler='sync', progress=False); print(len(r.ran))")
    done = subprocess.run([sys.executable, "-c", script], env=backend.env(), capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("3")
    assert flow.Train().complete(), str(daskflow.why(flow.Train()))
    assert run(flow.Train()).ran == []
