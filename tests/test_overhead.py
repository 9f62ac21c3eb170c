"""The per-task work daskflow does besides the user's, counted (never timed).

Counts are deterministic where times are not (speed is measured in
``benchmarks/``): hashes computed per task instance, root causes gathered per
node, and on a cluster the requests a run makes besides its tasks: one import
check per worker and module, one gather per run.
"""

from __future__ import annotations

import pytest

import daskflow
import daskflow.task as task_module
from daskflow.plan import Plan


class Link(daskflow.tasks.TaskPickle):
    i = daskflow.IntParameter()
    tag = daskflow.Parameter(default="x")

    def requires(self):
        return [Link(i=self.i - 1, tag=self.tag)] if self.i else []

    def run(self):
        self.save(self.i)


class Sink(daskflow.tasks.TaskPickle):
    n = daskflow.IntParameter()

    def requires(self):
        return {"left": [Link(i=k) for k in range(self.n)], "again": Link(i=0)}

    def run(self):
        self.save(len(self.input()["left"]))


@pytest.fixture
def hashes(monkeypatch):
    """How many times ``Task.__hash__`` computes a hash (the builtin it calls, counted)."""
    calls = []
    builtin = hash

    def counting(value):
        calls.append(value)
        return builtin(value)

    monkeypatch.setattr(task_module, "hash", counting, raising=False)
    return calls


def test_a_task_hashes_once(hashes):
    t = Link(i=3)
    assert {t: 1}[Link(i=3)] == 1
    assert len(hashes) == 2  # two instances, one hash each
    for _ in range(5):
        hash(t)
        assert t in {t}
    assert len(hashes) == 2
    assert hash(t) == hash(Link(i=3)) and t == Link(i=3) and t != Link(i=3, tag="y")


def test_a_plan_hashes_each_instance_once(root, hashes):
    instances = []
    original = Link.__init__

    def counting_init(self, *args, **kwargs):
        instances.append(self)
        original(self, *args, **kwargs)

    Link.__init__ = counting_init
    try:
        plan = Plan(Sink(n=40))
    finally:
        del Link.__init__
    assert len(plan.nodes) == 41
    # every instance made (the targets' and each requires() call's) is hashed at most once,
    # however many dict and set lookups the walk, the fingerprinting and the decision make
    assert len(hashes) <= len(instances) + 1  # + the Sink target


def test_root_causes_of_a_deep_chain_are_gathered_per_node(root):
    """A chain deeper than Python's recursion limit whose root changed: every task names it."""
    n = 1500
    plan = Plan(Link(i=n - 1))
    from daskflow.execute import execute, spec_for

    outcomes = {}
    for node in plan.nodes.values():  # the executor, task by task (no dask graph: quick)
        outcomes[node.key] = execute(spec_for(node, plan.store), [outcomes[d.key] for d in node.deps])
    assert {o.status for o in outcomes.values()} == {"ran"}
    Link(i=0).invalidate()
    plan = Plan(Link(i=n - 1))
    last = plan.nodes[Link(i=n - 1)]
    assert len(plan.to_run()) == n
    assert [c.task for c in last.root_causes()] == [Link(i=0)]
    assert last.reasons[-1].message == "upstream will run: Link(i=0, tag='x')"


class Leaf(daskflow.tasks.TaskPickle):
    i = daskflow.IntParameter()

    def run(self):
        self.save(self.i)


class Fan(daskflow.tasks.TaskPickle):
    def requires(self):
        return [Leaf(i=2), Leaf(i=0), Leaf(i=1), Leaf(i=0)]

    def run(self):
        self.save(0)


def test_causes_are_named_once_in_requires_order(root):
    daskflow.run(Fan(), scheduler="sync", progress=False)
    Leaf(i=0).invalidate()
    Leaf(i=2).invalidate()
    fan = Plan(Fan()).nodes[Fan()]
    assert [c.task for c in fan.root_causes()] == [Leaf(i=2), Leaf(i=0)]
    assert fan.reasons[-1].data["causes"] == ["Leaf(i=2)", "Leaf(i=0)"]


def test_marker_names_dependencies_by_key(root):
    daskflow.run(Sink(n=2), scheduler="sync", progress=False)
    plan = Plan(Sink(n=2))
    node = plan.nodes[Sink(n=2)]
    body = plan.store.read_body(node.commit)
    assert body["task"] == "Sink(n=2)"
    assert body["deps"] == [{"key": d.key, "result": d.result} for d in node.deps]


# -- on a cluster ---------------------------------------------------------------------------
distributed = pytest.importorskip("distributed")


def _counting(monkeypatch, obj, name: str) -> list:
    calls = []
    original = getattr(obj, name)

    def counted(*args, **kwargs):
        calls.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(obj, name, counted)
    return calls


def test_imports_are_checked_once_per_worker_and_module(client, root, monkeypatch):
    from test_cluster_tasks import WhereRan

    runs = _counting(monkeypatch, client, "run")
    daskflow.run(WhereRan(n=101), client=client, progress=False)
    first = len(runs)
    assert first == 1  # one question to the workers: can you import test_cluster_tasks?
    daskflow.run(WhereRan(n=102), client=client, progress=False)
    daskflow.run(WhereRan(n=103), force=WhereRan(n=103), client=client, progress=False)
    assert len(runs) == first  # the same workers, the same module: not asked again


def test_outcomes_are_gathered_in_one_request(client, root, monkeypatch):
    from test_cluster_tasks import Collect

    import distributed

    gathers = _counting(monkeypatch, client, "gather")
    results = []
    real = distributed.Future.result

    def result_of(fut, *args, **kwargs):
        results.append(real(fut, *args, **kwargs))
        return results[-1]

    monkeypatch.setattr(distributed.Future, "result", result_of)
    result = daskflow.run(Collect(n=5), client=client, progress=False)
    assert len(result.ran) == 6
    # one node hands back the six outcomes: one result, no per-future gather
    assert gathers == [] and len(results) == 1 and len(results[0]) == 6


class Wide(daskflow.tasks.TaskPickle):
    i = daskflow.IntParameter()
    name = daskflow.Parameter(default="a b")  # a base Parameter: its value is kept as given
    cols = daskflow.ListParameter(default=["x"])

    def run(self):
        self.save(self.i)


class WideFan(daskflow.tasks.TaskPickle):
    n = daskflow.IntParameter()

    def requires(self):
        return [Wide(i=k, name=f"v {k % 3}") for k in range(self.n)]

    def run(self):
        self.save(self.n)


def test_per_task_work_done_once_per_class_is_not_repeated_per_task(root, monkeypatch):
    """Parameter checks a base Parameter does not need, the storage root of tasks without a
    ``path``, the raw-input scan of classes without PathParameters and the slug text of plain
    values are decided once per class, not per task: counted while planning 60 tasks."""
    import daskflow.plan as plan_module
    from daskflow.params import ListParameter, Parameter

    calls = {"check": 0, "own_store": 0, "raw_inputs": 0, "serialize": 0, "list_serialize": 0}

    def counter(name, fn):
        def counting(*args, **kwargs):
            calls[name] += 1
            return fn(*args, **kwargs)
        return counting

    monkeypatch.setattr(Parameter, "check", counter("check", Parameter.check))
    monkeypatch.setattr(ListParameter, "serialize", counter("list_serialize", ListParameter.serialize))
    monkeypatch.setattr(Parameter, "serialize", counter("serialize", Parameter.serialize))
    monkeypatch.setattr(plan_module, "own_store", counter("own_store", plan_module.own_store))
    monkeypatch.setattr(plan_module, "raw_inputs", counter("raw_inputs", plan_module.raw_inputs))
    Wide._collect(), WideFan._collect()  # the classes' per-class tables, with the counted methods
    calls.update(dict.fromkeys(calls, 0))  # (defining a class checks its defaults, once)
    try:
        plan = Plan(WideFan(n=60))
        assert len(plan.nodes) == 61 and len(plan.to_run()) == 61
        # a value of the type a parameter keeps as given (an int for IntParameter) is not checked,
        # nor any value of a base Parameter; a slug is written once per task for the list, never for
        # plain values
        assert calls["check"] == 0
        assert Wide(i="4", cols=("x",)) == Wide(i=4) and calls["check"] == 2  # text and a tuple: checked
        assert calls["serialize"] == 0 and calls["list_serialize"] == 60
        assert calls["own_store"] == 1  # the targets' root, once per plan: no task has a path
        assert calls["raw_inputs"] == 0
        node = plan.nodes[Wide(i=4, name="v 1")]
        assert node.param_dir.startswith('i=4,name=v_1,cols=__x____')  # cols=["x"], made safe
        assert node.store is plan.store
    finally:
        monkeypatch.undo()
        Wide._collect(), WideFan._collect()


def test_the_local_graph_is_dasks_own_task_objects(root):
    from dask._task_spec import Task as DaskTask, TaskRef

    from daskflow.graph import build_graph

    daskflow.run(Link(i=0), scheduler="sync", progress=False)  # Link(i=0) fresh: a known outcome
    graph = build_graph(Plan(Link(i=2)))
    assert len(graph) == 2 and all(isinstance(node, DaskTask) for node in graph.values())
    by_i = {node.args[0].task.i: node for node in graph.values()}  # execute(spec, [upstream])
    (second,), (third,) = (by_i[i].args[1] for i in (1, 2))
    assert not isinstance(second, TaskRef) and second.status == "fresh"  # Link(i=0): its outcome
    assert isinstance(third, TaskRef) and third.key in graph  # Link(i=1): runs, by its key
