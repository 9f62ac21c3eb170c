"""Dynamic branches: a ``requires()`` that depends on an upstream task's output.

Imports ``errors`` and ``task``; never ``plan`` or dask (the plan
drives this module: it hands itself in, and this module builds sub-plans with
``type(plan)``).  A task whose upstream tasks are known only after another
task has run (one model per file the splitter found, one branch per fold)
reads that task's committed output in ``requires()``::

    def requires(self):
        folds = self.input_of(Folds()).load()           # or daskflow.map(...), below
        return [TrainFold(fold=f) for f in folds]

How it is planned (in stages, by the existing :class:`daskflow.plan.Plan`):

- While a plan walks ``requires()``, :meth:`Task.input_of` asks this
  module's :class:`Expansion`, which plans the upstream task on its own (a
  sub-plan sharing the outer plan's listings, so a no-op check lists each
  family once, as for a static graph).  Fresh (or external): the targets of
  its committed build, the list loads, the branches are planned like any
  other tasks.  Not built (or forced): :class:`daskflow.task.UpstreamPending`
  is raised; ``Task.deps()`` catches it, the task becomes a *dynamic* node
  whose only known upstream is that task, shown as "expands after
  Splitter()" by ``preview``/``why``/``draw``/the CLI.
- ``daskflow.run`` (see :mod:`daskflow.stages`) runs what can run, including
  the upstream tasks the dynamic nodes wait for, then plans again: now the
  list loads from storage.  It repeats until nothing waits, so a branch that
  itself fans out (nested expansion) takes one more stage.
- The task read by ``input_of`` is an upstream task of the reader (its
  result is in the reader's fingerprint and commit marker), so a changed list
  reruns the combiner, and an unchanged list changes nothing.

What stays true: a task is expanded only from a committed build that is
fresh for today's code; reading an output never runs anything; an expansion
cycle (a task's list depending on the task itself) is a CycleError.  The list
is loaded on the driver, which holds every branch's parameters anyway: keep it
a small output of its own (``persist = {"folds": "json", "data": "parquet"}``,
``input_of(S)["folds"]``), and the large data stays where the workers write it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from contextvars import ContextVar

from .errors import CycleError, DaskflowError, TaskDefinitionError
from .task import REQUIRING, RESOLVER, Task, UpstreamPending, _shape

__all__ = ["Expansion", "expanding", "map", "pending", "mark", "FORCING"]

#: Tasks a staged run still forces (see daskflow.stages): an input_of() of one of them, or of
#: a task upstream of one, waits for it to be rebuilt instead of reading today's build.
FORCING: ContextVar = ContextVar("daskflow_forcing", default=frozenset())


def pending(task: Task):
    """The upstream task ``task``'s ``requires()`` waits for (its last ``deps()``), or None."""
    return task._pending  # a class default (None) on Task: no instance __dict__ made for it


class _Shared:
    """What the plans of one planning pass share: listings, resolved upstream tasks, forcing."""

    def __init__(self, forced: frozenset, all_upstream: bool):
        self.listed: dict = {}  # (family, param_dir or None) -> listing
        self.resolved: dict = {}  # upstream task -> targets, or the task it waits for
        self.resolving: list = []  # (reader, upstream task) being planned right now (cycles)
        self.forced = forced
        self.all_upstream = all_upstream


class Expansion:
    """Resolves ``input_of()`` while one plan walks ``requires()``; shared with its sub-plans."""

    def __init__(self, plan, shared: _Shared, sub: bool = False):
        self.plan = plan
        self.shared = shared
        self.sub = sub  # the plan of an upstream task read by input_of(), inside another plan

    # -- input_of() ---------------------------------------------------------------------
    def resolve(self, asker: Task, task: Task):
        """The target(s) of ``task``'s committed build, or raise UpstreamPending."""
        if type(task)._is_cached():
            raise TaskDefinitionError(
                f"{asker!r} reads {task!r} with input_of()/daskflow.map, but {type(task).__name__} is a "
                f"TaskCache: it stores no output that planning could expand from; make it a stored "
                f"task (e.g. daskflow.tasks.TaskJson or TaskPickle)")
        shared = self.shared
        reading = [t for _, t in shared.resolving]
        if task in reading:
            chain = shared.resolving[reading.index(task):] + [(asker, task)]
            raise CycleError("requires() forms a cycle through input_of(): " + " -> ".join(
                f"{a!r} reads {t!r}" for a, t in chain))
        if task not in shared.resolved:
            shared.resolving.append((asker, task))
            try:
                shared.resolved[task] = self._plan_upstream(asker, task)
            finally:
                shared.resolving.pop()
        found = shared.resolved[task]
        if isinstance(found, Task):
            raise UpstreamPending(found)
        return found

    def _plan_upstream(self, asker: Task, task: Task):
        plan = self.plan
        sub = type(plan)(task, plan.store, explain=plan.explain)
        node = sub.nodes[task]
        if not type(task)._outputs:
            raise TaskDefinitionError(f"{asker!r}.requires() reads {task!r} with input_of(), but "
                                      f"{task.task_family} has no outputs to load")
        shared = self.shared
        forced = shared.forced and any(t in shared.forced for t in sub.nodes)
        if shared.all_upstream and not task.external:
            forced = True
        if node.status not in ("fresh", "external") or node.commit is None or forced:
            return task
        return _shape(task, sub.committed_targets(node))

    # -- listings ---------------------------------------------------------------------------
    def listings(self, store, queries: list) -> list:
        """``store.list_many(queries)``, each family listed once per planning pass.

        The plan of an upstream task read by ``input_of()`` lists whole families
        (``(family, None)``): the next reader of that family (a nested expansion has
        one per branch), and the outer plan, take their folders from that listing."""
        listed = self.shared.listed  # by (root, family, folder): a plan may span a few roots
        root = store.url
        wanted = []
        for family, folder in queries:
            if (root, family, folder) in listed or (root, family, None) in listed:
                continue
            wanted.append((family, None) if self.sub else (family, folder))
        wanted = list(dict.fromkeys(wanted))
        listed.update(((root, *q), found) for q, found in zip(wanted, store.list_many(wanted)))
        out = []
        for family, folder in queries:
            if (root, family, folder) in listed:
                out.append(listed[(root, family, folder)])
            else:
                whole = listed[(root, family, None)]
                out.append(whole if folder is None else {folder: whole.get(folder, [])})
        return out


@contextlib.contextmanager
def expanding(plan, force=None, forced_all=False, forced_all_upstream=False):
    """Make ``plan`` resolve ``input_of()`` while it plans (the plan enters this around its
    walk and listing); a plan made inside another one's walk shares its state."""
    outer = RESOLVER.get()
    if outer is not None:
        shared = outer.shared
    else:
        forced = [force] if isinstance(force, Task) else list(force or [])
        if forced_all:
            forced += list(plan.targets_tasks)
        shared = _Shared(frozenset(forced) | FORCING.get(), bool(forced_all_upstream))
    expansion = Expansion(plan, shared, sub=outer is not None)
    token = RESOLVER.set(expansion)
    try:
        yield expansion
    finally:
        RESOLVER.reset(token)


def mark(plan, reason) -> list:
    """Give each dynamic node of ``plan`` its status and reason; return those nodes.

    ``reason`` is the plan's Reason class (this module does not import the plan)."""
    out = []
    for node in plan.nodes.values():
        after = pending(node.task)
        if after is not None:
            node.status = "run"
            node.cutoff = {}
            node.reasons = [reason("dynamic", f"expands after {after!r}", {"after": repr(after)})]
            out.append(node)
    return out


def map(cls, over: Task, param: str, output: str | None = None, **params) -> list:
    """In ``requires()``: one ``cls`` task per value in ``over``'s output, as parameter ``param``.

    Parameters
    ----------
    cls : Task subclass
        The branch class.
    over : Task
        The upstream task whose output is the list (loaded from its committed
        build; the calling task depends on it).
    param : str
        The parameter of ``cls`` that takes each value.
    output : str, optional
        Which output of ``over`` holds the list, when it has several.
    **params
        The other parameters of every branch.

    Returns
    -------
    list of Task
        In the list's order; a repeated value gives one branch.

    Raises
    ------
    TaskDefinitionError
        When the output is not a list (or tuple, or a one-dimensional array or
        Series) of values ``param`` accepts; names the calling task, ``over``
        and the offending value.

    Examples
    --------
    >>> class Scores(daskflow.tasks.TaskJson):            # doctest: +SKIP
    ...     def requires(self):
    ...         return daskflow.map(TrainFold, over=Folds(), param="fold")
    """
    asker = REQUIRING.get()
    if asker is None:
        raise TaskDefinitionError(f"daskflow.map({cls.__name__}, over={over!r}) is for requires()")
    if not (isinstance(cls, type) and issubclass(cls, Task)):
        raise TaskDefinitionError(f"{asker!r}: daskflow.map() takes a task class, got {cls!r}")
    if param not in cls._param_defs:
        raise TaskDefinitionError(f"{asker!r}: daskflow.map({cls.__name__}, param={param!r}): "
                                  f"{cls.__name__} has no parameter {param!r}; it has: "
                                  f"{', '.join(cls._param_defs) or 'none'}")
    targets = asker.input_of(over)
    if isinstance(targets, Mapping):
        if output is None:
            raise TaskDefinitionError(f"{asker!r}: {over!r} has outputs {sorted(targets)}; say which "
                                      f"holds the list: daskflow.map(..., output=NAME)")
        targets = targets[output]
    values = _as_list(targets.load(), asker, over)
    branches = []
    for i, value in enumerate(values):
        try:
            branches.append(cls(**params, **{param: value}))
        except DaskflowError as exc:
            raise TaskDefinitionError(f"{asker!r}: item {i} of {over!r}'s output, {value!r}, is not "
                                      f"a value of {cls.__name__}.{param}: {exc}") from exc
    return list(dict.fromkeys(branches))


def _as_list(value, asker: Task, over: Task) -> list:
    """The expansion's values as a plain list, or a clear error naming both tasks."""
    if hasattr(value, "tolist") and getattr(value, "ndim", 1) == 1:  # numpy array, pandas Series
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        return list(value)
    what = f"{type(value).__module__}.{type(value).__qualname__}"
    raise TaskDefinitionError(f"{asker!r}: the output of {over!r} is a {what}, not a list of "
                              f"parameter values to expand over; save a list (or tuple, or a "
                              f"one-dimensional array or Series) of values")

