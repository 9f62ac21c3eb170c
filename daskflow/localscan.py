"""Listing a local family folder into commits: one ``os.scandir``, one stat per file.

Imports only ``listing`` and the standard library.  :func:`scan_commits` is most of a
no-op check on local disk.  What the folder's names say (which builds, which markers,
what each marker's name holds) is parsed once per process for a folder that has not
changed since: a family folder's modification and change times move whenever an
entry is added, removed or renamed, so a folder whose times are the ones seen at the
last scan holds the same names (the sizes and times of its files are still read by a
stat of each, so an output edited in place is seen; when every file's size and time
is the one of the last scan too, that scan's commits are the answer again, as they
would be made anew).  A folder changed within
:data:`RACY` seconds of its scan is never kept: an entry added in the same tick of the
clock as the scan would not move its times (git's "racy" index entries).  Folders with
sub-folders (a folder output, a build of the old layout) are scanned every time: a
change inside a sub-folder does not touch the family folder.  Another process's commit
is always seen.
"""

from __future__ import annotations

import os
import threading
import time
import warnings

from .listing import (_MARKER, BUILD_SEP, INLINE_LEN, MARKER_PREFIX, Commit, group_entries,
                      inline_fields, scan_local, split_entry)

__all__ = ["scan_commits", "forget"]

RACY = 2.0  # seconds: a folder changed this close to its scan is scanned again next time
KEPT = 1_000_000  # files named by the folders kept, at most (some 400 MB with their commits)
# family folder -> (its stat signature, its parsed names, [the stamps and commits of its
# last whole scan, or None])
_NAMES: dict[str, tuple] = {}
_KEPT_FILES = 0  # the files of the folders in _NAMES
_LOCK = threading.Lock()


def forget() -> None:
    """Drop every parsed folder (the next scan of each reads its names again)."""
    global _KEPT_FILES
    with _LOCK:
        _NAMES.clear()
        _KEPT_FILES = 0


def _signature(st: os.stat_result) -> tuple:
    return st.st_ino, st.st_dev, st.st_mtime_ns, st.st_ctime_ns, st.st_size


def scan_commits(path: str, prefix: str = "") -> dict[str, list[Commit]]:
    """Committed builds of a local family folder by parameter folder, oldest first (what
    :func:`daskflow.listing.parse_listing` makes of the same files): one ``os.scandir``
    (and one more per folder output or old folder build) and one stat per file, or, for
    a folder whose names are known, one stat of the folder and one of each file.

    The files are stat()ed by name in the folder (``dir_fd``, where the platform has it):
    the kernel then resolves one name, not the whole path, for each."""
    try:
        fd = os.open(path, _DIR_FLAGS) if _BY_FD else None
        before = os.stat(path) if fd is None else os.fstat(fd)
    except (FileNotFoundError, NotADirectoryError):
        if path in _NAMES:  # a folder removed (an old root, a test's): what was kept of it goes
            _drop(path)
        return {}  # (fstat of an open folder does not fail so: nothing is left open)
    try:
        sig = _signature(before)
        known = _NAMES.get(path)
        if known is not None and known[0] == sig:
            try:
                return _known(path, fd, known, prefix)
            except FileNotFoundError:  # a file went while its folder's times stayed: read it again
                pass
        started = time.time()
        stable = before.st_mtime < started - RACY and before.st_ctime < started - RACY
        files, heads, folders = _parse(path, "" if stable else prefix, fd)  # kept: all its names
        if stable and not folders:  # a change inside a sub-folder would not move the folder's times
            _keep(path, sig, (files, heads))
        if prefix:
            files, heads = _only((files, heads), prefix)
            folders = [f for f in folders if f[1].startswith(prefix)]
        return _assemble(files, _stamps(path, fd, files), heads, _folders(path, folders) if folders else None)
    finally:
        if fd is not None:
            os.close(fd)


_BY_FD = os.stat in os.supports_dir_fd and os.scandir in os.supports_fd
_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0)


def _known(path: str, fd: int | None, known: tuple, prefix: str) -> dict[str, list[Commit]]:
    """The commits of a folder whose names are ``known``: those of its last whole scan when
    each file's size and time are still the ones they were made from (the lists and the
    commits are shared with that scan's callers, who never change them: a fresh dict)."""
    files, heads = _only(known[1], prefix)
    stamps = _stamps(path, fd, files)
    if prefix:
        return _assemble(files, stamps, heads, None)
    made = known[2]
    if made[0] is None or made[0][0] != stamps:
        made[0] = (stamps, _assemble(files, stamps, heads, None))
    return dict(made[0][1])


def _only(names: tuple, prefix: str) -> tuple:
    """``(files, heads)`` of a folder's names, those of one task's builds with ``prefix``
    (``{param_dir}@``)."""
    files, heads = names
    if not prefix:
        return names
    return [f for f in files if f[0].startswith(prefix)], [h for h in heads if h[0].startswith(prefix)]


def _drop(path: str) -> None:
    global _KEPT_FILES
    with _LOCK:
        dropped = _NAMES.pop(path, None)
        if dropped is not None:
            _KEPT_FILES -= len(dropped[1][0])


def _keep(path: str, sig: tuple, names: tuple) -> None:
    """Keep the names of a folder that did not change while they were read (up to
    :data:`KEPT` files in all: beyond, the folders kept first are dropped)."""
    global _KEPT_FILES
    try:
        after = _signature(os.stat(path))
    except FileNotFoundError:
        after = None
    with _LOCK:
        dropped = _NAMES.pop(path, None)
        if dropped is not None:
            _KEPT_FILES -= len(dropped[1][0])
        if after != sig:
            return
        while _NAMES and _KEPT_FILES + len(names[0]) > KEPT:
            _KEPT_FILES -= len(_NAMES.pop(next(iter(_NAMES)))[1][0])
        _NAMES[path] = (sig, names, [None])
        _KEPT_FILES += len(names[0])


def _parse(path: str, prefix: str, fd: int | None = None) -> tuple:
    """What the names of the folder ``path`` (read through ``fd``, its descriptor, if given)
    say: ``(files, heads, folders)``.  ``files``: ``(build key, name in the build, file
    name)`` of each file to stat; ``heads``: the fields of each commit but its files'
    sizes and times; ``folders``: its sub-folders, ``(path, name, position of the dot
    after the build id or None)``."""
    files, markers, folders = [], {}, []
    try:
        listing = os.scandir(path if fd is None else fd)
    except (FileNotFoundError, NotADirectoryError):
        return [], [], []
    with listing:
        for entry in listing:
            name = entry.name
            if prefix and not name.startswith(prefix):
                continue
            at = name.find(BUILD_SEP)
            dot = name.find(".", at)
            if at <= 0 or dot < 0 or name[at + 1] == "_":  # not a build's (a lease, a temp file)
                if at > 0 and entry.is_dir(follow_symlinks=False):
                    folders.append((f"{path}/{name}", name, None))  # an old folder build {params}@{id}/
                continue
            if entry.is_dir(follow_symlinks=False):
                folders.append((f"{path}/{name}", name, dot))
                continue
            rest = name[dot + 1:]
            if rest.startswith(MARKER_PREFIX):  # no stat: the commit time is in the name
                markers[name[:dot]] = (f"{path}/{name}", len(name) - dot - 1)  # the marker's name: its last chars
                continue
            if rest.startswith(".tmp-"):
                continue
            files.append((name[:dot], rest, name))
            if dot - at == INLINE_LEN + 1 and rest[0] != "_":  # an output that is its own marker
                markers[name[:dot]] = (f"{path}/{name}", None)
    heads = []
    for key, (marker, tail) in sorted(markers.items()):
        param_dir, _, build = key.partition(BUILD_SEP)
        fields = (inline_fields(build) if tail is None
                  else (match := _MARKER.fullmatch(marker, len(marker) - tail)) and match.groups())
        if not fields:
            warnings.warn(f"corrupt or foreign commit marker {marker}; its build is treated as stale")
            continue
        version, inputs, result, sizes, stamp = fields[1:] if tail is None else fields
        # a marker from before 0.4 has no time in its name: its time is its mtime (stat()ed)
        heads.append((key, param_dir, build, version, inputs, result, marker,
                      None if stamp is None else int(stamp) / 1e6, sizes, tail is None))
    return files, heads, folders


def _folders(path: str, folders: list) -> tuple:
    """The commits of old folder builds and the files of folder outputs, by build key."""
    old, inner = [], {}
    for folder, name, dot in folders:
        entry = split_entry(name + "/x")
        if entry is None:
            continue
        cut = len(folder) + 1
        if dot is None or entry[2] == "x":  # an old folder build: grouped the general way
            old += [(f"{name}/{sub[cut:]}", info["size"], info["mtime"], None)
                    for sub, info in scan_local(folder).items()]
            continue
        files = inner.setdefault(name[:dot], {})
        for sub, info in scan_local(folder).items():  # a folder output: {key}.{output}.{ext}/...
            files[f"{name[dot + 1:]}/{sub[cut:]}"] = (info["size"], None, info["mtime"])
    return (group_entries(path, old) if old else {}), inner


def _stamps(path: str, fd: int | None, files: list) -> list:
    """``(size, None, mtime)`` of each file as it is now (a stat of each, by its name in the
    folder open as ``fd`` where there is one)."""
    stat, head, out = os.stat, "" if fd is not None else path + "/", []
    for _, _, name in files:
        st = stat(head + name, dir_fd=fd)
        out.append((st.st_size, None, st.st_mtime))
    return out


def _assemble(files: list, stamps: list, heads: list, old) -> dict[str, list[Commit]]:
    """The commits, with each file's size and time (``stamps``, see :func:`_stamps`)."""
    builds: dict[str, dict] = {}
    for (key, rest, _), stamp in zip(files, stamps):
        found = builds.get(key)
        if found is None:
            found = builds[key] = {}
        found[rest] = stamp
    out, inner = old if old is not None else ({}, None)  # old: made for this call, never kept
    if inner:
        for key, found in inner.items():
            builds.setdefault(key, {}).update(found)
    for key, param_dir, build, version, inputs, result, marker, mtime, sizes, inline in heads:
        commit = Commit(param_dir, build, version, inputs, result, marker,
                        os.stat(marker).st_mtime if mtime is None else mtime, builds.get(key, {}),
                        sizes, mtime is not None, inline)
        commits = out.get(param_dir)
        if commits is None:
            out[param_dir] = [commit]
        else:
            commits.append(commit)
    if old is not None and old[0]:
        for commits in out.values():
            commits.sort(key=lambda c: c.build)
    return out
