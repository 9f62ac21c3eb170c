"""The only module that talks to fsspec: layout, listing, atomic commits, targets.

Imports ``config``, ``errors``, ``formats`` and ``listing`` (which turns a listing
into :class:`Commit` objects).  Layout under a root (any fsspec URL)::

    {root}/{Family}/{params}@{build}/{output}.{ext}       outputs, never rewritten
    {root}/{Family}/{params}@{build}/_meta.json           saveMeta()
    {root}/{Family}/{params}@{build}/_commit.{V}.{I}.{R}.{S}.json   the commit marker

``{params}`` is readable (``model=ols,n=3``) and ends with a hash of the
canonical parameters, so two parameter sets never share a folder.  ``{build}``
is a fresh name per build (UTC time plus random), so two writers of one task
never touch each other's files.  The marker is written last, atomically
(temp file and rename on local disk; a single PUT elsewhere), and its *name*
holds all that freshness needs: the task version ``V`` (code and parameters),
the identity of its inputs ``I`` and of its outputs ``R``, and the sizes of
its output files ``S``.  One recursive
listing per family is therefore enough to decide freshness; marker bodies are
read only to explain.

What stays true: a build without a marker is never used; existence checks
treat only "not found" as missing, any other failure is a StorageError naming
the root, never "stale".

On S3 (s3fs): settings follow s3fs (``storage_options``, ``AWS_*`` variables,
``AWS_ENDPOINT_URL``); listings are never cached (``use_listings_cache=False``)
so another process's commit is always seen; a family is one ``ListObjectsV2``
per 1000 keys (a prefix listing, so an empty family costs one request, not a
HEAD plus a LIST); a missing bucket, refused credentials or an unreachable
endpoint raise one StorageError naming the root, never "missing".  Every
message passes through :meth:`Store.scrub`, which blanks the credentials.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import pathlib
import re
import secrets

import fsspec

from . import config
from .errors import NotBuiltError, StorageError
from .formats import Format
from .formats import load as load_format
from .listing import (BUILD_SEP, MARKER_PREFIX, PARTS_PREFIX, Commit, parts_digest,  # noqa: F401
                      info_mtime as _mtime, parse_listing as _parse_listing,
                      scan_local as _scan_local)

__all__ = ["Store", "Commit", "Target", "default_store", "MARKER_PREFIX", "META_NAME"]

META_NAME = "_meta.json"
_CREDENTIALS = re.compile(r"(?<=://)[^/@]*@")
_S3 = ("s3", "s3a")
_SECRET_OPTIONS = ("key", "secret", "token", "password", "aws_access_key_id",
                   "aws_secret_access_key", "aws_session_token", "session_token", "account_key",
                   "sas_token", "client_secret")
_SECRET_ENV = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")


class Store:
    """A storage root: an fsspec filesystem and a path inside it.

    Parameters
    ----------
    url : str
        Any fsspec URL or local path.
    storage_options : dict, optional
        Passed to the filesystem (``key``, ``secret``, ``client_kwargs``...).
    """

    def __init__(self, url: str, storage_options: dict | None = None):
        self.url = str(url)
        self.storage_options = dict(storage_options or {})
        options = dict(self.storage_options)
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

    def __reduce__(self):
        return (Store, (self.url, self.storage_options))

    def __eq__(self, other) -> bool:
        return isinstance(other, Store) and (self.url, self.storage_options) == (other.url, other.storage_options)

    def __hash__(self) -> int:
        return hash(self.url)

    def __repr__(self) -> str:
        return f"Store({self.display!r})"

    @property
    def display(self) -> str:
        """The URL without any credentials, for messages."""
        return _CREDENTIALS.sub("", self.url)

    def scrub(self, text) -> str:
        """``str(text)`` with URL credentials and every known secret value blanked."""
        text = _CREDENTIALS.sub("", str(text))
        for secret in self._secrets():
            text = text.replace(secret, "***")
        return text

    def _secrets(self) -> list[str]:
        import os

        found = []

        def walk(options):
            for k, v in options.items():
                if isinstance(v, dict):
                    walk(v)
                elif isinstance(v, str) and k.lower() in _SECRET_OPTIONS and len(v) >= 4:
                    found.append(v)

        walk(self.storage_options)
        found += [os.environ[v] for v in _SECRET_ENV if len(os.environ.get(v, "")) >= 4]
        return sorted(set(found), key=len, reverse=True)

    def _error(self, action: str, path: str, exc: Exception) -> StorageError:
        return StorageError(f"{action} {path!r} under storage root {self.display} failed: "
                            f"{type(exc).__name__}: {self.scrub(exc)}{_hint(self, exc)}")

    # -- layout -----------------------------------------------------------------
    def family_path(self, family: str) -> str:
        return f"{self.root}/{family}"

    def task_path(self, family: str, param_dir: str) -> str:
        """Where a task's builds live: the prefix of its build folders (``{this}@{build}``)."""
        return f"{self.root}/{family}/{param_dir}"

    def new_build(self, family: str, param_dir: str) -> str:
        stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%S.%f")
        path = f"{self.task_path(family, param_dir)}{BUILD_SEP}{stamp}-{secrets.token_hex(4)}"
        if self.local:
            try:
                try:
                    os.mkdir(path)  # one system call in the common case
                except FileNotFoundError:
                    os.makedirs(self.family_path(family), exist_ok=True)
                    os.mkdir(path)
            except OSError as exc:
                raise self._error("creating", path, exc) from exc
        return path

    # -- listing ------------------------------------------------------------------
    def _find(self, path: str, prefix: str = "") -> dict:
        """Every file under ``path`` (in entries whose names start with ``prefix``) with
        its details: one recursive listing.

        On S3 it is a prefix listing of the parent (``ListObjectsV2`` pages of
        1000 keys, nothing more): an empty folder costs one request, and
        "not found" can only mean the bucket is missing, which is an error.
        """
        try:
            if self.s3:
                parent, _, leaf = path.rpartition("/")
                return self.fs.find(parent, prefix=f"{leaf}/{prefix}", detail=True)
            if self.local:
                return _scan_local(path, prefix)
            found = self.fs.find(path, detail=True)
            if prefix:
                start = f"{path}/{prefix}"
                found = {k: v for k, v in found.items() if k.startswith(start)}
            return found
        except FileNotFoundError as exc:
            if self.s3:
                raise self._error("listing", path, exc) from exc
            return {}
        except Exception as exc:
            raise self._error("listing", path, exc) from exc

    def list_family(self, family: str) -> dict[str, list[Commit]]:
        """Committed builds of a family by parameter folder, oldest first: one listing."""
        base = self.family_path(family)
        return _parse_listing(base, self._find(base))

    def list_task(self, family: str, param_dir: str) -> list[Commit]:
        """Committed builds of one task (one parameter folder), oldest first."""
        base = self.family_path(family)
        found = self._find(base, param_dir + BUILD_SEP)
        return _parse_listing(base, found).get(param_dir, [])

    def list_builds(self, family: str) -> list[tuple]:
        """Every build folder of a family, committed or not, from one listing:
        ``(param_dir, build path, bytes, newest mtime, marker path or None)``."""
        base = self.family_path(family)
        groups: dict = {}
        for path, info in self._find(base).items():
            parts = path[len(base) + 1:].split("/", 1)
            if len(parts) < 2 or BUILD_SEP not in parts[0]:
                continue
            key = (parts[0].partition(BUILD_SEP)[0], f"{base}/{parts[0]}")
            size, mtime, marker = groups.get(key, (0, 0.0, None))
            if parts[1].startswith(MARKER_PREFIX):
                marker = path
            groups[key] = (size + (info.get("size") or 0), max(mtime, _mtime(info)), marker)
        return [(d, p, size, mtime, marker) for (d, p), (size, mtime, marker) in sorted(groups.items())]

    def remove_build(self, path: str, marker: str | None = None) -> None:
        """Remove a build folder, its marker (if any) first, so a half-removed build never
        looks fresh."""
        try:
            if marker:
                self.fs.rm_file(marker)
            self.fs.rm(path, recursive=True)
        except FileNotFoundError:
            pass
        except Exception as exc:
            raise self._error("removing", path, exc) from exc

    def list_many(self, queries: list) -> list[dict]:
        """Several listings: ``(family, None)`` gives ``list_family(family)``, ``(family,
        param_dir)`` gives ``{param_dir: list_task(family, param_dir)}``; results in order.

        On a remote store the listings run concurrently: each is still one request
        per 1000 keys, but the check waits for the slowest family, not for the sum.
        """
        def one(query):
            family, param_dir = query
            if param_dir is None:
                return self.list_family(family)
            return {param_dir: self.list_task(family, param_dir)}

        if self.local or "memory" in _protocols(self.fs) or len(queries) < 2:
            return [one(q) for q in queries]
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(min(16, len(queries)), thread_name_prefix="daskflow-list") as pool:
            return list(pool.map(one, queries))

    def list_families(self) -> list[str]:
        """Folder names directly under the root (task families that stored something)."""
        try:
            entries = self.fs.ls(self.root, detail=True)
        except FileNotFoundError as exc:
            if self.s3:  # an empty prefix, or no bucket at all (an error, not "nothing stored")
                bucket = self.root.split("/", 1)[0]
                try:
                    self.fs.info(bucket)
                except Exception as bucket_exc:
                    raise self._error("listing", self.root, bucket_exc) from exc
            return []
        except Exception as exc:
            raise self._error("listing", self.root, exc) from exc
        return sorted(e["name"].rstrip("/").rsplit("/", 1)[-1] for e in entries if e.get("type") == "directory")

    # -- writing ------------------------------------------------------------------
    def write(self, path: str, data: bytes) -> str:
        """Write ``data`` whole (one PUT on object stores); return its sha256."""
        try:
            if self.local:  # the build folder is private to this build: a plain write
                with open(path, "wb") as f:
                    f.write(data)
            else:
                self.fs.pipe_file(path, data)
        except Exception as exc:
            raise self._error("writing", path, exc) from exc
        return hashlib.sha256(data).hexdigest()

    def commit(self, build_path: str, version: str, inputs: str, result: str, sizes: str, body) -> str:
        """Write the commit marker of a build last and atomically; return its path.

        ``sizes`` is :func:`daskflow.listing.sizes_token` of the file outputs; ``body`` is the
        marker's JSON, as bytes or as a dict to serialise."""
        marker = f"{build_path}/{MARKER_PREFIX}{version}.{inputs}.{result}.{sizes}.json"
        data = body if isinstance(body, bytes) else json.dumps(body, sort_keys=True, default=str).encode()
        try:
            if self.local:  # a temp file in the same folder, then an atomic rename
                tmp = f"{build_path}/.tmp-{secrets.token_hex(4)}"
                with open(tmp, "wb") as f:
                    f.write(data)
                os.replace(tmp, marker)
            else:
                self.fs.pipe_file(marker, data)
        except Exception as exc:
            raise self._error("committing", marker, exc) from exc
        return marker

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
                               f"{type(exc).__name__}: {self.scrub(exc)}{_hint(self, exc)}") from exc

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


def default_store() -> Store:
    """The store of the root in force (see ``daskflow.config``)."""
    url, options = config.resolve_root()
    return Store(url, options)


def _hint(store: Store, exc: Exception) -> str:
    """What the usual causes of ``exc`` are, for the message (never the credentials)."""
    if isinstance(exc, PermissionError):
        return (" (access denied: check the credentials -- storage_options key/secret or "
                "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY -- and their rights on this root)")
    if isinstance(exc, FileNotFoundError) and store.s3:
        bucket = store.root.split("/", 1)[0]
        return f" (bucket {bucket!r} does not exist: create it, or fix the root)"
    name = type(exc).__name__
    if "Connect" in name or "Timeout" in name or isinstance(exc, (ConnectionError, TimeoutError)):
        return (" (endpoint unreachable: check storage_options client_kwargs.endpoint_url or "
                "AWS_ENDPOINT_URL, and the network)")
    return ""


def _protocols(fs) -> tuple:
    proto = fs.protocol
    return proto if isinstance(proto, tuple) else (proto,)


class LocalPath(str):
    """A local output's path: a ``str`` (as daskflow's paths are) that also answers the
    ``pathlib.Path`` questions d6tflow scripts ask of ``output().path``.

    Examples
    --------
    >>> p = LocalPath("/tmp/x/data.pkl")
    >>> p.name, p.suffix, str(p.parent), p.rsplit("/", 1)[0]
    ('data.pkl', '.pkl', '/tmp/x', '/tmp/x')
    """

    __slots__ = ()

    def as_path(self) -> pathlib.Path:
        return pathlib.Path(self)

    def __fspath__(self) -> str:
        return str(self)

    def __truediv__(self, other) -> pathlib.Path:
        return pathlib.Path(self) / other

    def stat(self):
        return os.stat(self)

    def exists(self) -> bool:
        return os.path.exists(self)

    def is_file(self) -> bool:
        return os.path.isfile(self)

    def is_dir(self) -> bool:
        return os.path.isdir(self)

    def open(self, mode: str = "r", *args, **kwargs):
        return open(self, mode, *args, **kwargs)

    def read_bytes(self) -> bytes:
        return pathlib.Path(self).read_bytes()

    @property
    def parent(self) -> pathlib.Path:
        return pathlib.Path(self).parent

    @property
    def name(self) -> str:
        return pathlib.Path(self).name

    @property
    def stem(self) -> str:
        return pathlib.Path(self).stem

    @property
    def suffix(self) -> str:
        return pathlib.Path(self).suffix

    @property
    def parts(self) -> tuple:
        return pathlib.Path(self).parts


class Target:
    """One output of a task: ``load()``, ``exists()``, ``path``.

    A target of a task that is not built for today's code and parameters has
    no path; loading it raises NotBuiltError naming the task.
    """

    def __init__(self, store: Store, path: str | None, fmt: Format, task=None, reason: str = ""):
        self.store = store
        self._path = path
        self.format = fmt
        self.task = task
        self.reason = reason

    @property
    def path(self):
        """Where the output is: a ``pathlib.Path`` on a local root (as d6tflow's), else the URL."""
        if self._path is None:
            raise NotBuiltError(f"{self.task!r} is not built for today's code and parameters "
                                f"({self.reason}); run it first: daskflow.run(task)")
        return LocalPath(self._path) if self.store.local else self._path

    def exists(self) -> bool:
        return self._path is not None

    def load(self, cached: bool = False, **options):
        """Load the output; ``options`` go to the format's reader (``cached`` is d6tflow's)."""
        self.path  # noqa: B018  (not built: the error naming the task)
        path = self._path
        try:
            if self.format.load_path is not None:  # a folder format (see formats.Format.write)
                return self.format.load_path(self.store.fs, path)
            with self.store.open(path) as f:
                return load_format(self.format, f, options)
        except FileNotFoundError as exc:
            raise NotBuiltError(f"{self.task!r}: output {path} vanished after it was committed; "
                                f"run the task again") from exc

    def __repr__(self) -> str:
        return f"Target({self._path or '<not built>'}, {self.format.name})"
