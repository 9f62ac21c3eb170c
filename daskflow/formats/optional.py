"""Formats whose library is optional: Excel (openpyxl) and HDF5 (tables).

Imports ``formats.base`` and ``formats.frames``; pandas and the optional
library only when used.  Without the library, saving or loading is one error
naming the package to install (``Format.need``), never an ImportError from
deep inside pandas.
"""

from __future__ import annotations

import io
import os
import tempfile

from .base import Format, register_format
from .frames import check_frame

__all__ = ["Excel", "HDF5"]


class _OptionalFrame(Format):
    """A DataFrame format whose library may be missing: checked when a task saves."""

    def check(self, obj) -> None:
        check_frame(self, obj)
        self.need()


@register_format
class Excel(_OptionalFrame):
    """A pandas DataFrame as an Excel workbook (openpyxl); options go to ``to_excel``/``read_excel``."""

    name, ext = "excel", "xlsx"
    requires = ("openpyxl",)

    def dumps(self, obj, **options) -> bytes:
        buf = io.BytesIO()
        obj.to_excel(buf, **{"index": False, "engine": "openpyxl", **options})
        return buf.getvalue()

    def load(self, file, **options):
        import pandas as pd

        return pd.read_excel(file, **{"engine": "openpyxl", **options})


@register_format
class HDF5(_OptionalFrame):
    """A pandas DataFrame in an HDF5 file (PyTables); the index is kept."""

    name, ext = "hdf5", "h5"
    requires = ("tables",)

    def dumps(self, obj, **options) -> bytes:
        # PyTables writes only to a named file: a private temporary one, read back whole
        fd, path = tempfile.mkstemp(suffix=".h5")
        os.close(fd)
        try:
            obj.to_hdf(path, **{"key": "data", "mode": "w", **options})
            with open(path, "rb") as f:
                return f.read()
        finally:
            os.unlink(path)

    def load(self, file, **options):
        import pandas as pd

        fd, path = tempfile.mkstemp(suffix=".h5")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(file.read())
            return pd.read_hdf(path, **{"key": "data", **options})
        finally:
            os.unlink(path)
