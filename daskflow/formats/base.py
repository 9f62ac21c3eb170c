"""The format protocol and the registry of formats by name.

Imports only ``daskflow.errors``.  A format is a class with ``name``, ``ext``,
``check(obj)`` (raise TypeError for a value it cannot write), ``dumps(obj,
**options) -> bytes`` and ``load(file, **options)``; ``options`` are the
keyword arguments a user gives ``save(obj, **options)`` and ``load(**options)``
(the writer's and reader's own, e.g. ``to_csv``/``read_csv``).  A format never
touches paths or filesystems: storage writes the bytes (so it can digest them
and commit atomically on any fsspec filesystem) and opens the file it loads
from.  A format whose library is optional names it in ``requires``; using it
without the library is one error naming the package to install.
"""

from __future__ import annotations

import importlib

from ..errors import SaveError

__all__ = ["Format", "register_format", "get_format", "FORMATS", "dumps", "load"]

FORMATS: dict[str, type["Format"]] = {}


def register_format(cls: type["Format"]) -> type["Format"]:
    """Register a format class under ``cls.name`` (usable as a class decorator).

    Examples
    --------
    >>> import daskflow
    >>> @daskflow.register_format
    ... class Text(daskflow.Format):
    ...     name, ext = "text", "txt"
    ...     def dumps(self, obj, **options):
    ...         return str(obj).encode()
    ...     def load(self, file, **options):
    ...         return file.read().decode()
    >>> daskflow.formats.get_format("text")
    <format text>
    """
    if not getattr(cls, "name", None) or not getattr(cls, "ext", None):
        raise TypeError(f"format {cls.__name__} needs a `name` and an `ext`")
    FORMATS[cls.name] = cls
    return cls


def get_format(name) -> "Format":
    """Return a format instance by name (or pass a Format instance or class through)."""
    if isinstance(name, Format):
        return name
    if isinstance(name, type) and issubclass(name, Format):
        return name()
    try:
        return FORMATS[name]()
    except (KeyError, TypeError):
        raise SaveError(f"unknown output format {name!r}; registered formats: "
                        f"{', '.join(sorted(FORMATS))}") from None


class Format:
    """Base of output formats; subclasses override ``check``, ``dumps`` and ``load``."""

    name: str = ""
    ext: str = ""
    #: optional packages this format needs (import names), checked on first use
    requires: tuple = ()
    #: False for a format whose values are never written (``TaskCache``: they travel in the graph)
    stored = True

    def check(self, obj) -> None:
        """Raise TypeError when ``obj`` cannot be written in this format."""

    def dumps(self, obj, **options) -> bytes:
        raise NotImplementedError

    def load(self, file, **options):
        raise NotImplementedError

    #: A format stored as a folder of files (partitioned parquet...) sets these two instead of
    #: ``dumps``/``load``: ``write(obj, fs, path) -> digest`` writes the folder at ``path`` and
    #: returns a digest of what it wrote; ``load_path(fs, path)`` reads it back.
    write = None
    load_path = None

    def need(self) -> None:
        """Raise ModuleNotFoundError naming the package to install when one is missing."""
        for package in self.requires:
            try:
                importlib.import_module(package)
            except ModuleNotFoundError:
                raise ModuleNotFoundError(
                    f"the {self.name} format needs the package {package!r}, which is not "
                    f"installed: pip install {package}", name=package) from None

    def __repr__(self) -> str:
        return f"<format {self.name}>"


def dumps(fmt: Format, obj, options: dict, found: dict | None = None) -> bytes:
    """``fmt.dumps(obj, **options)``, without options for a format written before they existed;
    a pickling format records in ``found`` the classes and functions its bytes name."""
    fmt.need()
    if found is not None and hasattr(fmt, "dumps_recording"):
        return fmt.dumps_recording(obj, found, **options)
    return fmt.dumps(obj, **options) if options else fmt.dumps(obj)


def load(fmt: Format, file, options: dict):
    """``fmt.load(file, **options)`` (see :func:`dumps`)."""
    fmt.need()
    return fmt.load(file, **options) if options else fmt.load(file)
