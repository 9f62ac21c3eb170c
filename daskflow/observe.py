"""Files a task's ``run()`` reads, as it runs: recorded with the build, checked at each plan.

Imports only ``config``.  The code fingerprint counts a file read by
a constant path (``daskflow.fingerprint.reads``); a path computed at run time
(``os.path.join(HERE, name)``, an f-string, a class attribute, a default
argument, ``importlib.resources``) is seen here instead: while ``run()``
executes, an audit hook (:func:`sys.addaudithook`, installed once per process
and idle between runs) notes each file the running thread opens for reading,
each folder it lists (a glob, a dataset folder) and each SQLite database it
connects to.  :func:`identities` turns them, after the run, into what the build
records beside its outputs (``_reads.json``): a file by its size, mtime and
sha256 (size and mtime only above 64 MiB), a folder by its entries' names and
sizes.  :func:`changed` compares a record with the files as they are now: a
stat per file, and a hash only where the stat differs (another machine, a
``touch``), so a team shares builds by content.

Not recorded: the builds and journals under a storage root (outputs are inputs
already; a user's data beside them counts), files under the
interpreter's prefix, site-packages, ``/usr``, ``/etc``, ``/proc``, ``/sys``,
``/dev``, the user's cache and config folders and the home folder's dot-files
(``~/.aws/credentials``), source and extension files
(code counts by its fingerprint), files the task also writes, folders on
``sys.path`` (imports list them), and what daskflow itself opens.  Threads a
run starts and C code that reads without Python's ``open`` (pyarrow's own
file system, HDF5) are not seen.
"""

from __future__ import annotations

import functools
import hashlib
import os
import stat
import sys
import threading

from .config import project_dir

__all__ = ["recording", "identities", "changed", "content_digest", "build_changed", "record_changed", "READS_NAME"]

READS_NAME = "_reads.json"
_EVENTS = frozenset({"open", "os.listdir", "os.scandir", "sqlite3.connect"})
_SKIP_SUFFIXES = (".py", ".pyc", ".pyo", ".so", ".pyd", ".pth", ".pyi")
_HASHED = 64 << 20
_OWN = os.path.dirname(os.path.abspath(__file__)) + os.sep
_tls = threading.local()
_active = 0  # runs being recorded in this process: the hook returns at once when 0
_lock = threading.Lock()
_installed = False


class Recorder:
    """What one run() opened: paths read, folders listed, paths written."""

    __slots__ = ("read", "listed", "written")

    def __init__(self):
        self.read: dict = {}
        self.listed: dict = {}
        self.written: set = set()


def _hook(event: str, args: tuple) -> None:
    if not _active or event not in _EVENTS:
        return
    rec = _tls.__dict__.get("rec")
    if rec is None:
        return
    path = args[0] if args else None
    if path is None or isinstance(path, int):
        return
    try:
        path = os.fsdecode(os.fspath(path))
    except TypeError:
        return
    if event == "open":
        if _by_daskflow(sys._getframe(1)):  # daskflow's own files (inputs, config) count elsewhere
            return
        flags = args[2] if len(args) > 2 and isinstance(args[2], int) else 0
        mode = args[1] if len(args) > 1 and isinstance(args[1], str) else ""
        if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND) or set(mode) & set("wax+"):
            rec.written.add(os.path.abspath(path))
        else:
            rec.read.setdefault(path, None)
    elif event.startswith("sqlite3"):
        if path and path != ":memory:" and not path.startswith("file:"):
            rec.read.setdefault(path, None)
    else:
        rec.listed.setdefault(path or ".", None)


_KINDS: dict = {}  # code file -> "own" (daskflow), "lib" (stdlib, site-packages) or "user"


def _by_daskflow(frame) -> bool:
    """Whether the nearest caller that is not a library's is daskflow (``tomllib`` reading the
    project's settings for daskflow), not the user's code (``pd.read_csv`` in run())."""
    while frame is not None:
        name = frame.f_code.co_filename
        kind = _KINDS.get(name)
        if kind is None:
            kind = _KINDS[name] = ("own" if name.startswith(_OWN) else "lib" if name.startswith("<")
                                   or (name.rpartition(os.sep)[0] + os.sep).startswith(_excluded_prefixes()) else "user")
        if kind != "lib":
            return kind == "own"
        frame = frame.f_back
    return False


class recording:
    """``with recording() as rec:`` notes what this thread opens until the block ends."""

    def __enter__(self) -> Recorder:
        global _active, _installed
        with _lock:
            if not _installed:
                sys.addaudithook(_hook)
                _installed = True
            _active += 1
        self.outer = _tls.__dict__.get("rec")
        rec = _tls.rec = Recorder()
        return rec

    def __exit__(self, *exc) -> None:
        global _active
        _tls.rec = self.outer
        with _lock:
            _active -= 1


@functools.lru_cache(maxsize=1)
def _excluded_prefixes() -> tuple:
    import site

    home = os.path.expanduser("~")
    prefixes = {sys.prefix, sys.base_prefix, sys.exec_prefix, "/usr", "/etc", "/proc", "/sys", "/dev", "/run",
                *site.getsitepackages(), site.getusersitepackages(), _OWN,
                os.environ.get("XDG_CACHE_HOME") or os.path.join(home, ".cache"),
                os.environ.get("XDG_CONFIG_HOME") or os.path.join(home, ".config")}
    # and the dot-files and dot-folders of the home folder (~/.aws/credentials, ~/.netrc):
    # settings and credentials that rotate, not data
    return tuple(p.rstrip(os.sep) + os.sep for p in prefixes if p) + (os.path.join(home, "."),)


def _stored(full: str, roots: tuple) -> bool:
    """Whether ``full`` is a file daskflow keeps under a root: its builds and journals are named
    ``{params}@{build}...`` in a family folder (a user's own data may share the root's folder)."""
    for root in roots:
        if full.startswith(root) and ("@" in full[len(root):] or "/_" in full[len(root) - 1:]):
            return True
    return False


def _shown(full: str, base: str) -> str:
    """An absolute path relative to the project folder ``base`` when inside it (the same from
    a notebook in a subfolder, or on a teammate's checkout), else as it is."""
    if full.startswith(base.rstrip(os.sep) + os.sep):
        return os.path.relpath(full, base)
    return full


def identities(rec: Recorder, roots=()) -> dict:
    """``{path: identity}`` of the files and folders ``rec`` saw, as they are now (after the
    run); empty when it read nothing that counts.  ``roots``: local storage roots."""
    if not rec.read and not rec.listed:
        return {}
    skip = _excluded_prefixes()
    roots = tuple(os.path.abspath(r).rstrip(os.sep) + os.sep for r in roots if r)
    base = str(project_dir())
    on_path = {os.path.abspath(p or ".") for p in sys.path}
    out = {}
    for path, listing in [(p, False) for p in rec.read] + [(p, True) for p in rec.listed]:
        full = os.path.abspath(path)
        if full in rec.written or (full + os.sep).startswith(skip) or full.endswith(_SKIP_SUFFIXES) \
                or _stored(full, roots):
            continue
        if listing and full in on_path:
            continue
        ident = identity(full, listing)
        if ident is not None:
            out.setdefault(_shown(full, base), ident)
    return dict(sorted(out.items()))


_CONTENT: dict = {}  # (path, size, mtime_ns) -> sha256: hashed once per process


def content_digest(path: str, st) -> str | None:
    """The sha256 of a file's bytes (``st``: its stat), read once per process per size and
    mtime; None if it cannot be read."""
    key = (os.path.abspath(path), st.st_size, st.st_mtime_ns)
    digest = _CONTENT.get(key)
    if digest is None:
        try:
            with open(path, "rb") as f:
                digest = _CONTENT[key] = hashlib.file_digest(f, "sha256").hexdigest()
        except OSError:
            return None
    return digest


def identity(path: str, listing: bool = False) -> dict | None:
    """A regular file's ``{"size", "mtime_ns", "sha256"}``, a listed folder's ``{"entries":
    {name: size}}`` (sub-folders by ``None``); None for anything else or nothing."""
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
                        entries[e.name] = None if e.is_dir() else e.stat().st_size
                    except OSError:
                        continue
        except OSError:
            return None
        return {"entries": dict(sorted(entries.items()))}
    if not stat.S_ISREG(st.st_mode):
        return None
    sha = content_digest(path, st) if st.st_size <= _HASHED else None
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": sha}


def changed(record: dict, base: str | None = None) -> str | None:
    """None if every file and folder of a build's record is as it was, else what changed
    (``data/sales.csv changed``): a stat per file, a hash only where the stat differs.
    Relative paths are in the project folder ``base`` (default: the current one's)."""
    base = str(project_dir()) if base is None else base
    for shown, was in record.items():
        path = os.path.join(base, shown)  # an absolute one stays itself
        if "entries" in was:
            now = identity(path, listing=True)
            if now is None:
                return f"folder {shown} is gone"
            if now["entries"] != was["entries"]:
                added = sorted(set(now["entries"]) - set(was["entries"]))
                removed = sorted(set(was["entries"]) - set(now["entries"]))
                what = (f"{added[0]} added" if added else f"{removed[0]} removed" if removed
                        else "a file's size changed")
                return f"folder {shown} changed ({what})"
            continue
        try:
            st = os.stat(path)
        except (OSError, ValueError):
            return f"file {shown} is gone"
        if st.st_size == was.get("size") and st.st_mtime_ns == was.get("mtime_ns"):
            continue
        if st.st_size != was.get("size") or was.get("sha256") is None or content_digest(path, st) != was["sha256"]:
            return f"file {shown} changed"
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
