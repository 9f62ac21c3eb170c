"""Why a task runs: :class:`Reason`, and the reasons a plan gives a task with no fresh build.

Imports ``explain``, ``notes``, ``rawfiles`` and ``listing``; never the planner
(``daskflow.plan`` mixes :class:`Reasons` into its Plan).  The common reasons
(no output, upstream will run) cost nothing to find; naming which parameter,
code or input changed reads marker bodies, and only when the plan explains
(``why``, ``preview``).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

from .explain import INVALIDATED, code_change, inputs_change
from .listing import Commit, inline_fields
from .notes import invalidated_notes
from .rawfiles import changed_message

__all__ = ["Reason", "Reasons", "causes_of", "upstream_reason"]

@dataclass
class Reason:
    """Why a task will run: ``kind`` for programs, ``message`` for people, ``data`` for both."""

    kind: str
    message: str
    data: dict = field(default_factory=dict)

    def __str__(self) -> str:
        return self.message

class Reasons:
    """What a :class:`~daskflow.plan.Plan` says of a task that runs (a mixin: it reads the
    plan's ``explain``, ``_listings`` and nodes)."""

    def _own_reasons(self, node, names: list) -> None:
        commits = node.commits
        same_version = [c for c in commits if c.version == node.version]
        reasons = node.reasons
        if not same_version and self._invalidated(node):
            reasons.append(Reason("invalidated", INVALIDATED, {}))
        elif not commits and (gone := self._gone(node, names)):
            reasons.append(Reason("output-modified", f"output {gone} since it was committed", {"output": gone}))
        elif not commits:
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

    def _gone(self, node, names: list, external: bool = False) -> str | None:
        """``{output} missing`` where a journal names an inline build of today's version (any,
        for an external task) no longer listed: its output was deleted (explain only)."""
        fields = (self.explain or external) and names and inline_fields(
            node.store.journal_build(node.family, node.param_dir) or "")
        if not fields or not (external or (fields[1] == node.version and fields[2] == node.inputs)):
            return None
        notes = {} if external else invalidated_notes(node.store, node.family, self.__dict__.setdefault("_notes", {}))
        when = notes.get((node.param_dir, node.version))  # invalidate() removed it: "no output"
        return None if when and when >= int(fields[5]) / 1e6 - 1e-3 else f"{names[0]} missing"

    def _read(self, commit: Commit, store: Store) -> dict | None:
        if not self.explain:
            return None
        try:
            return store.read_body(commit)
        except (FileNotFoundError, ValueError):
            what = f"journal line of build {commit.path}" if commit.inline else f"commit marker {commit.marker}"
            warnings.warn(f"corrupt or foreign {what}: its body is unreadable, the reason is given without details")
            return None

    def _inputs_changed(self, node, last: Commit) -> Reason:
        """The build of today's version was made from other upstream results: name which."""
        kind = {True: "file", False: "external"}
        return Reason(*inputs_change(self._read(last, node.store), [
            (d.key, repr(d.task), d.result, kind[bool(getattr(d.task, "raw_file", False))] if d.task.external else "task",
             lambda old, d=d: changed_message(old, d)) for d in node.deps]))

    def _code_changed(self, node, last: Commit) -> Reason:
        """Compare with the newest build of the same parameters (another version)."""
        body = self._read(last, node.store)
        invalidated = bool(body) and (body.get("code") == node.code.digest or self._invalidated(node))
        return Reason(*code_change(body, node.code, invalidated))

    def _invalidated(self, node) -> bool:
        """Whether today's version was removed by invalidate() (explain only; a family with builds)."""
        if not self.explain or not any(self._listings.get((node.store, node.family), {}).values()):
            return False
        when = invalidated_notes(node.store, node.family, self.__dict__.setdefault("_notes", {})).get(
            (node.param_dir, node.version))
        return when is not None and when >= max((c.mtime for c in node.commits), default=0.0)

    def _param_changes(self, node) -> list[Reason]:
        """Compare with the newest build of the family under other parameters (explain only)."""
        family = self._listings.get((node.store, node.family), {})  # explaining lists whole families
        others = [c for d, cs in family.items() if d != node.param_dir for c in cs]
        if not others:
            return []
        body = self._read(max(others, key=lambda c: c.build), node.store)
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


def causes_of(deps) -> list:
    """The root causes of ``deps``, each once, in order of first appearance."""
    return list(dict.fromkeys(c for d in deps for c in d.root_causes()))


def upstream_reason(node, waiting) -> Reason:
    """Why ``node`` runs because upstream tasks run: their root causes, in requires() order."""
    node.causes = causes_of(waiting) or list(waiting)  # never empty
    names = [repr(c.task) for c in node.causes]
    return Reason("upstream", "upstream will run: " + ", ".join(names), {"causes": names})
