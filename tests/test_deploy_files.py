"""The deploy/ files agree with each other and with the installed dask (Docker cannot run here)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

yaml = pytest.importorskip("yaml")

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"


def _dockerfile_arg(name: str) -> str:
    return re.search(rf"^ARG {name}=(\S+)$", (DEPLOY / "Dockerfile").read_text(), re.M).group(1)


def test_compose_topology_and_loopback_ports():
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"scheduler", "worker-1", "worker-2", "s3", "create-bucket"} <= set(services)
    for name in ("worker-1", "worker-2"):
        assert services[name]["command"][:3] == ["dask", "worker", "tcp://scheduler:8786"]
        assert "--memory-limit" in services[name]["command"]
    assert services["create-bucket"]["depends_on"]["s3"]["condition"] == "service_healthy"
    published = [p for s in services.values() for p in s.get("ports", [])]
    assert published and all(p.startswith("127.0.0.1:") for p in published)


def test_dask_version_is_pinned_the_same_everywhere():
    pinned = _dockerfile_arg("DASK_VERSION")
    assert re.fullmatch(r"20\d\d\.\d+\.\d+", pinned)  # one exact release, not a range
    assert f"DASK_VERSION:-{pinned}" in (DEPLOY / "docker-compose.yml").read_text()
    assert f"DASK_VERSION={pinned}" in (DEPLOY / ".env.example").read_text()
    for manifest in ("daskcluster.yaml", "daskjob.yaml"):
        images = re.findall(r'image: "([^"]+)"', (DEPLOY / "kubernetes" / manifest).read_text())
        assert images and all(i.endswith(f":{pinned}") for i in images)


def test_kubernetes_manifests_for_the_operator():
    cluster = yaml.safe_load((DEPLOY / "kubernetes" / "daskcluster.yaml").read_text())
    job = yaml.safe_load((DEPLOY / "kubernetes" / "daskjob.yaml").read_text())
    assert (cluster["apiVersion"], cluster["kind"]) == ("kubernetes.dask.org/v1", "DaskCluster")
    assert (job["apiVersion"], job["kind"]) == ("kubernetes.dask.org/v1", "DaskJob")
    assert cluster["spec"]["worker"]["replicas"] == 2
    assert job["spec"]["cluster"]["spec"]["worker"]["replicas"] == 2
    runner = job["spec"]["job"]["spec"]["containers"][0]
    assert runner["args"][-1] == "/opt/daskflow/deploy/smoke.py"
    assert "COPY deploy/smoke.py ./deploy/smoke.py" in (DEPLOY / "Dockerfile").read_text()
