"""The Task base class and the d6tflow-shaped task classes; knows nothing of planning or dask.

Imports ``errors``, ``params``, ``formats``, ``canonical``, ``context``,
``taskdef``, ``luigi_names`` and ``taskio``.  A task is a value: its family (the
class name, as in luigi and d6tflow) and its significant parameters make its
identity; it is immutable after construction.  What it does with its data
(``save()``, ``inputLoad()``, ``outputLoad()``, ``complete()``...) is the
:class:`daskflow.taskio.TaskIO` mixin: through the run context inside ``run()``,
through the planner registered with :func:`set_planner` outside it.
"""

from __future__ import annotations

import types
from types import MappingProxyType

from . import canonical
from .context import RunContext, flatten, map_struct, targets_of  # noqa: F401
from .errors import FingerprintError, ParameterError, RequiresError, SaveError, TaskDefinitionError
from .formats import Format, get_format, target_format
from .luigi_names import LuigiNames, config_defaults
from .params import Parameter
from .target import load_targets as _load  # noqa: F401  (collection and workflow load through it)
from .redefined import note_class
from .taskdef import (_OVERRIDES, _check_default, _from_luigi, class_overrides,  # noqa: F401
                      REQUIRING, RESOLVER, UpstreamPending, options_for, own_store, parameter_tables,
                      root_url)
from .taskio import TaskIO, _planner, set_planner  # noqa: F401  (outputs registers through set_planner)

__all__ = ["Task", "TaskAggregator", "RunContext", "flatten", "set_planner", "own_store", "UpstreamPending"]

_UNWALKED = object()  # Task._requires before deps() ran


def _map(struct, fn):  # kept for the executor's imports
    return map_struct(struct, fn)


def _shape(task, targets: dict):
    return targets_of(task, targets)


def _rebuild(cls, params, extras=None):
    return cls(**params, **(extras or {}))



_FOREIGN: list = []  # [adapt]: turns a foreign task in requires() (a luigi task) into a Task


def set_foreign_adapter(adapt) -> None:
    """Register ``adapt(obj) -> Task | obj`` for objects of requires() that are not tasks
    (``daskflow.rawfiles`` registers luigi's tasks); an object it returns unchanged is refused."""
    _FOREIGN[:] = [adapt]

class Task(LuigiNames, TaskIO):
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
    path : str, optional
        Store this task's outputs under another root (d6tflow's ``path``);
        ``Task(path=...)`` sets it for one instance and the tasks it clones.

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
    path: str | None = None
    flows = MappingProxyType({})  # workflows attached with Workflow.attach_flow, by name
    _given_path = False
    _param_defs: dict[str, Parameter] = {}
    _luigi_order: tuple = ()  # the parameters in luigi's order (positional arguments, get_params)
    _defaults: dict = {}
    _significant: tuple = ()
    _checks: tuple = ()
    _encoders: tuple = ()
    _slug: tuple = ()
    _has_paths = False
    _ctx: RunContext | None = None  # set by the executor (or a direct build) while it runs
    _pbytes: bytes | None = None  # param_bytes and the hash, computed once per instance
    _hash: int | None = None
    _requires = _UNWALKED  # set by deps() on the instance: what requires() returned
    _superseded = False  # set on a class defined again (see daskflow.redefined)
    _reads: list | None = None
    _pending = None
    _name_bytes: dict = {}
    _outputs: dict[str, Format] = {}
    _family = "Task"

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls._collect()
        note_class(cls)

    @classmethod
    def _settle(cls) -> None:
        """Gather the parameters again if some were set on the class after its definition
        (``luigi.util.inherits``/``requires`` applied to a task class ``setattr`` them)."""
        defs = cls._param_defs
        for klass in cls.__mro__:
            if any(k not in defs and (isinstance(v, Parameter) or type(v).__module__ == "luigi.parameter")
                   for k, v in vars(klass).items()):
                cls._collect(by_creation=True)
                break
        cls._settled = True

    @classmethod
    def _collect(cls, by_creation: bool = False) -> None:
        """Gather parameters along the MRO and check ``persist``; at class definition.
        ``by_creation``: a class given parameters after its definition (``inherits``,
        ``requires``) binds positional arguments in the order they were made, inherited ones
        first, as luigi does (``_luigi_order``); ``repr`` and its identity keep the
        declaration order."""
        params: dict[str, Parameter] = {}
        for klass in reversed(cls.__mro__):
            for name, value in list(vars(klass).items()):
                if type(value).__module__ == "luigi.parameter":  # d6tflow projects declare luigi's
                    value = _from_luigi(cls, klass, name, value)
                if isinstance(value, Parameter):
                    params[name] = value
                elif name in params:
                    del params[name]
        for reserved in ("path", "flows"):
            if reserved in params and not (reserved == "path" and cls.__dict__.get("raw_file")):
                raise TaskDefinitionError(f"task class {cls.__name__}: {reserved!r} is not a parameter "
                                          f"name: it is the task's storage root / attached workflows")
        namespace = getattr(cls, "task_namespace", None)  # luigi's: family "ns.Name", its own folder
        cls._family = f"{namespace}.{cls.__name__}" if namespace else cls.__name__
        params = config_defaults(cls, params)  # luigi.cfg's [Family] defaults, where luigi is used
        parameter_tables(cls, params)
        cls._luigi_order = tuple(sorted(params, key=lambda n: getattr(params[n], "_order", 0))) if by_creation \
            else tuple(params)  # _param_defs, _significant, _checks, _encoders, _slug...
        persist = getattr(cls, "persists", None) or cls.persist  # d6tflow's alias wins, as there
        if "persists" in cls.__dict__:
            cls.persist = persist
        if isinstance(persist, str):
            persist = [persist]
        try:
            if isinstance(persist, dict):
                outputs = {str(k): get_format(v) for k, v in persist.items()}
            else:  # d6tflow's target_class (with target_ext), else the format's name
                target = getattr(cls, "target_class", None)
                fmt = (target_format(target, str(getattr(cls, "target_ext", None) or "data"))
                       if target is not None else get_format(cls.format))
                outputs = {str(k): fmt for k in persist}
        except SaveError as exc:
            raise TaskDefinitionError(f"task class {cls.__name__}: {exc}") from None
        for name in outputs:
            if not name or "/" in name or name.startswith(("_", ".")):
                raise TaskDefinitionError(f"task class {cls.__name__}: output name {name!r} must be "
                                          f"non-empty, without '/' and not start with '_' or '.'")
        cls._outputs = outputs

    @classmethod
    def _is_cached(cls) -> bool:
        """True when the outputs stay in memory (TaskCache): no output format is stored."""
        known = cls.__dict__.get("_in_memory")  # this class's own, never a base's
        if known is None or known[0] is not cls._outputs:  # decided again after @requires
            known = (cls._outputs, bool(cls._outputs) and not any(f.stored for f in cls._outputs.values()))
            cls._in_memory = known
        return known[1]

    @classmethod
    def _output_files(cls) -> tuple:
        """``{name}.{ext}`` of each output: one tuple per class (a commit found intact for it
        remembers it, see :meth:`daskflow.listing.Commit.intact`)."""
        known = cls.__dict__.get("_files_of")  # this class's own, never a base's
        if known is None or known[0] is not cls._outputs:  # made again after @requires
            known = cls._files_of = (cls._outputs, tuple(f"{n}.{f.ext}" for n, f in cls._outputs.items()))
        return known[1]

    # -- identity ---------------------------------------------------------------
    def __init__(self, *args, path=None, flows=None, **kwargs):
        cls = type(self)
        if "_settled" not in cls.__dict__:  # once per class, at its first instance
            cls._settle()
        defs = cls._param_defs
        if path is not None and "path" in defs:  # a raw input file's own path parameter
            kwargs["path"], path = path, None
        overrides = _OVERRIDES.get()
        if overrides and cls in overrides:  # see class_overrides
            kwargs = {**kwargs, **overrides[cls]}
        if args:
            if len(args) > len(defs):
                raise ParameterError(f"{cls.__name__} takes at most {len(defs)} positional "
                                     f"parameter(s) ({', '.join(defs) or 'none'}), got {len(args)}")
            for name, value in zip(cls._luigi_order, args):
                if name in kwargs:
                    raise ParameterError(f"{cls.__name__}: parameter {name!r} given twice")
                kwargs[name] = value
        if not kwargs.keys() <= defs.keys():
            unknown = [k for k in kwargs if k not in defs]
            raise ParameterError(f"{cls.__name__}: unknown parameter(s) {', '.join(map(repr, unknown))}; "
                                 f"valid parameters: {', '.join(defs) or 'none'}")
        values, defaults = {}, cls._defaults
        for name, check, kept in cls._checks:
            if name in kwargs:
                value = kwargs[name]
                values[name] = value if check is None or type(value) in kept else check(value, cls.__name__)
            elif name in defaults:
                values[name] = defaults[name]
            else:
                missing = [n for n, _, _ in cls._checks if n not in kwargs and n not in defaults]
                raise ParameterError(f"{cls.__name__}: missing required parameter(s) "
                                     f"{', '.join(map(repr, missing))}")
        self._params = values  # private and never changed: tasks are values (see Parameter.__set__)
        if path is not None:  # where, not what: not part of the identity
            self.__dict__["path"] = str(path)
            self._given_path = True
        if flows:
            self.flows = dict(flows)

    def _extras(self) -> dict:
        """What an instance carries besides its parameters: its own root and attached flows."""
        out = {}
        if self._given_path:
            out["path"] = self.path
        if self.flows:
            out["flows"] = self.flows
        return out

    @property
    def task_family(self) -> str:
        """The class name (``namespace.Name`` with luigi's ``task_namespace``): the task's
        family, as in luigi and d6tflow."""
        return type(self)._family

    @property
    def param_kwargs(self) -> dict:
        """All parameter values (significant or not) by name."""
        return dict(self._params)

    def significant_params(self) -> dict:
        return {k: self._params[k] for k in type(self)._significant}

    @property
    def param_bytes(self) -> bytes:
        """Canonical bytes of the significant parameters (the task's identity with its family):
        ``canonical.encode(name) + canonical.encode(value)`` for each, in declaration order."""
        cached = self._pbytes
        if cached is None:
            try:
                cached = self._pbytes = canonical.encode_fields(type(self)._encoders, self._params)
            except canonical.FieldError as exc:
                raise FingerprintError(f"{self!r}: parameter {exc.field!r} cannot be fingerprinted "
                                       f"deterministically: {exc.__cause__}") from exc.__cause__
        return cached

    def __daskflow_identity__(self) -> bytes:
        return canonical.encode(self.task_family) + self.param_bytes

    def __eq__(self, other) -> bool:
        if self is other:
            return True
        if not isinstance(other, Task):
            return NotImplemented
        return type(self)._family == type(other)._family and (
            self._pbytes or self.param_bytes) == (other._pbytes or other.param_bytes)

    def __hash__(self) -> int:
        # a task is immutable, so its hash is computed once (a dict key in every plan step);
        # Python's hash of str/bytes is per process: this is for dicts, never a fingerprint
        cached = self._hash
        if cached is None:
            cached = self._hash = hash((type(self)._family, self._pbytes or self.param_bytes))
        return cached

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={v!r}" for k, v in self._params.items())
        return f"{self.task_family}({shown})"

    def __reduce__(self):
        return (_rebuild, (type(self), dict(self._params), self._extras()))

    def clone(self, cls=None, **kwargs) -> "Task":
        """A task of class ``cls`` (default: this one) with the parameters of this task that
        ``cls`` declares, overridden by ``kwargs``; it keeps this task's ``path=`` and flows."""
        cls = cls or type(self)
        params = {k: v for k, v in self._params.items() if k in cls._param_defs}
        params.update(self._extras())
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
        """The upstream tasks, flattened, checked to be tasks.  Sets this evaluation's state:
        ``_requires`` (the structure), ``_reads`` (input_of()), ``_pending`` (dynamic)."""
        if self._reads is not None:  # class defaults None: only a previous evaluation set them
            del self._reads
        if self._pending is not None:
            del self._pending
        token = REQUIRING.set(self)
        try:
            struct = self.requires()
            if isinstance(struct, types.GeneratorType):  # luigi takes any iterable: a generator too
                struct = list(struct)
            deps = [struct] if isinstance(struct, Task) else list(struct) if type(struct) is list else None
            for d in deps or ():  # the common shape, a flat list (flatten() would recurse into each)
                if not isinstance(d, Task):
                    deps = None
                    break
            if deps is None:
                deps = flatten(struct)
                checked = False
                if _FOREIGN and not all(isinstance(d, Task) for d in deps):  # a luigi task upstream
                    struct = map_struct(struct, lambda d: d if isinstance(d, Task) else _FOREIGN[0](d))
                    deps = flatten(struct)
            else:
                checked = True  # a flat list of tasks, each checked above
        except UpstreamPending as signal:  # dynamic: expanded once signal.task is built
            self._pending = signal.task
            struct, deps, checked = None, [], True
        except Exception as exc:
            raise RequiresError(f"{self!r}.requires() raised {type(exc).__name__}: {exc}") from exc
        finally:
            REQUIRING.reset(token)
        for d in () if checked else deps:
            if not isinstance(d, Task):
                raise TaskDefinitionError(f"{self!r}.requires() returned {d!r}, which is not a task; "
                                          f"return a task instance, a list or a dict of them")
        self._requires = struct
        reads = self._reads  # what input_of() read is upstream too (an aggregator: only what it groups)
        if not reads or (isinstance(self, TaskAggregator) and self._pending is None):
            return deps
        return deps + [t for t in dict.fromkeys(reads) if t not in deps]

    def _struct(self):
        """What requires() returns (a generator made a list), as the plan saw it."""
        if self._requires is _UNWALKED:
            self.deps()
        return self._requires

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

    def outputLoad(self, keys=None, as_dict=False, cached=False, **options):
        return [t.outputLoad(keys=keys, as_dict=as_dict, **options) for t in self.deps()]

    def invalidate(self, confirm=None) -> bool:
        _planner().invalidate(self.deps())
        return True

    reset = invalidate
