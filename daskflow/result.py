"""The result of a run: which tasks ran, were skipped, failed or were not run.

Imports ``errors`` only; built by ``daskflow.graph`` from the plan's nodes and
the outcomes the graph returned.
"""

from __future__ import annotations

import html

from .errors import TaskFailure

__all__ = ["RunResult"]


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
    """

    def __init__(self, nodes, outcomes: dict):
        self.ran, self.skipped, self.cutoff, self.failed, self.upstream_failed = [], [], [], [], []
        self.durations = {}
        for node in nodes:
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

    def summary(self) -> str:
        parts = [f"{len(self.ran)} ran", f"{len(self.skipped)} skipped"]
        if self.cutoff:
            parts.append(f"({len(self.cutoff)} by early cutoff)")
        if self.failed:
            parts.append(f"{len(self.failed)} failed")
        if self.upstream_failed:
            parts.append(f"{len(self.upstream_failed)} not run (upstream failed)")
        return ", ".join(parts)

    def __repr__(self) -> str:
        return f"<RunResult: {self.summary()}>"

    def _repr_html_(self) -> str:
        rows = [(t, "ran", f"{self.durations.get(t, 0):.3f}s") for t in self.ran]
        rows += [(t, "skipped (cutoff)" if t in self.cutoff else "skipped", "") for t in self.skipped]
        rows += [(f.task, f"failed: {type(f.exception).__name__}", "") for f in self.failed]
        rows += [(t, "upstream failed", "") for t in self.upstream_failed]
        body = "".join(f"<tr><td>{html.escape(repr(t))}</td><td>{s}</td><td>{d}</td></tr>" for t, s, d in rows)
        return (f"<div><b>daskflow run</b>: {html.escape(self.summary())}"
                f"<table><tr><th>task</th><th>status</th><th>time</th></tr>{body}</table></div>")
