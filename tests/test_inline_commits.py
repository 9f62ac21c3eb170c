"""Inline commits (one file output on local disk, its own commit marker): the edge cases.

An output edited in place after its commit, a second save() replacing a held-back
first, a target taken before save(), a kernel that refuses to link an unnamed file,
a family folder removed during a build, invalidate() of an inline build, a journal
line torn by a process that went on writing.
"""

import errno
import os
import shutil

import pytest

import daskflow
from daskflow import context, localfs
from daskflow.listing import parse_listing, scan_local
from daskflow.plan import Plan

STATE: dict = {}


class Source(daskflow.tasks.TaskJson):
    value = daskflow.IntParameter(default=1)

    def run(self):
        self.save({"v": self.value})


class Down(daskflow.tasks.TaskJson):
    def requires(self):
        return SavesTwice()

    def run(self):
        self.save({"got": self.inputLoad()})


class SavesTwice(daskflow.tasks.TaskPickle):
    def run(self):
        self.save({"draft": True})
        self.save({"final": STATE.get("final", "x")})


class TargetFirst(daskflow.tasks.TaskJson):
    def run(self):
        target = self.output()  # taken before the output exists
        self.save({"rows": 3})
        STATE["on disk"] = os.path.exists(target.path)
        STATE["loaded"] = target.load()


class RemovesItsFolder(daskflow.tasks.TaskJson):
    def run(self):
        self.save({"v": 1})
        shutil.rmtree(STATE["folder"])  # by hand, while the build is under way


@pytest.fixture(autouse=True)
def _state():
    STATE.clear()


def _output(root, family="Source"):
    (path,) = [p for p in (root / family).iterdir() if p.name.endswith((".data.json", ".data.pkl"))]
    return path


def test_an_output_edited_in_place_keeping_its_size_is_modified(root, commit_kind):
    daskflow.run(Source(), scheduler="sync")
    path = _output(root)
    st = path.stat()
    path.write_text(path.read_text().replace("1", "7"))  # the same size
    later = st.st_mtime_ns + 10_000_000  # an edit 10 ms after the commit, whatever the clock's grain
    os.utime(path, ns=(later, later))
    assert path.stat().st_size == st.st_size
    (reason,) = daskflow.why(Source())[Source()].reasons
    assert reason.kind == "output-modified" and "data.json modified" in reason.message
    folder = str(root / "Source")  # the general grouping (fsspec listings, lease claims) agrees
    (commit,) = [c for cs in parse_listing(folder, scan_local(folder)).values() for c in cs]
    assert commit.intact(["data.json"]) == "data.json modified"
    assert daskflow.run(Source(), scheduler="sync").ran == [Source()]
    assert Source().outputLoad() == {"v": 1}


class Two(daskflow.tasks.TaskPickle):  # two outputs: a marker file commits them
    persist = ["a", "b"]

    def run(self):
        self.save({"a": 1, "b": 2})


def test_a_root_copied_without_its_times_stays_fresh_and_an_edit_in_it_is_seen(root, commit_kind, tmp_path):
    daskflow.run([Source(), Down(), Two()], scheduler="sync")
    copy = tmp_path / "copy"
    shutil.copytree(root, copy, copy_function=shutil.copy)  # cp -r: new times (a git checkout too)
    later = os.stat(_output(root)).st_mtime_ns + 10_000_000
    for path in copy.rglob("*"):
        os.utime(path, ns=(later, later))
    daskflow.set_root(str(copy), fsync=commit_kind == "marker")
    assert Plan([Source(), Down(), Two()]).to_run() == []  # the bytes are the committed ones
    assert Two().outputLoad() == [1, 2]
    path = _output(copy)
    path.write_text(path.read_text().replace("1", "7"))  # the same size, other bytes
    os.utime(path, ns=(later + 10_000_000, later + 10_000_000))  # after the copy, whatever the clock's grain
    (reason,) = daskflow.why(Source())[Source()].reasons
    assert reason.kind == "output-modified" and "data.json modified" in reason.message


def test_an_inline_output_left_alone_stays_fresh_and_names_its_own_time(root):
    daskflow.run(Source(), scheduler="sync")
    path = _output(root)
    build = path.name.split("@")[1].split(".")[0]
    assert int(build.rsplit("_", 1)[1]) * 1000 >= path.stat().st_mtime_ns  # its own time, rounded up
    assert Plan(Source()).to_run() == []


def test_a_second_save_replaces_a_held_back_first(root, monkeypatch):
    monkeypatch.setattr(context, "INLINE_MAX", 200)  # the second output is larger: written at once
    STATE["final"] = "x" * 300
    daskflow.run(Down(), scheduler="sync")
    assert SavesTwice().outputLoad() == {"final": "x" * 300}
    assert Down().outputLoad() == {"got": {"final": "x" * 300}}
    assert daskflow.run(Down(), scheduler="sync").ran == []
    STATE["final"] = "y"  # both small: both held back, the second wins
    daskflow.run(SavesTwice(), forced_all=True, scheduler="sync")
    assert SavesTwice().outputLoad() == {"final": "y"}


class TwoSavedTwice(daskflow.tasks.TaskPickle):
    persist = ["a", "b"]

    def run(self):
        self.save({"a": "draft", "b": "draft"})
        self.save({"a": 1, "b": STATE.get("b", 2)})


def test_a_second_save_replaces_the_first_in_a_build_with_a_marker(root, commit_kind):
    daskflow.run([Down(), TwoSavedTwice()], scheduler="sync")  # a marker commit (fsync, or two outputs)
    assert SavesTwice().outputLoad() == {"final": "x"} and TwoSavedTwice().outputLoad() == [1, 2]
    assert Plan([Down(), TwoSavedTwice()]).to_run() == []


def test_a_target_taken_before_save_is_on_disk_after_it(root):
    daskflow.run(TargetFirst(), scheduler="sync")
    assert STATE["on disk"] is True and STATE["loaded"] == {"rows": 3}
    assert TargetFirst().outputLoad() == {"rows": 3}
    assert daskflow.run(TargetFirst(), scheduler="sync").ran == []


def test_a_refused_link_falls_back_to_a_named_file_under_the_same_build_id(root, monkeypatch):
    if not localfs._unnamed_ok[0]:
        pytest.skip("this filesystem has no O_TMPFILE: the fallback is the only path")
    monkeypatch.setattr(localfs, "_unnamed_ok", [True])
    refused = []
    real = os.link

    def link(src, dst, *args, **kwargs):  # a sandbox whose /proc has no magic links
        if str(src).startswith("/proc/self/fd/"):
            refused.append(dst)
            raise OSError(errno.ENOENT, "No such file or directory", src)
        return real(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "link", link)
    daskflow.run(Source(), scheduler="sync")
    assert len(refused) == 1 and localfs._unnamed_ok == [False]  # later builds skip O_TMPFILE
    names = sorted(p.name for p in (root / "Source").iterdir())
    assert len(names) == 2 and names[0].startswith("_explain.") and str(_output(root)) == refused[0]
    assert not [n for n in names if ".tmp-" in n]
    plan = Plan(Source(), explain=True)
    assert plan.to_run() == [] and plan.store.read_body(plan.nodes[Source()].commit)["result"]
    daskflow.run(Source(value=2), scheduler="sync")
    assert len(refused) == 1 and Source(value=2).outputLoad() == {"v": 2}


def test_a_family_folder_removed_during_a_build_is_made_again(root):
    STATE["folder"] = str(root / "RemovesItsFolder")
    daskflow.run(RemovesItsFolder(), scheduler="sync")
    assert RemovesItsFolder().outputLoad() == {"v": 1}
    assert Plan(RemovesItsFolder()).to_run() == []


def test_invalidating_an_inline_build_says_no_output_not_modified(root):
    daskflow.run(Source(), scheduler="sync")
    Source().invalidate()
    assert [r.kind for r in daskflow.why(Source())[Source()].reasons] == ["no-output"]
    daskflow.run(Source(), scheduler="sync")
    _output(root).unlink()  # deleted by hand: that is said
    (reason,) = daskflow.why(Source())[Source()].reasons
    assert reason.message == "output data.json missing since it was committed"


def test_a_torn_journal_line_does_not_hide_the_next(root):
    daskflow.run(Source(), scheduler="sync")
    (journal,) = (root / "Source").glob("_explain.*.jsonl")
    journal.write_bytes(journal.read_bytes()[:-30])  # cut short, in a process that goes on
    daskflow.run(Source(value=2), scheduler="sync")
    plan = Plan([Source(), Source(value=2)], explain=True)
    body = plan.store.read_body(plan.nodes[Source(value=2)].commit)
    assert body["result"] == plan.nodes[Source(value=2)].commit.result
    with pytest.raises(FileNotFoundError, match="holds no line"):
        plan.store.read_body(plan.nodes[Source()].commit)
    reasons = daskflow.why(Source(value=3))[Source(value=3)].reasons
    assert [r.message for r in reasons][1] == "parameter value changed: 2 -> 3 (given)"
