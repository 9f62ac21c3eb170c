"""The only module that imports dask's schedulers: plan -> dask graph -> run.

Imports ``config``, ``errors``, ``plan``, ``execute``, ``stages`` and ``result``.  Only the
tasks the plan says will run become graph nodes, keyed ``Family-<fingerprint>``
so the dashboard groups them by task class and a key is a cache identity on a
cluster.  Each node is ``(execute, spec, [upstream keys or known outcomes])``:
a plain dict graph, cheaper than ``dask.delayed`` objects.  Nodes never raise
(see ``daskflow.execute``), so independent branches finish on every
scheduler; the driver raises one :class:`RunError` afterwards.

On a dask.distributed cluster (``client=``, ``scheduler="tcp://..."``):

- every spec travels as cloudpickle bytes, unpickled inside the node: the
  scheduler never needs the user's modules, and a worker that cannot import
  them reports it as that task's failure instead of hanging;
- before submitting, the workers are asked whether they can import the task
  classes' modules (``ship_code=True`` sends them by value instead) and
  whether some worker offers each task's ``resources``; either problem is a
  :class:`ClusterError` naming the task, and nothing is submitted;
- results are gathered as they complete, so independent branches finish; a
  task whose worker died (``KilledWorker``) is a failed task, its downstream
  tasks are "not run"; every future is released after the run, so the next
  run re-plans and recomputes its keys.

Cluster-level ``retries`` are not used: ``execute`` already retries a failing
``run()`` inside the node (nodes never raise, so dask's retries would never
fire), and a node whose worker dies is rescheduled by the scheduler up to
``distributed.scheduler.allowed-failures`` times.
"""

from __future__ import annotations

import contextlib
import importlib
import sys
import time

from . import config
from .errors import ClusterError, ParameterError, RunError, TaskDefinitionError
from .execute import Outcome, execute, known_outcome, spec_for
from .plan import Plan
from .result import RunResult
from .stages import run_in_stages

__all__ = ["run", "build_graph"]


def build_graph(plan: Plan, shipped: bool = False) -> dict:
    """A dask graph (a dict) of the tasks that will run.

    With ``shipped`` each spec is cloudpickled bytes (for a distributed cluster).
    """
    early = [repr(n.task) for n in plan.dynamic if n.task in plan.nodes]  # see daskflow.stages
    if early:
        raise TaskDefinitionError(f"{', '.join(early)} cannot be built before expanding: run the "
                                  f"plan in stages (daskflow.stages.run_in_stages, as daskflow.run does)")
    dsk = {}
    if shipped:
        import cloudpickle

    for node in plan.to_run():
        deps = [d.key if d.runs else known_outcome(d) for d in node.deps]
        spec = spec_for(node, plan.store)
        if shipped:
            # the key as bytes: a str equal to a key would be read as a dependency
            dsk[node.key] = (_execute_shipped, node.key.encode(), cloudpickle.dumps(spec), deps)
        else:
            dsk[node.key] = (execute, spec, deps)
    return dsk


def _execute_shipped(key: bytes, blob: bytes, deps: list) -> Outcome:
    """Unpickle a spec on the worker and run it; an unimportable module is this task's failure."""
    import pickle
    import traceback

    try:
        spec = pickle.loads(blob)
    except Exception as exc:
        name = getattr(exc, "name", None)
        hint = (f"the worker cannot import module {name!r}: install it on the workers, put it on "
                f"their PYTHONPATH, or pass ship_code=True") if name else "the worker cannot load the task"
        return Outcome(key.decode(), "failed", error=ModuleNotFoundError(f"{hint} ({type(exc).__name__}: {exc})"),
                       traceback=traceback.format_exc())
    return execute(spec, deps)


def _getter(scheduler, workers):
    """The ``get`` function of a local scheduler, or a ``tcp://`` address to connect to."""
    name = scheduler or config.default_scheduler()
    if name in ("threads", "threading", "threaded"):
        from dask.threaded import get

        return lambda dsk, keys: get(dsk, keys, num_workers=workers)
    if name in ("sync", "synchronous", "single-threaded"):
        from dask.local import get_sync

        return get_sync
    if name in ("processes", "multiprocessing"):
        from dask.multiprocessing import get

        return lambda dsk, keys: get(dsk, keys, num_workers=workers)
    if "://" in name:
        return name
    raise ParameterError(f"scheduler {name!r} is not one of 'threads', 'sync', 'processes' "
                         f"or a 'tcp://host:port' address")


def _show_progress(progress) -> bool:
    if progress is None:
        return sys.stdout.isatty() or "ipykernel" in sys.modules
    return bool(progress)


def run(tasks, force=None, forced=None, forced_all=False, forced_all_upstream=False, *,
        scheduler=None, client=None, workers=None, progress=None, confirm=None,
        store=None, ship_code=False, abort=None, execution_summary=None) -> RunResult:
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
        Show progress (default: in a terminal or notebook).  On a cluster, a
        live table of done / running / failed / to-do tasks by family and the
        dashboard link.
    confirm, abort, execution_summary : ignored
        d6tflow's keywords, accepted so its scripts run: daskflow never
        prompts, always lets independent branches finish, and returns the
        summary as the RunResult.
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
    get = None if client is not None else _getter(scheduler, workers)

    def make_plan(force, forced_all, forced_all_upstream):
        return Plan(tasks, store, force=force, forced_all=forced_all, forced_all_upstream=forced_all_upstream)

    # one stage, unless a requires() reads an upstream output not built yet (daskflow.stages)
    plan, nodes, outcomes = run_in_stages(make_plan, lambda p: _execute(p, get, client, progress, ship_code),
                                          force if force is not None else forced, forced_all, forced_all_upstream)
    result = RunResult(nodes, outcomes)
    if result.failed:
        raise RunError(result.failed, result) from result.failed[0].exception
    return result


def _execute(plan: Plan, get, client, progress, ship_code) -> dict:
    """Run the tasks ``plan`` says will run; outcomes by key."""
    plan.check_externals()
    if not plan.to_run():
        return {}
    plan.store.check_writable()
    if client is None and isinstance(get, str):
        from distributed import Client

        with Client(get, set_as_default=False) as own:
            return _run_cluster(own, plan, progress, ship_code)
    if client is not None:
        return _run_cluster(client, plan, progress, ship_code)
    dsk = build_graph(plan)
    keys = list(dsk)
    with _local_progress(progress):
        return dict(zip(keys, get(dsk, keys)))


def _local_progress(progress):
    """dask's progress bar on local-scheduler runs over a second, or a no-op."""
    if not _show_progress(progress):
        return contextlib.nullcontext()
    from dask.diagnostics import ProgressBar

    return ProgressBar(minimum=1.0)


# -- on a dask.distributed cluster ------------------------------------------------------------
def _run_cluster(client, plan: Plan, progress, ship_code) -> dict:
    """Check, submit, gather as completed, release; return outcomes by key."""
    nodes = plan.to_run()
    _check_store(client, plan.store)
    _check_resources(client, nodes)
    with _shipping(nodes, ship_code) as shipped:
        _check_imports(client, nodes, shipped)
        dsk = build_graph(plan, shipped=True)
        futures = client.get(_annotated(dsk, nodes), list(dsk), sync=False)
    try:
        return _gather(client, nodes, futures, _show_progress(progress))
    finally:
        client.cancel(futures)  # release: the next run recomputes these keys
        del futures


def _annotated(dsk: dict, nodes):
    """The graph, with each task's ``resources`` as a per-key annotation when any has one."""
    resources = {n.key: dict(type(n.task).resources) for n in nodes if type(n.task).resources}
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


def _user_modules(nodes) -> dict[str, list]:
    """Modules defining the task classes (and their bases) outside daskflow, with their tasks."""
    found: dict[str, dict] = {}
    for node in nodes:
        for klass in type(node.task).__mro__:
            mod = klass.__module__
            if mod in ("builtins", "__main__") or mod == "daskflow" or mod.startswith("daskflow."):
                continue
            found.setdefault(mod, {})[node.task] = None  # a dict: ordered, and no quadratic scan
    return {mod: list(tasks) for mod, tasks in found.items()}


@contextlib.contextmanager
def _shipping(nodes, ship_code):
    """Register the user's modules with cloudpickle by value for the time of a submission."""
    if not ship_code:
        yield set()
        return
    import cloudpickle

    names = set(_user_modules(nodes))
    if not isinstance(ship_code, bool):
        extra = ship_code if isinstance(ship_code, (list, tuple, set)) else [ship_code]
        names.update(m if isinstance(m, str) else m.__name__ for m in extra)
    already = set(cloudpickle.list_registry_pickle_by_value())
    added = []
    try:
        for name in sorted(names - already):
            cloudpickle.register_pickle_by_value(importlib.import_module(name))
            added.append(name)
        yield names
    finally:
        for name in added:
            cloudpickle.unregister_pickle_by_value(sys.modules[name])


def _missing_modules(names: list) -> dict:
    """Run on each worker: the modules among ``names`` it cannot import, with the error."""
    out = {}
    for name in names:
        try:
            importlib.import_module(name)
        except Exception as exc:  # any import failure is reported, not only "not found"
            out[name] = f"{type(exc).__name__}: {exc}"
    return out


def _check_imports(client, nodes, shipped: set) -> None:
    """ClusterError naming task and module when some worker cannot import a task's module."""
    modules = {m: ts for m, ts in _user_modules(nodes).items() if m not in shipped}
    if not modules:
        return
    try:
        answers = client.run(_missing_modules, sorted(modules))
    except Exception as exc:
        raise ClusterError(f"cannot ask the workers whether they import {sorted(modules)}: "
                           f"{type(exc).__name__}: {exc}; is daskflow installed on the workers?") from exc
    missing: dict[str, tuple[list, str]] = {}
    for worker, failed in answers.items():
        for mod, err in failed.items():
            missing.setdefault(mod, ([], err))[0].append(worker)
    if missing:
        lines = []
        for mod, (where, err) in sorted(missing.items()):
            tasks = ", ".join(repr(t) for t in modules[mod][:3]) + (" ..." if len(modules[mod]) > 3 else "")
            lines.append(f"  module {mod!r} (tasks {tasks}): {err} on {len(where)} of "
                         f"{len(answers)} worker(s), e.g. {where[0]}")
        raise ClusterError("the workers cannot import the modules of some task classes; nothing was "
                           "run:\n" + "\n".join(lines) + "\ninstall the project on the workers, put it "
                           "on their PYTHONPATH, or pass ship_code=True to send the modules by value")


def _gather(client, nodes, futures, show: bool) -> dict:
    """Collect outcomes as futures finish (errors included), updating the display."""
    from distributed import as_completed

    outcomes: dict = {}
    done = as_completed(futures, loop=client.loop)
    display = _ClusterProgress(client, nodes) if show else None
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
                display.update(outcomes)
                if not batch:
                    time.sleep(0.1)
    finally:
        if display is not None:
            display.close(outcomes)
    return outcomes


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


class _ClusterProgress:
    """A live table (rich) of done / running / failed / to-do tasks by family, with the dashboard."""

    def __init__(self, client, nodes):
        from rich.console import Console
        from rich.live import Live

        self.client = client
        self.family = {n.key: n.family for n in nodes}
        self.families = list(dict.fromkeys(n.family for n in nodes))
        self.title = f"daskflow on {client.scheduler.address}"
        info = client.scheduler_info(n_workers=0)
        if "dashboard" in info.get("services", {}):
            self.title += f" · dashboard {client.dashboard_link}"
        self.last = 0.0
        self.console = Console()
        self.live = Live(self.render({}, set()), console=self.console, auto_refresh=False, transient=False)
        self.live.start()

    def running(self, outcomes) -> set:
        try:
            processing = self.client.processing()
        except Exception:  # a display must never break a run
            return set()
        return {k for keys in processing.values() for k in keys if k in self.family and k not in outcomes}

    def render(self, outcomes, running):
        from rich.table import Table

        table = Table(title=self.title, title_justify="left")
        for col in ("family", "done", "running", "failed", "to do"):
            table.add_column(col, justify="left" if col == "family" else "right")
        counts = {f: [0, 0, 0, 0] for f in self.families}
        for key, fam in self.family.items():
            o = outcomes.get(key)
            col = 1 if key in running else 3
            if o is not None:
                col = 0 if o.status in ("ran", "cutoff") else 2
            counts[fam][col] += 1
        for fam in self.families:
            done, run, failed, todo = counts[fam]
            table.add_row(fam, str(done), str(run), f"[red]{failed}[/]" if failed else "0", str(todo))
        return table

    def update(self, outcomes) -> None:
        now = time.monotonic()
        if now - self.last < 0.5:
            return
        self.last = now
        self.live.update(self.render(outcomes, self.running(outcomes)), refresh=True)

    def close(self, outcomes) -> None:
        self.live.update(self.render(outcomes, set()), refresh=True)
        self.live.stop()
