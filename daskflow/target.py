"""A task's output as users see it: ``load()``, ``exists()``, ``path``.

Imports ``errors`` and ``formats``; the store it reads through is handed in
(``daskflow.storage.Store``, which re-exports :class:`Target`).  A load that
fails in the format (a corrupt pickle, a truncated parquet) is one LoadError
naming the task, the output and the path, with the format's exception as
``__cause__``; an output that vanished is a NotBuiltError.
"""

from __future__ import annotations

import functools
import inspect
import pathlib

from .errors import LoadError, NotBuiltError, StorageError
from .formats import Format
from .formats import load as load_format

__all__ = ["Target", "LocalPath", "load_targets", "UnknownOutputError"]


class LocalPath(str):
    """A local output's path: a ``str`` (as daskflow's paths are) that also answers what
    ``pathlib.Path`` does (d6tflow's ``output().path`` is one): every public Path attribute
    a str has not (``parent``, ``with_suffix``, ``as_posix``, ``relative_to``, ``exists``,
    ``unlink``...) is the Path's, forwarded (see :func:`_forwarded`); ``/`` too.

    Examples
    --------
    >>> p = LocalPath("/tmp/x/data.pkl")
    >>> p.name, p.suffix, str(p.parent), p.rsplit("/", 1)[0], str(p.with_suffix(".png"))
    ('data.pkl', '.pkl', '/tmp/x', '/tmp/x', '/tmp/x/data.png')
    """

    __slots__ = ()

    def as_path(self) -> pathlib.Path:
        return pathlib.Path(self)

    def __fspath__(self) -> str:
        return str(self)

    def __truediv__(self, other) -> pathlib.Path:
        return pathlib.Path(self) / other


def _forwarded(name: str):
    """``LocalPath.<name>``: pathlib.Path's attribute of that name, on ``Path(self)``."""
    attr = inspect.getattr_static(pathlib.Path, name)
    if isinstance(attr, property):
        return property(lambda self: getattr(pathlib.Path(self), name), doc=attr.__doc__)

    @functools.wraps(getattr(pathlib.Path, name))
    def method(self, *args, **kwargs):
        return getattr(pathlib.Path(self), name)(*args, **kwargs)
    return method


for _name in sorted(set(dir(pathlib.Path)) - set(dir(str))):
    if not _name.startswith("_"):
        setattr(LocalPath, _name, _forwarded(_name))
del _name


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
    def path(self):
        """Where the output is: a ``LocalPath`` (a ``str`` answering ``pathlib.Path``'s
        questions, as d6tflow's path does) on a local root, else the URL."""
        if self._path is None:
            raise NotBuiltError(f"{self.task!r} is not built for today's code and parameters "
                                f"({self.reason}); run it first: daskflow.run(task)")
        return LocalPath(self._path) if self.store.local else self._path

    def exists(self) -> bool:
        return self._path is not None

    def invalidate(self, confirm=None) -> bool:
        """d6tflow's target API: the task of this output goes stale (its builds for today's
        code are removed, as ``task.invalidate()`` does: one build's outputs go together)."""
        if self.task is None:
            raise NotBuiltError(f"{self!r} belongs to no task: nothing to invalidate")
        return self.task.invalidate(confirm)

    def load(self, cached: bool = False, **options):
        """Load the output; ``options`` go to the format's reader (``cached`` is d6tflow's)."""
        self.path  # noqa: B018  (not built: the error naming the task)
        path = self._path
        try:
            if self.format.load_path is not None:  # a folder format (see formats.Format.write)
                return self.format.load_path(self.store.fs, path)
            with self.store.open(path) as f:
                return load_format(self.format, f, options)
        except FileNotFoundError as exc:
            raise NotBuiltError(f"{self.task!r}: output {path} vanished after it was committed; "
                                f"run the task again") from exc
        except (StorageError, MemoryError):
            raise
        except TypeError as exc:  # outputLoad(as_dic=True): an option the reader does not take
            if options and "keyword argument" in str(exc):
                raise TypeError(f"{self.task!r}: output {self.name or 'output'!r} ({self.format.name}): "
                                f"the reader does not take option(s) {', '.join(map(repr, options))}: {exc}") from exc
            raise self._damaged(path, exc) from exc
        except Exception as exc:  # a corrupt pickle, a truncated parquet: one error naming it
            raise self._damaged(path, exc) from exc

    def _damaged(self, path, exc) -> LoadError:
        name = self.name or "output"
        return LoadError(f"{self.task!r}: cannot load output {name!r} ({self.format.name}) from "
                         f"{self.store.scrub(path)}: {type(exc).__name__}: {self.store.scrub(exc)}; "
                         f"the stored file is damaged: invalidate the task and run it again")

    def __repr__(self) -> str:
        return f"Target({self._path or '<not built>'}, {self.format.name})"


class UnknownOutputError(KeyError, IndexError):
    """``outputLoad(keys=...)`` naming an output the task does not have (an IndexError too,
    as d6tflow raises)."""


def load_targets(targets, keys, as_dict, options=None):
    """What ``outputLoad``/``inputLoad`` return for ``targets`` (a target, a dict of them by
    output name, or an aggregator's list): one output's value; for several, the values in a
    list (``as_dict``: by name), those named by ``keys``; one name (a str) is that output's
    value alone, as in d6tflow."""
    options = options or {}
    if isinstance(targets, Target):
        return targets.load(**options)
    if isinstance(targets, list):  # an aggregator's outputs
        return [load_targets(t, keys, as_dict, options) for t in targets]
    one = isinstance(keys, str)  # one name is one key, not its letters
    names = list(targets) if keys is None else [keys] if one else list(keys)
    unknown = [k for k in names if k not in targets]
    if unknown:
        task = getattr(targets, "task", None)
        raise UnknownOutputError(f"{task!r}: no output(s) {', '.join(map(repr, unknown))}; "
                                 f"its outputs are {', '.join(map(repr, targets))}")
    data = {k: targets[k].load(**options) for k in names}
    if one and not as_dict:
        return data[keys]
    return data if as_dict else list(data.values())
