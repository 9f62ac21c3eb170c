"""What a module of the user's does when it is imported, besides defining names.

Imports only the standard library and the sibling ``syntax``.  Two kinds of
top-level statements act on the whole process, so a task whose code lives in
the module depends on them though it never names them:

- calls (``np.random.seed(SEED)``, ``sklearn.set_config(transform_output="pandas")``),
  counted by their syntax tree and the values of the names their arguments read
  (output, logging, warnings and daskflow's own calls, such as a script's
  closing ``d6tflow.run(Train())``, are left out by the walk);
- imports whose name the module never reads (``import accessors`` that
  registers a pandas accessor, ``from . import plugins``): run for what they
  register, so the imported module counts by the functions and classes it
  defines and its own effects.

Top-level ``if``/``try``/``with`` blocks are read too.  Parsed once per file.
"""

from __future__ import annotations

import ast
import linecache

from .syntax import strip_docstring

__all__ = ["module_effects"]

_CACHE: dict = {}


def _head(node):
    """The name a call's callee starts from (``np`` in ``np.random.seed``, ``T`` in
    ``T().run()``) and the plain dotted callee (``np.random.seed``, or '')."""
    parts, plain = [], True
    while not isinstance(node, ast.Name):
        if isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        elif isinstance(node, (ast.Call, ast.Subscript)):
            plain, node = False, node.func if isinstance(node, ast.Call) else node.value
        else:
            return None, ""
    return node.id, ".".join([node.id, *reversed(parts)]) if plain else ""


def _statements(body):
    """Top-level statements, into ``if``/``try``/``with``/``for`` blocks (not into defs)."""
    for stmt in body:
        yield stmt
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        for name in ("body", "orelse", "finalbody"):
            inner = getattr(stmt, name, None)
            if isinstance(inner, list):
                yield from _statements(inner)
        for handler in getattr(stmt, "handlers", ()):
            yield from _statements(handler.body)


def module_effects(filename: str, package: str | None) -> tuple[list, list]:
    """``(calls, imported)`` of the module in ``filename``: for each top-level call statement
    ``(dump, head name, dotted callee, names its arguments read)``, and the dotted names of
    the modules it imports without ever reading them (relative ones resolved against
    ``package``)."""
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
        body = list(_statements(strip_docstring(tree.body)))
        for s in body:
            if isinstance(s, ast.Expr) and isinstance(s.value, ast.Call):
                first = s.value.args[0] if s.value.args else None
                if isinstance(s.value.func, ast.Attribute) and s.value.func.attr == "set_option" and isinstance(
                        first, ast.Constant) and str(first.value).startswith("display."):
                    continue  # pd.set_option("display.max_columns", 50): how frames print
                head, dotted = _head(s.value.func)
                args = [*s.value.args, *(k.value for k in s.value.keywords)]
                read = sorted({n.id for a in args for n in ast.walk(a) if isinstance(n, ast.Name)})
                calls.append((ast.dump(s.value, include_attributes=False), head, dotted, read))
        chains = set()
        for n in ast.walk(tree):
            if isinstance(n, (ast.Name, ast.Attribute)) and isinstance(n.ctx, ast.Load):
                _, dotted = _head(n)
                chains.add(dotted)

        def used(name: str) -> bool:  # import pkg.acc beside a read of pkg.helpers: not used
            return any(c == name or c.startswith(name + ".") for c in chains)

        for stmt in body:
            if isinstance(stmt, ast.Import):
                imported += [a.name for a in stmt.names if not used(a.asname or a.name)]
            elif isinstance(stmt, ast.ImportFrom):
                base = stmt.module or ""
                if stmt.level:
                    parts = (package or "").split(".")
                    head = ".".join(parts[:len(parts) - stmt.level + 1]) if package else ""
                    base = ".".join(p for p in (head, stmt.module) if p)
                imported += [f"{base}.{a.name}" if base else a.name for a in stmt.names
                             if a.name != "*" and not used(a.asname or a.name)]
    _CACHE[key] = (calls, imported)
    return calls, imported
