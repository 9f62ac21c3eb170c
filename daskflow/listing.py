"""Reading listings: committed builds from key names, sizes and ETags or mtimes.

Imports only the standard library.  A recursive listing of a task family
(``{Family}/{params}@{build}/{file}``) is grouped here into :class:`Commit`
objects; a build counts only when its marker ``_commit.{V}.{I}.{R}.json`` is
listed, and the marker's *name* holds what freshness needs, so nothing is read
but the listing.  ``daskflow.storage`` does the listing itself.
"""

from __future__ import annotations

import datetime
import hashlib
import os
import re
from dataclasses import dataclass, field

__all__ = ["Commit", "BUILD_SEP", "MARKER_PREFIX", "sizes_token", "PARTS_PREFIX", "parts_digest", "parse_listing", "scan_local",
           "info_mtime", "info_stamp"]

MARKER_PREFIX = "_commit."
BUILD_SEP = "@"  # a build folder is {params}@{build}: parameters never contain "@"
_MARKER = re.compile(r"_commit\.([0-9a-f]{16})\.([0-9a-f]{16})\.([0-9a-f]{16})\.([0-9a-f]{16})\.json")


@dataclass
class Commit:
    """One committed build of a task, as read from a listing."""

    param_dir: str
    build: str
    version: str
    inputs: str
    result: str
    marker: str
    mtime: float
    files: dict = field(default_factory=dict)  # name inside the build -> (size, stamp, mtime)
    sizes: str = ""  # parts_digest of the file outputs' sizes at commit (see sizes_token)

    @property
    def path(self) -> str:
        return self.marker.rsplit("/", 1)[0]

    def intact(self, names) -> str | None:
        """None if every output in ``names`` is present and unchanged since the commit,
        else the name of the first one missing or modified (with a word saying which)."""
        for name in names:
            info = self.files.get(name) or self._dir_info(name)
            if info is None:
                return f"{name} missing"
            if info[2] > self.mtime + 1e-6:
                return f"{name} modified"
        if self.sizes and sizes_token({n: self.files[n][0] for n in names if n in self.files}) != self.sizes:
            return "an output's size changed"  # replaced keeping an older mtime (cp -p, rsync -a)
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
            size, stamp, _ = self.files[name]
            h.update(f"{name}\0{size}\0{stamp}\n".encode())
        return h.hexdigest()[:16]


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


def info_stamp(info: dict, mtime: float | None = None) -> str:
    etag = info.get("ETag") or info.get("etag")
    if etag:
        return str(etag).strip('"')
    return repr(info_mtime(info) if mtime is None else mtime)


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
    """Group a recursive listing of a family folder into committed builds."""
    builds: dict[tuple[str, str], dict] = {}
    markers: dict[tuple[str, str], tuple[str, dict]] = {}
    cut = len(base) + 1
    for path, info in found.items():
        parts = path[cut:].split("/", 1)
        if len(parts) < 2:
            continue
        folder, name = parts
        param_dir, sep, build = folder.partition(BUILD_SEP)
        if not sep:
            continue
        if name.startswith(MARKER_PREFIX):
            markers[(param_dir, build)] = (path, info)
        elif not name.startswith(".tmp-"):
            mtime = info_mtime(info)
            builds.setdefault((param_dir, build), {})[name] = (info.get("size"), info_stamp(info, mtime),
                                                               mtime)
    out: dict[str, list[Commit]] = {}
    for (param_dir, build), (path, info) in sorted(markers.items()):
        match = _MARKER.fullmatch(path, path.rfind("/") + 1)
        if match is None:
            import warnings

            warnings.warn(f"corrupt or foreign commit marker {path}; its build is treated as stale")
            continue
        version, inputs, result, sizes = match.groups()
        out.setdefault(param_dir, []).append(Commit(
            param_dir, build, version, inputs, result, path, info_mtime(info),
            builds.get((param_dir, build), {}), sizes))
    return out
