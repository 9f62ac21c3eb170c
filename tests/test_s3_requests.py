"""What a no-op freshness check costs on S3, counted at the server (through a counting proxy).

The bound (SPEC section 3, issue 4): one LIST per 1000 objects per task
family, plus a small constant -- never a request per task.  The graph has a
wide family (``Leaf``: on SeaweedFS 520 tasks, 1040 objects, two listing
pages; on moto, slower to write to, 40 tasks) and two families of one task
each; the proxy sees every request the S3 server gets.
"""

from __future__ import annotations

import math

import pytest

import daskflow
import servers
from s3_fixtures import S3Root
from test_storage_conformance import load_module

WIDE = '''
import daskflow


class Leaf(daskflow.tasks.TaskJson):
    i = daskflow.IntParameter()

    def run(self):
        self.save({"i": self.i})


class Sum(daskflow.tasks.TaskJson):
    n = daskflow.IntParameter()

    def requires(self):
        return [Leaf(i=i) for i in range(self.n)]

    def run(self):
        self.save({"count": len(self.input())})


class Top(daskflow.tasks.TaskPickle):
    n = daskflow.IntParameter()

    def requires(self):
        return Sum(n=self.n)

    def run(self):
        self.save(self.inputLoad()["count"])
'''


@pytest.fixture(params=["moto", "seaweedfs"])
def counted(request, tmp_path):
    """A fresh root on the server, built directly; and a proxy in front of it for the checks."""
    server = request.getfixturevalue("moto_s3" if request.param == "moto" else "s3_server")
    root = S3Root(server, "count")
    with servers.CountingProxy(server.endpoint) as proxy:
        options = dict(root.options, client_kwargs={"endpoint_url": proxy.endpoint})
        yield root, proxy, options, (40 if request.param == "moto" else 520)
    if server.proc is None:  # CI's server outlives the session; ours goes with its folder
        root.cleanup()


def _families(fs, prefix):
    counts = {}
    for path in fs.find(prefix):
        family = path[len(prefix) + 1:].split("/", 1)[0]
        counts[family] = counts.get(family, 0) + 1
    return counts


def test_noop_check_is_one_list_per_1000_objects_per_family(counted, tmp_path, capsys):
    root, proxy, proxied, n = counted
    flow = load_module(tmp_path / "mods", WIDE, "wide")
    top = flow.Top(n=n)
    daskflow.set_root(root.url, **proxied)
    proxy.reset()
    daskflow.preview(top)  # never built: one LIST per family, no HEAD per task
    capsys.readouterr()
    assert proxy.count() == 3 and all(m == "GET" and "list-type=2" in p for m, p in proxy.requests), proxy.requests

    daskflow.set_root(root.url, **root.options)  # build without the proxy
    assert len(daskflow.run(top, scheduler="threads", workers=8, progress=False).ran) == n + 2
    objects = _families(root.fs, root.prefix)
    assert objects["Leaf"] == 2 * n  # an output and a marker per task
    bound = sum(math.ceil(n / 1000) for n in objects.values())

    daskflow.set_root(root.url, **proxied)
    proxy.reset()
    result = daskflow.run(top, scheduler="sync", progress=False)
    assert result.ran == [] and len(result.skipped) == n + 2
    assert proxy.count() == bound == (4 if n > 500 else 3)  # Leaf: 1 or 2 pages; Sum, Top: 1 each
    assert math.ceil(sum(objects.values()) / 1000) + len(objects) >= proxy.count()
    assert all(m == "GET" and "list-type=2" in p for m, p in proxy.requests), proxy.requests

    proxy.reset()
    assert top.complete() and top.outputLoad() == n
    # each call plans Top's graph (a LIST per family); loading is one GET, no HEAD
    assert proxy.count() == 2 * bound + 1, "\n".join(map(str, proxy.requests))
