"""What a module of the user's does when it is imported, besides defining names.

Imports only the standard library and the sibling ``syntax``.  Two kinds of
top-level statements act on the whole process, so a task whose code lives in
the module depends on them though it never names them:

- calls (``np.random.seed(SEED)``, ``sklearn.set_config(transform_output="pandas")``,
  ``setup()`` of the module's own), counted by their syntax tree and the values of
  the names their arguments read (output, logging, warnings and daskflow's own
  calls, such as a script's closing ``d6tflow.run(Train())``, are left out by the
  walk), and assignments to an attribute or item of another object
  (``pd.options.future.infer_string = True``, ``pd.Series.winsor = _winsor``),
  counted the same way (display options left out; ``globals()[name] = value`` defines
  a name of the module, as ``name = value`` does, and is not an effect);
- definitions decorated by a registration (``@pd.api.extensions.register_dataframe_accessor("feat")``,
  ``@REGISTRY.register("name")``): the class or function is reached through what it was
  registered with, never by its name, so it counts as an effect by what it defines;
- imports whose name the module never reads (``import accessors`` that
  registers a pandas accessor, ``from . import plugins``): run for what they
  register, so the imported module counts by the functions and classes it
  defines and its own effects.

The modules it imports from at all (``from settings import N``) ran their own
top-level calls first (``np.random.seed(0)``, ``pd.set_option(...)`` in a
constants module): their calls count too, by their code alone (not by the
values their arguments have in this process: a timestamped ``RUN_DIR``).

Top-level ``if``/``try``/``with`` blocks are read too, but not a script's
``if __name__ == "__main__":`` block, which never runs on import (what it does
when the file runs as a script is not counted).  Parsed once per file.
"""

from __future__ import annotations

import ast
import copy
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


def _main_block(stmt) -> bool:
    """``if __name__ == "__main__":``: a script's entry point, which never runs on import."""
    test = stmt.test if isinstance(stmt, ast.If) else None
    return isinstance(test, ast.Compare) and isinstance(test.left, ast.Name) and test.left.id == "__name__" \
        and len(test.comparators) == 1 and isinstance(test.comparators[0], ast.Constant) \
        and test.comparators[0].value == "__main__"


def _statements(body):
    """Top-level statements, into ``if``/``try``/``with``/``for`` blocks (not into defs)."""
    for stmt in body:
        if _main_block(stmt):
            continue
        yield stmt
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        for name in ("body", "orelse", "finalbody"):
            inner = getattr(stmt, name, None)
            if isinstance(inner, list):
                yield from _statements(inner)
        for handler in getattr(stmt, "handlers", ()):
            yield from _statements(handler.body)


def _targets(stmt) -> list:
    return stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]


def _is_globals(node) -> bool:
    """``globals()``: the module's own namespace."""
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "globals" \
        and not node.args and not node.keywords


def _of_another(target) -> bool:
    """An assignment target that is an attribute or item of another object: not a name of
    the module itself, as ``globals()[name] = ...`` is (classes made in a loop, ``type(name,
    bases, attrs)``, are then defined like any other: each counts by what it holds)."""
    if isinstance(target, ast.Subscript):
        return not _is_globals(target.value)
    return isinstance(target, ast.Attribute)


def _defines(call) -> bool:
    """``globals().update(...)`` / ``globals().setdefault(...)`` whose arguments call nothing
    but builders of classes and mappings (``{name: type(...)}``, ``dict(zip(...))``): names of
    the module defined.  ``globals().update(setup())`` still counts: ``setup()`` is an effect."""
    func = call.func
    if not (isinstance(func, ast.Attribute) and func.attr in ("update", "setdefault") and _is_globals(func.value)):
        return False
    inner = [n for a in [*call.args, *(k.value for k in call.keywords)] for n in ast.walk(a) if isinstance(n, ast.Call)]
    return all(isinstance(n.func, ast.Name) and n.func.id in _BUILDERS for n in inner)


_BUILDERS = frozenset({"type", "dict", "zip", "enumerate", "range", "list", "tuple"})


def _registers(dotted: str) -> bool:
    """A decorator that registers what it decorates somewhere else (``register_dataframe_accessor``,
    ``REGISTRY.register("name")``, ``fn.register`` of a singledispatch function)."""
    last = dotted.rpartition(".")[2].lower()
    return "register" in last or last.endswith("_accessor")


def module_effects(filename: str, package: str | None) -> tuple[list, list, list, list]:
    """``(calls, imported, sources, registered)`` of the module in ``filename``: for each
    top-level call statement ``(dump, head name, dotted callee, names its arguments read)``,
    the dotted names of the modules it imports without ever reading them, and of every module
    it imports from (``from settings import N``: settings' own top-level calls ran first;
    relative names are resolved against ``package``), and ``(decorator dump, name)`` of each
    definition a decorator registers."""
    key = (filename, package)
    if key in _CACHE:
        return _CACHE[key]
    lines = linecache.getlines(filename) if filename else []
    try:
        tree = ast.parse("".join(lines)) if lines else None
    except (SyntaxError, ValueError):
        tree = None
    calls, imported, sources, registered = [], [], [], []
    if tree is not None:
        body = list(_statements(strip_docstring(tree.body)))
        for s in body:
            if isinstance(s, ast.Expr) and isinstance(s.value, ast.Call):
                first = s.value.args[0] if s.value.args else None
                if isinstance(s.value.func, ast.Attribute) and s.value.func.attr == "set_option" and isinstance(
                        first, ast.Constant) and str(first.value).startswith("display."):
                    continue  # pd.set_option("display.max_columns", 50): how frames print
                if _defines(s.value):
                    continue
                head, dotted = _head(s.value.func)
                args = [*s.value.args, *(k.value for k in s.value.keywords)]
                read = sorted({n.id for a in args for n in ast.walk(a) if isinstance(n, ast.Name)})
                calls.append((ast.dump(s.value, include_attributes=False), head, dotted, read))
            elif isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                for deco in s.decorator_list:  # @pd.api.extensions.register_dataframe_accessor("feat"):
                    if _registers(_head(deco.func if isinstance(deco, ast.Call) else deco)[1]):  # the class
                        # is reached through pandas, by attribute, never by its name; by its own syntax
                        # too (several `@fmt.register(int) def _(x)`: the name holds only the last)
                        own = copy.copy(s)
                        own.body = strip_docstring(s.body)
                        registered.append((ast.dump(deco, include_attributes=False)
                                           + ast.dump(own, include_attributes=False), s.name))
                        break
            elif isinstance(s, (ast.Assign, ast.AugAssign)) and any(  # pd.options.future.infer_string = True,
                    _of_another(t) for t in _targets(s)):  # pd.Series.winsor = f
                target = next(t for t in _targets(s) if _of_another(t))
                head, dotted = _head(target)
                if ".display." in dotted or dotted.endswith(".display"):
                    continue  # pd.options.display.max_rows = 50: how frames print
                read = sorted({n.id for n in ast.walk(s) if isinstance(n, ast.Name) and n.id != head})
                calls.append((ast.dump(s, include_attributes=False), head, dotted, read))
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
                sources += [a.name for a in stmt.names]
            elif isinstance(stmt, ast.ImportFrom):
                base = stmt.module or ""
                if stmt.level:
                    parts = (package or "").split(".")
                    head = ".".join(parts[:len(parts) - stmt.level + 1]) if package else ""
                    base = ".".join(p for p in (head, stmt.module) if p)
                imported += [f"{base}.{a.name}" if base else a.name for a in stmt.names
                             if a.name != "*" and not used(a.asname or a.name)]
                sources += [base] if base else []
    _CACHE[key] = (calls, imported, sources, registered)
    return _CACHE[key]
