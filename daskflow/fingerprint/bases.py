"""Which class of a task's MRO wins a name that unrelated classes define (mixins).

Imports the sibling ``parts`` and ``values``.  A task class's own part and
those of its bases hold what each defines, not the order of the bases: where
two unrelated classes (two mixins) define one name, swapping them in the
class statement changes which runs, so that order is a part of its own.
"""

from __future__ import annotations

import hashlib
import inspect

from .parts import SKIPPED_ATTRS, Part
from .source import relative
from .values import key_of

__all__ = ["resolution"]


def resolution(cls: type) -> Part | None:
    """Which class wins a name that two unrelated classes of a task's MRO define (two mixins'
    ``clean``), in MRO order, as a part; None without such a name (a plain chain of
    subclasses, whose order the classes' own parts fix)."""
    mro = [c for c in cls.__mro__ if c is not object and c.__module__ != "builtins"]  # daskflow's too:
    definers: dict = {}  # a mixin's save() before or after TaskJson's is another save()
    for c in mro:
        for name in vars(c):
            if name not in SKIPPED_ATTRS and not name.startswith("__pydantic_"):
                definers.setdefault(name, []).append(c)
    won = {name: cs for name, cs in sorted(definers.items())
           if any(not issubclass(a, b) and _counts(name, a, b) for i, a in enumerate(cs) for b in cs[i + 1:])}
    if not won:
        return None
    tokens = [f"{name}=" + " > ".join(key_of(c) for c in cs) for name, cs in won.items()]
    values = {name: hashlib.sha256(t.encode()).hexdigest()[:16] for name, t in zip(won, tokens)}
    shown = {name: " > ".join(c.__qualname__ for c in cs) for name, cs in won.items()}
    try:
        file, line = relative(inspect.getsourcefile(cls) or ""), inspect.getsourcelines(cls)[1]
    except (OSError, TypeError):
        file, line = "", 0
    return Part(f"{key_of(cls)} (bases)", hashlib.sha256("\0".join(tokens).encode()).hexdigest(),
                file, line, values=values, shown=shown)


def _counts(name: str, a: type, b: type) -> bool:
    """Two unrelated definers whose order counts: not both daskflow's, and a dunder
    (``__init__``, ``__repr__``) only between two of the user's."""
    ours = a.__module__.startswith("daskflow"), b.__module__.startswith("daskflow")
    return not any(ours) or (not all(ours) and not name.startswith("__"))
