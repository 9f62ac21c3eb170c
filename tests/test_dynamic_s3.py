"""Dynamic branches on S3 (the session's SeaweedFS server), requests counted at the server
through a counting proxy: a no-op run of a built dynamic fan-out makes the same listings as
the same graph written out, plus one GET for the list."""

from __future__ import annotations

import daskflow
import servers
from s3_fixtures import S3Root
from test_dynamic import Branch, Combine, StaticCombine


def test_dynamic_noop_on_s3_lists_like_a_static_graph(s3_server):
    root = S3Root(s3_server, "dynamic")
    items = [f"s{i}" for i in range(40)]
    dynamic, static = Combine(items=items), StaticCombine(items=items)
    try:
        daskflow.set_root(root.url, **root.options)
        first = daskflow.run(dynamic, scheduler="threads", workers=8, progress=False)
        assert len(first.ran) == 42
        grown = daskflow.run(Combine(items=items + ["new"]), scheduler="sync", progress=False)
        assert [t for t in grown.ran if isinstance(t, Branch)] == [Branch(item="new")]
        daskflow.run(static, scheduler="sync", progress=False)
        with servers.CountingProxy(s3_server.endpoint) as proxy:
            daskflow.set_root(root.url, **dict(root.options, client_kwargs={"endpoint_url": proxy.endpoint}))
            counts = {}
            for name, target in (("static", static), ("dynamic", dynamic)):
                proxy.reset()
                assert daskflow.run(target, scheduler="sync", progress=False).ran == []
                counts[name] = list(proxy.requests)
        lists = {k: [r for r in v if "list-type=2" in r[1]] for k, v in counts.items()}
        assert len(lists["dynamic"]) == len(lists["static"]) == 3  # Items, Branch, the combiner
        others = [r for r in counts["dynamic"] if "list-type=2" not in r[1]]
        assert [m for m, _ in others] == ["GET"]  # the list, loaded once
        assert [r for r in counts["static"] if "list-type=2" not in r[1]] == []
    finally:
        root.cleanup()
