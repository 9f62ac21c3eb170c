"""gc: old versions stay (reverting is free) until gc removes them; dry run removes nothing."""

import os
import time

import daskflow
from daskflow.listing import inline_fields
from flows import CALLS, GetData, Preprocess, Train


def builds(root):
    """Committed builds: by their marker file, or by the output that commits them inline."""
    out = [str(p).partition("._commit.")[0] for p in root.rglob("*@*._commit.*.json")]
    for p in root.rglob("*@*"):
        build, _, name = p.name.partition("@")[2].partition(".")
        if inline_fields(build) and not name.startswith("_") and "/" not in str(p)[len(str(root)) + 1:].partition("/")[2]:
            out.append(build_of(str(p)))
    return sorted(out)


def build_of(path):
    """The build a file belongs to: ``{family}/{params}@{build}`` (no dot in a build id)."""
    return path[:path.index(".", path.rindex("@"))]


def test_gc_removes_what_no_current_version_uses(root):
    daskflow.run(Train(), scheduler="sync")
    daskflow.run(Train(), force=Preprocess(), scheduler="sync")  # a second build of Preprocess, Train
    daskflow.run(Train(model="gbm"), scheduler="sync")  # another parameter set: not in scope below
    before = builds(root)
    assert len(before) == 6
    dry = daskflow.gc(Train(), dry_run=True)
    assert len(dry.removed) == 2 and dry.bytes > 0 and builds(root) == before
    current = {build_of(Train().output().path), build_of(Preprocess().output().path)}
    assert not current & set(dry.removed)
    done = daskflow.gc(Train(), dry_run=False)
    assert done.removed == dry.removed and len(builds(root)) == 4
    CALLS.clear()
    assert daskflow.run([Train(), Train(model="gbm")], scheduler="sync").ran == []


def test_gc_without_tasks_removes_only_old_uncommitted_folders(root):
    daskflow.run(GetData(), scheduler="sync")
    orphan = root / "GetData" / "n=10__x@20200101T000000.000000-dead"
    orphan.mkdir(parents=True)
    (orphan / "data.parquet").write_bytes(b"partial")
    young = root / "GetData" / "n=10__x@20990101T000000.000000-beef"
    young.mkdir()
    (young / "data.parquet").write_bytes(b"in progress")
    old = time.time() - 7200
    os.utime(orphan / "data.parquet", (old, old))
    report = daskflow.gc(dry_run=False)
    assert report.removed == [str(orphan)] and not orphan.exists() and young.exists()
    assert GetData().complete()


def test_gc_of_a_task_with_its_own_root_collects_that_root_only(root, tmp_path):
    other = str(tmp_path / "other")
    daskflow.run(GetData(), scheduler="sync", progress=False)
    daskflow.run(GetData(path=other), scheduler="sync", progress=False)
    daskflow.run(GetData(path=other), scheduler="sync", progress=False, forced_all=True)
    before = sorted(p.name for p in (tmp_path / "other" / "GetData").iterdir())
    report = daskflow.gc(GetData(path=other), dry_run=False)
    assert len(report.removed) == 1 and all(p.startswith(other) for p in report.removed)
    assert GetData().complete() and GetData(path=other).complete()  # the main root's build stays
    after = sorted(p.name for p in (tmp_path / "other" / "GetData").iterdir())
    assert len(after) < len(before)


def test_a_task_with_its_own_root_follows_the_lease_setting_in_force(root, tmp_path):
    from daskflow.taskdef import own_store

    other = str(tmp_path / "other")
    assert own_store([GetData(path=other)]).leases is False
    daskflow.set_root(str(root), leases=True)
    assert own_store([GetData(path=other)]).leases is True


class Journaled(daskflow.tasks.TaskJson):
    def run(self):
        self.save({"at": time.time()})


def test_gc_removes_a_journal_once_every_build_it_explains_is_gone(root, monkeypatch):
    from daskflow import journal

    monkeypatch.setattr(journal, "_WRITER", ["aaaaaaaa"])  # one process's builds...
    daskflow.run(Journaled(), scheduler="sync")
    monkeypatch.setattr(journal, "_WRITER", ["bbbbbbbb"])  # ...then another's, which supersede them
    daskflow.run(Journaled(), forced_all=True, scheduler="sync")
    first, second = (root / "Journaled" / "_explain.aaaaaaaa.jsonl"), (root / "Journaled" / "_explain.bbbbbbbb.jsonl")
    assert first.exists() and second.exists()
    report = daskflow.gc(Journaled(), dry_run=False)
    assert len(report.removed) == 1 and report.journals == [] and first.exists()  # written just now
    old = time.time() - 7200
    for path in (first, second):
        os.utime(path, (old, old))
    dry = daskflow.gc(Journaled(), dry_run=True)
    assert dry.journals == [str(first)] and first.exists()
    done = daskflow.gc(Journaled(), dry_run=False)
    assert done.journals == [str(first)] and not first.exists() and second.exists()  # it explains the build kept
    plan = daskflow.plan.Plan(Journaled(), explain=True)
    assert plan.to_run() == [] and plan.store.read_body(plan.nodes[Journaled()].commit)["result"]
