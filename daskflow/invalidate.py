"""Invalidation: remove the builds of today's version of some tasks, so they run again.

Imports ``errors``, ``notes``, ``storage``, ``task`` and ``plan``.  Nothing prompts
(d6tflow's ``confirm=`` is accepted by the callers in ``daskflow.outputs``); a
note is written first, so ``why()`` says "invalidated" afterwards.  One plan's
listing serves the whole invalidation.
"""

from __future__ import annotations

from .errors import ParameterError
from .notes import note_invalidated
from .plan import Plan
from .storage import Store
from .task import Task

__all__ = ["invalidate", "invalidate_upstream", "invalidate_downstream"]


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
        if node.task.external or node.aggregate:
            continue
        builds = [c for c in node.commits if c.version == node.version]
        if builds:  # a note first, so why() says "invalidated" rather than comparing other builds
            note_invalidated(node.store, node.family, node.param_dir, node.version)
        for commit in builds:
            node.store.remove_build(commit.path, commit.marker)
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
