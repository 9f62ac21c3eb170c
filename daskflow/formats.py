"""Output formats: small classes that turn an object into bytes and back, by name.

Imports only ``daskflow.errors`` at module level; pandas is imported when a
pandas format is used.  A format is a class with ``name``, ``ext``,
``check(obj)`` (raise TypeError for a value it cannot write), ``dumps(obj)
-> bytes`` and ``load(file)``.  It never touches paths or filesystems:
storage writes the bytes (so it can digest them and commit atomically on any
fsspec filesystem) and opens the file it loads from.

Add a format with :func:`register_format`::

    @daskflow.register_format
    class Feather(daskflow.formats.Format):
        name, ext = "feather", "feather"
        def check(self, obj): ...
        def dumps(self, obj): ...
        def load(self, file): ...
"""

from __future__ import annotations

import io
import json
import pickle

from .errors import SaveError

__all__ = ["Format", "register_format", "get_format", "FORMATS"]

FORMATS: dict[str, type["Format"]] = {}


def register_format(cls: type["Format"]) -> type["Format"]:
    """Register a format class under ``cls.name`` (usable as a class decorator)."""
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
    except KeyError:
        raise SaveError(f"unknown output format {name!r}; registered formats: "
                        f"{', '.join(sorted(FORMATS))}") from None


class Format:
    """Base of output formats; subclasses override ``check``, ``dumps`` and ``load``."""

    name: str = ""
    ext: str = ""

    def check(self, obj) -> None:
        """Raise TypeError when ``obj`` cannot be written in this format."""

    def dumps(self, obj) -> bytes:
        raise NotImplementedError

    def load(self, file):
        raise NotImplementedError

    #: A format stored as a folder of files (partitioned parquet...) sets these two instead of
    #: ``dumps``/``load``: ``write(obj, fs, path) -> digest`` writes the folder at ``path`` and
    #: returns a digest of what it wrote; ``load_path(fs, path)`` reads it back.
    write = None
    load_path = None

    def __repr__(self) -> str:
        return f"<format {self.name}>"


def _check_frame(fmt: Format, obj) -> None:
    import pandas as pd

    if not isinstance(obj, pd.DataFrame):
        raise TypeError(f"{fmt.name} output needs a pandas DataFrame, got {type(obj).__name__}")


@register_format
class Parquet(Format):
    """A pandas DataFrame as parquet (pyarrow)."""

    name, ext = "parquet", "parquet"

    def check(self, obj) -> None:
        _check_frame(self, obj)

    def dumps(self, obj) -> bytes:
        buf = io.BytesIO()
        obj.to_parquet(buf, engine="pyarrow")
        return buf.getvalue()

    def load(self, file):
        import pandas as pd

        return pd.read_parquet(file, engine="pyarrow")


@register_format
class CSV(Format):
    """A pandas DataFrame as CSV, without the index."""

    name, ext = "csv", "csv"

    def check(self, obj) -> None:
        _check_frame(self, obj)

    def dumps(self, obj) -> bytes:
        return obj.to_csv(index=False).encode()

    def load(self, file):
        import pandas as pd

        return pd.read_csv(file)


@register_format
class Pickle(Format):
    """Any picklable object."""

    name, ext = "pickle", "pkl"

    def dumps(self, obj) -> bytes:
        try:
            return pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
        except (pickle.PicklingError, TypeError, AttributeError) as exc:
            raise TypeError(f"cannot pickle {type(obj).__name__}: {exc}") from exc

    def load(self, file):
        return pickle.load(file)


@register_format
class JSON(Format):
    """A JSON-serialisable object (dicts, lists, strings, numbers)."""

    name, ext = "json", "json"

    def dumps(self, obj) -> bytes:
        return json.dumps(obj, sort_keys=True).encode()

    def load(self, file):
        return json.load(file)
