"""The parquet format writes the very bytes ``DataFrame.to_parquet`` writes and loads the
very frame ``pandas.read_parquet`` loads (it skips their path and dataset machinery);
options go to pandas' own functions."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from daskflow.formats.frames import Parquet


def _frames():
    yield "numbers", pd.DataFrame({"a": [1, 2, 3], "b": [0.5, np.nan, 2.0]})
    yield "strings and nulls", pd.DataFrame({"s": ["x", None, "z"], "n": pd.array([1, None, 3], dtype="Int64")})
    yield "categorical", pd.DataFrame({"c": pd.Categorical(["a", "b", "a"])})
    yield "datetimes with a zone", pd.DataFrame(
        {"t": pd.date_range("2020-01-01", periods=3, tz="Europe/Paris")})
    yield "named index", pd.DataFrame({"v": [1, 2]}, index=pd.Index(["p", "q"], name="k"))
    yield "multi-index", pd.DataFrame(
        {"v": [1, 2]}, index=pd.MultiIndex.from_tuples([(1, "a"), (2, "b")], names=["x", "y"]))
    yield "stepped range index", pd.DataFrame({"v": [1, 2, 3]}, index=pd.RangeIndex(10, 16, 2))
    yield "empty", pd.DataFrame({"a": pd.Series([], dtype="float64")})
    with_attrs = pd.DataFrame({"a": [1]})
    with_attrs.attrs = {"source": "sensor-3", "n": 1}
    yield "attrs", with_attrs


@pytest.mark.parametrize("name,frame", list(_frames()), ids=[n for n, _ in _frames()])
def test_parquet_bytes_and_frames_are_pandas_own(name, frame):
    fmt = Parquet()
    theirs = io.BytesIO()
    frame.to_parquet(theirs, engine="pyarrow")
    assert fmt.dumps(frame) == theirs.getvalue()
    loaded = fmt.load(io.BytesIO(theirs.getvalue()))
    expected = pd.read_parquet(io.BytesIO(theirs.getvalue()), engine="pyarrow")
    pd.testing.assert_frame_equal(loaded, expected)
    assert loaded.attrs == expected.attrs == frame.attrs


def test_parquet_options_go_to_pandas():
    fmt = Parquet()
    frame = pd.DataFrame({"a": [1, 2], "b": [3, 4]}, index=pd.Index(["p", "q"], name="k"))
    data = fmt.dumps(frame, index=False, compression="gzip")
    assert data != fmt.dumps(frame)
    assert list(fmt.load(io.BytesIO(data)).columns) == ["a", "b"]
    assert list(fmt.load(io.BytesIO(fmt.dumps(frame)), columns=["b"]).columns) == ["b"]
