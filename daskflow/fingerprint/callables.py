"""The functions behind callables a task's code refers to: methods, properties and
their wrappers, memoizing decorators, and C wrappers that hold one Python function.

Imports only the standard library and the sibling ``source``.
"""

from __future__ import annotations

import functools
import gc
import inspect
import types

from .source import is_user_file, located

__all__ = ["unwrap_callable", "memoizing", "user_wrappers", "held_function", "ufunc_shape"]


def unwrap_callable(value):
    """The function behind a method, static/class method or property (unwrapped), else None."""
    if isinstance(value, (staticmethod, classmethod)):
        value = value.__func__
    if isinstance(value, property):
        value = value.fget
    if isinstance(value, (functools.cached_property, functools.singledispatchmethod)):
        value = value.func  # a singledispatchmethod's other implementations: see dispatched()
    if isinstance(value, types.FunctionType):
        return inspect.unwrap(value)
    return None


def memoizing(wrapper) -> bool:
    """A wrapper that keeps results (functools.lru_cache and cache, cachetools' cached)."""
    return any(hasattr(wrapper, name) for name in ("cache_info", "cache_clear", "cache"))


def user_wrappers(value) -> list:
    """The user's functions that ``inspect.unwrap(value)`` steps over, where the function
    it reaches was not decorated in its own source (``clean = clip(_clean)``, a class
    decorator replacing methods): their code counts too.  With ``@clip`` on the def, the
    decorator is part of the def's source and walked from there."""
    out, seen = [], value
    while hasattr(seen, "__wrapped__"):
        if isinstance(seen, types.FunctionType) and is_user_file(seen.__code__.co_filename):
            out.append(seen)  # by its file: functools.wraps gives a wrapper the wrapped one's module
        seen = seen.__wrapped__
    if not out or not isinstance(seen, types.FunctionType):
        return out
    where = located(seen.__code__, seen.__module__)
    return [] if where is not None and getattr(where.node, "decorator_list", None) else out


_KEY_WRAPPER = type(functools.cmp_to_key(lambda a, b: 0))


def held_function(value):
    """The one Python function a C wrapper holds and calls, where the wrapper is nothing else:
    ``functools.cmp_to_key(f)``, a numpy ufunc of ``np.frompyfunc(f, nin, nout)``."""
    kind = type(value)
    if kind is not _KEY_WRAPPER and not (kind.__name__ == "ufunc" and kind.__module__ == "numpy"):
        return None
    held = [r for r in gc.get_referents(value) if r is not kind and not (isinstance(r, dict) and not r)]
    # cmp_to_key(f) holds f alone (a key it made, cmp_to_key(f)(x), holds x too: not this)
    return held[0] if len(held) == 1 and isinstance(held[0], types.FunctionType) else None


def ufunc_shape(value) -> str:
    return f" nin={value.nin} nout={value.nout} identity={value.identity!r}" if hasattr(value, "nin") else ""
