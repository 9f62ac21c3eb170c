"""Raw input files (daskflow.rawfiles): a PathParameter and the ExternalFile task, locally and
on a real S3 server: a changed file reruns its readers and says how, the old file finds the old
build, a missing one stops the run before anything executes, listings are batched."""

import os
import shutil
import time

import pytest

import daskflow
import servers
from daskflow.tasks import ExternalFile
from s3_fixtures import S3Root

CALLS = []


class ReadsParam(daskflow.tasks.TaskJson):
    src = daskflow.PathParameter()

    def run(self):
        CALLS.append("param")
        with open(self.src) as f:
            self.save({"lines": len(f.read().splitlines())})


class ReadsFile(daskflow.tasks.TaskJson):
    src = daskflow.Parameter()

    def requires(self):
        return ExternalFile(path=self.src)

    def run(self):
        CALLS.append("file")
        self.save({"bytes": len(self.input().load()), "path": self.input().path})


class ReadsFolder(daskflow.tasks.TaskJson):
    folder = daskflow.PathParameter()

    def run(self):
        CALLS.append("folder")
        self.save({"files": sorted(os.listdir(self.folder))})


def _ran(tasks):
    CALLS.clear()
    daskflow.run(tasks, scheduler="sync", progress=False)
    return sorted(CALLS)


def _write(path, text, mtime=None):
    path.write_text(text)
    if mtime is not None:
        os.utime(path, (mtime, mtime))


def test_changed_file_reruns_readers_says_how_and_the_old_file_finds_the_old_build(root, tmp_path):
    raw = tmp_path / "raw.csv"
    _write(raw, "a,b\n1,2\n", mtime=1_700_000_000)
    tasks = [ReadsParam(src=str(raw)), ReadsFile(src=str(raw))]
    assert _ran(tasks) == ["file", "param"]
    assert _ran(tasks) == []
    saved = tmp_path / "saved.csv"
    shutil.copy2(raw, saved)

    _write(raw, "a,b\n1,2\n3,4\n", mtime=1_700_003_600)
    report = daskflow.why(tasks)
    for task in tasks:
        (reason,) = report.reasons(task)
        assert reason.kind == "input-file-changed"
        assert reason.message.startswith(f"input file {raw} changed (size 8 B -> 12 B, modified ")
        assert " -> " in reason.message.split("modified ")[1]
    assert _ran(tasks) == ["file", "param"]
    assert ReadsParam(src=str(raw)).outputLoad() == {"lines": 3}

    shutil.copy2(saved, raw)  # the old file back, with its mtime: the old build is found
    assert _ran(tasks) == []
    assert ReadsParam(src=str(raw)).outputLoad() == {"lines": 2}
    assert ReadsFile(src=str(raw)).outputLoad()["path"] == str(raw)


def test_same_size_new_mtime_counts(root, tmp_path):
    raw = tmp_path / "raw.csv"
    _write(raw, "x\n1\n", mtime=1_700_000_000)
    assert _ran(ReadsParam(src=str(raw))) == ["param"]
    _write(raw, "x\n2\n", mtime=1_700_000_100)
    assert "modified" in daskflow.why(ReadsParam(src=str(raw))).reasons(ReadsParam(src=str(raw)))[0].message
    assert _ran(ReadsParam(src=str(raw))) == ["param"]


def test_folder_input_counts_every_file(root, tmp_path):
    folder = tmp_path / "drop"
    folder.mkdir()
    _write(folder / "a.csv", "1\n", mtime=1_700_000_000)
    task = ReadsFolder(folder=str(folder))
    assert _ran(task) == ["folder"] and _ran(task) == []
    _write(folder / "b.csv", "2\n", mtime=1_700_000_000)
    (reason,) = daskflow.why(task).reasons(task)
    assert reason.message.startswith(f"input folder {folder} changed (size 2 B -> 4 B, files 1 -> 2")
    assert _ran(task) == ["folder"]
    assert task.outputLoad() == {"files": ["a.csv", "b.csv"]}


def test_missing_file_stops_the_run_before_anything_executes(root, tmp_path):
    present = tmp_path / "present.csv"
    present.write_text("x\n")
    missing = tmp_path / "nope" / "missing.csv"
    with pytest.raises(daskflow.MissingExternalError, match=r"input file missing: .*nope/missing\.csv"):
        _ran([ReadsParam(src=str(present)), ReadsFile(src=str(missing))])
    assert CALLS == []


def test_relative_paths_are_relative_to_the_project_folder(root, tmp_path, monkeypatch):
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "raw.csv").write_text("x\n")
    (tmp_path / "notebooks").mkdir()
    monkeypatch.chdir(tmp_path / "notebooks")  # a notebook in a subfolder
    task = ReadsFile(src="data/raw.csv")
    assert _ran(task) == ["file"]
    assert task.outputLoad()["path"] == str(tmp_path / "data" / "raw.csv")
    daskflow.preview(task)


def test_path_parameter_refuses_what_is_not_a_path():
    with pytest.raises(daskflow.ParameterError, match=r"ReadsParam: parameter 'src' \(path\)"):
        ReadsParam(src=3)


def test_s3_inputs_are_one_listing_per_folder_and_an_etag_change_reruns(moto_s3, tmp_path):
    store = S3Root(moto_s3, "raw")
    try:
        for name in ("a.csv", "b.csv", "c.csv"):
            store.fs.pipe(f"{store.prefix}/in/{name}", b"x,y\n1,2\n")
        tasks = [ReadsFile(src=f"s3://{store.prefix}/in/{n}") for n in ("a.csv", "b.csv", "c.csv")]
        daskflow.set_root(f"s3://{store.prefix}/root", **store.options)
        assert _ran(tasks) == ["file"] * 3
        with servers.CountingProxy(moto_s3.endpoint) as proxy:
            options = dict(store.options, client_kwargs={"endpoint_url": proxy.endpoint})
            daskflow.set_root(f"s3://{store.prefix}/root", **options)
            proxy.reset()
            assert _ran(tasks) == []
            methods = [(m, p) for m, p in proxy.requests]
            assert all(m == "GET" and "list-type=2" in p for m, p in methods), methods
            listing_in = [p for m, p in methods if "prefix=raw" in p and "%2Fin" in p]
            assert len(listing_in) == 1, methods  # three files, one folder: one LIST
        daskflow.set_root(f"s3://{store.prefix}/root", **store.options)
        store.fs.pipe(f"{store.prefix}/in/b.csv", b"x,y\n9,9\n")  # same size, another ETag
        assert _ran(tasks) == ["file"]
    finally:
        store.cleanup()


def test_project_copied_elsewhere_with_another_hash_seed_stays_fresh(tmp_path):
    from test_freshness_cases import Project

    flow = '''\
import pandas as pd


class Clean(daskflow.tasks.TaskJson):
    src = daskflow.PathParameter(default="data/raw.csv")
    tags = daskflow.Parameter(default=frozenset({"a", "b", "c", "d"}))
    opts = daskflow.Parameter(default={"z": {1, 2, 3}, "a": ("x", "y")})

    def requires(self):
        return daskflow.tasks.ExternalFile(path="data/other.csv")

    def run(self):
        log("T")
        self.save({"rows": len(pd.read_csv(self.src)), "other": len(self.input().load())})


T = Clean
'''
    project = Project(tmp_path / "proj", flow, {})
    (project.folder / "data").mkdir()
    (project.folder / "data" / "raw.csv").write_text("a\n1\n2\n")
    (project.folder / "data" / "other.csv").write_text("b\n1\n")
    assert project.run("1")["bodies"] == ["T"]
    copy = tmp_path / "elsewhere" / "checkout"
    shutil.copytree(project.folder, copy)  # copy2: the files keep their mtimes
    project.folder = copy
    assert project.run("777")["bodies"] == []
    (copy / "data" / "raw.csv").write_text("a\n1\n2\n3\n")
    assert project.run("778")["bodies"] == ["T"]


def test_a_listing_error_is_reported_not_read_as_missing(root, tmp_path, monkeypatch):
    raw = tmp_path / "locked" / "raw.csv"
    raw.parent.mkdir()
    raw.write_text("x\n")
    from fsspec.implementations.local import LocalFileSystem

    def refuse(self, path, detail=True, **kwargs):
        raise PermissionError(13, "Permission denied", path)

    monkeypatch.setattr(LocalFileSystem, "ls", refuse)
    with pytest.raises(daskflow.StorageError, match=r"cannot list raw input folder .*locked .*PermissionError"):
        _ran(ReadsParam(src=str(raw)))
    assert CALLS == []
