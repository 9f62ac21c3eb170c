"""Which dask scheduler a run uses, in dask's own order, and the local schedulers' ``get``.

Imports ``config`` and ``errors``; imports dask's local schedulers lazily and
``distributed`` only when the caller already imported it (no client can exist
otherwise).  :func:`choose` follows ``dask.base.get_scheduler``, first match
wins:

1. ``client=`` (a ``distributed.Client``) or ``scheduler=`` (a name, a
   ``tcp://`` address, a Client, ``"distributed"`` for the default client, or
   a ``get`` function);
2. ``dask.config.get("scheduler")`` (``dask.config.set(scheduler=...)``,
   ``DASK_SCHEDULER``), read the same way;
3. the default ``distributed`` client, if one exists (``get_client()``);
4. ``DASKFLOW_SCHEDULER`` (daskflow's own default), else the local threaded
   scheduler.

A spawned child process that re-imports a script without an
``if __name__ == "__main__":`` guard is detected (:func:`in_spawn_bootstrap`)
and the run is refused in one line that says what to add.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from dataclasses import dataclass
from typing import Callable

from . import config
from .errors import DaskflowError, ParameterError

__all__ = ["Choice", "choose", "default_get", "local_get", "in_spawn_bootstrap", "GUARD_HINT", "SpawnGuardError"]

GUARD_HINT = ('scheduler="processes" starts worker processes that re-import your script: put the '
              'code that runs tasks under `if __name__ == "__main__":`')

_LOCAL = {
    "threads": "threads", "threading": "threads", "threaded": "threads",
    "sync": "sync", "synchronous": "sync", "single-threaded": "sync",
    "processes": "processes", "multiprocessing": "processes",
}


class SpawnGuardError(DaskflowError, RuntimeError):
    """``scheduler="processes"`` in a script whose run is not under a ``__main__`` guard."""


@dataclass
class Choice:
    """The scheduler a run uses: a Client, a scheduler address, or a local ``get``.

    Attributes
    ----------
    client : distributed.Client or None
    address : str or None
        ``tcp://host:port``: connect a Client of our own for the run.
    get : callable or None
        ``get(dsk, keys)`` of a local scheduler.
    name : str
        What was chosen, for messages (``"threads"``, ``"client"``, ...).
    source : str
        Where it came from: ``"argument"``, ``"dask.config"``, ``"default client"``,
        ``"DASKFLOW_SCHEDULER"`` or ``"default"``.
    """

    client: object = None
    address: str | None = None
    get: Callable | None = None
    name: str = "threads"
    source: str = "default"


def choose(scheduler=None, client=None, workers=None) -> Choice:
    """The scheduler for a run, in dask's order (see the module docstring).

    Examples
    --------
    >>> choose("sync").name
    'sync'
    """
    if client is not None:
        return _read(client, workers, "argument")
    if scheduler is not None:
        return _read(scheduler, workers, "argument")
    import dask

    configured = dask.config.get("scheduler", None)
    if configured is not None:
        return _read(configured, workers, "dask.config")
    found = default_client()
    if found is not None:
        return Choice(client=found, name="client", source="default client")
    source = "DASKFLOW_SCHEDULER" if os.environ.get("DASKFLOW_SCHEDULER") else "default"
    return _read(config.default_scheduler(), workers, source)


def default_client():
    """The current ``distributed`` client (``get_client()``), or None when there is none."""
    if "distributed" not in sys.modules:
        return None
    try:
        from distributed import get_client

        return get_client()
    except ValueError:  # "No clients found"
        return None


def _read(value, workers, source: str) -> Choice:
    if "Client" in type(value).__name__ and hasattr(value, "get") and hasattr(value, "scheduler"):
        return Choice(client=value, name="client", source=source)
    if isinstance(value, str):
        name = value.lower()
        if name in _LOCAL:
            return Choice(get=local_get(_LOCAL[name], workers), name=_LOCAL[name], source=source)
        if name in ("distributed", "dask.distributed"):
            found = default_client()
            if found is None:
                raise ParameterError(f"scheduler {value!r} (from {source}) asks for the default "
                                     f"distributed Client, but none exists; create one first")
            return Choice(client=found, name="client", source=source)
        if "://" in name:
            return Choice(address=value, name=value, source=source)
    elif callable(value):
        return Choice(get=value, name=getattr(value, "__name__", "get"), source=source)
    where = "" if source == "argument" else f" (from {source})"
    raise ParameterError(f"scheduler {value!r}{where} is not one of 'threads', 'sync', "
                         f"'processes', 'distributed', a 'tcp://host:port' address or a Client")


def local_get(name: str, workers=None) -> Callable:
    """``get(dsk, keys)`` of the local scheduler ``name`` (``threads``, ``sync``, ``processes``)."""
    if name == "threads":
        from dask.threaded import get

        return lambda dsk, keys, **kw: get(dsk, keys, **{"num_workers": workers, **kw})
    if name == "sync":
        from dask.local import get_sync

        return get_sync
    from dask.multiprocessing import get

    def get_processes(dsk, keys, **kw):
        if in_spawn_bootstrap():
            # a child re-running the unguarded script: leave quietly, the parent says why
            raise SystemExit(1)
        try:
            return get(dsk, keys, **{"num_workers": workers, **kw})
        except Exception as exc:  # a child that died re-running an unguarded script
            if _broken_by_unguarded_main(exc):
                raise SpawnGuardError(f"{GUARD_HINT} (the worker processes exited: "
                                      f"{type(exc).__name__})") from None
            raise

    return get_processes


def in_spawn_bootstrap() -> bool:
    """True in a spawned child while it re-imports the parent's ``__main__`` module."""
    return bool(getattr(multiprocessing.current_process(), "_inheriting", False))


def _broken_by_unguarded_main(exc: BaseException) -> bool:
    """A broken process pool while ``__main__`` is a script with no ``__main__`` guard."""
    from concurrent.futures.process import BrokenProcessPool

    if not isinstance(exc, BrokenProcessPool):
        return False
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if not path:
        return False
    try:
        with open(path, encoding="utf-8") as fh:
            source = fh.read()
    except OSError:
        return False
    return "__name__" not in source or "__main__" not in source


def default_get(dsk, keys, **kwargs):
    """The ``get`` of daskflow's collections when dask found no scheduler of its own.

    dask tries ``scheduler=``, ``dask.config`` and the default Client first;
    this is the last step: ``DASKFLOW_SCHEDULER`` (a local scheduler's name or a
    ``tcp://`` address), else the local threaded scheduler.
    """
    choice = _read(config.default_scheduler(), kwargs.pop("num_workers", None), "DASKFLOW_SCHEDULER")
    if choice.address is None:
        return choice.get(dsk, keys, **kwargs)
    from distributed import Client

    with Client(choice.address, set_as_default=False) as client:
        return client.get(dsk, keys, **kwargs)
