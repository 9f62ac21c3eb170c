"""The result of a run: which tasks ran, were skipped, failed or were not run.

Imports ``errors`` only; built by ``daskflow.graph`` from the plan's nodes and
the outcomes the graph returned.
"""

from __future__ import annotations

from .errors import TaskFailure

__all__ = ["RunResult", "MultiRunResult"]


class RunResult:
    """What ``daskflow.run`` did.

    Attributes
    ----------
    ran : list of Task
        Built in this run.
    skipped : list of Task
        Fresh (or external), not run; ``cutoff`` lists those skipped at run
        time because an upstream task rebuilt identical outputs.
    failed : list of TaskFailure
    upstream_failed : list of Task
        Not run because an upstream task failed.
    durations : dict
        Seconds spent in each task that ran or failed.
    keys : dict
        Each task's key, ``Family-<fingerprint>``.
    shared : dict
        Tasks another builder built while this run needed them (team-build leases,
        ``daskflow.lease``), reused from its commit: task -> the builder waited for.
    """

    def __init__(self, nodes, outcomes: dict):
        self.ran, self.skipped, self.cutoff, self.failed, self.upstream_failed = [], [], [], [], []
        self.durations, self.shared = {}, {}
        self.keys = {}  # task -> its key, Family-<fingerprint>
        for node in nodes:
            self.keys[node.task] = node.key
            outcome = outcomes.get(node.key)
            if outcome is None:
                self.skipped.append(node.task)
                continue
            status = outcome.status
            if status == "ran":
                self.ran.append(node.task)
            elif status == "cutoff":
                self.skipped.append(node.task)
                self.cutoff.append(node.task)
            elif status == "shared":  # built by another builder meanwhile (team-build lease)
                self.skipped.append(node.task)
                self.shared[node.task] = outcome.waited_for
            elif status == "failed":
                self.failed.append(TaskFailure(node.task, outcome.error, outcome.traceback))
            else:
                self.upstream_failed.append(node.task)
            if status in ("ran", "failed"):
                self.durations[node.task] = outcome.duration

    @property
    def ok(self) -> bool:
        return not self.failed and not self.upstream_failed

    def __bool__(self) -> bool:
        return self.ok

    scheduling_succeeded = ok  # luigi's LuigiRunResult, which d6tflow's run() returns

    def summary(self) -> str:
        parts = [f"{len(self.ran)} ran", f"{len(self.skipped)} skipped"]
        if self.cutoff:
            parts.append(f"({len(self.cutoff)} by early cutoff)")
        if self.shared:
            parts.append(f"({len(self.shared)} built by another builder)")
        if self.failed:
            parts.append(f"{len(self.failed)} failed")
        if self.upstream_failed:
            parts.append(f"{len(self.upstream_failed)} not run (upstream failed)")
        return ", ".join(parts)

    def __repr__(self) -> str:
        return f"<RunResult: {self.summary()}>"

    def to_dict(self) -> dict:
        """The outcome as plain data (what ``daskflow run --json`` prints); tasks as their repr."""
        return {
            "ok": self.ok, "summary": self.summary(),
            "ran": [repr(t) for t in self.ran], "skipped": [repr(t) for t in self.skipped],
            "cutoff": [repr(t) for t in self.cutoff],
            "shared": {repr(t): who for t, who in self.shared.items()},
            "failed": [{"task": repr(f.task), "error": type(f.exception).__name__,
                        "message": str(f.exception), "traceback": f.traceback} for f in self.failed],
            "upstream_failed": [repr(t) for t in self.upstream_failed],
            "durations": {repr(t): round(d, 6) for t, d in self.durations.items()},
        }

    def subset(self, tasks) -> "RunResult":
        """The part of this result about ``tasks`` (a set)."""
        part = object.__new__(RunResult)
        for name, value in vars(self).items():
            if isinstance(value, list):
                value = [x for x in value if (x.task if isinstance(x, TaskFailure) else x) in tasks]
            elif isinstance(value, dict):
                value = {k: v for k, v in value.items() if k in tasks}
            setattr(part, name, value)
        return part

    def _repr_html_(self) -> str:
        from .viz import result_html

        return result_html(self)


class MultiRunResult(dict):
    """What ``WorkflowMulti.run()`` did: a dict of each experiment's :class:`RunResult` (as
    d6tflow returns), with the whole run's attributes (``ran``, ``failed``...) beside; truthy
    when nothing failed."""

    def __init__(self, combined: RunResult, parts: dict):
        super().__init__(parts)
        self.combined = combined

    def __getattr__(self, name):
        if name == "combined":
            raise AttributeError(name)
        return getattr(self.combined, name)

    def __bool__(self) -> bool:
        return bool(self.combined)

    def __repr__(self) -> str:
        return f"<MultiRunResult of {len(self)} experiments: {self.combined.summary()}>"
