"""Leases and the storage layer, in one process: the exclusive create on each backend,
waiting and its bounds, a holder that fails, gc and status of leases, durable commits,
load errors, and roots written in the old layout (a folder per build)."""

from __future__ import annotations

import json
import logging
import os
import pickle
import threading
import time

import pytest

import daskflow
from daskflow import lease as L
from daskflow.storage import Store
from flows import CALLS, GetData, Preprocess, Train
from s3_fixtures import S3Root


@pytest.fixture(params=["local", "moto", "seaweedfs"])
def any_store(request, tmp_path):
    if request.param == "local":
        yield Store(str(tmp_path / "store"), leases=True)
        return
    server = request.getfixturevalue("moto_s3" if request.param == "moto" else "s3_server")
    root = S3Root(server, "lease")
    yield Store(root.url, root.options)
    root.cleanup()


def test_exclusive_create_refuses_the_second_taker_on_every_backend(any_store):
    path = L.lease_path(any_store, "Fam", "p__1", "a" * 16, "b" * 16, 1)
    assert L._create(any_store, path, b'{"ttl": 60}') is True
    assert L._create(any_store, path, b'{"ttl": 60}') is False  # held: not an error
    assert any_store.list_leases("Fam")["p__1"][0][:3] == ("a" * 16, "b" * 16, 1)
    assert any_store.leases is True  # on by default for S3; set for the local root


def test_a_failing_create_is_a_storage_error_not_held(tmp_path, monkeypatch):
    store = Store(str(tmp_path / "store"), leases=True)

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(store, "_local_create", refuse)
    with pytest.raises(daskflow.StorageError, match="creating .*_lease.*Permission denied"):
        L._create(store, L.lease_path(store, "Fam", "p", "a" * 16, "b" * 16, 1), b"{}")


def test_a_lease_read_while_its_taker_writes_it_names_the_owner(tmp_path):
    # on disk a lease is created, then written: a reader in between sees an empty file
    store = Store(str(tmp_path / "store"), leases=True)
    path = L.lease_path(store, "Fam", "p", "a" * 16, "b" * 16, 1)
    os.makedirs(os.path.dirname(path))
    open(path, "wb").close()
    body = {"owner": {"host": "h", "pid": 7, "run": "r"}, "ttl": 60}
    writer = threading.Timer(0.05, lambda: open(path, "w").write(json.dumps(body)))
    writer.start()
    assert L.owner_text(L._read(store, path)) == "pid 7 on h (run r)"
    writer.join()
    open(path, "wb").close()  # a taker that died between create and write: unknown owner
    assert L._read(store, path, settle=0.05) == {}


def _hold(store, task, ttl=60.0, owner="pid 1 on elsewhere"):
    """A lease on ``task``'s version as another builder would hold it."""
    from daskflow.plan import Plan, inputs_id

    node = Plan(task, store).nodes[task]
    inputs = inputs_id(d.result for d in node.deps)  # as the executor names it
    path = L.lease_path(store, node.family, node.param_dir, node.version, inputs, 1)
    body = {"owner": {"host": "elsewhere", "pid": 1, "run": "r1"}, "ttl": ttl, "task": repr(task)}
    assert L._create(store, path, json.dumps(body).encode())
    return path


def test_waiting_is_bounded_and_names_the_owner(root, monkeypatch):
    daskflow.set_root(str(root), leases=True)
    monkeypatch.setenv("DASKFLOW_LEASE_WAIT", "0.5")
    _hold(Store(str(root), leases=True), GetData())
    with pytest.raises(daskflow.RunError) as err:
        daskflow.run(GetData(), scheduler="sync", progress=False)
    assert isinstance(err.value.__cause__, daskflow.LeaseError)
    assert "pid 1 on elsewhere" in str(err.value) and "GetData" in str(err.value)
    assert not list(root.rglob("*._commit.*"))


def test_a_holder_that_fails_releases_and_the_waiter_builds_and_says_so(root, caplog):
    daskflow.set_root(str(root), leases=True)
    path = _hold(Store(str(root), leases=True), GetData())
    threading.Timer(0.6, os.remove, [path]).start()  # the holder's build failed: no commit
    CALLS.clear()
    with caplog.at_level(logging.INFO, logger="daskflow"):
        result = daskflow.run(GetData(), scheduler="sync", progress=False)
    assert result.ran == [GetData()] and CALLS == {"GetData": 1}
    text = caplog.text
    assert "waiting for pid 1 on elsewhere" in text and "released its lease without committing" in text


def test_a_waiting_builder_tells_the_progress_display_whom_it_waits_for(root, monkeypatch):
    from daskflow import progress

    daskflow.set_root(str(root), leases=True)
    path = _hold(Store(str(root), leases=True), GetData())
    threading.Timer(0.6, os.remove, [path]).start()
    seen = []

    class Display:  # what daskflow.progress.Display receives from a waiting build
        def set_waiting(self, key, owner, task=None):
            seen.append((key.split("-")[0], owner, task))

    monkeypatch.setattr(progress, "_ACTIVE", [Display()])
    daskflow.run(GetData(), scheduler="sync", progress=False)
    family, owner, task = seen[0]
    assert family == "GetData" and owner.startswith("pid 1 on elsewhere") and task == repr(GetData())
    assert seen[-1] == ("GetData", None, None)  # the line goes once the wait is over


def test_expired_leases_show_in_status_and_gc_removes_them(root):
    from click.testing import CliRunner

    from daskflow.cli import main

    daskflow.set_root(str(root), leases=True)
    daskflow.run(Train(), scheduler="sync", progress=False)
    store = Store(str(root), leases=True)
    live = _hold(store, Train(model="gbm"))
    dead = _hold(store, Preprocess(do_preprocess=False), ttl=0.01)
    time.sleep(0.05)
    status = CliRunner().invoke(main, ["status", "--root", str(root), "--json"])
    assert status.exit_code == 0, status.output
    building = {r["path"]: r for r in json.loads(status.output)["building"]}
    assert building[live]["expired"] is False and building[live]["owner"].startswith("pid 1 on elsewhere")
    assert building[dead]["expired"] is True
    text = CliRunner().invoke(main, ["status", "--root", str(root)]).output
    assert "being built by pid 1 on elsewhere" in text and "EXPIRED lease" in text
    dry = daskflow.gc(store=store)
    assert dry.leases == [dead] and os.path.exists(dead)
    done = daskflow.gc(store=store, dry_run=False)
    assert done.leases == [dead] and not os.path.exists(dead) and os.path.exists(live)
    assert daskflow.run(Train(), scheduler="sync", progress=False).ran == []


def test_fsync_opt_in_syncs_outputs_and_folder_before_the_marker(tmp_path, monkeypatch):
    synced = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real(fd))[1])
    daskflow.set_root(str(tmp_path / "off"))
    daskflow.run(GetData(), scheduler="sync", progress=False)
    assert synced == []  # off by default
    daskflow.set_root(str(tmp_path / "on"), fsync=True)
    daskflow.run(GetData(), scheduler="sync", progress=False)
    assert len(synced) == 4  # the output, the marker's temp file, the folder before and after the rename
    monkeypatch.setenv("DASKFLOW_FSYNC", "on")
    assert Store(str(tmp_path / "x")).fsync is True


def test_a_corrupt_pickle_is_a_load_error_naming_task_output_and_path(root):
    daskflow.run(Train(), scheduler="sync", progress=False)
    path = Train().output().path
    stamp = os.stat(path).st_mtime
    with open(path, "r+b") as f:  # bit rot: same size and mtime, so the listing says intact
        f.write(b"\x00" * 8)
    os.utime(path, (stamp, stamp))
    with pytest.raises(daskflow.LoadError) as err:
        Train().outputLoad()
    message = str(err.value)
    assert "Train(" in message and "'data'" in message and path in message
    assert isinstance(err.value.__cause__, (pickle.UnpicklingError, EOFError, ValueError))


def test_a_truncated_parquet_is_a_load_error(root):
    daskflow.run(GetData(), scheduler="sync", progress=False)
    path = GetData().output().path
    size = os.path.getsize(path)
    stamp = os.stat(path).st_mtime
    with open(path, "r+b") as f:
        f.seek(size // 2)
        f.write(b"\x00" * (size - size // 2))  # torn in place, its size unchanged
    os.utime(path, (stamp, stamp))
    with pytest.raises(daskflow.LoadError, match="GetData.*cannot load output 'data' \\(parquet\\)") as err:
        GetData().outputLoad()
    assert err.value.__cause__ is not None


def test_a_truncated_output_is_stale_not_loaded(root):
    daskflow.run(GetData(), scheduler="sync", progress=False)
    path = GetData().output().path
    stamp = os.stat(path).st_mtime
    os.truncate(path, 10)  # a power loss before the data reached the disk
    os.utime(path, (stamp, stamp))
    assert daskflow.why(GetData())[GetData()].runs


def _to_old_layout(root):
    """Rewrite a root as daskflow before 0.4 wrote it: a folder per build, 4-field markers."""
    for i, marker in enumerate(sorted(root.rglob("*@*._commit.*.json"))):
        build, _, rest = marker.name.partition("._commit.")
        folder = marker.parent / f"{build.split('@')[0]}@20250101T000000.{i:06d}-0ld0"
        folder.mkdir()
        for f in marker.parent.glob(build + ".*"):
            if f != marker:
                f.rename(folder / f.name[len(build) + 1:])
        fields = rest.split(".")[:4]
        marker.rename(folder / ("_commit." + ".".join(fields) + ".json"))


def test_roots_with_marker_files_stay_fresh_and_new_builds_commit_inline_beside(root):
    daskflow.set_root(str(root), fsync=True)  # marker files, as every build before inline commits
    daskflow.run(Train(), scheduler="sync", progress=False)
    model = Train().outputLoad()
    markers = sorted(root.rglob("*@*._commit.*.json"))
    assert len(markers) == 3
    daskflow.set_root(str(root))
    CALLS.clear()
    assert daskflow.run(Train(), scheduler="sync", progress=False).ran == [] and not CALLS
    assert Train().outputLoad() == model
    daskflow.run(Train(), force=Preprocess(), scheduler="sync", progress=False)
    assert sorted(root.rglob("*@*._commit.*.json")) == markers  # the new builds have no marker file
    assert len(list(root.rglob("_explain.*.jsonl"))) == 2  # Preprocess's and Train's journals
    report = daskflow.gc(Train(), dry_run=False)
    assert len(report.removed) == 2 and len(list(root.rglob("*@*._commit.*.json"))) == 1
    assert daskflow.run(Train(), scheduler="sync", progress=False).ran == []


def test_roots_in_the_old_layout_load_and_count_as_fresh(root):
    daskflow.set_root(str(root), fsync=True)  # marker files to rewrite as the old layout did
    daskflow.run(Train(), scheduler="sync", progress=False)
    model = Train().outputLoad()
    _to_old_layout(root)
    assert not list(root.rglob("*@*._commit.*")) and len(list(root.rglob("*/_commit.*.json"))) == 3
    CALLS.clear()
    assert daskflow.run(Train(), scheduler="sync", progress=False).ran == [] and not CALLS
    assert Train().outputLoad() == model and Train().output().path.endswith("/data.pkl")
    daskflow.run(Train(), force=Preprocess(), scheduler="sync", progress=False)  # new builds beside
    assert len(list(root.rglob("*@*._commit.*"))) == 2
    report = daskflow.gc(Train(), dry_run=False)  # old folders of the rebuilt tasks go
    assert len(report.removed) == 2 and all("@20250101T000000." in p for p in report.removed)
    assert daskflow.run(Train(), scheduler="sync", progress=False).ran == []
