"""luigi tasks upstream of daskflow tasks, as d6tflow projects write them: a
``luigi.ExternalTask`` or a plain ``luigi.Task`` whose output is a ``LocalTarget``."""

from __future__ import annotations

import os

import luigi
import pytest

import daskflow
import daskflow as d6tflow

BUILT: list = []


class RawFile(luigi.ExternalTask):
    name = luigi.Parameter(default="raw.txt")

    def output(self):
        return luigi.LocalTarget(self.name)


class MakeText(luigi.Task):
    n = luigi.IntParameter(default=2)

    def output(self):
        return luigi.LocalTarget(f"text_{self.n}.txt")

    def run(self):
        BUILT.append(self.n)
        with self.output().open("w") as fh:
            fh.write("x" * self.n)


class Load(d6tflow.tasks.TaskPickle):
    def requires(self):
        return {"raw": RawFile(), "text": MakeText(n=3)}

    def run(self):
        with self.input()["raw"].open("r") as fh:  # the luigi target itself
            raw = fh.read()
        self.save((raw, len(open(self.input()["text"].path).read())))


class Twice(luigi.ExternalTask):
    def output(self):
        return [luigi.LocalTarget("a"), luigi.LocalTarget("b")]


class BadUp(d6tflow.tasks.TaskPickle):
    def requires(self):
        return Twice()

    def run(self):
        self.save(1)


@pytest.fixture
def here(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    daskflow.set_root(str(tmp_path / "store"))
    BUILT.clear()
    return tmp_path


def test_luigi_tasks_upstream_are_inputs_and_luigi_builds_the_missing_ones(here):
    (here / "raw.txt").write_text("alpha")
    result = daskflow.run(Load(), progress=False)
    assert BUILT == [3]  # luigi built MakeText first, as d6tflow's luigi.build does
    assert [repr(t) for t in result.ran] == ["Load()"]
    assert Load().outputLoad() == ("alpha", 3)
    assert daskflow.run(Load(), progress=False).ran == [] and BUILT == [3]
    (here / "raw.txt").write_text("beta!")  # an input file like any other: an edit reruns
    assert [repr(t) for t in daskflow.run(Load(), progress=False).ran] == ["Load()"]
    assert Load().outputLoad() == ("beta!", 3)


def test_a_missing_luigi_external_file_is_an_error_naming_it(here):
    with pytest.raises(daskflow.MissingExternalError, match="raw.txt"):
        daskflow.run(Load(), progress=False)
    assert not os.path.exists(here / "store" / "Load")


def test_a_luigi_task_with_other_outputs_is_refused_with_the_way_out(here):
    with pytest.raises(daskflow.TaskDefinitionError, match="one luigi.LocalTarget.*ExternalFile"):
        daskflow.run(BadUp(), progress=False)
