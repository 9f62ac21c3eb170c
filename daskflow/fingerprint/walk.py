"""Code fingerprints: a canonical walk of the syntax trees of what a task's code reaches.

Imports ``canonical``, ``task`` and the sibling modules; pure functions with a
per-process cache (one walk per class and per code object).

Design, after redun's ``hashing.py``: every piece of code the task reaches is a
*part* with a stable key (see ``source``) and a digest of a tagged, canonical
token stream of its syntax tree (see ``syntax``) plus tokens of the values its
free names refer to (see ``values``).  Functions, methods (inherited ones
included), classes with their whole MRO, closure cells, ``functools.partial``
objects and module-level constants of the user's own code are followed across
modules; a part's digest holds only its own tree and the *keys* of the code it
references, so cycles need no special care.  Closures of one code object are
distinct parts (``key[cells-digest]``).  The class fingerprint hashes the
sorted (key, digest) pairs of all parts reached and the versions of the
installed libraries they use.

Other task classes count by name (their code reaches us through the upstream
fingerprint, which keeps early cutoff possible), but what a task uses *of*
another task class (``Other.SCALE``, ``A.norm(x)``) is a part of its own
fingerprint, so early cutoff cannot hide it.  A reference the walk cannot
follow makes the fingerprint *incomplete*: it is reported, never silently
ignored.  ``version = "..."`` on the class replaces all of this.
"""

from __future__ import annotations

import ast
import builtins
import hashlib
import inspect
import os
import re
import sys
import textwrap
import types
import weakref

from .. import canonical
from ..task import Task
from .effects import module_effects
from .bases import resolution
from .libraries import counted, distributions_of
from .names import resolve_globals
from .parts import _SCHEMA, SKIPPED_ATTRS, CodeFingerprint, Part, assemble
from .reads import scan
from .source import is_user_function, is_user_module, is_user_namespace, located, module_label, relative
from .syntax import AT_NAME, Walker, strip_docstring
from .values import Collector, describe, dispatched, func_token, key_of, shadowed, unwrap_callable, user_wrappers

__all__ = ["CodeFingerprint", "Part", "code_fingerprint", "code_of"]

_SHOWN = 120  # characters of a value kept for why()


_CLASS_CACHE: "weakref.WeakKeyDictionary[type, CodeFingerprint]" = weakref.WeakKeyDictionary()
_FUNC_CACHE: dict = {}  # (code object, module) -> (Part, names referenced, incomplete reasons, bare names)


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
    # the task class and its bases count even when installed in site-packages (a cluster image)
    todo = [("task-class", c) for c in reversed(cls.__mro__) if c is not object
            and not c.__module__.startswith("daskflow") and c.__module__ != "builtins"]
    for fmt in {id(f): f for f in getattr(cls, "_outputs", {}).values()}.values():
        if is_user_module(type(fmt).__module__):  # a format of the user's: its dumps/load count
            todo.append(("class", type(fmt)))
    parts, incomplete, libraries = _walk(todo, cls)
    order = resolution(cls)
    if order is not None:
        parts[order.key] = order
    return assemble(parts, incomplete, libraries)


_OBJECT_CACHE: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def code_of(objects) -> str:
    """A digest of the code behind classes and functions a value names (see
    ``daskflow.picklerefs``): the user's are walked as a task's code is, a library's count
    by its distribution and version, the standard library's not at all; '' if none counts."""
    digests = set()
    for obj in objects:
        digest = _OBJECT_CACHE.get(obj)
        if digest is None:
            module = getattr(obj, "__module__", "") or ""
            if is_user_module(module):
                parts, _, libraries = _walk([("class" if isinstance(obj, type) else "func", obj)])
                items = [f"{k}\0{p.digest}" for k, p in sorted(parts.items())]
                items += [f"library {d}\0{v}" for d, v in sorted(counted(libraries).items())]
            else:
                items = [f"library {d}\0{v}" for d, v in sorted(counted(dict(distributions_of(module))).items())]
            digest = hashlib.sha256("\n".join(items).encode()).hexdigest() if items else ""
            try:
                _OBJECT_CACHE[obj] = digest
            except TypeError:  # not weakly referenceable: computed again next time
                pass
        if digest:
            digests.add(digest)
    return hashlib.sha256("\n".join(sorted(digests)).encode()).hexdigest()[:16] if digests else ""


def _walk(todo: list, task_class=None):
    """Parts reached from ``todo`` (``(kind, class or function)``), what could not be followed,
    and the libraries used; ``task_class``'s parameters only where they are its own."""
    parts: dict[str, Part] = {}
    incomplete: list[str] = []
    libraries: dict = {}
    seen: set = set()
    while todo:
        kind, obj = todo.pop()
        effects = kind in ("effects", "effects-code")
        ident = (kind, obj if effects else id(obj))  # within one walk only: never in a digest
        if ident in seen or (kind == "effects-code" and ("effects", obj) in seen):
            continue
        seen.add(ident)
        if effects:
            part, found = _effects_part(obj, values=kind == "effects")
            if part is None:  # nothing of its own; its package's __init__ may have some
                todo.extend(found.refs)
                continue
        elif kind in ("class", "task-class"):
            part, found = _class_part(obj, own=kind == "task-class", task_class=task_class)
        else:
            part, found = _function_part(obj)
        module = getattr(obj, "__module__", None) if not effects else None
        if module and is_user_module(module) and ("effects", module) not in seen:
            todo.append(("effects", module))
        incomplete.extend(found.incomplete)
        libraries.update(found.libraries)
        parts[part.key] = part
        todo.extend(found.refs)
    return parts, incomplete, libraries


def _effects_part(modname: str, values: bool = True):
    """The top-level calls and side-effect imports of a module of the user's (see
    ``effects``), as a part; None when it has neither.  ``values=False``, for a module only
    imported from (``from settings import N``): its calls by their code alone, not by the
    values their arguments have in this process (``os.makedirs(RUN_DIR)`` with a timestamp
    would make the task new in every process)."""
    module = sys.modules.get(modname)
    calls, imported, sources, registered = module_effects(getattr(module, "__file__", None) or "",
                                                          getattr(module, "__package__", None))
    found = Collector(f"{module_label(modname)} (module)")
    namespace = vars(module) if module is not None else {}
    tokens = []
    for dump, head, dotted, read in calls:
        if head is not None and _harmless(namespace.get(head, getattr(builtins, head, None)), dotted):
            continue
        own, extra = namespace.get(head), ""  # setup() of the user's (helpers.setup() too): its code counts
        if isinstance(own, types.ModuleType) and is_user_namespace(own) and dotted.count(".") == 1:
            own = getattr(own, dotted.partition(".")[2], None)
        if isinstance(own, types.FunctionType) and is_user_function(own):
            extra = f"|{dotted or head}={describe(own, found, head, 1)}"
        if not values:
            tokens.append(f"call {dump}{extra}")
            continue
        tokens.append(f"call {dump} " + "|".join(f"{n}={describe(namespace[n], found, n, 1)}" for n in read
                                                   if n in namespace and not isinstance(namespace[n], types.ModuleType))
                      + extra)
    for dump, name in registered:  # @register_dataframe_accessor("feat") class FeatAccessor: by its code,
        tokens.append(f"registers {dump} {name}={describe(namespace.get(name), found, name, 1)}")  # in any case
    kind = "effects" if values else "effects-code"
    if "." in modname and is_user_module(modname.rpartition(".")[0]):  # a package's __init__ runs first
        found.refs.append((kind, modname.rpartition(".")[0]))
    for name in sources:  # from settings import N: settings' own top-level calls ran too
        if name in sys.modules and is_user_module(name):
            found.refs.append(("effects-code", name))
    for name in imported if values else ():  # import accessors: it counts by all it defines (see
        other = sys.modules.get(name)  # describe); an unused library import is nothing
        if other is not None and is_user_module(name):
            tokens.append(f"import {describe(other, found, name, 1)}")
    if not tokens:
        return None, found
    digest = hashlib.sha256("\0".join(tokens).encode()).hexdigest()
    return Part(f"{module_label(modname)}:<module>", digest, relative(getattr(module, "__file__", "") or "")), found


_HARMLESS = ("logging", "warnings", "pprint", "matplotlib", "IPython", "tqdm", "rich", "daskflow")


def _harmless(head, dotted: str) -> bool:
    """A top-level call that shows or logs, or runs daskflow (``print``, ``logging.basicConfig``,
    ``plt.show()``, a script's ``d6tflow.run(Train())``): not an effect on results."""
    if head is print or dotted.startswith("sys.path.") or (isinstance(head, type) and issubclass(head, Task)) \
            or dotted.endswith(".set_printoptions"):  # np.set_printoptions: how arrays print
        return True
    module = head.__name__ if isinstance(head, types.ModuleType) else getattr(head, "__module__", None) or ""
    return head is not None and module.split(".")[0] in _HARMLESS  # an instance: its class's module


def _class_part(cls: type, own: bool = False, task_class=None):
    """A class: its bases, its attributes (by name and value) and the methods it defines (of a
    task class's base, not a parameter the task class redeclares)."""
    try:
        line = inspect.getsourcelines(cls)[1]
        file = relative(inspect.getsourcefile(cls) or "")
    except (OSError, TypeError):
        line, file = 0, ""
    found = Collector(f"{key_of(cls)} ({file}:{line})")
    tokens, shown = [], {}
    if not own:  # a helper class: its whole MRO (a task class's MRO is walked by the caller)
        for base in cls.__mro__[1:]:
            if base is not object:
                tokens.append(f"base {describe(base, found)}")
    if is_user_module(type(cls).__module__):  # a metaclass of the user's (its __call__ builds instances)
        tokens.append(f"meta {describe(type(cls), found)}")
    for name in sorted(vars(cls)):
        if name in SKIPPED_ATTRS or name.startswith("__pydantic_"):  # pydantic's built schema holds
            continue  # ids (per process); its fields count through model_fields
        value = vars(cls)[name]
        if own and shadowed(task_class, name, value):
            continue
        func = unwrap_callable(value)
        if func is not None:
            tokens.append(f"def {name}")
            tokens += [f"dispatch {func_token(f, found)}" for f in dispatched(value)
                       if isinstance(f, types.FunctionType) and is_user_function(f)]
            tokens += [f"wrapper {func_token(w, found)}" for w in user_wrappers(
                value.__func__ if isinstance(value, (staticmethod, classmethod)) else value)]
            if func.__code__.co_filename.startswith("<") and hasattr(cls, "__dataclass_fields__"):
                continue  # made by @dataclass from the fields, which count as attributes
            if own or is_user_function(func):
                found.refs.append(("func", func))
            else:
                tokens.append(f"ext {key_of(func)}")
            continue
        if name == "__dataclass_fields__":  # Field objects: by name, default and factory
            value = [(f.name, f.default, f.default_factory, f.init, f.compare) for f in value.values()]
        tokens.append(f"attr {name}={describe(value, found, name)}")
        shown[name] = _show(value)
    digest = hashlib.sha256("\0".join(tokens).encode()).hexdigest()
    values = {t.split("=", 1)[0][5:]: hashlib.sha256(t.encode()).hexdigest()[:16]
              for t in tokens if t.startswith("attr ")}
    return Part(key_of(cls), digest, file, line, values=values, shown=shown,
                memoized=frozenset(found.memoized)), found


def _show(value) -> str:
    """Short text of a value for people (never part of a digest)."""
    try:
        text = repr(value)
    except Exception:  # a broken __repr__ must not break the fingerprint
        text = f"<{type(value).__qualname__}>"
    text = _ADDRESS.sub(">", text)  # <function clean at 0x7f...>: the same text in every process
    return text if len(text) <= _SHOWN else text[:_SHOWN - 3] + "..."


_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+>")


def _function_part(func):
    code = func.__code__
    ident = (code, func.__module__)  # equal code objects may live in two modules
    cached = _FUNC_CACHE.get(ident)
    if cached is None:
        cached = _FUNC_CACHE[ident] = _walk_function(func)
    part, names, incomplete, bare = cached  # the syntax walk is cached; values are read now, for
    found = Collector(f"{part.key} ({part.file}:{part.line})")  # closures of one code object differ
    found.incomplete.extend(incomplete)
    values = resolve_globals(func, names, found)
    query = sorted({ref for _, value, _ in values if isinstance(value, str) and "@" in value
                    for ref in AT_NAME.findall(value) if ref.split(".")[0] in func.__globals__} - set(names))
    if query:  # QUERY = "x > @LIMIT"; df.query(QUERY): the names the expression reads count too
        values += resolve_globals(func, query, found)
    tokens = [part.digest]
    used, shown = {}, {}
    for name, value, chain in values:
        if isinstance(value, types.ModuleType) and chain not in bare and is_user_namespace(value):
            token = f"{name}=module {module_label(value.__name__)}"  # only read through: helpers.clean
        else:  # a module of the user's used as a value counts by all it defines (see describe)
            token = f"{name}={describe(value, found, name)}"
        tokens.append(token)
        used[name] = hashlib.sha256(token.encode()).hexdigest()[:16]
        shown[name] = _show(value)
    for name in sorted(vars(func)):  # attributes set on the function (winsorize.limit = 3.0)
        if not name.startswith("__"):
            token = f"attr {name}={describe(vars(func)[name], found, name)}"
            tokens.append(token)
            used[f"{func.__name__}.{name}"] = hashlib.sha256(token.encode()).hexdigest()[:16]
    key, cells = part.key, []
    if func.__closure__:
        cells = [f"{n}={describe(_cell(c), found, n)}" for n, c in zip(code.co_freevars, func.__closure__)]
    if (func.__defaults__ or func.__kwdefaults__) and "<" in code.co_qualname.rpartition(".")[0]:
        # a nested def's defaults are values of its maker's run (def scale(s, k=k), [lambda q=q: ...
        # for q in QS]): like cells, they tell its closures apart; a module-level def's are its syntax
        cells.append(f"defaults={describe((func.__defaults__, func.__kwdefaults__), found, '(defaults)')}")
        tokens.append(cells[-1])
        shown["(defaults)"] = _show((func.__defaults__, func.__kwdefaults__))
        used["(defaults)"] = hashlib.sha256(cells[-1].encode()).hexdigest()[:16]
    if cells:
        key = f"{key}[{hashlib.sha256(chr(0).join(cells).encode()).hexdigest()[:8]}]"
    digest = hashlib.sha256("\0".join(tokens).encode()).hexdigest()
    reads = part.reads.union(os.fspath(value) for _, value, chain in values  # open(CONFIG): its value
                             if chain in part.read_names and isinstance(value, (str, os.PathLike)))
    return Part(key, digest, part.file, part.line, part.statements, used, part.source, shown, part.attrs,
                part.self_attrs, reads, writes=part.writes, memoized=frozenset(found.memoized)), found


def _cell(cell):
    try:
        return cell.cell_contents
    except ValueError:  # an empty cell
        return None


def _walk_function(func):
    code = func.__code__
    where = located(code, func.__module__)
    key = where.key if where is not None else f"{module_label(func.__module__)}:{code.co_qualname}"
    incomplete = []
    if where is not None:
        node, source, file, first = where.node, where.source, where.file, where.line
        if not where.exact:
            incomplete.append(f"{key} ({file}:{first}): located by its line only (no column positions)")
    else:
        try:  # no module source (an exec'd string...): the whole lines inspect finds
            lines, first = inspect.getsourcelines(func)
            source = textwrap.dedent("".join(lines))
            node = next(n for n in ast.walk(ast.parse(source))
                        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)))
            file = relative(inspect.getsourcefile(func) or "")
        except (OSError, TypeError, SyntaxError, StopIteration):
            part = Part(key, hashlib.sha256(f"nosource {key}".encode()).hexdigest())
            return part, (), [f"{key}: source code not available"], frozenset()
        if code.co_name == "<lambda>":
            incomplete.append(f"{key} ({file}:{first}): lambda located by its line only")
    walker = Walker(node)
    tokens = walker.tokens(node)
    statements = []
    body = node.body if isinstance(node.body, list) else [node.body]
    offset = first - 1 if where is None else 0
    for stmt in strip_docstring(body):
        text = ast.get_source_segment(source, stmt) or ""
        statements.append([offset + stmt.lineno,
                           hashlib.sha256("\0".join(walker.tokens(stmt)).encode()).hexdigest()[:16],
                           text.splitlines()[0].strip()[:200] if text else ""])
    text = ast.get_source_segment(source, node, padded=True) or ""
    if getattr(node, "decorator_list", None):
        start = ast.get_source_segment(source, node.decorator_list[0]) or ""
        lines = source.splitlines()[node.decorator_list[0].lineno - 1:node.lineno - 1]
        text = "\n".join(lines) + "\n" + text if lines else "@" + start + "\n" + text
    digest = hashlib.sha256("\0".join(tokens).encode()).hexdigest()
    incomplete += [f"{key} ({file}): {why}" for why in walker.dynamic]
    reads, read_names, envs, writes = scan(node, walker.locals | walker.params)
    incomplete += [f"{key} ({file}): reads environment variable {name!r}, which is not part of the "
                   f"fingerprint (pass it as a parameter)" for name in sorted(envs)]
    part = Part(key, digest, file, first, statements, source=textwrap.dedent(text), attrs=frozenset(walker.attrs),
                reads=reads, read_names=read_names, self_attrs=frozenset(walker.self_attrs), writes=writes)
    return part, tuple(sorted(walker.globals)), incomplete, frozenset(walker.bare)
