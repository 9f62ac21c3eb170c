"""The driver-side helpers behind ``Task.output()``, ``complete()``, ``invalidate()``,
metadata and a direct ``Task().run()``; and the in-process values of ``TaskCache`` tasks.

Imports ``errors``, ``context``, ``storage``, ``task``, ``plan`` and ``execute``;
registers itself with :func:`daskflow.task.set_planner` on import, so the
core ``Task`` never imports the planner (imports flow one way).

A ``TaskCache``'s values live in the dask graph while a run lasts; when the
run returns, the driver keeps the latest values of each cache task
(:func:`remember`) for the life of the process, with the result identity
they were computed for, so ``outputLoad()`` works after a run and only for
today's code, parameters and inputs.
"""

from __future__ import annotations

import sys
import time

from .context import MemoryTarget, decode_meta
from .errors import NotBuiltError, ParameterError, TaskDefinitionError
from .execute import Outcome, begin_direct, commit_build, known_outcome, spec_for
from .plan import Plan, cache_result, inputs_id
from .invalidate import invalidate as _invalidate
from .invalidate import invalidate_downstream as _invalidate_downstream
from .invalidate import invalidate_upstream as _invalidate_upstream
from .storage import META_NAME, Target
from .task import Task, set_planner

__all__ = ["remember", "targets", "is_complete", "load_meta", "load_all_meta", "invalidate",
           "direct_context", "flags", "invalidate_upstream", "invalidate_downstream",
           "taskflow_upstream", "taskflow_downstream"]

#: TaskCache task -> (result identity, object with ``values`` and ``meta``)
_MEMORY: dict = {}


class Flags:
    """d6tflow settings this module honours (set through ``daskflow.settings``)."""

    #: False: ``complete()`` looks at the task's own outputs only, not at its upstream's
    check_dependencies = True


flags = Flags()


def remember(plan: Plan, outcomes: dict) -> None:
    """Keep, in this process, the values of the cache tasks a run computed."""
    for node in plan.nodes.values():
        outcome = outcomes.get(node.key)
        if outcome is not None and outcome.values is not None:
            _MEMORY[node.task] = (outcome.result, outcome)


def _in_memory(node):
    """The remembered values of a cache task's node, if computed for today's inputs."""
    entry = _MEMORY.get(node.task)
    if entry is None:
        return None
    if node.result is None or entry[0] != node.result:
        return None if flags.check_dependencies else entry[1]
    return entry[1]


def resolve_targets(task: Task, strict: bool = False, store=None) -> dict:
    """Targets of a stored task's current build (or unbuilt targets saying why)."""
    plan = Plan(task, store)
    node = plan.nodes[task]
    outputs = type(task)._outputs
    if node.commit is not None:
        return {n: Target(node.store, node.commit.file(f"{n}.{f.ext}"), f, task, name=n) for n, f in outputs.items()}
    why = "; ".join(r.message for r in node.reasons) or node.status
    if strict:
        raise NotBuiltError(f"{task!r} is not built for today's code and parameters ({why}); "
                            f"run daskflow.run({task!r}) first")
    return {n: Target(node.store, None, f, task, why) for n, f in outputs.items()}


def _load_meta(task: Task, store=None) -> dict:
    plan = Plan(task, store)
    node = plan.nodes[task]
    if node.commit is None:
        raise NotBuiltError(f"{task!r} is not built for today's code and parameters; run it first")
    meta = node.commit.file(META_NAME)
    if META_NAME not in node.commit.files:
        raise NotBuiltError(f"{task!r} saved no metadata (no {meta}); call self.metaSave(...) in run()")
    return decode_meta(node.store.read_json(meta))


def targets(task: Task, strict: bool, store=None) -> dict:
    """Targets of a task's current build (or of its in-memory values for a TaskCache)."""
    if not type(task)._is_cached():
        return resolve_targets(task, strict=strict, store=store)
    node = Plan(task, store).nodes[task]
    held = _in_memory(node)
    outputs = type(task)._outputs
    if held is None:
        why = ("an upstream task is not built" if node.result is None
               else "not run in this process since its code, parameters or inputs were these")
        if strict:
            raise NotBuiltError(f"{task!r} keeps its output in memory (TaskCache) and has no value "
                                f"for today's code and inputs ({why}); run daskflow.run({task!r}) first")
        return {n: MemoryTarget(None, f, task, why, present=False) for n, f in outputs.items()}
    return {n: MemoryTarget(held.values[n], f, task) for n, f in outputs.items()}


def is_complete(task: Task, store=None) -> bool:
    plan = Plan(task, store)
    node = plan.nodes[task]
    if type(task)._is_cached() or node.aggregate:
        return _held_or_fresh(node)
    if flags.check_dependencies or node.status in ("fresh", "external"):
        return node.status in ("fresh", "external")
    names = type(task)._output_files()
    store = node.store or plan.store
    return any(c.version == node.version and store.intact(c, names) is None for c in node.commits)


def _held_or_fresh(node) -> bool:
    """A TaskCache: its value held in this process; an aggregator: each of its members is (the
    plan runs the caches an aggregator asks for, so its own status says it would run)."""
    if type(node.task)._is_cached():
        return _in_memory(node) is not None
    if node.aggregate:
        return all(_held_or_fresh(d) for d in node.deps)
    return node.status in ("fresh", "external")


def load_meta(task: Task, store=None) -> dict:
    if type(task)._is_cached():
        held = _in_memory(Plan(task, store).nodes[task])
        if held is None:
            raise NotBuiltError(f"{task!r} (TaskCache) has not run in this process for today's "
                                f"code and inputs; run it first")
        if held.meta is None:
            raise NotBuiltError(f"{task!r} saved no metadata; call self.metaSave(...) in run()")
        return held.meta
    return _load_meta(task, store)


def load_all_meta(task: Task, store=None) -> dict:
    """The metadata of ``task`` and every task upstream of it that saved some, by family."""
    out = {}
    for node in Plan(task, store).nodes.values():
        if node.aggregate or node.task.external:
            continue
        try:
            out[node.family] = load_meta(node.task, store)
        except NotBuiltError as exc:
            if "saved no metadata" not in str(exc):
                raise
    return out


def invalidate(tasks, store=None) -> int:
    tasks = list(tasks)
    for t in tasks:
        if type(t)._is_cached():
            _MEMORY.pop(t, None)
    return _invalidate([t for t in tasks if not type(t)._is_cached()], store)


def invalidate_upstream(task: Task, confirm=None, store=None) -> int:
    """Make ``task`` and every task upstream of it stale; never prompts (``confirm`` is
    d6tflow's and is ignored).  Returns how many builds were removed."""
    for node in Plan(task, store).nodes.values():
        _MEMORY.pop(node.task, None)
    return _invalidate_upstream(task, store)


def invalidate_downstream(task: Task, task_downstream: Task, confirm=None, store=None) -> int:
    """Make ``task`` and every task between it and ``task_downstream`` stale; never prompts."""
    for node in Plan(task_downstream, store).nodes.values():
        _MEMORY.pop(node.task, None)
    return _invalidate_downstream(task, task_downstream, store)


def taskflow_upstream(task: Task, only_complete: bool = False) -> list:
    """``task`` and every task upstream of it, upstream first (d6tflow's helper).

    With ``only_complete``, only those built for today's code, parameters and inputs.
    """
    plan = Plan(task)
    nodes = [n for n in plan.nodes.values()]
    if only_complete:
        nodes = [n for n in nodes if (_in_memory(n) is not None if type(n.task)._is_cached()
                                      else n.status in ("fresh", "external"))]
    return [n.task for n in nodes]


def taskflow_downstream(task: Task, task_downstream: Task, only_complete: bool = False) -> list:
    """``task`` and the tasks between it and ``task_downstream`` (d6tflow's helper)."""
    plan = Plan(task_downstream)
    if task not in plan.nodes:
        raise ParameterError(f"{task!r} is not upstream of {task_downstream!r}")
    start = plan.nodes[task]
    nodes = [start, *plan.downstream(start)]
    if only_complete:
        nodes = [n for n in nodes if n.status in ("fresh", "external")]
    return [n.task for n in nodes]


def direct_context(task: Task, store=None):
    """The run context of ``Task().run()`` called directly: inputs bound to what the upstream
    tasks committed (or hold in memory), outputs committed as a normal build when all are saved."""
    if task.external:
        raise TaskDefinitionError(f"{task!r} is external (someone else produces it): it cannot be run")
    plan = Plan(task, store)
    node = plan.nodes[task]
    deps, missing = [], []
    for d in node.deps:
        if type(d.task)._is_cached():
            held = _in_memory(d)
            if held is None:
                missing.append(f"{d.task!r} (TaskCache, not run in this process for today's inputs)")
            else:
                deps.append(Outcome(d.key, "fresh", d.result, values=held.values, meta=held.meta))
        elif d.status in ("fresh", "external"):
            deps.append(known_outcome(d))
        else:
            missing.append(f"{d.task!r} ({'; '.join(r.message for r in d.reasons) or d.status})")
    if missing:
        raise NotBuiltError(f"{task!r}.run() called directly needs its upstream tasks built; not built: "
                            + ", ".join(missing) + f". Build them first, or use daskflow.run({task!r})")
    spec = spec_for(node, plan.store)
    inputs = inputs_id(o.result for o in deps)
    start = time.perf_counter()

    def finish(ctx) -> None:
        if spec.cached:
            _MEMORY[task] = (cache_result(node.version, inputs), ctx)
        else:
            commit_build(spec, deps, inputs, start, ctx)

    ctx = begin_direct(spec, deps)
    ctx.finish = finish
    return ctx


set_planner(sys.modules[__name__])
