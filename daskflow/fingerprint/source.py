"""Where code lives: user modules, and each code object's own syntax node and stable key.

Imports only the standard library.  A code object is located exactly: its
module's source is parsed once (``linecache``, so notebooks and ``__main__``
work too) and the function or lambda node whose span holds every
instruction position of the code object (``co_positions()``, Python 3.11+)
is taken, so two lambdas on one line or one inside a multi-line literal each
find their own source.  Without positions the first node that starts on
``co_firstlineno`` is taken and the part says so.

A part's *key* is ``module:qualname``, with ``#n`` appended when the module
has several functions of that qualname (the n-th in source order); a lambda
bound in a module- or class-level assignment is numbered within it
(``flow:<lambda>@OPS#2``), so adding a lambda elsewhere renumbers nothing.  A
key holds no file path and no line number, so a blank line added above leaves
every key, and so every fingerprint, as it was.  File and line are kept apart, for
``why()`` only.
"""

from __future__ import annotations

import ast
import linecache
import re
import os
import sys
import sysconfig

__all__ = ["is_user_module", "is_user_file", "is_user_function", "is_user_namespace", "module_label", "locate", "located", "code_key", "Located",
           "relative"]

_SYSTEM_DIRS = tuple(
    os.path.realpath(p) + os.sep
    for p in {sysconfig.get_paths().get(k) for k in ("stdlib", "platstdlib", "purelib", "platlib")}
    if p) + (os.path.dirname(os.path.dirname(os.path.realpath(__file__))) + os.sep,)
_INSTALLED = f"{os.sep}site-packages{os.sep}"  # any environment's, the user site's too
_DEBIAN = f"{os.sep}dist-packages{os.sep}"
_USER_MODULES: dict = {}
_USER_FILES: dict = {}
_TREES: dict = {}  # filename -> (source, {code node -> (qualname, ordinal, count)}) or None


def is_user_file(filename: str) -> bool:
    """True for a source file of the user's own code (not stdlib, site-packages or daskflow)."""
    known = _USER_FILES.get(filename)
    if known is None:
        if filename.startswith("<"):
            known = filename.startswith("<ipython-input") or filename.startswith("<cell")
        else:
            real = os.path.realpath(filename)
            known = not (real.startswith(_SYSTEM_DIRS) or _INSTALLED in real or _DEBIAN in real)
        _USER_FILES[filename] = known
    return known


def is_user_module(name: str) -> bool:
    """True for the user's own modules: not the standard library, site-packages or daskflow."""
    known = _USER_MODULES.get(name)
    if known is None:
        module = sys.modules.get(name)
        path = getattr(module, "__file__", None)
        if module is None:
            known = False
        elif path is None:  # __main__ of python -c; a namespace package by its folders
            known = name == "__main__" or any(is_user_file(p) for p in getattr(module, "__path__", ()) or ())
        else:
            known = is_user_file(path)
        _USER_MODULES[name] = known
    return known


def is_user_function(func) -> bool:
    """A function of the user's: of a user module, or written in a user file (a plugin module
    loaded by ``spec_from_file_location`` and ``exec_module``, which is not in ``sys.modules``)."""
    return is_user_module(getattr(func, "__module__", "") or "") or is_user_file(func.__code__.co_filename)


def is_user_namespace(module) -> bool:
    """``is_user_module`` for a module object; one ``sys.modules`` does not hold (a plugin loaded
    from its file, under a name of its own) by its file."""
    name = getattr(module, "__name__", "") or ""
    if sys.modules.get(name) is module:
        return is_user_module(name)
    path = getattr(module, "__file__", None)
    return bool(path) and is_user_file(path)


def module_label(name: str) -> str:
    """A module's name, with ``__main__`` replaced by the script's file name (stable)."""
    if name == "__main__":
        main = sys.modules.get("__main__")
        path = getattr(main, "__file__", None)
        return os.path.splitext(os.path.basename(path))[0] if path else "__main__"
    return name


def relative(path: str) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:
        return path


class Located:
    """A code object's syntax node, the source text it was parsed from, and its stable key."""

    __slots__ = ("node", "source", "key", "file", "line", "exact")

    def __init__(self, node, source: str, key: str, file: str, line: int, exact: bool):
        self.node, self.source, self.key = node, source, key
        self.file, self.line, self.exact = file, line, exact


_FUNCS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)


def _module_tree(filename: str):
    """Parse a module once; name each function node by qualname and ordinal."""
    if filename in _TREES:
        return _TREES[filename]
    lines = linecache.getlines(filename)
    found = None
    if lines:
        source = "".join(lines)
        try:
            tree = ast.parse(source)
        except (SyntaxError, ValueError):
            tree = None
        if tree is not None:
            names: dict = {}
            order: list = []

            def visit(node, prefix: str, anchor: str) -> None:
                for child in ast.iter_child_nodes(node):
                    here = anchor
                    if isinstance(node, (ast.Module, ast.ClassDef)):  # a statement of a body
                        here = _anchor(child)
                    if isinstance(child, ast.ClassDef):
                        visit(child, f"{prefix}{child.name}.", here)
                    elif isinstance(child, _FUNCS):
                        lam = isinstance(child, ast.Lambda)
                        qual = prefix + ("<lambda>" if lam else child.name)
                        stub = not lam and any((d.attr if isinstance(d, ast.Attribute) else getattr(d, "id", ""))
                                               == "overload" for d in child.decorator_list)
                        # typing.overload stubs never run: numbered apart, adding one renumbers nothing
                        order.append((child, qual, here if lam else "overload" if stub else ""))
                        visit(child, qual + ".<locals>.", "")
                    else:
                        visit(child, prefix, here)

            visit(tree, "", "")
            counts: dict = {}
            for node, qual, anchor in order:
                group = (qual, anchor)
                counts[group] = counts.get(group, 0) + 1
                names[node] = [qual + (f"@{anchor}" if anchor else ""), counts[group], group]
            for node in names:
                names[node][2] = counts[names[node][2]]
            found = (source, names)
    _TREES[filename] = found
    return found


def _anchor(stmt) -> str:
    """The names a module- or class-level assignment binds (``OPS``, ``F,G``): lambdas in it
    are numbered within it, so a lambda added elsewhere in the module renumbers nothing."""
    if isinstance(stmt, ast.Assign) and all(isinstance(t, (ast.Name, ast.Tuple)) for t in stmt.targets):
        names = [n.id for t in stmt.targets for n in ast.walk(t) if isinstance(n, ast.Name)]
        return ",".join(names)
    if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
        return stmt.target.id
    return ""


def _start(node) -> int:
    decorators = getattr(node, "decorator_list", None)
    return decorators[0].lineno if decorators else node.lineno


def locate(code, module: str) -> Located | None:
    """The syntax node of ``code`` in its module's source, or None when there is no source."""
    parsed = _module_tree(code.co_filename)
    if parsed is None:
        return None
    source, names = parsed
    first = code.co_firstlineno
    candidates = [n for n in names if _start(n) == first and names[n][0].split("@")[0].rsplit(".", 1)[-1]
                  == code.co_qualname.rsplit(".", 1)[-1]]
    if not candidates:
        return None
    exact = True
    if len(candidates) > 1:
        spans = [p for p in code.co_positions()  # zero-width entries (RESUME...) carry no place
                 if None not in p and (p[0], p[2]) < (p[1], p[3])]
        exact = bool(spans)

        def holds(n) -> bool:
            begin, end = (n.lineno, n.col_offset), (n.end_lineno, n.end_col_offset)
            return all(begin <= (p[0], p[2]) and (p[1], p[3]) <= end for p in spans)

        inside = [n for n in candidates if holds(n)] or candidates
        candidates = sorted(inside, key=lambda n: (n.end_lineno - n.lineno, n.end_col_offset - n.col_offset))
    node = candidates[0]
    qual, ordinal, count = names[node]
    key = f"{module_label(module)}:{qual}" + (f"#{ordinal}" if count > 1 else "")
    return Located(node, source, key, relative(code.co_filename), first, exact)


_KEYS: dict = {}  # (code object, module) -> Located or None


def located(code, module: str) -> Located | None:
    """``locate`` once per code object and module."""
    ident = (code, module)
    if ident not in _KEYS:
        _KEYS[ident] = locate(code, module)
    return _KEYS[ident]


def code_key(code, module: str) -> str:
    """The stable key of a code object (``module:qualname``, ``#n`` among namesakes)."""
    found = located(code, module)
    return found.key if found is not None else f"{module_label(module)}:{code.co_qualname}"


MODULE_HEAD_RE = re.compile(r"<module ([^>]+)>\.?(.*)")  # see syntax.MODULE_HEAD
