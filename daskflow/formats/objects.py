"""Formats for any Python object: pickle and JSON.

Imports ``formats.base``, ``picklerefs`` and the standard library.  JSON keeps the order of
a dict's keys (the reader gets back what was saved); options go to
``json.dumps``/``json.load`` and ``pickle.dumps``/``pickle.load``.
"""

from __future__ import annotations

import json
import pickle

from .. import picklerefs
from .base import Format, register_format

__all__ = ["Pickle", "JSON"]


@register_format
class Pickle(Format):
    """Any picklable object."""

    name, ext = "pickle", "pkl"

    def dumps(self, obj, **options) -> bytes:
        return self._pickle(obj, {}, options)

    def dumps_recording(self, obj, found: dict, **options) -> bytes:
        """``dumps``, recording the classes and functions the bytes name in ``found``
        (``daskflow.picklerefs``): a task's result counts their code.  A subclass with its
        own ``dumps`` (gzip...) is called as it is, recording nothing."""
        if type(self).dumps is not Pickle.dumps:
            return self.dumps(obj, **options)
        return self._pickle(obj, found, options)

    @staticmethod
    def _pickle(obj, found: dict, options: dict) -> bytes:
        try:
            return picklerefs.dumps(obj, found, **{"protocol": pickle.HIGHEST_PROTOCOL, **options})
        except (pickle.PicklingError, TypeError, AttributeError) as exc:
            raise TypeError(f"cannot pickle {type(obj).__name__}: {exc}") from exc

    def load(self, file, **options):
        return pickle.load(file, **options)


@register_format
class JSON(Format):
    """A JSON-serialisable object (dicts, lists, strings, numbers); key order is kept."""

    name, ext = "json", "json"

    def dumps(self, obj, **options) -> bytes:
        return json.dumps(obj, **options).encode()

    def load(self, file, **options):
        return json.load(file, **options)
