"""What a build costs in metadata operations and S3 requests, counted (counts are deterministic).

Local disk: ``os``-level calls are counted while daskflow builds (every file daskflow
creates goes through ``os.open``): a build of one file output is one new inode in all
(written unnamed, then linked under the name that commits it) plus a line appended to its
process's journal (created once per family); a build of several outputs is one creation per
output plus one for the marker; no folder per build (the family folder once); with leases,
one more create, and the lease renamed to its ``.done`` name instead of deleted.  With
fsync on, the marker is a temp file renamed in place.  S3: requests
are counted at the server (through the suite's counting proxy): one PUT per output plus
one for the marker and no HEAD or LIST on the write path; with leases, one more create
(a conditional PUT), one LIST (the check after taking it) and one DELETE per build, and
nothing more on a run where everything is fresh.
"""

from __future__ import annotations

import collections
import os

import pytest

import daskflow
import servers
from s3_fixtures import S3Root
from test_storage_conformance import load_module

FLOW = '''
import daskflow


class Leaf(daskflow.tasks.TaskPickle):
    i = daskflow.IntParameter()

    def run(self):
        self.save(self.i)


class Pair(daskflow.tasks.Task):
    persist = {"a": "pickle", "b": "json"}
    n = daskflow.IntParameter()

    def requires(self):
        return [Leaf(i=i) for i in range(self.n)]

    def run(self):
        self.save({"a": sum(self.inputLoad()), "b": {"n": self.n}})
'''
N = 25  # Leaf builds; one Pair build with two outputs


@pytest.fixture
def flow(tmp_path):
    return load_module(tmp_path / "mods", FLOW, "counts")


def _count_os(monkeypatch):
    calls = collections.defaultdict(list)
    real_open, real_mkdir, real_replace, real_rename = os.open, os.mkdir, os.replace, os.rename
    real_link, real_exists = os.link, os.path.lexists
    unnamed = getattr(os, "O_TMPFILE", -1)

    def counted_open(path, flags, *args, **kwargs):
        new = flags & os.O_CREAT and not real_exists(path)
        fd = real_open(path, flags, *args, **kwargs)  # a file made (not a refused attempt)
        if new:
            calls["create"].append(os.fspath(path))
        elif flags & os.O_CREAT:
            calls["reopen"].append(os.fspath(path))
        elif flags & unnamed == unnamed:
            calls["unnamed"].append(os.fspath(path))  # a new inode with no name yet
        return fd

    def counted_mkdir(path, *args, **kwargs):
        calls["mkdir"].append(os.fspath(path))
        return real_mkdir(path, *args, **kwargs)

    def counted(name, real):
        def call(src, dst, *args, **kwargs):
            calls[name].append(os.fspath(dst))
            return real(src, dst, *args, **kwargs)
        return call

    monkeypatch.setattr(os, "link", counted("link", real_link))
    monkeypatch.setattr(os, "open", counted_open)
    monkeypatch.setattr(os, "mkdir", counted_mkdir)
    monkeypatch.setattr(os, "replace", counted("replace", real_replace))
    monkeypatch.setattr(os, "rename", counted("rename", real_rename))
    return calls


@pytest.mark.parametrize("leases", [False, True], ids=["no-lease", "lease"])
def test_local_build_is_one_create_per_output_and_one_marker_no_folder(flow, tmp_path, monkeypatch, leases):
    root = tmp_path / "store"
    daskflow.set_root(str(root), leases=leases)
    calls = _count_os(monkeypatch)
    result = daskflow.run(flow.Pair(n=N), scheduler="sync", progress=False)
    monkeypatch.undo()
    assert len(result.ran) == N + 1
    builds = N + 1
    creates = [p for p in calls["create"] if "@_lease." not in p]
    inline = calls["unnamed"] + calls["rename"]  # O_TMPFILE, or a temp file where there is none
    assert len(inline) == N and len(calls["link"] + calls["rename"]) == N  # a Leaf: one inode, named once
    assert all(".data.pkl" in p for p in calls["link"] + calls["rename"])
    journals = [p for p in creates if "/_explain." in p]
    assert len(journals) == 1 and os.path.dirname(journals[0]) == str(root / "Leaf")  # once per family
    assert calls["reopen"] == []  # then appended to, opened without O_CREAT
    pair = [p for p in creates if p not in journals and not p.endswith("/.tmp-")]
    assert len(pair) == 3 and sum("._commit." in p for p in pair) == 1  # two outputs and a marker
    assert all(os.path.dirname(p) in (str(root / "Leaf"), str(root / "Pair")) for p in creates + calls["link"])
    assert set(calls["unnamed"]) <= {str(root / "Leaf")}  # O_TMPFILE opens the folder it lives in
    done = [p for p in calls["replace"] if p.endswith(".done")]  # a committed lease, renamed (local)
    assert calls["replace"] == done and len(done) == (builds if leases else 0)
    # no folder per build: the root (the writability probe) and each family folder, once
    assert set(calls["mkdir"]) <= {str(root), str(root / "Leaf"), str(root / "Pair")}
    assert len(calls["mkdir"]) <= 3
    leased = [p for p in calls["create"] if "@_lease." in p]
    assert len(leased) == (builds if leases else 0)  # one create per build, deleted after
    assert not list(root.rglob("*@_lease.*.json")) and not list(root.rglob(".tmp-*"))

    calls = _count_os(monkeypatch)  # a run where everything is fresh creates nothing
    assert daskflow.run(flow.Pair(n=N), scheduler="sync", progress=False).ran == []
    monkeypatch.undo()
    assert dict(calls) == {}


def test_local_build_with_fsync_renames_its_marker_in_place(flow, tmp_path, monkeypatch):
    root = tmp_path / "store"
    daskflow.set_root(str(root), fsync=True)
    calls = _count_os(monkeypatch)
    result = daskflow.run(flow.Pair(n=N), scheduler="sync", progress=False)
    monkeypatch.undo()
    builds = N + 1
    assert len(result.ran) == builds
    creates = [p for p in calls["create"] if "@_lease." not in p]
    assert len(creates) == (N * 1 + 2) + builds  # outputs, plus a marker temp file per build
    assert not [p for p in creates if "._commit." in p]
    assert len([p for p in calls["replace"] if "._commit." in p]) == builds
    assert daskflow.run(flow.Pair(n=N), scheduler="sync", progress=False).ran == []


@pytest.fixture(params=["moto", "seaweedfs"])
def proxied(request):
    server = request.getfixturevalue("moto_s3" if request.param == "moto" else "s3_server")
    root = S3Root(server, "counts")
    with servers.CountingProxy(server.endpoint) as proxy:
        yield root, proxy, dict(root.options, client_kwargs={"endpoint_url": proxy.endpoint})
    root.cleanup()


def _methods(proxy):
    kinds = collections.Counter()
    for method, path in proxy.requests:
        kinds["LIST" if method == "GET" and "list-type=2" in path else method] += 1
    return kinds


@pytest.mark.parametrize("leases", [False, True], ids=["no-lease", "lease"])
def test_s3_build_is_one_put_per_output_and_marker_no_head(flow, proxied, leases):
    root, proxy, options = proxied
    daskflow.set_root(root.url, leases=leases, **options)
    daskflow.preview(flow.Pair(n=N))
    proxy.reset()
    result = daskflow.run(flow.Pair(n=N), scheduler="sync", progress=False)
    assert len(result.ran) == N + 1
    builds, outputs = N + 1, N + 2
    kinds = _methods(proxy)
    plan_lists = 2  # the plan: one LIST per family (Leaf, Pair), as the no-op check
    probe = 1  # the run's writability probe: one PUT and one DELETE per run, not per build
    assert kinds["HEAD"] == 0, proxy.requests
    assert kinds["PUT"] == outputs + builds + probe + (builds if leases else 0)
    assert kinds["DELETE"] == probe + (builds if leases else 0)
    assert kinds["LIST"] == plan_lists + (builds if leases else 0)  # the check after taking a lease
    assert kinds["GET"] == N  # Pair loads its inputs: one GET each
    assert set(kinds) <= {"PUT", "DELETE", "LIST", "GET", "POST"} and kinds["POST"] == 0, kinds

    proxy.reset()  # everything fresh: the same requests with leases on or off (one LIST a family)
    assert daskflow.run(flow.Pair(n=N), scheduler="sync", progress=False).ran == []
    assert _methods(proxy) == {"LIST": plan_lists}, proxy.requests


def test_local_inline_commit_without_o_tmpfile_is_a_temp_file_renamed(flow, tmp_path, monkeypatch):
    # macOS, NFS, old kernels: no O_TMPFILE; still one inode per build, named once
    from daskflow import localfs

    monkeypatch.setattr(localfs, "_unnamed_ok", [False])
    root = tmp_path / "store"
    daskflow.set_root(str(root))
    calls = _count_os(monkeypatch)
    assert len(daskflow.run(flow.Leaf(i=3), scheduler="sync", progress=False).ran) == 1
    monkeypatch.undo()
    made = [p for p in calls["create"] if "/_explain." not in p]
    assert len(made) == 1 and "/.tmp-" in made[0] and calls["unnamed"] == []
    assert len(calls["rename"]) == 1 and ".data.pkl" in calls["rename"][0]
    assert daskflow.run(flow.Leaf(i=3), scheduler="sync", progress=False).ran == []
    assert flow.Leaf(i=3).output().load() == 3 and not list(root.rglob(".tmp-*"))


def test_a_build_whose_output_is_never_named_is_not_committed(flow, tmp_path, monkeypatch):
    # a crash after the journal line, before the output is linked: nothing looks fresh
    from daskflow import localfs

    root = tmp_path / "store"
    daskflow.set_root(str(root))

    def crash(handle, path):
        localfs.discard(handle)
        raise OSError(5, "disk gone", path)

    monkeypatch.setattr(localfs, "publish", crash)
    with pytest.raises(daskflow.RunError, match="committing"):
        daskflow.run(flow.Leaf(i=4), scheduler="sync", progress=False)
    monkeypatch.undo()
    assert [p.name for p in (root / "Leaf").iterdir() if not p.name.startswith("_explain.")] == []
    assert daskflow.why(flow.Leaf(i=4))[flow.Leaf(i=4)].runs
    assert len(daskflow.run(flow.Leaf(i=4), scheduler="sync", progress=False).ran) == 1
    assert flow.Leaf(i=4).output().load() == 4
