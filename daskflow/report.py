"""Telling people what a run would do: ``preview`` (a tree) and ``why`` (the reasons), and
what is stored (``status_row``, a row of ``daskflow status``).

Imports ``plan`` (and what it imports); reads storage only through a Plan with
``explain=True`` and the store's listings.  Nothing here runs a task.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from .errors import DaskflowError
from .node import Node
from .plan import Plan, Reason
from .taskdef import param_dir as param_dir_of

__all__ = ["preview", "why", "WhyReport", "TaskWhy", "tree_text", "status_row", "size_text"]

_WORDS = {"fresh": "COMPLETE", "run": "PENDING", "external": "EXTERNAL", "missing": "EXTERNAL, MISSING"}


def _label(node: Node) -> str:
    defs = type(node.task)._param_defs
    params = {k: defs[k].serialize(v) for k, v in node.task.significant_params().items()}
    status = _WORDS[node.status]
    if node.runs and node.reasons:
        status += ": " + "; ".join(r.message for r in node.reasons)
    return f"{node.family}-{params} ({status})"


def tree_text(plan: Plan) -> str:
    """One line per task, indented under the task that requires it (d6tflow's layout)."""
    lines: list[str] = []
    shown: set = set()
    stack = [(n, 0) for n in reversed(plan.targets)]
    while stack:
        node, depth = stack.pop()
        again = node.key in shown
        lines.append(f"{'   ' * depth}└─--[{_label(node)}]{' (shown above)' if again and node.deps else ''}")
        if not again:
            shown.add(node.key)
            stack.extend((d, depth + 1) for d in reversed(node.deps))
    return "\n".join(lines)


def preview(tasks, force=None, forced=None, forced_all=False, forced_all_upstream=False,
            store=None, clip_params=False) -> None:
    """Print the tree of ``tasks`` and their upstream with each one's status; run nothing.

    Examples
    --------
    >>> daskflow.preview(Train(do_preprocess=False))  # doctest: +SKIP
    └─--[Train-{'do_preprocess': 'False', 'model': 'ols'} (PENDING: ...)]
       └─--[Preprocess-{'do_preprocess': 'False'} (PENDING: no output)]
          └─--[GetData-{} (COMPLETE)]
    """
    plan = Plan(tasks, store, force=force if force is not None else forced, forced_all=forced_all,
                forced_all_upstream=forced_all_upstream, explain=True, ask_complete=True)
    print(tree_text(plan))


@dataclass
class TaskWhy:
    """The status of one task and, if it will run, the reasons in order."""

    task: object
    status: str
    reasons: list
    incomplete: list = None
    unwalked: list = None  # user code its last build called that the fingerprint does not follow

    @property
    def runs(self) -> bool:
        return self.status == "run"

    def to_dict(self) -> dict:
        return {"task": repr(self.task), "family": self.task.task_family, "status": self.status,
                "reasons": [{"kind": r.kind, "message": r.message, **r.data} for r in self.reasons],
                "incomplete": list(self.incomplete or []), "unwalked": list(self.unwalked or [])}

    def __str__(self) -> str:
        if self.status == "run":
            return f"{self.task!r} will run:\n" + "\n".join(f"  - {r.message}" for r in self.reasons)
        words = {"fresh": "is fresh, skipped", "external": "is external, present",
                 "missing": "is external and MISSING"}
        note = f" (fingerprint incomplete: {'; '.join(self.incomplete)})" if self.incomplete else ""
        if self.unwalked:
            note += (f" (its build called code the fingerprint does not follow: {', '.join(self.unwalked)};"
                     f" an edit there would not be seen)")
        return f"{self.task!r} {words[self.status]}{note}"


class WhyReport:
    """Why each task of a graph will run (or not); ``str()`` is the text.

    Attributes
    ----------
    tasks : list of TaskWhy
        Every task, upstream first.
    will_run : list of TaskWhy
    """

    def __init__(self, plan: Plan):
        self.tasks = [TaskWhy(n.task, n.status, list(n.reasons), list(n.code.incomplete), _unwalked(plan, n))
                      for n in plan.nodes.values()]
        self._plan = plan  # for the picture in notebooks

    @property
    def will_run(self) -> list[TaskWhy]:
        return [t for t in self.tasks if t.runs]

    def __getitem__(self, task) -> TaskWhy:
        for t in self.tasks:
            if t.task == task:
                return t
        raise KeyError(task)

    def reasons(self, task) -> list[Reason]:
        return self[task].reasons

    def to_dict(self) -> dict:
        return {"tasks": [t.to_dict() for t in self.tasks]}

    def __str__(self) -> str:
        return "\n".join(str(t) for t in reversed(self.tasks))

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        from .viz import plan_data, why_html

        return why_html(self, plan_data(self._plan))


def _unwalked(plan: Plan, node: Node) -> list:
    """What the run-time trace of a fresh task's build found beyond the static walk."""
    if node.status != "fresh" or node.commit is None:
        return []
    body = plan._read(node.commit, node.store) or {}
    return list(body.get("unwalked") or [])


def why(tasks, force=None, forced=None, forced_all=False, forced_all_upstream=False,
        store=None) -> WhyReport:
    """Say, for each task, whether it will run and why: no output, forced, a parameter or the
    code changed (which function and line), upstream changed (the root cause), external data
    changed, output modified.

    Examples
    --------
    >>> print(daskflow.why(Train()))  # doctest: +SKIP
    Train(do_preprocess=True, model='ols') will run:
      - code changed: tasks:Train.run (tasks.py:31): model = fit(df) -> model = fit(df, C=2)
    """
    plan = Plan(tasks, store, force=force if force is not None else forced, forced_all=forced_all,
                forced_all_upstream=forced_all_upstream, explain=True, ask_complete=True)
    return WhyReport(plan)


def status_row(store, family: str, param_dir: str, commits: list, cls) -> dict:
    """One stored parameter set for ``daskflow status``: its parameters (from the newest
    build's body), fresh or stale when its task class ``cls`` is known (else "unknown", said
    why), the number of builds, their bytes and when the newest was built."""
    newest = commits[-1]
    try:
        params = store.read_body(newest).get("params", {})
    except (FileNotFoundError, ValueError):
        params = {}
    state, reasons = "unknown", []
    if cls is None:
        reasons = ["no task class given (-m MODULE)"]
    else:
        try:
            task = cls(**params)
        except DaskflowError as exc:
            task, reasons = None, [f"stored parameters no longer fit {family}: {exc}"]
        if task is not None and param_dir_of(task) != param_dir:
            task, reasons = None, [f"parameters no longer match {family}'s declaration"]
        if task is not None:
            node = Plan(task, store, explain=True).nodes[task]
            state = {"fresh": "fresh", "run": "stale"}.get(node.status, node.status)
            reasons = [r.message for r in node.reasons]
    size = sum(info[0] or 0 for c in commits for info in c.files.values())
    built = datetime.datetime.fromtimestamp(newest.mtime, datetime.timezone.utc).isoformat()
    return {"family": family, "params": params, "param_dir": param_dir,
            "path": newest.path, "status": state, "reasons": reasons,
            "builds": len(commits), "bytes": size, "built": built}


def size_text(n) -> str:
    """``n`` bytes for people: ``512 B``, ``1.5 MiB``."""
    n = float(n or 0)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return ""
