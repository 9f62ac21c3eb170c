"""What a task class declares besides its code: its own storage root, luigi-style parameters,
checked defaults, the per-class parameter tables, a task's parameter folder, per-class
parameter overrides, and the hooks through which a plan resolves ``input_of()`` in
``requires()`` (dynamic branches).

Imports ``canonical``, ``config``, ``errors``, ``params`` and ``storage``; ``daskflow.task``
uses these when a class is defined or an instance made.  A task's ``path`` (d6tflow's
spelling) names another root; roots are made once per URL and options.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import re
from contextvars import ContextVar
from pathlib import Path

from . import canonical, config
from .errors import ParameterError, TaskDefinitionError
from .params import Parameter, PathParameter, unchanged_types
from .storage import Store

__all__ = ["root_url", "own_store", "options_for", "class_overrides", "UpstreamPending", "RESOLVER",
           "REQUIRING", "parameter_tables", "param_dir"]

_STORES: dict = {}


def root_url(path) -> str:
    """d6tflow's ``path`` as a root: a URL or absolute path as is, a relative one from the
    project's folder (where ``pyproject.toml`` or ``.git`` is)."""
    text = str(path)
    if "://" in text or Path(text).is_absolute():
        return text.rstrip("/")
    return str(config.project_dir() / text)


def own_store(tasks):
    """The Store of the tasks' own root (``path=`` or a class's ``path``), or None for the
    project's root; tasks asking for different roots in one plan are an error."""
    urls = {root_url(t.path) for t in tasks if t.path is not None and not getattr(t, "raw_file", False)}
    if len(urls) > 1:
        raise ParameterError(f"tasks {list(tasks)!r} ask for different storage roots {sorted(urls)}; "
                             f"run them separately")
    if not urls:
        return None
    url = urls.pop()
    options = options_for(url)
    s3 = url.split("://", 1)[0] in ("s3", "s3a")
    leases, fsync = config.lease_setting(s3), config.fsync_setting()  # the settings in force now
    key = (url, repr(sorted(options.items())), leases, fsync)
    if key not in _STORES:
        _STORES[key] = Store(url, options, leases=leases, fsync=fsync)
    return _STORES[key]


def options_for(url: str) -> dict:
    """The storage options of the root in force when ``url`` is on the same kind of storage
    (an ``s3://`` path under an ``s3://`` root reuses its endpoint and credentials)."""
    current, options = config.resolve_root()
    scheme = url.split("://", 1)[0] if "://" in url else "file"
    return dict(options) if scheme == (current.split("://", 1)[0] if "://" in current else "file") else {}


_LUIGI = ("Parameter", "IntParameter", "FloatParameter", "BoolParameter", "DateParameter",
          "ListParameter", "DictParameter")
#: luigi's other kinds, by name: filled by ``daskflow.compat.params`` (TupleParameter...)
LUIGI_KINDS: dict = {}
_NUMERICAL = {"var_type": "_var_type", "min_value": "_min_value", "max_value": "_max_value",
              "left_op": "_left_op", "right_op": "_right_op"}


def _from_luigi(cls, klass, name: str, value) -> Parameter:
    """The daskflow parameter of a ``luigi.XParameter`` declaration (same default and
    significance), put on the declaring class in its place."""
    from . import params

    kind = type(value).__name__
    if kind not in _LUIGI and kind not in LUIGI_KINDS:
        raise TaskDefinitionError(f"task class {cls.__name__}: parameter {name!r} is a luigi.{kind}, which "
                                  f"daskflow does not provide; declare it with one of daskflow's parameters "
                                  f"(daskflow.Parameter takes any value with a canonical encoding)")
    default = getattr(value, "_default", None)
    kwargs = {} if type(default).__name__ == "_NoValue" or repr(default) == "<no_value>" else {"default": default}
    if kind == "NumericalParameter":
        kwargs.update({k: getattr(value, a) for k, a in _NUMERICAL.items() if hasattr(value, a)})
    make = getattr(params, kind) if kind in _LUIGI else LUIGI_KINDS[kind]
    param = make(significant=value.significant, description=value.description, **kwargs)
    param.__set_name__(klass, name)
    setattr(klass, name, param)
    return param


def _check_default(cls, name: str, param: Parameter):
    """A parameter's default, normalised; a default its type refuses is an error saying what to
    write instead (d6tflow templates have ``BoolParameter(default='rf')``, which luigi accepts)."""
    try:
        return param.check(param.default, cls.__name__)
    except ParameterError as exc:
        kind = type(param).__name__
        fix = (f"for a text value declare {name} = daskflow.Parameter(default={param.default!r})"
               if isinstance(param.default, str) and kind != "Parameter"
               else f"give a default a {kind} takes")
        raise ParameterError(f"{exc} (the default of {cls.__name__}.{name}); {fix}") from None


def parameter_tables(cls, params: dict) -> None:
    """Set on task class ``cls``, once at its definition, what its instances look up: its
    parameters (``_param_defs``), the significant ones (``_significant``), each one's
    canonical name (``_name_bytes``, ``_encoders``), how a value is checked (``_checks``:
    the check, None where the base Parameter keeps any value as given, and the types kept
    as given without the call), how the folder slug is written (``_slug``), whether a value
    names a raw input file (``_has_paths``) and the checked defaults (a bad one fails here)."""
    cls._param_defs = params
    cls._significant = tuple(n for n, p in params.items() if p.significant)
    cls._name_bytes = {name: canonical.encode(name) for name in params}
    cls._encoders = tuple((name, cls._name_bytes[name]) for name in cls._significant)
    cls._checks = tuple((name, None if type(p).check is Parameter.check
                         and type(p).normalize is Parameter.normalize else p.check,
                         unchanged_types(p)) for name, p in params.items())
    cls._slug = tuple((name, name + "=", p.serialize, type(p).serialize is Parameter.serialize
                       and type(p)._text is Parameter._text) for name, p in params.items()
                      if p.significant)
    cls._has_paths = any(isinstance(params[n], PathParameter) for n in cls._significant)
    cls._defaults = {name: _check_default(cls, name, p) for name, p in params.items() if p.has_default}


_UNSAFE = re.compile(r"[^A-Za-z0-9._=,+-]")
_SAFE_BYTES = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._=,+-"
_ASCII_SLUG = bytes(c if c in _SAFE_BYTES else ord("_") for c in range(256))  # _UNSAFE.sub("_", ...) of ASCII
_PLAIN = frozenset({int, str, float, bool, type(None)})  # a base Parameter writes these as str(v)


def param_dir(task) -> str:
    """Readable folder name of a task's significant parameters, ending in their hash
    (``canonical.digest(task.param_bytes)[:10]``); written once per parameter set of a
    class in a process (a no-op check of a warm process looks it up)."""
    pbytes = task._pbytes or task.param_bytes  # computed once per task (a plan's version needs it)
    key = (type(task), pbytes)
    found = _DIRS.get(key)
    if found is None:
        if len(_DIRS) >= _DIRS_KEPT:
            _DIRS.clear()
        found = _DIRS[key] = _param_dir(task, pbytes)
    return found


# (class, param_bytes) -> param_dir: here, not on the class, so a class pickled by value
# (a script's, on a cluster) does not carry them
_DIRS: dict[tuple, str] = {}
_DIRS_KEPT = 1 << 18


def _param_dir(task, pbytes: bytes) -> str:
    pieces, length, params = [], 0, task._params
    for name, head, serialize, plain in type(task)._slug:
        if length >= 80:  # the hash keeps folders apart; the slug is for people
            break
        value = params[name]
        piece = head + (str(value) if plain and type(value) in _PLAIN else serialize(value))
        pieces.append(piece)
        length += len(piece) + 1
    slug = ",".join(pieces)
    slug = slug.encode().translate(_ASCII_SLUG).decode() if slug.isascii() else _UNSAFE.sub("_", slug)
    digest = hashlib.sha256(len(pbytes).to_bytes(8, "little") + pbytes).hexdigest()[:10]
    return f"{slug[:80]}__{digest}" if slug else f"_{digest}"


_OVERRIDES: contextvars.ContextVar[dict] = contextvars.ContextVar("daskflow_class_overrides", default={})


@contextlib.contextmanager
def class_overrides(overrides: dict):
    """Within the block, every instance of a class in ``overrides`` gets those parameter values.

    ``overrides`` maps a task class to ``{name: value}``; the values win over the
    arguments the caller gives (a ``requires()`` passing its own value
    included), so an upstream class's parameter can be set for a whole graph
    (``daskflow run flow:Compare -p Features.spend_bins=5``).

    Examples
    --------
    >>> with class_overrides({Features: {"spend_bins": 5}}):   # doctest: +SKIP
    ...     plan = Plan(Compare())
    """
    token = _OVERRIDES.set({**_OVERRIDES.get(), **overrides})
    try:
        yield
    finally:
        _OVERRIDES.reset(token)


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
