"""What a graph node carries to a dask.distributed worker, and what a run's nodes share.

Imports ``errors`` and ``execute``.  On a cluster each node is
``(execute_shipped, key, blob, shared, deps)``:

- ``blob`` is the node's own :class:`~daskflow.execute.Spec` as cloudpickle
  bytes, unpickled inside the node: the scheduler never needs the user's
  modules, and a worker that cannot import them reports it as that task's
  failure (:func:`execute_shipped`) instead of hanging;
- what every node of one graph would otherwise carry again is in one
  :class:`Shared` value: the storage roots, the code parts of each task
  class (the largest part of a marker body, the same for every task of a
  class) and the outcomes of the fresh upstream tasks (known at plan time).
  ``daskflow.run`` scatters it to every worker before submitting the graph
  (``daskflow-shared-<run>``, released with the run's futures; with no worker
  yet, as on an adaptive cluster scaled to zero, nodes carry it all) and each node
  names it as its ``shared`` argument; each worker process unpickles it once,
  so a Store is opened once per worker, not once per task.  It is scattered,
  not a graph key: a key computed on one worker would make that worker the
  only candidate for every task needing it (dask places a task where its
  dependencies are).  A graph built for a dask collection
  (:func:`daskflow.graph.build_graph`) has ``shared`` None, and each node
  carries everything;
- ``deps`` lists the upstream graph keys in ``requires()`` order, ``None``
  where the upstream task is fresh (its outcome is in the Shared value).

Before submitting, the driver asks the workers whether they import the task
classes' modules (:func:`check_imports`, once per worker and module for a
client) unless ``ship_code`` sends them by value (:func:`shipping`).
"""

from __future__ import annotations

import contextlib
import importlib
import pickle
import sys
import traceback
import weakref

from .config import project_dir
from .errors import ClusterError
from .execute import Outcome, execute, known_outcome, spec_for

__all__ = ["Shared", "shipped_graph", "with_shared", "execute_shipped", "user_modules", "shipping", "check_imports"]


class Shared:
    """What all nodes of one graph share, as cloudpickle bytes unpickled once per process.

    Scattered to the workers: each holds one copy for every node of the run;
    the first node there that needs the value unpickles it and keeps it on
    this object.
    """

    __slots__ = ("blob", "_value")

    def __init__(self, blob: bytes):
        self.blob = blob
        self._value = None

    def __reduce__(self):  # the bytes only: a copy unpickles again where it lands
        return (Shared, (self.blob,))

    def value(self) -> tuple:
        """``(stores, code_parts texts, known outcomes)``."""
        if self._value is None:
            self._value = pickle.loads(self.blob)
        return self._value


def shipped_graph(plan, key_of, share: bool = False) -> tuple[dict, "Shared | None"]:
    """The cluster graph of ``plan``'s stale tasks, keyed ``key_of(plan key)``, and its Shared.

    With ``share`` the nodes carry only what is their own, and hold the Shared
    value's place for :func:`with_shared` to fill; without it each node
    carries everything (its Shared argument is None), and no Shared is made.
    """
    import cloudpickle

    stores: dict = {}  # id -> index in roots
    roots: list = []
    codes: dict = {}  # code parts text -> index
    known: list = []
    known_at: dict = {}  # plan key -> index in known
    dsk, project = {}, str(project_dir())
    for node in plan.to_run():
        spec = spec_for(node, plan.store, project)
        if not share:
            deps = [key_of(d.key) if d.runs else known_outcome(d) for d in node.deps]
            dsk[key_of(node.key)] = (execute_shipped, node.key.encode(), cloudpickle.dumps(spec), None, deps)
            continue
        spec.store = _index(stores, roots, spec.store)
        spec.dep_stores = [_index(stores, roots, s) for s in spec.dep_stores]
        body = spec.body = dict(spec.body)
        code = codes.setdefault(body.pop("code_parts"), len(codes))
        fresh, deps = [], []
        for i, d in enumerate(node.deps):
            if d.runs:
                deps.append(key_of(d.key))
                continue
            if d.key not in known_at:
                known_at[d.key] = len(known)
                known.append(known_outcome(d))
            fresh.append((i, known_at[d.key]))
            deps.append(None)
        # the key as bytes: a str equal to a key would be read as a dependency
        dsk[key_of(node.key)] = (execute_shipped, node.key.encode(), cloudpickle.dumps((spec, code, fresh)),
                                 _PENDING, deps)
    if not share:
        return dsk, None
    return dsk, Shared(cloudpickle.dumps((roots, list(codes), known)))


_PENDING = "daskflow-shared-pending"  # never a key: replaced by with_shared before submitting


def with_shared(dsk: dict, ref) -> dict:
    """``dsk`` with ``ref`` (the Shared value's future, or the value) in each node's place for it."""
    return {k: (v[0], v[1], v[2], ref, v[4]) if isinstance(v, tuple) and v[3] is _PENDING else v
            for k, v in dsk.items()}


def _index(index: dict, items: list, obj) -> int:
    """The position of ``obj`` in ``items`` (appended the first time), by identity."""
    found = index.get(id(obj))
    if found is None:
        found = index[id(obj)] = len(items)
        items.append(obj)
    return found


def execute_shipped(key: bytes, blob: bytes, shared: "Shared | None", deps: list) -> Outcome:
    """Unpickle a spec on the worker and run it; an unimportable module is this task's failure."""
    try:
        if shared is None:
            spec = pickle.loads(blob)
        else:
            stores, codes, known = shared.value()
            spec, code, fresh = pickle.loads(blob)
    except Exception as exc:
        name = getattr(exc, "name", None)
        hint = (f"the worker cannot import module {name!r}: install it on the workers, put it on "
                f"their PYTHONPATH, or pass ship_code=True") if name else "the worker cannot load the task"
        return Outcome(key.decode(), "failed", error=ModuleNotFoundError(f"{hint} ({type(exc).__name__}: {exc})"),
                       traceback=traceback.format_exc())
    if shared is not None:
        spec.store = stores[spec.store]
        spec.dep_stores = [stores[i] for i in spec.dep_stores]
        spec.body["code_parts"] = codes[code]
        if fresh:
            deps = list(deps)
            for i, k in fresh:
                deps[i] = known[k]
    return execute(spec, deps)


# -- the import check and ship_code ----------------------------------------------------------
def user_modules(nodes) -> dict[str, list]:
    """Modules defining the task classes (and their bases) outside daskflow, with their tasks."""
    found: dict[str, dict] = {}
    for node in nodes:
        for klass in type(node.task).__mro__:
            mod = klass.__module__
            if mod in ("builtins", "__main__") or mod == "daskflow" or mod.startswith("daskflow."):
                continue
            found.setdefault(mod, {})[node.task] = None  # a dict: ordered, and no quadratic scan
    return {mod: list(tasks) for mod, tasks in found.items()}


@contextlib.contextmanager
def shipping(nodes, ship_code):
    """Register the user's modules with cloudpickle by value for the time of a submission."""
    if not ship_code:
        yield set()
        return
    import cloudpickle

    names = set(user_modules(nodes))
    if not isinstance(ship_code, bool):
        extra = ship_code if isinstance(ship_code, (list, tuple, set)) else [ship_code]
        names.update(m if isinstance(m, str) else m.__name__ for m in extra)
    already = set(cloudpickle.list_registry_pickle_by_value())
    added = []
    try:
        for name in sorted(names - already):
            cloudpickle.register_pickle_by_value(importlib.import_module(name))
            added.append(name)
        yield names
    finally:
        for name in added:
            cloudpickle.unregister_pickle_by_value(sys.modules[name])


def _missing_modules(names: list) -> dict:
    """Run on each worker: the modules among ``names`` it cannot import, with the error."""
    out = {}
    for name in names:
        try:
            importlib.import_module(name)
        except Exception as exc:  # any import failure is reported, not only "not found"
            out[name] = f"{type(exc).__name__}: {exc}"
    return out


# per client: worker address -> modules it has imported (a module once imported stays so, and a
# restarted worker has a new address); an unimportable module still fails its task on the worker
_IMPORTED: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def check_imports(client, nodes, shipped: set, workers=None) -> None:
    """ClusterError naming task and module when some worker cannot import a task's module.

    Each worker is asked once per module: a later run on the same workers costs
    one small request (the worker list, unless ``workers`` gives it), not a round
    trip to every worker."""
    modules = {m: ts for m, ts in user_modules(nodes).items() if m not in shipped}
    if not modules:
        return
    try:
        known = _IMPORTED.setdefault(client, {})
        wanted = set(modules)
        workers = [w for w in (client.nthreads() if workers is None else workers)
                   if not wanted <= known.get(w, set())]
        answers = client.run(_missing_modules, sorted(modules), workers=workers) if workers else {}
    except Exception as exc:
        raise ClusterError(f"cannot ask the workers whether they import {sorted(modules)}: "
                           f"{type(exc).__name__}: {exc}; is daskflow installed on the workers?") from exc
    missing: dict[str, tuple[list, str]] = {}
    for worker, failed in answers.items():
        for mod, err in failed.items():
            missing.setdefault(mod, ([], err))[0].append(worker)
        known.setdefault(worker, set()).update(m for m in modules if m not in failed)
    if missing:
        lines = []
        for mod, (where, err) in sorted(missing.items()):
            tasks = ", ".join(repr(t) for t in modules[mod][:3]) + (" ..." if len(modules[mod]) > 3 else "")
            lines.append(f"  module {mod!r} (tasks {tasks}): {err} on {len(where)} of "
                         f"{len(answers)} worker(s), e.g. {where[0]}")
        raise ClusterError("the workers cannot import the modules of some task classes; nothing was "
                           "run:\n" + "\n".join(lines) + "\ninstall the project on the workers, put it "
                           "on their PYTHONPATH, or pass ship_code=True to send the modules by value")
