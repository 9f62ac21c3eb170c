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
sha256 (size and mtime only above 64 MiB), a listed folder by its entries, each
file of it by its own identity (only sizes above 1,000 entries), a file it did
not find as missing.  :func:`changed` compares a record with the files as they
are now: a stat per file, and a hash only where the stat differs (another
machine, a ``touch``), so a team shares builds by content.

Who opens decides, by the nearest caller that is not a library's
(:func:`_origin`): the user's code counts, the import machinery and daskflow's
own reads do not.  Not recorded either: the builds and journals under a storage
root (outputs are inputs already; a user's data beside them counts), files under
the interpreter's prefix, site-packages, the system's folders (``/usr/lib``,
``/usr/share``, ``/etc``, ``/proc``...; not ``/usr/src``, where containers keep
projects), the user's cache and config folders and the home folder's dot-files
(``~/.aws/credentials``), compiled files, files the task also writes, a folder
opened to walk it, and a SQLite database the run changed.  Threads a run starts,
subprocesses and C code that reads without Python's ``open`` (pyarrow's own
file system, HDF5) are not seen.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import stat
import sys
import threading

from .config import project_dir

__all__ = ["recording", "identities", "changed", "content_digest", "build_changed", "record_changed", "READS_NAME"]

READS_NAME = "_reads.json"
_EVENTS = frozenset({"open", "os.listdir", "os.scandir", "sqlite3.connect"})
_SKIP_SUFFIXES = (".pyc", ".pyo", ".so", ".pyd")  # compiled: a source file run by runpy counts
_HASHED = 64 << 20
_OWN = os.path.dirname(os.path.abspath(__file__)) + os.sep
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_tls = threading.local()
_active = 0  # runs being recorded in this process: the hook returns at once when 0
_lock = threading.Lock()
_installed = False


class Recorder:
    """What one run() opened: paths read, folders listed, paths written."""

    __slots__ = ("read", "listed", "written")

    def __init__(self):
        self.read: dict = {}  # path -> None, or a database's (size, mtime) when connected
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
    if event.startswith("sqlite3"):
        if path.startswith("file:"):  # a URI: file:data.db?mode=ro
            path = path[5:].partition("?")[0]
        if not path or path == ":memory:" or "mode=memory" in os.fspath(args[0]):
            return
    elif _origin(sys._getframe(1)) != "user":  # daskflow's own reads, and the import machinery's
        return
    path = os.path.abspath(path or ".")  # now: run() may chdir before the commit
    if event.startswith("sqlite3"):  # a database may be written too: its state now, to compare
        rec.read.setdefault(path, _stamp(path))
        return
    if event == "open":
        flags = args[2] if len(args) > 2 and isinstance(args[2], int) else 0
        if flags & _DIRECTORY or os.path.isdir(path):  # a folder opened to walk it (shutil.rmtree,
            return  # os.fwalk): its listing counts, not the folder as a file
        mode = args[1] if len(args) > 1 and isinstance(args[1], str) else ""
        if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND) or set(mode) & set("wax+"):
            rec.written.add(path)
            return
    (rec.listed if event.startswith("os.") else rec.read).setdefault(path, None)


def _stamp(path: str) -> tuple:
    try:
        st = os.stat(path)
    except OSError:
        return ()
    return (st.st_size, st.st_mtime_ns)


_KINDS: dict = {}  # code file -> "own" (daskflow), "import" (importlib), "lib" (stdlib, site-packages), "user"


def _origin(frame) -> str:
    """Who opens: ``"own"`` when the nearest caller that is not a library's is daskflow
    (``tomllib`` reading the project's settings for it), ``"import"`` for the import machinery
    (a module's source, a folder on sys.path), else ``"user"`` (``pd.read_csv`` in run())."""
    while frame is not None:
        name = frame.f_code.co_filename
        kind = _KINDS.get(name)
        if kind is None:
            kind = _KINDS[name] = (
                "own" if name.startswith(_OWN) else "import" if name.startswith("<frozen importlib")
                else "lib" if name.startswith("<")
                or (name.rpartition(os.sep)[0] + os.sep).startswith(_excluded_prefixes()) else "user")
        if kind != "lib":
            return kind
        frame = frame.f_back
    return "user"


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


# the system's own files; not all of /usr: a project may live in /usr/src/app (Docker images)
_SYSTEM = ("/usr/lib", "/usr/lib64", "/usr/libexec", "/usr/share", "/usr/include", "/usr/bin", "/usr/sbin",
           "/usr/local/lib", "/usr/local/share", "/usr/local/include", "/usr/local/bin",
           "/etc", "/proc", "/sys", "/dev", "/run")


@functools.lru_cache(maxsize=1)
def _excluded_prefixes() -> tuple:
    import site

    home = os.path.expanduser("~")
    prefixes = {sys.prefix, sys.base_prefix, sys.exec_prefix, *_SYSTEM,
                *site.getsitepackages(), site.getusersitepackages(), _OWN,
                os.environ.get("XDG_CACHE_HOME") or os.path.join(home, ".cache"),
                os.environ.get("XDG_CONFIG_HOME") or os.path.join(home, ".config")}
    # and the dot-files and dot-folders of the home folder (~/.aws/credentials, ~/.netrc):
    # settings and credentials that rotate, not data
    return tuple(p.rstrip(os.sep) + os.sep for p in prefixes if p) + (os.path.join(home, "."),)


def _stored(full: str, roots: tuple) -> bool:
    """Whether ``full`` is a file daskflow keeps under a root: a build's file
    ``{Family}/{params}@{build}...`` or a family folder's own ``_explain.*``, ``_lease.*``...
    (a user's data beside them, ``raw/v1@2024.csv`` or ``_raw/x.csv``, counts)."""
    for root in roots:
        if full + os.sep == root:
            return True
        if full.startswith(root):
            parts = full[len(root):].split(os.sep)
            if len(parts) == 1 and os.path.isdir(full):  # a family folder (made again by a commit)
                return True
            if len(parts) >= 2 and (_BUILD.match(parts[1]) or (len(parts) == 2 and parts[1].startswith("_"))):
                return True
    return False


_BUILD = re.compile(r"[^@]*@(?:[0-9]{8}T[0-9]|_lease\.)")  # {params}@{build id}, a lease


def _shown(full: str, base: str) -> str:
    """An absolute path relative to the project folder ``base`` when inside it (the same from
    a notebook in a subfolder, or on a teammate's checkout), else as it is."""
    if full.startswith(base.rstrip(os.sep) + os.sep):
        return os.path.relpath(full, base)
    return full


def identities(rec: Recorder, roots=()) -> dict:
    """``{path: identity}`` of the files and folders ``rec`` saw, as they are now (after the
    run); empty when it read nothing that counts.  ``roots``: local storage roots.  A file
    that ``run()`` tried to open and that is missing counts as missing: creating it reruns."""
    if not rec.read and not rec.listed:
        return {}
    skip = _excluded_prefixes()
    roots = tuple(os.path.realpath(r).rstrip(os.sep) + os.sep for r in roots if r)
    base = str(project_dir())
    out = {}
    for path, listing in [(p, False) for p in rec.read] + [(p, True) for p in rec.listed]:
        full = os.path.realpath(path)  # a symlinked project: the folder project_dir() resolves
        if path in rec.written or full in rec.written or (full + os.sep).startswith(skip) \
                or full.endswith(_SKIP_SUFFIXES) or _stored(full, roots):
            continue
        if not listing and rec.read[path] is not None and _stamp(full) != rec.read[path]:
            continue  # a database that changed while run() had it open: written by it, not an input
        ident = identity(full, listing)
        if ident is None and not listing and not os.path.lexists(full):
            ident = {"missing": True}
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
        return {"entries": {n: None if st is None else st.st_size if many else _file(os.path.join(path, n), st)
                            for n, st in sorted(entries.items())}}
    if not stat.S_ISREG(st.st_mode):
        return None
    return _file(path, st)


_MANY = 1000


def _file(path: str, st) -> dict:
    sha = content_digest(path, st) if st.st_size <= _HASHED else None
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
    (``data/sales.csv changed``): a stat per file, a hash only where the stat differs.
    Relative paths are in the project folder ``base`` (default: the current one's)."""
    base = str(project_dir()) if base is None else base
    for shown, was in record.items():
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
            if isinstance(info, int) and _stamp(inner)[:1] != (info,):  # only sizes: a big folder
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
