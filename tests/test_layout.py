"""The code's shape: imports flow one way (STYLE.md), modules stay small, __all__ is complete."""

import ast
from pathlib import Path

import daskflow

PACKAGE = Path(daskflow.__file__).parent
# lower layers first; a module may import (at module level) only from earlier layers
LAYERS = [
    {"errors", "explain"},
    {"config", "params", "canonical", "formats", "listing"},
    {"storage"},
    {"task"},
    {"inherit", "fingerprint", "daskframe", "dynamic"},
    {"tasks", "plan"},
    {"gc", "report", "result", "execute"},
    {"viz", "stages"},
    {"graph"},
    {"workflow"},
    {"cli", "__init__"},
]


def rank(name):
    for i, layer in enumerate(LAYERS):
        if name in layer:
            return i
    raise AssertionError(f"module {name} is not placed in a layer of tests/test_layout.py")


def module_imports(path):
    tree = ast.parse(path.read_text())
    for node in tree.body:  # module level only: a late import inside a function is allowed
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                yield node.module.split(".")[0]
            else:
                yield from (a.name for a in node.names)


def test_imports_flow_one_way():
    for path in PACKAGE.glob("*.py"):
        me = path.stem
        for other in module_imports(path):
            assert rank(other) < rank(me) or (me == "__init__"), f"{me} imports {other}"


def test_modules_stay_small():
    for path in PACKAGE.glob("*.py"):
        assert len(path.read_text().splitlines()) < 520, f"{path.name} is asking to be split"


def test_all_is_complete():
    for name in daskflow.__all__:
        assert hasattr(daskflow, name), name
    public = {n for n in vars(daskflow) if not n.startswith("_") and n[0].isupper()}
    assert public <= set(daskflow.__all__) | {"Path"}


def test_only_storage_talks_to_fsspec_and_only_graph_to_dask():
    for path in PACKAGE.glob("*.py"):
        tree = ast.parse(path.read_text())
        names = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        names |= {n.module.split(".")[0] for n in ast.walk(tree)
                  if isinstance(n, ast.ImportFrom) and n.module and n.level == 0}
        if "fsspec" in names:
            assert path.stem in {"storage", "daskframe"}, path.name
        if "dask" in names or "distributed" in names:
            assert path.stem in {"graph", "daskframe", "cli", "viz"}, path.name
