"""daskflow.run on a dask.distributed cluster: a process-based LocalCluster.

One LocalCluster per session (see ``test_cluster_tasks``), a Client per test
(``distributed.utils_test`` fixtures hang beside a session cluster).  Storage
is a local folder the driver and the worker processes share.
"""

from __future__ import annotations

import os
import pickle
import sys
import textwrap

import pytest

distributed = pytest.importorskip("distributed")

import daskflow  # noqa: E402
from daskflow.graph import ClusterError  # noqa: E402
from daskflow.shipping import Shared, execute_shipped  # noqa: E402
from test_cluster_tasks import (AfterFails, AfterKill, Collect, Flaky, KillsWorker,  # noqa: E402
                                NeedsGPU, NeedsSlot, NeedsTwoSlots, Sleeps, WhereRan)


def _worker_pids(client) -> set:
    return set(client.run(os.getpid).values())


def test_bodies_run_in_worker_processes(client, root):
    result = daskflow.run(Collect(n=3), client=client, progress=False)
    assert len(result.ran) == 4
    records = Collect(n=3).outputLoad()
    pids = {r["pid"] for r in records}
    assert os.getpid() not in pids
    assert pids <= _worker_pids(client)
    assert [r["n"] for r in records] == [0, 1, 2, -1]


def test_second_run_skips_and_futures_are_released(client, root):
    first = daskflow.run(WhereRan(n=7), client=client, progress=False)
    assert first.ran == [WhereRan(n=7)]
    assert not [k for k in client.futures if str(k).startswith("WhereRan-")]
    path = WhereRan(n=7).output().path
    again = daskflow.run(WhereRan(n=7), client=client, progress=False)
    assert again.ran == [] and again.skipped == [WhereRan(n=7)]
    # the same key again: a fresh build, not the first run's result kept by the scheduler
    forced = daskflow.run(WhereRan(n=7), client=client, progress=False, forced_all=True)
    assert forced.ran == [WhereRan(n=7)]
    assert WhereRan(n=7).output().path != path


def test_failure_keeps_independent_branches(client, root):
    with pytest.raises(daskflow.RunError) as err:
        daskflow.run([AfterFails(), WhereRan(n=1)], client=client, progress=False)
    assert isinstance(err.value.__cause__, ValueError)
    assert "Fails(): ValueError: planned failure" in str(err.value)
    result = err.value.result
    assert result.ran == [WhereRan(n=1)]
    assert result.upstream_failed == [AfterFails()]
    assert WhereRan(n=1).complete()


def test_killed_worker_is_reported_by_task(client, root):
    with pytest.raises(daskflow.RunError) as err:
        daskflow.run([AfterKill(), WhereRan(n=2)], client=client, progress=False)
    failure, = err.value.failures
    assert failure.task == KillsWorker()
    assert type(failure.exception).__name__ == "KilledWorker"
    assert "KillsWorker(): KilledWorker" in str(err.value)
    assert "worker process running this task died" in str(err.value)
    assert err.value.result.upstream_failed == [AfterKill()]
    assert err.value.result.ran == [WhereRan(n=2)]


def test_missing_resource_is_an_error_before_submitting(client, root):
    with pytest.raises(ClusterError) as err:
        daskflow.run([NeedsGPU(), WhereRan(n=3)], client=client, progress=False)
    message = str(err.value)
    assert "NeedsGPU() needs resource GPU=1" in message
    assert "slot=1" in message  # what the workers do offer
    assert not WhereRan(n=3).complete()  # nothing was submitted
    with pytest.raises(ClusterError, match=r"NeedsTwoSlots\(\) needs resource slot=2"):
        daskflow.run(NeedsTwoSlots(), client=client, progress=False)


def test_resources_are_annotated_and_honoured(client, root):
    result = daskflow.run(NeedsSlot(), client=client, progress=False)
    assert result.ran == [NeedsSlot()]
    out = NeedsSlot().outputLoad()
    assert out["pid"] in _worker_pids(client)
    assert out["slot_free"] == 0


@pytest.fixture
def foreign_module(tmp_path):
    """A task module the driver imports from a folder the workers do not have on their path."""
    folder = tmp_path / "foreign"
    folder.mkdir()
    (folder / "foreign_tasks.py").write_text(textwrap.dedent("""
        import os
        import daskflow

        def helper(n):
            return n * 10

        class Foreign(daskflow.tasks.TaskJson):
            n = daskflow.IntParameter(default=1)
            def run(self):
                self.save({"value": helper(self.n), "pid": os.getpid()})
    """))
    sys.path.insert(0, str(folder))
    import foreign_tasks

    yield foreign_tasks
    sys.path.remove(str(folder))
    sys.modules.pop("foreign_tasks", None)


def test_unimportable_module_is_a_clear_error(client, root, foreign_module):
    with pytest.raises(ClusterError) as err:
        daskflow.run(foreign_module.Foreign(n=2), client=client, progress=False)
    message = str(err.value)
    assert "module 'foreign_tasks'" in message and "Foreign(n=2)" in message
    assert "ship_code=True" in message
    assert not foreign_module.Foreign(n=2).complete()


def test_ship_code_sends_modules_by_value(client, root, foreign_module):
    import cloudpickle

    result = daskflow.run(foreign_module.Foreign(n=2), client=client, progress=False, ship_code=True)
    assert result.ran == [foreign_module.Foreign(n=2)]
    out = foreign_module.Foreign(n=2).outputLoad()
    assert out["value"] == 20 and out["pid"] in _worker_pids(client)
    assert "foreign_tasks" not in cloudpickle.list_registry_pickle_by_value()  # registration undone


def test_worker_side_unpickling_failure_is_a_task_failure(foreign_module):
    """The safety net behind the import check: a spec a worker cannot load fails that task."""
    blob = pickle.dumps((foreign_module.Foreign(n=1), 0, []))
    shared = Shared(pickle.dumps(([], ["{}"], [])))
    sys.modules.pop("foreign_tasks")
    sys.path.remove(sys.path[0])
    try:
        outcome = execute_shipped(b"Foreign-abc", blob, shared, [])
    finally:
        sys.path.insert(0, os.path.dirname(foreign_module.__file__))
    assert outcome.status == "failed" and outcome.key == "Foreign-abc"
    assert "cannot import module 'foreign_tasks'" in str(outcome.error)


def test_progress_shows_families_and_counts(client, root, capsys):
    daskflow.run(Collect(n=2), client=client, progress=True)
    out = capsys.readouterr().out
    assert "daskflow on tcp://127.0.0.1:" in out
    for word in ("WhereRan", "Collect", "done", "running", "failed", "to do"):
        assert word in out
    rows = {line.split("│")[1].strip(): line for line in out.splitlines() if line.count("│") > 4}
    assert rows["WhereRan"].split("│")[2].strip() == "2"  # done
    assert rows["Collect"].split("│")[2].strip() == "1"


def test_scheduler_address_and_environment_variable(cluster, root, monkeypatch):
    result = daskflow.run(WhereRan(n=4), scheduler=cluster.scheduler_address, progress=False)
    assert result.ran == [WhereRan(n=4)]
    monkeypatch.setenv("DASKFLOW_SCHEDULER", cluster.scheduler_address)
    forced = daskflow.run(WhereRan(n=4), forced_all=True, progress=False)
    assert forced.ran == [WhereRan(n=4)]
    assert WhereRan(n=4).outputLoad()["pid"] != os.getpid()


def test_memory_root_on_worker_processes_is_refused(client, memroot):
    with pytest.raises(ClusterError, match="memory.*worker processes cannot see"):
        daskflow.run(WhereRan(n=5), client=client, progress=False)


def test_retries_happen_inside_the_node_on_a_worker(client, root, tmp_path):
    flag = str(tmp_path / "flaky-flag")
    result = daskflow.run(Flaky(flag=flag), client=client, progress=False)
    assert result.ran == [Flaky(flag=flag)]
    assert os.path.exists(flag)  # the first attempt ran and failed
    assert Flaky(flag=flag).outputLoad()["pid"] in _worker_pids(client)


def test_thirty_reruns_on_one_client_never_see_a_cancelled_future(client, root):
    """A rerun right after the previous run's release gets fresh keys, never its cancelled futures."""
    pids = set()
    for i in range(30):
        result = daskflow.run(Collect(n=2), client=client, progress=False,
                              forced_all_upstream=i % 3 != 2, forced_all=i % 3 == 2)
        assert result.ok
        assert len(result.ran) == (3 if i % 3 != 2 else 1)
        pids.add(Collect(n=2).outputLoad()[-1]["pid"])
    assert pids <= _worker_pids(client)
    assert not [k for k in client.futures if str(k).startswith(("WhereRan-", "Collect-"))]


def test_waiting_events_from_a_worker_reach_the_cluster_display(client, root, capsys):
    """The hook for code that waits (leases): daskflow.progress.waiting called inside a task."""
    import time

    from daskflow import progress
    from daskflow.cluster import _cluster_display
    from daskflow.plan import Plan

    nodes = Plan(Collect(n=1)).to_run()
    keys = {n.key: f"{n.key}-r1" for n in nodes}
    display = _cluster_display(client, nodes, keys)
    try:
        target = next(n for n in nodes if n.family == "Collect")
        on = client.submit(lambda: (progress.waiting(target.key, "bob@elsewhere", "Collect(n=1)"),
                                    os.getpid())[1], pure=False).result()
        assert on in _worker_pids(client)
        for _ in range(200):  # the event travels worker -> scheduler -> this client
            if display.waits:
                break
            time.sleep(0.05)
        assert display.waits == {keys[target.key]: ("bob@elsewhere", "Collect(n=1)")}
    finally:
        display.close()
    client.submit(progress.waiting, target.key, None, pure=False).result()
    assert "daskflow on tcp://127.0.0.1:" in capsys.readouterr().out


def _markers(root) -> dict:
    """Commit bodies under ``root`` by task repr: marker files, and journal lines of inline commits."""
    import glob
    import json

    found = {}
    for path in glob.glob(f"{root}/**/*_commit.*.json", recursive=True):
        with open(path) as fh:
            body = json.load(fh)
        found[body["task"]] = body
    for path in glob.glob(f"{root}/**/_explain.*.jsonl", recursive=True):
        with open(path) as fh:
            for line in fh:
                body = json.loads(line)
                found[body["task"]] = body
    return found


def test_shared_parts_travel_once_and_markers_stay_whole(client, root, tmp_path):
    """The code parts of a class are in the run's Shared value once, in no node, yet every
    marker a worker writes carries them, like a local run's marker."""
    from daskflow.plan import Plan, static_body
    from daskflow.shipping import shipped_graph

    plan = Plan(Collect(n=3))
    dsk, shared = shipped_graph(plan, lambda key: key, share=True)
    texts = {static_body(n)["code_parts"] for n in plan.to_run()}
    assert len(texts) == 2  # WhereRan's and Collect's
    for text in texts:
        assert text in shared.value()[1]
        assert not [k for k, node in dsk.items() if text.encode() in node[2]]
    assert len(shared.value()[0]) == 1  # one root for the four tasks

    assert daskflow.run(Collect(n=3), client=client, progress=False).ok
    on_cluster = _markers(root)
    daskflow.set_root(str(tmp_path / "local"))
    daskflow.run(Collect(n=3), scheduler="sync", progress=False)
    local = _markers(tmp_path / "local")
    assert sorted(on_cluster) == sorted(local) and len(local) == 4
    for name, body in local.items():
        assert on_cluster[name]["code_parts"] == body["code_parts"]
        assert [d["key"] for d in on_cluster[name]["deps"]] == [d["key"] for d in body["deps"]]
    results = {b["task"]: b["result"] for b in on_cluster.values()}
    assert [d["result"] for d in on_cluster["Collect(n=3)"]["deps"]] == [results[f"WhereRan(n={i})"]
                                                                         for i in range(3)]


def test_fresh_upstream_outcomes_reach_the_downstream_node(client, root):
    """Fresh upstream tasks are not nodes: their outcomes (in the Shared value) bind the inputs."""
    assert daskflow.run(Collect(n=2), client=client, progress=False).ok
    first = Collect(n=2).outputLoad()
    again = daskflow.run(Collect(n=2), client=client, progress=False, forced_all=True)
    assert again.ran == [Collect(n=2)] and sorted(map(repr, again.skipped)) == ["WhereRan(n=0)", "WhereRan(n=1)"]
    assert Collect(n=2).outputLoad()[:2] == first[:2]  # the same upstream builds, loaded on a worker


def test_outcomes_come_back_in_one_result_unless_a_worker_died(client, root, monkeypatch):
    """Without a display the driver waits for one node's result; per-future waiting is the
    fallback after a KilledWorker (test_killed_worker_is_reported_by_task checks its outcomes)."""
    calls = []
    real = distributed.as_completed

    def counting(*args, **kwargs):
        calls.append(len(args[0]))
        return real(*args, **kwargs)

    monkeypatch.setattr(distributed, "as_completed", counting)
    assert len(daskflow.run(Collect(n=4), client=client, progress=False).ran) == 5
    assert calls == []
    with pytest.raises(daskflow.RunError):
        daskflow.run([AfterKill(), WhereRan(n=9)], client=client, progress=False)
    assert calls == [3]  # KillsWorker, AfterKill, WhereRan(n=9): each future waited for and seen
    assert not [k for k in client.futures if str(k).startswith(("daskflow-", "WhereRan-", "Collect-"))]


def test_with_no_worker_yet_nothing_is_scattered_and_nodes_carry_it_all(client, root, monkeypatch):
    """An adaptive cluster scaled to zero gets its workers from the graph: a scatter first would wait."""
    import daskflow.cluster as cluster

    scattered = []
    monkeypatch.setattr(cluster, "_workers", lambda client: [])
    monkeypatch.setattr(type(client), "scatter", lambda self, *a, **k: scattered.append(a))
    assert len(daskflow.run(Collect(n=2), client=client, progress=False).ran) == 3
    assert scattered == []
    assert [r["n"] for r in Collect(n=2).outputLoad()] == [0, 1, -1]


def test_a_shared_value_not_on_every_worker_is_carried_by_each_node(client, root, monkeypatch):
    """A task depending on the run's scattered value may only run where it is: if a worker does
    not hold it (one not yet running when it was broadcast), every task would go to the other,
    and its death would take down independent branches.  The run then carries it in each node."""
    import distributed

    asked = []
    monkeypatch.setattr(distributed.Client, "who_has", lambda self, futures: asked.append(1) or {})
    result = daskflow.run([WhereRan(n=11), WhereRan(n=12)], client=client, progress=False)
    assert result.ran == [WhereRan(n=11), WhereRan(n=12)] and len(asked) == 2  # asked again after replicate
    assert not [k for k in client.futures if str(k).startswith("daskflow-shared-")]



@pytest.fixture
def cancels(client, monkeypatch) -> list:
    """The keys of each ``Client.cancel`` call (the real one is called)."""
    calls, real = [], type(client).cancel

    def counting(self, futures, *args, **kwargs):
        calls.append(sorted(str(f.key) for f in futures))
        return real(self, futures, *args, **kwargs)

    monkeypatch.setattr(type(client), "cancel", counting)
    return calls


def test_a_finished_run_releases_its_futures_without_cancelling_them(client, root, cancels):
    """Cancelling costs the scheduler about n * n steps for n keys; releasing, one per key."""
    result = daskflow.run(Collect(n=6), client=client, progress=False, forced_all_upstream=True)
    assert len(result.ran) == 7
    assert cancels == []
    assert not [k for k in client.futures if str(k).startswith(("daskflow-", "WhereRan-", "Collect-"))]


def test_an_interrupted_run_cancels_what_still_runs(client, root, cancels, monkeypatch):
    import daskflow.cluster as cluster

    real = cluster._collect

    def interrupted(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(cluster, "_collect", interrupted)  # Ctrl-C while waiting for the outcomes
    with pytest.raises(KeyboardInterrupt):
        daskflow.run(Sleeps(seconds=3.0), client=client, progress=False)  # still running when cancelled
    assert len(cancels) == 1 and any(k.startswith("Sleeps-") for k in cancels[0])  # still running
    assert not [k for k in client.futures if str(k).startswith(("daskflow-", "Sleeps-"))]
    monkeypatch.setattr(cluster, "_collect", real)
    assert daskflow.run(Sleeps(seconds=0.0), client=client, progress=False).ran == [Sleeps(seconds=0.0)]


def test_the_graph_is_named_by_the_run_not_tokenized(client, root, monkeypatch):
    """dask would tokenize every node's spec to name a plain graph; the run's token names it."""
    expr = pytest.importorskip("dask._expr")
    calls = []
    real = expr.Expr.__dask_tokenize__
    monkeypatch.setattr(expr.Expr, "__dask_tokenize__", lambda self: calls.append(type(self)) or real(self))
    assert len(daskflow.run(Collect(n=3), client=client, progress=False, forced_all_upstream=True).ran) == 4
    assert [c for c in calls if c.__name__ == "LLGExpr"] == []
