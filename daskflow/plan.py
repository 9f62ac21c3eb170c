"""Freshness: which tasks of a graph run and which are skipped, and why.

Imports ``errors``, ``canonical``, ``storage``, ``task``, ``fingerprint``, ``node`` and
``reasons`` (what a task that runs is told); never dask.  A :class:`Plan`
walks ``requires()`` from the targets (cycles are an error), fingerprints
every task, lists storage once per task family, and gives each task a status:

- ``fresh``: a commit marker with today's version (family, code, parameters)
  and today's inputs (the results its upstream tasks committed) exists, and
  its outputs are intact;
- ``run``: with the reasons, in order (no output, forced, parameter changed,
  code changed, upstream changed, external data changed, output modified,
  incomplete fingerprint);
- ``external``: data someone else produces, present; ``missing``: absent.

A ``TaskCache`` runs iff a task downstream runs or it is a target (:func:`cache_result`).

A task whose upstream will rerun may still be skipped at run time (early
cutoff): the plan hands the executor the inputs of the builds it already has.
Marker bodies are read only when ``explain=True`` (``why``/``preview``).
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import warnings
import weakref

from . import canonical, dynamic
from .errors import CycleError, MissingExternalError, ParameterError
from .canonical import cache_result, framed, inputs_id
from .fingerprint import code_fingerprint, static_body, with_reads, with_upstream, writes_of
from .filestate import build_changed
from .rawfiles import file_status, list_identities, raw_inputs
from .forcing import Forcing
from .node import Node
from .reasons import Reason, Reasons, causes_of, upstream_reason
from .storage import Store, Target, default_store
from .task import Task, TaskAggregator, own_store
from .redefined import Redefined, newest, same_class, superseded
from .taskdef import param_dir

__all__ = ["Plan", "Node", "Reason", "cache_result", "inputs_id", "static_body"]

SCHEMA = b"daskflow-task/1"
_WARNED: "weakref.WeakSet[type]" = weakref.WeakSet()
_sha256 = hashlib.sha256


def _written(classes: frozenset, cache: dict) -> frozenset:
    """The constant paths the code of ``classes`` writes (side files): hashed at plan time
    they would be read before their writer runs; the reader's run() records them instead.
    ``cache``: the plan's (a process-wide one would keep redefined classes alive)."""
    found = cache.get(classes)
    if found is None:
        found = cache[classes] = frozenset().union(*map(writes_of, map(code_fingerprint, classes)))
    return found


@contextlib.contextmanager
def _no_gc():
    """Pause the cyclic garbage collector while a plan is made (a plan holds no cycle).

    On the way out, what the plan allocated would all be young: the next collection would
    scan every node, task and commit (a tenth of a no-op check) to find them alive.  They
    live as long as the plan, so they join the old objects (``gc.freeze()`` then
    ``gc.unfreeze()``: two list splices), unless the process froze objects itself."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if not gc.get_freeze_count():
            gc.freeze()
            gc.unfreeze()
        if enabled:
            gc.enable()


def _deps(task: Task) -> list:
    """``task.deps()`` and the raw files its PathParameters name (a class without one: none)."""
    return task.deps() + raw_inputs(task) if type(task)._has_paths else task.deps()


def _newest_deps(task: Task) -> list:
    return [newest(d) for d in _deps(task)]


def _shared(node: Node, code) -> tuple:
    """What the tasks of one class share: its code, the framed head of its version
    (``canonical.digest(SCHEMA, family, code digest, param_bytes)``: the first three
    framed once) and its key's prefix; an incomplete fingerprint warned of once."""
    cls = type(node.task)
    if code.incomplete and cls not in _WARNED:
        _WARNED.add(cls)
        warnings.warn(f"{node.family}: code fingerprint incomplete, edits reached only through "
                      f"these are not seen: {'; '.join(code.incomplete)}", stacklevel=4)
    return code, framed(SCHEMA, node.family.encode(), code.digest.encode()), node.family + "-"


def _upstream_classes(nodes) -> dict:
    """Each node's class and the classes of all the tasks upstream of it: the same in every
    plan that holds the node, so its fingerprint is too."""
    ups: dict = {}
    for node in nodes:  # upstream first
        ups[node] = frozenset([type(node.task)]).union(*[ups[d] for d in node.deps])
    return ups


class Plan(Reasons, Forcing):
    """The freshness of every task reachable from ``targets``.

    Parameters
    ----------
    targets : Task or list of Task
    store : Store, optional
        Default: the root in force (``daskflow.set_root``...).
    force : Task or list of Task
        These tasks and everything between them and the targets rerun.
    forced_all : bool
        The targets rerun.
    forced_all_upstream : bool
        Every task rerun (external ones excepted).
    explain : bool
        Read marker bodies to say which parameter or code changed.
    ask_complete : bool
        Ask a task's own ``complete()`` override (run, preview, why): False makes it run.
    """

    def __init__(self, targets, store: Store | None = None, force=None, forced_all=False,
                 forced_all_upstream=False, explain=False, ask_complete=False):
        self.targets_tasks = [targets] if isinstance(targets, Task) else list(targets)
        for t in self.targets_tasks:
            if not isinstance(t, Task):
                raise ParameterError(f"daskflow expects task instances, got {t!r}; "
                                     f"did you mean {getattr(t, '__name__', t)}()?")
        self.store = store or own_store(self.targets_tasks) or default_store()  # d6tflow's path=
        self.explain = explain
        self.ask_complete = ask_complete
        self.nodes: dict[Task, Node] = {}
        self._kinds: dict[type, tuple] = {}  # see _kind
        with _no_gc(), dynamic.expanding(self, force, forced_all, forced_all_upstream) as self._expansion:
            self._walk()  # an input_of() in requires() plans that upstream task here (dynamic)
            self.targets = [self.nodes[t] for t in self.targets_tasks]
            self._fingerprint()
            self._forced(force, forced_all, forced_all_upstream)
            self._listings = self._list()
            for node in self.nodes.values():
                self._decide(node)
            self.dynamic = dynamic.mark(self, Reason)  # nodes that expand after an upstream runs
            self._run_cached()
        self._expansion = None  # it refers to this plan: no cycle, so a dropped plan is freed at once

    # -- the graph --------------------------------------------------------------------
    def _walk(self) -> None:
        """Depth-first over requires(), iteratively; nodes end up in topological order.

        One dict lookup per edge: a task reached again finds its Node, whose ``deps`` is
        None while the walk is still below it (then the edge closes a cycle)."""
        try:
            self._walk_with(_deps)
        except Redefined as again:  # a task class defined again: its newest definition, throughout
            # (daskflow.redefined): the walk starts over with each task made of its newest class
            warnings.warn(f"{again} was defined again (a notebook cell run again?) and an earlier "
                          f"definition is still required (@requires, a class attribute): the newest "
                          f"definition is planned", stacklevel=3)
            self.targets_tasks = [newest(t) for t in self.targets_tasks]
            self._walk_with(_newest_deps)

    def _walk_with(self, deps_of) -> None:
        seen: dict[Task, Node] = {}
        order: list[Node] = []
        for root in self.targets_tasks:
            node = seen.get(root)
            if node is not None:
                same_class(node.task, root)
                continue
            if type(root)._superseded and deps_of is _deps and superseded(type(root)):
                raise Redefined(type(root).__qualname__)
            node = seen[root] = Node(root, None)
            stack = [(node, iter(deps_of(root)), [])]
            while stack:
                node, deps, found = stack[-1]
                for dep in deps:
                    child = seen.get(dep)
                    if child is None:
                        if type(dep)._superseded and deps_of is _deps and superseded(type(dep)):
                            raise Redefined(type(dep).__qualname__)  # an earlier definition still held
                        child = seen[dep] = Node(dep, None)
                        found.append(child)
                        stack.append((child, iter(deps_of(dep)), []))
                        break
                    if child.deps is None:
                        path = [n.task for n, _, _ in stack]
                        cycle = path[path.index(dep):] + [dep]
                        raise CycleError("requires() forms a cycle: " + " -> ".join(map(repr, cycle)))
                    if type(child.task) is not type(dep):
                        same_class(child.task, dep)
                    found.append(child)
                else:
                    stack.pop()
                    node.deps = found
                    order.append(node)
        self.nodes = {node.task: node for node in order}

    def _fingerprint(self) -> None:
        """Each node's version, parameter folder, fingerprint and key: the digests of
        ``canonical.digest``, with the parts framed here (see ``canonical.framed``)."""
        sha, eight = _sha256, 8
        per_class: dict[tuple, tuple] = {}  # what the tasks of a class (and upstream classes) share
        per_reads: dict[tuple, tuple] = {}  # the same for a class that reads files, by its upstream classes
        ups, written = None, {}  # node -> its class and the classes upstream of it: once a class reads files
        for node in self.nodes.values():
            task, deps = node.task, node.deps
            first = type(deps[0].task) if deps else None  # the common case: one upstream class
            for d in deps:
                if type(d.task) is not first:
                    first = frozenset([type(d.task) for d in deps])
                    break
            ident = (type(task), first)
            entry = per_class.get(ident)
            if entry is None:  # the class's code and what it reads of upstream classes
                upstream = frozenset([type(d.task) for d in deps])
                code = with_upstream(type(task), code_fingerprint(type(task)), upstream)
                reads = any(p.reads for p in code.parts.values())
                entry = per_class[ident] = (code, None if reads else _shared(node, code))
            code, shared = entry
            if shared is None:  # its code reads files by constant paths: as they are now, without
                if ups is None:  # the paths its own or an upstream class writes
                    ups = _upstream_classes(self.nodes.values())
                key = (ident, ups[node])
                shared = per_reads.get(key)
                if shared is None:
                    shared = per_reads[key] = _shared(node, with_reads(code, _written(ups[node], written)))
            node.code, head, prefix = shared
            pbytes = task._pbytes or task.param_bytes
            version = node.version = sha(head + len(pbytes).to_bytes(eight, "little") + pbytes).hexdigest()[:16]
            node.param_dir = param_dir(task)
            # canonical.digest(version, *upstream fingerprints): every part is 16 or 64 hex digits
            parts = [_LEN16, version.encode()]
            for d in node.deps:
                parts += (_LEN64, d.fingerprint.encode())
            fingerprint = node.fingerprint = sha(b"".join(parts)).hexdigest()
            node.key = prefix + fingerprint[:32]

    def _kind(self, cls: type) -> tuple:
        """What deciding a task of ``cls`` needs of its class, once per plan: whether it is an
        aggregate, a raw input file, external, a TaskCache, listed, and its outputs' file names."""
        kinds = self._kinds
        kind = kinds.get(cls)
        if kind is None:
            aggregate, raw, cached = issubclass(cls, TaskAggregator), bool(getattr(cls, "raw_file", False)), cls._is_cached()
            kind = kinds[cls] = (aggregate, raw, bool(cls.external), cached, not (aggregate or cached or raw),
                                 cls._output_files())
        return kind

    def _list(self) -> dict:
        main, kind = self.store, self._kind
        by_class: dict[type, list[Node]] = {}  # the tasks on the plan's store, by class
        elsewhere = []  # tasks with a path: d6tflow's path= (their own root), raw input files
        for node in self.nodes.values():
            task = node.task
            if task.path is None:
                node.store = main
                group = by_class.get(type(task))
                if group is None:
                    group = by_class[type(task)] = []
                group.append(node)
            else:
                node.store = own_store([task]) or main
                elsewhere.append(node)
        raw = [n.task.path for n in elsewhere if kind(type(n.task))[1]]
        raw += [n.task.path for cls, nodes in by_class.items() if kind(cls)[1] for n in nodes]
        self._files = list_identities(raw, self.store) if raw else {}
        by_family: dict[tuple, list[Node]] = {}  # (store, family): one root, or a few
        for cls, nodes in by_class.items():
            if kind(cls)[4]:
                by_family.setdefault((main, cls._family), []).extend(nodes)
        for node in elsewhere:
            if kind(type(node.task))[4]:
                by_family.setdefault((node.store, node.family), []).append(node)
        out: dict = {}  # one task of a family: list its folder only (explaining compares with others)
        for store in dict.fromkeys(st for st, _ in by_family):
            keys = [k for k in by_family if k[0] == store]
            out.update(zip(keys, self._expansion.listings(store, [(f, by_family[st, f][0].param_dir if len(
                by_family[st, f]) == 1 and not self.explain else None) for st, f in keys])))
        for key, nodes in by_family.items():  # each task's builds, oldest first
            listing = out[key]
            for node in nodes:
                node.commits = listing.get(node.param_dir, ())
        return out

    # -- deciding ----------------------------------------------------------------------
    def _decide(self, node: Node) -> None:
        aggregate, raw, external, cached, _, names = self._kinds[type(node.task)]  # all made by _list
        if aggregate:
            node.status = "run" if any(d.runs or d.status == "missing" for d in node.deps) else "fresh"
            if node.status == "run":
                node.causes = causes_of(node.deps)
                node.reasons.append(Reason("upstream", "upstream will run"))
            else:
                node.result = canonical.digest(*(d.result.encode() for d in node.deps))[:16]
            return
        if raw:  # present (its listing identity is its result) or not
            node.status, node.result, node.file_info, why = file_status(node.task.path, self._files)
            return node.reasons.extend([Reason(*why)] if why else [])
        if external:
            return self._decide_external(node)
        if node.forced:
            node.status = "run"
            node.reasons.append(Reason("forced", "forced"))
            return
        if self.ask_complete and self._says_incomplete(node):
            return
        if cached:
            return self._decide_cached(node)
        version = node.version
        results = []
        for d in node.deps:
            if d.status == "run" or d.status == "missing":
                break
            results.append(d.result)
        else:  # no upstream task waits: today's inputs are known
            inputs = node.inputs = inputs_id(results)
            moved = None
            for commit in reversed(node.commits):  # the newest intact build of today's version and inputs
                if commit.version == version and commit.inputs == inputs and node.store.intact(commit, names) is None:
                    if moved := build_changed(node.store, commit):  # a file its run() read changed
                        continue  # an older build may have read the files as they are now
                    node.status, node.commit, node.result = "fresh", commit, commit.result
                    return
            node.status = "run"
            if moved:
                return node.reasons.append(Reason("file-read", f"{moved} (read by run())", {"read": moved}))
            return self._own_reasons(node, names)
        node.status = "run"
        node.cutoff = {}  # inputs -> the intact builds of today's version, newest first
        for c in reversed(node.commits):
            if c.version == version and node.store.intact(c, names) is None:
                node.cutoff.setdefault(c.inputs, []).append(c)
        if not [c for c in node.commits if c.version == node.version]:
            self._own_reasons(node, names)
        node.reasons.append(upstream_reason(node, [d for d in node.deps if d.status in ("run", "missing")]))

    def _decide_cached(self, node: Node) -> None:
        """A TaskCache: provisionally skipped with a known result, unless its upstream runs."""
        if waiting := [d for d in node.deps if d.runs or d.status == "missing"]:
            node.status = "run"
            return node.reasons.append(upstream_reason(node, waiting))
        node.status, node.inputs = "fresh", inputs_id(d.result for d in node.deps)
        node.result = cache_result(node.version, node.inputs)

    def _run_cached(self) -> None:
        """A TaskCache runs iff a task downstream of it runs or it is a target."""
        if not any(kind[3] for kind in self._kinds.values()):  # every class of the plan is there
            return
        down: dict = {}
        for node, d in ((n, d) for n in self.nodes.values() for d in n.deps):
            down.setdefault(d.key, []).append(node)
        wanted = {n.key for n in self.targets}  # an aggregator passes the need on
        for node in reversed(list(self.nodes.values())):
            if node.aggregate and (node.key in wanted or node.runs):
                wanted.update(d.key for d in node.deps)
            users = [u for u in down.get(node.key, []) if u.runs and not u.aggregate]
            if type(node.task)._is_cached() and not node.runs and (users or node.key in wanted):
                node.status = "run"
                node.reasons.append(Reason("cached", "output kept in memory (TaskCache), " + (
                    f"needed by {users[0].task!r}" if users else "computed when asked for")))
        for node in self.nodes.values():  # an aggregator over a cache task that now runs runs too
            if node.aggregate and node.status != "run" and any(d.runs for d in node.deps):
                node.status = "run"
                node.reasons.append(Reason("upstream", "upstream will run"))

    def _decide_external(self, node: Node) -> None:
        where = f"{node.store.display}/{node.family}/{node.param_dir}"
        if not node.commits:
            gone = self._gone(node, type(node.task)._output_files(), True)
            why = f"external data missing: {gone or 'nothing committed'} under {where}@..."
        else:
            names = type(node.task)._output_files()
            broken = node.commits[-1].intact(names)
            if broken is None or broken.endswith("modified"):  # republished in place: still present
                node.status, node.commit = "external", node.commits[-1]
                node.result = node.commit.identity()
                return
            why = f"external data missing: {broken} in {node.commits[-1].path}"
        node.status = "missing"
        node.reasons.append(Reason("missing-external", why, {"path": where}))

    def committed_targets(self, node: Node) -> dict:
        """Targets of the outputs of ``node``'s committed build, by output name."""
        return {n: Target(node.store, node.commit.file(f"{n}.{f.ext}"), f, node.task, name=n)
                for n, f in type(node.task)._outputs.items()}

    def to_run(self) -> list[Node]:
        return [n for n in self.nodes.values() if n.runs]

    def missing(self) -> list[Node]:
        return [n for n in self.nodes.values() if n.status == "missing"]

    def check_externals(self) -> None:
        """Raise MissingExternalError naming every missing external task and its path."""
        missing = self.missing()
        if missing:
            raise MissingExternalError("external input missing, nothing was run:\n" + "\n".join(
                f"  {n.task!r}: {n.reasons[0].message}" for n in missing))

    def downstream(self, node: Node) -> list[Node]:
        """Nodes that depend on ``node``, directly or not, in topological order."""
        down = {node.key}
        out = []
        for n in self.nodes.values():
            if any(d.key in down for d in n.deps):
                down.add(n.key)
                out.append(n)
        return out


_LEN16, _LEN64 = (16).to_bytes(8, "little"), (64).to_bytes(8, "little")
