"""A workflow as a dask collection: ``daskflow.delayed(task)`` for ``dask.compute`` and friends.

Imports ``errors``, ``task``, ``storage``, ``plan``, ``execute``, ``result``,
``graph`` and ``scheduling``.  A :class:`Flow` implements dask's collection
protocol (``__dask_graph__``, ``__dask_keys__``, ``__dask_postcompute__``,
``__dask_postpersist__``, ``__dask_tokenize__``, ``__dask_scheduler__``), so
``dask.compute``, ``dask.persist``, ``dask.visualize``, ``dask.delayed``
functions and ``client.compute``/``client.persist`` accept it and mix it with
any other dask work in one graph.

What stays true:

- freshness is decided once, when dask first asks for the graph; a Flow
  object is one build (computing it again repeats the build of what was
  stale then): for a later run, make a new ``daskflow.delayed(task)``;
- Flows made together share their run token, so ``dask.compute(flow_a,
  flow_b)`` builds a shared stale upstream task once;
- the graph is :func:`daskflow.graph.build_graph`'s, the one ``daskflow.run``
  executes: only stale tasks are nodes, keyed ``Family-<fingerprint>-<run>``,
  while a ``distributed.Client`` is open in the process, every spec is
  shipped as cloudpickle bytes so a distributed scheduler never needs the
  user's modules (local schedulers get the specs themselves: cheaper); one more node, ``daskflow-<run>``, gathers the
  outcomes (small records, never data);
- the postcompute raises :class:`~daskflow.errors.RunError` naming every
  failed task, or loads the target's output from the build just committed
  (or the fresh one), where the postcompute runs: on the client for
  ``dask.compute``, on a worker when the Flow is an argument of a
  ``dask.delayed`` function.

Use ``daskflow.run`` for the :class:`~daskflow.result.RunResult`, the cluster
checks before submitting (imports, resources) and the progress display.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

from dask.base import DaskMethodsMixin

from .errors import RunError
from .execute import known_outcome
from .listing import build_file
from .context import MemoryTarget
from .graph import build_graph, graph_key, run, run_token
from .plan import Plan
from .result import RunResult
from .scheduling import default_get
from .storage import Target
from .task import Task, TaskAggregator, _load, _shape

__all__ = ["Flow", "delayed"]


def delayed(tasks, force=None, forced_all=False, forced_all_upstream=False, store=None) -> "Flow":
    """A dask collection that builds ``tasks`` (what is stale) and yields their loaded outputs.

    Parameters
    ----------
    tasks : Task or list of Task
        One task gives its output; a list gives a list of outputs.
    force, forced_all, forced_all_upstream
        As for :func:`daskflow.run`.
    store : Store, optional
        The storage root (default: the root in force).

    Returns
    -------
    Flow

    Examples
    --------
    >>> import dask, daskflow
    >>> model, = dask.compute(daskflow.delayed(Train()))                # doctest: +SKIP
    >>> dask.delayed(evaluate)(daskflow.delayed(Train()), df).compute()  # doctest: +SKIP
    """
    return Flow(tasks, force=force, forced_all=forced_all, forced_all_upstream=forced_all_upstream,
                store=store)


# The run token of the Flows made since the last one was planned.  Flows made together and
# computed together (``dask.compute(flow_a, flow_b)``) share it, so an upstream task they share
# is one key, built once; a Flow made after a planning gets a new one, so a later rebuild never
# meets keys the cluster still holds from an earlier one (see graph.run_token).
_CURRENT = [run_token()]


@dataclass(frozen=True)
class _Entry:
    """What the postcompute needs of a plan node (a node itself drags the whole plan along)."""

    key: str
    task: Task


class Flow(DaskMethodsMixin):
    """Tasks to build, as a dask collection (see the module docstring); made by :func:`delayed`.

    Attributes
    ----------
    plan : Plan
        Made on first use; which tasks run, which are fresh, and why.
    key : str
        The collection's output key, ``daskflow-<run>``.
    """

    __dask_scheduler__ = staticmethod(default_get)

    def __init__(self, tasks, force=None, forced_all=False, forced_all_upstream=False, store=None):
        self._single = isinstance(tasks, Task)
        self._tasks = [tasks] if self._single else list(tasks)
        self._options = dict(force=force, forced_all=forced_all, forced_all_upstream=forced_all_upstream)
        self._store = store
        self._plan = None
        self._hlg = None
        self._finish_blob = None
        self._token = _CURRENT[0]  # shared by the Flows made since the last planning: see _planned
        self.key = f"daskflow-{run_token()}"

    # -- planned once, on first use ---------------------------------------------------------------
    @property
    def plan(self) -> Plan:
        if self._plan is None:
            if _CURRENT[0] == self._token:  # Flows made from now on get keys of their own
                _CURRENT[0] = run_token()
            plan = Plan(self._tasks, self._store, **self._options)
            if plan.dynamic:  # branches known only once an upstream task has run: build the
                # stages before them now (daskflow.run, on dask's scheduler), then plan the rest
                run(self._tasks, store=self._store, progress=False, **self._options)
                plan = Plan(self._tasks, self._store)
            plan.check_externals()
            if plan.to_run():
                plan.store.check_writable()
            self._plan = plan
        return self._plan

    def _graph(self) -> dict:
        plan = self.plan
        # specs travel as cloudpickle bytes when a distributed scheduler could run the graph (it
        # unpickles graphs, and must not need the user's modules): when some Client is open
        dsk = build_graph(plan, shipped=_clients_open(), run=self._token)
        targets = [graph_key(n.key, self._token) if n.runs else known_outcome(n) for n in plan.targets]
        others = [graph_key(n.key, self._token) for n in plan.to_run()]
        dsk[self.key] = (_collect, targets, others)
        return dsk

    def _blob(self) -> bytes:
        if self._finish_blob is None:
            import cloudpickle

            plan = self.plan
            entries = [_Entry(n.key, n.task) for n in plan.to_run()]
            self._finish_blob = cloudpickle.dumps((entries, [n.task for n in plan.targets], plan.store,
                                                   self._single))
        return self._finish_blob

    # -- dask's collection protocol ---------------------------------------------------------------
    def __dask_graph__(self):
        if self._hlg is None:  # dask asks more than once (is_dask_collection, then compute)
            self._hlg = self._layers()
        return self._hlg

    def _layers(self):
        from dask.highlevelgraph import HighLevelGraph, MaterializedLayer

        dsk = self._graph()
        nodes = {graph_key(n.key, self._token): n for n in self.plan.to_run()}
        layers, deps = {}, {}
        for key, node in nodes.items():  # a task's resources are a per-key annotation
            if type(node.task).resources:
                layers[key] = MaterializedLayer({key: dsk.pop(key)},
                                                annotations={"resources": dict(type(node.task).resources)})
                deps[key] = set()
        layers[self.key] = MaterializedLayer(dsk)
        deps[self.key] = set(layers) - {self.key}
        return HighLevelGraph(layers, deps)

    def __dask_keys__(self) -> list:
        return [self.key]

    def __dask_layers__(self) -> tuple:
        return (self.key,)

    def __dask_postcompute__(self):
        return _finish, (self._blob(),)

    def __dask_postpersist__(self):
        return _Persisted, (self.key, self._blob())

    def __dask_tokenize__(self):
        return ("daskflow.Flow", self.key)

    @staticmethod
    def __dask_optimize__(dsk, keys, **kwargs):
        return dsk  # no fusion: every task keeps its Family-<fingerprint> key

    def __repr__(self) -> str:
        what = ", ".join(repr(t) for t in self._tasks[:3]) + (" ..." if len(self._tasks) > 3 else "")
        state = "not planned" if self._plan is None else f"{len(self._plan.to_run())} to run"
        return f"<daskflow.Flow {what}: {state}>"


class _Persisted(DaskMethodsMixin):
    """A persisted Flow: its output key held by futures (``client.persist``) or values."""

    __dask_scheduler__ = staticmethod(default_get)

    def __init__(self, dsk, key, blob, rename=None):
        self.key = (rename or {}).get(key, key)
        self._dsk = dsk
        self._blob = blob

    def __dask_graph__(self):
        return self._dsk

    def __dask_keys__(self):
        return [self.key]

    def __dask_layers__(self):
        return tuple(self._dsk.layers) if hasattr(self._dsk, "layers") else (self.key,)

    def __dask_postcompute__(self):
        return _finish, (self._blob,)

    def __dask_postpersist__(self):
        return _Persisted, (self.key, self._blob)

    def __dask_tokenize__(self):
        return ("daskflow.Flow", self.key)

    @staticmethod
    def __dask_optimize__(dsk, keys, **kwargs):
        return dsk


def _clients_open() -> bool:
    """Whether this process has an open ``distributed.Client`` (default or not)."""
    if "distributed" not in sys.modules:
        return False
    from distributed import Client

    instances = getattr(Client, "_instances", None)
    if instances is None:  # a distributed without the registry: ship, to be safe
        return True
    return any(getattr(c, "status", "closed") not in ("closed", "closing") for c in list(instances))


def _collect(targets: list, others: list) -> tuple:
    """The graph node gathering the outcomes: the targets' (in order) and every task's."""
    return targets, others


def _finish(results, blob: bytes):
    """The postcompute: raise RunError naming each failure, else load the targets' outputs."""
    import pickle

    entries, targets, store, single = pickle.loads(blob)
    (target_outcomes, outcomes), = results
    result = RunResult(entries, {o.key: o for o in outcomes})
    if result.failed:
        raise RunError(result.failed, result) from result.failed[0].exception
    values = [_load_built(t, o, store) for t, o in zip(targets, target_outcomes)]
    return values[0] if single else values


def _load_built(task: Task, outcome, store):
    """Load the build ``outcome`` names (the one just committed or the fresh one)."""
    outputs = type(task)._outputs
    if getattr(outcome, "values", None) is not None:  # a TaskCache: its values came through the graph
        return _load(_shape(task, {n: MemoryTarget(outcome.values[n], f, task) for n, f in outputs.items()}),
                     None, False)
    if isinstance(task, TaskAggregator):  # an aggregator: the outputs of what it groups
        return [_load_built(t, o, store) for t, o in zip(task.deps(), outcome.members)]
    if outcome.path is None:  # a raw input file (its own target), or a cache task fresh on its own
        return task.outputLoad()
    targets = {n: Target(store, build_file(outcome.path, f"{n}.{f.ext}"), f, task, name=n)
               for n, f in outputs.items()}
    return _load(_shape(task, targets), None, False)
