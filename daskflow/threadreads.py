"""Reads in the threads a ``run()`` starts: they count with the run's own.

Imports only ``observe`` and the standard library.  The audit hook of
:mod:`daskflow.observe` notes what the thread running ``run()`` opens; a run
that reads its parts in a pool (``ThreadPoolExecutor().map(pd.read_csv,
paths)``) or in a thread of its own opens them elsewhere.  :func:`wrap`
(called by the executor before each recorded ``run()``, patching once)
makes what such a thread does count for the run that asked for it:

- ``ThreadPoolExecutor.submit`` (and ``map``, which submits) called inside a
  recorded run: the function runs with that run's recorder, whichever pool
  thread runs it (a pool made before, at a module's top, too);
- ``threading.Thread.start`` called inside a recorded run: the thread's
  ``run`` records into it (not a pool's own worker threads: what they run is
  bound by ``submit``).

What such a thread opens after its run finished is not noted (the run's
record is written).  A thread that outlives its run and serves later ones (a
``multiprocessing.pool.ThreadPool`` made in a run and reused, a long-lived
worker thread) reads for none of them after it: only ``ThreadPoolExecutor``'s
work is bound by who asked for it.  Outside a recorded run both cost one
thread-local look-up.  Not seen: processes a run starts
(``ProcessPoolExecutor``, ``subprocess``).
"""

from __future__ import annotations

import functools
import threading

from .observe import current, joined

__all__ = ["wrap"]

_ORIGINAL: dict = {}
_LOCK = threading.Lock()


def wrap() -> None:
    """Patch ``ThreadPoolExecutor.submit`` and ``Thread.start``: the originals are kept the
    first time; patched again where the original was put back, left alone where something
    else wraps them since (a tracer, which calls the patched one it found)."""
    import concurrent.futures.thread  # here: import daskflow leaves it for later

    pool, thread = concurrent.futures.ThreadPoolExecutor, threading.Thread
    if pool.__dict__.get("submit") is _submit and thread.__dict__.get("start") is _start:
        return
    with _LOCK:
        for owner, name, patched in ((pool, "submit", _submit), (thread, "start", _start)):
            found = owner.__dict__.get(name)
            if name not in _ORIGINAL:
                _ORIGINAL[name] = found
            if found is _ORIGINAL[name]:
                setattr(owner, name, patched)
        _submit.__doc__ = _ORIGINAL["submit"].__doc__


def _submit(self, fn, /, *args, **kwargs):
    rec = current()
    if rec is not None:
        fn = functools.partial(_call_in, rec, fn)
    return _ORIGINAL["submit"](self, fn, *args, **kwargs)


def _call_in(rec, fn, /, *args, **kwargs):
    with joined(rec):
        return fn(*args, **kwargs)


def _start(self):
    rec = current()
    if rec is not None and getattr(self, "_target", None) is not _pool_worker():
        self.run = functools.partial(_call_in, rec, self.run)  # the thread's own run(), bound
    return _ORIGINAL["start"](self)


_start.__doc__ = threading.Thread.start.__doc__


def _pool_worker():
    """A ThreadPoolExecutor's own worker function (imported by :func:`wrap`, which patched us)."""
    import concurrent.futures.thread

    return concurrent.futures.thread._worker
