"""A task of a plan: its identity, fingerprints, status and reasons (:class:`Node`).

Imports ``listing``, ``reasons`` and ``task``.  :class:`daskflow.plan.Plan` makes one per
task, in topological order, and decides its status; the executor, the reports and the
pictures read them.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from .listing import Commit
from .reasons import Reason
from .task import Task, TaskAggregator

__all__ = ["Node"]

_NONE: Mapping = MappingProxyType({})  # the empty mapping every node starts with (one, read-only)


class Node:
    """One task of a plan: identity, fingerprints, status and reasons."""

    __slots__ = ("task", "family", "deps", "code", "version", "param_dir", "fingerprint", "key",
                 "status", "reasons", "commit", "result", "inputs", "cutoff", "forced", "aggregate",
                 "commits", "causes", "file_info", "store")

    def __init__(self, task: Task, deps: list["Node"] | None):
        self.task = task
        self.family = type(task)._family  # task_family
        self.deps = deps  # None while the plan's walk is below this task
        self.aggregate = isinstance(task, TaskAggregator)  # a task without outputs still runs
        self.reasons: list[Reason] = []
        self.commit: Commit | None = None
        self.result: str | None = None
        self.inputs: str | None = None
        self.cutoff: Mapping = _NONE  # replaced, never changed in place
        self.forced = False
        self.commits: list[Commit] | tuple = ()  # assigned, never appended to
        self.causes: list["Node"] | tuple = ()  # set by the plan: root causes among upstream tasks
        self.file_info: Mapping = _NONE  # a raw input file's listing identity (see daskflow.rawfiles)

    @property
    def runs(self) -> bool:
        return self.status == "run"

    def root_causes(self) -> list["Node"]:
        """The tasks whose own reasons make this one run (upstream reasons collapsed); gathered
        once per node as the plan decides in topological order: one step per task, not per ancestor."""
        if self.status == "missing":
            return [self]
        if not self.runs:
            return []
        if any(r.kind != "upstream" or r.data.get("rebuilt") for r in self.reasons) or not self.reasons:
            return [self]  # an upstream rebuilt elsewhere (another process, a forced run) is fresh now
        return self.causes

    def __repr__(self) -> str:
        return f"<Node {self.task!r} {self.status}>"
