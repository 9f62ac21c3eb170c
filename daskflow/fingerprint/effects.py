"""What a module of the user's does when it is imported, besides defining names.

Imports only the standard library and the sibling ``syntax``.  Two kinds of
top-level statements act on the whole process, so a task whose code lives in
the module depends on them though it never names them:

- calls (``np.random.seed(42)``, ``sklearn.set_config(transform_output="pandas")``,
  ``pd.set_option(...)``), counted by their syntax tree;
- imports whose name the module never reads (``import accessors`` that
  registers a pandas accessor, ``from . import plugins``): run for what they
  register, so the imported module counts by everything it defines.

Parsed once per file.
"""

from __future__ import annotations

import ast
import linecache

from .syntax import strip_docstring

__all__ = ["module_effects"]

_CACHE: dict = {}


def module_effects(filename: str, package: str | None) -> tuple[list, list]:
    """``(calls, imported)`` of the module in ``filename``: the canonical dump of each
    top-level call statement, and the dotted names of the modules it imports without
    reading the name bound (relative ones resolved against ``package``)."""
    key = (filename, package)
    if key in _CACHE:
        return _CACHE[key]
    lines = linecache.getlines(filename) if filename else []
    try:
        tree = ast.parse("".join(lines)) if lines else None
    except (SyntaxError, ValueError):
        tree = None
    calls, imported = [], []
    if tree is not None:
        body = strip_docstring(tree.body)
        calls = [ast.dump(s.value, include_attributes=False) for s in body
                 if isinstance(s, ast.Expr) and isinstance(s.value, ast.Call)]
        read = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
        for stmt in body:
            if isinstance(stmt, ast.Import):
                imported += [a.name for a in stmt.names if (a.asname or a.name.split(".")[0]) not in read]
            elif isinstance(stmt, ast.ImportFrom):
                base = stmt.module or ""
                if stmt.level:
                    parts = (package or "").split(".")
                    head = ".".join(parts[:len(parts) - stmt.level + 1]) if package else ""
                    base = ".".join(p for p in (head, stmt.module) if p)
                imported += [f"{base}.{a.name}" if base else a.name for a in stmt.names
                             if a.name != "*" and (a.asname or a.name) not in read]
    _CACHE[key] = (calls, imported)
    return calls, imported
