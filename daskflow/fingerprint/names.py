"""The values of the free names a function reads, for its fingerprint.

Imports ``task`` and the sibling modules ``source``, ``syntax`` and ``values``.
Closure cells first, then module globals; attribute chains are followed into
the user's own modules and classes (``helpers.clean``, ``Other.SCALE``), a
module a chain names is imported only when it is the user's (a library counts
by its name and version, as a :class:`~daskflow.fingerprint.values.Name`),
and a library's own object imported by name (``from os import environ``)
counts by its qualified name, not its state.
"""

from __future__ import annotations

import builtins
import importlib
import importlib.util
import sys
import types

from ..task import Task
from .source import MODULE_HEAD_RE, is_user_file, is_user_module, is_user_namespace
from .syntax import MODULE_HEAD
from .values import Collector, Name, own_class

__all__ = ["resolve_globals"]


def _module(modname: str, package, rest: list, found: Collector):
    """The module a chain names (``import x`` inside a function, ``import_module("x")``): one
    of the user's is imported (it is, when the code runs); a library is never imported to
    plan, it counts by its name and version (a ``Name``); None, said, if it cannot be had."""
    try:
        absolute = importlib.util.resolve_name(modname, package) if modname.startswith(".") else modname
        module = sys.modules.get(absolute)
        spec = None if module is not None else importlib.util.find_spec(absolute.split(".")[0])
    except (ImportError, ValueError) as exc:  # a relative name outside a package, a broken finder
        found.incomplete.append(f"{found.where}: module {modname!r} cannot be found: {exc}")
        return None
    if module is not None:
        return module
    where = spec and (spec.origin if spec.has_location else next(iter(spec.submodule_search_locations or ()), None))
    if spec is not None and not (where and is_user_file(where)):
        return Name(".".join([absolute, *rest]))  # a library: located, not imported
    try:
        return importlib.import_module(absolute)
    except Exception as exc:  # missing here, or one of the user's failing at import: said, not fatal
        found.incomplete.append(f"{found.where}: module {modname!r} cannot be imported: "
                                f"{type(exc).__name__}: {exc}")
        return None


def _submodule(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None  # its package is imported: nothing runs
    except Exception:  # a broken package: the chain stops here, as for a missing attribute
        return False


def _library_owned(name: str, value):
    """``from os import environ``: a library's own object counts by its qualified name, like
    ``os.environ``, not by its state (which may change with every process)."""
    kind = type(value)
    if kind.__module__ == "builtins" or is_user_module(kind.__module__) or isinstance(value, type):
        return value
    for modname in dict.fromkeys((kind.__module__, kind.__module__.split(".")[0])):  # in order: hash-seed free
        module = sys.modules.get(modname)
        if module is not None and getattr(module, name, None) is value:
            return Name(f"{modname}.{name}")
    return value


def resolve_globals(func, names, found: Collector) -> list:
    """Values of the free names a function reads: closure cells first, then module globals."""
    namespace = dict(func.__globals__)
    if func.__closure__:
        for name, cell in zip(func.__code__.co_freevars, func.__closure__):
            try:
                namespace[name] = cell.cell_contents
            except ValueError:  # an empty cell
                pass
    values = []
    for dotted in names:
        head, *rest = dotted.split(".")
        if head.startswith(MODULE_HEAD):  # sys.modules["pkg.mod"] / import_module("pkg.mod")
            match = MODULE_HEAD_RE.match(dotted)
            modname, rest = match.group(1), [p for p in match.group(2).split(".") if p]
            value = _module(modname, func.__globals__.get("__package__"), rest, found)
            if value is None:
                continue
            name = f"sys.modules[{modname!r}]"
        elif head.startswith("__") and head.endswith("__"):
            continue  # __file__, __name__...: where the code lives, not what it does
        elif head not in namespace:
            if not hasattr(builtins, head):
                found.incomplete.append(f"{found.where}: name {head!r} is not defined")
            continue
        else:
            value, name = namespace[head], head
            value = _library_owned(head, value)
        for attr in rest:  # follow attribute chains into the user's modules and classes
            if attr == "__doc__" and isinstance(value, (types.FunctionType, type)):
                value, name = value.__doc__, f"{name}.__doc__"  # a docstring used as data: its text
                break
            if isinstance(value, types.ModuleType):
                if not is_user_namespace(value):  # os.environ, np.random: name and version
                    value, name = Name(f"{value.__name__}.{attr}"), f"{name}.{attr}"
                    break
            elif not (isinstance(value, type) and (issubclass(value, Task) or own_class(value))):
                break
            if isinstance(value, types.ModuleType) and not hasattr(value, attr) and not (
                    _submodule(f"{value.__name__}.{attr}") and _module(f"{value.__name__}.{attr}", None, [], found)):
                break  # neither an attribute nor a submodule (from pkg import helpers, not yet imported)
            try:
                value, name = getattr(value, attr), f"{name}.{attr}"
            except AttributeError:
                break
        values.append((name, value, dotted))
    return values
