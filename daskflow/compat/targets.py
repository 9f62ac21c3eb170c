"""d6tflow's ``targets``: a file in one format, usable on its own, outside any task.

Imports ``errors``, ``formats``, ``storage`` and ``task``.  ``CSVPandasTarget(path)``
and friends ``save(obj, **options)`` (returning the path), ``load(**options)``,
``exists()`` and ``invalidate()``.  ``path`` is a ``pathlib.Path`` for a local
file and the URL otherwise (any fsspec URL works).  With
``daskflow.settings.cached`` (or ``load(cached=True)``) what is saved and
loaded is also kept in ``daskflow.data``, by path.  These targets write the
file in place, with no commit marker: tasks' outputs go through daskflow's
atomic commits instead.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import NotBuiltError
from ..formats import dumps, get_format, load
from ..storage import Store
from ..task import options_for

__all__ = ["DataTarget", "FileTarget", "CSVPandasTarget", "CSVGZPandasTarget", "PqPandasTarget", "ExcelPandasTarget",
           "H5PandasTarget", "PickleTarget", "JsonTarget", "CacheTarget", "PdCacheTarget", "data"]

#: values kept by the targets when ``daskflow.settings.cached`` is on (d6tflow's ``d6tflow.data``)
data: dict = {}


def _cached_setting() -> bool:
    from .settings import settings

    return settings.cached


class FileTarget:
    """One file in one format, outside any task.

    Parameters
    ----------
    path : str or os.PathLike
        A local path or any fsspec URL.
    storage_options : optional
        For the filesystem; default: those of the root in force when ``path``
        is on the same kind of storage (an ``s3://`` path under an ``s3://`` root).

    Examples
    --------
    >>> import daskflow as d6tflow, pandas as pd, tempfile, os
    >>> t = d6tflow.targets.CSVPandasTarget(os.path.join(tempfile.mkdtemp(), "x.csv"))
    >>> t.save(pd.DataFrame({"a": [1, 2]})) == t.path
    True
    >>> t.load()["a"].tolist()
    [1, 2]
    """

    format = "pickle"

    def __init__(self, path, **storage_options):
        text = os.fspath(path)
        self.path = Path(text) if "://" not in text else text
        parent, _, self._name = text.rstrip("/").rpartition("/")
        self._store = Store(parent or ".", storage_options or options_for(text))
        self._fmt = get_format(self.format)

    @property
    def _full(self) -> str:
        return f"{self._store.root}/{self._name}"

    def exists(self) -> bool:
        return self._store.checksum(self._full) is not None

    def save(self, obj, **options):
        """Write ``obj`` (options go to the format's writer); return ``path``."""
        self._fmt.check(obj)
        payload = dumps(self._fmt, obj, options)
        if self._store.local:
            os.makedirs(self._store.root, exist_ok=True)
        self._store.write(self._full, payload)
        if _cached_setting():
            data[self.path] = obj
        return self.path

    def load(self, cached: bool = False, **options):
        """Read the file (options go to the format's reader)."""
        keep = cached or _cached_setting()
        if keep and self.path in data:
            return data[self.path]
        try:
            with self._store.open(self._full) as f:
                obj = load(self._fmt, f, options)
        except FileNotFoundError:
            raise NotBuiltError(f"{type(self).__name__}: no file at {self.path}") from None
        if keep:
            data[self.path] = obj
        return obj

    def invalidate(self) -> bool:
        """Remove the file (and its kept value); True when it is gone."""
        data.pop(self.path, None)
        if self.exists():
            self._store.remove_build(self._full)
        return not self.exists()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.path)!r})"


class CSVPandasTarget(FileTarget):
    """A pandas DataFrame as CSV."""

    format = "csv"


class CSVGZPandasTarget(FileTarget):
    """A pandas DataFrame as gzipped CSV."""

    format = "csvgz"


class PqPandasTarget(FileTarget):
    """A pandas DataFrame as parquet."""

    format = "parquet"


class ExcelPandasTarget(FileTarget):
    """A pandas DataFrame as an Excel workbook (needs openpyxl)."""

    format = "excel"


class H5PandasTarget(FileTarget):
    """A pandas DataFrame as HDF5 (needs tables)."""

    format = "hdf5"


class PickleTarget(FileTarget):
    """Any picklable object."""

    format = "pickle"


class JsonTarget(FileTarget):
    """A JSON-serialisable object."""

    format = "json"


class DataTarget:
    """d6tflow's base of a custom target: a local file that a subclass writes and reads.

    A subclass's ``save(obj, **options)`` writes ``self.path`` (a ``pathlib.Path``)
    and returns it; its ``load(cached=False, **options)`` calls
    ``super().load(reader, cached, **options)``, where ``reader(path, **options)``
    reads the file.  Name it in a task class's ``target_class`` (with
    ``target_ext``) and the task's outputs are written and read through it,
    committed as any build (:mod:`daskflow.formats.targets`).
    """

    def __init__(self, path=None):
        self.path = Path(path)

    def exists(self) -> bool:
        return self.path.exists()

    def load(self, fun, cached: bool = False, **options):
        """``fun(self.path, **options)``, kept in ``daskflow.data`` when cached."""
        keep = cached or _cached_setting()
        if keep and self.path in data:
            return data[self.path]
        if not self.path.exists():
            raise NotBuiltError(f"{type(self).__name__}: no file at {self.path}")
        obj = fun(self.path, **options)
        if keep:
            data[self.path] = obj
        return obj

    def save(self, obj, fun, **options):
        """``obj.<fun>(self.path, **options)`` (``fun="to_csv"``); return the path."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        getattr(obj, fun)(self.path, **options)
        return self.path

    def invalidate(self) -> bool:
        data.pop(self.path, None)
        if self.path.exists():
            self.path.unlink()
        return True

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.path)!r})"


class CacheTarget:
    """A value kept in ``daskflow.data`` under a name, never written (d6tflow's CacheTarget)."""

    def __init__(self, path):
        self.path = path

    def exists(self) -> bool:
        return self.path in data

    def save(self, obj):
        data[self.path] = obj
        return self.path

    def load(self, cached: bool = True):
        if self.path not in data:
            raise NotBuiltError(f"CacheTarget({self.path!r}) holds no value in this process")
        return data[self.path]

    def invalidate(self) -> bool:
        data.pop(self.path, None)
        return True


PdCacheTarget = CacheTarget
