"""The pieces of a code fingerprint (imports nothing of daskflow).

A *part* is one piece of code a task reaches, with what ``why()`` needs to show
a change; a ``CodeFingerprint`` is the digest of a task class's parts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Part", "CodeFingerprint", "SKIPPED_ATTRS"]


@dataclass
class Part:
    """One piece of code reached from a task, with what ``why()`` needs to explain a change."""

    key: str
    digest: str
    file: str = ""
    line: int = 0
    statements: list = field(default_factory=list)  # [line, digest, text] per top-level statement
    values: dict = field(default_factory=dict)  # name used -> digest of what it refers to
    source: str = ""  # the part's source text (functions), for a diff in why()
    shown: dict = field(default_factory=dict)  # name used -> short text of its value, for why()
    attrs: frozenset = frozenset()  # attribute names the code reads (never in a digest)


@dataclass
class CodeFingerprint:
    digest: str
    parts: dict  # key -> Part
    incomplete: list  # reasons the walk could not follow a reference
    libraries: dict = field(default_factory=dict)  # distribution -> version used by the code


# class attributes that are not code: names daskflow sets, Python's own
SKIPPED_ATTRS = frozenset({
    "__dict__", "__weakref__", "__module__", "__qualname__", "__doc__", "_param_defs", "_outputs",
    "_defaults", "_significant", "_name_bytes", "_checks", "_slug", "_has_paths", "_in_memory", "_encoders",
    "__annotations__", "__firstlineno__",
    "__static_attributes__", "__slots__", "__dataclass_params__", "__match_args__",
    "_abc_impl"})  # ABCMeta's registry cache: not code, and no deterministic identity
