"""The pieces of a code fingerprint and their digest (imports the sibling ``libraries``).

A *part* is one piece of code a task reaches, with what ``why()`` needs to show
a change; a ``CodeFingerprint`` is the digest of a task class's parts.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from .libraries import counted

__all__ = ["Part", "CodeFingerprint", "SKIPPED_ATTRS", "assemble"]

_SCHEMA = "daskflow-code/2"


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
    self_attrs: frozenset = frozenset()  # those it reads of self (what an upstream method uses)
    reads: frozenset = frozenset()  # paths of files it reads by a constant name (see ``reads``)
    read_names: frozenset = frozenset()  # module-level names it passes to a reader as a path
    writes: frozenset = frozenset()  # paths of files it writes by a constant name (``open(p, "w")``)
    memoized: frozenset = frozenset()  # code_id()s of memoized functions it calls (see observe)


@dataclass
class CodeFingerprint:
    digest: str
    parts: dict  # key -> Part
    incomplete: list  # reasons the walk could not follow a reference
    libraries: dict = field(default_factory=dict)  # distribution -> version used by the code
    memoized: frozenset = frozenset()  # its parts' memoized functions: never in the digest


# class attributes that are not code: names daskflow sets, Python's own
SKIPPED_ATTRS = frozenset({
    "__dict__", "__weakref__", "__module__", "__qualname__", "__doc__", "_param_defs", "_outputs",
    "_defaults", "_significant", "_name_bytes", "_checks", "_slug", "_has_paths", "_in_memory", "_encoders",
    "_settled", "_family", "_luigi_order", "_files_of", "_superseded",
    "__annotations__", "__firstlineno__",
    "__static_attributes__", "__slots__", "__dataclass_params__", "__match_args__",
    "_inherited",  # the parents @inherits/@requires recorded (their code counts through requires())
    "_abc_impl"})  # ABCMeta's registry cache: not code, and no deterministic identity


def assemble(parts: dict, incomplete: list, libraries: dict) -> CodeFingerprint:
    """The fingerprint of walked parts: the sorted (key, digest) pairs and library versions."""
    h = hashlib.sha256(_SCHEMA.encode())
    for key in sorted(parts):
        h.update(f"{key}\0{parts[key].digest}\n".encode())
    for dist, version in sorted(counted(libraries).items()):
        h.update(f"library {dist}\0{version}\n".encode())
    return CodeFingerprint(h.hexdigest(), parts, sorted(set(incomplete)), dict(sorted(libraries.items())),
                           frozenset().union(*(p.memoized for p in parts.values())))
