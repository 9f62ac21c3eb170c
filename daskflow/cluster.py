"""Running a plan's graph on a dask.distributed cluster, and the keys of a run.

Imports ``errors``, ``execute`` (Outcome), ``plan``, ``progress``, ``shipping`` and
``storage``; ``daskflow.graph`` hands it the plans it runs on a cluster.

On a dask.distributed cluster (``client=``, ``scheduler="tcp://..."``):

- every spec travels as cloudpickle bytes, unpickled inside the node, and
  what the nodes share (roots, each class's code parts, fresh upstream
  outcomes) is scattered to every worker once per run (see
  :mod:`daskflow.shipping`): the scheduler never needs the user's modules, and a worker that cannot import
  them reports it as that task's failure instead of hanging;
- before submitting, the workers are asked whether they can import the task
  classes' modules, once per worker and module for a client (``ship_code=True``
  sends them by value instead) and
  whether some worker offers each task's ``resources``; either problem is a
  :class:`ClusterError` naming the task, and nothing is submitted;
- without a progress display one more node, ``daskflow-outcomes-<run>``,
  hands back every outcome: the driver waits for that one future and gathers
  one result (with a display, outcomes are gathered as they complete).  Every
  task's future is held all the same, so independent branches finish: when a
  task's worker died (``KilledWorker``) that node errs, the driver waits for
  every future and sees each, the task is a failed task and its downstream
  tasks are "not run"; every future is released after the run;
- each run's keys carry a token of their own, ``Family-<fingerprint>-<run>``
  (:func:`run_token`): a rerun never meets the previous run's keys while the
  scheduler is still forgetting them.

Cluster-level ``retries`` are not used: ``execute`` already retries a failing
``run()`` inside the node (nodes never raise, so dask's retries would never
fire), and a node whose worker dies is rescheduled by the scheduler up to
``distributed.scheduler.allowed-failures`` times.
"""

from __future__ import annotations

import contextlib
import time

from .errors import ClusterError, TaskDefinitionError
from .execute import Outcome
from .plan import Plan
from .progress import TOPIC, Display, enabled
from .shipping import check_imports, shipped_graph, shipping, with_shared

__all__ = ["run_cluster", "run_token", "graph_key", "check_expanded"]


def check_expanded(plan: Plan) -> None:
    early = [repr(n.task) for n in plan.dynamic if n.task in plan.nodes]  # see daskflow.stages
    if early:
        raise TaskDefinitionError(f"{', '.join(early)} cannot be built before expanding: run the "
                                  f"plan in stages (daskflow.stages.run_in_stages, as daskflow.run does)")


def run_token() -> str:
    """A fresh token naming one run (or one collection) on a cluster.

    A cluster remembers a key until every client has released it, and a
    release is asynchronous: a rerun that submitted the same keys right after
    cancelling the previous run's futures could receive the scheduler's late
    "cancelled" report for them (``FutureCancelledError ... reason: unknown``).
    A token per run makes each run's keys its own.  It is a name, not a hash:
    what a task's build depends on is in its fingerprint.
    """
    import secrets

    return secrets.token_hex(4)


def graph_key(key: str, run: str | None) -> str:
    """The graph key of the plan key ``Family-<fingerprint>`` in run ``run``.

    ``Family-<fingerprint>-<run>``: dask's ``key_split`` (the dashboard, the
    progress bar) still reads ``Family``.
    """
    return key if run is None else f"{key}-{run}"



def run_cluster(client, plan: Plan, progress, ship_code) -> dict:
    """Check, scatter what the nodes share, submit, gather, release; return outcomes by key."""
    nodes = plan.to_run()
    check_expanded(plan)
    _check_store(client, plan.store)
    _check_resources(client, nodes)
    token = run_token()  # this run's keys are its own: see run_token
    keys = {n.key: graph_key(n.key, token) for n in nodes}
    show = enabled(progress)
    held = []
    try:
        with shipping(nodes, ship_code) as shipped:
            workers = _workers(client)
            check_imports(client, nodes, shipped, workers)
            # what every node shares goes to every worker once, before the graph: scattered, not a
            # graph key (a key computed on one worker would draw every task to that worker); with
            # no worker yet (an adaptive cluster scaled to zero) each node carries it all instead
            dsk, shared = shipped_graph(plan, keys.__getitem__, share=bool(workers))
            if shared is not None:
                future = _broadcast(client, f"daskflow-shared-{token}", shared, workers)
                if future is None:  # not on every worker: dask would draw every task to its holders
                    dsk, _ = shipped_graph(plan, keys.__getitem__, share=False)
                else:
                    held.append(future)
                    dsk = with_shared(dsk, future)
            wanted = list(keys.values())
            if not show:  # one more node hands back every outcome: one result to wait for and gather
                dsk[f"daskflow-outcomes-{token}"] = (_outcomes, wanted)
                wanted = [f"daskflow-outcomes-{token}", *wanted]
            # every task's future is held: after a KilledWorker the independent branches still finish
            futures = client.get(_named(_annotated(dsk, nodes, keys), token), wanted, sync=False)
            held += futures
        if show:
            outcomes = _gather(client, nodes, futures, True, keys)
        else:
            outcomes = _collect(client, futures[0], futures[1:])
        return {key: outcomes[keys[key]] for key in keys}
    finally:
        _release(client, held)
        del held


def _release(client, futures: list) -> None:
    """Cancel what still runs (an interrupted or failed run), release the rest, and return
    once the client holds none of them.

    Finished futures are released, not cancelled: the scheduler cancels n keys in about n * n
    steps (each key's dependents, then each key's client again), a tenth of a second on its
    process for 500 tasks, where releasing is a step per key.  The next run has keys of its
    own anyway (see :func:`run_token`)."""
    pending = [f for f in futures if not f.done()]
    if pending:
        client.cancel(pending)
    for future in futures:
        future.release()  # a callback on the client's loop
    if futures:
        client.sync(_after_releases)  # the loop runs callbacks in order: every release is done


async def _after_releases() -> None:
    return None


def _broadcast(client, key: str, value, workers: list):
    """``value`` scattered to every worker, as a future; None (released) if some worker does not
    hold it even after a second copy (a worker not yet running when it was sent): a task
    depending on it may only run where it is, so every task would go to its holders, and a
    worker dying there would take all of them down (seen as a KilledWorker of an
    independent branch)."""
    future = client.scatter({key: value}, broadcast=True, hash=False)[key]

    def everywhere() -> bool:
        return set(workers) <= set(client.who_has([future]).get(future.key, ()))

    if everywhere():
        return future
    client.replicate([future])
    if everywhere():
        return future
    future.release()
    return None


def _workers(client) -> list:
    """The addresses of the cluster's workers now."""
    try:
        return list(client.nthreads())
    except Exception as exc:
        raise ClusterError(f"cannot ask the scheduler for its workers: {type(exc).__name__}: {exc}") from exc


def _outcomes(outcomes: list) -> list:
    """The graph node that hands back every outcome, in the order of its arguments."""
    return outcomes


def _collect(client, last, futures) -> dict:
    """Outcomes by graph key: ``last``'s (every outcome, one request), else each future's.

    Nothing needs an outcome before the graph is done, and on a small cluster the
    driver's per-future bookkeeping and per-batch gathers take CPU from the scheduler and
    the workers.  ``last`` errs only when a task's worker died or a result was lost: then
    every future is waited for and seen, so each task's failure is its own."""
    try:
        return dict(zip([f.key for f in futures], last.result()))
    except Exception:  # KilledWorker (of some task), a lost result: per task below
        pass
    from distributed import as_completed

    for _ in as_completed(futures, loop=client.loop).batches():  # blocks; the client may not be the default
        pass
    outcomes: dict = {}
    _settle(client, futures, outcomes)
    return outcomes


def _settle(client, done, outcomes: dict) -> None:
    """Each of the futures ``done`` (finished or erred) into ``outcomes`` by graph key: the
    finished ones gathered in one request, an erred one (or a result lost between finishing
    and gathering) as its failure."""
    finished = [f for f in done if f.status == "finished"]
    try:
        outcomes.update(zip([f.key for f in finished], client.gather(finished)))
    except Exception:  # a result lost between finishing and gathering: each is seen below
        pass
    for fut in done:
        if fut.key not in outcomes:
            outcomes[fut.key] = _outcome(fut)  # the failure (or the lost result), per task


def _named(graph, token: str):
    """The graph (a dict or a HighLevelGraph) as dask's expression of it, named by the run's
    token, as ``Client.submit`` names its one task: ``client.get`` would otherwise tokenize
    every node's spec to name it (24 ms of a 600 ms 500-task run under a profiler, on the
    driver, which on a LocalCluster is also the scheduler's process).  The graph itself on
    a dask before graph expressions."""
    try:
        from dask._expr import HLGExpr, LLGExpr
    except ImportError:
        return graph
    return (LLGExpr if isinstance(graph, dict) else HLGExpr)(graph, _determ_token=f"daskflow-{token}")


def _annotated(dsk: dict, nodes, keys: dict):
    """The graph, with each task's ``resources`` as a per-key annotation when any has one."""
    resources = {keys[n.key]: dict(type(n.task).resources) for n in nodes if type(n.task).resources}
    if not resources:
        return dsk
    from dask.highlevelgraph import HighLevelGraph, MaterializedLayer

    plain = {k: v for k, v in dsk.items() if k not in resources}
    layers = {"daskflow": MaterializedLayer(plain)}
    deps = {"daskflow": set()}
    for key, res in resources.items():
        layers[key] = MaterializedLayer({key: dsk[key]}, annotations={"resources": res})
        deps[key] = set()
    return HighLevelGraph(layers, deps)


def _check_store(client, store) -> None:
    """ClusterError when the root is in this process's memory but the workers are not."""
    from .storage import _protocols

    if "memory" not in _protocols(store.fs):
        return
    import os

    if set(client.run(os.getpid).values()) - {os.getpid()}:
        raise ClusterError(f"storage root {store.display} lives in this process's memory, which the "
                           f"cluster's worker processes cannot see; use a folder they share or "
                           f"s3://... (daskflow.set_root)")


def _check_resources(client, nodes) -> None:
    """ClusterError unless, for every task with ``resources``, one worker offers them all."""
    wanted = [(n, dict(type(n.task).resources)) for n in nodes if type(n.task).resources]
    if not wanted:
        return
    workers = client.scheduler_info(n_workers=-1)["workers"].values()
    offered = [w.get("resources") or {} for w in workers]
    problems = []
    for node, res in wanted:
        if not any(all(have.get(r, 0) >= q for r, q in res.items()) for have in offered):
            lacking = sorted(r for r, q in res.items() if not any(h.get(r, 0) >= q for h in offered))
            what = ", ".join(f"{r}={res[r]}" for r in lacking) or \
                ", ".join(f"{r}={q}" for r, q in res.items()) + " together"
            problems.append(f"  {node.task!r} needs resource {what}")
    if problems:
        on_offer = sorted({f"{r}={q}" for have in offered for r, q in have.items()}) or ["none"]
        raise ClusterError(
            "no worker offers the resources some tasks need; nothing was run:\n" + "\n".join(problems)
            + f"\nresources offered by the {len(offered)} worker(s): {', '.join(on_offer)}; "
            f"start workers with `dask worker ... --resources \"NAME=N\"`")


def _gather(client, nodes, futures, show: bool, keys: dict) -> dict:
    """Collect outcomes by graph key as futures finish (errors included), updating the display."""
    from distributed import as_completed

    outcomes: dict = {}
    done = as_completed(futures, loop=client.loop)
    display = _cluster_display(client, nodes, keys) if show else None
    last = 0.0
    try:
        while len(outcomes) < len(futures):
            batch = done.next_batch(block=display is None)
            _settle(client, batch, outcomes)
            if display is not None:
                for fut in batch:
                    display.finished(fut.key, outcomes[fut.key])
            if display is not None and time.monotonic() - last > 0.5:
                last = time.monotonic()
                display.set_running(_processing(client))
            if display is not None and not batch:
                time.sleep(0.1)
    finally:
        if display is not None:
            with contextlib.suppress(Exception):  # a display never breaks a run
                client.unsubscribe_topic(TOPIC)
            display.close()
    return outcomes


def _cluster_display(client, nodes, keys) -> Display:
    """The progress display of a cluster run, with the dashboard link and the waiting events."""
    info = client.scheduler_info(n_workers=0)
    link = client.dashboard_link if "dashboard" in info.get("services", {}) else None
    display = Display({keys[n.key]: n.family for n in nodes}, client.scheduler.address, link)
    with contextlib.suppress(Exception):
        client.subscribe_topic(TOPIC, display.on_event)
    return display


def _processing(client) -> set:
    """The keys the workers are running now (empty if the scheduler does not answer)."""
    try:
        return {k for keys in client.processing().values() for k in keys}
    except Exception:  # a display must never break a run
        return set()


def _outcome(fut) -> Outcome:
    """The Outcome of an erred future: a failure, or its upstream's (or a lost finished one)."""
    try:
        exc = fut.exception()
        if exc is None:
            return fut.result()
    except Exception as lost:
        exc = lost
    culprit = getattr(exc, "task", None)
    if culprit is not None and culprit != fut.key:  # an upstream task's worker died
        return Outcome(fut.key, "upstream_failed", blocked_by=[culprit])
    text = f"{type(exc).__name__}: {exc}"
    if type(exc).__name__ == "KilledWorker":
        text = ("the worker process running this task died (os._exit, a crash or the memory limit); "
                "dask retried it on other workers and they died too\n" + text)
    return Outcome(fut.key, "failed", error=exc, traceback=text)
