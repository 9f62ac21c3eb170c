"""d6tflow's ``Workflow`` and ``WorkflowMulti``: a task class plus parameters.

Imports ``config``, ``errors``, ``task``, ``plan``, ``outputs``, ``graph`` and ``report``.
A workflow applies one parameter dict to every task class it is asked about
(each class takes the parameters it declares); a multi-experiment workflow
runs every experiment in one dask graph, so upstream tasks they share run
once.  ``path=`` and ``env=`` put the workflow's outputs under another root
(``path``, then an ``env=NAME`` folder), as d6tflow does: the workflow's task
instances carry that root, and a plan takes its root from its targets.
"""

from __future__ import annotations

import html
import itertools
import os

from . import outputs
from .config import resolve_root
from .errors import NoTaskError, ParameterError
from .graph import run as _run
from .plan import Plan
from .report import preview as _preview
from .result import MultiRunResult
from .task import Task, _load, targets_of

__all__ = ["Workflow", "WorkflowMulti"]


def _arguments(args, task, params):
    """Accept ``Workflow(Task, params)`` and d6tflow's ``Workflow(params, task=Task)``."""
    if len(args) > 2:
        raise ParameterError(f"a workflow takes a task class and parameters, got {len(args)} arguments")
    for arg in args:
        if isinstance(arg, dict):
            params = arg
        elif isinstance(arg, list) and not any(isinstance(a, type) for a in arg):
            params = arg
        else:
            task = arg
    return task, params


def _root(task, path, env):
    """d6tflow's root of a workflow: ``path`` (else the task's or the project's), then ``env=NAME``."""
    if env is None:
        return None if path is None else str(path)
    base = path if path is not None else getattr(task, "path", None)
    if base is None:  # the root in force, as the Store sees it (a relative one is from here)
        base = resolve_root()[0]
        base = base if "://" in base else os.path.abspath(base)
    return f"{str(base).rstrip('/')}/env={env}"


class Workflow:
    """A task class with one set of parameters.

    Parameters
    ----------
    task : Task class, optional
        The default task of ``run()``, ``outputLoad()``...
    params : dict, optional
        Parameters; each task class takes those it declares.
    path, env : str, optional
        Store the workflow's outputs under ``path`` (a URL, or a folder
        relative to the project's folder) and then ``env=NAME``.

    Examples
    --------
    >>> flow = daskflow.Workflow(Train, {"do_preprocess": False})  # doctest: +SKIP
    >>> flow.run(); model = flow.outputLoad()                        # doctest: +SKIP
    """

    def __init__(self, *args, task=None, params=None, path=None, env=None):
        task, params = _arguments(args, task, params)
        if task is not None and not (isinstance(task, type) and issubclass(task, Task)):
            raise ParameterError(f"Workflow takes one task class, got {task!r}; pass a list of "
                                 f"tasks to run(tasks=[...]) instead")
        self.default_task = task
        self.params = dict(params or {})
        self.path = _root(task, path, env)
        self.flows: dict = {}
        if task is not None:
            self._check_params(task)

    def __repr__(self) -> str:
        name = self.default_task.__name__ if self.default_task else None
        where = f", path={self.path!r}" if self.path else ""
        return f"Workflow({name}, {self.params!r}{where})"

    def _repr_html_(self) -> str:
        rows = "".join(f"<tr><td>{html.escape(str(k))}</td><td>{html.escape(repr(v))}</td></tr>"
                       for k, v in self.params.items()) or "<tr><td colspan=2>(defaults)</td></tr>"
        name = self.default_task.__name__ if self.default_task else "no default task"
        where = f" &middot; root {html.escape(self.path)}" if self.path else ""
        return (f"<div><b>Workflow</b> {html.escape(name)}{where}<table><tr><th>parameter</th>"
                f"<th>value</th></tr>{rows}</table></div>")

    def set_default(self, task) -> None:
        self.default_task = task

    def attach_flow(self, flow=None, flow_name: str = "flow") -> None:
        """Give this workflow's tasks ``self.flows[flow_name]`` (another workflow) in ``run()``."""
        self.flows[flow_name] = flow

    def _class(self, task):
        cls = task or self.default_task
        if cls is None:
            raise NoTaskError("no task given and no default task set for this workflow: pass "
                              "Workflow(task=...) or call set_default(Task)")
        return cls

    def _check_params(self, cls) -> None:
        """Every parameter must be one the workflow's task takes (and passes up as it will);
        one that only an upstream class declares would be silently ignored by the run."""
        unknown = sorted(set(self.params) - set(cls._param_defs))
        if not unknown:
            return
        where, todo, seen = {}, [self._instance(cls)], set()
        while todo:
            t = todo.pop()
            if t not in seen:
                seen.add(t)
                for name in unknown:
                    if name in type(t)._param_defs:
                        where.setdefault(name, set()).add(t.task_family)
                todo.extend(t.deps())
        detail = "; ".join(f"{n!r} is declared only by {', '.join(sorted(where[n]))}" if n in where
                           else f"{n!r} is declared by no task of this workflow" for n in unknown)
        raise ParameterError(f"workflow of {cls.__name__}: parameter(s) {unknown} would be ignored "
                             f"({detail}); {cls.__name__} takes: {sorted(cls._param_defs)}. Declare "
                             f"them on {cls.__name__} (e.g. with @daskflow.requires) to pass them up")

    def _instance(self, cls) -> Task:
        extras = {"path": self.path} if self.path is not None else {}
        return cls(**{k: v for k, v in self.params.items() if k in cls._param_defs},
                   **extras, flows=self.flows)

    def get_task(self, task=None) -> Task:
        """The task instance of ``task`` (default: the workflow's task) with these parameters."""
        return self._instance(self._class(task))

    def _tasks(self, tasks) -> list[Task]:
        if tasks is None:
            return [self.get_task()]
        if isinstance(tasks, (list, tuple)):
            return [self.get_task(t) for t in tasks]
        return [self.get_task(tasks)]

    def run(self, tasks=None, forced=None, forced_all=False, forced_all_upstream=False,
            confirm=None, **kwargs):
        """Run the workflow's task (or ``tasks``); see :func:`daskflow.run` (never prompts)."""
        force = [self.get_task(f) if isinstance(f, type) else f
                 for f in (forced if isinstance(forced, (list, tuple)) else [forced] if forced else [])]
        return _run(self._tasks(tasks), force=force or None, forced_all=forced_all,
                    forced_all_upstream=forced_all_upstream, **kwargs)

    def preview(self, tasks=None, indent="", last=True, show_params=True, clip_params=False,
                **kwargs) -> None:
        """Print the tree of the task(s) with each one's status (d6tflow's display options
        other than ``clip_params`` are accepted; every task's parameters are shown)."""
        _preview(self._tasks(tasks), clip_params=clip_params, **kwargs)

    def complete(self, task=None) -> bool:
        return self.get_task(task).complete()

    def output(self, task=None):
        return self.get_task(task).output()

    def outputPath(self, task=None):
        out = self.output(task)
        return {k: t.path for k, t in out.items()} if isinstance(out, dict) else out.path

    def outputLoad(self, task=None, keys=None, as_dict=False, cached=False):
        return self.get_task(task).outputLoad(keys=keys, as_dict=as_dict)

    def outputLoadMeta(self, task=None) -> dict:
        """The metadata the task saved (``metaSave``), without loading its data."""
        return self.get_task(task).outputLoadMeta()

    def outputLoadAllMeta(self, task=None) -> dict:
        """The metadata of the task and every task upstream, by task family."""
        return self.get_task(task).outputLoadAllMeta()

    def outputLoadAll(self, task=None, keys=None, as_dict=False, cached=False) -> dict:
        """Outputs of the task and everything upstream, by task family."""
        plan = Plan(self.get_task(task))  # every task in the root of the workflow's task
        return {n.family: _load(targets_of(n.task, outputs.targets(n.task, True, plan.store)), keys, as_dict)
                for n in plan.nodes.values() if not n.aggregate}

    def reset(self, task=None, confirm=None) -> bool:
        """Make the task stale (see ``Task.invalidate``); True, as d6tflow returns."""
        return self.get_task(task).invalidate()

    def reset_upstream(self, task=None, confirm=None) -> bool:
        outputs.invalidate_upstream(self.get_task(task))
        return True

    def reset_downstream(self, task=None, task_downstream=None, confirm=None) -> bool:
        outputs.invalidate_downstream(self.get_task(task), self.get_task(task_downstream))
        return True


def grid(lists: dict) -> dict:
    """Every combination of the lists in ``lists``, named ``{key}_{value}_...`` with the keys
    in sorted order, as d6tflow names them (``{"lr": [0.1], "depth": [1]}``: ``depth_1_lr_0.1``)."""
    keys = sorted(lists)
    return {"_".join(f"{k}_{v}" for k, v in zip(keys, combo)): dict(zip(keys, combo))
            for combo in itertools.product(*(lists[k] for k in keys))}


class WorkflowMulti:
    """Several experiments (parameter sets) of one task class, run in one graph.

    ``params`` is a dict of experiment name -> parameters, a list (experiments
    named 0, 1, ...), or a grid ``{"model": ["ols", "gbm"], ...}`` whose
    experiments are named as d6tflow names them (:func:`grid`: ``depth_1_model_ols``).  Every method takes ``flow=`` (one
    experiment); without it, it acts on all and returns a dict by experiment.
    """

    def __init__(self, *args, task=None, params=None, path=None, env=None):
        task, params = _arguments(args, task, params)
        if not params:
            raise ParameterError("WorkflowMulti needs experiments: a dict of name -> parameters")
        if isinstance(params, list):
            params = dict(enumerate(params))
        elif all(isinstance(v, list) for v in params.values()):
            params = grid(params)
        self.default_task = task
        self.params = params
        self.workflows = {name: Workflow(task, p, path=path, env=env) for name, p in params.items()}
        self.workflow_objs = self.workflows  # d6tflow's name

    def __repr__(self) -> str:
        name = self.default_task.__name__ if self.default_task else None
        return f"WorkflowMulti({name}, experiments={list(self.workflows)!r})"

    def _repr_html_(self) -> str:
        name = self.default_task.__name__ if self.default_task else "no default task"
        rows = "".join(f"<tr><td>{html.escape(str(k))}</td><td>{html.escape(repr(w.params))}</td></tr>"
                       for k, w in self.workflows.items())
        return (f"<div><b>WorkflowMulti</b> {html.escape(name)}, {len(self.workflows)} experiments"
                f"<table><tr><th>experiment</th><th>parameters</th></tr>{rows}</table></div>")

    def set_default(self, task) -> None:
        self.default_task = task
        for flow in self.workflows.values():
            flow.set_default(task)

    def attach_flow(self, flow=None, flow_name: str = "flow") -> None:
        for w in self.workflows.values():
            w.attach_flow(flow, flow_name)

    def _each(self, flow, fn):
        if flow is not None:
            return fn(self.workflows[flow])
        return {name: fn(w) for name, w in self.workflows.items()}

    def get_task(self, task=None, flow=None):
        return self._each(flow, lambda w: w.get_task(task))

    def get_flow(self, flow) -> Workflow:
        """The Workflow of experiment ``flow`` (d6tflow's)."""
        if flow not in self.workflows:
            raise ParameterError(f"WorkflowMulti has no experiment {flow!r}; its experiments: "
                                 f"{', '.join(map(repr, self.workflows))}")
        return self.workflows[flow]

    def run(self, tasks=None, flow=None, forced=None, forced_all=False, forced_all_upstream=False,
            confirm=None, **kwargs):
        """Run one experiment (its RunResult), or all of them in one graph (shared tasks run
        once): ``{experiment: RunResult}`` as d6tflow returns, a :class:`MultiRunResult`
        that also has the whole run's ``ran``, ``failed``..."""
        names = [flow] if flow is not None else list(self.workflows)
        each = {name: self.workflows[name]._tasks(tasks) for name in names}
        wanted = forced if isinstance(forced, (list, tuple)) else [forced] if forced is not None else []
        force = [self.workflows[n].get_task(f) if isinstance(f, type) else f for f in wanted for n in names] or None
        combined = _run([t for ts in each.values() for t in ts], force=force, forced_all=forced_all,
                        forced_all_upstream=forced_all_upstream, **kwargs)
        if flow is not None:  # one experiment: its RunResult, as d6tflow returns luigi's
            return combined
        return MultiRunResult(combined, {name: combined.subset(_closure(ts)) for name, ts in each.items()})

    def preview(self, tasks=None, flow=None, indent="", last=True, show_params=True,
                clip_params=False, **kwargs):
        """Print one experiment's tree, or each one's: ``{experiment: None}`` as d6tflow returns."""
        if flow is not None:
            return _preview(self.workflows[flow]._tasks(tasks), clip_params=clip_params, **kwargs)
        out = {}
        for name, w in self.workflows.items():
            print(f"{name}:")
            out[name] = _preview(w._tasks(tasks), clip_params=clip_params, **kwargs)
        return out

    def outputLoad(self, task=None, flow=None, keys=None, as_dict=False, cached=False):
        return self._each(flow, lambda w: w.outputLoad(task, keys, as_dict))

    def outputLoadMeta(self, task=None, flow=None):
        return self._each(flow, lambda w: w.outputLoadMeta(task))

    def outputLoadAll(self, task=None, flow=None, keys=None, as_dict=False, cached=False):
        return self._each(flow, lambda w: w.outputLoadAll(task, keys, as_dict))

    def outputPath(self, task=None, flow=None):
        return self._each(flow, lambda w: w.outputPath(task))

    def complete(self, task=None, flow=None):
        return self._each(flow, lambda w: w.complete(task))

    def reset(self, task=None, flow=None, confirm=None):
        """True for one experiment (``flow=``), else ``{experiment: True}``, as d6tflow returns."""
        return self._each(flow, lambda w: w.reset(task))

    def reset_upstream(self, task=None, flow=None, confirm=None):
        return self._each(flow, lambda w: w.reset_upstream(task))

    def reset_downstream(self, task=None, task_downstream=None, flow=None, confirm=None):
        return self._each(flow, lambda w: w.reset_downstream(task, task_downstream))


def _closure(tasks) -> set:
    """``tasks`` and everything upstream of them."""
    seen, todo = set(), list(tasks)
    while todo:
        task = todo.pop()
        if task not in seen:
            seen.add(task)
            todo.extend(task.deps())
    return seen
