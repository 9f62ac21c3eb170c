"""d6tflow's ``settings`` object and ``set_dir``.

Imports ``config``, ``errors``, ``luigi_names``, ``outputs`` and ``target``.  Each setting maps onto what
daskflow does, or says why it cannot:

- ``dir``: the storage root (``daskflow.set_root``); reading it gives text, as
  d6tflow's does (``settings.dir + "/raw.csv"``): a local root's path (which also
  takes ``/`` and Path's methods), the URL otherwise; ``dirpath`` the same as a
  ``pathlib.Path``;
- ``log_level``: the level of the ``daskflow`` logger;
- ``check_dependencies``: False makes ``complete()`` look at the task's own
  outputs only (runs still check everything: a stale upstream is rebuilt);
- ``cached``: the standalone targets (``daskflow.targets``) keep what they
  save and load in ``daskflow.data``;
- ``execution_summary``: accepted; ``daskflow.run`` always returns the
  summary (a ``RunResult``) and prints nothing.

``isinit`` reads True, ``save_with_param`` True and
``check_crc`` False, which are what daskflow does (setting the other value is
an error saying so); ``set_parameter_len`` sets how much of the parameters
``task.task_id`` shows.  Setting any other name is an error listing these,
never silently ignored.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from .. import config
from ..errors import ParameterError
from ..luigi_names import TASK_ID
from ..outputs import flags
from ..target import LocalPath

__all__ = ["Settings", "settings", "set_dir"]


class _Fixed:
    """A d6tflow setting with the one value daskflow has: reading gives it, setting that value
    is accepted, another is an error saying why."""

    def __init__(self, value: bool, why: str):
        self.value, self.why = value, why

    def __set_name__(self, owner, name: str) -> None:
        self.name = name

    def __get__(self, obj, objtype=None) -> bool:
        return self.value

    def __set__(self, obj, value) -> None:
        if bool(value) != self.value:
            raise ParameterError(f"settings.{self.name} = {value!r} is not provided: {self.why}")


class Settings:
    """d6tflow's settings, honoured by daskflow (see the module docstring).

    Examples
    --------
    >>> import daskflow as d6tflow
    >>> d6tflow.settings.log_level = "WARNING"
    >>> d6tflow.settings.check_dependencies
    True
    """

    _NAMES = ("dir", "log_level", "check_dependencies", "cached", "execution_summary")
    _FIXED = ("dirpath", "isinit", "save_with_param", "check_crc")  # read (and set) as d6tflow's

    def __init__(self):
        object.__setattr__(self, "cached", False)
        object.__setattr__(self, "execution_summary", True)

    def __setattr__(self, name, value):
        if name not in self._NAMES + self._FIXED:
            raise ParameterError(f"daskflow.settings has no setting {name!r}; the d6tflow settings "
                                 f"daskflow honours are: {', '.join(self._NAMES)}")
        object.__setattr__(self, name, value)

    @property
    def dir(self):
        """The storage root as text, as d6tflow's (``settings.dir + "/raw.csv"``): a local
        root's path (a :class:`~daskflow.target.LocalPath`, ``/`` and Path's methods too), else its URL."""
        url, _ = config.resolve_root()
        return LocalPath(url.removeprefix("file://")) if "://" not in url or url.startswith("file://") else url

    @dir.setter
    def dir(self, value):
        config.set_root(value)

    @property
    def dirpath(self):
        """d6tflow's ``pathlib.Path`` of the root: ``settings.dirpath / "input.csv"`` (a URL as text)."""
        found = self.dir
        return Path(found) if isinstance(found, LocalPath) else found

    @dirpath.setter
    def dirpath(self, value):
        config.set_root(value)

    isinit = _Fixed(True, "daskflow needs no initialising")
    save_with_param = _Fixed(True, "daskflow always stores each parameter set's outputs apart (its folder "
                                   "names them)")
    check_crc = _Fixed(False, "daskflow checks each output's size and modification time against its "
                              "commit, not a CRC")

    @staticmethod
    def set_parameter_len(nparams: int = 20, len: int = 64) -> None:  # noqa: A002 (d6tflow's names)
        """How many parameter values ``task_id`` shows and how long each (d6tflow's defaults)."""
        TASK_ID.update(include_params=nparams, truncate_params=len)

    @property
    def log_level(self) -> str:
        return logging.getLevelName(logging.getLogger("daskflow").getEffectiveLevel())

    @log_level.setter
    def log_level(self, value):
        logging.getLogger("daskflow").setLevel(value.upper() if isinstance(value, str) else value)

    @property
    def check_dependencies(self) -> bool:
        return flags.check_dependencies

    @check_dependencies.setter
    def check_dependencies(self, value):
        flags.check_dependencies = bool(value)

    def __repr__(self) -> str:
        shown = ", ".join(f"{n}={getattr(self, n)!r}" for n in self._NAMES)
        return f"<daskflow.settings {shown}>"


settings = Settings()


def set_dir(dir=None, **storage_options):
    """d6tflow's ``set_dir``: store outputs under ``dir``; return the root.

    Returns a ``pathlib.Path`` for a local folder (as given, like d6tflow),
    the URL for a remote root (``s3://...``).

    Examples
    --------
    >>> import daskflow as d6tflow
    >>> d6tflow.set_dir("memory://example")
    'memory://example'
    """
    if dir is None:
        return settings.dir
    config.set_root(dir, **storage_options)
    text = os.fspath(dir)
    return Path(text) if "://" not in text else text
