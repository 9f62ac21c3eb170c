"""The canonical token stream of a function's syntax tree, and the free names it reads.

Imports only the standard library.  The walk skips positions, docstrings,
comments, formatting and absent fields, and renames local variables to their
order of first appearance unless the function introspects (``locals()``,
``eval``, ``exec``, ``vars()``, ``f"{x=}"``).  Free names are recorded as
dotted chains (``np.mean``, ``helpers.SCALE``).  Look-ups by a *constant*
name are chains too: ``getattr(mod, "name")``, ``globals()["name"]``,
``vars(mod)["name"]``, and ``sys.modules["pkg.mod"].name`` or
``importlib.import_module("pkg.mod").name``, whose head is written
``<module pkg.mod>``; so is a name bound by an ``import`` inside the function
(``from helpers import clean`` reads ``<module helpers>.clean``; a relative one
keeps its dots).  A computed name is recorded in ``dynamic``: the caller
marks the fingerprint incomplete.
"""

from __future__ import annotations

import ast
import re

__all__ = ["Walker", "strip_docstring", "dotted_plain", "const_str", "MODULE_HEAD", "AT_NAME"]

MODULE_HEAD = "<module "  # a chain head naming a module by its dotted name
AT_NAME = re.compile(r"(?<![\w.@])@([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)")  # pandas query/eval


def strip_docstring(body: list) -> list:
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        return body[1:]
    return body


def const_str(node) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def dotted(node) -> str:
    """The chain a node reads (``a.b.c``), following constant-name look-ups; '' if none."""
    parts = []
    while True:
        if isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        elif isinstance(node, ast.Subscript) and const_str(node.slice) is not None:
            inner = node.value
            if isinstance(inner, ast.Call) and isinstance(inner.func, ast.Name) and not inner.args \
                    and inner.func.id == "globals":
                return ".".join([node.slice.value, *reversed(parts)])
            if isinstance(inner, ast.Call) and isinstance(inner.func, ast.Name) and inner.func.id == "vars" \
                    and len(inner.args) == 1:
                parts.append(node.slice.value)
                node = inner.args[0]
            elif dotted_plain(inner) == "sys.modules":
                return ".".join([f"{MODULE_HEAD}{node.slice.value}>", *reversed(parts)])
            else:
                return ""
        elif isinstance(node, ast.Call):
            fn = dotted_plain(node.func)
            if fn in ("importlib.import_module", "import_module") and len(node.args) == 1 \
                    and const_str(node.args[0]) is not None and not node.keywords:
                return ".".join([f"{MODULE_HEAD}{node.args[0].value}>", *reversed(parts)])
            if fn == "getattr" and len(node.args) in (2, 3) and const_str(node.args[1]) is not None:
                parts.append(node.args[1].value)
                node = node.args[0]
            else:
                return ""
        elif isinstance(node, ast.Name):
            parts.append(node.id)
            return ".".join(reversed(parts))
        else:
            return ""


def dotted_plain(node) -> str:
    """``a.b.c`` of a plain chain of names and attributes; '' for anything else."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return ""


_CAPTURES = (ast.MatchAs, ast.MatchStar, ast.MatchMapping)  # the names a case pattern binds


class Walker:
    """Turns a syntax tree into canonical tokens; records free names and dynamic lookups."""

    _SKIP = {"ctx", "type_comment", "kind"}

    def __init__(self, func_node):
        self.globals: set[str] = set()
        self.bare: set[str] = set()  # free names read on their own, not as the head of a chain
        self.dynamic: list[str] = []
        self.attrs: set[str] = set()  # attribute names read (``up.postprocess``): see ``borrowed``
        self.self_attrs: set[str] = set()  # ``self.post``: what an upstream method reads of its own
        args = func_node.args
        self.params = {a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)}
        self.params |= {a.arg for a in (args.vararg, args.kwarg) if a is not None}
        self.locals = self._assigned(func_node) - self.params
        self.imports = self._imported(func_node)  # local name -> ["<module pkg.mod>[.name]", ...]
        self.rename = not self._introspects(func_node)
        self.names: dict[str, str] = {}

    @staticmethod
    def _imported(node) -> dict:
        """Names an ``import`` inside the function binds, as the chain they stand for: what
        they refer to is followed like a module global (``from helpers import clean``)."""
        out: dict = {}
        for n in ast.walk(node):  # every binding of a name: try: from .fast import f / except: .slow
            if isinstance(n, ast.Import):
                for a in n.names:
                    bound = a.asname or a.name.split(".")[0]
                    out.setdefault(bound, []).append(f"{MODULE_HEAD}{a.name if a.asname else bound}>")
            elif isinstance(n, ast.ImportFrom):
                base = "." * n.level + (n.module or "")
                for a in n.names:
                    if a.name != "*":
                        out.setdefault(a.asname or a.name, []).append(f"{MODULE_HEAD}{base}>.{a.name}")
        return out

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
            elif isinstance(n, _CAPTURES):  # case {"k": k} if k > 0: / case [x, *rest]:
                found.update(v for v in (getattr(n, "name", None), getattr(n, "rest", None)) if v)
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

    def _instance(self, node) -> bool:
        """Whether ``node.attr`` may read an attribute of another object than the task itself
        or a global (``up.post``, ``self.requires().post``, ``ups["a"].SCALE``): not of
        ``self``, ``cls``, ``type(self)`` or a module-level name (those are followed as chains)."""
        if isinstance(node, ast.Name):
            return node.id not in ("self", "cls") and (node.id in self.locals or node.id in self.params)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "type":
            return False
        return True

    def _name(self, ident: str) -> str:
        if ident in self.locals and self.rename:
            return self.names.setdefault(ident, f"_v{len(self.names)}")
        return ident

    def tokens(self, node) -> list[str]:
        out: list[str] = []
        self._root = node
        self._visit(node, out)
        return out

    def _free(self, chain: str) -> None:
        head = chain.split(".")[0]
        if head in self.imports and head not in self.params:
            self.globals.update(c + chain[len(head):] for c in self.imports[head])
        elif chain and (head.startswith(MODULE_HEAD) or head not in self.locals | self.params):
            self.globals.add(chain)

    def _visit(self, node, out: list) -> None:
        if isinstance(node, ast.Name):
            chain = None
            if node.id in self.imports and node.id not in self.params and isinstance(node.ctx, ast.Load):
                chain = self.imports[node.id]
            elif node.id not in self.locals and node.id not in self.params and isinstance(node.ctx, ast.Load):
                chain = [node.id]
            if chain is not None:
                self.globals.update(chain)
                if getattr(node, "_daskflow_parent", None) is None:
                    self.bare.update(chain)
            out.append(f"Name {self._name(node.id)}")
            return
        if isinstance(node, (ast.Attribute, ast.Subscript)):
            node.value._daskflow_parent = node  # read by _check_dynamic on the inner call
            if isinstance(node, ast.Attribute) and self._instance(node.value):
                self.attrs.add(node.attr)
            elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self":
                self.self_attrs.add(node.attr)
            self._free(dotted(node))
        if isinstance(node, ast.Call):
            self._free(dotted(node))
            self._check_dynamic(node)
            if isinstance(node.func, ast.Name) and node.func.id in ("getattr", "vars") and node.args:
                node.args[0]._daskflow_parent = node  # getattr(mod, "name"): mod is a chain's head
                if len(node.args) > 1 and (attr := const_str(node.args[1])) and self._instance(node.args[0]):
                    self.attrs.add(attr)  # getattr(up, "post"), as up.post
            if isinstance(node.func, ast.Attribute) and node.func.attr in ("query", "eval"):
                expr = node.args[:1] + [k.value for k in node.keywords if k.arg == "expr"]
                for ref in AT_NAME.findall(" ".join(t for e in expr if (t := const_str(e)))):
                    self._free(ref)  # pandas: df.query("x > @LIMIT")
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
                value = strip_docstring(value)
            if isinstance(node, ast.arg) and name == "arg":
                out.append(f"arg {value}")
                continue
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and name == "name":
                # a nested def's own name is its __name__, which code uses as data (an agg label)
                out.append(f"name {self._name(value) if node is self._root else value}")
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
            elif isinstance(node, _CAPTURES) and name in ("name", "rest"):  # case {"k": k}: a local
                out.append(f"str {self._name(value)}")
            else:
                out.append(f"{type(value).__name__} {value!r}")

    def _check_dynamic(self, node: ast.Call) -> None:
        fn = dotted_plain(node.func) if isinstance(node.func, (ast.Name, ast.Attribute)) else ""
        constant = len(node.args) >= 1 and const_str(node.args[0]) is not None
        if fn == "getattr" and len(node.args) >= 2 and const_str(node.args[1]) is None:
            self.dynamic.append(f"getattr() with a computed name at line {node.lineno}")
        elif fn in ("importlib.import_module", "import_module", "__import__") and not constant:
            self.dynamic.append(f"{fn}() with a computed name at line {node.lineno}")
        elif fn in ("importlib.import_module", "import_module", "__import__") \
                and not isinstance(getattr(node, "_daskflow_parent", None), ast.Attribute):
            self.dynamic.append(f"{fn}() result used through a variable at line {node.lineno}")
        elif fn in ("globals", "vars") and not node.args and not self._subscripted(node):
            self.dynamic.append(f"{fn}() read with a computed key at line {node.lineno}")

    @staticmethod
    def _subscripted(node) -> bool:
        parent = getattr(node, "_daskflow_parent", None)
        return isinstance(parent, ast.Subscript) and const_str(parent.slice) is not None
