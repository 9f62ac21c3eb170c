"""Reads that C code makes without Python's ``open``: pyarrow's readers.

Imports only ``observe`` and the standard library.  pandas 3 hands
``read_parquet(path)`` to pyarrow, which opens the file in C: the audit hook of
:mod:`daskflow.observe` never sees it.  :func:`wrap` (called by the executor
before each recorded ``run()``) wraps the readers of pandas (``read_parquet``,
``read_feather``, ``read_orc``) and of pyarrow (parquet, dataset, feather, ORC,
CSV, JSON) in the modules imported so far, once each, so each notes the local
file or dataset folder it is given (:func:`daskflow.observe.note_read`) before
reading.  A wrapped reader keeps its name and docs, pickles by the name its
module gives it, and costs a thread-local look-up outside a recorded run.  Not
seen: a reader bound before its module was wrapped (``from pandas import
read_parquet`` at the top of a module imported before the first run), another
file system's files, URLs.
"""

from __future__ import annotations

import functools
import inspect
import os
import sys
import threading

from .observe import Recorder, current, note_read

__all__ = ["wrap"]

_NATIVE = {  # module -> its readers (a class: by its __init__)
    "pandas": ("read_parquet", "read_feather", "read_orc"),
    "pyarrow.parquet": ("read_table", "read_pandas", "read_metadata", "read_schema", "ParquetFile",
                        "ParquetDataset"),
    "pyarrow.dataset": ("dataset", "parquet_dataset"),
    "pyarrow.feather": ("read_table", "read_feather"),
    "pyarrow.orc": ("read_table", "ORCFile"),
    "pyarrow.csv": ("read_csv", "open_csv"),
    "pyarrow.json": ("read_json",),
}
_SOURCE_NAMES = ("path", "source", "path_or_paths", "where", "input_file", "metadata_path")


_LOCK = threading.Lock()


def wrap() -> None:
    """Wrap the readers of the modules of :data:`_NATIVE` imported so far that are not
    wrapped (again after a test put an unwrapped one back); a mock is left alone."""
    with _LOCK:
        _wrap()


def _wrap() -> None:
    for name in [n for n in _NATIVE if n in sys.modules]:
        module = sys.modules[name]
        for attr in _NATIVE[name]:
            reader = getattr(module, attr, None)
            if isinstance(reader, type):  # a class (ParquetFile): the source is its __init__'s
                if inspect.isfunction(reader.__init__) and not getattr(reader.__init__, "__daskflow_reads__", False):
                    reader.__init__ = _noting_init(reader.__init__)
            elif inspect.isroutine(reader) and not getattr(reader, "__daskflow_reads__", False):
                setattr(module, attr, _Noting(reader, name, attr))


def _note(rec: Recorder, what, args: tuple, kwargs: dict, caller) -> None:
    """Note what a reader ``what`` called with ``args`` and ``kwargs`` for ``caller`` reads."""
    source = args[0] if args else next((kwargs[k] for k in _SOURCE_NAMES if k in kwargs), None)
    fs = kwargs.get("filesystem") or next((a for a in args[1:] if any(
        "FileSystem" in k.__name__ for k in type(a).__mro__)), None)  # ParquetDataset(path, fs)
    try:
        _native(rec, source, fs, caller)
    except Exception as exc:  # never into the user's read: the build records it cannot be trusted
        rec.broken = rec.broken or f"{getattr(what, '__qualname__', what)!s}({source!r:.120}): " \
                                   f"{type(exc).__name__}: {exc}"


class _Noting:
    """A reader that notes the local path(s) it is given, then reads; pickled by its
    module's name for it (the original keeps its own name where it is defined)."""

    __daskflow_reads__ = True

    def __init__(self, reader, module: str, attr: str):
        functools.update_wrapper(self, reader)
        self._reader, self._where = reader, (module, attr)

    def __call__(self, *args, **kwargs):
        rec = current()
        if rec is not None:
            _note(rec, self._reader, args, kwargs, sys._getframe(1))
        return self._reader(*args, **kwargs)

    def __reduce__(self):
        return _native_reader, self._where

    def __repr__(self) -> str:
        return repr(self._reader)


def _native_reader(module: str, attr: str):
    """A reader by the name its module gives it (what a pickled :class:`_Noting` is)."""
    import importlib

    return getattr(importlib.import_module(module), attr)


def _noting_init(init):
    @functools.wraps(init)
    def noting(self, *args, **kwargs):
        rec = current()
        if rec is not None:
            _note(rec, init, args, kwargs, sys._getframe(1))
        return init(self, *args, **kwargs)

    noting.__daskflow_reads__ = True
    return noting


def _native(rec: Recorder, source, filesystem, caller) -> None:
    """Note a native reader's ``source``: a local path or a list of them (an open file was
    seen when it was opened; another file system's, or a URL, is not a local file)."""
    if filesystem is not None and "local" not in type(filesystem).__name__.lower():
        return
    sources = list(source) if isinstance(source, (list, tuple)) else [source]
    paths = []
    for item in sources:
        if not isinstance(item, (str, os.PathLike)):
            return  # an open file or a buffer (the open was seen), or something else entirely
        text = os.fsdecode(os.fspath(item))
        if text.startswith("file://"):
            text = text[7:]
        elif "://" in text:
            return
        paths.append(os.path.abspath(text))
    for path in paths:
        note_read(rec, path, caller)


