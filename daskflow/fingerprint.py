"""Code fingerprints: a canonical walk of the syntax tree of a task's code.

Imports ``errors``, ``canonical`` and ``task``; pure functions with a
per-process cache (one walk per class and per function).

Design, after redun's ``hashing.py``: every piece of code the task reaches is a
*part*, keyed ``module:qualname``, with a digest of a tagged, canonical token
stream of its syntax tree.  The walk skips positions, docstrings, comments,
formatting and absent fields, and renames local variables to their order of
first appearance unless the function uses ``locals()``, ``eval``, ``exec`` or
``f"{x=}"``.  Functions, methods (inherited ones included), classes, closure
values, ``functools.partial`` objects and module-level constants of the user's
own code are followed across modules; a part's digest holds only its own tree
and the *names* of what it references, so cycles need no special care.  The
class fingerprint hashes the sorted (key, digest) pairs of all parts reached.

Third-party and standard-library names count by qualified name only.  Other
task classes count by name only (their code reaches us through the upstream
fingerprint, which keeps early cutoff possible).  A reference the walk cannot
follow (``getattr(x, name)``, ``importlib``) makes the fingerprint
*incomplete*: it is reported, never silently ignored.  ``version = "..."`` on
the class replaces all of this.  Nothing depends on file paths, hash seeds or
the Python minor version.
"""

from __future__ import annotations

import ast
import builtins
import functools
import hashlib
import inspect
import os
import re
import sys
import sysconfig
import textwrap
import types
import weakref
from dataclasses import dataclass, field

from . import canonical
from .task import Task

__all__ = ["CodeFingerprint", "Part", "code_fingerprint"]

_SCHEMA = "daskflow-code/1"


@dataclass
class Part:
    """One piece of code reached from a task, with what ``why()`` needs to explain a change."""

    key: str
    digest: str
    file: str = ""
    line: int = 0
    statements: list = field(default_factory=list)  # [line, digest, text] per top-level statement
    values: dict = field(default_factory=dict)  # name used -> digest of what it refers to


@dataclass
class CodeFingerprint:
    digest: str
    parts: dict  # key -> Part
    incomplete: list  # reasons the walk could not follow a reference


_CLASS_CACHE: "weakref.WeakKeyDictionary[type, CodeFingerprint]" = weakref.WeakKeyDictionary()
_FUNC_CACHE: dict = {}  # code object -> (Part, [values referenced], [incomplete reasons])
_SYSTEM_DIRS = tuple(
    os.path.realpath(p) + os.sep
    for p in {sysconfig.get_paths().get(k) for k in ("stdlib", "platstdlib", "purelib", "platlib")}
    if p) + (os.path.dirname(os.path.realpath(__file__)) + os.sep,)
_INSTALLED = f"{os.sep}site-packages{os.sep}"  # any environment's, the user site's too
_DEBIAN = f"{os.sep}dist-packages{os.sep}"
_USER_MODULES: dict = {}


def is_user_module(name: str) -> bool:
    """True for the user's own modules: not the standard library, site-packages or daskflow."""
    known = _USER_MODULES.get(name)
    if known is None:
        module = sys.modules.get(name)
        path = getattr(module, "__file__", None)
        if module is None:
            known = False
        elif path is None:
            known = name == "__main__"
        else:
            real = os.path.realpath(path)
            known = not (real.startswith(_SYSTEM_DIRS) or _INSTALLED in real or _DEBIAN in real)
        _USER_MODULES[name] = known
    return known


def _module_label(name: str) -> str:
    if name == "__main__":
        main = sys.modules.get("__main__")
        path = getattr(main, "__file__", None)
        return os.path.splitext(os.path.basename(path))[0] if path else "__main__"
    return name


def _key(obj) -> str:
    return f"{_module_label(getattr(obj, '__module__', '') or '')}:{getattr(obj, '__qualname__', repr(obj))}"


def code_fingerprint(cls: type) -> CodeFingerprint:
    """The code fingerprint of a task class, computed once per class per process."""
    cached = _CLASS_CACHE.get(cls)
    if cached is None:
        cached = _CLASS_CACHE[cls] = _fingerprint_class(cls)
    return cached


def _fingerprint_class(cls: type) -> CodeFingerprint:
    version = cls.__dict__.get("version")  # a base class's version does not cover a subclass's code
    if version is not None:
        digest = canonical.digest(_SCHEMA.encode(), b"version", canonical.encode(str(version)))
        return CodeFingerprint(digest, {}, [])
    parts: dict[str, Part] = {}
    incomplete: list[str] = []
    # the task class and its bases count even when installed in site-packages (a cluster image)
    todo = [("task-class", c) for c in reversed(cls.__mro__) if c is not object
            and not c.__module__.startswith("daskflow") and c.__module__ != "builtins"]
    seen: set = set()
    while todo:
        kind, obj = todo.pop()
        ident = (kind, id(obj))
        if ident in seen:
            continue
        seen.add(ident)
        if kind in ("class", "task-class"):
            part, refs = _class_part(obj, own=kind == "task-class")
        else:
            part, refs, why = _function_part(obj)
            incomplete.extend(why)
        parts[part.key] = part
        todo.extend(refs)
    h = hashlib.sha256(_SCHEMA.encode())
    for key in sorted(parts):
        h.update(f"{key}\0{parts[key].digest}\n".encode())
    return CodeFingerprint(h.hexdigest(), parts, sorted(set(incomplete)))


def _class_part(cls: type, own: bool = False):
    """A class: its attributes (by name and canonical value) and the methods it defines."""
    tokens, refs = [], []
    for name in sorted(vars(cls)):
        value = vars(cls)[name]
        if name in ("__dict__", "__weakref__", "__module__", "__qualname__", "__doc__",
                    "_param_defs", "_outputs", "_defaults", "_significant", "_name_bytes", "__annotations__", "__firstlineno__",
                    "__static_attributes__"):
            continue
        func = _unwrap_callable(value)
        if func is not None:
            tokens.append(f"def {name}")
            if func.__code__.co_filename.startswith("<") and hasattr(cls, "__dataclass_fields__"):
                continue  # made by @dataclass from the fields, which count as attributes
            if own or is_user_module(getattr(func, "__module__", "") or ""):
                refs.append(("func", func))
            else:
                tokens.append(f"ext {_key(func)}")
            continue
        tokens.append(f"attr {name}={_describe_value(value, refs)}")
    digest = hashlib.sha256("\0".join(tokens).encode()).hexdigest()
    try:
        line = inspect.getsourcelines(cls)[1]
        file = _relative(inspect.getsourcefile(cls) or "")
    except (OSError, TypeError):
        line, file = 0, ""
    return Part(_key(cls), digest, file, line), refs


def _unwrap_callable(value):
    if isinstance(value, (staticmethod, classmethod)):
        value = value.__func__
    if isinstance(value, property):
        value = value.fget
    if isinstance(value, functools.partial):
        return None
    if isinstance(value, types.FunctionType):
        return inspect.unwrap(value)
    return None


def _describe_value(value, refs: list, depth: int = 0) -> str:
    """A token for a referenced value; queues user code in ``refs`` to be walked."""
    from .params import Parameter

    if callable(value) and hasattr(value, "__wrapped__") and not isinstance(value, type):
        value = inspect.unwrap(value)  # functools.wraps decorators, lru_cache...
    if isinstance(value, _Name):
        return f"ext {value}"
    if isinstance(value, Parameter):
        return f"param {type(value).__name__}"
    if isinstance(value, type):
        if issubclass(value, Task):
            return f"task {value.__name__}"
        if is_user_module(value.__module__):
            refs.append(("class", value))
        return f"class {_key(value)}"
    if isinstance(value, types.ModuleType):
        return f"module {_module_label(value.__name__)}"
    if isinstance(value, functools.partial):
        inner = _describe_value(value.func, refs)
        try:
            args = canonical.encode((value.args, value.keywords)).hex()
        except TypeError:
            args = "?"
        return f"partial {inner} {args}"
    func = _unwrap_callable(value)
    if func is not None or isinstance(value, (types.BuiltinFunctionType, types.MethodType)):
        func = func or getattr(value, "__func__", value)
        if func is not None and is_user_module(getattr(func, "__module__", "") or "") \
                and isinstance(func, types.FunctionType):
            refs.append(("func", func))
        return f"func {_key(func)}"
    kind = type(value)
    if kind.__module__ in _VALUE_MODULES or is_user_module(kind.__module__):
        try:
            return "const " + hashlib.sha256(canonical.encode(value)).hexdigest()
        except TypeError:
            pass
    if depth < 4 and isinstance(value, (dict, list, tuple, set, frozenset)):
        items = sorted(value.items(), key=lambda kv: repr(kv[0])) if isinstance(value, dict) else \
            (sorted(value, key=repr) if isinstance(value, (set, frozenset)) else value)
        parts = ([f"{_describe_value(k, refs, depth + 1)}:{_describe_value(v, refs, depth + 1)}"
                  for k, v in items] if isinstance(value, dict)
                 else [_describe_value(v, refs, depth + 1) for v in items])
        return f"{kind.__name__}[" + "|".join(parts) + "]"  # e.g. MODELS = {"ols": fit_ols}
    if isinstance(value, re.Pattern):
        return f"pattern {value.pattern!r} {value.flags}"
    if is_user_module(kind.__module__):
        refs.append(("class", kind))
        if depth < 4 and hasattr(value, "__dict__"):  # a config object: its attributes count
            state = sorted(vars(value).items())
            return f"object {_key(kind)} " + "|".join(
                f"{k}={_describe_value(v, refs, depth + 1)}" for k, v in state)
    return f"object {_key(kind)}"  # a library's object (os.environ, a logger): by type only


# modules whose values are data: a module-level constant of these types counts by value
_VALUE_MODULES = frozenset({"builtins", "datetime", "decimal", "fractions", "uuid", "pathlib",
                            "numpy", "pandas.core.frame", "pandas.core.series",
                            "pandas._libs.tslibs.timestamps", "collections", "enum"})


def _relative(path: str) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:
        return path


def _function_part(func):
    code = func.__code__
    key = (code, code.co_filename, func.__module__)  # equal code objects may live in two modules
    cached = _FUNC_CACHE.get(key)
    if cached is None:
        cached = _FUNC_CACHE[key] = _walk_function(func)
    part, names, incomplete = cached  # the syntax walk is cached; values are read now, for
    values, unresolved = _resolve_globals(func, names)  # closures of one code object differ
    incomplete = incomplete + unresolved
    refs: list = []
    tokens = [part.digest]
    used = {}
    for name, value in values:
        token = f"{name}={_describe_value(value, refs)}"
        tokens.append(token)
        used[name] = hashlib.sha256(token.encode()).hexdigest()[:16]
    digest = hashlib.sha256("\0".join(tokens).encode()).hexdigest()
    return Part(part.key, digest, part.file, part.line, part.statements, used), refs, incomplete


def _walk_function(func):
    key = _key(func)
    try:
        lines, first = inspect.getsourcelines(func)
        tree = ast.parse(textwrap.dedent("".join(lines)))
        node = next(n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)))
        file = _relative(inspect.getsourcefile(func) or "")
    except (OSError, TypeError, SyntaxError, StopIteration):
        part = Part(key, hashlib.sha256(f"nosource {key}".encode()).hexdigest())
        return part, (), [f"{key}: source code not available"]
    walker = _Walker(node, first - 1)
    tokens = walker.tokens(node)
    statements = []
    body = node.body if isinstance(node.body, list) else [node.body]
    source = textwrap.dedent("".join(lines))
    for stmt in _strip_docstring(body):
        text = ast.get_source_segment(source, stmt) or ""
        statements.append([first + stmt.lineno - 1,
                           hashlib.sha256("\0".join(walker.tokens(stmt)).encode()).hexdigest()[:16],
                           text.splitlines()[0][:200] if text else ""])
    digest = hashlib.sha256("\0".join(tokens).encode()).hexdigest()
    incomplete = [f"{key}: {why}" for why in walker.dynamic]
    return Part(key, digest, file, first, statements), tuple(sorted(walker.globals)), incomplete


def _strip_docstring(body: list) -> list:
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        return body[1:]
    return body


def _resolve_globals(func, names) -> tuple[list, list]:
    """Values of the free names a function reads: closure cells first, then module globals."""
    namespace = dict(func.__globals__)
    if func.__closure__:
        for name, cell in zip(func.__code__.co_freevars, func.__closure__):
            try:
                namespace[name] = cell.cell_contents
            except ValueError:  # an empty cell
                pass
    values, incomplete = [], []
    for dotted in names:
        head, *rest = dotted.split(".")
        if head.startswith("__") and head.endswith("__"):
            continue  # __file__, __name__...: where the code lives, not what it does
        if head not in namespace:
            if not hasattr(builtins, head):
                incomplete.append(f"{_key(func)}: name {head!r} is not defined")
            continue
        value, name = namespace[head], head
        for attr in rest:  # follow module.attr chains into the user's own modules only
            if not isinstance(value, types.ModuleType):
                break
            if not is_user_module(value.__name__):  # os.environ, np.random: by name only
                value, name = _Name(f"{value.__name__}.{attr}"), f"{name}.{attr}"
                break
            if not hasattr(value, attr):
                break
            value, name = getattr(value, attr), f"{name}.{attr}"
        values.append((name, value))
    return values, incomplete


class _Name(str):
    """A third-party name, recorded by its qualified name only."""


class _Walker:
    """Turns a syntax tree into canonical tokens; records free names and dynamic lookups."""

    _SKIP = {"ctx", "type_comment", "kind"}

    def __init__(self, func_node, line_offset: int = 0):
        self.line_offset = line_offset
        self.globals: set[str] = set()
        self.dynamic: list[str] = []
        args = func_node.args
        self.params = {a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)}
        self.params |= {a.arg for a in (args.vararg, args.kwarg) if a is not None}
        self.locals = self._assigned(func_node) - self.params
        self.rename = not self._introspects(func_node)
        self.names: dict[str, str] = {}

    @staticmethod
    def _assigned(node) -> set:
        found, declared = set(), set()
        for n in ast.walk(node):
            if isinstance(n, ast.Name) and isinstance(n.ctx, (ast.Store, ast.Del)):
                found.add(n.id)
            elif isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and n is not node:
                found.add(n.name)
            elif isinstance(n, ast.arg):
                found.add(n.arg)
            elif isinstance(n, (ast.Import, ast.ImportFrom)):
                found.update((a.asname or a.name).split(".")[0] for a in n.names)
            elif isinstance(n, (ast.Global, ast.Nonlocal)):
                declared.update(n.names)
            elif isinstance(n, ast.ExceptHandler) and n.name:
                found.add(n.name)
        return found - declared

    @staticmethod
    def _introspects(node) -> bool:
        for n in ast.walk(node):
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id in ("locals", "eval", "exec", "vars"):
                return True
            if isinstance(n, ast.JoinedStr):
                for a, b in zip(n.values, n.values[1:]):
                    if isinstance(a, ast.Constant) and isinstance(a.value, str) and a.value.endswith("=") \
                            and isinstance(b, ast.FormattedValue):
                        return True
        return False

    def _name(self, ident: str) -> str:
        if ident in self.locals and self.rename:
            return self.names.setdefault(ident, f"_v{len(self.names)}")
        return ident

    def tokens(self, node) -> list[str]:
        out: list[str] = []
        self._visit(node, out)
        return out

    def _visit(self, node, out: list) -> None:
        if isinstance(node, ast.Name):
            if node.id not in self.locals and node.id not in self.params and isinstance(node.ctx, ast.Load):
                self.globals.add(node.id)
            out.append(f"Name {self._name(node.id)}")
            return
        if isinstance(node, ast.Attribute):
            chain = _dotted(node)
            if chain and chain.split(".")[0] not in self.locals | self.params:
                self.globals.add(chain)
        if isinstance(node, ast.Call):
            self._check_dynamic(node)
        if isinstance(node, ast.Constant):
            out.append(f"Constant {type(node.value).__name__} {node.value!r}")
            return
        out.append(type(node).__name__)
        body_fields = ("body",) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) else ()
        for name in node._fields:
            if name in self._SKIP:
                continue
            value = getattr(node, name, None)
            if value is None or value == []:
                continue
            if name in body_fields:
                value = _strip_docstring(value)
            if isinstance(node, ast.arg) and name == "arg":
                out.append(f"arg {value}")
                continue
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and name == "name":
                out.append(f"name {self._name(value)}")
                continue
            out.append(name)
            if isinstance(value, ast.AST):
                self._visit(value, out)
            elif isinstance(value, list):
                out.append(f"[{len(value)}")
                for item in value:
                    if isinstance(item, ast.AST):
                        self._visit(item, out)
                    else:
                        out.append(f"{type(item).__name__} {self._name(item) if isinstance(item, str) else item!r}")
                out.append("]")
            else:
                out.append(f"{type(value).__name__} {value!r}")

    def _check_dynamic(self, node: ast.Call) -> None:
        fn = _dotted(node.func) if isinstance(node.func, (ast.Name, ast.Attribute)) else ""
        if fn == "getattr" and len(node.args) >= 2 and not isinstance(node.args[1], ast.Constant):
            self.dynamic.append(f"getattr() with a computed name at line {node.lineno + self.line_offset}")
        elif fn in ("importlib.import_module", "import_module", "__import__"):
            self.dynamic.append(f"{fn}() at line {node.lineno + self.line_offset}")


def _dotted(node) -> str:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return ""
