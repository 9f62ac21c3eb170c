"""A local family folder's names are parsed once while the folder is unchanged
(``daskflow.localscan``), and nothing a plan must see is missed because of it: an output
edited in place, a build added or removed, a folder changed during its scan's clock tick,
a folder output, a file gone while its folder's times stayed."""

import os
import time

import pytest

import daskflow
from daskflow import localscan
from daskflow.plan import Plan


class Part(daskflow.tasks.TaskPickle):
    i = daskflow.IntParameter()

    def run(self):
        self.save({"i": self.i})


class Total(daskflow.tasks.TaskPickle):
    def requires(self):
        return [Part(i=i) for i in range(3)]

    def run(self):
        self.save(sum(d["i"] for d in self.inputLoad()))


class Frame(daskflow.tasks.TaskPqDask):
    def run(self):
        import dask.dataframe as dd
        import pandas as pd

        self.save(dd.from_pandas(pd.DataFrame({"x": [1, 2, 3]}), npartitions=2))


@pytest.fixture
def kept(monkeypatch):
    """Folders are kept as soon as they are scanned (no racy margin), and scandir calls counted
    by folder.  Each test first moves its folders' times into the past, so any later change
    to a folder moves them again."""
    monkeypatch.setattr(localscan, "RACY", 0.0)
    localscan.forget()
    calls: list[str] = []
    real = os.scandir

    def counting(path="."):  # a folder is read through its descriptor where the platform can
        calls.append(os.readlink(f"/proc/self/fd/{path}") if isinstance(path, int) else os.fspath(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", counting)
    yield calls
    localscan.forget()


def _age(folder) -> None:
    past = time.time() - 100
    os.utime(folder, (past, past))


def _built(root):
    daskflow.run(Total(), progress=False)
    for family in ("Part", "Total"):
        _age(root / family)


def test_an_unchanged_folder_is_listed_by_one_stat_of_each_file(root, kept):
    _built(root)
    assert not Plan(Total()).to_run()  # scanned and kept
    kept.clear()
    plan = Plan(Total())
    assert not plan.to_run()
    assert not [p for p in kept if p.startswith(str(root))]
    assert len(plan.nodes[Part(i=0)].commits) == 1


def test_an_output_edited_in_place_in_a_kept_folder_is_seen(root, kept):
    _built(root)
    plan = Plan(Total())
    assert not plan.to_run()
    output = plan.nodes[Part(i=1)].commit.file("data.pkl")
    with open(output, "r+b") as f:  # same size, new bytes, a later time: the folder's names stay
        data = f.read()
        f.seek(0)
        f.write(data[:-1] + bytes([data[-1] ^ 1]))
    later = time.time() + 5
    os.utime(output, (later, later))
    kept.clear()
    plan = Plan(Total())
    assert not [p for p in kept if p.startswith(str(root / "Part"))]  # still the kept names
    assert [n.task for n in plan.to_run()] == [Part(i=1), Total()]
    assert "modified" in plan.nodes[Part(i=1)].reasons[0].message


def test_a_build_added_or_removed_changes_the_folder_and_is_seen(root, kept):
    _built(root)
    assert not Plan(Total()).to_run()
    daskflow.run(Part(i=7), progress=False)  # another build in the folder
    kept.clear()
    plan = Plan([Total(), Part(i=7)])
    assert not plan.to_run()
    assert str(root / "Part") in kept  # the folder changed: listed again
    _age(root / "Part")
    Plan(Total())  # kept again
    Part(i=2).invalidate(confirm=False)  # removes its build
    plan = Plan(Total())
    assert [n.task for n in plan.to_run()] == [Part(i=2), Total()]


def test_a_folder_changed_within_the_racy_margin_is_not_kept(root, monkeypatch):
    localscan.forget()
    daskflow.run(Total(), progress=False)  # the folders changed just now
    monkeypatch.setattr(localscan, "RACY", 3600.0)
    assert not Plan(Total()).to_run()
    assert str(root / "Part") not in localscan._NAMES
    _age(root / "Part")
    monkeypatch.setattr(localscan, "RACY", 0.0)
    Plan(Total())
    assert str(root / "Part") in localscan._NAMES
    localscan.forget()


def test_a_folder_with_a_folder_output_is_listed_every_time(root, kept):
    daskflow.run(Frame(), progress=False)
    _age(root / "Frame")
    assert not Plan(Frame()).to_run()
    kept.clear()
    assert not Plan(Frame()).to_run()
    assert kept.count(str(root / "Frame")) == 1  # listed once, not kept
    assert str(root / "Frame") not in localscan._NAMES


def test_a_file_gone_while_the_folders_times_stayed_is_listed_again(root, kept):
    _built(root)
    plan = Plan(Total())
    folder = str(root / "Part")
    os.remove(plan.nodes[Part(i=0)].commit.file("data.pkl"))
    signature, names, made = localscan._NAMES[folder]
    # what a coarse clock could do: the folder's times as they were when it was kept
    localscan._NAMES[folder] = (localscan._signature(os.stat(folder)), names, made)
    kept.clear()
    plan = Plan(Total())
    assert folder in kept
    assert [n.task for n in plan.to_run()] == [Part(i=0), Total()]


def test_an_unchanged_folder_gives_the_commits_of_its_last_scan(root, kept):
    _built(root)
    Plan(Total())  # its names kept
    first = Plan(Total())
    second = Plan(Total())
    assert not second.to_run()
    assert second.nodes[Part(i=0)].commits is first.nodes[Part(i=0)].commits  # made once
    assert second._listings is not first._listings
    # and found intact once: the commit remembers the outputs it was checked for
    assert second.nodes[Part(i=0)].commit.intact_for is Part._output_files() == ("data.pkl",)


def test_an_output_edited_in_place_gives_new_commits_and_is_seen(root, kept):
    _built(root)
    Plan(Total())
    first = Plan(Total())
    output = first.nodes[Part(i=2)].commit.file("data.pkl")
    with open(output, "ab") as f:  # one more byte: a new size, the folder's names stay
        f.write(b"x")
    plan = Plan(Total())
    assert plan.nodes[Part(i=0)].commits is not first.nodes[Part(i=0)].commits
    assert [n.task for n in plan.to_run()] == [Part(i=2), Total()]
    assert "size" in plan.nodes[Part(i=2)].reasons[0].message or "modified" in plan.nodes[Part(i=2)].reasons[0].message


def test_without_dir_fd_the_files_are_stat_by_path(root, kept, monkeypatch):
    """A platform without ``dir_fd`` (Windows): the folder and its files by their paths."""
    monkeypatch.setattr(localscan, "_BY_FD", False)
    _built(root)
    kept.clear()
    assert not Plan(Total()).to_run()
    assert str(root / "Part") in kept  # listed by its path
    output = Plan(Total()).nodes[Part(i=1)].commit.file("data.pkl")
    later = time.time() + 5
    with open(output, "ab") as f:
        f.write(b"x")
    os.utime(output, (later, later))
    assert [n.task for n in Plan(Total()).to_run()] == [Part(i=1), Total()]


def test_a_folder_removed_drops_what_was_kept_of_it(root, kept):
    _built(root)
    Plan(Total())
    folder = str(root / "Part")
    assert folder in localscan._NAMES
    import shutil

    shutil.rmtree(root)
    assert [n.task for n in Plan(Total()).to_run()] == [Part(i=0), Part(i=1), Part(i=2), Total()]
    assert folder not in localscan._NAMES
