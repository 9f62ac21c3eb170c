"""A d6tflow target class as an output format: ``target_class = TxtTarget`` on a task.

Imports only the standard library and ``formats.base``.  d6tflow's way to add a
format is a target class (a subclass of ``d6tflow.targets.DataTarget`` whose
``save(obj)`` writes ``self.path`` and whose ``load()`` reads it) named by a
task class's ``target_class``, with its extension in ``target_ext``.
:func:`target_format` makes a :class:`~daskflow.Format` of such a class, one
per class: ``dumps`` lets the target write a scratch file and returns its
bytes (the build is then committed as any other), ``load`` hands the target
the stored file's path (a local root), or a scratch copy of its bytes.
"""

from __future__ import annotations

import os
import shutil
import tempfile

from .base import Format

__all__ = ["target_format"]

_MADE: dict = {}


def target_format(target_class: type, ext: str) -> Format:
    """The format that saves and loads through ``target_class`` (files ending ``.{ext}``)."""
    key = (target_class, ext)
    made = _MADE.get(key)
    if made is None:
        made = _MADE[key] = type(f"{target_class.__name__}Format", (_TargetFormat,), {
            "name": f"target {target_class.__module__}.{target_class.__qualname__}", "ext": ext,
            "target_class": target_class})()
    return made


class _TargetFormat(Format):
    target_class: type

    def dumps(self, obj, **options) -> bytes:
        folder = tempfile.mkdtemp(prefix="daskflow-target-")
        try:
            path = os.path.join(folder, f"data.{self.ext}")
            self.target_class(path).save(obj, **options)
            with open(path, "rb") as f:
                return f.read()
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def load(self, file, **options):
        name = getattr(file, "name", None)
        if isinstance(name, str) and name.endswith(f".{self.ext}") and os.path.isfile(name):
            return self.target_class(name).load(**options)  # the stored file itself (local)
        folder = tempfile.mkdtemp(prefix="daskflow-target-")
        try:
            path = os.path.join(folder, f"data.{self.ext}")
            with open(path, "wb") as f:
                shutil.copyfileobj(file, f)
            return self.target_class(path).load(**options)
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def __reduce__(self):  # workers rebuild the same format from its target class
        return target_format, (self.target_class, self.ext)
