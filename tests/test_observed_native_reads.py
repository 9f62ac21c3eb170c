"""Files pyarrow's readers open in C (pandas' read_parquet hands them the path) are recorded
as a Python open would be (daskflow.observe): by a path computed at run time, a file or a
partitioned dataset folder, not daskflow's own loads, not another file system's."""

from __future__ import annotations

import json
import pickle

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import daskflow
from flowfiles import load_flow, unload_flow
from daskflow import filestate, nativereads, observe
from daskflow.plan import Plan

FLOW = '''
import functools
import os
from pathlib import Path
import pandas as pd
import pyarrow.csv
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import daskflow

DATA = Path(os.environ["FLOW_DATA"])


class Sales(daskflow.tasks.TaskJson):
    name = daskflow.Parameter(default="sales")

    def run(self):
        df = pd.read_parquet(DATA / f"{self.name}.parquet")  # a path made at run time, read in C
        self.save({"total": int(df["v"].sum())})


class Arrow(daskflow.tasks.TaskJson):
    def run(self):
        a = pq.read_table(str(DATA / "sales.parquet"))["v"].to_pylist()
        b = pq.ParquetFile(DATA / "other.parquet").read()["v"].to_pylist()
        c = pyarrow.csv.read_csv(DATA / "rates.csv")["r"].to_pylist()
        self.save({"v": sum(a) + sum(b) + sum(c)})


class Partitioned(daskflow.tasks.TaskJson):
    def run(self):
        table = ds.dataset(DATA / "events", format="parquet", partitioning="hive").to_table()
        self.save({"n": int(pd.Series(table["v"].to_pylist()).sum())})


@functools.lru_cache(maxsize=None)
def sales():  # memoized: the second task to call it opens nothing
    return pd.read_parquet(DATA / "sales.parquet")


class Left(daskflow.tasks.TaskJson):
    def run(self):
        self.save({"v": int(sales()["v"].sum())})


class Right(daskflow.tasks.TaskJson):
    def run(self):
        self.save({"v": int(sales()["v"].max())})


class Sides(daskflow.tasks.TaskJson):
    def requires(self):
        return [Left(), Right()]

    def run(self):
        self.save({"v": [x["v"] for x in self.inputLoad()]})


class Frame(daskflow.tasks.TaskPqPandas):
    def run(self):
        self.save(pd.DataFrame({"v": [1, 2]}))


class UsesFrame(daskflow.tasks.TaskJson):
    def requires(self):
        return Frame()

    def run(self):
        self.save({"v": int(self.inputLoad()["v"].sum())})
'''


def _parquet(path, values) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({"v": values}), path)


@pytest.fixture
def flow(tmp_path, monkeypatch):
    data = tmp_path / "inputs"
    _parquet(data / "sales.parquet", [1, 2, 3])
    _parquet(data / "other.parquet", [10])
    (data / "rates.csv").write_text("r\n100\n")
    _parquet(data / "events" / "year=2024" / "part-0.parquet", [1, 1])
    _parquet(data / "events" / "year=2025" / "part-0.parquet", [5])
    yield load_flow(tmp_path, monkeypatch, "native_flow", FLOW, data), data
    unload_flow("native_flow")


def _record(task) -> dict:
    node = Plan(task).nodes[task]
    assert filestate.READS_NAME in node.commit.files, node.commit.files
    return json.loads(open(node.commit.file(filestate.READS_NAME)).read())


def test_read_parquet_by_a_computed_path_is_recorded_and_a_new_file_reruns(flow):
    m, data = flow
    daskflow.run(m.Sales(), progress=False)
    assert list(_record(m.Sales())) == ["inputs/sales.parquet"]
    assert daskflow.run(m.Sales(), progress=False).ran == []
    _parquet(data / "sales.parquet", [10, 20, 30])  # regenerated with other values
    assert "file inputs/sales.parquet changed (read by run())" in str(daskflow.why(m.Sales()))
    assert daskflow.run(m.Sales(), progress=False).ran == [m.Sales()]
    assert m.Sales().outputLoad() == {"total": 60}


def test_pyarrows_own_readers_are_recorded(flow):
    m, data = flow
    daskflow.run(m.Arrow(), progress=False)
    assert sorted(_record(m.Arrow())) == ["inputs/other.parquet", "inputs/rates.csv", "inputs/sales.parquet"]
    (data / "rates.csv").write_text("r\n200\n")
    assert daskflow.run(m.Arrow(), progress=False).ran == [m.Arrow()]
    assert m.Arrow().outputLoad() == {"v": 6 + 10 + 200}


def test_a_partitioned_dataset_counts_by_every_file_of_its_folders(flow):
    m, data = flow
    daskflow.run(m.Partitioned(), progress=False)
    assert sorted(_record(m.Partitioned())) == ["inputs/events", "inputs/events/year=2024",
                                                "inputs/events/year=2025"]
    _parquet(data / "events" / "year=2024" / "part-0.parquet", [1, 1, 1])  # one partition's file
    assert daskflow.run(m.Partitioned(), progress=False).ran == [m.Partitioned()]
    assert m.Partitioned().outputLoad() == {"n": 8}


def test_a_memoized_reader_counts_for_each_task_that_calls_it(flow):
    m, data = flow
    daskflow.run(m.Sides(), scheduler="sync", progress=False)  # Left opens, Right gets the cached frame
    for task in (m.Left(), m.Right()):
        assert list(_record(task)) == ["inputs/sales.parquet"], task
    _parquet(data / "sales.parquet", [7, 8])
    m.sales.cache_clear()  # a new process would read it again
    ran = daskflow.run(m.Sides(), scheduler="sync", progress=False).ran
    assert sorted(map(repr, ran)) == ["Left()", "Right()", "Sides()"]
    assert m.Sides().outputLoad() == {"v": [15, 8]}


def test_daskflows_own_parquet_loads_are_not_inputs(flow):
    m, _ = flow
    daskflow.run(m.UsesFrame(), progress=False)
    node = Plan(m.UsesFrame()).nodes[m.UsesFrame()]
    assert filestate.READS_NAME not in node.commit.files  # its input is a build: no record


def test_another_file_systems_reads_and_urls_are_not_local_files(tmp_path):
    fsspec = pytest.importorskip("fsspec")
    memory = fsspec.filesystem("memory")
    with memory.open("/native/x.parquet", "wb") as f:
        pq.write_table(pa.table({"v": [1]}), f)
    nativereads.wrap()
    with observe.recording() as rec:
        pq.read_table("/native/x.parquet", filesystem=memory)
        pd.read_parquet("memory://native/x.parquet")
    assert not rec.read and not rec.listed and not rec.broken
    memory.rm("/native", recursive=True)


def test_the_readers_keep_their_names_docs_and_pickle_by_reference(tmp_path):
    nativereads.wrap()  # the readers of the modules imported so far (before each recorded run())
    assert getattr(pd.read_parquet, "__daskflow_reads__", False)
    assert pd.read_parquet.__name__ == "read_parquet" and "parquet" in pd.read_parquet.__doc__
    assert pickle.loads(pickle.dumps(pd.read_parquet)) is pd.read_parquet
    assert pickle.loads(pickle.dumps(pq.read_table)) is pq.read_table
    _parquet(tmp_path / "x.parquet", [4])  # and outside a recorded run() they read as ever
    assert pq.ParquetFile(tmp_path / "x.parquet").read()["v"].to_pylist() == [4]


def test_a_failure_while_noting_a_read_makes_the_build_unfresh_never_the_run_fail(flow, monkeypatch):
    m, _ = flow

    def broken(*args):
        raise RuntimeError("cannot note")

    monkeypatch.setattr(nativereads, "_native", broken)  # the error path: a mock
    assert daskflow.run(m.Sales(), progress=False).ran == [m.Sales()]
    node = Plan(m.Sales()).nodes[m.Sales()]
    assert node.runs and "cannot note" in node.reasons[0].message, node.reasons
    assert daskflow.run(m.Sales(), progress=False).ran == [m.Sales()]  # never fresh


def test_a_reader_put_back_unwrapped_is_wrapped_again_and_a_mock_is_left_alone(monkeypatch):
    from unittest import mock

    nativereads.wrap()
    original = pd.read_parquet.__wrapped__
    monkeypatch.setattr(pd, "read_parquet", original)  # what a test's undo does
    nativereads.wrap()
    assert pd.read_parquet.__wrapped__ is original
    with mock.patch("pandas.read_parquet") as fake:
        nativereads.wrap()
        assert pd.read_parquet is fake


def test_an_original_held_before_wrapping_still_pickles_where_it_is_defined():
    import pyarrow._csv
    import pyarrow.csv

    held = pyarrow._csv.read_csv  # what dask.delayed(read_csv) keeps
    nativereads.wrap()
    assert getattr(pyarrow.csv.read_csv, "__daskflow_reads__", False)
    assert pickle.loads(pickle.dumps(held)) is held
