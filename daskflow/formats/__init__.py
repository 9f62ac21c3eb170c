"""Output formats: small classes that turn an object into bytes and back, registered by name.

Imports only ``daskflow.errors`` (through ``formats.base``); pandas and the
optional libraries are imported when a format is used.  One module per family:

- ``base``: the :class:`Format` protocol and the registry (``register_format``, ``get_format``);
- ``frames``: pandas DataFrames as ``parquet``, ``csv``, ``csvgz``;
- ``objects``: any object as ``pickle`` or ``json``;
- ``optional``: ``excel`` (needs openpyxl) and ``hdf5`` (needs tables);
- ``memory``: ``cache``, the values of ``TaskCache`` tasks, never stored;
- ``targets``: a d6tflow target class (``target_class`` on a task) as a format.

Add a format with :func:`register_format`::

    @daskflow.register_format
    class Feather(daskflow.Format):
        name, ext = "feather", "feather"
        def check(self, obj): ...
        def dumps(self, obj, **options): ...
        def load(self, file, **options): ...
"""

from .base import FORMATS, Format, dumps, get_format, load, register_format
from .targets import target_format
from . import frames, memory, objects, optional  # noqa: F401  (registers the formats)

__all__ = ["Format", "register_format", "get_format", "FORMATS", "dumps", "load", "target_format"]
