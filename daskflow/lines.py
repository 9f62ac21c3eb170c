"""Text for a terminal: one line per task within a width, and tasks as plain data.

Imports ``plan`` (its Node) and the standard library only; used by the ``daskflow``
command.  What stays true: every line fits ``width`` (parameters and reasons are
shortened with "…", the status word always shows); the full text stays in
``--json`` and ``why``.  A tree deeper than a third of the width stops
indenting and shows the depth as a number instead (``[12]``), so a chain of 200
tasks stays readable.
"""

from __future__ import annotations

import datetime
import shutil

from .node import Node
from .plan import Plan

__all__ = ["identity", "plain", "terminal_width", "fit", "tree_lines", "flat_lines", "table_lines"]

WORDS = {"fresh": "COMPLETE", "run": "PENDING", "external": "EXTERNAL", "missing": "EXTERNAL, MISSING"}
_VALUE_CHARS = 16  # a parameter value longer than this is shortened first


def terminal_width(default: int = 100) -> int:
    """The terminal's width (``COLUMNS`` first), at least 40."""
    return max(40, shutil.get_terminal_size((default, 24)).columns)


def plain(value):
    """A parameter value as JSON data: numbers, text, booleans, lists and dicts stay as they are."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [plain(v) for v in value]
        return sorted(items, key=repr) if isinstance(value, (set, frozenset)) else items
    if isinstance(value, dict) or hasattr(value, "items"):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    if hasattr(value, "name") and hasattr(value, "value"):  # an Enum member
        return value.name
    return str(value)


def identity(task, key: str | None = None) -> dict:
    """A task as data: ``{"family", "params", "key", "task"}`` (``task`` is the repr, for people).

    ``params`` holds the significant parameters as JSON values; ``key`` is the
    task's ``Family-<fingerprint>`` (None when not known).
    """
    return {"family": task.task_family,
            "params": {k: plain(v) for k, v in task.significant_params().items()},
            "key": key, "task": repr(task)}


def fit(text: str, width: int) -> str:
    """``text`` cut to ``width`` characters, ending in "…" when cut."""
    if width <= 0:
        return ""
    return text if len(text) <= width else text[:width - 1] + "…"


def _params_text(node: Node, budget: int) -> str:
    """``(a=1, b='x')`` within ``budget`` characters: long values first, then the whole."""
    defs = type(node.task)._param_defs
    items = [(k, defs[k].serialize(v)) for k, v in node.task.significant_params().items()]
    if not items:
        return "()"
    full = "(" + ", ".join(f"{k}={v}" for k, v in items) + ")"
    if len(full) <= budget:
        return full
    short = "(" + ", ".join(f"{k}={fit(v, _VALUE_CHARS)}" for k, v in items) + ")"
    if len(short) <= budget:
        return short
    return fit(short[:-1], max(budget - 1, 2)) + ")" if budget >= 3 else ""


def _describe(node: Node, head: str, width: int, word: bool = True) -> str:
    """``head`` + family + parameters (+ status word) + reasons, within ``width``."""
    tail = f"  {WORDS[node.status]}" if word else ""
    reasons = "; ".join(r.message for r in node.reasons) if node.runs else ""
    budget = width - len(head) - len(node.family) - len(tail)
    line = f"{head}{node.family}{_params_text(node, max(budget, 0))}{tail}"
    room = width - len(line) - 2
    if reasons and room >= 4:
        line += (": " if word else "  ") + fit(reasons, room)
    return fit(line, width)


def tree_lines(plan: Plan, width: int) -> list[str]:
    """One line per task, under the task that requires it; a repeated subtree is shown once."""
    lines: list[str] = []
    shown: set = set()
    cap = max(width // 3 // 3, 1)  # deepest indented level (3 characters a level)
    stack = [(n, 0) for n in reversed(plan.targets)]
    while stack:
        node, depth = stack.pop()
        again = node.key in shown
        indent = "   " * min(depth, cap) + (f"[{depth}]" if depth > cap else "")
        line = _describe(node, f"{indent}└─ ", width)
        if again and node.deps:
            line = fit(line, width - 15) + " (shown above)"
        lines.append(line)
        if not again:
            shown.add(node.key)
            stack.extend((d, depth + 1) for d in reversed(node.deps))
    return lines


def flat_lines(plan: Plan, width: int) -> list[str]:
    """One line per task, upstream first: the status word, then the task and its reasons."""
    pad = max((len(WORDS[n.status]) for n in plan.nodes.values()), default=0)
    return [_describe(node, f"{WORDS[node.status]:<{pad}}  ", width, word=False)
            for node in plan.nodes.values()]


def table_lines(rows: list[tuple], width: int, flexible: tuple[int, ...]) -> list[str]:
    """Rows (the first is the header) as aligned columns within ``width``.

    The columns numbered in ``flexible`` are shortened, widest first, until the
    table fits; the last column is never padded.
    """
    n = len(rows[0])
    widths = [max(len(r[i]) for r in rows) for i in range(n)]

    def total():
        return sum(widths) + 2 * (n - 1)

    while total() > width:
        i = max(flexible, key=lambda j: widths[j])
        floor = len(rows[0][i]) if i != n - 1 else 4
        if widths[i] <= max(floor, 6):
            break
        widths[i] -= min(widths[i] - max(floor, 6), total() - width)
    out = []
    for r in rows:
        cells = [fit(c, w).ljust(w) if i < n - 1 else fit(c, w) for i, (c, w) in enumerate(zip(r, widths))]
        out.append(fit("  ".join(cells).rstrip(), width))
    return out
