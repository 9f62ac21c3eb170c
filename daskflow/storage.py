"""The only module that talks to fsspec: layout, listing, atomic commits, targets.

Imports ``config``, ``errors`` and ``formats``.  Layout under a root (any fsspec URL)::

    {root}/{Family}/{params}/{build}/{output}.{ext}       outputs, never rewritten
    {root}/{Family}/{params}/{build}/_meta.json           saveMeta()
    {root}/{Family}/{params}/{build}/_commit.{V}.{I}.{R}.json   the commit marker

``{params}`` is readable (``model=ols,n=3``) and ends with a hash of the
canonical parameters, so two parameter sets never share a folder.  ``{build}``
is a fresh name per build (UTC time plus random), so two writers of one task
never touch each other's files.  The marker is written last, atomically
(temp file and rename on local disk; a single PUT elsewhere), and its *name*
holds all that freshness needs: the task version ``V`` (code and parameters),
the identity of its inputs ``I`` and of its outputs ``R``.  One recursive
listing per family is therefore enough to decide freshness; marker bodies are
read only to explain.

What stays true: a build without a marker is never used; existence checks
treat only "not found" as missing, any other failure is a StorageError naming
the root, never "stale".
"""

from __future__ import annotations

import datetime
import hashlib
import json
import re
import secrets
from dataclasses import dataclass, field

import fsspec

from . import config
from .errors import NotBuiltError, StorageError
from .formats import Format

__all__ = ["Store", "Commit", "Target", "default_store", "MARKER_PREFIX", "META_NAME"]

MARKER_PREFIX = "_commit."
META_NAME = "_meta.json"
_CREDENTIALS = re.compile(r"(?<=://)[^/@]*@")


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


def _mtime(info: dict) -> float:
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


def _stamp(info: dict) -> str:
    etag = info.get("ETag") or info.get("etag")
    return str(etag).strip('"') if etag else repr(_mtime(info))


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
        try:
            self.fs, root = fsspec.core.url_to_fs(self.url, **self.storage_options)
        except ImportError as exc:
            raise StorageError(f"cannot open storage root {self.display}: {exc}") from exc
        except (ValueError, TypeError, OSError) as exc:
            raise StorageError(f"cannot open storage root {self.display}: {exc}") from exc
        self.root = root.rstrip("/")
        self.local = "file" in _protocols(self.fs)

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

    def _error(self, action: str, path: str, exc: Exception) -> StorageError:
        return StorageError(f"{action} {path!r} under storage root {self.display} failed: "
                            f"{type(exc).__name__}: {_CREDENTIALS.sub('', str(exc))}")

    # -- layout -----------------------------------------------------------------
    def family_path(self, family: str) -> str:
        return f"{self.root}/{family}"

    def task_path(self, family: str, param_dir: str) -> str:
        return f"{self.root}/{family}/{param_dir}"

    def new_build(self, family: str, param_dir: str) -> str:
        stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%S.%f")
        path = f"{self.task_path(family, param_dir)}/{stamp}-{secrets.token_hex(4)}"
        if self.local:
            try:
                self.fs.makedirs(path, exist_ok=True)
            except OSError as exc:
                raise self._error("creating", path, exc) from exc
        return path

    # -- listing ------------------------------------------------------------------
    def list_family(self, family: str) -> dict[str, list[Commit]]:
        """Committed builds of a family by parameter folder, oldest first: one listing."""
        base = self.family_path(family)
        try:
            found = self.fs.find(base, detail=True)
        except FileNotFoundError:
            return {}
        except Exception as exc:
            raise self._error("listing", base, exc) from exc
        return _parse_listing(base, found)

    def list_task(self, family: str, param_dir: str) -> list[Commit]:
        """Committed builds of one task (one parameter folder), oldest first."""
        base = self.family_path(family)
        path = self.task_path(family, param_dir)
        try:
            found = self.fs.find(path, detail=True)
        except FileNotFoundError:
            return []
        except Exception as exc:
            raise self._error("listing", path, exc) from exc
        return _parse_listing(base, found).get(param_dir, [])

    def list_families(self) -> list[str]:
        """Folder names directly under the root (task families that stored something)."""
        try:
            entries = self.fs.ls(self.root, detail=True)
        except FileNotFoundError:
            return []
        except Exception as exc:
            raise self._error("listing", self.root, exc) from exc
        return sorted(e["name"].rstrip("/").rsplit("/", 1)[-1] for e in entries if e.get("type") == "directory")

    # -- writing ------------------------------------------------------------------
    def write(self, path: str, data: bytes) -> str:
        """Write ``data`` whole (one PUT on object stores); return its sha256."""
        try:
            self.fs.pipe_file(path, data)
        except Exception as exc:
            raise self._error("writing", path, exc) from exc
        return hashlib.sha256(data).hexdigest()

    def commit(self, build_path: str, version: str, inputs: str, result: str, body: dict) -> str:
        """Write the commit marker of a build last and atomically; return its path."""
        marker = f"{build_path}/{MARKER_PREFIX}{version}.{inputs}.{result}.json"
        data = json.dumps(body, sort_keys=True, indent=1, default=str).encode()
        try:
            if self.local:
                tmp = f"{build_path}/.tmp-{secrets.token_hex(4)}"
                self.fs.pipe_file(tmp, data)
                self.fs.mv(tmp, marker)
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
                               f"{type(exc).__name__}: {_CREDENTIALS.sub('', str(exc))}") from exc

    def remove_build(self, commit: Commit) -> None:
        """Remove a build: its marker first, so a half-removed build never looks fresh."""
        try:
            self.fs.rm_file(commit.marker)
            self.fs.rm(commit.path, recursive=True)
        except FileNotFoundError:
            pass
        except Exception as exc:
            raise self._error("removing", commit.path, exc) from exc

    # -- reading ------------------------------------------------------------------
    def open(self, path: str):
        try:
            return self.fs.open(path, "rb")
        except FileNotFoundError:
            raise
        except Exception as exc:
            raise self._error("opening", path, exc) from exc

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


def _protocols(fs) -> tuple:
    proto = fs.protocol
    return proto if isinstance(proto, tuple) else (proto,)


def _parse_listing(base: str, found: dict) -> dict[str, list[Commit]]:
    """Group a recursive listing of a family folder into committed builds."""
    builds: dict[tuple[str, str], dict] = {}
    markers: dict[tuple[str, str], tuple[str, dict]] = {}
    cut = len(base) + 1
    for path, info in found.items():
        parts = path[cut:].split("/", 2)
        if len(parts) < 3:
            continue
        param_dir, build, name = parts
        if name.startswith(MARKER_PREFIX):
            markers[(param_dir, build)] = (path, info)
        elif not name.startswith(".tmp-"):
            builds.setdefault((param_dir, build), {})[name] = (info.get("size"), _stamp(info), _mtime(info))
    out: dict[str, list[Commit]] = {}
    for (param_dir, build), (path, info) in sorted(markers.items()):
        fields = path.rsplit("/", 1)[1][len(MARKER_PREFIX):].split(".")
        if len(fields) != 4 or fields[3] != "json":
            continue  # a foreign file that only looks like a marker
        version, inputs, result, _ = fields
        out.setdefault(param_dir, []).append(Commit(
            param_dir, build, version, inputs, result, path, _mtime(info),
            builds.get((param_dir, build), {})))
    return out


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
    def path(self) -> str:
        if self._path is None:
            raise NotBuiltError(f"{self.task!r} is not built for today's code and parameters "
                                f"({self.reason}); run it first: daskflow.run(task)")
        return self._path

    def exists(self) -> bool:
        return self._path is not None

    def load(self, cached: bool = False):
        """Load the output (``cached`` is accepted for d6tflow compatibility)."""
        path = self.path
        try:
            if self.format.load_path is not None:  # a folder format (see formats.Format.write)
                return self.format.load_path(self.store.fs, path)
            with self.store.open(path) as f:
                return self.format.load(f)
        except FileNotFoundError as exc:
            raise NotBuiltError(f"{self.task!r}: output {path} vanished after it was committed; "
                                f"run the task again") from exc

    def __repr__(self) -> str:
        return f"Target({self._path or '<not built>'}, {self.format.name})"
