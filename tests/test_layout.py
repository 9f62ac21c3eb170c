"""The code's shape: imports flow one way (STYLE.md), modules stay small, __all__ is complete.

Imports are checked everywhere in a module, a late import inside a function
included: a function-level import of a higher module is still a cycle.
"""

import ast
from pathlib import Path

import daskflow

PACKAGE = Path(daskflow.__file__).parent
# lower layers first; a module (or subpackage) may import only from earlier layers
LAYERS = [
    {"errors", "explain", "progress", "picklerefs"},
    {"config", "params", "canonical", "formats", "listing", "localfs", "redact"},
    {"localscan"},
    {"target", "scheduling", "journal", "listings", "filestate"},
    {"storage", "observe"},
    {"notes", "context", "taskdef", "luigi_names", "nativereads", "threadreads", "redefined"},
    {"taskio"},
    {"task", "lease"},
    {"inherit", "fingerprint", "daskframe", "rawfiles", "dynamic"},
    {"reasons"},
    {"forcing", "node"},
    {"tasks", "plan", "trace"},
    {"invalidate"},
    {"gc", "execute", "lines", "drawing"},
    {"viz"},
    {"report", "result", "outputs", "stages", "shipping"},
    {"cluster"},
    {"graph"},
    {"workflow", "collection", "cli_tasks"},
    {"compat"},
    {"functional"},
    {"cli", "__init__"},
    {"__main__"},
]


def rank(name):
    for i, layer in enumerate(LAYERS):
        if name in layer:
            return i
    raise AssertionError(f"module {name} is not placed in a layer of tests/test_layout.py")


def unit(path):
    """The module, or the subpackage, of daskflow that ``path`` belongs to (``formats``...)."""
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return parts[0]


def module_imports(path):
    """The daskflow units ``path`` imports, at module level or inside functions."""
    here = path.relative_to(PACKAGE.parent).with_suffix("").parts  # ("daskflow", "formats", "base")
    package = here[:-1] if path.name != "__init__.py" else here[:-1]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [a.name.split(".") for a in node.names if a.name.split(".")[0] == "daskflow"]
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                base = node.module.split(".") if node.module else []
                if base[:1] != ["daskflow"]:
                    continue
            else:
                base = list(package[:len(package) - node.level + 1]) + (node.module.split(".") if node.module else [])
            names = [base + [a.name] for a in node.names] if len(base) == 1 else [base]
        else:
            continue
        for name in names:
            if len(name) > 1:
                yield name[1]


def test_imports_flow_one_way():
    for path in PACKAGE.rglob("*.py"):
        me = unit(path)
        for other in module_imports(path):
            if other == me:
                continue  # inside one subpackage
            assert rank(other) < rank(me) or (path == PACKAGE / "__init__.py"), f"{path.name} imports {other}"


def test_function_level_imports_are_checked_too():
    """task.py once imported the planner inside its methods: a hidden cycle, now gone."""
    assert {"plan", "outputs", "execute", "graph"}.isdisjoint(module_imports(PACKAGE / "task.py"))
    assert "plan" in set(module_imports(PACKAGE / "outputs.py"))  # the planner is above the task


def test_modules_stay_small():
    for path in PACKAGE.rglob("*.py"):
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
            assert path.stem in {"graph", "cluster", "daskframe", "cli", "viz", "scheduling", "progress",
                                 "collection"}, path.name
