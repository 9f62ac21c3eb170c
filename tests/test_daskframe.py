"""TaskPqDask: dask DataFrame outputs as partitioned parquet, loaded lazily, fresh as a set."""

from __future__ import annotations

import os

import pandas as pd
import pytest

dd = pytest.importorskip("dask.dataframe")

import daskflow  # noqa: E402
from daskflow.plan import Plan  # noqa: E402
from daskflow.storage import PARTS_PREFIX  # noqa: E402
from test_cluster_tasks import Doubled, Frame, Summary  # noqa: E402


def _expected(rows=100):
    df = pd.DataFrame({"k": [i % 7 for i in range(rows)], "v": [2 * i for i in range(rows)]})
    return df.groupby("k").v.sum().reset_index()


def test_partitions_written_and_loaded_lazily(root):
    result = daskflow.run(Summary(), scheduler="sync", progress=False)
    assert len(result.ran) == 3
    folder = Frame().output().path
    names = sorted(os.listdir(folder))
    assert len([n for n in names if n.endswith(".parquet")]) == 4
    assert len([n for n in names if n.startswith(PARTS_PREFIX)]) == 1
    loaded = Doubled().outputLoad()
    assert isinstance(loaded, dd.DataFrame) and loaded.npartitions == 4
    assert loaded.v.sum().compute() == 2 * sum(range(100))
    pd.testing.assert_frame_equal(Summary().outputLoad().sort_values("k").reset_index(drop=True),
                                  _expected(), check_dtype=False)


def test_deleting_one_partition_makes_it_stale(root):
    daskflow.run(Doubled(), scheduler="sync", progress=False)
    assert Frame().complete() and Doubled().complete()
    folder = Frame().output().path
    victim = sorted(n for n in os.listdir(folder) if n.endswith(".parquet"))[1]
    os.remove(os.path.join(folder, victim))
    node = Plan(Doubled()).nodes[Frame()]
    assert node.status == "run"
    assert "data.parquet modified" in "; ".join(r.message for r in node.reasons)
    assert not Frame().complete()
    result = daskflow.run(Doubled(), scheduler="sync", progress=False)
    assert Frame() in result.ran
    assert Doubled().outputLoad().v.sum().compute() == 2 * sum(range(100))


def test_resized_partition_makes_it_stale(root):
    daskflow.run(Frame(), scheduler="sync", progress=False)
    folder = Frame().output().path
    part = os.path.join(folder, sorted(n for n in os.listdir(folder) if n.endswith(".parquet"))[0])
    stat = os.stat(part)
    with open(part, "ab") as f:
        f.write(b"x")
    os.utime(part, (stat.st_atime, stat.st_mtime))  # even with the old mtime back
    assert not Frame().complete()


def test_pandas_frame_is_one_partition_and_wrong_type_is_refused(root):
    class FromPandas(daskflow.tasks.TaskPqDask):
        def run(self):
            self.save(pd.DataFrame({"x": [1, 2, 3]}))

    class NotAFrame(daskflow.tasks.TaskPqDask):
        def run(self):
            self.save([1, 2, 3])

    daskflow.run(FromPandas(), scheduler="sync", progress=False)
    assert FromPandas().outputLoad().compute().x.tolist() == [1, 2, 3]
    with pytest.raises(daskflow.RunError, match="needs a dask \\(or pandas\\) DataFrame, got list"):
        daskflow.run(NotAFrame(), scheduler="sync", progress=False)


def test_on_a_cluster_workers_write_the_partitions(cluster, root):
    from distributed import Client

    with Client(cluster) as client:
        client.wait_for_workers(2, timeout=60)
        result = daskflow.run(Summary(rows=200, parts=6), client=client, progress=False)
    assert len(result.ran) == 3
    assert Doubled(rows=200, parts=6).outputLoad().npartitions == 6
    pd.testing.assert_frame_equal(
        Summary(rows=200, parts=6).outputLoad().sort_values("k").reset_index(drop=True),
        _expected(200), check_dtype=False)
    assert Plan(Summary(rows=200, parts=6)).to_run() == []
