"""Reading listings: committed builds and leases from key names, sizes and ETags or mtimes.

Imports only the standard library.  A listing of a task family folder is
grouped here into :class:`Commit` objects.  Two layouts are read:

* today's, every file of a build directly in the family folder, named by build
  (``{params}@{build}.{file}``, e.g. ``n=3__ab12@20261202T0730180001-9f3c2a1b.data.pkl``);
  a folder output is ``{params}@{build}.{output}.{ext}/...``;
* the layout of daskflow before 0.4, one folder per build
  (``{params}@{build}/{file}``), whose build names hold a dot
  (``20260101T000000.000000-dead``).  Those roots load and count as fresh as
  they are: nothing to migrate.

A build id of today's layout never holds a dot, so the first dot after ``@``
ends it; :func:`build_file` names a file of either kind of build.  A build
counts only when its marker ``_commit.{V}.{I}.{R}.{S}.{T}.json`` is listed, and
the marker's *name* holds what freshness needs, so nothing is read but the
listing; ``T``, the commit time (microseconds since the epoch, this machine's
clock), spares a local scan the marker's stat: an output is stat()ed for its
size and mtime, and only an output newer than ``T`` makes the scan stat the
marker to decide "modified".  Lease files (``{params}@_lease.{V}.{I}.{G}.json``, see
``daskflow.lease``) are returned by :func:`parse_leases`.  ``daskflow.storage``
does the listing itself.

A build of one file output (no folder output), committed on local disk, has no
marker file: its build id holds the marker's fields,
``{stamp}-{writer}_{V}_{I}_{R}_{S}_{T}`` (:data:`INLINE_ID`), and the output
appears under that name whole, so the output is its own marker
(:attr:`Commit.inline`); the body that explains it is one line of the writer's
journal ``_explain.{writer}.jsonl`` in the family folder.  Its ``T`` is the
output's own modification time at commit, so an output newer than ``T`` was
changed after the commit (there is no marker to stat).
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import os
import re
from dataclasses import dataclass, field

__all__ = ["Commit", "INLINE_ID", "INLINE_LEN", "JOURNAL_PREFIX", "META_NAME", "inline_fields", "BUILD_SEP", "MARKER_PREFIX", "LEASE_PREFIX", "sizes_token", "PARTS_PREFIX",
           "parts_digest", "parse_listing", "group_entries", "parse_leases", "split_entry", "build_file", "scan_local",
           "info_mtime", "info_stamp"]

MARKER_PREFIX = "_commit."
LEASE_PREFIX = "_lease."
BUILD_SEP = "@"  # a build is {params}@{build}: parameters never contain "@"
JOURNAL_PREFIX = "_explain."
META_NAME = "_meta.json"
INLINE_ID = re.compile(r"[0-9]{8}T[0-9]{12}-([0-9a-f]{8})_([0-9a-f]{16})_([0-9a-f]{16})_([0-9a-f]{16})"
                       r"_([0-9a-f]{16})_([0-9]{16})")  # writer, V, I, R, S, T (commit time in us)
INLINE_LEN = 115  # the length of an INLINE_ID build id; a plain one is 30 characters
_LEASE = re.compile(r"_lease\.([0-9a-f]{16})\.([0-9a-f]{16})\.([0-9]{6})\.json")


def inline_fields(build: str):
    """``(writer, V, I, R, S, T)`` of an inline-committed build id, or None for another id."""
    if len(build) != INLINE_LEN:
        return None
    match = INLINE_ID.fullmatch(build)
    return match.groups() if match else None


def build_file(build: str, name: str) -> str:
    """The path of file ``name`` (``data.pkl``, ``_meta.json``, a marker) of build ``build``
    (``{family folder}/{params}@{id}``): beside it, or inside it for a folder build of the
    old layout (an id with a dot)."""
    return f"{build}{'/' if '.' in build.rpartition(BUILD_SEP)[2] else '.'}{name}"


def split_entry(rel: str):
    """``(param_dir, build id, name inside the build)`` of a path relative to the family
    folder, in either layout; None for what is not part of a build (temp files, leases)."""
    top, slash, inner = rel.partition("/")
    param_dir, sep, rest = top.partition(BUILD_SEP)
    if not sep or top.startswith(".") or rest.startswith(LEASE_PREFIX):
        return None
    build, dot, name = rest.partition(".")
    if slash and "." not in name:  # an old folder build: {params}@{stamp.micro-rand}/{file}
        return param_dir, rest, inner
    if not dot or not build:
        return None
    return param_dir, build, f"{name}/{inner}" if slash else name
_MARKER = re.compile(r"_commit\.([0-9a-f]{16})\.([0-9a-f]{16})\.([0-9a-f]{16})\.([0-9a-f]{16})"
                     r"(?:\.([0-9]{16}))?\.json")  # V.I.R.S and, since 0.4, T: commit time in us


@dataclass(slots=True)
class Commit:
    """One committed build of a task, as read from a listing (slotted: a plan makes one per
    build it lists)."""

    param_dir: str
    build: str
    version: str
    inputs: str
    result: str
    marker: str
    mtime: float
    files: dict = field(default_factory=dict)  # name inside the build -> (size, stamp, mtime);
    # stamp: the ETag, or None where the mtime is the stamp (local disk)
    sizes: str = ""  # parts_digest of the file outputs' sizes at commit (see sizes_token)
    named_time: bool = False  # mtime read from the marker's name, not stat()ed (local scans)
    inline: bool = False  # no marker file: ``marker`` is the output whose name commits the build
    intact_for: tuple | None = field(default=None, repr=False, compare=False)  # see intact()

    @property
    def path(self) -> str:
        """The build: ``{family folder}/{params}@{build}`` (see :func:`build_file`)."""
        if self.inline:
            return self.marker[:self.marker.rindex(BUILD_SEP) + 1 + len(self.build)]
        return self.marker[:self.marker.rindex(MARKER_PREFIX) - 1]

    @property
    def journal(self) -> str | None:
        """The journal file holding the body of an inline commit (None for a marker file)."""
        if not self.inline:
            return None
        return f"{self.marker[:self.marker.rindex('/')]}/{JOURNAL_PREFIX}{self.build[22:30]}.jsonl"

    def file(self, name: str) -> str:
        """The path of file ``name`` of this build (``data.pkl``, ``_meta.json``)."""
        return build_file(self.path, name)

    def intact(self, names) -> str | None:
        """None if every output in ``names`` is present and unchanged since the commit,
        else the name of the first one missing or modified (with a word saying which).
        A commit remembers the tuple of names it was last found intact for: its files'
        sizes and times never change (a new size or time makes a new commit, see
        :mod:`daskflow.localscan`), and what intact() learns of its commit time (a marker's
        stat, an output's bytes matching its sha256) only ever makes it intact."""
        if self.intact_for is names:
            return None
        for name in names:
            info = self.files.get(name) or self._dir_info(name)
            if info is None:
                return f"{name} missing"
            if info[2] > self.mtime + 1e-6 and self.named_time and not self.inline:  # the clock
                self.named_time = False  # in a marker's name is this machine's: ask the disk
                try:
                    self.mtime = os.stat(self.marker).st_mtime
                except FileNotFoundError:
                    return "its commit marker vanished"
            if info[2] > self.mtime + 1e-6:
                return f"{name} modified"
        if self.sizes:
            files = self.files
            if len(names) == 1 and names[0] in files:  # sizes_token of one file, framed here
                token = _one_size(names[0], files[names[0]][0])
            else:
                token = sizes_token({n: files[n][0] for n in names if n in files})
            if token != self.sizes:
                return "an output's size changed"  # replaced keeping an older mtime (cp -p, rsync -a)
        if type(names) is tuple:
            self.intact_for = names
        return None

    def _dir_info(self, name):
        """An output that is a folder: its files as one; "modified" when a ``_parts.<digest>``
        manifest (see :func:`parts_digest`) no longer matches the files beside it."""
        prefix = name + "/"
        parts = {k[len(prefix):]: v for k, v in self.files.items() if k.startswith(prefix)}
        if not parts:
            return None
        info = (sum(p[0] or 0 for p in parts.values()), "", max(p[2] for p in parts.values()))
        manifest = [k for k in parts if k.startswith(PARTS_PREFIX)]
        if manifest and manifest[0][len(PARTS_PREFIX):] != parts_digest(
                {k: v[0] for k, v in parts.items() if k not in manifest}):
            return (info[0], info[1], float("inf"))
        return info

    def identity(self) -> str:
        """Identity of the files as they are now: names, sizes and ETags or mtimes."""
        h = hashlib.sha256()
        for name in sorted(self.files):
            size, stamp, mtime = self.files[name]
            h.update(f"{name}\0{size}\0{repr(mtime) if stamp is None else stamp}\n".encode())
        return h.hexdigest()[:16]


@functools.lru_cache(maxsize=1 << 16)
def _one_size(name: str, size: int) -> str:
    """The sizes token of one file (``sizes_token({name: size})``)."""
    return hashlib.sha256(f"{name}\0{size}\n".encode()).hexdigest()[:16]


PARTS_PREFIX = "_parts."


def parts_digest(sizes: dict) -> str:
    """Digest of a folder output's file set: relative names and sizes (``{name: size}``).

    A folder format writes it as an empty ``_parts.<digest>`` file after its
    files, so a listing shows when a partition was removed, added or resized.
    """
    h = hashlib.sha256()
    for name in sorted(sizes):
        h.update(f"{name}\0{sizes[name]}\n".encode())
    return h.hexdigest()[:16]


def sizes_token(sizes: dict) -> str:
    """What a marker's name records of its file outputs: a digest of their names and sizes."""
    return parts_digest(sizes)


def info_mtime(info: dict) -> float:
    for key in ("mtime", "LastModified", "last_modified", "created"):
        value = info.get(key)
        if value is None:
            continue
        if isinstance(value, datetime.datetime):
            return value.timestamp()
        if isinstance(value, str):
            return datetime.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        return float(value)
    return 0.0


def info_stamp(info: dict, mtime: float | None = None) -> str | None:
    """The ETag of a listing entry, or None where its mtime is its stamp."""
    etag = info.get("ETag") or info.get("etag")
    if etag:
        return str(etag).strip('"')
    return None


def scan_local(path: str, prefix: str = "") -> dict:
    """``fs.find(path, detail=True)`` for local disk with ``os.scandir``: about 20 times faster,
    which is most of a no-op check's time on large graphs.  Only entries of ``path`` itself
    whose names start with ``prefix`` are followed."""
    out: dict = {}
    stack = [path]
    while stack:
        folder = stack.pop()
        try:
            entries = os.scandir(folder)
        except (FileNotFoundError, NotADirectoryError):
            if folder == path:
                return {}
            continue
        top = folder == path
        with entries:
            for entry in entries:
                if top and prefix and not entry.name.startswith(prefix):
                    continue
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                else:
                    st = entry.stat()
                    out[entry.path] = {"name": entry.path, "size": st.st_size, "mtime": st.st_mtime,
                                       "type": "file"}
    return out


def parse_listing(base: str, found: dict) -> dict[str, list[Commit]]:
    """Group a listing of a family folder (``{path: info}``, recursive into folders) into
    committed builds by parameter folder, oldest first."""
    cut = len(base) + 1
    return group_entries(base, ((path[cut:], info.get("size"), info_mtime(info), info_stamp(info))
                                for path, info in found.items()))


def group_entries(base: str, entries) -> dict[str, list[Commit]]:
    """Committed builds from ``(path relative to base, size, mtime, stamp)`` entries."""
    builds: dict[tuple[str, str], dict] = {}
    markers: dict[tuple[str, str], tuple[str, float]] = {}
    for rel, size, mtime, stamp in entries:
        entry = split_entry(rel)
        if entry is None:
            continue
        param_dir, build, name = entry
        if name.startswith(MARKER_PREFIX):
            markers[(param_dir, build)] = (f"{base}/{rel}", mtime)
        elif not name.startswith(".tmp-"):
            files = builds.get((param_dir, build))
            if files is None:
                files = builds[(param_dir, build)] = {}
            files[name] = (size, stamp, mtime)
            if len(build) == INLINE_LEN and name[0] != "_" and "/" not in name:  # the output is the marker
                markers[(param_dir, build)] = (f"{base}/{rel}", mtime)
    out: dict[str, list[Commit]] = {}
    for (param_dir, build), (path, mtime) in sorted(markers.items()):
        inline = len(build) == INLINE_LEN
        fields = inline_fields(build) if inline else _MARKER.fullmatch(path, path.rindex(MARKER_PREFIX))
        if fields is None:
            import warnings

            warnings.warn(f"corrupt or foreign commit marker {path}; its build is treated as stale")
            continue
        version, inputs, result, sizes = fields[1:5] if inline else fields.groups()[:4]
        files = builds.get((param_dir, build), {})
        if inline and all(info[1] is None for info in files.values()):  # local: the output's time
            mtime = int(fields[5]) / 1e6  # at commit is in its name (its mtime now may be newer)
        out.setdefault(param_dir, []).append(Commit(  # listings give the marker's own time
            param_dir, build, version, inputs, result, path, mtime, files, sizes, False, inline))
    return out


def parse_leases(base: str, found: dict) -> dict[str, list[tuple]]:
    """Lease files of a family listing by parameter folder:
    ``(version, inputs, generation, path, mtime)``, in generation order."""
    out: dict[str, list[tuple]] = {}
    cut = len(base) + 1
    for path, info in found.items():
        param_dir, sep, rest = path[cut:].partition(BUILD_SEP)
        if sep and "/" not in rest and (match := _LEASE.fullmatch(rest)):
            version, inputs, gen = match.groups()
            out.setdefault(param_dir, []).append((version, inputs, int(gen), path, info_mtime(info)))
    for leases in out.values():
        leases.sort()
    return out
