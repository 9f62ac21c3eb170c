"""Explaining a code change: which function, file and line, a diff, old and new values.

Imports nothing from daskflow; pure functions over the ``code_parts`` (and
``libraries``) that a commit marker stores and the
:class:`daskflow.fingerprint.Part` objects of today's code.  A changed
function is shown as a short unified diff (``difflib``) of its source at
build time and today; a changed constant, default, class attribute or
closure value as its old and new text (truncated).
"""

from __future__ import annotations

import difflib

__all__ = ["code_changes", "library_changes", "source_diff", "code_change", "inputs_change", "INVALIDATED", "FILE_PART"]

FILE_PART = "file "  # the key prefix of a part that is a file the code reads (fingerprint.reads)

INVALIDATED = "invalidated: no build of today's code and parameters (removed by invalidate() or gc)"

_DIFF_LINES = 14  # lines of a diff kept in a message
_VALUE = 60  # characters of a value kept in a message


def _short(text: str) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= _VALUE else text[:_VALUE - 3] + "..."


def source_diff(old: str, new: str, name: str) -> str:
    """A unified diff of two source texts, without the file header, at most 14 lines."""
    lines = list(difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm="", n=1,
                                      fromfile=f"{name} (built)", tofile=f"{name} (now)"))[2:]
    if len(lines) > _DIFF_LINES:
        lines = lines[:_DIFF_LINES] + [f"... ({len(lines) - _DIFF_LINES} more lines)"]
    return "\n".join(lines)


def _base(key: str) -> str:
    """A closure's key without its cells digest: ``m:make.<locals>.f[1a2b]`` -> ``m:make.<locals>.f``."""
    return key.split("[", 1)[0]


def code_changes(old_parts: dict, new_parts: dict) -> list[dict]:
    """Differences between the code parts of a stored build and today's, as dicts.

    Each dict has ``part``, ``kind`` (``changed``, ``added``, ``removed``),
    ``file``, ``line``, ``old``, ``new`` (first differing statement), ``diff``,
    ``values`` (names whose value changed, with ``before``/``after`` texts) and
    a one-line-or-more ``message``.
    """
    changes = []
    old_keys, new_keys = set(old_parts), set(new_parts)
    # a closure whose cell values changed has a new key: pair it with its old one
    renamed = {}
    for key in sorted(new_keys - old_keys):
        twins = [k for k in old_keys - new_keys if _base(k) == _base(key) and k not in renamed.values()]
        if len(twins) == 1:
            renamed[key] = twins[0]
    for key in sorted((old_keys | new_keys) - set(renamed.values())):
        old, new = old_parts.get(renamed.get(key, key)), new_parts.get(key)
        if old is not None and new is not None and old.get("digest") == new.digest:
            continue
        if new is None:
            changes.append({"part": key, "kind": "removed", "file": old.get("file", ""),
                            "line": old.get("line", 0), "old": "", "new": "", "diff": "", "values": [],
                            "message": f"{key} no longer used"})
            continue
        if old is None:
            changes.append({"part": key, "kind": "added", "file": new.file, "line": new.line,
                            "old": "", "new": "", "diff": "", "values": [],
                            "message": f"{key} ({new.file}:{new.line}) newly used" if new.line
                            else f"{key} newly {'read' if key.startswith(FILE_PART) else 'used'}"})
            continue
        changes.append(_changed(_base(key) if key in renamed else key, old, new))
    return changes


def _changed(key: str, old: dict, new) -> dict:
    line, before, after = _first_difference(old.get("statements", []), new.statements)
    where = f"{new.file}:{line or new.line}" if line or new.line else new.file
    old_values, old_shown = old.get("values", {}), old.get("shown", {})
    names = sorted(n for n in set(old_values) | set(new.values) if old_values.get(n) != new.values.get(n))
    values = [{"name": n, "before": _short(old_shown.get(n, "(not used)")) if n in old_values else "(not used)",
               "after": _short(new.shown.get(n, "")) if n in new.values else "(not used)"} for n in names]
    diff = source_diff(old.get("source", ""), new.source, key) if old.get("source") and new.source \
        and old.get("source") != new.source else ""
    pieces = []
    if before or after:
        pieces.append(f"{before or '(nothing)'} -> {after or '(nothing)'}")
    for v in values:
        same = v["before"] == v["after"]  # same text, other value (a function or object it names)
        pieces.append(f"{v['name']} changed" if same else f"{v['name']}: {v['before']} -> {v['after']}")
    if not pieces and not diff:
        pieces.append("changed (its closure, decorators or what it refers to)")
    if key.startswith(FILE_PART):  # a file the code reads (fingerprint.reads)
        text = f"{key} changed: " + "; ".join(f"{v['before']} -> {v['after']}" for v in values)
    elif pieces:
        text = f"{key} ({where}): " + "; ".join(pieces)
    else:
        text = f"{key} ({where}):"
    if diff:
        text += "\n" + "\n".join("      " + d for d in diff.splitlines())
    return {"part": key, "kind": "changed", "file": new.file, "line": line or new.line,
            "old": before, "new": after, "diff": diff, "values": values, "message": text}


def library_changes(old: dict, new: dict) -> list[dict]:
    """Libraries whose version changed, appeared or went: ``library scikit-learn 1.4.2 -> 1.5.0``."""
    out = []
    for dist in sorted(set(old) | set(new)):
        a, b = old.get(dist), new.get(dist)
        if a == b:
            continue
        message = (f"library {dist} {a} -> {b}" if a and b else
                   f"library {dist} {b} newly used" if b else f"library {dist} {a} no longer used")
        out.append({"library": dist, "old": a, "new": b, "message": message})
    return out


def _first_difference(old: list, new: list) -> tuple[int, str, str]:
    """Line and text of the first top-level statement that differs (0, '', '' if none do)."""
    for i in range(max(len(old), len(new))):
        a = old[i] if i < len(old) else None
        b = new[i] if i < len(new) else None
        if a is None or b is None or a[1] != b[1]:
            line = b[0] if b else (new[-1][0] if new else 0)
            return line, a[2] if a else "", b[2] if b else ""
    return 0, "", ""


def code_change(body: dict | None, code, invalidated: bool) -> tuple[str, str, dict]:
    """``(kind, message, data)`` of a task whose parameters have builds, none of today's
    version: what changed since the newest (``body``: its marker), or "invalidated"."""
    if not body:
        return "code-changed", "code changed (or its build was invalidated)", {"changes": []}
    changes = code_changes(body.get("code_parts", {}), code.parts)
    libraries = library_changes(body.get("libraries", {}), code.libraries)
    if not changes and not libraries:
        if invalidated:
            return "invalidated", INVALIDATED, {}
        return "code-changed", "code changed (a change the stored build cannot show)", {"changes": []}
    read = [c for c in changes if c["part"].startswith(FILE_PART)]
    code = [c for c in libraries + changes if c not in read]
    message = "; ".join((["code changed: " + "; ".join(c["message"] for c in code)] if code else [])
                        + [c["message"] for c in read])
    return "code-changed", message, {"changes": changes, "libraries": libraries}


def inputs_change(body: dict | None, deps: list) -> tuple[str, str, dict]:
    """``(kind, message, data)`` of a build of today's version made from other upstream results.

    ``deps`` holds ``(key, task repr, result now, kind, file_message)`` per upstream task, kind
    ``file`` (a raw input: ``file_message(old file info)`` says how it changed), ``external``
    or ``task``.  The marker names its upstream builds by key (in ``requires()`` order, which
    pairs them when a key changed); the upstream named is the first whose result differs.
    """
    recorded = (body or {}).get("deps", [])
    by_key = {d.get("key"): d for d in recorded}
    for i, (key, task, result, kind, file_message) in enumerate(deps):
        before = by_key.get(key) or (recorded[i] if len(recorded) == len(deps) else None)
        if before is None or before.get("result") == result:
            continue
        if kind == "file":
            return "input-file-changed", file_message(before.get("file")), {"task": task, "rebuilt": True}
        if kind == "external":
            return "external-changed", f"external data changed: {task}", {"task": task, "rebuilt": True}
        return "upstream", f"upstream changed: {task} was rebuilt with a different result", \
            {"causes": [task], "rebuilt": True}
    names = ", ".join(d[1] for d in deps) or "none"
    return "upstream", f"upstream changed: the build of today's version was made from other results " \
        f"of {names}", {"causes": [d[1] for d in deps], "rebuilt": True}
