"""What a file or folder is now, and whether a build's record of them still holds.

Imports only ``config``.  A file counts by its size, mtime and sha256 (size and
mtime only above 64 MiB), a listed folder by its entries, each file of it by its
own identity (only sizes above 1,000 entries), a file not found as missing
(:func:`identity`).  :func:`changed` compares a record (``{path: identity}``,
kept beside a build as ``_reads.json``, see :mod:`daskflow.observe`) with the
files as they are now: a stat per file, and a hash only where the stat differs
(another machine, a ``touch``), so a team shares builds by content.  Relative
paths are in the project folder: the planning process's
(:func:`project_folder`, set around a task's run on a worker), else this one's.
:func:`content_digest` hashes a file once per process per size and mtime (the
code fingerprint's constant-path reads and the storage's checks use it too).
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import os
import stat

from .config import project_dir

__all__ = ["READS_NAME", "HASHED", "BROKEN", "project_folder", "project_base", "identity", "file_identity", "stamp", "content_digest",
           "changed", "build_changed", "record_changed"]

READS_NAME = "_reads.json"
HASHED = 64 << 20  # files up to this size count by content, larger ones by size and mtime


def stamp(path: str) -> tuple:
    """``(size, mtime_ns)`` of a file now, ``()`` if there is none."""
    try:
        st = os.stat(path)
    except OSError:
        return ()
    return (st.st_size, st.st_mtime_ns)


_PROJECT: contextvars.ContextVar = contextvars.ContextVar("daskflow_project", default=None)


@contextlib.contextmanager
def project_folder(base: str):
    """Within the block, paths are kept relative to ``base``, the project folder of the process
    that planned (a worker started elsewhere records and checks them as the driver does)."""
    token = _PROJECT.set(base or None)
    try:
        yield
    finally:
        _PROJECT.reset(token)


def project_base() -> str:
    """The project folder relative paths are kept in (see :func:`project_folder`): found once
    per current folder in a process (a walk up to pyproject.toml or .git costs ~0.1 ms, and a
    plan checks a record per task)."""
    base = _PROJECT.get()
    if base is None:
        cwd = os.getcwd()
        base = _BASES.get(cwd)
        if base is None:
            base = _BASES[cwd] = str(project_dir())
    return base


_BASES: dict = {}  # current folder -> its project folder


BROKEN = "<unrecorded>"  # a record's entry when the hook failed: the build never counts as fresh


_CONTENT: dict = {}  # (path, size, mtime_ns) -> sha256: hashed once per process


def content_digest(path: str, st) -> str | None:
    """The sha256 of a file's bytes (``st``: its stat), read once per process per size and
    mtime; None if it cannot be read."""
    key = (os.path.abspath(path), st.st_size, st.st_mtime_ns)
    digest = _CONTENT.get(key)
    if digest is None:
        try:
            with open(path, "rb") as f:
                h = hashlib.sha256()
                for block in iter(lambda: f.read(1 << 20), b""):  # hashlib.file_digest is 3.11's
                    h.update(block)
                digest = _CONTENT[key] = h.hexdigest()
        except OSError:
            return None
    return digest


def identity(path: str, listing: bool = False) -> dict | None:
    """A regular file's ``{"size", "mtime_ns", "sha256"}`` (no sha256 above 64 MiB), a listed
    folder's ``{"entries": {name: ...}}``: each file's own identity (a glob of parts that
    dask then reads in its threads), a sub-folder ``None``, only sizes in a folder of more than
    1,000 entries; None for anything else or nothing."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    if stat.S_ISDIR(st.st_mode):
        if not listing:
            return None
        entries = {}
        try:
            with os.scandir(path) as it:
                for e in it:
                    try:
                        entries[e.name] = None if e.is_dir() else e.stat()
                    except OSError:
                        continue
        except OSError:
            return None
        many = len(entries) > _MANY
        return {"entries": {n: None if st is None else st.st_size if many else file_identity(os.path.join(path, n), st)
                            for n, st in sorted(entries.items())}}
    if not stat.S_ISREG(st.st_mode):
        return None
    return file_identity(path, st)


_MANY = 1000


def file_identity(path: str, st) -> dict:
    """A regular file's identity from its stat ``st``: size, mtime and (up to 64 MiB) sha256."""
    sha = content_digest(path, st) if st.st_size <= HASHED else None
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": sha}


def _file_changed(path: str, was: dict) -> str | None:
    """``"is gone"``, ``"changed"`` or None for a file and its recorded identity."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return "is gone"
    if st.st_size == was.get("size") and st.st_mtime_ns == was.get("mtime_ns"):
        return None
    if st.st_size != was.get("size") or was.get("sha256") is None or content_digest(path, st) != was["sha256"]:
        return "changed"
    return None


def changed(record: dict, base: str | None = None) -> str | None:
    """None if every file and folder of a build's record is as it was, else what changed
    (``data/sales.csv changed``): a stat per file, a hash only where the stat differs; an
    entry ``BROKEN`` (recording failed) is always a change.  Relative paths are in the
    project folder ``base`` (default: :func:`project_base`)."""
    base = project_base() if base is None else base
    for shown, was in record.items():
        if "broken" in was:
            return f"a file it read could not be recorded ({was['broken']})"
        path = os.path.join(base, shown)  # an absolute one stays itself
        if was.get("missing"):
            if os.path.lexists(path):
                return f"file {shown} appeared"
            continue
        if "entries" not in was:
            if (what := _file_changed(path, was)) is not None:
                return f"file {shown} {what}"
            continue
        now = _names(path)
        if now is None:
            return f"folder {shown} is gone"
        entries = was["entries"]
        if now != set(entries):
            added, removed = sorted(now - set(entries)), sorted(set(entries) - now)
            return f"folder {shown} changed ({f'{added[0]} added' if added else f'{removed[0]} removed'})"
        for name, info in entries.items():
            inner = os.path.join(path, name)
            if isinstance(info, dict) and _file_changed(inner, info) is not None:
                return f"folder {shown} changed ({name} changed)"
            if isinstance(info, int) and stamp(inner)[:1] != (info,):  # only sizes: a big folder
                return f"folder {shown} changed ({name} changed)"
    return None


def _names(path: str) -> set | None:
    try:
        return set(os.listdir(path))
    except OSError:
        return None


_RECORDS: dict = {}  # a build's record by its path: a build is never rewritten


def build_changed(store, commit) -> str | None:
    """What changed of the files ``commit``'s run() read (see :func:`changed`); None if it
    recorded none, or all are as they were."""
    if READS_NAME not in commit.files:
        return None
    return record_changed(store, commit.file(READS_NAME))


def record_changed(store, path: str) -> str | None:
    record = _RECORDS.get(path)
    if record is None:
        try:
            record = _RECORDS[path] = store.read_json(path)
        except (FileNotFoundError, ValueError):
            return f"the record of the files it read ({path}) is unreadable"
    return changed(record)
