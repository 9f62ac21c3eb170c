"""The only module that imports dask: plan -> dask graph -> run.

Imports ``config``, ``errors``, ``plan``, ``execute`` and ``result``.  Only the
tasks the plan says will run become graph nodes, keyed ``Family-<fingerprint>``
so the dashboard groups them by task class and a key is a cache identity on a
cluster.  Each node is ``(execute, spec, [upstream keys or known outcomes])``:
a plain dict graph, cheaper than ``dask.delayed`` objects.  Nodes never raise
(see ``daskflow.execute``), so independent branches finish on every
scheduler; the driver raises one :class:`RunError` afterwards.
"""

from __future__ import annotations

import sys

from . import config
from .errors import ParameterError, RunError
from .execute import execute, known_outcome, spec_for
from .plan import Plan
from .result import RunResult

__all__ = ["run", "build_graph"]


def build_graph(plan: Plan) -> dict:
    """A dask graph (a dict) of the tasks that will run."""
    dsk = {}
    for node in plan.to_run():
        deps = [d.key if d.runs else known_outcome(d) for d in node.deps]
        dsk[node.key] = (execute, spec_for(node, plan.store), deps)
    return dsk


def _getter(scheduler, client, workers):
    """The ``get`` function of the chosen scheduler, and a cleanup callable."""
    if client is not None:
        return client.get, lambda: None
    name = scheduler or config.default_scheduler()
    if name in ("threads", "threading", "threaded"):
        from dask.threaded import get

        return (lambda dsk, keys: get(dsk, keys, num_workers=workers)), lambda: None
    if name in ("sync", "synchronous", "single-threaded"):
        from dask.local import get_sync

        return get_sync, lambda: None
    if name in ("processes", "multiprocessing"):
        from dask.multiprocessing import get

        return (lambda dsk, keys: get(dsk, keys, num_workers=workers)), lambda: None
    if "://" in name:
        from distributed import Client

        client = Client(name)
        return client.get, client.close
    raise ParameterError(f"scheduler {name!r} is not one of 'threads', 'sync', 'processes' "
                         f"or a 'tcp://host:port' address")


def _progress(progress, client):
    """A context manager showing progress on runs over a second, or a no-op."""
    import contextlib

    if progress is None:
        progress = sys.stdout.isatty() or "ipykernel" in sys.modules
    if not progress or client is not None:
        return contextlib.nullcontext()
    from dask.diagnostics import ProgressBar

    return ProgressBar(minimum=1.0)


def run(tasks, force=None, forced=None, forced_all=False, forced_all_upstream=False, *,
        scheduler=None, client=None, workers=None, progress=None, confirm=None,
        store=None) -> RunResult:
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
    scheduler : str, optional
        ``"threads"`` (default, or ``DASKFLOW_SCHEDULER``), ``"sync"``,
        ``"processes"`` or a ``"tcp://host:port"`` scheduler address.
    client : distributed.Client, optional
        Run on this cluster.
    workers : int, optional
        Threads or processes for the local schedulers.
    progress : bool, optional
        Show a progress bar on runs over a second (default: in a terminal or notebook).
    confirm : ignored
        Accepted for d6tflow compatibility: daskflow never prompts.

    Returns
    -------
    RunResult
        Truthy when nothing failed.

    Raises
    ------
    MissingExternalError
        Before anything runs, when an external task's data is missing.
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
    plan = Plan(tasks, store, force=force if force is not None else forced,
                forced_all=forced_all, forced_all_upstream=forced_all_upstream)
    plan.check_externals()
    dsk = build_graph(plan)
    outcomes = {}
    if dsk:
        plan.store.check_writable()
        get, cleanup = _getter(scheduler, client, workers)
        try:
            with _progress(progress, client):
                keys = list(dsk)
                outcomes = dict(zip(keys, get(dsk, keys)))
        finally:
            cleanup()
    result = RunResult(plan.nodes.values(), outcomes)
    if result.failed:
        raise RunError(result.failed, result) from result.failed[0].exception
    return result
