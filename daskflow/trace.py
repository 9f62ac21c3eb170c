"""The run-time trace: which of the user's own functions a task's ``run()`` really called.

Imports ``config`` and ``fingerprint.source``.  :func:`watch` wraps the call
of ``run()`` (in ``execute``); while it is active, a profile hook filtered at
the source (``sys.monitoring`` on Python 3.12+, ``sys.setprofile`` before)
records the code objects of user files (not the standard library,
site-packages or daskflow) that start executing.  Afterwards their stable keys
(the same keys as the static walk's parts) go into the commit marker
(``traced``), and those the static walk did not reach (a dynamic dispatch, a
plugin registry, a module imported under a computed name) go into ``unwalked`` with a
warning: the blind spot shows itself on the first build, and ``why()`` repeats
it.  Code nested in a walked part (a local function, a comprehension) is
covered by that part.

Cost: see ``benchmarks/trace.py`` and the README; the trace is on only when
``settings.trace`` or ``DASKFLOW_TRACE=1`` says so.  Threads started by
``run()`` are not traced.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
import warnings

from .config import trace_enabled
from .fingerprint.source import code_key, is_user_file

__all__ = ["watch", "unwalked"]

logger = logging.getLogger("daskflow")
_TOOL = 3  # sys.monitoring tool id (PROFILER_ID is 2; 3 is free for others)


def _static_keys(body: dict) -> set:
    parts = body.get("code_parts") or "{}"
    parts = json.loads(parts) if isinstance(parts, str) else parts
    return {k.split("[", 1)[0] for k in parts}


def unwalked(traced: list, static: set) -> list:
    """Traced keys that no static part covers (itself, or a part it is nested in)."""
    out = []
    for key in traced:
        module, _, qual = key.partition(":")
        qual = qual.split("#", 1)[0]
        covered = key in static or any(
            s.partition(":")[0] == module and qual.startswith(s.partition(":")[2].split("#", 1)[0] + ".<locals>.")
            for s in static)
        if not covered:
            out.append(key)
    return out


@contextlib.contextmanager
def watch(task, body: dict):
    """Trace the user functions called inside the block; note them in ``body`` (the marker)."""
    if not trace_enabled() or body.get("code_parts") is None:
        yield
        return
    called: dict = {}  # code object -> module name
    known: dict = {}  # code object -> is it the user's (cache)

    if sys.version_info >= (3, 12):  # pragma: no cover - only 3.11 is installed here
        mon = sys.monitoring

        def start(code, offset):
            if is_user_file(code.co_filename):
                called.setdefault(code, None)
            return mon.DISABLE  # once per code object: the hook costs nothing afterwards

        mon.use_tool_id(_TOOL, "daskflow-trace")
        mon.register_callback(_TOOL, mon.events.PY_START, start)
        mon.set_events(_TOOL, mon.events.PY_START)
        try:
            yield
        finally:
            mon.set_events(_TOOL, 0)
            mon.free_tool_id(_TOOL)
    else:
        def profile(frame, event, arg):
            if event == "call":
                code = frame.f_code
                mine = known.get(code)
                if mine is None:
                    mine = known[code] = is_user_file(code.co_filename)
                if mine and code not in called:
                    called[code] = frame.f_globals.get("__name__", "")

        previous = sys.getprofile()
        sys.setprofile(profile)
        try:
            yield
        finally:
            sys.setprofile(previous)
    keys = sorted({code_key(code, module or _module_of(code)) for code, module in called.items()
                   if not code.co_name.startswith("<") or code.co_name == "<lambda>"})
    missed = unwalked(keys, _static_keys(body))
    body["traced"] = keys
    body["unwalked"] = missed
    if missed:
        message = (f"{task!r}: run() called code the fingerprint does not follow, so an edit to it "
                   f"would not make the task stale: {', '.join(missed)}; reference it from the task's "
                   f"code, or set version = '...'")
        logger.warning(message)
        warnings.warn(message, stacklevel=3)


def _module_of(code) -> str:
    for name, module in list(sys.modules.items()):
        if getattr(module, "__file__", None) == code.co_filename:
            return name
    return ""
