"""A task's output as users see it: ``load()``, ``exists()``, ``path``.

Imports ``errors`` and ``formats``; the store it reads through is handed in
(``daskflow.storage.Store``, which re-exports :class:`Target`).  A load that
fails in the format (a corrupt pickle, a truncated parquet) is one LoadError
naming the task, the output and the path, with the format's exception as
``__cause__``; an output that vanished is a NotBuiltError.
"""

from __future__ import annotations

from .errors import LoadError, NotBuiltError, StorageError
from .formats import Format

__all__ = ["Target"]


class Target:
    """One output of a task: ``load()``, ``exists()``, ``path``.

    A target of a task that is not built for today's code and parameters has
    no path; loading it raises NotBuiltError naming the task.
    """

    def __init__(self, store, path: str | None, fmt: Format, task=None, reason: str = "",
                 name: str = ""):
        self.store = store
        self._path = path
        self.format = fmt
        self.task = task
        self.reason = reason
        self.name = name  # the output's name, for messages

    @property
    def path(self) -> str:
        if self._path is None:
            raise NotBuiltError(f"{self.task!r} is not built for today's code and parameters "
                                f"({self.reason}); run it first: daskflow.run(task)")
        return self._path

    def exists(self) -> bool:
        return self._path is not None

    def load(self, cached: bool = False):
        """Load the output (``cached`` is accepted for d6tflow compatibility)."""
        path = self.path
        try:
            if self.format.load_path is not None:  # a folder format (see formats.Format.write)
                return self.format.load_path(self.store.fs, path)
            with self.store.open(path) as f:
                return self.format.load(f)
        except FileNotFoundError as exc:
            raise NotBuiltError(f"{self.task!r}: output {path} vanished after it was committed; "
                                f"run the task again") from exc
        except (StorageError, MemoryError):
            raise
        except Exception as exc:  # a corrupt pickle, a truncated parquet: one error naming it
            name = self.name or "output"
            raise LoadError(f"{self.task!r}: cannot load output {name!r} ({self.format.name}) from "
                            f"{self.store.scrub(path)}: {type(exc).__name__}: {self.store.scrub(exc)}; "
                            f"the stored file is damaged: invalidate the task and run it again") from exc

    def __repr__(self) -> str:
        return f"Target({self._path or '<not built>'}, {self.format.name})"
