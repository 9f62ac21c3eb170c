"""Files a task's ``run()`` reads, as it runs: recorded with the build, checked at each plan.

Imports ``filestate``.  The code fingerprint counts a file read by a constant
path (``daskflow.fingerprint.reads``); a path computed at run time
(``os.path.join(HERE, name)``, an f-string, a class attribute, a default
argument, ``importlib.resources``) is seen here instead: while ``run()``
executes, an audit hook (:func:`sys.addaudithook`, installed once per process
and idle between runs) notes each file the running thread opens for reading
(with its stat then), each folder it lists (a glob, a dataset folder), each
SQLite database it connects to and each file it writes or renames onto.
:func:`identities` turns them, after the run, into what the build records
beside its outputs (``_reads.json``; :mod:`daskflow.filestate` says what a file's
identity is and checks the record at each plan).  A file that changed between
``run()`` opening it and the end of the run is recorded as it was opened, so
the next plan finds it changed; a hook that fails records that it failed, and
such a build is never fresh.

Who opens decides, by the nearest caller that is not a library's
(:func:`_origin`): the user's code counts, the import machinery and daskflow's
own reads do not.  Not recorded either: the builds and journals under a storage
root (outputs are inputs already; a user's data beside them counts), files under
the interpreter's prefix, site-packages, the system's folders (``/usr/lib``,
``/usr/share``, ``/etc``, ``/proc``...; not ``/usr/src``, where containers keep
projects), the user's cache and config folders and the home folder's dot-files
(``~/.aws/credentials``), compiled files, files the task also writes, a folder
opened to walk it, and a SQLite database the run changed.  The threads a run
starts or hands work to record into its recorder (:mod:`daskflow.threadreads`,
through :func:`joined`), while the run lasts.  Subprocesses and C code that reads
without Python's ``open`` (HDF5, a C extension's own reads) are not seen, but for
pyarrow's readers, which say what they read (:mod:`daskflow.nativereads`, through
:func:`note_read`).
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import os
import re
import stat
import sys
import sysconfig
import threading

from .filestate import BROKEN, file_identity, identity, project_base, stamp

__all__ = ["Recorder", "recording", "identities", "code_id", "current", "note_read"]

_EVENTS = frozenset({"open", "os.listdir", "os.scandir", "sqlite3.connect", "os.rename"})  # os.replace too
_SKIP_SUFFIXES = (".pyc", ".pyo", ".so", ".pyd")  # compiled: a source file run by runpy counts
_OWN = os.path.dirname(os.path.abspath(__file__)) + os.sep
_HANDOFF = _OWN + "threadreads.py"
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_tls = threading.local()
_active = 0  # runs being recorded in this process: the hook returns at once when 0
_lock = threading.Lock()
_installed = False


class Recorder:
    """What one run() opened: paths read (with their stat when opened), folders listed,
    databases connected, paths written, and a hook failure (``broken``) if there was one."""

    __slots__ = ("read", "listed", "written", "dbs", "broken", "memoized", "closed", "roots")

    def __init__(self, memoized: frozenset = frozenset(), roots: tuple = ()):
        self.read: dict = {}  # path -> its identity when first opened, () if missing (a database: its stamp)
        self.listed: dict = {}
        self.written: set = set()
        self.dbs: set = set()  # the read paths that are SQLite databases (written too, maybe)
        self.broken: str = ""
        self.memoized = memoized  # code_id()s of the memoized functions of the user's its code reaches
        self.closed = False  # its run() returned: a thread it started notes nothing more
        self.roots = roots  # local storage roots (see _root_prefixes): their builds are not hashed


def _hook(event: str, args: tuple) -> None:
    if not _active or event not in _EVENTS:
        return
    rec = _tls.__dict__.get("rec")
    if rec is None or rec.closed:
        return
    try:
        _note(rec, event, args)
    except Exception as exc:  # never into the user's open(): the build records it cannot be trusted
        rec.broken = rec.broken or f"{event}{args!r:.120}: {type(exc).__name__}: {exc}"


def _note(rec: Recorder, event: str, args: tuple) -> None:
    path = args[0] if args else None
    if isinstance(path, int):  # a file descriptor: what it is was seen when it was opened
        return
    if event == "os.rename":  # os.replace(tmp, target): the target is written by the run
        if len(args) > 1 and _origin(sys._getframe(2)) == "user":
            rec.written.add(os.path.abspath(os.fsdecode(os.fspath(args[1]))))
        return
    if path is None:
        if event not in ("os.listdir", "os.scandir"):
            return
        path = "."  # os.listdir(): the current folder
    path = os.fsdecode(os.fspath(path))
    if event.startswith("sqlite3"):
        if path.startswith("file:"):  # a URI: file:data.db?mode=ro
            path, _, query = path[5:].partition("?")
            if "mode=memory" in query:
                return
        if not path or path == ":memory:":
            return
        path = os.path.abspath(path)
        rec.dbs.add(path)
        rec.read.setdefault(path, stamp(path))  # its state now, to tell a database it wrote
        return
    if _origin(sys._getframe(2), event != "open") != "user":  # daskflow's own reads, the import machinery's
        return
    path = os.path.abspath(path)  # now: run() may chdir before the commit
    if event == "open":
        flags = args[2] if len(args) > 2 and isinstance(args[2], int) else 0
        mode = args[1] if len(args) > 1 and isinstance(args[1], str) else ""
        if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND) or set(mode) & set("wax+"):
            rec.written.add(path)
            return
        if not (rec.roots and _stored(path, rec.roots)):  # a build read in a thread run() uses:
            _opened(rec, path, flags)  # not an input, and not hashed to be dropped after
    else:
        rec.listed.setdefault(path, None)
    if _WATCHED:
        _under_memoized(rec, path, sys._getframe(2))


def code_id(code, module: str | None) -> tuple:
    """A function's identity, the same in every process and checkout: its module and name."""
    return module, getattr(code, "co_qualname", code.co_name)


# A memoized function of the user's (functools.lru_cache, cache) opens its files once per
# process: a task whose run() then gets the value from the cache opens nothing.  What each
# opened (the file as opened, the folder as listed) counts for every task whose code reaches
# it; a file that one taking arguments (a cache per argument) saw at two versions in the
# process makes those tasks' builds unfresh, as their values may come from either.
_WATCHED: set = set()  # code_id()s of the memoized functions some task of the process reaches
_BY_MEMOIZED: dict = {}  # code_id() -> {(path, listed): [identities seen]}


def _under_memoized(rec: Recorder, path: str, frame) -> None:
    """Keep what ``rec`` noted of ``path`` for each watched function on the stack."""
    listed = path not in rec.read
    if listed and path not in rec.listed:
        return
    keys = []
    while frame is not None and not frame.f_code.co_filename.startswith(_OWN):  # up to run()'s caller
        key = code_id(frame.f_code, frame.f_globals.get("__name__"))
        if key in _WATCHED:
            keys.append((key, _takes_arguments(frame.f_code)))
        frame = frame.f_back
    if not keys:
        return
    seen = identity(path, True) if listed else rec.read[path]  # a folder: as it is listed now
    with _lock:
        for key, by_argument in keys:
            versions = _BY_MEMOIZED.setdefault(key, {}).setdefault((path, listed), [])
            if not by_argument:  # one value: opened again, its cache was cleared, this is what it holds
                versions[:] = [seen]
            elif seen not in versions:
                versions.append(seen)


def _takes_arguments(code) -> bool:
    return bool(code.co_argcount or code.co_kwonlyargcount
                or code.co_flags & (inspect.CO_VARARGS | inspect.CO_VARKEYWORDS))


def _memoized_reads(rec: Recorder) -> None:
    """What the memoized functions ``rec``'s code reaches opened in any run of the process."""
    with _lock:
        found = [(key, where, list(versions)) for key in rec.memoized
                 for where, versions in _BY_MEMOIZED.get(key, {}).items()]
    for key, (path, listed), versions in found:
        if len(versions) > 1:
            rec.broken = rec.broken or (f"memoized {key[0]}.{key[1]} (cached by argument) read {path} at "
                                        f"{len(versions)} versions in this process: a task may have an older "
                                        f"value from its cache; start a new process")
        elif listed:
            rec.listed.setdefault(path, versions[0])  # the folder as the loader listed it
        else:
            rec.read.setdefault(path, versions[0])


def _opened(rec: Recorder, path: str, flags: int = 0) -> None:
    """``path`` (absolute) opened for reading: its identity as it is now, once per run."""
    if path in rec.read:
        return  # as it was when first opened
    try:
        st = os.stat(path)
    except OSError:
        rec.read[path] = ()
        return
    if flags & _DIRECTORY or not stat.S_ISREG(st.st_mode):  # a folder opened to walk it (shutil.rmtree,
        return  # os.fwalk: its listing counts), a FIFO, a device: not data of a file
    rec.read[path] = file_identity(path, st)  # what run() reads: the bytes as it opens them


_KINDS: dict = {}  # code file -> "own" (daskflow), "import" (importlib), "lib" (stdlib, site-packages), "user"
# what looks for installed distributions on sys.path (a library's importlib.metadata.version(),
# entry points) lists the script's folder and opens the distributions' metadata (an editable
# install's .egg-info in the project): the import machinery's, not data; pkg_resources' listings
# are too, but what it opens for its caller (resource_string) is the caller's
_METADATA = tuple(os.sep + p + os.sep for p in (os.path.join("importlib", "metadata"), "importlib_metadata"))
_FINDERS = (os.sep + "pkg_resources" + os.sep,)


def _origin(frame, listing: bool = False) -> str:
    """Who opens (or, ``listing``, lists): ``"own"`` when the nearest caller that is not a
    library's is daskflow (``tomllib`` reading the project's settings for it), ``"import"``
    for the import machinery (a module's source, a folder on sys.path, a listing made to
    find installed distributions), else ``"user"`` (``pd.read_csv`` in run()).  A loader's
    ``get_data`` called from outside the import machinery (``pkgutil.get_data``) reads a
    package's data for its caller, not a module, as ``pkg_resources.resource_string`` does."""
    while frame is not None:
        kind = _kind(frame)
        if kind == "import" and frame.f_code.co_name == "get_data" and _kind(frame.f_back) != "import":
            kind = "lib"
        elif kind == "finder":
            kind = "import" if listing else "lib"
        if kind != "lib":
            return kind
        frame = frame.f_back
    return "user"


def _kind(frame) -> str:
    if frame is None:
        return "user"
    name = frame.f_code.co_filename
    kind = _KINDS.get(name)
    if kind is None:
        kind = _KINDS[name] = (
            "lib" if name == _HANDOFF  # work a run handed to a thread: whose it is lies below
            else "import" if any(part in name for part in _METADATA)  # installed distributions' metadata
            else "finder" if any(part in name for part in _FINDERS)  # pkg_resources: finds and reads data
            else "own" if name.startswith(_OWN) else "import" if name.startswith("<frozen importlib")
            else "lib" if name.startswith("<frozen") else "user" if name.startswith("<")  # <stdin>, exec()
            else "lib" if (name.rpartition(os.sep)[0] + os.sep).startswith(_excluded_prefixes()) else "user")
    return kind


def current() -> Recorder | None:
    """The recorder of the run() this thread is in, if any."""
    return _tls.__dict__.get("rec") if _active else None


def note_read(rec: Recorder, path: str, caller) -> None:
    """A file or folder that C code reads for ``caller``'s frame (see
    :mod:`daskflow.nativereads`): noted as an open or a listing, if the caller is the user's."""
    if _origin(caller, os.path.isdir(path)) != "user":  # pandas calling pyarrow: noted by pandas' reader
        return
    if os.path.isdir(path):  # a dataset: every folder of it listed (its files by their identity)
        for folder, _, _ in os.walk(path):
            rec.listed.setdefault(folder, None)
            if _WATCHED:
                _under_memoized(rec, folder, caller)
    elif not (rec.roots and _stored(path, rec.roots)):
        _opened(rec, path)
        if _WATCHED:
            _under_memoized(rec, path, caller)


class recording:
    """``with recording() as rec:`` notes what this thread opens until the block ends."""

    def __init__(self, memoized: frozenset = frozenset(), roots=()):
        self.memoized = memoized  # see Recorder.memoized
        self.roots = _root_prefixes(roots)

    def __enter__(self) -> Recorder:
        global _active, _installed
        with _lock:
            if self.memoized:
                _WATCHED.update(self.memoized)
            if not _installed:
                sys.addaudithook(_hook)
                _installed = True
            _active += 1
        self.outer = _tls.__dict__.get("rec")
        rec = _tls.rec = Recorder(self.memoized, self.roots)
        return rec

    def __exit__(self, *exc) -> None:
        global _active
        rec = _tls.rec
        try:
            _memoized_reads(rec)  # what they opened in an earlier run() of the process
        finally:
            rec.closed = True
            _tls.rec = self.outer
            with _lock:
                _active -= 1


@contextlib.contextmanager
def joined(rec: Recorder):
    """Within the block, this thread notes what it opens into ``rec``, the recorder of the
    run() that asked for the work (see :mod:`daskflow.threadreads`)."""
    outer = _tls.__dict__.get("rec")
    _tls.rec = rec
    try:
        yield
    finally:
        _tls.rec = outer


# the system's own files; not all of /usr: a project may live in /usr/src/app (Docker images)
_SYSTEM = ("/usr/lib", "/usr/lib64", "/usr/libexec", "/usr/share", "/usr/include", "/usr/bin", "/usr/sbin",
           "/usr/local/lib", "/usr/local/share", "/usr/local/include", "/usr/local/bin",
           "/etc", "/proc", "/sys", "/dev", "/run")


@functools.lru_cache(maxsize=1)
def _excluded_prefixes() -> tuple:
    import site

    home = os.path.expanduser("~")
    installs = {sys.prefix, sys.base_prefix, sys.exec_prefix} - {"/usr", "/usr/local"}  # a distro's python: by
    # its folders (_SYSTEM, sysconfig's), not all of /usr, where a container keeps its project (/usr/src/app)
    paths = [sysconfig.get_paths(vars={"base": b, "platbase": b}).get(k) for b in {sys.prefix, sys.base_prefix}
             for k in ("stdlib", "platstdlib", "purelib", "platlib", "include", "scripts")]
    prefixes = {*installs, *paths, *_SYSTEM, *site.getsitepackages(), site.getusersitepackages(), _OWN,
                os.environ.get("XDG_CACHE_HOME") or os.path.join(home, ".cache"),
                os.environ.get("XDG_CONFIG_HOME") or os.path.join(home, ".config")}
    # and the dot-files and dot-folders of the home folder (~/.aws/credentials, ~/.netrc):
    # settings and credentials that rotate, not data
    return tuple(p.rstrip(os.sep) + os.sep for p in prefixes if p) + (os.path.join(home, "."),)


def _root_prefixes(roots) -> tuple:
    return tuple(os.path.realpath(r).rstrip(os.sep) + os.sep for r in roots if r)


def _stored(full: str, roots: tuple, listing: bool = False) -> bool:
    """Whether ``full`` is a file daskflow keeps under a root: a build's file
    ``{Family}/{params}@{build}...`` or a family folder's own ``_explain.*``, ``_lease.*``...
    (a user's data beside them, ``raw/v1@2024.csv`` or ``_raw/x.csv``, counts)."""
    for root in roots:
        if full + os.sep == root:
            return True
        if full.startswith(root):
            parts = full[len(root):].split(os.sep)
            if len(parts) == 1 and listing and _family_folder(full):  # (made again by a commit);
                return True  # a data folder beside them (the default root is data/: data/raw) counts
            if len(parts) >= 2 and (_BUILD.match(parts[1]) or (len(parts) == 2 and parts[1].startswith("_"))):
                return True
    return False


_BUILD = re.compile(r"[^@]*@(?:[0-9]{8}T[0-9]|_lease\.)")  # {params}@{build id}, a lease


def _family_folder(full: str) -> bool:
    """Whether a folder right under a root is daskflow's: it holds builds, leases or journals
    (or is gone: a run() removed its own family folder, which a commit makes again)."""
    try:
        names = os.listdir(full)
    except FileNotFoundError:
        return True
    except OSError:  # a file, or unreadable: not a family folder
        return False
    return any(_BUILD.match(n) or n.startswith("_explain.") for n in names)


def _shown(full: str, base: str) -> str:
    """An absolute path relative to the project folder ``base`` when inside it (the same from
    a notebook in a subfolder, or on a teammate's checkout), else as it is."""
    if full.startswith(base.rstrip(os.sep) + os.sep):
        return os.path.relpath(full, base)
    return full


def identities(rec: Recorder, roots=(), base: str | None = None) -> dict:
    """``{path: identity}`` of the files and folders ``rec`` saw, as they are now (after the
    run); empty when it read nothing that counts.  ``roots``: local storage roots.  A file
    that ``run()`` tried to open and that is missing counts as missing: creating it reruns.
    ``base``: the project folder paths are kept relative to (default: this process's)."""
    if not rec.read and not rec.listed and not rec.broken:
        return {}
    skip = _excluded_prefixes()
    roots = _root_prefixes(roots)
    base = project_base() if base is None else base
    out = {BROKEN: {"broken": rec.broken}} if rec.broken else {}
    # copied whole first (one C call each): a thread the run started may still add to them
    for path, listing in [(p, False) for p in list(rec.read)] + [(p, True) for p in list(rec.listed)]:
        full = os.path.realpath(path)  # a symlinked project: the folder project_dir() resolves
        if path in rec.written or full in rec.written or (full + os.sep).startswith(skip) \
                or full.endswith(_SKIP_SUFFIXES) or _stored(full, roots, listing):
            continue
        opened = rec.listed[path] if listing else rec.read[path]
        if path in rec.dbs:
            if opened != stamp(full):
                continue  # a database changed while run() had it open: written by it, not an input
            ident = identity(full)
        elif isinstance(opened, dict):  # a file as run() opened it: changed since (another process,
            ident = opened  # a touch), the next plan compares the bytes it read with those there
        elif opened == ():  # not found when run() tried: creating it reruns
            ident = {"missing": True}
        elif listing and opened is not None:  # listed by a memoized loader: as it listed it
            ident = opened
        else:
            ident = identity(full, listing)
        if ident is not None:
            out.setdefault(_shown(full, base), ident)
    return dict(sorted(out.items()))


