"""luigi tasks upstream of daskflow tasks, as d6tflow projects write them: a
``luigi.ExternalTask`` or a plain ``luigi.Task`` whose output is a ``LocalTarget``."""

from __future__ import annotations

import os

import luigi
import pytest

import daskflow
from daskflow.taskdef import param_dir
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


def test_luigi_config_sections_give_parameter_defaults_as_luigi_reads_them(here):
    config = luigi.configuration.get_config()
    config.add_section("Conf")
    config.set("Conf", "n", "7")
    config.set("Conf", "tags", '["a", "b"]')
    try:
        class Conf(d6tflow.tasks.TaskPickle):
            n = luigi.IntParameter(default=1)
            tags = luigi.ListParameter(default=[])
            other = d6tflow.IntParameter(default=2)

            def run(self):
                self.save((self.n, self.tags, self.other))

        assert (Conf().n, Conf().tags, Conf().other) == (7, ("a", "b"), 2)
        assert Conf() == Conf(n=7) != Conf(n=1)  # the value counts: another task, another build
        daskflow.run(Conf(), progress=False)
        assert Conf().outputLoad() == (7, ("a", "b"), 2)
    finally:
        config.remove_section("Conf")


def test_from_str_params_and_parse_read_luigi_text(here):
    class Typed(d6tflow.tasks.TaskPickle):
        n = luigi.IntParameter(default=1)
        xs = luigi.ListParameter(default=[])
        on = luigi.BoolParameter(default=True)

    t = Typed.from_str_params({"n": "4", "xs": "[1, 2]", "on": "False"})
    assert (t.n, t.xs, t.on) == (4, (1, 2), False)
    assert Typed.from_str_params(t.to_str_params()) == t
    assert Typed.n.parse("5") == 5
    with pytest.raises(daskflow.TaskDefinitionError, match="no parameter.*m; valid parameters: n"):
        Typed.from_str_params({"m": "1"})


def test_luigi_util_requires_and_inherits_on_task_classes(here):
    from luigi.util import inherits, requires

    class A(d6tflow.tasks.TaskPickle):
        p = luigi.IntParameter(default=1)

        def run(self):
            self.save(self.p)

    @requires(A)  # luigi's own decorator sets A's parameters on B after B is defined
    class B(d6tflow.tasks.TaskPickle):
        def run(self):
            self.save(self.inputLoad() + 1)

    @inherits(A)
    class C(d6tflow.tasks.TaskPickle):
        def requires(self):
            return self.clone(A)

        def run(self):
            self.save(self.inputLoad() + 2)

    daskflow.run([B(p=3), C(p=3)], progress=False)
    assert (B(p=3).outputLoad(), C(p=3).outputLoad(), B().p) == (4, 5, 1)
    assert B(p=3) != B(p=4) and B.get_param_names() == ["p"]


def test_inherited_parameters_come_first_as_in_luigi_and_the_identity_keeps_its_order(here):
    from luigi.util import requires

    def make(base):
        class A(base):
            x = luigi.IntParameter(default=1)
            y = luigi.Parameter(default="a")

            def run(self):
                self.save(self.x)

        @requires(A)
        class B(base):
            z = luigi.IntParameter(default=3)

            def run(self):
                self.save(self.z)

        return A, B

    _, LB = make(luigi.Task)
    A, B = make(d6tflow.tasks.TaskPickle)

    @d6tflow.requires(A)  # daskflow's own decorator: the same order
    class C(d6tflow.tasks.TaskPickle):
        z = luigi.IntParameter(default=3)

    assert B.get_param_names() == LB.get_param_names() == C.get_param_names() == ["x", "y", "z"]
    assert B(5).x == LB(5).x == C(5).x == 5  # positional arguments bind as luigi binds them
    assert B(5).to_str_params() == LB(5).to_str_params() and B(5).task_id == LB(5).task_id
    assert list(B(5).to_str_params()) == ["x", "y", "z"]
    # repr and the identity (folder, hash) keep the declaration order: earlier builds stay fresh
    assert repr(B(5)) == "B(z=3, x=5, y='a')" and param_dir(B(5)).startswith("z=3,x=5,y=a__")


def test_task_namespace_is_part_of_the_family_and_its_folder(here):
    def make(ns, value):
        class B(d6tflow.tasks.TaskPickle):
            task_namespace = ns

            def run(self):
                self.save(value)
        return B

    one, two = make("ns1", 1), make("ns2", 2)
    assert one.get_task_family() == "ns1.B" and one().task_family == "ns1.B" and one() != two()
    daskflow.run([one(), two()], progress=False)
    assert (one().outputLoad(), two().outputLoad()) == (1, 2)
    assert sorted(p.name for p in (here / "store").iterdir()) == ["ns1.B", "ns2.B"]


def test_a_luigi_cfg_section_sets_that_class_s_default_only(here):
    config = luigi.configuration.get_config()
    config.add_section("CfgParent")
    config.set("CfgParent", "n", "7")
    try:
        class CfgParent(d6tflow.tasks.TaskPickle):
            n = luigi.IntParameter(default=1)

        class CfgChild(CfgParent):
            pass

        assert (CfgParent().n, CfgChild().n) == (7, 1)  # luigi reads [TaskFamily] of the class itself
    finally:
        config.remove_section("CfgParent")


def test_luigi_cfg_counts_in_a_project_that_never_imports_luigi(tmp_path):
    import subprocess
    import sys

    (tmp_path / "luigi.cfg").write_text("[Conf]\nn = 7\n")
    script = ("import daskflow as d6tflow\n\nclass Conf(d6tflow.tasks.TaskPickle):\n"
              "    n = d6tflow.IntParameter(default=1)\n\nprint(Conf().n)\n")
    out = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "7"  # as d6tflow, which always imports luigi, reads it


def test_a_luigi_task_upstream_crosses_to_another_process_with_its_target(here):
    import pickle

    from daskflow.rawfiles import LuigiInput, _adapt

    (here / "raw.txt").write_text("alpha")
    dep = pickle.loads(pickle.dumps(_adapt(RawFile())))
    assert isinstance(dep, LuigiInput) and dep.output().path == "raw.txt"
    result = daskflow.run(Load(), scheduler="processes", workers=1, progress=False, abort=False)
    assert result.failed == [] and Load().outputLoad() == ("alpha", 3)


def test_from_str_params_sees_parameters_inherited_after_the_class(here):
    from luigi.util import inherits

    class Parent(d6tflow.tasks.TaskPickle):
        n = luigi.IntParameter(default=1)

    @inherits(Parent)
    class Child(d6tflow.tasks.TaskPickle):  # no instance made yet
        def run(self):
            self.save(self.n)

    assert Child.from_str_params({"n": "3"}) == Child(n=3)
