"""Which tasks a plan forces to run: ``force=``/``forced_all``, and a task's own ``complete()``.

Imports ``errors``, ``reasons`` and ``task``; never the planner (``daskflow.plan``
mixes :class:`Forcing` into its Plan).  A forced task reruns whatever its stored
builds, and so does everything between it and the targets (no early cutoff);
``force=`` a task not in the graph names its family, as d6tflow matches it.  A
``complete()`` override (luigi's hook) that returns False forces its task alone.
"""

from __future__ import annotations

import threading

from .errors import ParameterError
from .reasons import Reason
from .task import Task

__all__ = ["Forcing"]

_COMPLETE = Task.complete
_asking = threading.local()  # a user's complete() being asked here: its super().complete() plans


def _user_complete(task: Task) -> bool:
    """A ``complete()`` override's answer (luigi's and d6tflow's hook: ``return False`` always
    reruns); True while one is being asked in this thread, so an override that plans again
    (``daskflow.preview()`` or ``run()`` inside it) does not ask itself for ever.  True lets
    freshness decide: a stale task never counts as complete."""
    if getattr(_asking, "busy", False):
        return True
    _asking.busy = True
    try:
        return bool(task.complete())
    finally:
        _asking.busy = False


class Forcing:
    """What a :class:`~daskflow.plan.Plan` forces (a mixin: it reads the plan's nodes)."""

    def _forced(self, force, forced_all, forced_all_upstream) -> None:
        if not (force or forced_all or forced_all_upstream):
            return  # nothing forced: every node keeps forced = False
        forced = [force] if isinstance(force, Task) else list(force or [])
        for t in forced:
            if t in self.nodes:
                self.nodes[t].forced = True
                continue
            family = [n for n in self.nodes.values() if n.family == t.task_family]  # d6tflow's match
            if not family:
                raise ParameterError(f"force: {t!r} is not upstream of {self.targets_tasks!r}")
            for n in family:  # other parameters: the task of that family in the graph, as d6tflow
                n.forced = True
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

    def _says_incomplete(self, node) -> bool:
        """Force ``node`` (and say why) when its class's own ``complete()`` returns False."""
        if type(node.task).complete is _COMPLETE or _user_complete(node.task):
            return False
        node.status, node.forced = "run", True  # forced: no lease or cutoff reuses a build
        node.reasons.append(Reason("complete", f"{node.task!r}.complete() returned False"))
        return True
