"""Running a graph with dynamic branches in stages: plan, run what can run, plan again.

Imports ``dynamic``, ``errors``, ``execute`` (for :class:`Outcome`) and nothing of dask:
``daskflow.graph`` hands in how to make a plan and how to execute one, so
each stage runs on whatever scheduler the run uses, through the existing
graph code.  A graph without dynamic tasks is one stage: one plan, one
execution, exactly as before.

A stage executes every task that can run now: everything that does not wait,
directly or through its upstream tasks, for a dynamic task to expand (see
:mod:`daskflow.dynamic`), including the upstream tasks the dynamic ones read.
Then the graph is planned again (the lists now load from storage) until no
task waits.  Outcomes are merged by key, so the run's result says what ran in
any stage.  What stays true:

- a failure in a stage lets the rest of that stage finish, and every task that
  waited for an expansion is "not run (upstream failed)";
- forcing holds across stages: a forced task reruns once, in the first stage
  that can run it, and every task downstream of it (branches found later too)
  reruns once;
- each stage makes progress (it ran something the next plan uses), or the run
  stops with an error naming the tasks that cannot be expanded.
"""

from __future__ import annotations

import copy
import logging

from . import dynamic
from .errors import TaskDefinitionError
from .execute import Outcome

__all__ = ["run_in_stages"]

logger = logging.getLogger("daskflow")


def run_in_stages(make_plan, execute, force=None, forced_all=False, forced_all_upstream=False):
    """Plan and execute until no task waits for an expansion.

    Parameters
    ----------
    make_plan : callable
        ``make_plan(force, forced_all, forced_all_upstream)`` -> a Plan of the run's targets.
    execute : callable
        ``execute(plan)`` -> outcomes by key of the tasks the plan says will run.
    force, forced_all, forced_all_upstream
        As for :func:`daskflow.run`; they apply to the first stage, and later stages
        force what those forced and has not run yet.

    Returns
    -------
    plan : Plan
        The last stage's plan.
    nodes : list of Node
        Its nodes, and those of earlier stages' tasks it no longer holds.
    outcomes : dict
        Outcomes by key, of every stage.
    """
    plan = make_plan(force, forced_all, forced_all_upstream)
    outcomes: dict = {}
    ran: set = set()  # tasks built in an earlier stage of this run: never built twice
    forced_ran: set = set()
    failed: set = set()  # tasks that failed in an earlier stage: not retried, downstream not run
    earlier: dict = {}  # task -> node, of what earlier stages executed
    while True:
        blocked = _downstream(plan, {n.key for n in plan.nodes.values() if n.task in failed})
        waiting = _downstream(plan, {n.key for n in plan.dynamic})
        stage = copy.copy(plan)
        stage.nodes = {t: n for t, n in plan.nodes.items() if n.key not in waiting | blocked}
        todo = stage.to_run()
        again = [repr(n.task) for n in todo if n.task in ran]
        if waiting - blocked and (again or not todo):  # no progress: never loop
            names = ", ".join(repr(n.task) for n in plan.dynamic)
            raise TaskDefinitionError(f"cannot expand {names}: the upstream tasks their requires() "
                                      f"read were built in this run but are still not fresh when "
                                      f"planned again ({', '.join(again) or 'nothing left to build'}); "
                                      f"is the storage root losing commits?")
        if waiting - blocked:
            logger.info("building %d task(s) before expanding %s", len(todo),
                        ", ".join(f"{n.task!r} (after {dynamic.pending(n.task)!r})" for n in plan.dynamic))
        done = execute(stage) if todo else {}
        outcomes.update(done)
        earlier.update((n.task, n) for n in todo)
        for node in plan.nodes.values():
            if node.key in blocked and node.task not in failed:
                outcomes[node.key] = Outcome(node.key, "upstream_failed", blocked_by=sorted(
                    d.key for d in node.deps if d.key in blocked))
        status = {n.task: getattr(done.get(n.key), "status", None) for n in todo}  # by Node.key
        failed |= {t for t, s in status.items() if s == "failed"}
        if not waiting - blocked:
            gone = [n for t, n in earlier.items() if t not in plan.nodes]  # e.g. an aggregator's list
            return plan, list(plan.nodes.values()) + gone, outcomes
        ran |= {t for t, s in status.items() if s in ("ran", "cutoff")}
        forced_ran |= {n.task for n in todo if n.forced and n.task in ran}
        wanted = [n.task for n in plan.nodes.values()
                  if n.forced and n.task not in ran and n.task not in failed]
        plan = _replan(make_plan, wanted, ran, forced_ran, forced_all_upstream)


def _downstream(plan, keys: set) -> set:
    """``keys`` and the keys of every node of ``plan`` downstream of one of them."""
    out = set(keys)
    for node in plan.nodes.values():  # topological order
        if node.key not in out and any(d.key in out for d in node.deps):
            out.add(node.key)
    return out


def _replan(make_plan, wanted: list, ran: set, forced_ran: set, all_upstream: bool):
    """Plan the next stage, forcing what is still to force (a task found by the expansion
    downstream of a forced task too), never what already ran in this run.

    A forced list task makes its readers wait again, so the tasks their expansion found
    may leave the graph: each round plans once with the intent alone (the graph it gives),
    then forces the intended tasks that graph holds."""
    intent = set(wanted)
    for _ in range(4):  # each round forces a superset; the graph settles in two or three
        token = dynamic.FORCING.set(frozenset(intent))
        try:
            plan = make_plan(None, False, False)
            force = [n.task for n in plan.nodes.values() if n.task in intent]
            if force:
                plan = make_plan(force, False, False)
        finally:
            dynamic.FORCING.reset(token)
        more = set(intent)
        for node in plan.nodes.values():  # topological order: upstream first
            task = node.task
            if task in ran or task.external:
                continue
            if all_upstream or any(d.task in forced_ran or d.task in more for d in node.deps):
                more.add(task)
        if more == intent:
            return plan
        intent = more
    return plan
