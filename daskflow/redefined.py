"""Task classes defined again: a notebook cell run again, ``importlib.reload``.

Imports only ``errors`` and the standard library; ``task`` notes each class as it is
defined, ``plan`` asks when two classes of one family meet in a graph.  A class
defined again under its module and name, where the module now binds the new one
under that name (``__main__.TaskGetData`` after its cell ran again), is that
newest definition: an earlier one still held elsewhere (``@requires(TaskGetData)``
in a cell not run again) is planned as the newest, so an edited cell runs as
edited.  Two classes of one name that the module does not bind so (made by a
factory, ``type(name, ...)`` twice, or inside a function) are two classes, and a
graph holding both is refused, naming where each was made.
"""

from __future__ import annotations

import inspect
import sys

from .errors import TaskDefinitionError

__all__ = ["note_class", "latest_class", "superseded", "newest", "same_class", "Redefined"]

_LATEST: dict[tuple, type] = {}  # (module, qualified name) -> the task class defined last under it


def note_class(cls) -> None:
    """Keep ``cls`` as the newest definition of its module and name; mark the one it replaces."""
    key = (cls.__module__, cls.__qualname__)
    if "<locals>" in cls.__qualname__:
        return
    old = _LATEST.get(key)
    if old is not None and old is not cls:
        old._superseded = True  # looked at when the walk meets it: see superseded()
    _LATEST[key] = cls


def latest_class(cls):
    """The newest class defined under ``cls``'s module and name, when its module binds it
    there (a redefinition); else None."""
    latest = _LATEST.get((cls.__module__, cls.__qualname__))
    bound = sys.modules.get(cls.__module__)
    for part in cls.__qualname__.split("."):
        bound = getattr(bound, part, None)
    return latest if latest is not None and bound is latest else None


def superseded(cls) -> bool:
    """``cls`` was defined again, and its module binds the newer definition."""
    latest = latest_class(cls) if cls._superseded else None
    return latest is not None and latest is not cls


def newest(task):
    """``task`` as an instance of the newest definition of its class, if it was defined again."""
    return task.clone(latest_class(type(task))) if superseded(type(task)) else task


class Redefined(Exception):
    """A task class met beside, or instead of, its newest definition (see :func:`superseded`)."""


def same_class(a, b) -> None:
    """Two different classes of one name in one graph would share outputs: refuse, unless
    one is the other's earlier definition (then :class:`Redefined`: plan the newest)."""
    ca, cb = type(a), type(b)
    if ca is not cb and not (ca.external or cb.external):
        if superseded(ca) or superseded(cb):
            raise Redefined(ca.__qualname__)
        raise TaskDefinitionError(
            f"two task classes named {a.task_family} in one graph: {_where(ca)} and {_where(cb)}"
            f"{' (made by the same code twice)' if _where(ca) == _where(cb) else ''}; a family is its "
            f"class name, so they would share outputs: rename one (or mark the reader external = True)")


def _where(cls) -> str:
    """``module.Name`` with the file and line it was made at."""
    name = f"{cls.__module__}.{cls.__qualname__}"
    try:
        return f"{name} ({inspect.getsourcefile(cls)}:{inspect.getsourcelines(cls)[1]})"
    except (OSError, TypeError):
        return name
