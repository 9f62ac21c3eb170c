"""Explaining a code change: which function, file and line, old and new statement.

Imports nothing from daskflow; pure functions over the ``code_parts`` that a
commit marker stores and the :class:`daskflow.fingerprint.Part` objects of
today's code.
"""

from __future__ import annotations

__all__ = ["code_changes"]


def code_changes(old_parts: dict, new_parts: dict) -> list[dict]:
    """Differences between the code parts of a stored build and today's, as dicts.

    Each dict has ``part``, ``kind`` (``changed``, ``added``, ``removed``),
    ``file``, ``line``, ``old``, ``new`` and a one-line ``message``.
    """
    changes = []
    for key in sorted(set(old_parts) | set(new_parts)):
        old, new = old_parts.get(key), new_parts.get(key)
        if old is not None and new is not None and old.get("digest") == new.digest:
            continue
        if new is None:
            changes.append({"part": key, "kind": "removed", "file": old.get("file", ""),
                            "line": old.get("line", 0), "old": "", "new": "",
                            "message": f"{key} no longer used"})
            continue
        if old is None:
            changes.append({"part": key, "kind": "added", "file": new.file, "line": new.line,
                            "old": "", "new": "", "message": f"{key} ({new.file}:{new.line}) newly used"})
            continue
        line, before, after = _first_difference(old.get("statements", []), new.statements)
        where = f"{new.file}:{line or new.line}"
        old_values = old.get("values", {})
        values = sorted(n for n in set(old_values) | set(new.values)
                        if old_values.get(n) != new.values.get(n))
        if before or after:
            text = f"{key} ({where}): {before or '(nothing)'} -> {after or '(nothing)'}"
        elif values:
            text = f"{key} ({where}): what it uses changed: {', '.join(values)}"
        else:
            text = f"{key} ({where}) changed"
        changes.append({"part": key, "kind": "changed", "file": new.file, "line": line or new.line,
                        "old": before, "new": after, "values": values, "message": text})
    return changes


def _first_difference(old: list, new: list) -> tuple[int, str, str]:
    """Line and text of the first top-level statement that differs (0, '', '' if none do)."""
    for i in range(max(len(old), len(new))):
        a = old[i] if i < len(old) else None
        b = new[i] if i < len(new) else None
        if a is None or b is None or a[1] != b[1]:
            line = b[0] if b else (new[-1][0] if new else 0)
            return line, a[2] if a else "", b[2] if b else ""
    return 0, "", ""
