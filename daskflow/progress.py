"""One progress display for every scheduler: a live rich table of tasks by family.

Imports nothing from daskflow (rich, and dask's callbacks, lazily).  A
:class:`Display` counts each family's tasks as done, running, failed or to do,
shows the elapsed time and, on a cluster, the dashboard link.  Local runs
feed it through dask's scheduler callbacks (:class:`LocalFeed`); cluster runs
from the driver's loop over completed futures (``daskflow.graph``).

It is on when asked (``progress=True``), off when ``progress=False``; by
default (``None``) it shows only in a terminal or a notebook, and only once a
run has lasted ``delay`` seconds, so quick runs print nothing.  In a notebook
it updates in place with ``ipywidgets`` installed (rich's Live), else it
shows the final table when the run ends.

Hook for other parts of daskflow: :func:`waiting` adds (or clears) a line
"waiting for <owner>: <task>" under the table, e.g. while a task waits for
another process's lease.  Called in the driver process it reaches the active
display directly; called inside a task on a ``distributed`` worker it is sent
as a worker event (topic ``daskflow-waiting``) that the cluster display
subscribes to; elsewhere (a process-pool child) it does nothing.
"""

from __future__ import annotations

import importlib.util
import sys
import threading
import time

__all__ = ["Display", "LocalFeed", "enabled", "in_notebook", "waiting", "TOPIC"]

TOPIC = "daskflow-waiting"
_ACTIVE: list["Display"] = []  # displays showing now, in this process
_DONE = ("ran", "cutoff", "fresh", "shared")
_FAILED = ("failed", "upstream_failed")


def enabled(progress) -> bool:
    """Whether to show progress: as asked, else in a terminal or a notebook."""
    if progress is None:
        return sys.stdout.isatty() or in_notebook()
    return bool(progress)


def in_notebook() -> bool:
    """True inside a Jupyter kernel (IPython's shell has a kernel), not merely with ipykernel imported."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None and hasattr(ipython, "get_ipython") else None
    return getattr(shell, "kernel", None) is not None


def waiting(key: str, owner: str | None, task: str | None = None) -> None:
    """Show (``owner``) or clear (``None``) "waiting for <owner>" for the task of graph key ``key``.

    Parameters
    ----------
    key : str
        The task's key (``Family-<fingerprint>``, with or without a run token).
    owner : str or None
        Who holds what the task waits for (a host, a user); None when it stops waiting.
    task : str, optional
        How to name the task on the line (default: its family).

    Examples
    --------
    >>> waiting("Train-3f2a", "alice@laptop")   # no display active: nothing happens
    >>> waiting("Train-3f2a", None)
    """
    if _ACTIVE:
        for display in list(_ACTIVE):
            display.set_waiting(key, owner, task)
        return
    try:
        from distributed import get_worker

        get_worker().log_event(TOPIC, {"key": key, "owner": owner, "task": task})
    except (ImportError, ValueError):  # not on a distributed worker: no display to tell
        pass


class Display:
    """A live table of tasks by family: done, running, failed, to do; elapsed time; link.

    Parameters
    ----------
    families : dict
        Graph key -> family, for every task that will run, in display order.
    where : str
        What runs them (``"threads"``, ``"tcp://..."``), shown in the title.
    link : str, optional
        The dashboard link.
    delay : float
        Seconds before the display first shows (0: at once).
    console : rich.console.Console, optional
    """

    def __init__(self, families: dict, where: str, link: str | None = None, delay: float = 0.0,
                 console=None):
        from rich.console import Console

        self.family = dict(families)
        self.order = list(dict.fromkeys(self.family.values()))
        self.title = f"daskflow on {where}" + (f" · dashboard {link}" if link else "")
        self.console = console or Console()
        self.status: dict = {}  # key -> "done" | "failed"
        self.running: set = set()
        self.waits: dict = {}  # key -> (owner, task)
        self.start = time.monotonic()
        self.live = None
        # a notebook without ipywidgets: rich's Live cannot update a cell; show the final table
        self.static = self.console.is_jupyter and importlib.util.find_spec("ipywidgets") is None
        self.shown = False
        self._lock = threading.Lock()
        self._timer = None
        _ACTIVE.append(self)
        if delay <= 0:
            self._show()
        else:
            self._timer = threading.Timer(delay, self._show)
            self._timer.daemon = True
            self._timer.start()

    def _show(self) -> None:
        from rich.live import Live

        with self._lock:
            if self.static:
                self.shown = self in _ACTIVE
            elif self.live is None and self in _ACTIVE:
                self.live = Live(get_renderable=self.render, console=self.console,
                                 refresh_per_second=4, transient=False)
                self.live.start()

    # -- what the runs feed -------------------------------------------------------------------
    def started(self, key) -> None:
        if key in self.family:
            self.running.add(key)

    def finished(self, key, outcome) -> None:
        if key in self.family:
            self.running.discard(key)
            self.waits.pop(key, None)
            status = getattr(outcome, "status", "failed")
            self.status[key] = "done" if status in _DONE else "failed"

    def set_running(self, keys) -> None:
        self.running = {k for k in keys if k in self.family and k not in self.status}

    def set_waiting(self, key, owner, task=None) -> None:
        match = next((k for k in self.family if k == key or k.startswith(f"{key}-")), None)
        if match is None:
            return
        if owner is None:
            self.waits.pop(match, None)
        else:
            self.waits[match] = (owner, task or self.family[match])

    def on_event(self, event) -> None:
        """A ``(time, message)`` worker event of topic :data:`TOPIC` (sent by :func:`waiting`)."""
        message = event[1]
        self.set_waiting(message.get("key"), message.get("owner"), message.get("task"))

    def refresh(self) -> None:
        if self.live is not None:
            self.live.refresh()

    def close(self) -> None:
        """Show the final counts (if the display is showing) and stop."""
        if self._timer is not None:
            self._timer.cancel()
        with self._lock:
            if self in _ACTIVE:
                _ACTIVE.remove(self)
            self.running.clear()
            if self.live is not None:
                self.live.refresh()
                self.live.stop()
            elif self.shown:
                self.console.print(self.render())

    # -- what it shows --------------------------------------------------------------------------
    def counts(self) -> dict:
        """Family -> [done, running, failed, to do]."""
        counts = {f: [0, 0, 0, 0] for f in self.order}
        for key, fam in self.family.items():
            state = self.status.get(key)
            col = 0 if state == "done" else 2 if state == "failed" else 1 if key in self.running else 3
            counts[fam][col] += 1
        return counts

    def render(self):
        from rich.console import Group
        from rich.table import Table
        from rich.text import Text

        counts = self.counts()
        total = len(self.family)
        finished = sum(c[0] + c[2] for c in counts.values())
        table = Table(title=self.title, title_justify="left", caption_justify="left",
                      caption=f"{finished} of {total} tasks · {time.monotonic() - self.start:.1f} s elapsed")
        for col in ("family", "done", "running", "failed", "to do"):
            table.add_column(col, justify="left" if col == "family" else "right")
        for fam in self.order:
            done, run, failed, todo = counts[fam]
            table.add_row(fam, str(done), str(run), f"[red]{failed}[/]" if failed else "0", str(todo))
        lines = [Text(f"waiting for {owner}: {task}", style="yellow")
                 for owner, task in list(self.waits.values())]
        return Group(table, *lines) if lines else table


class LocalFeed:
    """dask scheduler callbacks (``dask.callbacks.Callback``) that feed a :class:`Display`.

    Used as a context manager around a local ``get``; a no-op without a display.
    """

    def __init__(self, display: Display | None):
        self.display = display
        self.callback = None
        if display is not None:
            from dask.callbacks import Callback

            self.callback = Callback(pretask=lambda key, dsk, state: display.started(key),
                                     posttask=lambda key, res, dsk, state, w: display.finished(key, res))

    def __enter__(self):
        if self.callback is not None:
            self.callback.__enter__()
        return self

    def __exit__(self, *exc):
        if self.callback is not None:
            self.callback.__exit__(*exc)
        if self.display is not None:
            self.display.close()
        return False
