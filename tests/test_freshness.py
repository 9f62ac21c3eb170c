"""Freshness within one process: chaining, the sibling hole, early cutoff, incomplete fingerprints."""

import warnings

import pytest

import daskflow

STATE = {"value": 1, "calls": []}


class Source(daskflow.tasks.TaskJson):
    def run(self):
        STATE["calls"].append("Source")
        self.save({"v": STATE["value"]})


class Left(daskflow.tasks.TaskJson):
    def requires(self):
        return Source()

    def run(self):
        STATE["calls"].append("Left")
        self.save({"left": self.inputLoad()["v"]})


class Right(daskflow.tasks.TaskJson):
    def requires(self):
        return Source()

    def run(self):
        STATE["calls"].append("Right")
        self.save({"right": self.inputLoad()["v"]})


@pytest.fixture(autouse=True)
def _state(root):
    STATE.update(value=1, calls=[])


def test_sibling_built_on_an_old_upstream_result_is_stale():
    daskflow.run([Left(), Right()], scheduler="sync")
    STATE["value"] = 2
    daskflow.run(Left(), force=Source(), scheduler="sync")  # Right is not part of this run
    report = daskflow.why(Right())
    (reason,) = report[Right()].reasons
    assert reason.kind == "upstream" and "Source() was rebuilt with a different result" in reason.message
    STATE["calls"].clear()
    daskflow.run(Right(), scheduler="sync")
    assert STATE["calls"] == ["Right"] and Right().outputLoad() == {"right": 2}


def test_forced_rebuild_with_identical_result_keeps_siblings_fresh():
    daskflow.run([Left(), Right()], scheduler="sync")
    daskflow.run(Left(), force=Source(), scheduler="sync")  # same value: same result
    assert Right().complete()


def test_early_cutoff_in_process():
    daskflow.run(Left(), scheduler="sync")
    Source().invalidate()
    STATE["calls"].clear()
    result = daskflow.run(Left(), scheduler="sync")
    assert STATE["calls"] == ["Source"] and result.cutoff == [Left()]
    assert result.skipped == [Left()] and result.ran == [Source()]


def test_incomplete_fingerprint_is_reported_not_ignored():
    class Dynamic(daskflow.tasks.TaskJson):
        def run(self):
            self.save({"n": getattr(STATE, "get" + "")("value")})

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        report = daskflow.why(Dynamic())
    kinds = [r.kind for r in report[Dynamic()].reasons]
    assert kinds == ["no-output", "incomplete-fingerprint"]
    assert "getattr() with a computed name" in report[Dynamic()].reasons[1].message
    assert any("incomplete" in str(w.message) and "Dynamic" in str(w.message) for w in caught)
    daskflow.run(Dynamic(), scheduler="sync")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert "fingerprint incomplete" in str(daskflow.why(Dynamic()))


def _commit_of(root, kind):
    """The one file that commits Source's build: its marker, or its output committed inline."""
    (path,) = root.glob("Source/*._commit.*.json" if kind == "marker" else "Source/*@*.data.json")
    return path


def test_foreign_marker_is_stale_with_a_warning(root, commit_kind):
    daskflow.run(Source(), scheduler="sync")
    marker = _commit_of(root, commit_kind)
    if commit_kind == "marker":
        marker.rename(marker.with_name(marker.name.partition("._commit.")[0] + "._commit.not.a.marker.json"))
    else:  # an id as long as an inline one, whose fields are not hex
        cut = marker.name.index("_", marker.name.index("@"))
        marker.rename(marker.with_name(marker.name[:cut + 1] + "z" * 16 + marker.name[cut + 17:]))
    with pytest.warns(UserWarning, match="corrupt or foreign commit marker"):
        assert daskflow.why(Source())[Source()].runs


def test_marker_with_an_unfinished_body_still_names_a_complete_build(root, commit_kind):
    # A crash while the body is written (a marker's one write, or a journal's line) leaves it
    # cut short: the build was complete before its name committed it; freshness reads only names.
    daskflow.run(Source(), scheduler="sync")
    if commit_kind == "marker":
        _commit_of(root, commit_kind).write_bytes(b"")
    else:
        (journal,) = root.rglob("Source/_explain.*.jsonl")
        journal.write_bytes(journal.read_bytes()[:40])
    assert not daskflow.why(Source())[Source()].runs
    assert daskflow.run(Source(), scheduler="sync").ran == []
    assert Source().output().load() is not None


def test_an_inline_commit_is_one_file_and_its_journal_explains_it(root):
    daskflow.run(Source(), scheduler="sync")
    files = sorted((p.name for p in (root / "Source").iterdir()), key=lambda n: "_explain." not in n)
    assert len(files) == 2 and files[0].startswith("_explain.") and files[1].endswith(".data.json")
    plan = daskflow.plan.Plan(Source(), explain=True)
    commit = plan.nodes[Source()].commit
    assert commit.inline and commit.marker == str(root / "Source" / files[1])
    body = plan.store.read_body(commit)
    assert body["outputs"]["data"]["file"] == "data.json" and body["result"] == commit.result
    (root / "Source" / files[0]).unlink()  # no journal: still fresh, only the details are gone
    assert daskflow.run(Source(), scheduler="sync").ran == []


def test_forked_processes_write_their_own_journals(root):
    import multiprocessing

    from daskflow import journal

    parent = journal.writer()
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(1) as pool:
        child = pool.apply(journal.writer)
    assert len(child) == len(parent) == 8 and child != parent and journal.writer() == parent


class SavesThenReads(daskflow.tasks.TaskPickle):
    def run(self):
        self.save({"n": 1})
        STATE["read back"] = self.output().load()  # its own output, inside run(): on disk at once


class WithMeta(daskflow.tasks.TaskPickle):
    def run(self):
        self.save([1, 2])
        self.saveMeta({"rows": 2})


class ReadsMeta(daskflow.tasks.TaskJson):
    def requires(self):
        return WithMeta()

    def run(self):
        self.save({"meta": self.metaLoad(), "data": self.inputLoad()})


def test_run_reading_its_own_output_commits_with_a_marker(root):
    daskflow.run(SavesThenReads(), scheduler="sync")
    assert STATE.pop("read back") == {"n": 1}
    names = [p.name for p in (root / "SavesThenReads").iterdir()]
    assert sum("._commit." in n for n in names) == 1 and not any("_explain." in n for n in names)
    assert daskflow.run(SavesThenReads(), scheduler="sync").ran == []


def test_meta_saved_after_the_output_joins_an_inline_build(root):
    daskflow.run(ReadsMeta(), scheduler="sync")
    names = sorted(p.name for p in (root / "WithMeta").iterdir() if "_explain." not in p.name)
    assert len(names) == 2 and names[0].endswith("._meta.json") and names[1].endswith(".data.pkl")
    assert names[0].partition(".")[0] == names[1].partition(".")[0]  # one build id, the inline one
    assert ReadsMeta().outputLoad() == {"meta": {"rows": 2}, "data": [1, 2]}
    assert WithMeta().outputLoadMeta() == {"rows": 2}
    assert daskflow.run(ReadsMeta(), scheduler="sync").ran == []


def test_a_large_output_is_written_at_once_and_committed_by_a_marker(root, monkeypatch):
    from daskflow import context

    monkeypatch.setattr(context, "INLINE_MAX", 2)  # bytes: Source's JSON is larger
    daskflow.run(Source(), scheduler="sync")
    names = [p.name for p in (root / "Source").iterdir()]
    assert len(names) == 2 and sum("._commit." in n for n in names) == 1
    assert daskflow.run(Source(), scheduler="sync").ran == [] and Source().output().load() == {"v": STATE["value"]}
