"""Task classes and a shared LocalCluster for the cluster tests (this module holds no tests).

The workers import this module by name (``test_cluster_tasks``): a
LocalCluster's spawned workers inherit the test process's ``sys.path``, and
``deploy/local.py`` starts its workers with ``tests/`` on ``PYTHONPATH``.
Tasks record where their body ran (pid and host), so a test can tell the
driver from a worker.
"""

from __future__ import annotations

import os
import socket
import threading
import time

import pandas as pd

import daskflow


class WhereRan(daskflow.tasks.TaskJson):
    """Saves the pid and host of the process its run() executed in."""

    n = daskflow.IntParameter(default=0)

    def run(self):
        self.save({"pid": os.getpid(), "host": socket.gethostname(), "n": self.n})


class WhereThread(daskflow.tasks.TaskJson):
    """Saves the pid and the name of the thread its run() executed in."""

    n = daskflow.IntParameter(default=0)

    def run(self):
        self.save({"pid": os.getpid(), "thread": threading.current_thread().name})


class Collect(daskflow.tasks.TaskJson):
    """Gathers the WhereRan records of ``n`` upstream tasks."""

    n = daskflow.IntParameter(default=3)

    def requires(self):
        return [WhereRan(n=i) for i in range(self.n)]

    def run(self):
        self.save(self.inputLoad() + [{"pid": os.getpid(), "host": socket.gethostname(), "n": -1}])


class Fails(daskflow.tasks.TaskPickle):
    def run(self):
        raise ValueError("planned failure in Fails.run")


class AfterFails(daskflow.tasks.TaskPickle):
    def requires(self):
        return Fails()

    def run(self):
        self.save(1)


class Flaky(daskflow.tasks.TaskJson):
    """Fails on its first attempt (leaving a flag file), succeeds on the retry."""

    flag = daskflow.Parameter()
    retries = 1

    def run(self):
        if not os.path.exists(self.flag):
            open(self.flag, "w").close()
            raise RuntimeError("first attempt fails")
        self.save({"pid": os.getpid()})


class KillsWorker(daskflow.tasks.TaskPickle):
    """Ends the process it runs in, as a segfault or the OOM killer would."""

    def run(self):
        os._exit(13)


class AfterKill(daskflow.tasks.TaskPickle):
    def requires(self):
        return KillsWorker()

    def run(self):
        self.save(1)


class NeedsGPU(daskflow.tasks.TaskPickle):
    resources = {"GPU": 1}

    def run(self):
        self.save(1)


class NeedsSlot(daskflow.tasks.TaskJson):
    """Needs the ``slot`` resource the test LocalCluster's workers offer."""

    resources = {"slot": 1}

    def run(self):
        from distributed import get_worker

        # while this runs, the worker has handed its one slot to it (the annotation arrived)
        self.save({"pid": os.getpid(), "slot_free": get_worker().state.available_resources["slot"]})


class NeedsTwoSlots(NeedsSlot):
    resources = {"slot": 2}


class Frame(daskflow.tasks.TaskPqDask):
    """A dask DataFrame of ``rows`` rows in ``parts`` partitions."""

    rows = daskflow.IntParameter(default=100)
    parts = daskflow.IntParameter(default=4)

    def run(self):
        import dask.dataframe as dd

        df = pd.DataFrame({"k": [i % 7 for i in range(self.rows)], "v": range(self.rows)})
        self.save(dd.from_pandas(df, npartitions=self.parts))


class Doubled(daskflow.tasks.TaskPqDask):
    """Reads Frame lazily and doubles ``v``: the input must be a dask DataFrame."""

    rows = daskflow.IntParameter(default=100)
    parts = daskflow.IntParameter(default=4)

    def requires(self):
        return Frame(rows=self.rows, parts=self.parts)

    def run(self):
        import dask.dataframe as dd

        df = self.inputLoad()
        assert isinstance(df, dd.DataFrame), type(df)
        self.save(df.assign(v=df.v * 2))


class Summary(daskflow.tasks.TaskPqPandas):
    rows = daskflow.IntParameter(default=100)
    parts = daskflow.IntParameter(default=4)

    def requires(self):
        return Doubled(rows=self.rows, parts=self.parts)

    def run(self):
        self.save(self.inputLoad().groupby("k").v.sum().compute().to_frame().reset_index())


# -- one LocalCluster per test session, shared by the test modules that use it ------------------
_lock = threading.Lock()
_shared = {"cluster": None, "users": 0}


def acquire_cluster():
    """The session's process-based LocalCluster (2 workers, 1 thread each, ``slot=1``)."""
    import dask
    from distributed import LocalCluster

    with _lock:
        if _shared["cluster"] is None:
            # one worker death is a KilledWorker at once (the default retries on 3 more workers)
            with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
                _shared["cluster"] = LocalCluster(
                    processes=True, n_workers=2, threads_per_worker=1, dashboard_address=None,
                    worker_dashboard_address="127.0.0.1:0", host="127.0.0.1",
                    resources={"slot": 1}, memory_limit="1GiB")
        _shared["users"] += 1
        return _shared["cluster"]


def release_cluster() -> None:
    with _lock:
        _shared["users"] -= 1
        if _shared["users"] == 0 and _shared["cluster"] is not None:
            _shared["cluster"].close()
            _shared["cluster"] = None


class Sleeps(daskflow.tasks.TaskJson):
    """Takes ``seconds`` to build: still running when its run is interrupted."""

    seconds = daskflow.FloatParameter(default=1.0)

    def run(self):
        time.sleep(self.seconds)
        self.save({"slept": self.seconds})
