"""The in-memory "format" of ``TaskCache``: values that are never written.

Imports ``formats.base``.  A task whose outputs have this format keeps them
as its dask node's result: they travel through the graph to the downstream
tasks and are never stored (see ``daskflow.tasks.TaskCache``).
"""

from __future__ import annotations

from .base import Format, register_format

__all__ = ["Memory"]


@register_format
class Memory(Format):
    """Any object, kept in memory as the task's graph result; never stored."""

    name, ext = "cache", "cache"
    stored = False

    def dumps(self, obj, **options) -> bytes:
        raise TypeError("the cache format is never written")

    def load(self, file, **options):
        raise TypeError("the cache format is never read from storage")
