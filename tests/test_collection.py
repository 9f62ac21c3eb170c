"""daskflow.delayed(task): a workflow as a dask collection (sync, threads, a process-based cluster)."""

from __future__ import annotations

import os

import dask
import pandas as pd
import pytest
from dask.utils import key_split

import daskflow
from flows import CALLS, GetData, Leaf, Preprocess, Split, Sum, Train


@pytest.fixture(autouse=True)
def _reset_calls(root):
    CALLS.clear()


@pytest.fixture(params=["sync", "threads"])
def local(request):
    """dask's own scheduler setting: what dask.compute (and so the collection) uses."""
    with dask.config.set(scheduler=request.param):
        yield request.param


def test_compute_builds_what_is_stale_and_returns_the_output(local):
    value, = dask.compute(daskflow.delayed(Train()))
    assert value == Train().outputLoad() and value["rows"] == 10
    assert CALLS == {"GetData": 1, "Preprocess": 1, "Train": 1}
    again = daskflow.delayed(Train())
    assert again.compute() == value
    assert CALLS == {"GetData": 1, "Preprocess": 1, "Train": 1}  # all fresh: nothing ran
    assert list(dict(again.__dask_graph__())) == [again.key]  # no task nodes, only the gathering one


class CollCache(daskflow.tasks.TaskCache):
    def run(self):
        CALLS["CollCache"] = CALLS.get("CollCache", 0) + 1
        self.save({"v": 1})


class CollUses(daskflow.tasks.TaskPickle):
    def requires(self):
        return CollCache()

    def run(self):
        self.save(self.inputLoad()["v"] + 1)


class CollFolds(daskflow.tasks.TaskJson):
    def run(self):
        self.save([1, 2, 3])


class CollFold(daskflow.tasks.TaskPickle):
    fold = daskflow.IntParameter()

    def run(self):
        self.save(self.fold * 10)


class CollScores(daskflow.tasks.TaskJson):
    def requires(self):
        return daskflow.map(CollFold, over=CollFolds(), param="fold")

    def run(self):
        self.save(self.inputLoad())


def test_a_cache_task_yields_its_value_not_its_upstream(local):
    assert dask.compute(daskflow.delayed(CollCache()))[0] == {"v": 1}
    assert dask.compute(daskflow.delayed([CollCache(), CollUses()]))[0] == [{"v": 1}, 2]


def test_a_raw_input_file_yields_its_bytes(local, tmp_path):
    src = tmp_path / "raw.csv"
    src.write_text("x\n1\n")
    raw = daskflow.tasks.ExternalFile(path=str(src))
    assert dask.compute(daskflow.delayed(raw))[0] == raw.outputLoad() == b"x\n1\n"


def test_dynamic_branches_are_built_in_stages_then_computed(local):
    assert dask.compute(daskflow.delayed(CollScores()))[0] == [10, 20, 30]
    assert dask.delayed(sum)(daskflow.delayed(CollScores())).compute() == 60  # now all fresh


def test_only_stale_tasks_are_nodes_keyed_by_family_and_fingerprint(local):
    daskflow.run(GetData(), scheduler="sync")
    CALLS.clear()
    flow = daskflow.delayed(Train())
    graph = dict(flow.__dask_graph__())
    plan_keys = {n.task: n.key for n in flow.plan.nodes.values()}
    stale = sorted(k for k in graph if k != flow.key)
    assert [key_split(k) for k in stale] == ["Preprocess", "Train"]  # what the dashboard shows
    assert {k.rsplit("-", 1)[0] for k in stale} == {plan_keys[Preprocess()], plan_keys[Train()]}
    assert not [k for k in graph if k.startswith("GetData-")]  # fresh: not a node
    # what dask.visualize draws: the same keys in the graph dask builds from the collection
    drawn = dict(dask.base.collections_to_expr([flow]).__dask_graph__())
    assert set(stale) <= set(drawn)
    assert flow.compute()["rows"] == 10 and CALLS == {"Preprocess": 1, "Train": 1}


def _evaluate(model, test):
    return {"model": model["model"], "rows": model["rows"], "test_rows": len(test)}


def test_composes_with_hand_written_dask_delayed(local):
    test_df = pd.DataFrame({"x": [1, 2, 3]})
    out = dask.delayed(_evaluate)(daskflow.delayed(Train()), test_df).compute()
    assert out == {"model": "ols", "rows": 10, "test_rows": 3}
    assert Train().complete()


def test_several_flows_and_an_array_in_one_graph_share_upstream_tasks(local):
    import dask.array as da

    model, (train, test), total = dask.compute(daskflow.delayed(Train()), daskflow.delayed(Split()),
                                               da.arange(5, chunks=2).sum())
    assert model["rows"] == 10 and len(train) == 6 and len(test) == 4 and total == 10
    assert CALLS == {"GetData": 1, "Preprocess": 1, "Train": 1, "Split": 1}  # GetData built once
    many = daskflow.delayed([Train(model="a"), Train(model="b")]).compute()
    assert [m["model"] for m in many] == ["a", "b"]


def test_a_failure_raises_run_error_and_independent_branches_finish(local):
    with pytest.raises(daskflow.RunError) as err:
        dask.compute(daskflow.delayed([Sum(upto=5), Leaf(i=10)]))
    assert isinstance(err.value.__cause__, ValueError)
    assert "Leaf(i=3): ValueError: leaf 3 is broken" in str(err.value)
    assert Leaf(i=10).complete() and Leaf(i=4).complete() and not Sum(upto=5).complete()


def test_force_and_run_share_the_graph(local):
    daskflow.run(Train(), scheduler="sync")
    CALLS.clear()
    flow = daskflow.delayed(Train(), force=Preprocess())
    assert flow.compute()["rows"] == 10
    assert CALLS == {"Preprocess": 1, "Train": 1}
    assert "1 to run" not in repr(flow) and "2 to run" in repr(flow)


def test_persist_then_compute_locally(local):
    persisted, = dask.persist(daskflow.delayed(Train()))
    assert CALLS["Train"] == 1
    assert dask.compute(persisted)[0]["rows"] == 10
    assert CALLS["Train"] == 1


def test_without_distributed_imported_specs_are_not_shipped(tmp_path):
    """No Client can exist before distributed is imported: the graph holds the specs themselves."""
    import subprocess
    import sys

    script = tmp_path / "plain.py"
    script.write_text(
        "import sys, dask, daskflow\n"
        f"sys.path.insert(0, {os.path.dirname(__file__)!r})\n"
        "from flows import Train\n"
        f"daskflow.set_root({str(tmp_path / 'store')!r})\n"
        "flow = daskflow.delayed(Train())\n"
        "nodes = dict(flow.__dask_graph__()).values()  # legacy tuples or dask's task objects\n"
        "fns = {(v[0] if isinstance(v, tuple) else v.func).__name__ for v in nodes if hasattr(v, 'func') or isinstance(v, tuple)}\n"
        "before = 'distributed' in sys.modules\n"
        "print(sorted(fns), dask.compute(flow)[0]['rows'], before)\n")
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(daskflow.__file__)))
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("] ")[1].split() == ["10", "False"]
    assert out.stdout.startswith("['_collect', 'execute']")


# -- on a process-based cluster ------------------------------------------------------------------
distributed = pytest.importorskip("distributed")
from test_cluster_tasks import Collect, WhereRan  # noqa: E402


def _workers(client) -> set:
    return set(client.run(os.getpid).values())


def _where(records):
    return {"pids": sorted({r["pid"] for r in records}), "loaded_in": os.getpid()}


def test_dask_compute_uses_the_default_client(client, root):
    records, = dask.compute(daskflow.delayed(Collect(n=2)))
    assert records == Collect(n=2).outputLoad()
    assert {r["pid"] for r in records} <= _workers(client)
    where = dask.delayed(_where)(daskflow.delayed(Collect(n=2))).compute()
    assert where["loaded_in"] in _workers(client)  # the output was loaded on a worker, not here


def test_client_compute_and_persist_return_futures(client, root):
    future = client.compute(daskflow.delayed(WhereRan(n=20)))
    assert isinstance(future, distributed.Future)
    assert future.result()["pid"] in _workers(client)
    persisted = client.persist(daskflow.delayed([WhereRan(n=21), Collect(n=2)]))
    assert distributed.futures_of(persisted)
    prefixes = client.run_on_scheduler(lambda dask_scheduler: sorted(dask_scheduler.task_prefixes))
    assert {"WhereRan", "Collect"} <= set(prefixes)  # what the dashboard groups by: the family
    assert dask.compute(persisted)[0] == [WhereRan(n=21).outputLoad(), Collect(n=2).outputLoad()]


def test_several_flows_and_an_array_in_one_graph_on_the_cluster(client, root):
    import dask.array as da

    flows = daskflow.delayed(Collect(n=2)), daskflow.delayed(Collect(n=3))
    one, two, total = dask.compute(*flows, da.arange(5, chunks=2).sum())
    assert total == 10 and [r["n"] for r in one] == [0, 1, -1] and [r["n"] for r in two] == [0, 1, 2, -1]
    shared = [{k for k in dict(f.__dask_graph__()) if k.startswith("WhereRan-")} for f in flows]
    assert len(shared[0] & shared[1]) == 2  # WhereRan(n=0) and (n=1): one key each, built once
    assert one[:2] == two[:2]
    assert {r["pid"] for r in one + two} <= _workers(client)


def test_forced_rebuilds_through_collections_on_one_client(client, root):
    paths = set()
    for _ in range(10):
        assert daskflow.delayed(WhereRan(n=22), forced_all=True).compute()["n"] == 22
        paths.add(WhereRan(n=22).output().path)
    assert len(paths) == 10  # each a new build, none served from the cluster's memory


def test_specs_are_shipped_only_while_a_client_is_open(cluster, root):
    def functions(flow):  # of legacy tuples or dask's task objects
        nodes = dict(flow.__dask_graph__()).values()
        return {(v[0] if isinstance(v, tuple) else v.func).__name__ for v in nodes
                if isinstance(v, tuple) or hasattr(v, "func")}

    assert functions(daskflow.delayed(Train())) == {"execute", "_collect"}
    with distributed.Client(cluster, set_as_default=False) as c:  # not the default: still shipped
        flow = daskflow.delayed(Train())
        assert functions(flow) == {"execute_shipped", "_collect"}
        assert c.compute(flow).result()["rows"] == 10
    assert functions(daskflow.delayed(Train(model="b"))) == {"execute", "_collect"}
