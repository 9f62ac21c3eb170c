"""The only module that imports dask's schedulers: plan -> dask graph -> run.

Imports ``errors``, ``plan``, ``execute``, ``outputs`` (TaskCache values), ``stages`` (dynamic
branches), ``shipping`` (cluster nodes, the import check), ``result``, ``scheduling`` (which
scheduler, in dask's order) and ``progress`` (the display).  Only the
tasks the plan says will run become graph nodes, keyed ``Family-<fingerprint>``
so the dashboard groups them by task class and a key is a cache identity on a
cluster.  Each node is ``(execute, spec, [upstream keys or known outcomes])``:
a plain dict graph, cheaper than ``dask.delayed`` objects.  Nodes never raise
(see ``daskflow.execute``), so independent branches finish on every
scheduler; the driver raises one :class:`RunError` afterwards.

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
import logging
import time

from .errors import ClusterError, ParameterError, RunError, TaskDefinitionError
from .execute import Outcome, execute, known_outcome, spec_for
from .lease import abandon_all as abandon_leases
from .outputs import remember
from .plan import Plan
from .rawfiles import build_luigi
from .progress import TOPIC, Display, LocalFeed, enabled
from .result import RunResult
from .scheduling import Choice, choose
from .shipping import check_imports, shipped_graph, shipping, with_shared
from .stages import run_in_stages

__all__ = ["run", "execute_plan", "build_graph", "graph_key", "run_token"]


def build_graph(plan: Plan, shipped: bool = False, run: str | None = None) -> dict:
    """A dask graph (a dict) of the tasks that will run.

    With ``shipped`` (for a distributed cluster) each node carries its spec as
    cloudpickle bytes, whole (:func:`daskflow.shipping.shipped_graph`; a
    cluster run of :func:`run` sends what the nodes share once).  With ``run`` (a token from :func:`run_token`)
    every key is ``Family-<fingerprint>-<run>`` (see :func:`graph_key`); the
    outcomes keep the plan's keys.
    """
    _check_expanded(plan)
    if shipped:
        return shipped_graph(plan, lambda key: graph_key(key, run))[0]
    dsk = {}
    for node in plan.to_run():
        deps = [graph_key(d.key, run) if d.runs else known_outcome(d) for d in node.deps]
        dsk[graph_key(node.key, run)] = (execute, spec_for(node, plan.store), deps)
    return dsk


def _check_expanded(plan: Plan) -> None:
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


def run(tasks, force=None, forced=None, forced_all=False, forced_all_upstream=False, *,
        scheduler=None, client=None, workers=None, progress=None, confirm=None,
        store=None, ship_code=False, abort=True, execution_summary=None, **luigi) -> RunResult:
    """Build the stale tasks among ``tasks`` and their upstream; skip the fresh ones.

    Parameters
    ----------
    tasks : Task or list of Task
    force, forced : Task or list of Task, optional
        Rerun these and everything between them and ``tasks`` (``forced`` is
        d6tflow's spelling).
    forced_all : bool
        Rerun ``tasks`` themselves.
    forced_all_upstream : bool
        Rerun ``tasks`` and everything upstream.
    scheduler : str or distributed.Client, optional
        ``"threads"``, ``"sync"``, ``"processes"``, ``"distributed"`` (the
        default client), a ``"tcp://host:port"`` scheduler address or a Client.
        Without it (and without ``client``), dask's order: ``dask.config``'s
        ``scheduler``, then the default distributed Client if one exists, then
        ``DASKFLOW_SCHEDULER``, then ``"threads"`` (see ``daskflow.scheduling``).
    client : distributed.Client, optional
        Run on this cluster.
    workers : int, optional
        Threads or processes for the local schedulers.
    progress : bool, optional
        Show a live table of done / running / failed / to-do tasks by family,
        the elapsed time and, on a cluster, the dashboard link (default: in a
        terminal or notebook, once a local run has lasted a second).
    abort : bool
        d6tflow's: False returns the RunResult of a run that failed (falsy,
        ``.failed`` naming each task) instead of raising RunError.
    confirm, execution_summary : ignored
        d6tflow's keywords, accepted so its scripts run: daskflow never
        prompts, and returns the summary as the RunResult.
    **luigi
        Options d6tflow passes on to ``luigi.build`` (``local_scheduler``,
        ``log_level``, ``detailed_summary``, ``scheduler_host``...): accepted;
        ``log_level`` sets the ``daskflow`` logger's level, the others name
        luigi's scheduler, which daskflow does not use.  Any other keyword is
        a TypeError.
    ship_code : bool or list of modules, optional
        On a cluster, send the modules defining the task classes (and any
        modules listed) to the workers by value, for workers that do not have
        them installed.  Without it, a module the workers cannot import is a
        ClusterError before anything runs.

    Returns
    -------
    RunResult
        Truthy when nothing failed.

    Raises
    ------
    MissingExternalError
        Before anything runs, when an external task's data is missing.
    ClusterError
        Before anything runs on a cluster: a task needs a resource no worker
        offers, or a module the workers cannot import.
    RunError
        After the run, naming every failed task; ``__cause__`` is the first
        original exception and ``.failures`` holds each with its traceback.

    Examples
    --------
    >>> import daskflow
    >>> daskflow.run(Train(), scheduler="sync")  # doctest: +SKIP
    <RunResult: 3 ran, 0 skipped>
    """
    if force is not None and forced is not None:
        raise ParameterError("give force= or forced= (d6tflow's spelling), not both")
    _luigi_options(luigi)
    choice = choose(scheduler, client, workers)

    def make_plan(force, forced_all, forced_all_upstream):
        plan = Plan(tasks, store, force=force, forced_all=forced_all, forced_all_upstream=forced_all_upstream,
                    ask_complete=True)
        if not build_luigi(plan.nodes.values()):  # luigi tasks upstream, missing: luigi builds them
            return plan
        return Plan(tasks, store, force=force, forced_all=forced_all, forced_all_upstream=forced_all_upstream,
                    ask_complete=True)

    def stage(plan):
        plan.check_externals()
        outcomes = execute_plan(plan, choice, progress=progress, ship_code=ship_code)
        remember(plan, outcomes)  # TaskCache values, for outputLoad() in this process
        return outcomes

    # one stage, unless a requires() reads an upstream output not built yet (daskflow.stages)
    plan, nodes, outcomes = run_in_stages(make_plan, stage, force if force is not None else forced,
                                          forced_all, forced_all_upstream)
    result = RunResult(nodes, outcomes)
    if result.failed and abort:
        raise RunError(result.failed, result) from result.failed[0].exception
    return result


_LUIGI_BUILD = frozenset({  # luigi.build's own and its [core] options (luigi.interface.core)
    "local_scheduler", "log_level", "detailed_summary", "scheduler_host", "scheduler_port", "scheduler_url",
    "worker_scheduler_factory", "no_lock", "lock_pid_dir", "lock_size", "take_lock", "parallel_scheduling",
    "parallel_scheduling_processes", "assistant", "logging_conf_file", "no_configure_logging", "module",
    "help", "help_all"})


def _luigi_options(options: dict) -> None:
    unknown = sorted(set(options) - _LUIGI_BUILD)
    if unknown:
        raise TypeError(f"run() got unexpected keyword argument(s) {', '.join(map(repr, unknown))}; "
                        f"besides its own it takes luigi.build's, as d6tflow passes them: {', '.join(sorted(_LUIGI_BUILD))}")
    if "log_level" in options:
        level = options["log_level"]
        logging.getLogger("daskflow").setLevel(level.upper() if isinstance(level, str) else level)


def execute_plan(plan: Plan, choice: Choice, progress=None, ship_code=False) -> dict:
    """One stage: build the graph of ``plan``'s stale tasks, run it, return outcomes by plan key.

    Nothing is written when nothing is stale.  A caller may plan again and
    call this again (a fan-out known only after a stage ran).
    """
    if not plan.to_run():
        return {}
    for store in dict.fromkeys(n.store for n in plan.to_run()):  # the plan's root, or a few
        store.check_writable()
    if choice.address is not None:
        from distributed import Client

        with Client(choice.address, set_as_default=False) as own:
            return _run_cluster(own, plan, progress, ship_code)
    if choice.client is not None:
        return _run_cluster(choice.client, plan, progress, ship_code)
    return _run_local(plan, choice, progress)


def _run_local(plan: Plan, choice: Choice, progress) -> dict:
    """Run the graph on a local scheduler (threads, sync, processes) with the progress display."""
    dsk = build_graph(plan)
    keys = list(dsk)
    display = None
    if enabled(progress):
        display = Display({n.key: n.family for n in plan.to_run()}, choice.name,
                          delay=1.0 if progress is None else 0.0)
    try:
        with LocalFeed(display):
            return dict(zip(keys, choice.get(dsk, keys)))
    except KeyboardInterrupt:  # Ctrl-C: builds still running in threads lose their leases
        abandon_leases()
        raise


# -- on a dask.distributed cluster ------------------------------------------------------------
def _run_cluster(client, plan: Plan, progress, ship_code) -> dict:
    """Check, scatter what the nodes share, submit, gather, release; return outcomes by key."""
    nodes = plan.to_run()
    _check_expanded(plan)
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
            futures = client.get(_annotated(dsk, nodes, keys), wanted, sync=False)
            held += futures
        if show:
            outcomes = _gather(client, nodes, futures, True, keys)
        else:
            outcomes = _collect(client, futures[0], futures[1:])
        return {key: outcomes[keys[key]] for key in keys}
    finally:
        if held:
            client.cancel(held)  # release: the next run has keys of its own anyway
        del held


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
    finished = [f for f in futures if f.status == "finished"]
    outcomes: dict = {}
    try:
        outcomes.update(zip([f.key for f in finished], client.gather(finished)))
    except Exception:  # a result lost between finishing and gathering: each is seen below
        outcomes.clear()
    for fut in futures:
        if fut.key not in outcomes:
            outcomes[fut.key] = _outcome(fut)  # the failure (or the lost result), per task
    return outcomes


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
            finished = [f for f in batch if f.status == "finished"]
            try:
                outcomes.update(zip([f.key for f in finished], client.gather(finished)))
            except Exception:  # one result lost between finishing and gathering: see each
                pass
            for fut in batch:
                if fut.key not in outcomes:
                    outcomes[fut.key] = _outcome(fut)
                if display is not None:
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
