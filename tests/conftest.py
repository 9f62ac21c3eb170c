"""Shared fixtures: every test gets its own storage root and leaves the settings as it found them."""

import sys
from pathlib import Path

import pytest

import daskflow
from daskflow import config

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

from s3_fixtures import *  # noqa: E402,F401,F403  (S3 servers and roots)


@pytest.fixture(autouse=True)
def _isolated_settings(monkeypatch):
    """Restore daskflow's process-wide settings and environment after each test."""
    s = config.settings
    saved = (s.root, dict(s.storage_options), s.leases, s.fsync)
    for name in ("DASKFLOW_ROOT", "DASKFLOW_SCHEDULER", "DASKFLOW_LEASES", "DASKFLOW_FSYNC",
                 "DASKFLOW_LEASE_TTL", "DASKFLOW_LEASE_WAIT"):
        monkeypatch.delenv(name, raising=False)
    yield
    s.root, s.storage_options, s.leases, s.fsync = saved


@pytest.fixture
def root(tmp_path):
    """A fresh local storage root, set as daskflow's root; its path."""
    path = tmp_path / "store"
    daskflow.set_root(str(path))
    return path


@pytest.fixture(params=["marker", "inline"])
def commit_kind(request, root):
    """Commits with a marker file (fsync on) or inline (the output is its own marker)."""
    if request.param == "marker":
        daskflow.set_root(str(root), fsync=True)
    return request.param


@pytest.fixture
def memroot():
    """A fresh memory:// root, set as daskflow's root."""
    import uuid

    url = f"memory://daskflow-test-{uuid.uuid4().hex[:8]}"
    daskflow.set_root(url)
    yield url
    import fsspec

    fs = fsspec.filesystem("memory")
    if fs.exists(url):
        fs.rm(url, recursive=True)


@pytest.fixture(scope="session")
def cluster():
    """The session's process-based LocalCluster (2 workers of 1 thread, ``slot=1``), shared by
    every test that needs one (see ``test_cluster_tasks.acquire_cluster``)."""
    from test_cluster_tasks import acquire_cluster, release_cluster

    cl = acquire_cluster()
    yield cl
    release_cluster()


@pytest.fixture
def client(cluster):
    """A Client of the session's cluster; the default client while the test runs, as
    ``Client(...)`` in a user's script is (``dask.compute`` and ``daskflow.run`` use it)."""
    import distributed

    with distributed.Client(cluster) as c:
        c.wait_for_workers(2, timeout=60)
        yield c
