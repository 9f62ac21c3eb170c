"""The only module that talks to fsspec (with its listing side, ``listings``): layout,
atomic commits, reading.

Imports ``config``, ``errors``, ``journal``, ``localfs``, ``listing`` (which turns a
listing into :class:`Commit` objects) and ``listings`` (the Store's listing and removing
methods, a mixin).  Layout under a root (any
fsspec URL): no folder per build, every file of a build directly in its family
folder, named by build::

    {root}/{Family}/{params}@{build}.{output}.{ext}       outputs, never rewritten
    {root}/{Family}/{params}@{build}.{output}.{ext}/...   a folder output (TaskPqDask)
    {root}/{Family}/{params}@{build}._meta.json           saveMeta()
    {root}/{Family}/{params}@{build}._reads.json          the files run() read (daskflow.observe)
    {root}/{Family}/{params}@{build}._commit.{V}.{I}.{R}.{S}.{T}.json   the commit marker
    {root}/{Family}/{params}@{id}_{V}_{I}_{R}_{S}_{T}.{output}.{ext}  a build committed inline
    {root}/{Family}/_explain.{writer}.jsonl               the bodies of inline commits

``{params}`` is readable (``model=ols,n=3``) and ends with a hash of the canonical
parameters.  ``{build}`` is a fresh id per build (UTC time plus random, no dot), so
two writers of one task never touch each other's files.  The marker is written
last (one ``O_EXCL`` create, or a single PUT) and its *name* holds all that
freshness needs: the task version ``V``, the identity of its inputs ``I`` and of
its outputs ``R``, the sizes of its output files ``S`` and the commit time ``T``;
its body (read only to explain) may be cut short by a crash without making the
build look incomplete.  One listing per family (one ``os.scandir``, or one
``ListObjectsV2`` per 1000 keys) decides freshness.

**Inline commits** (local disk, fsync off, a task with one file output): the
output is held back until the commit, written unnamed (``O_TMPFILE``, or a
``.tmp-`` file where the filesystem has none) and then linked under a build id
that holds the marker's fields (see :mod:`daskflow.listing`): one inode per build
and nothing else but a line of the writer's journal (:mod:`daskflow.journal`).
Until that link no file of the build is named as committed.  With ``fsync`` on
(:func:`daskflow.config.set_root`) the marker is a temp file, fsynced and renamed
in place after the build's files and the family folder reach the disk.  A build
costs one file creation per output plus one for the marker (inline: one in all)
and no folder; on S3 one PUT per output plus one for the marker, no HEAD or LIST.
Roots written by earlier versions (marker files, or a folder per build) load and
count as fresh as they are.

What stays true: a build without a marker is never used; existence checks treat
only "not found" as missing, any other failure is a StorageError naming the root.

On S3 (s3fs): settings follow s3fs (``storage_options``, ``AWS_*`` variables,
``AWS_ENDPOINT_URL``); listings are never cached (``use_listings_cache=False``)
so another process's commit is always seen; a family is one ``ListObjectsV2``
per 1000 keys (an empty family costs one request, not a HEAD plus a LIST); a
missing bucket, refused credentials or an unreachable endpoint raise one
StorageError naming the root, never "missing".  Every message passes through
:meth:`Store.scrub`, which blanks the credentials.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import time

from . import config
from . import journal as _journal
from . import localfs as _local
from . import redact as _redact
from .errors import StorageError
from .listing import BUILD_SEP, MARKER_PREFIX, META_NAME, Commit, build_file
from .filestate import HASHED, READS_NAME, content_digest
from .listing import PARTS_PREFIX, parts_digest  # noqa: F401  (the formats import them from here)
from .listings import Listings, _protocols
from .target import Target

__all__ = ["Store", "Commit", "Target", "default_store", "MARKER_PREFIX", "META_NAME"]

_S3 = ("s3", "s3a")


class Store(Listings):
    """A storage root: an fsspec filesystem and a path inside it.

    Parameters
    ----------
    url : str
        Any fsspec URL or local path.
    storage_options : dict, optional
        Passed to the filesystem (``key``, ``secret``, ``client_kwargs``...).
    leases, fsync : bool, optional
        Team-build leases (``daskflow.lease``) and fsync before the marker; None: the
        settings in force (:func:`daskflow.config.lease_setting`).
    """

    def __init__(self, url: str, storage_options: dict | None = None, leases: bool | None = None,
                 fsync: bool | None = None):
        self.url = str(url)
        self.storage_options = dict(storage_options or {})
        options = dict(self.storage_options)
        import fsspec  # here, not at import: ``import daskflow`` stays light

        if fsspec.core.split_protocol(self.url)[0] in _S3:
            # another process's commit must be visible at once: no listing cache
            options.setdefault("use_listings_cache", False)
        try:
            self.fs, root = fsspec.core.url_to_fs(self.url, **options)
        except ImportError as exc:
            raise StorageError(f"cannot open storage root {self.display}: {exc}") from exc
        except (ValueError, TypeError, OSError) as exc:
            raise StorageError(f"cannot open storage root {self.display}: {self.scrub(exc)}") from exc
        self.root = root.rstrip("/")
        self.local = "file" in _protocols(self.fs)
        self.s3 = bool(set(_protocols(self.fs)) & set(_S3))
        self.leases = config.lease_setting(self.s3) if leases is None else bool(leases)
        self.fsync = config.fsync_setting() if fsync is None else bool(fsync)
        self._folders: set = set()  # family folders known to exist (local)
        self._journals = _journal.Journals()  # bodies of inline commits read here (local)

    def __reduce__(self):  # the settings resolved here travel to the workers as they are
        return (Store, (self.url, self.storage_options, self.leases, self.fsync))

    def __eq__(self, other) -> bool:
        return isinstance(other, Store) and (self.url, self.storage_options) == (other.url, other.storage_options)

    def __hash__(self) -> int:
        return hash(self.url)

    def __repr__(self) -> str:
        return f"Store({self.display!r})"

    @property
    def display(self) -> str:
        """The URL without any credentials, for messages."""
        return _redact.scrub_url(self.url)

    def scrub(self, text) -> str:
        """``str(text)`` with URL credentials and every known secret value blanked."""
        return _redact.scrub(text, self.storage_options)

    def _error(self, action: str, path: str, exc: Exception) -> StorageError:
        return StorageError(f"{action} {path!r} under storage root {self.display} failed: "
                            f"{type(exc).__name__}: {self.scrub(exc)}{_redact.hint(exc, self.s3, self.root)}")

    # -- layout -----------------------------------------------------------------
    def family_path(self, family: str) -> str:
        return f"{self.root}/{family}"

    def task_path(self, family: str, param_dir: str) -> str:
        """Where a task's builds live: the prefix of their names (``{this}@{build}.{file}``)."""
        return f"{self.root}/{family}/{param_dir}"

    def new_build(self, family: str, param_dir: str) -> str:
        """A fresh build ``{family folder}/{params}@{id}``: a name only, nothing is created
        but the family folder, once (files are named with :func:`daskflow.listing.build_file`)."""
        if self.local and self.family_path(family) not in self._folders:
            self._make_folder(self.family_path(family))  # once: a task may open its output itself
        return f"{self.task_path(family, param_dir)}{BUILD_SEP}{_build_id()}"

    def _make_folder(self, folder: str) -> None:
        try:
            os.makedirs(folder, exist_ok=True)
        except OSError as exc:
            raise self._error("creating", folder, exc) from exc
        self._folders.add(folder)

    def _local_create(self, path: str, data: bytes, flags: int) -> None:
        """Create ``path`` (``os.open`` flags) with ``data``; make the family folder the
        first time one is missing; fsync the file when asked."""
        try:
            fd = os.open(path, flags, 0o666)
        except FileNotFoundError:
            self._make_folder(path.rsplit("/", 1)[0])
            fd = os.open(path, flags, 0o666)
        _local.fill(fd, data, self.fsync)

    # -- writing ------------------------------------------------------------------
    def write(self, path: str, data: bytes, replace: bool = False) -> str:
        """Write ``data`` whole to a new file (one create locally, one PUT on object stores);
        return its sha256.  Build file names are private to their build: never rewritten
        once committed; ``replace``: a file of a build not committed yet, saved again."""
        try:
            if self.local:
                self._local_create(path, data, _local.REPLACE if replace else _local.CREATE)
            else:
                self.fs.pipe_file(path, data)
        except Exception as exc:
            raise self._error("writing", path, exc) from exc
        return hashlib.sha256(data).hexdigest()

    def create_exclusive(self, path: str, data: bytes) -> bool:
        """Create ``path`` only if it does not exist (``O_CREAT|O_EXCL`` on local disk, a PUT
        with ``If-None-Match: *`` on S3): True if made here, False if it exists.  Only
        "exists" (S3: 412 Precondition Failed) is False; any other failure is a StorageError."""
        try:
            if self.local:
                self._local_create(path, data, _local.CREATE)
            else:
                self.fs.pipe_file(path, data, mode="create")
            return True
        except FileExistsError:
            return False
        except OSError as exc:
            cause = getattr(exc.__cause__, "response", None) or {}
            if cause.get("Error", {}).get("Code") in ("PreconditionFailed", "412"):
                return False  # SeaweedFS: a 412 without the condition s3fs looks for
            raise self._error("creating", path, exc) from exc
        except Exception as exc:
            raise self._error("creating", path, exc) from exc

    @property
    def inline(self) -> bool:
        """Whether a build of one file output commits with no marker file (local disk, fsync off):
        see :meth:`commit`."""
        return self.local and not self.fsync

    def commit(self, build_path: str, version: str, inputs: str, result: str, sizes: str, body,
               folders: tuple = (), last: tuple | None = None, meta: bytes | None = None,
               reads: bytes | None = None) -> str:
        """Write what a build holds back to the end and commit it (see the module docstring);
        return the build's path, which an inline commit renames.

        ``sizes`` is :func:`daskflow.listing.sizes_token` of the file outputs; ``body`` is the
        marker's JSON, as bytes or as a dict to serialise; ``folders`` are the build's folder
        outputs (their files are fsynced too when ``fsync`` is on); ``last`` is
        ``(file name, bytes)`` of an output held back to be written here (the build's only
        output, see :attr:`inline`), ``meta`` the bytes of its ``saveMeta()``, ``reads`` the
        files its run() read (:mod:`daskflow.observe`), kept beside the outputs."""
        data = body if isinstance(body, bytes) else json.dumps(body, sort_keys=True, default=str).encode()
        extra = {n: b for n, b in ((META_NAME, meta), (READS_NAME, reads)) if b is not None}
        if last is not None and self.inline:
            return self._commit_inline(build_path, (version, inputs, result, sizes), data, last, extra)
        for name, payload in extra.items():
            self.write(build_file(build_path, name), payload)
        if last is not None:
            self.write(build_file(build_path, last[0]), last[1])
        stamp = time.time_ns() // 1000  # after the outputs were closed: no output is newer
        marker = build_file(build_path, f"{MARKER_PREFIX}{version}.{inputs}.{result}.{sizes}.{stamp:016d}.json")
        try:
            if self.local and not self.fsync:  # one create: the name says all, the body only explains
                self._local_create(marker, data, _local.CREATE)
            elif self.local:  # durable: a temp file beside it, fsynced, then an atomic rename
                folder = marker.rsplit("/", 1)[0]
                tmp = f"{folder}/.tmp-{secrets.token_hex(4)}"
                self._local_create(tmp, data, _local.CREATE)
                _local.fsync_tree(folders)
                _local.fsync_dir(folder)  # the outputs' names are on disk before the marker's
                os.replace(tmp, marker)
                _local.fsync_dir(folder)
            else:
                self.fs.pipe_file(marker, data)
        except Exception as exc:
            raise self._error("committing", marker, exc) from exc
        return build_path

    def _commit_inline(self, build_path: str, fields: tuple, body: bytes, last: tuple, extra: dict) -> str:
        """One inode, no marker file (:meth:`daskflow.journal.Journals.commit`)."""
        try:
            try:
                return self._journals.commit(build_path, fields, body, last, extra)
            except FileNotFoundError:
                folder = build_path.rpartition("/")[0]
                if os.path.isdir(folder):
                    raise
                self._make_folder(folder)  # the family folder is gone (removed by hand): made again
                return self._journals.commit(build_path, fields, body, last, extra)
        except Exception as exc:
            raise self._error("committing", build_path, exc) from exc

    def read_body(self, commit: Commit) -> dict:
        """The JSON body that explains a commit: its marker file, or its line of the writer's
        journal for an inline commit.  FileNotFoundError if there is none, ValueError if
        it is not JSON."""
        journal = commit.journal
        if journal is None:
            return self.read_json(commit.marker)
        key = f"{commit.param_dir}{BUILD_SEP}{commit.build}"
        try:
            line = self._journals.line(journal, key) if self.local else _journal._index(
                self.fs.cat_file(journal)).get(key)
        except FileNotFoundError:
            raise
        except Exception as exc:
            raise self._error("reading", journal, exc) from exc
        if line is None:
            raise FileNotFoundError(f"{journal} holds no line for build {key}")
        body = json.loads(line)
        body.pop("build", None)
        return body

    def intact(self, commit: Commit, names) -> str | None:
        """``commit.intact(names)``, with one more look on local disk: an output newer than its
        commit only by its time (a copy that did not keep times, a git checkout) is intact when
        its bytes are the ones committed (the sha256 in the commit's body); the commit then
        counts from its newest output's time on, in this process."""
        broken = commit.intact(names)
        if broken is None or not broken.endswith(" modified") or not self.local:
            return broken
        try:
            outputs = self.read_body(commit).get("outputs", {}).values()
            committed = {o.get("file"): o.get("sha256") for o in outputs}
        except (OSError, ValueError, AttributeError, StorageError):  # unreadable: modified, as listed
            return broken
        newest = commit.mtime
        for name in names:
            info = commit.files.get(name)  # None for a folder output: no sha256 of its own
            if info is None or committed.get(name) is None:
                return broken
            if info[2] > commit.mtime + 1e-6:
                if (info[0] or 0) > HASHED:  # a big output is not hashed in every process: rebuilt
                    return broken
                path = commit.file(name)
                try:
                    same = content_digest(path, os.stat(path)) == committed[name]
                except OSError:
                    same = False
                if not same:
                    return broken
                newest = max(newest, info[2])
        commit.mtime, commit.named_time = newest, False
        return commit.intact(names)

    def journals(self, family: str) -> list[tuple[str, float, set]]:
        """The journals of a family (local disk; none elsewhere): ``(path, mtime, build keys)``."""
        return self._journals.files(self.family_path(family)) if self.local else []

    def journal_build(self, family: str, param_dir: str) -> str | None:
        """The newest inline build of a task that a journal of its family still names (local
        disk; None elsewhere): explains a build whose output was deleted."""
        if not self.local:
            return None
        try:
            return self._journals.newest(self.family_path(family), param_dir)
        except Exception as exc:
            raise self._error("reading journals of", self.family_path(family), exc) from exc

    def check_writable(self) -> None:
        """Write and remove a small probe under the root, or raise StorageError naming it."""
        probe = f"{self.root}/.daskflow-probe-{secrets.token_hex(4)}"
        try:
            if self.local:
                self.fs.makedirs(self.root, exist_ok=True)
            self.fs.pipe_file(probe, b"")
            self.fs.rm_file(probe)
        except Exception as exc:
            raise StorageError(f"storage root {self.display} is not writable: "
                               f"{type(exc).__name__}: {self.scrub(exc)}{_redact.hint(exc, self.s3, self.root)}") from exc

    # -- reading ------------------------------------------------------------------
    def open(self, path: str):
        """A binary file object; on an object store the whole object in one GET
        (outputs are read whole anyway, and a HEAD plus ranged GETs cost more)."""
        try:
            if not self.local:
                import io

                # max_concurrency=1: s3fs would otherwise HEAD first to plan a ranged download
                kwargs = {"max_concurrency": 1} if self.s3 else {}
                return io.BytesIO(self.fs.cat_file(path, **kwargs))
            return open(path, "rb")  # local: the built-in is 2-3 times cheaper than fsspec's
        except FileNotFoundError:
            raise
        except Exception as exc:
            raise self._error("opening", path, exc) from exc

    def checksum(self, path: str) -> tuple[str, int] | None:
        """sha256 and size of a file written outside ``write`` (e.g. through ``output().path``),
        or None if absent."""
        h, size = hashlib.sha256(), 0
        try:
            with self.fs.open(path, "rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    h.update(block)
                    size += len(block)
        except FileNotFoundError:
            return None
        except Exception as exc:
            raise self._error("reading", path, exc) from exc
        return h.hexdigest(), size

    def read_json(self, path: str):
        try:
            with self.fs.open(path, "rb") as f:
                return json.load(f)
        except FileNotFoundError:
            raise
        except json.JSONDecodeError:
            raise
        except Exception as exc:
            raise self._error("reading", path, exc) from exc


_second = (None, "")  # (UTC second, its text): strftime once a second, not once a build


def _build_id() -> str:
    """A fresh build id: UTC time to the microsecond, then random (``20261202T181327123456-1a2b3c4d``)."""
    global _second
    sec, micro = divmod(time.time_ns() // 1000, 1_000_000)
    if _second[0] != sec:
        _second = (sec, time.strftime("%Y%m%dT%H%M%S", time.gmtime(sec)))
    return f"{_second[1]}{micro:06d}-{secrets.token_hex(4)}"


def default_store() -> Store:
    """The store of the root in force (see ``daskflow.config``)."""
    url, options = config.resolve_root()
    return Store(url, options)
