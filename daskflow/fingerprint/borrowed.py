"""What a task uses of its upstream tasks' classes through their instances.

Imports ``task`` and the sibling modules.  Another task class counts by name in a
task's fingerprint (its code reaches the task through the upstream result, which
keeps early cutoff possible).  But ``up = self.requires(); up.postprocess(df)`` runs
the upstream class's code *here*: an edit to ``postprocess`` that leaves the upstream
output unchanged would be hidden by early cutoff.  So the attributes a task's code
reads by name on another object than ``self`` or a global (``up.postprocess``,
``self.requires()["a"].SCALE``) that an upstream class defines in the user's code,
other than its parameters and the task hooks daskflow calls itself (``run``,
``requires``, ``output``...), are walked as parts of the task's own fingerprint, with
what those methods read of ``self`` in turn.  Attribute names are matched without
types (``df.transform`` and an upstream ``transform`` method meet): the approximation
errs towards a rerun, never towards a stale result.
"""

from __future__ import annotations

import hashlib

from ..params import Parameter
from ..task import Task
from .source import is_user_module
from .values import Collector, describe, key_of, unwrap_callable
from .parts import CodeFingerprint, Part, assemble
from .walk import _walk

__all__ = ["with_upstream"]

_CACHE: dict = {}  # (class, frozenset of upstream classes) -> CodeFingerprint


def with_upstream(cls: type, code: CodeFingerprint, upstream: frozenset) -> CodeFingerprint:
    """``code`` (the fingerprint of ``cls``) with what its code reads of the ``upstream``
    classes' attributes through their instances; ``code`` itself when it reads none."""
    ident = (cls, upstream)
    cached = _CACHE.get(ident)
    if cached is None:
        cached = _CACHE[ident] = _borrow(cls, code, upstream)
    return cached


def _borrow(cls: type, code: CodeFingerprint, upstream: frozenset) -> CodeFingerprint:
    names = frozenset().union(*(p.attrs for p in code.parts.values())) - _HOOKS
    walked, parts, incomplete, libraries = {}, {}, [], {}
    for other in sorted(upstream - {cls}, key=key_of):  # sorted: the same walk in every process
        if other in cls.__mro__ or not is_user_module(other.__module__):
            continue
        wanted, done = set(names), set()
        while wanted - done:  # and what those methods read of self (Up.compute calls self.post)
            todo = []
            for name in sorted(wanted - done):
                done.add(name)
                todo += _attribute(cls, other, name, parts)
            found, more, libs = _walk(todo)
            walked.update(found)
            incomplete += more
            libraries.update(libs)
            wanted |= frozenset().union(*(p.self_attrs for p in found.values())) - _HOOKS
    if not walked and not parts:
        return code
    return assemble({**code.parts, **walked, **parts}, code.incomplete + incomplete,
                    {**code.libraries, **libraries})


def _attribute(cls: type, other: type, name: str, parts: dict) -> list:
    """What to walk for attribute ``name`` of upstream class ``other`` (a class attribute's
    value goes into ``parts`` directly)."""
    owner = next((k for k in other.__mro__ if name in vars(k)), None)
    if owner is None or not is_user_module(owner.__module__) or owner in cls.__mro__:
        return []  # not defined, daskflow's or a library's, or already part of this code
    value = vars(owner)[name]
    if isinstance(value, Parameter):
        return []  # read through an instance, a parameter is that instance's value
    func = unwrap_callable(value)
    if func is not None:
        return [("func", func)]
    found = Collector(f"{key_of(owner)}.{name}")  # a class attribute read through the instance (up.SCALE)
    token = f"attr {name}={describe(value, found, name)}"
    parts[f"{key_of(owner)}.{name}"] = Part(f"{key_of(owner)}.{name}", hashlib.sha256(token.encode()).hexdigest(),
                                            memoized=frozenset(found.memoized))
    return found.refs


_HOOKS = frozenset(name for name in dir(Task) if not name.startswith("__"))  # daskflow calls these itself
