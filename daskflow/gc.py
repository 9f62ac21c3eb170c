"""Garbage collection: remove stored builds that no current task version uses.

Imports ``lease``, ``plan`` and ``storage``.  Builds are immutable folders, so old code
and parameter versions stay valid (reverting is free) until ``gc`` removes
them.  Given tasks, ``gc`` keeps each task's current build and removes the
other builds in the parameter folders of those tasks (never external ones).
Always, it removes build folders that were never committed (a crash or a
kill mid-build) once they are older than ``grace`` seconds, so a build in
progress elsewhere is left alone.  ``dry_run=True`` (the default) only says
what it would remove.  It also removes team-build leases (``daskflow.lease``)
whose every generation expired: what a builder killed while building left,
and the journals of inline commits (``daskflow.journal``) untouched for
``grace`` seconds whose every build is gone.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from .lease import expired_leases
from .listing import inline_fields
from .plan import Plan
from .storage import Store, default_store

__all__ = ["gc", "GcReport"]


@dataclass
class GcReport:
    """What ``gc`` removed (or would remove, on a dry run)."""

    dry_run: bool
    removed: list = field(default_factory=list)  # build paths ({family}/{params}@{build})
    bytes: int = 0
    kept: int = 0
    leases: list = field(default_factory=list)  # expired lease files
    journals: list = field(default_factory=list)  # journals that no longer explain any build

    def __str__(self) -> str:
        verb = "would remove" if self.dry_run else "removed"
        lines = [f"{verb} {len(self.removed)} build(s), {self.bytes} bytes; kept {self.kept}"]
        lines += [f"  {p}" for p in self.removed]
        if self.leases:
            lines.append(f"{verb} {len(self.leases)} expired lease(s)")
            lines += [f"  {p}" for p in self.leases]
        if self.journals:
            lines.append(f"{verb} {len(self.journals)} journal(s) naming no build left")
            lines += [f"  {p}" for p in self.journals]
        return "\n".join(lines)


def gc(tasks=None, dry_run: bool = True, store: Store | None = None, grace: float = 3600.0) -> GcReport:
    """Remove builds that no current task version uses.

    Parameters
    ----------
    tasks : Task or list of Task, optional
        Keep the current build of each of these tasks and of their upstream,
        and remove the other builds of their parameter folders. Without tasks,
        only never-committed build folders are removed.
    dry_run : bool, default True
        Report what would be removed, remove nothing.
    grace : float
        Never-committed folders younger than this many seconds are kept.

    Examples
    --------
    >>> print(daskflow.gc(Train(), dry_run=True))  # doctest: +SKIP
    would remove 2 build(s), 1834 bytes; kept 3
    """
    store = store or default_store()
    report = GcReport(dry_run)
    scope: dict[tuple, set] = {}  # (root, family) -> parameter folders in scope
    keep: set = set()
    if tasks is not None:
        plan = Plan(tasks, store)
        for node in plan.nodes.values():
            if node.aggregate or node.store is None:
                continue
            if node.task.external:
                keep.update(c.path for c in node.commits)
                continue
            scope.setdefault((node.store, node.family), set()).add(node.param_dir)
            if node.commit is not None:
                keep.add(node.commit.path)
        roots = sorted(scope, key=lambda k: (k[0].url, k[1]))  # a task's own root (path=) too
    else:
        roots = [(store, family) for family in store.list_families()]
    now = time.time()
    for root, family in roots:
        _collect(root, family, scope.get((root, family), ()), keep, now, grace, report)
    return report


def _collect(store: Store, family: str, scope, keep: set, now: float, grace: float,
             report: GcReport) -> None:
    """Remove (or, on a dry run, list) what one family folder of one root holds and nobody uses."""
    dry_run = report.dry_run
    for path in expired_leases(store, family):  # top generation first: no gap below a live one
        report.leases.append(path)
        if not dry_run:
            store.remove_file(path)
    left = set()  # "{params}@{build}" of the builds that stay
    for param_dir, path, size, mtime, marker in store.list_builds(family):
        if path in keep:
            report.kept += 1
            left.add(path.rpartition("/")[2])
            continue
        stale = marker is not None and param_dir in scope
        orphan = marker is None and now - mtime > grace
        if not (stale or orphan):
            report.kept += 1
            left.add(path.rpartition("/")[2])
            continue
        report.removed.append(path)
        report.bytes += size
        if not dry_run:
            store.remove_build(path, marker)
            fields = inline_fields(path.rpartition("@")[2])
            if marker is not None and store.local and ("._commit." in marker or fields):  # its lease's .done name
                version, inputs = fields[1:3] if fields else marker.rpartition("._commit.")[2].split(".")[:2]
                store.remove_file(f"{path.rpartition('@')[0]}@_lease.{version}.{inputs}.done")
    for path, mtime, keys in store.journals(family):  # idle an hour (its writer is done), and
        if now - mtime > grace and not keys & left:  # every build it explains is gone
            report.journals.append(path)
            if not dry_run:
                store.remove_file(path)
