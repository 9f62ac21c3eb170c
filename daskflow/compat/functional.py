"""d6tflow's functional flows: ``flow = Workflow(); @flow.task(TaskCache) def step(task): ...``.

Imports ``errors``, ``task``, ``inherit``, ``plan``, ``outputs``, ``graph`` and ``report``.  A thin
layer over the class API: the decorators under ``@flow.task`` (``requires``,
``persists``, ``params``) record what the step needs on the function, and
``@flow.task(TaskX)``, outermost, makes the task class: named after the
function (its family), with the function as ``run(self)``.  Everything else
(freshness, formats, TaskCache) is the class API's.  d6tflow's ``delete`` and
``deleteAll`` (remove every file of a family) are not provided: use
``reset`` or ``daskflow.gc``.

Examples
--------
>>> import daskflow as d6tflow, pandas as pd
>>> from daskflow.functional import Workflow
>>> flow = Workflow()
>>> @flow.task(d6tflow.tasks.TaskCache)
... def get_data(task):
...     task.save(pd.DataFrame({"a": range(3)}))
>>> flow.steps["get_data"].__name__
'get_data'
"""

from __future__ import annotations

from ..errors import ParameterError, TaskDefinitionError
from ..graph import run as _run
from ..inherit import requires as _requires
from ..outputs import targets
from ..plan import Plan
from ..report import preview as _preview
from ..task import Task, _load, targets_of

__all__ = ["Workflow"]

_PENDING = "__daskflow_step__"


def _pending(func) -> dict:
    if not callable(func):
        raise TaskDefinitionError(f"functional flow decorators take a function, got {func!r}")
    return func.__dict__.setdefault(_PENDING, {"requires": None, "persist": None, "params": {}})


class Workflow:
    """A functional flow: each decorated function is a task; see the module docstring."""

    def __daskflow_token__(self) -> str:
        """A step's code names its flow (``@flow.task(...)``): the flow counts as itself, not by
        the steps it holds (each step's code counts in its own fingerprint)."""
        return "functional flow"

    def __init__(self):
        self.steps: dict[str, type[Task]] = {}
        self.instantiated_tasks: dict[str, Task] = {}
        self.multi_params = None
        self.multi_params_tasks: dict = {}
        self.params_used: dict[str, list] = {}

    # -- decorators -----------------------------------------------------------------------------
    def task(self, task_type: type[Task]):
        """Make the decorated function a task of class ``task_type`` (outermost decorator)."""
        if not (isinstance(task_type, type) and issubclass(task_type, Task)):
            raise TaskDefinitionError(f"flow.task() takes a task class such as d6tflow.tasks.TaskCache, "
                                      f"got {task_type!r}")

        def decorate(func):
            spec = _pending(func)
            attrs = {"run": func, "__module__": func.__module__, "__qualname__": func.__qualname__,
                     "__doc__": func.__doc__, **spec["params"]}
            if spec["persist"] is not None:
                attrs["persist"] = list(spec["persist"])
            cls = type(func.__name__, (task_type,), attrs)
            if spec["requires"] is not None:
                args, kwargs = spec["requires"]
                cls = _requires(*args, **kwargs)(cls)
            self.steps[func.__name__] = cls
            return func

        return decorate

    def _step(self, func) -> type[Task]:
        name = func if isinstance(func, str) else getattr(func, "__name__", None)
        if name not in self.steps:
            raise ParameterError(f"{name!r} is not a step of this flow; decorate it with "
                                 f"@flow.task(...) first (steps: {', '.join(self.steps) or 'none'})")
        return self.steps[name]

    def requires(self, *funcs):
        """The upstream steps: ``@flow.requires(f)``, ``(f, g)`` or ``({"a": f, "b": g})``."""
        if len(funcs) == 1 and isinstance(funcs[0], dict):
            args = ({k: self._step(f) for k, f in funcs[0].items()},)
        else:
            args = tuple(self._step(f) for f in funcs)

        def decorate(func):
            _pending(func)["requires"] = (args, {})
            return func

        return decorate

    def persists(self, to_persist: list):
        """The step's output names (d6tflow's ``persist``)."""
        def decorate(func):
            _pending(func)["persist"] = list(to_persist)
            return func

        return decorate

    def params(self, **params):
        """Parameters of one step: ``@flow.params(n=d6tflow.IntParameter(default=1))``."""
        def decorate(func):
            _pending(func)["params"].update(params)
            return func

        return decorate

    def add_global_params(self, **params) -> None:
        """Declare parameters on every step of the flow (already made)."""
        for cls in self.steps.values():
            for name, param in params.items():
                copy = type(param)(default=param.default, significant=param.significant,
                                   description=param.description)
                copy.__set_name__(cls, name)
                setattr(cls, name, copy)
            cls._collect()

    # -- running and loading --------------------------------------------------------------------
    def _instantiate(self, funcs: list, params: dict | None) -> list[Task]:
        made = []
        for func in funcs:
            cls = self._step(func)
            given = dict(params or {})
            made.append(cls(**{k: v for k, v in given.items() if k in cls._param_defs}))
            self.instantiated_tasks[cls.__name__] = made[-1]
            self.params_used.setdefault(cls.__name__, []).append(given)
        return made

    def run(self, funcs_to_run, params: dict | None = None, multi_params: dict | None = None, **kwargs):
        """Run the steps (a function or a list) with ``params``, or once per experiment of
        ``multi_params`` (all in one dask graph); see :func:`daskflow.run`."""
        funcs = funcs_to_run if isinstance(funcs_to_run, list) else [funcs_to_run]
        if multi_params:
            self.multi_params = multi_params
            self.multi_params_tasks = {name: self._instantiate(funcs, p)[-1] for name, p in multi_params.items()}
            return _run(list(self.multi_params_tasks.values()), **kwargs)
        self.multi_params, self.multi_params_tasks = None, {}
        return _run(self._instantiate(funcs, params), **kwargs)

    def preview(self, func_to_preview, params: dict | None = None) -> None:
        _preview(self._step(func_to_preview)(**(params or {})))

    def _ran(self, func) -> Task:
        name = self._step(func).__name__
        if name not in self.instantiated_tasks:
            raise ParameterError(f"the step {name} has not been run yet: run it with flow.run({name})")
        return self.instantiated_tasks[name]

    def outputLoad(self, func_to_run, params: dict | None = None, *args, **kwargs):
        """The outputs of a step: of the task it last ran as, or, with ``params``, of the step
        with those parameters (d6tflow's signature); ``keys``, ``as_dict``... as in Task's."""
        if params is not None:
            return self._instantiate([func_to_run], params)[-1].outputLoad(*args, **kwargs)
        if self.multi_params:
            return {k: t.outputLoad(*args, **kwargs) for k, t in self.multi_params_tasks.items()}
        return self._ran(func_to_run).outputLoad(*args, **kwargs)

    def outputLoadAll(self, func_to_run, keys=None, as_dict=False, **kwargs):
        tops = list(self.multi_params_tasks.items()) if self.multi_params else [(None, self._ran(func_to_run))]
        out = {}
        for name, top in tops:
            plan = Plan(top)
            out[name] = {n.family: _load(targets_of(n.task, targets(n.task, True, plan.store)), keys, as_dict)
                         for n in plan.nodes.values() if not n.aggregate}
        return out[None] if not self.multi_params else out

    def reset(self, func_to_reset, params: dict | None = None, confirm=None):
        """Reset the step with ``params``, or with every parameter set it ran with."""
        cls = self._step(func_to_reset)
        sets = [params] if params else self.params_used.get(cls.__name__, [{}])
        return [cls(**{k: v for k, v in p.items() if k in cls._param_defs}).reset() for p in sets]

    def resetAll(self, confirm=None) -> None:
        for name in self.steps:
            self.reset(name)
