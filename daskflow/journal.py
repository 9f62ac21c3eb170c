"""Inline commits and their journals: the bodies of inline commits, a line per build, a file per process.

Imports only the standard library and ``daskflow.listing``.  A build committed
inline (its one output is its own marker, see ``daskflow.listing``) has no
marker file to hold the JSON that explains it (parameters, code parts, the
results of its inputs); that JSON is one line of its writer's journal
``{family folder}/_explain.{writer}.jsonl``, appended (``O_APPEND``, one
``write``) before the output is named, so a committed build always has its
line.  A process opens its journal per build and creates it once per family
folder: no new inode per build.  Freshness never reads a journal; ``why``
does, and so does the explanation of a task whose output was deleted (a line
whose build is no longer listed) or of an external task with nothing listed.
A line cut short by a crash is skipped.  The time in an inline build id is the
output's own modification time, so an edit in place (even of the same size)
makes it newer than its commit.
"""

from __future__ import annotations

import os
import secrets

from . import localfs as _local
from .listing import BUILD_SEP, JOURNAL_PREFIX, build_file, inline_fields

__all__ = ["writer", "line", "Journals"]

_WRITER = [""]  # this process's writer id, made on first use and anew in a forked child


def writer() -> str:
    """This process's writer id (8 hex digits): its journal and its inline build ids."""
    if not _WRITER[0]:
        _WRITER[0] = secrets.token_hex(4)
    return _WRITER[0]


if hasattr(os, "register_at_fork"):  # a forked child (processes scheduler) writes its own journal
    os.register_at_fork(after_in_child=lambda: _WRITER.__setitem__(0, ""))


def line(key: str, body: bytes) -> bytes:
    """The journal line of build ``key`` (``{params}@{build id}``) with JSON object ``body``."""
    return b'{"build":"%s",%s\n' % (key.encode(), body[1:])


def _index(data: bytes) -> dict:
    """``{key: line}`` of a journal's bytes.  A line cut short (a crash, a full disk in a
    process that went on) is skipped, and so is its fragment where the next line was
    appended to it: a line starts at its last ``{"build":"`` (bodies are JSON with spaces
    after colons, so none holds that text)."""
    out = {}
    for text in data.split(b"\n"):
        start = text.rfind(b'{"build":"')
        if start >= 0 and text.endswith(b"}"):
            text = text[start:]
            out[text[10:text.index(b'"', 10)].decode()] = text
    return out


class Journals:
    """What a store has read of the journals of local family folders (re-read as they grow)."""

    def __init__(self):
        self._read: dict = {}  # journal path -> (size read, {key: line}, {param_dir: newest build})
        self._names: dict = {}  # family folder -> (its mtime_ns, journal paths)

    def commit(self, build_path: str, fields: tuple, body: bytes, last: tuple, extra: dict) -> str:
        """Commit build ``build_path`` (``{folder}/{params}@{id}``) inline; return its new path.

        The output ``last`` (``(file name, bytes)``) is written unnamed, then the build is
        named with the marker's ``fields`` (V, I, R, S) and the time, its body appended to
        this process's journal, the ``extra`` files (``{name: bytes}``: saveMeta, the files run()
        read) created beside it, and last the output
        linked under its name: until then nothing names the build as committed."""
        folder = build_path.rpartition("/")[0]
        handle = _local.unnamed(folder, last[1])
        try:
            stamp = -(-_local.mtime_ns(handle) // 1000)  # the output's own time, in us rounded up:
            # a later edit makes it newer, and it is never newer than this
            me = writer()
            build = f"{build_path[:build_path.rindex('-')]}-{me}_{'_'.join(fields)}_{stamp:016d}"
            key = build.rpartition("/")[2]
            if inline_fields(key.rpartition(BUILD_SEP)[2]) is None:
                raise ValueError(f"build id {build} does not hold the marker's fields")  # a bug, said
            _local.append(f"{folder}/{JOURNAL_PREFIX}{me}.jsonl", line(key, body))
            for name, payload in extra.items():
                _local.fill(os.open(build_file(build, name), _local.CREATE, 0o666), payload, False)
        except BaseException:
            _local.discard(handle)
            raise
        _local.publish(handle, build_file(build, last[0]), last[1], stamp * 1000)
        return build

    def _load(self, path: str) -> tuple:
        size = os.stat(path).st_size
        cached = self._read.get(path)
        if cached is None or cached[0] != size:
            with open(path, "rb") as f:
                lines = _index(f.read(size))
            newest: dict = {}
            for key in lines:
                param_dir, _, build = key.partition(BUILD_SEP)
                if build > newest.get(param_dir, ""):
                    newest[param_dir] = build
            cached = self._read[path] = (size, lines, newest)
        return cached

    def line(self, path: str, key: str) -> bytes | None:
        """The line of build ``key`` in journal ``path`` (FileNotFoundError: no journal)."""
        return self._load(path)[1].get(key)

    def newest(self, folder: str, param_dir: str) -> str | None:
        """The newest build id of ``param_dir`` that any journal of ``folder`` names."""
        try:
            stamp = os.stat(folder).st_mtime_ns
        except FileNotFoundError:
            return None
        known = self._names.get(folder)
        if known is None or known[0] != stamp:
            with os.scandir(folder) as entries:
                paths = [e.path for e in entries if e.name.startswith(JOURNAL_PREFIX)]
            known = self._names[folder] = (stamp, paths)
        best = None
        for path in known[1]:
            try:
                build = self._load(path)[2].get(param_dir)
            except FileNotFoundError:
                continue
            if build is not None and (best is None or build > best):
                best = build
        return best

    def files(self, folder: str) -> list[tuple[str, float, set]]:
        """The journals of ``folder``: ``(path, mtime, keys of the builds it names)``."""
        out = []
        try:
            with os.scandir(folder) as listing:
                entries = [e for e in listing if e.name.startswith(JOURNAL_PREFIX)]
        except FileNotFoundError:
            return out
        for entry in entries:
            try:
                mtime, keys = entry.stat().st_mtime, set(self._load(entry.path)[1])
            except FileNotFoundError:
                continue
            out.append((entry.path, mtime, keys))
        return out
