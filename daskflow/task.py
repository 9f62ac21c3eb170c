"""The Task base class and the d6tflow-shaped task classes; knows nothing of dask.

Imports ``errors``, ``params``, ``formats``, ``canonical`` and ``storage``.
A task is a value: its family (the class name, as in luigi and d6tflow) and
its significant parameters make its identity; it is immutable after
construction.  Inside ``run()`` a task has a *run context*, set by the
executor, through which ``save()``, ``saveMeta()`` and ``input()`` reach
storage.  Outside ``run()``, ``output()``, ``outputLoad()``, ``complete()``
and ``invalidate()`` ask the planner (``daskflow.plan``), imported when first
called: deciding freshness needs fingerprints, which are built on top of
this module.
"""

from __future__ import annotations

import types
from collections.abc import Mapping
from contextvars import ContextVar
from types import MappingProxyType

from . import canonical
from .errors import (FingerprintError, MissingOutputError, ParameterError, SaveError,
                     TaskDefinitionError)
from .formats import Format, get_format
from .params import Parameter
from .storage import META_NAME, Target

__all__ = ["Task", "TaskPqPandas", "TaskCSVPandas", "TaskPickle", "TaskJson",
           "TaskAggregator", "RunContext", "flatten", "UpstreamPending"]

#: Set by ``daskflow.dynamic`` while a plan evaluates ``requires()``: what resolves
#: ``input_of()`` (a hook, so this module never imports the planner).
RESOLVER: ContextVar = ContextVar("daskflow_resolver", default=None)
#: The task whose ``requires()`` is being evaluated (for ``daskflow.map``).
REQUIRING: ContextVar = ContextVar("daskflow_requiring", default=None)


class UpstreamPending(BaseException):
    """Raised in ``requires()`` by ``input_of()`` when the upstream task it reads is not built
    yet; ``deps()`` catches it and the plan expands the task after that upstream is built.
    A BaseException, so a ``requires()`` that catches Exception cannot swallow it."""

    def __init__(self, task):
        super().__init__(task)
        self.task = task


def flatten(struct) -> list:
    """Tasks (or targets) of a requires()/input() structure, in order."""
    if struct is None:
        return []
    if isinstance(struct, dict):
        return [x for v in struct.values() for x in flatten(v)]
    if isinstance(struct, (list, tuple)):
        return [x for v in struct for x in flatten(v)]
    return [struct]


def _map(struct, fn):
    if isinstance(struct, dict):
        return {k: _map(v, fn) for k, v in struct.items()}
    if isinstance(struct, (list, tuple)):
        return [_map(v, fn) for v in struct]
    return fn(struct)


def _rebuild(cls, params):
    return cls(**params)


class RunContext:
    """What a task sees of storage while its ``run()`` executes (set by the executor)."""

    def __init__(self, store, build_path: str, inputs):
        self.store = store
        self.build_path = build_path
        self.inputs = inputs
        self.saved: dict[str, str] = {}  # output name -> sha256 of its bytes
        self.sizes: dict[str, int] = {}  # file outputs: name -> size in bytes
        self.meta = None

    def path(self, name: str, fmt: Format) -> str:
        return f"{self.build_path}/{name}.{fmt.ext}"

    def save(self, task, name: str, fmt: Format, obj) -> None:
        try:
            fmt.check(obj)
            if fmt.write is not None:  # a folder format writes its files itself
                self.saved[name] = fmt.write(obj, self.store.fs, self.path(name, fmt))
                return
            data = fmt.dumps(obj)
        except Exception as exc:  # pyarrow and friends raise their own types: one error naming the output
            raise SaveError(f"{task!r}: output {name!r} ({fmt.name}) cannot take a "
                            f"{type(obj).__module__}.{type(obj).__qualname__}: {exc}") from exc
        self.saved[name] = self.store.write(self.path(name, fmt), data)
        self.sizes[name] = len(data)

    def save_meta(self, task, data: dict) -> None:
        import json

        def plain(obj):  # numpy scalars and arrays, read-only dicts: their plain values
            if hasattr(obj, "tolist"):
                return obj.tolist()
            if isinstance(obj, Mapping):
                return dict(obj)
            raise TypeError(f"{type(obj).__module__}.{type(obj).__qualname__} is not JSON-serialisable")

        try:
            payload = json.dumps(data, sort_keys=True, default=plain).encode()
        except (TypeError, ValueError) as exc:
            raise SaveError(f"{task!r}.saveMeta() needs a JSON-serialisable dict: {exc}") from exc
        self.store.write(f"{self.build_path}/{META_NAME}", payload)
        self.meta = data


class Task:
    """Base of all tasks: parameters, dependencies and typed outputs.

    Subclass a format class (``TaskPqPandas``, ``TaskPickle``...), declare
    parameters as class attributes, return upstream tasks from ``requires()``
    and write ``run()``, which loads inputs and calls ``self.save(...)``.

    Class attributes
    ----------------
    persist : list or dict
        Output names (``["x", "y"]``) in the class's format, or a format per
        output (``{"df": "parquet", "model": "pickle"}``).  Default ``["data"]``.
    external : bool
        Data someone else produces: never run; read what is committed.
    version : str, optional
        Replaces the automatic code fingerprint of this task.
    retries : int
        How many times a failing ``run()`` is retried.

    Examples
    --------
    >>> import daskflow, pandas as pd
    >>> class GetData(daskflow.tasks.TaskPqPandas):
    ...     n = daskflow.IntParameter(default=3)
    ...     def run(self):
    ...         self.save(pd.DataFrame({"x": range(self.n)}))
    >>> GetData(n="5")
    GetData(n=5)
    """

    format = "pickle"
    persist = ["data"]
    external = False
    version: str | None = None
    retries = 0
    resources: dict | None = None
    _param_defs: dict[str, Parameter] = {}
    _defaults: dict = {}
    _significant: tuple = ()
    _name_bytes: dict = {}
    _outputs: dict[str, Format] = {}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls._collect()

    @classmethod
    def _collect(cls) -> None:
        """Gather parameters along the MRO and check ``persist``; at class definition."""
        params: dict[str, Parameter] = {}
        for klass in reversed(cls.__mro__):
            for name, value in vars(klass).items():
                if isinstance(value, Parameter):
                    params[name] = value
                elif name in params:
                    del params[name]
        cls._param_defs = params
        cls._significant = tuple(n for n, p in params.items() if p.significant)
        cls._name_bytes = {name: canonical.encode(name) for name in params}
        # defaults are checked once, when the class is defined (a bad default fails here)
        cls._defaults = {name: p.check(p.default, cls.__name__) for name, p in params.items()
                         if p.has_default}
        persist = cls.persist
        if isinstance(persist, str):
            persist = [persist]
        try:
            if isinstance(persist, dict):
                outputs = {str(k): get_format(v) for k, v in persist.items()}
            else:
                fmt = get_format(cls.format)
                outputs = {str(k): fmt for k in persist}
        except SaveError as exc:
            raise TaskDefinitionError(f"task class {cls.__name__}: {exc}") from None
        for name in outputs:
            if not name or "/" in name or name.startswith(("_", ".")):
                raise TaskDefinitionError(f"task class {cls.__name__}: output name {name!r} must be "
                                          f"non-empty, without '/' and not start with '_' or '.'")
        cls._outputs = outputs

    # -- identity ---------------------------------------------------------------
    def __init__(self, *args, **kwargs):
        cls = type(self)
        defs = cls._param_defs
        if len(args) > len(defs):
            raise ParameterError(f"{cls.__name__} takes at most {len(defs)} positional "
                                 f"parameter(s) ({', '.join(defs) or 'none'}), got {len(args)}")
        for name, value in zip(defs, args):
            if name in kwargs:
                raise ParameterError(f"{cls.__name__}: parameter {name!r} given twice")
            kwargs[name] = value
        unknown = [k for k in kwargs if k not in defs]
        if unknown:
            raise ParameterError(f"{cls.__name__}: unknown parameter(s) {', '.join(map(repr, unknown))}; "
                                 f"valid parameters: {', '.join(defs) or 'none'}")
        values, missing = {}, []
        for name, p in defs.items():
            if name in kwargs:
                values[name] = p.check(kwargs[name], cls.__name__)
            elif name in cls._defaults:
                values[name] = cls._defaults[name]
            else:
                missing.append(name)
        if missing:
            raise ParameterError(f"{cls.__name__}: missing required parameter(s) "
                                 f"{', '.join(map(repr, missing))}")
        self._params = MappingProxyType(values)
        self._ctx: RunContext | None = None

    @property
    def task_family(self) -> str:
        """The class name: the task's family, as in luigi and d6tflow."""
        return type(self).__name__

    @property
    def param_kwargs(self) -> dict:
        """All parameter values (significant or not) by name."""
        return dict(self._params)

    def significant_params(self) -> dict:
        return {k: self._params[k] for k in type(self)._significant}

    @property
    def param_bytes(self) -> bytes:
        """Canonical bytes of the significant parameters (the task's identity with its family)."""
        cached = self.__dict__.get("_param_bytes")
        if cached is None:
            parts = []
            names, params = type(self)._name_bytes, self._params
            for name in type(self)._significant:
                value = params[name]
                try:
                    parts.append(names[name] + canonical.encode(value))
                except TypeError as exc:
                    raise FingerprintError(f"{self!r}: parameter {name!r} cannot be fingerprinted "
                                           f"deterministically: {exc}") from exc
            cached = self.__dict__["_param_bytes"] = b"".join(parts)
        return cached

    def __daskflow_identity__(self) -> bytes:
        return canonical.encode(self.task_family) + self.param_bytes

    def __eq__(self, other) -> bool:
        if not isinstance(other, Task):
            return NotImplemented
        return self.task_family == other.task_family and self.param_bytes == other.param_bytes

    def __hash__(self) -> int:
        return hash((self.task_family, self.param_bytes))

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={v!r}" for k, v in self._params.items())
        return f"{self.task_family}({shown})"

    def __reduce__(self):
        return (_rebuild, (type(self), dict(self._params)))

    def clone(self, cls=None, **kwargs) -> "Task":
        """A task of class ``cls`` (default: this one) with the parameters of this task that
        ``cls`` declares, overridden by ``kwargs``."""
        cls = cls or type(self)
        params = {k: v for k, v in self._params.items() if k in cls._param_defs}
        params.update(kwargs)
        return cls(**params)  # normalised values normalise to themselves

    # -- the user's side ------------------------------------------------------------
    def requires(self):
        """Upstream tasks: one task, a list or a dict of tasks.  Default: none."""
        return []

    def run(self):
        """Compute and ``self.save(...)`` the outputs."""
        raise NotImplementedError(f"{self.task_family} has no run() method")

    def deps(self) -> list["Task"]:
        """The upstream tasks, flattened, checked to be tasks."""
        state = self.__dict__  # derived state of this evaluation (see input_of())
        state.pop("_reads", None)
        state.pop("_pending", None)
        token = REQUIRING.set(self)
        try:
            struct = self.requires()
            if isinstance(struct, types.GeneratorType):  # luigi takes any iterable: a generator too
                struct = list(struct)
            deps = flatten(struct)
        except UpstreamPending as signal:  # dynamic: expanded once signal.task is built
            state["_pending"] = signal.task
            struct, deps = None, []
        except Exception as exc:
            raise TaskDefinitionError(f"{self!r}.requires() raised {type(exc).__name__}: {exc}") from exc
        finally:
            REQUIRING.reset(token)
        for d in deps:
            if not isinstance(d, Task):
                raise TaskDefinitionError(f"{self!r}.requires() returned {d!r}, which is not a task; "
                                          f"return a task instance, a list or a dict of them")
        self.__dict__["_requires"] = struct  # derived state: the executor binds inputs to it
        reads = state.get("_reads")  # what input_of() read is upstream too (an aggregator: only what it groups)
        if not reads or (isinstance(self, TaskAggregator) and "_pending" not in state):
            return deps
        return deps + [t for t in dict.fromkeys(reads) if t not in deps]

    def _struct(self):
        """What requires() returns (a generator made a list), as the plan saw it."""
        if "_requires" not in self.__dict__:
            self.deps()
        return self.__dict__["_requires"]

    def input_of(self, task: "Task"):
        """In ``requires()``: the output of an upstream task, for a list of branches known
        only once that task has run (dynamic branches, see ``daskflow.dynamic``).

        Parameters
        ----------
        task : Task
            The task whose committed output ``requires()`` reads; it becomes an
            upstream task of this one (its result counts in this one's freshness).

        Returns
        -------
        Target or dict of Target
            As ``task.output()``: the build of ``task`` for today's code.  While
            ``task`` is not built (or is forced), planning stops here: this task
            shows as "expands after task" and ``daskflow.run`` builds ``task``
            first, then plans this task again.  Outside planning (``input()`` in a
            notebook) it is ``task.output()``, whose ``load()`` raises NotBuiltError
            when ``task`` is not built.

        Examples
        --------
        >>> class Scores(daskflow.tasks.TaskJson):        # doctest: +SKIP
        ...     def requires(self):
        ...         folds = self.input_of(Folds()).load()
        ...         return [TrainFold(fold=f) for f in folds]
        """
        if not isinstance(task, Task):
            raise TaskDefinitionError(f"{self!r}.input_of() takes a task instance, got {task!r}")
        self.__dict__.setdefault("_reads", []).append(task)
        resolver = RESOLVER.get()
        if resolver is None:  # not planning (input() in a notebook): today's build, if any
            return task.output()
        return resolver.resolve(self, task)

    # -- inside run() ----------------------------------------------------------------
    def _context(self, what: str) -> RunContext:
        if self._ctx is None:
            raise MissingOutputError(f"{self!r}.{what}() can only be called inside run(); "
                                     f"use daskflow.run({self!r}) to build it")
        return self._ctx

    def save(self, data, **kwargs) -> None:
        """Save the output(s): one object, or a dict by output name for several outputs."""
        ctx = self._context("save")
        outputs = type(self)._outputs
        if not outputs:
            raise SaveError(f"{self!r} declares no outputs (persist is empty); nothing to save")
        (name,) = outputs if len(outputs) == 1 else (None,)
        if name == "data" or (name and not (isinstance(data, dict) and set(data) == {name})):
            data = {name: data}  # one output: the object whole (a dict too, for the default name)
        if not isinstance(data, dict) or set(data) != set(outputs):
            given = sorted(data) if isinstance(data, dict) else type(data).__name__
            raise SaveError(f"{self!r}.save() needs a dict with exactly the outputs "
                            f"{sorted(outputs)}; got {given}")
        for name, obj in data.items():
            ctx.save(self, name, outputs[name], obj)

    def saveMeta(self, data: dict) -> None:
        """Store a small JSON-serialisable dict next to the outputs."""
        self._context("saveMeta").save_meta(self, data)

    def input(self):
        """Targets of the upstream tasks, in the shape ``requires()`` returns."""
        if self._ctx is not None:
            return self._ctx.inputs
        return _map(self._struct(), lambda t: t.output())

    def inputLoad(self, keys=None, task=None, cached=False, as_dict=False):
        """Load the inputs, in the shape of ``requires()``; ``task`` picks one key of a dict."""
        inputs, req = self.input(), self._struct()
        if task is not None:
            inputs, req = inputs[task], req[task]
        if isinstance(req, dict):
            return {k: _load(inputs[k], keys, as_dict) for k in req}
        if isinstance(req, (list, tuple)):
            return [_load(i, keys, as_dict) for i in inputs]
        return _load(inputs, keys, as_dict)

    # -- outside run(): ask the planner -------------------------------------------------
    def output(self):
        """The output target, or a dict of targets by name for several outputs."""
        if self._ctx is not None:
            targets = {n: Target(self._ctx.store, self._ctx.path(n, f), f, self)
                       for n, f in type(self)._outputs.items()}
        else:
            from .plan import resolve_targets

            targets = resolve_targets(self)
        return _shape(self, targets)

    def outputLoad(self, keys=None, as_dict=False, cached=False):
        """Load the outputs; refuses a task not built for today's code and parameters."""
        from .plan import resolve_targets

        return _load(_shape(self, resolve_targets(self, strict=True)), keys, as_dict)

    def outputLoadMeta(self) -> dict:
        """The dict stored by ``saveMeta()`` in the current build, without loading data."""
        from .plan import load_meta

        return load_meta(self)

    def complete(self) -> bool:
        """True when the outputs are built for today's code, parameters and inputs."""
        from .plan import is_complete

        return is_complete(self)

    def invalidate(self, confirm=None) -> None:
        """Make this task stale: remove its builds for today's code (never prompts)."""
        from .plan import invalidate

        invalidate([self])

    reset = invalidate


def _shape(task, targets: dict):
    if len(targets) == 1 and list(type(task)._outputs) == ["data"]:
        return targets["data"]
    return targets


def _load(targets, keys, as_dict):
    if isinstance(targets, Target):
        return targets.load()
    if isinstance(targets, list):  # an aggregator's outputs
        return [_load(t, keys, as_dict) for t in targets]
    names = keys or list(targets)
    data = {k: targets[k].load() for k in names}
    return data if as_dict else list(data.values())


class TaskPqPandas(Task):
    """A task whose output is a pandas DataFrame stored as parquet."""

    format = "parquet"


class TaskCSVPandas(Task):
    """A task whose output is a pandas DataFrame stored as CSV."""

    format = "csv"


class TaskPickle(Task):
    """A task whose output is any picklable object."""

    format = "pickle"


class TaskJson(Task):
    """A task whose output is JSON-serialisable."""

    format = "json"


class TaskAggregator(Task):
    """A task with no output of its own that groups others.

    Its upstream tasks are those ``requires()`` returns, or those ``run()``
    yields (d6tflow's spelling).  It is complete when they all are.
    """

    persist = []

    def requires(self):
        return list(self.run() or [])

    def run(self):
        return []

    def output(self):
        return [t.output() for t in self.deps()]

    def outputLoad(self, keys=None, as_dict=False, cached=False):
        return [t.outputLoad(keys=keys, as_dict=as_dict) for t in self.deps()]

    def invalidate(self, confirm=None) -> None:
        from .plan import invalidate

        invalidate(self.deps())

    reset = invalidate
