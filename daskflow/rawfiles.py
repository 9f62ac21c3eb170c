"""Raw input files: files and folders no task produces, as first-class inputs.

Imports ``canonical``, ``config``, ``errors``, ``params``, ``storage`` and ``task``; files are
listed through a ``storage.Store``'s filesystem, with the root's options on S3.  Two spellings, one mechanism:

- :class:`ExternalFile` is a task for data someone drops in place
  (``ExternalFile(path="data/raw.csv")``, or a subclass with a
  ``path = PathParameter(default=...)``); tasks ``require()`` it and read
  ``self.input().path``;
- a :class:`daskflow.PathParameter` on a task makes the plan add the
  matching ``ExternalFile`` as an upstream of that task.

An ExternalFile never runs.  At plan time its *listing identity* (size and
mtime locally; size and ETag on S3; for a folder, that of every file under
it) is its result, so it is part of the *inputs* of the tasks that read it,
like an upstream result: a changed file reruns them (``why()``: ``input file
data/raw.csv changed (size 1.2 MB -> 1.3 MB, modified 10:02 -> 11:40)``) and
putting the old file back (same size and mtime) finds the old build.
Listings are batched: one listing per parent folder (one LIST on S3, never a
HEAD per file), one recursive listing per folder input.  A relative path is
relative to the project folder (see ``config.project_dir``).
"""

from __future__ import annotations

import datetime
import os
import sys

from . import canonical
from .config import project_dir
from .errors import MissingExternalError, StorageError, TaskDefinitionError
from .params import PathParameter
from .storage import Store, Target
from .task import Task, set_foreign_adapter

__all__ = ["ExternalFile", "LuigiInput", "build_luigi", "list_identities", "changed_message", "raw_inputs", "file_status"]


class ExternalFile(Task):
    """A file or folder that no task produces: its listing identity is its result.

    Parameters
    ----------
    path : str
        Local path (relative to the project folder) or URL (``s3://bucket/key``,
        opened with the storage root's options when the root is on S3).

    Examples
    --------
    >>> import daskflow, pandas as pd
    >>> class Clean(daskflow.tasks.TaskPqPandas):
    ...     def requires(self):
    ...         return daskflow.tasks.ExternalFile(path="data/raw.csv")
    ...     def run(self):
    ...         self.save(pd.read_csv(self.input().path))
    """

    path = PathParameter()
    external = True
    raw_file = True
    persist = []

    def output(self):
        from .storage import default_store

        return FileTarget(self.path, default_store())

    def outputLoad(self, keys=None, as_dict=False, cached=False):
        """The file's bytes (a folder cannot be loaded whole: read ``output().path``)."""
        return self.output().load()

    def run(self):  # pragma: no cover - an external task never runs
        raise NotImplementedError(f"{self!r} is a raw input: daskflow never runs it")


class LuigiInput(ExternalFile):
    """A luigi task in a ``requires()`` (d6tflow allows any): its output, one
    ``luigi.LocalTarget``, is a raw input file, and ``self.input()`` is that target
    (``.path``, ``.open()``).  ``daskflow.run`` builds a missing one with luigi first
    (:func:`build_luigi`); a ``luigi.ExternalTask``'s missing file is an error."""

    raw_file = True

    def output(self):
        return self.__dict__["luigi_task"].output()

    def __reduce__(self):  # to a worker (processes, a cluster): with its luigi task
        return _luigi_input, (self.path, self.__dict__["luigi_task"])

    def outputLoad(self, keys=None, as_dict=False, cached=False):
        with open(resolve(self.path), "rb") as f:
            return f.read()


def _luigi_input(path: str, luigi_task) -> LuigiInput:
    task = LuigiInput(path=path)
    task.__dict__["luigi_task"] = luigi_task
    return task


def _adapt(obj):
    """``obj`` as a task of requires(): a luigi task becomes its :class:`LuigiInput`."""
    luigi = sys.modules.get("luigi")
    if luigi is None or not isinstance(obj, luigi.Task):
        return obj
    target = obj.output()
    path = getattr(target, "path", None)
    if not isinstance(path, str):
        raise TaskDefinitionError(f"luigi task {obj!r} in a requires(): its output() must be one "
                                  f"luigi.LocalTarget (got {target!r}); or use daskflow.tasks.ExternalFile")
    return _luigi_input(os.path.abspath(path), obj)


set_foreign_adapter(_adapt)


def build_luigi(nodes) -> bool:
    """Build, with luigi's local scheduler, the luigi tasks (not external) whose output is
    missing among ``nodes`` (plan nodes); True if any was built.  A failed luigi build is a
    MissingExternalError naming them."""
    luigi = sys.modules.get("luigi")
    todo = [n.task.__dict__["luigi_task"] for n in nodes if isinstance(n.task, LuigiInput)
            and n.status == "missing" and "luigi_task" in n.task.__dict__]
    todo = [t for t in todo if not isinstance(t, luigi.ExternalTask)]
    if not todo:
        return False
    if not luigi.build(todo, local_scheduler=True, log_level="WARNING"):
        raise MissingExternalError(f"luigi could not build {', '.join(map(repr, todo))}, upstream of "
                                   f"daskflow tasks (see luigi's log)")
    return True


class FileTarget(Target):
    """The target of a raw input: ``path`` (as resolved), ``load()`` gives the bytes."""

    def __init__(self, path: str, store: Store):
        self._path = resolve(path)
        self.store = store  # the root's options open s3:// inputs on the same server
        self.task = None
        self.format = None
        self.reason = ""

    def load(self, cached: bool = False) -> bytes:
        fs, inner = _fs(self._path, self.store)
        with fs.open(inner, "rb") as f:
            return f.read()

    def __repr__(self) -> str:
        return f"FileTarget({self._path})"


def raw_inputs(task: Task) -> list:
    """The ExternalFile tasks a task's PathParameter values name, in parameter order."""
    defs = type(task)._param_defs
    out = []
    for name, value in task.significant_params().items():
        if isinstance(defs[name], PathParameter) and value is not None and not getattr(task, "raw_file", False):
            out.append(ExternalFile(path=value))
    return out


def resolve(path: str) -> str:
    """A URL as given; a local relative path made absolute from the project folder."""
    if "://" in path or os.path.isabs(path):
        return path
    return os.path.join(str(project_dir()), path)


def _fs(url: str, store: Store):
    """The filesystem and path of a raw input, opened by ``storage`` (the one module that
    talks to fsspec); s3:// inputs with the root's options when the root is on S3."""
    s3 = url.startswith(("s3://", "s3a://"))
    where = Store(url, dict(store.storage_options) if store.s3 and s3 else {})
    return where.fs, where.root


def _identity(info: dict) -> dict:
    """What counts of one listing entry: size, and ETag (S3) or mtime (local)."""
    etag = info.get("ETag") or info.get("etag")
    mtime = info.get("mtime") or info.get("LastModified") or info.get("last_modified") or info.get("created")
    if isinstance(mtime, datetime.datetime):
        mtime = mtime.timestamp()
    out = {"size": info.get("size")}
    if etag:
        out["etag"] = str(etag).strip('"')
    if mtime is not None:
        out["mtime"] = float(mtime)
    return out


def list_identities(paths: list, store: Store) -> dict:
    """``{path: identity dict or None (missing)}``: one listing per parent folder, one
    recursive listing per folder input."""
    by_parent: dict = {}
    for path in dict.fromkeys(paths):
        url = resolve(path)
        fs, inner = _fs(url, store)
        protocol = url.split("://", 1)[0] if "://" in url else "file"
        by_parent.setdefault((protocol, inner.rstrip("/").rsplit("/", 1)[0] or "/"), (fs, []))[1].append(
            (path, inner.rstrip("/")))
    out = {}
    for (_, parent), (fs, items) in by_parent.items():
        try:
            entries = {e["name"].rstrip("/"): e for e in fs.ls(parent, detail=True)}
        except FileNotFoundError:  # only "not found" means missing; anything else is reported
            entries = {}
        except Exception as exc:
            raise StorageError(f"cannot list raw input folder {parent} (for {items[0][0]}): "
                               f"{type(exc).__name__}: {store.scrub(exc)}") from exc
        for path, inner in items:
            entry = entries.get(inner) or entries.get(fs._strip_protocol(inner).rstrip("/"))
            if entry is None:
                out[path] = None
            elif entry.get("type") == "directory":
                files = fs.find(inner, detail=True)
                listing = sorted((k[len(inner):], _identity(v)) for k, v in files.items())
                size = sum(i.get("size") or 0 for _, i in listing)
                mtime = max((i.get("mtime") or 0 for _, i in listing), default=0.0)
                out[path] = {"size": size, "mtime": mtime, "files": len(listing),
                             "digest": canonical.digest(canonical.encode(
                                 [(k, sorted(i.items())) for k, i in listing]))[:16]}
            else:
                out[path] = _identity(entry)
    return out


def file_status(path: str, identities: dict) -> tuple:
    """``(status, result, file_info, reason or None)`` of a raw input, from the plan's listing."""
    identity = identities.get(path)
    if identity is None:
        return "missing", None, {}, ("missing-external", f"input file missing: {path}", {"path": path})
    return "external", result_of(identity), {"file": dict(identity, path=path)}, None


def result_of(identity: dict) -> str:
    """The result token of a raw input: a digest of its listing identity."""
    keep = {k: identity[k] for k in ("size", "etag", "digest") if k in identity}
    if "etag" not in identity and "digest" not in identity:
        keep["mtime"] = identity.get("mtime")
    return canonical.digest(canonical.encode(keep))[:16]


def _size(n) -> str:
    if n is None:
        return "?"
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000.0


def _time(t) -> str:
    if not t:
        return "?"
    stamp = datetime.datetime.fromtimestamp(t)
    return stamp.strftime("%H:%M:%S" if stamp.date() == datetime.date.today() else "%Y-%m-%d %H:%M")


def changed_message(before: dict | None, node) -> str:
    """``input file data/raw.csv changed (size 1.2 MB -> 1.3 MB, modified 10:02 -> 11:40)``."""
    after = node.file_info.get("file", {})
    path = after.get("path") or node.task.path
    kind = "folder" if "files" in after else "file"
    if not before:
        return f"input {kind} {path} changed"
    pieces = []
    if before.get("size") != after.get("size"):
        pieces.append(f"size {_size(before.get('size'))} -> {_size(after.get('size'))}")
    if before.get("files") != after.get("files") and "files" in after:
        pieces.append(f"files {before.get('files')} -> {after.get('files')}")
    if before.get("mtime") != after.get("mtime"):
        pieces.append(f"modified {_time(before.get('mtime'))} -> {_time(after.get('mtime'))}")
    if before.get("etag") != after.get("etag") and not pieces:
        pieces.append("content changed (ETag)")
    return f"input {kind} {path} changed ({', '.join(pieces) or 'listing identity'})"
