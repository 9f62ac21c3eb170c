"""Which scheduler a run uses: dask's order, each step against a process-based LocalCluster.

1. ``client=`` / ``scheduler=``; 2. ``dask.config`` ``scheduler``; 3. the default
distributed Client; 4. ``DASKFLOW_SCHEDULER``; 5. the local threaded scheduler.
A task records the process and the thread its body ran in, so each test can
tell a worker process from this one and the sync scheduler (this thread) from
the threaded one (a pool thread).
"""

from __future__ import annotations

import os
import threading

import dask
import pytest

distributed = pytest.importorskip("distributed")

import daskflow  # noqa: E402
from daskflow.scheduling import choose  # noqa: E402
from test_cluster_tasks import WhereThread  # noqa: E402


def where(n: int, **kw) -> str:
    """Run WhereThread(n) and say where its body ran: 'worker', 'sync' or 'threads'."""
    result = daskflow.run(WhereThread(n=n), progress=False, forced_all=True, **kw)
    assert result.ran == [WhereThread(n=n)]
    out = WhereThread(n=n).outputLoad()
    if out["pid"] != os.getpid():
        return "worker"
    return "sync" if out["thread"] == threading.current_thread().name else "threads"


def test_nothing_set_runs_on_local_threads(root):
    assert distributed.client._get_global_client() is None
    assert where(0) == "threads"


def test_the_default_client_is_used(client, root):
    assert where(1) == "worker"
    assert choose().client is client  # a default Client also sets dask.config scheduler="dask.distributed"
    with dask.config.set(scheduler=None):  # and without that setting, found as the default client
        assert choose().source == "default client" and where(11) == "worker"


def test_dask_config_scheduler_comes_before_the_default_client(client, root):
    with dask.config.set(scheduler="sync"):
        assert where(2) == "sync"
        assert choose().source == "dask.config"


def test_dask_config_may_name_a_client_or_distributed(cluster, root):
    with distributed.Client(cluster, set_as_default=False) as c:
        with dask.config.set(scheduler=c):
            assert where(3) == "worker"
    with distributed.Client(cluster):
        with dask.config.set(scheduler="distributed"):
            assert where(4) == "worker"


def test_explicit_argument_comes_first(client, root):
    with dask.config.set(scheduler="threads"):
        assert where(5, scheduler="sync") == "sync"
        assert where(6, client=client) == "worker"
        assert where(7, scheduler=client) == "worker"


def test_daskflow_scheduler_variable_comes_after_the_default_client(cluster, root, monkeypatch):
    monkeypatch.setenv("DASKFLOW_SCHEDULER", "sync")
    assert where(8) == "sync"
    assert choose().source == "DASKFLOW_SCHEDULER"
    with distributed.Client(cluster):
        assert where(9) == "worker"


def test_distributed_without_a_client_is_a_clear_error(root):
    with pytest.raises(daskflow.ParameterError, match="no.*none exists|none exists"):
        daskflow.run(WhereThread(n=10), scheduler="distributed", progress=False)
    with pytest.raises(daskflow.ParameterError, match="'nope'.*not one of"):
        daskflow.run(WhereThread(n=10), scheduler="nope", progress=False)
    assert not WhereThread(n=10).complete()
