"""Tokens for the values a piece of code refers to: every value by value.

Imports ``canonical``, ``params``, ``task`` and the siblings ``source``, ``callables`` and
``libraries``; dask only lazily, for values nothing here knows.  In order:
code (functions, classes, modules, ``functools.partial``) is queued for the
walk or named with its library's distribution and version; data goes through
``canonical.encode``; dataclasses (``slots``/``frozen`` too), ``Enum``
members (name *and* value), ``SimpleNamespace``, ``range``, containers and
instances of the user's own classes are taken apart field by field; a dict's
order counts, an ``OrderedDict``'s, ``Counter``'s, ``mappingproxy``'s too, as
do a ``defaultdict``'s factory and a ``ChainMap``'s maps.  A class counts as the
user's (``own_class``) when its module is, or when no module holds it under its
name (``make_dataclass``, a plugin loaded from its file); a function, when its
module or its file is the user's.  Anything else is
``dask.tokenize(value, ensure_deterministic=True)`` (pandas offsets, library
objects).  A value with no deterministic identity makes the fingerprint
incomplete, with a reason naming it; it never counts "by type".
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import enum
import functools
import hashlib
import inspect
import pathlib
import re
import sys
import threading
import types
from collections.abc import Mapping

from .. import canonical
from ..config import in_project
from ..observe import code_id
from ..picklerefs import references
from ..task import Task
from .callables import held_function, memoizing, ufunc_shape, unwrap_callable, user_wrappers  # noqa: F401 (walk, borrowed)
from .libraries import distributions_of
from .source import code_key, is_user_file, is_user_function, is_user_module, is_user_namespace, module_label

__all__ = ["Collector", "Name", "describe", "dispatched", "func_token", "key_of", "own_class", "shadowed",
           "user_wrappers"]

_MAX_DEPTH = 6


class Name(str):
    """A third-party name (``numpy.mean``), recorded by its qualified name and library version."""


def key_of(obj) -> str:
    return f"{module_label(getattr(obj, '__module__', '') or '')}:{getattr(obj, '__qualname__', type(obj).__name__)}"


class Collector:
    """What describing values found: code to walk, libraries used, what cannot be followed."""

    def __init__(self, where: str = ""):
        self.where = where  # "key (file:line)" of the part whose values these are
        self.refs: list = []
        self.libraries: dict = {}
        self.incomplete: list = []
        self.memoized: set = set()  # code_id()s of memoized functions of the user's it reaches

    def library(self, module: str) -> None:
        for dist, version in distributions_of(module or ""):
            self.libraries[dist] = version


def dispatched(value) -> list:
    """The implementations a ``functools.singledispatchmethod`` registered, besides its base."""
    if not isinstance(value, functools.singledispatchmethod):
        return []
    registry = getattr(value.dispatcher, "registry", {})
    return [unwrap_callable(f) or f for k, f in sorted(registry.items(), key=lambda kv: key_of(kv[0]))
            if k is not object]


def _bound(obj, func, found: Collector, name: str, depth: int) -> str:
    """`` of <object>`` for a bound method's object; a library's own global (``random._inst``
    behind ``random.shuffle``, numpy's hidden RandomState) by its name, never by its state."""
    if obj is None or isinstance(obj, types.ModuleType):
        return ""
    if not is_user_module(type(obj).__module__):
        module = (getattr(func, "__module__", None) or type(obj).__module__ or "").split(".")
        for modname in dict.fromkeys((".".join(module), module[0], type(obj).__module__)):
            owner = sys.modules.get(modname)
            for attr, value in (vars(owner).items() if owner is not None else ()):
                if value is obj:
                    found.library(modname)
                    return f" of ext {modname}.{attr}"
    return f" of {describe(obj, found, name, depth + 1)}"


def func_token(func, found: Collector) -> str:
    """A function of the user's: queued for the walk, its part counting on its own."""
    found.refs.append(("func", func))
    return f"func {code_key(func.__code__, func.__module__)}"


def describe(value, found: Collector, name: str = "", depth: int = 0) -> str:
    """A canonical token for ``value``; code of the user's is queued in ``found.refs``."""
    from ..params import Parameter

    if isinstance(value, types.MethodType) and not isinstance(value.__self__, types.ModuleType):
        # a bound method (SCALER.transform, SimpleImputer(...).fit_transform): its object counts
        return describe(value.__func__, found, name, depth) + _bound(value.__self__, value.__func__, found, name, depth)
    if callable(value) and hasattr(value, "__wrapped__") and not isinstance(value, type):
        outer = value
        value = inspect.unwrap(value)  # functools.wraps decorators, lru_cache...
        if memoizing(outer) and isinstance(value, types.FunctionType) and is_user_function(value):
            found.memoized.add(code_id(value.__code__, value.__globals__.get("__name__")))  # what it
            # opens counts for every caller
        extra = [f"wrapper {func_token(w, found)}" for w in user_wrappers(outer)]
        registry = getattr(outer, "registry", None)  # functools.singledispatch: every implementation
        if isinstance(registry, Mapping) and callable(getattr(outer, "dispatch", None)):
            extra += sorted(f"dispatch {key_of(k)}={describe(f, found, name, depth + 1)}"
                            for k, f in registry.items() if f is not value)
        if extra:
            return describe(value, found, name, depth) + " " + " ".join(extra)
    if isinstance(value, Name):
        found.library(value)
        return f"ext {value}"
    if isinstance(value, Parameter):  # and the classes it is declared with (EnumParameter(enum=Horizon))
        return f"param {type(value).__name__} default={_default(value, found, name, depth)}" + "".join(
            f" {k}={describe(v, found, k, depth + 1)}" for k, v in sorted(vars(value).items())
            if isinstance(v, type) and own_class(v))
    if isinstance(value, type):
        if issubclass(value, Task):
            return f"task {value.__name__}"
        if own_class(value):
            found.refs.append(("class", value))
        else:
            found.library(value.__module__)
        return f"class {key_of(value)}"
    if isinstance(value, types.ModuleType):
        if not is_user_namespace(value):
            found.library(value.__name__)
            return f"module {module_label(value.__name__)}"
        # a module of the user's used as a value (features = features_v1): the functions and
        # classes it defines count (with the constants they use) and its top-level effects
        found.refs.append(("effects", value.__name__))
        defined = [(k, v) for k, v in sorted(vars(value).items()) if isinstance(v, (type, types.FunctionType))
                   and getattr(v, "__module__", None) == value.__name__]
        return f"module {module_label(value.__name__)} [" + "|".join(
            f"{k}={describe(v, found, k, depth + 1)}" for k, v in defined) + "]"
    if isinstance(value, functools.partial):
        inner = describe(value.func, found, name, depth + 1)
        args = describe((value.args, dict(value.keywords)), found, name, depth + 1)
        return f"partial {inner} {args}"
    if (held := held_function(value)) is not None:  # cmp_to_key(compare), np.frompyfunc(bucket, 1, 1)
        return f"{key_of(type(value))} {describe(held, found, name, depth + 1)}{ufunc_shape(value)}"
    func = unwrap_callable(value)
    if func is not None or isinstance(value, (types.BuiltinFunctionType, types.MethodType)):
        func, of = func or getattr(value, "__func__", value), "" if func is not None else \
            _bound(getattr(value, "__self__", None), value, found, name, depth)  # LOOKUP.get: the dict
        if isinstance(func, types.FunctionType) and is_user_function(func):
            return func_token(func, found) + of
        found.library(getattr(func, "__module__", "") or "")
        return f"func {key_of(func)}{of}"
    return _data(value, found, name, depth)


def _default(param, found, name, depth) -> str:
    from ..params import NODEFAULT

    return "-" if param.default is NODEFAULT else describe(param.default, found, name, depth + 1)


def _data(value, found: Collector, name: str, depth: int) -> str:
    kind = type(value)
    if isinstance(value, enum.Enum):  # by member name and value: editing RED = 1 counts
        if own_class(kind):
            found.refs.append(("class", kind))
        return f"enum {kind.__qualname__}.{value.name}={describe(value.value, found, name, depth + 1)}"
    if kind in _CONTAINERS and depth < _MAX_DEPTH:
        return _container(value, found, name, depth)
    if dataclasses.is_dataclass(value) and depth < _MAX_DEPTH:  # by field (a frozen one has an encoding too)
        if own_class(kind):
            found.refs.append(("class", kind))
        fields = [f"{f.name}={describe(getattr(value, f.name), found, name, depth + 1)}"
                  for f in dataclasses.fields(value)]
        return f"dataclass {key_of(kind)}(" + "|".join(fields) + ")"
    if (kind is str or isinstance(value, pathlib.PurePath)) and (rel := in_project(value)) is not None:
        # HERE = os.path.dirname(__file__): the checkout's folder; the path within it counts
        return f"project path {kind.__name__} {rel!r}"
    try:
        token = "const " + hashlib.sha256(canonical.encode(value)).hexdigest()
    except TypeError:
        pass
    else:
        if own_class(kind) and not isinstance(value, Task):  # a NamedTuple or str
            found.refs.append(("class", kind))  # subclass of yours: its methods count too
            token += f" of {key_of(kind)}"
        return token + (_layout(value, found, name, depth) if isinstance(value, Mapping) else "")
    if depth >= _MAX_DEPTH:
        return _opaque(value, found, name, "nested too deeply")
    if isinstance(value, types.SimpleNamespace):
        return "namespace(" + "|".join(f"{k}={describe(v, found, name, depth + 1)}"
                                       for k, v in sorted(vars(value).items())) + ")"
    if isinstance(value, range):
        return f"range {value.start} {value.stop} {value.step}"
    if isinstance(value, re.Pattern):
        return f"pattern {describe(value.pattern, found, name, depth + 1)} {value.flags}"
    view = _ordered(value)
    if view is not None or isinstance(value, (list, tuple, set, frozenset, collections.ChainMap)):
        if own_class(kind):  # subclasses: defaultdict, OrderedDict; class Steps(list) of yours: its
            found.refs.append(("class", kind))  # methods count too
        if isinstance(value, collections.ChainMap):
            return f"{key_of(kind)}" + _layout(value, found, name, depth)
        factory = _layout(value, found, name, depth, order=False)
        return f"{key_of(kind)} " + _container(value if view is None else view, found, name, depth) + factory
    if own_class(kind):  # a config object: its attributes count
        found.refs.append(("class", kind))
        state = _state(value)
        if state is not None:
            return f"object {key_of(kind)} " + "|".join(
                f"{k}={describe(v, found, name, depth + 1)}" for k, v in state)
    token = getattr(kind, "__daskflow_token__", None)  # an object of daskflow's that names itself
    if token is not None:
        return f"object {key_of(kind)} {token(value)}"
    found.library(kind.__module__)
    return _tokenize(value, found, name)


_CONTAINERS = (dict, list, tuple, set, frozenset)


def _ordered(value):
    """The dict behind a Mapping whose order shows (``list(m)``, ``most_common()`` ties, a rename
    map's columns), as a dict's does: a dict subclass (``OrderedDict``, ``Counter``,
    ``defaultdict``), a ``mappingproxy``, a ``UserDict``; None for any other value (a Mapping
    of a library may have no order of its own, or one that changes with the hash seed)."""
    if isinstance(value, dict):
        return value
    if isinstance(value, types.MappingProxyType):
        return dict(value)
    if isinstance(value, collections.UserDict):
        return value.data
    return None


def _layout(value, found, name, depth, order: bool = True) -> str:
    """What a Mapping's encoding by its items leaves out: the order of one whose order shows (see
    ``_ordered``; keys in the order of their tokens add nothing, as a dict's), a defaultdict's ``default_factory`` (a
    function of the user's by its code, a class or builtin by its name), a ChainMap's maps
    (which one ``m[k] = v`` writes, which one shadows which)."""
    if isinstance(value, collections.ChainMap):
        return " maps " + describe(value.maps, found, name, depth + 1)
    out, view = "", _ordered(value) if order and type(value) is not dict else None
    if view is not None:
        keys = [describe(k, found, name, depth + 1) for k in view]
        if keys != sorted(keys):
            out = " order[" + "|".join(keys) + "]"
    if isinstance(value, collections.defaultdict):
        out += " factory " + describe(value.default_factory, found, name, depth + 1)
    return out


def _container(value, found, name, depth) -> str:
    order = ""
    if isinstance(value, dict):
        keys = [describe(k, found, name, depth + 1) for k in value]
        items = sorted(f"{k}:{describe(v, found, name, depth + 1)}" for k, v in zip(keys, value.values()))
        if keys != sorted(keys):  # its order shows (agg specs, rename maps, columns): a reorder counts
            order = " order[" + "|".join(keys) + "]"
    elif isinstance(value, (set, frozenset)):
        items = sorted(describe(v, found, name, depth + 1) for v in value)
    else:
        items = [describe(v, found, name, depth + 1) for v in value]
    tag = "set" if isinstance(value, (set, frozenset)) else type(value).__mro__[-2].__name__
    return f"{tag}[" + "|".join(items) + "]" + order  # e.g. MODELS = {"ols": fit_ols}


_PYTHON, _FLAGS = 1 << 9, (1 << 9) | (1 << 8)  # HEAPTYPE without IMMUTABLETYPE: a class of Python code
_C_METHODS = (types.MethodDescriptorType, types.WrapperDescriptorType, types.BuiltinFunctionType)


def own_class(cls) -> bool:
    """A class of the user's: of a user module; or one its module does not hold under its name,
    made by the user's code: ``make_dataclass`` (Python 3.11) and ``types.new_class`` name their
    classes of module ``types``; a plugin loaded from its file is not in ``sys.modules``.  Not a
    C type, nor one with a function of a library's file (a library's namedtuple), nor one of a
    library function's locals."""
    module = getattr(cls, "__module__", None) or ""
    if is_user_module(module):
        return True
    if cls.__flags__ & _FLAGS != _PYTHON or _at_home(cls, module):  # a C type (_thread.lock) is a library's
        return False
    own = list(vars(cls).values())
    if any(isinstance(v, _C_METHODS) for v in own):
        return False
    files = [f.__code__.co_filename for f in map(unwrap_callable, own) if f is not None]
    if any(not f.startswith("<") and not is_user_file(f) for f in files):
        return False
    return "<locals>" not in cls.__qualname__ or any(is_user_file(f) for f in files)


def _at_home(cls, module: str) -> bool:
    """``module.qualname`` is ``cls``, read from the modules' and classes' dicts (no module
    ``__getattr__`` runs)."""
    obj = sys.modules.get(module)
    for part in cls.__qualname__.split("."):
        try:
            obj = vars(obj).get(part)
        except TypeError:  # no module of that name, or a name below a non-class
            return False
    return obj is cls


def shadowed(task_class, name: str, value) -> bool:
    """A parameter a task class's base declares that the class itself redeclares (or removes):
    its default never applies to the class, so it is no part of the class's code."""
    from ..params import Parameter

    return task_class is not None and isinstance(value, Parameter) and \
        getattr(task_class, "_param_defs", {}).get(name) is not value


def _state(value):
    if hasattr(value, "__dict__"):
        return sorted(vars(value).items())
    slots = [s for c in type(value).__mro__ for s in getattr(c, "__slots__", ()) if isinstance(s, str)]
    if slots:
        return sorted((s, getattr(value, s)) for s in set(slots) if hasattr(value, s))
    return None


def _tokenize(value, found: Collector, name: str) -> str:
    try:
        from dask.base import tokenize
        from dask.tokenize import TokenizationError
    except ImportError:  # pragma: no cover - dask is a dependency
        return _opaque(value, found, name, "dask is not installed")
    try:
        with _classes_kept():
            token = "token " + tokenize(value, ensure_deterministic=True)
    except TokenizationError:
        return _opaque(value, found, name, "no deterministic identity")
    except Exception as exc:  # a library object whose pickling fails: it cannot be followed
        return _opaque(value, found, name, f"no deterministic identity ({type(exc).__name__})")
    # a library object holding the user's code (FunctionTransformer(log_features), a Pipeline
    # with a transformer class of theirs) names it in its pickle, which dask's token follows
    # by name only: that code counts by its parts, and nested libraries by their versions
    user = []
    for obj in references(value):
        module = getattr(obj, "__module__", "") or ""
        if is_user_module(module):
            user.append(describe(obj, found, name))
        else:
            found.library(module)
    return token + (" names " + "|".join(sorted(user)) if user else "")


_KEEPING = threading.local()  # set while this thread tokenizes a value


@contextlib.contextmanager
def _classes_kept():
    """dask tokenizes an object by a pickle round trip.  cloudpickle, loading a class it pickled
    by value (one of ``__main__``, or one its module does not name), finds the live class and
    sets its attributes again, with copies of its functions: the user's classes would lose
    their code (a functional flow's steps, a class of a script).  Within the block, in this
    thread only, a class that already holds the attributes keeps its own; cloudpickle's own
    state setter is replaced once by one that does just that and otherwise calls it, under
    its name, so a pickle made meanwhile (by another thread) still names cloudpickle's."""
    try:
        from cloudpickle import cloudpickle as cp
    except ImportError:  # pragma: no cover - distributed depends on it
        yield
        return
    if getattr(cp._class_setstate, "_daskflow_original", None) is None:
        original = cp._class_setstate

        def _class_setstate(obj, state):
            attrs = state[0] if isinstance(state, tuple) and getattr(_KEEPING, "on", False) else {}
            if any(k in vars(obj) for k in attrs if not k.startswith("__")):
                return obj  # the live class: it stays as it is
            return original(obj, state)

        _class_setstate.__module__, _class_setstate.__qualname__ = original.__module__, original.__qualname__
        _class_setstate._daskflow_original = original
        cp._class_setstate = _class_setstate
    _KEEPING.on = True
    try:
        yield
    finally:
        _KEEPING.on = False


def _opaque(value, found: Collector, name: str, why: str) -> str:
    kind = type(value)
    found.incomplete.append(f"{found.where}: {name or 'a value'} is a {kind.__module__}.{kind.__qualname__}"
                            f" with {why}; a change to it is not seen")
    return f"opaque {kind.__module__}.{kind.__qualname__}"
