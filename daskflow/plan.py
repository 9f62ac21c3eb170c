"""Freshness: which tasks of a graph run and which are skipped, and why.

Imports ``errors``, ``canonical``, ``storage``, ``task`` and ``fingerprint``;
never dask.  A :class:`Plan` walks ``requires()`` from the targets (cycles are
an error), fingerprints every task, lists storage once per task family, and
gives each task a status:

- ``fresh``: a commit marker with today's version (family, code, parameters)
  and today's inputs (the results its upstream tasks committed) exists, and
  its outputs are intact;
- ``run``: with the reasons, in order (no output, forced, parameter changed,
  code changed, upstream changed, external data changed, output modified,
  incomplete fingerprint);
- ``external``: data someone else produces, present; ``missing``: absent.

A task whose upstream will rerun may still be skipped at run time (early
cutoff): the plan hands the executor the inputs of the builds it already has.
Marker bodies are read only when ``explain=True`` (``why``/``preview``).
"""

from __future__ import annotations

import contextlib
import gc
import re
import warnings
import weakref
from dataclasses import dataclass, field

from . import canonical, dynamic
from .errors import (CycleError, MissingExternalError, NotBuiltError, ParameterError,
                     TaskDefinitionError)
from .fingerprint import code_fingerprint
from .storage import META_NAME, Commit, Store, Target, default_store
from .task import Task, TaskAggregator

__all__ = ["Plan", "Node", "Reason", "resolve_targets", "is_complete", "load_meta", "invalidate"]

SCHEMA = b"daskflow-task/1"
_WARNED: "weakref.WeakSet[type]" = weakref.WeakSet()
_UNSAFE = re.compile(r"[^A-Za-z0-9._=,+-]")


@dataclass
class Reason:
    """Why a task will run: ``kind`` for programs, ``message`` for people, ``data`` for both."""

    kind: str
    message: str
    data: dict = field(default_factory=dict)

    def __str__(self) -> str:
        return self.message


class Node:
    """One task of a plan: identity, fingerprints, status and reasons."""

    __slots__ = ("task", "family", "deps", "code", "version", "param_dir", "fingerprint", "key",
                 "status", "reasons", "commit", "result", "inputs", "cutoff", "forced", "aggregate",
                 "commits")

    def __init__(self, task: Task, deps: list["Node"]):
        self.task = task
        self.family = task.task_family
        self.deps = deps
        self.aggregate = isinstance(task, TaskAggregator)  # a task without outputs still runs
        self.reasons: list[Reason] = []
        self.commit: Commit | None = None
        self.result: str | None = None
        self.inputs: str | None = None
        self.cutoff: dict = {}
        self.forced = False
        self.commits: list[Commit] = []

    @property
    def runs(self) -> bool:
        return self.status == "run"

    def root_causes(self) -> list["Node"]:
        """The tasks whose own reasons make this one run (upstream reasons collapsed)."""
        if self.status == "missing":
            return [self]
        if not self.runs:
            return []
        if any(r.kind != "upstream" for r in self.reasons) or not self.reasons:
            return [self]
        seen, out = set(), []
        for d in self.deps:
            for c in d.root_causes():
                if c.key not in seen:
                    seen.add(c.key)
                    out.append(c)
        return out

    def __repr__(self) -> str:
        return f"<Node {self.task!r} {self.status}>"


@contextlib.contextmanager
def _no_gc():
    """Pause the cyclic garbage collector (reference counting still frees everything)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _same_class(a: Task, b: Task) -> None:
    """Two different classes of one name in one graph would share outputs: refuse."""
    ca, cb = type(a), type(b)
    if ca is not cb and not (ca.external or cb.external):
        raise TaskDefinitionError(
            f"two task classes named {a.task_family} in one graph: {ca.__module__}.{ca.__qualname__} and "
            f"{cb.__module__}.{cb.__qualname__}; a family is its class name, so they would share "
            f"outputs: rename one (or mark the reader external = True)")


def param_dir(task: Task) -> str:
    """Readable folder name of a task's significant parameters, ending in their hash."""
    defs = type(task)._param_defs
    pieces, length = [], 0
    for k, v in task.significant_params().items():
        if length >= 80:  # the hash keeps folders apart; the slug is for people
            break
        pieces.append(f"{k}={defs[k].serialize(v)}")
        length += len(pieces[-1]) + 1
    slug = _UNSAFE.sub("_", ",".join(pieces))[:80]
    digest = canonical.digest(task.param_bytes)[:10]
    return f"{slug}__{digest}" if slug else f"_{digest}"


class Plan:
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
    """

    def __init__(self, targets, store: Store | None = None, force=None, forced_all=False,
                 forced_all_upstream=False, explain=False):
        self.targets_tasks = [targets] if isinstance(targets, Task) else list(targets)
        for t in self.targets_tasks:
            if not isinstance(t, Task):
                raise ParameterError(f"daskflow expects task instances, got {t!r}; "
                                     f"did you mean {getattr(t, '__name__', t)}()?")
        self.store = store or default_store()
        self.explain = explain
        self.nodes: dict[Task, Node] = {}
        with _no_gc(), dynamic.expanding(self, force, forced_all, forced_all_upstream) as self._expansion:
            self._walk()  # an input_of() in requires() plans that upstream task here (dynamic)
            self.targets = [self.nodes[t] for t in self.targets_tasks]
            self._fingerprint()
            self._forced(force, forced_all, forced_all_upstream)
            self._listings = self._list()
            for node in self.nodes.values():
                self._decide(node)
            self.dynamic = dynamic.mark(self, Reason)  # nodes that expand after an upstream runs

    # -- the graph --------------------------------------------------------------------
    def _walk(self) -> None:
        """Depth-first over requires(), iteratively; nodes end up in topological order."""
        nodes = self.nodes
        for root in self.targets_tasks:
            if root in nodes:
                _same_class(nodes[root].task, root)
                continue
            stack = [(root, root.deps(), 0)]
            on_path = {root: 0}
            while stack:
                task, deps, i = stack[-1]
                if i < len(deps):
                    stack[-1] = (task, deps, i + 1)
                    dep = deps[i]
                    if dep in on_path:
                        cycle = [t for t, _, _ in stack[on_path[dep]:]] + [dep]
                        raise CycleError("requires() forms a cycle: " + " -> ".join(map(repr, cycle)))
                    if dep not in nodes:
                        on_path[dep] = len(stack)
                        stack.append((dep, dep.deps(), 0))
                    else:
                        _same_class(nodes[dep].task, dep)
                else:
                    stack.pop()
                    del on_path[task]
                    nodes[task] = Node(task, [nodes[d] for d in deps])

    def _fingerprint(self) -> None:
        for node in self.nodes.values():
            task = node.task
            node.code = code_fingerprint(type(task))
            if node.code.incomplete and type(task) not in _WARNED:
                _WARNED.add(type(task))
                warnings.warn(f"{node.family}: code fingerprint incomplete, edits reached only "
                              f"through these are not seen: {'; '.join(node.code.incomplete)}",
                              stacklevel=3)
            node.version = canonical.digest(SCHEMA, node.family.encode(), node.code.digest.encode(),
                                            task.param_bytes)[:16]
            node.param_dir = param_dir(task)
            node.fingerprint = canonical.digest(node.version.encode(),
                                                *(d.fingerprint.encode() for d in node.deps))
            node.key = f"{node.family}-{node.fingerprint[:32]}"

    def _forced(self, force, forced_all, forced_all_upstream) -> None:
        forced = [force] if isinstance(force, Task) else list(force or [])
        for t in forced:
            if t not in self.nodes:
                raise ParameterError(f"force: {t!r} is not upstream of {self.targets_tasks!r}")
            self.nodes[t].forced = True
        if forced_all:
            for n in self.targets:
                n.forced = True
        for node in reversed(list(self.nodes.values())):  # an aggregate forces what it groups
            if node.forced and node.aggregate:
                for d in node.deps:
                    d.forced = True
        for node in self.nodes.values():  # downstream of a forced task: forced too (no cutoff)
            if forced_all_upstream or any(d.forced for d in node.deps):
                node.forced = True
        for node in self.nodes.values():
            if node.task.external:
                node.forced = False

    def _list(self) -> dict:
        by_family: dict[str, list[Node]] = {}
        for node in self.nodes.values():
            if not node.aggregate:
                by_family.setdefault(node.family, []).append(node)
        # one task of a family: list its folder only (explaining compares with other parameters)
        queries = [(family, nodes[0].param_dir if len(nodes) == 1 and not self.explain else None)
                   for family, nodes in by_family.items()]
        return dict(zip(by_family, self._expansion.listings(self.store, queries)))  # once per pass

    # -- deciding ----------------------------------------------------------------------
    def _decide(self, node: Node) -> None:
        if node.aggregate:
            node.status = "run" if any(d.runs or d.status == "missing" for d in node.deps) else "fresh"
            if node.status == "run":
                node.reasons.append(Reason("upstream", "upstream will run"))
            else:
                node.result = canonical.digest(*(d.result.encode() for d in node.deps))[:16]
            return
        node.commits = self._listings.get(node.family, {}).get(node.param_dir, [])
        if node.task.external:
            return self._decide_external(node)
        if node.forced:
            node.status = "run"
            node.reasons.append(Reason("forced", "forced"))
            return
        names = [f"{n}.{f.ext}" for n, f in type(node.task)._outputs.items()]
        same = [c for c in node.commits if c.version == node.version and c.intact(names) is None]
        waiting = [d for d in node.deps if d.runs or d.status == "missing"]
        if waiting:
            node.status = "run"
            node.cutoff = {c.inputs: c for c in same}
            if not [c for c in node.commits if c.version == node.version]:
                self._own_reasons(node, names)
            causes = sorted({c.task for d in waiting for c in d.root_causes()}, key=repr)
            node.reasons.append(Reason(
                "upstream", "upstream will run: " + ", ".join(map(repr, causes)),
                {"causes": [repr(c) for c in causes]}))
            return
        node.inputs = inputs_id(d.result for d in node.deps)
        match = [c for c in same if c.inputs == node.inputs]
        if match:
            node.status, node.commit = "fresh", match[-1]
            node.result = node.commit.result
            return
        node.status = "run"
        self._own_reasons(node, names)

    def _decide_external(self, node: Node) -> None:
        where = f"{self.store.display}/{node.family}/{node.param_dir}"
        if not node.commits:
            why = f"external data missing: nothing committed under {where}@..."
        else:
            names = [f"{n}.{f.ext}" for n, f in type(node.task)._outputs.items()]
            broken = node.commits[-1].intact(names)
            if broken is None or broken.endswith("modified"):  # republished in place: still present
                node.status, node.commit = "external", node.commits[-1]
                node.result = node.commit.identity()
                return
            why = f"external data missing: {broken} in {node.commits[-1].path}"
        node.status = "missing"
        node.reasons.append(Reason("missing-external", why, {"path": where}))

    def _own_reasons(self, node: Node, names: list) -> None:
        commits = node.commits
        same_version = [c for c in commits if c.version == node.version]
        reasons = node.reasons
        if not commits:
            reasons.append(Reason("no-output", "no output"))
            if self.explain:
                reasons.extend(self._param_changes(node))
        elif same_version:
            broken = [c.intact(names) for c in same_version]
            if node.inputs is not None and any(c.inputs == node.inputs for c in same_version):
                which = next(b for c, b in zip(same_version, broken) if c.inputs == node.inputs)
                reasons.append(Reason("output-modified", f"output {which} since it was committed",
                                      {"output": which}))
            else:
                reasons.append(self._inputs_changed(node, same_version[-1]))
        else:
            reasons.append(self._code_changed(node, commits[-1]))
        if node.code.incomplete:
            reasons.append(Reason("incomplete-fingerprint",
                                  "code fingerprint incomplete: " + "; ".join(node.code.incomplete),
                                  {"incomplete": node.code.incomplete}))

    def _read(self, commit: Commit) -> dict | None:
        if not self.explain:
            return None
        try:
            return self.store.read_json(commit.marker)
        except (FileNotFoundError, ValueError):
            warnings.warn(f"corrupt or foreign commit marker {commit.marker}; treated as stale")
            return None

    def _inputs_changed(self, node: Node, last: Commit) -> Reason:
        body = self._read(last)
        if body:
            old = {d["key"]: d.get("result") for d in body.get("deps", [])}
            for dep in node.deps:
                if dep.key in old and old[dep.key] != dep.result:
                    if dep.task.external:
                        return Reason("external-changed", f"external data changed: {dep.task!r}",
                                      {"task": repr(dep.task)})
                    return Reason("upstream", f"upstream changed: {dep.task!r} was rebuilt with a "
                                  f"different result", {"causes": [repr(dep.task)]})
        return Reason("upstream", "upstream outputs changed since the last build", {})

    def _code_changed(self, node: Node, last: Commit) -> Reason:
        from .explain import code_changes

        body = self._read(last)
        changes = code_changes(body.get("code_parts", {}), node.code.parts) if body else []
        message = "code changed"
        if changes:
            message += ": " + "; ".join(c["message"] for c in changes)
        return Reason("code-changed", message, {"changes": changes})

    def _param_changes(self, node: Node) -> list[Reason]:
        """Compare with the newest build of the family under other parameters (explain only)."""
        family = self._listings.get(node.family, {})  # explaining lists whole families
        others = [c for d, cs in family.items() if d != node.param_dir for c in cs]
        if not others:
            return []
        body = self._read(max(others, key=lambda c: c.build))
        if not body:
            return []
        old = body.get("params", {})
        defs = type(node.task)._param_defs
        out = []
        for name, value in node.task.significant_params().items():
            new = defs[name].serialize(value)
            if name in old and old[name] != new:
                origin = "default" if defs[name].has_default and defs[name].check(
                    defs[name].default, node.family) == value else "given"
                out.append(Reason("param-changed", f"parameter {name} changed: {old[name]} -> {new} ({origin})",
                                  {"name": name, "old": old[name], "new": new, "origin": origin}))
        return out

    # -- views ----------------------------------------------------------------------------
    def committed_targets(self, node: Node) -> dict:
        """Targets of the outputs of ``node``'s committed build, by output name."""
        return {n: Target(self.store, f"{node.commit.path}/{n}.{f.ext}", f, node.task)
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


def inputs_id(results) -> str:
    """Identity of a task's inputs: the results of its upstream tasks, in order."""
    return canonical.digest(*(r.encode() for r in results))[:16]


def _code_json(code) -> str:
    """The code parts of a fingerprint as JSON text, made once per class (see static_body)."""
    text = _CODE_JSON.get(code.digest)
    if text is None:
        import json

        text = _CODE_JSON[code.digest] = json.dumps(
            {k: {"digest": p.digest, "file": p.file, "line": p.line, "statements": p.statements,
                 "values": p.values} for k, p in code.parts.items()}, sort_keys=True)
    return text


_CODE_JSON: dict = {}


def static_body(node: Node) -> dict:
    """The part of a commit marker known before the task runs; ``code_parts`` is JSON text."""
    task = node.task
    defs = type(task)._param_defs
    return {
        "schema": "daskflow-marker/1",
        "family": node.family,
        "task": repr(task),
        "params": {k: defs[k].serialize(v) for k, v in task.significant_params().items()},
        "fingerprint": node.fingerprint,
        "version": node.version,
        "code": node.code.digest,
        "code_parts": _code_json(node.code),
        "incomplete": node.code.incomplete,
        "deps": [{"key": d.key, "task": repr(d.task)} for d in node.deps],
    }


# -- the driver-side helpers behind Task.output() and friends -------------------------------
def resolve_targets(task: Task, strict: bool = False, store: Store | None = None) -> dict:
    """Targets of a task's current build (or unbuilt targets saying why)."""
    plan = Plan(task, store)
    node = plan.nodes[task]
    outputs = type(task)._outputs
    if node.commit is not None:
        return plan.committed_targets(node)
    why = "; ".join(r.message for r in node.reasons) or node.status
    if strict:
        raise NotBuiltError(f"{task!r} is not built for today's code and parameters ({why}); "
                            f"run daskflow.run({task!r}) first")
    return {n: Target(plan.store, None, f, task, why) for n, f in outputs.items()}


def is_complete(task: Task) -> bool:
    node = Plan(task).nodes[task]
    return node.status in ("fresh", "external")


def load_meta(task: Task) -> dict:
    plan = Plan(task)
    node = plan.nodes[task]
    if node.commit is None:
        raise NotBuiltError(f"{task!r} is not built for today's code and parameters; run it first")
    meta = f"{node.commit.path}/{META_NAME}"
    if META_NAME not in node.commit.files:
        raise NotBuiltError(f"{task!r} saved no metadata (no {meta}); call self.saveMeta(...) in run()")
    return plan.store.read_json(meta)


def invalidate(tasks, store: Store | None = None) -> int:
    """Remove the builds of today's version of each task; return how many were removed."""
    tasks = [t for t in tasks if not t.external]
    if not tasks:
        return 0
    plan = Plan(tasks, store)
    return _remove_current(plan, [plan.nodes[t] for t in tasks])


def _remove_current(plan: Plan, nodes) -> int:
    """Remove the builds of today's version of ``nodes`` (external ones excepted), from the
    plan's own listing: one listing serves the whole invalidation."""
    removed = 0
    for node in nodes:
        if node.task.external:
            continue
        for commit in node.commits:
            if commit.version == node.version:
                plan.store.remove_build(commit.path, commit.marker)
                removed += 1
    return removed


def invalidate_upstream(task: Task, store: Store | None = None) -> int:
    """Make ``task`` and every task upstream of it stale (never prompts)."""
    plan = Plan(task, store)
    return _remove_current(plan, plan.nodes.values())


def invalidate_downstream(task: Task, target: Task, store: Store | None = None) -> int:
    """Make ``task`` and every task between it and ``target`` stale (never prompts)."""
    plan = Plan(target, store)
    if task not in plan.nodes:
        raise ParameterError(f"{task!r} is not upstream of {target!r}")
    start = plan.nodes[task]
    return _remove_current(plan, [start, *plan.downstream(start)])
