"""The only module that imports dask's schedulers: plan -> dask graph -> run.

Imports ``config``, ``errors``, ``plan``, ``execute``, ``lease`` (abandoned leases),
``outputs`` (TaskCache values), ``stages`` (dynamic branches), ``shipping`` (cluster
nodes), ``cluster`` (running on a dask.distributed cluster), ``rawfiles`` (luigi tasks
upstream), ``result``, ``scheduling`` (which scheduler, in dask's order) and
``progress`` (the display).  Only the tasks the plan says will run become graph nodes, keyed ``Family-<fingerprint>``
so the dashboard groups them by task class and a key is a cache identity on a
cluster.  Each node is ``execute(spec, [upstream keys or known outcomes])`` as dask's
own task object (``dask._task_spec.Task``, what ``dask.delayed`` builds; a legacy tuple
dask would convert on every compute): a plain dict graph,
cheaper than ``dask.delayed`` objects.  Nodes never raise
(see ``daskflow.execute``), so independent branches finish on every
scheduler; the driver raises one :class:`RunError` afterwards.

On a dask.distributed cluster the graph runs through :mod:`daskflow.cluster`.
"""

from __future__ import annotations

import logging

from .cluster import ClusterError, check_expanded, graph_key, run_cluster, run_token  # noqa: F401
from .config import project_dir
from .errors import ParameterError, RunError
from .execute import execute, known_outcome, spec_for
from .lease import abandon_all as abandon_leases
from .outputs import remember
from .plan import Plan
from .rawfiles import build_luigi
from .progress import Display, LocalFeed, enabled
from .result import RunResult
from .scheduling import Choice, choose
from .shipping import shipped_graph
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
    check_expanded(plan)
    if shipped:
        return shipped_graph(plan, lambda key: graph_key(key, run))[0]
    from dask._task_spec import List, Task, TaskRef  # here: import daskflow leaves dask for later

    dsk, project = {}, str(project_dir())
    for node in plan.to_run():  # dask's own task objects: nothing for dask to convert on each compute
        key = graph_key(node.key, run)
        deps = [TaskRef(graph_key(d.key, run)) if d.runs else known_outcome(d) for d in node.deps]
        dsk[key] = Task(key, execute, spec_for(node, plan.store, project), List(*deps))
    return dsk


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
        def plan():
            return Plan(tasks, store, force=force, forced_all=forced_all, forced_all_upstream=forced_all_upstream,
                        ask_complete=True)

        first = plan()
        return plan() if build_luigi(first.nodes.values()) else first  # luigi built missing upstreams: again

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
            return run_cluster(own, plan, progress, ship_code)
    if choice.client is not None:
        return run_cluster(choice.client, plan, progress, ship_code)
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
