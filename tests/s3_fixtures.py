"""S3 fixtures: a real S3 server on 127.0.0.1 for the session, and a fresh root per test.

Imported by ``conftest.py``.  When the environment names a running server
(``DASKFLOW_TEST_S3_ENDPOINT``, ``DASKFLOW_TEST_S3_BUCKET``,
``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, as ``.ci/run`` exports)
the fixtures use it and never stop it; otherwise they start SeaweedFS (and
moto where a lighter server serves) once per session and stop it, by pid,
after the last test.
"""

from __future__ import annotations

import uuid

import pytest

import servers

__all__ = ["s3_server", "s3_reader_server", "moto_s3", "s3root", "S3Root"]


def _session_server(request, start):
    server = start()
    request.addfinalizer(server.stop)
    return server


@pytest.fixture(scope="session")
def s3_server(request):
    """The integration S3 server (SeaweedFS, or the one CI started)."""
    return servers.from_env() or _session_server(request, servers.start_seaweedfs)


@pytest.fixture(scope="session")
def s3_reader_server(request, s3_server):
    """A server with a read-only identity too (``reader_key``/``reader_secret``).

    CI's server when it exports ``DASKFLOW_TEST_S3_READONLY_KEY`` and
    ``DASKFLOW_TEST_S3_READONLY_SECRET``; else our own SeaweedFS, which always has one.
    """
    if s3_server.reader_key:
        return s3_server
    return _session_server(request, servers.start_seaweedfs)


@pytest.fixture(scope="session")
def moto_s3(request):
    """A moto server (lighter; accepts any credentials), for request counting."""
    return _session_server(request, servers.start_moto)


class S3Root:
    """A fresh ``s3://bucket/prefix`` on a server: url, storage options, an s3fs filesystem."""

    def __init__(self, server: servers.S3Server, name: str = "t"):
        import s3fs

        self.server = server
        self.prefix = f"{server.bucket}/{name}-{uuid.uuid4().hex[:10]}"
        self.url = f"s3://{self.prefix}"
        self.options = server.storage_options()
        self.fs = s3fs.S3FileSystem(skip_instance_cache=True, use_listings_cache=False, **self.options)

    def env(self, key=None, secret=None) -> dict:
        return self.server.env(key, secret)

    def cleanup(self) -> None:
        try:
            if self.fs.find(self.prefix):
                self.fs.rm(self.prefix, recursive=True)
        except OSError:
            pass


@pytest.fixture
def s3root(s3_server):
    """A fresh S3 root on the session server, set as daskflow's root (explicit storage_options)."""
    import daskflow

    root = S3Root(s3_server)
    daskflow.set_root(root.url, **root.options)
    yield root
    root.cleanup()
