"""pandas DataFrame formats: parquet, CSV, gzipped CSV.

Imports ``formats.base``; pandas only inside the methods.  The round trip of
a DataFrame keeps its index by default: parquet stores it (pyarrow), and CSV
writes it when it is not the default ``RangeIndex``, after a first line
``#daskflow:index=N`` saying how many leading columns are the index, which
``load`` reads back.  Writer options (``save(df, index=False, sep=";")``) go
to ``to_parquet``/``to_csv``, reader options (``load(usecols=[...])``) to
``read_parquet``/``read_csv``; given options win over these defaults.
"""

from __future__ import annotations

import io
import json

from .base import Format, register_format

__all__ = ["Parquet", "CSV", "CSVGZ", "default_index"]

_INDEX_LINE = b"#daskflow:index="


def check_frame(fmt: Format, obj) -> None:
    import pandas as pd

    if not isinstance(obj, pd.DataFrame):
        raise TypeError(f"{fmt.name} output needs a pandas DataFrame, got {type(obj).__name__}")


def default_index(df) -> bool:
    """True when ``df``'s index is the unnamed 0..n-1 RangeIndex (nothing worth storing)."""
    import pandas as pd

    idx = df.index
    return (isinstance(idx, pd.RangeIndex) and idx.name is None and idx.start == 0
            and idx.step == 1)


@register_format
class Parquet(Format):
    """A pandas DataFrame as parquet (pyarrow); the index is kept."""

    name, ext = "parquet", "parquet"

    def check(self, obj) -> None:
        check_frame(self, obj)

    def dumps(self, obj, **options) -> bytes:
        buf = io.BytesIO()
        if options:  # writer options: pandas' own to_parquet, whatever they mean
            obj.to_parquet(buf, **{"engine": "pyarrow", **options})
        else:  # what to_parquet does for one file, without its path handling: the same bytes
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = pa.Table.from_pandas(obj)
            if obj.attrs:
                table = table.replace_schema_metadata(
                    {**table.schema.metadata, b"PANDAS_ATTRS": json.dumps(obj.attrs).encode()})
            pq.write_table(table, buf, compression="snappy")
        return buf.getvalue()

    def load(self, file, **options):
        import pandas as pd

        to_pandas = _arrow_to_pandas()
        if options or to_pandas is None:  # reader options (columns, filters...): read_parquet's
            return pd.read_parquet(file, **{"engine": "pyarrow", **options})
        import pyarrow.parquet as pq

        # What read_parquet does for one file, minus the dataset machinery (2-3x faster on
        # small files): pandas' own arrow -> pandas conversion, then the frame's attrs.
        table = pq.ParquetFile(file).read(use_pandas_metadata=True)
        frame = to_pandas(table)
        attrs = (table.schema.metadata or {}).get(b"PANDAS_ATTRS")
        if attrs is not None:
            frame.attrs = json.loads(attrs)
        return frame


def _arrow_to_pandas():
    """pandas' conversion of an arrow table (the one read_parquet uses), or None where this
    pandas has none (then ``load`` calls ``read_parquet`` itself)."""
    try:
        from pandas.io._util import arrow_table_to_pandas
    except ImportError:  # pragma: no cover - pandas < 3
        return None
    return arrow_table_to_pandas


@register_format
class CSV(Format):
    """A pandas DataFrame as CSV; a non-default index is written and read back."""

    name, ext = "csv", "csv"
    compression = None

    def check(self, obj) -> None:
        check_frame(self, obj)

    def dumps(self, obj, **options) -> bytes:
        if "index" not in options:
            options["index"] = not default_index(obj)
        marked = options["index"] and "index_label" not in options and "header" not in options
        text = obj.to_csv(**options).encode(options.get("encoding") or "utf-8")
        if marked:
            text = _INDEX_LINE + str(obj.index.nlevels).encode() + b"\n" + text
        return self._compress(text)

    def load(self, file, **options):
        import pandas as pd

        data = self._decompress(file.read())
        if data.startswith(_INDEX_LINE):
            first, _, data = data.partition(b"\n")
            levels = int(first[len(_INDEX_LINE):])
            options.setdefault("index_col", list(range(levels)) if levels > 1 else 0)
        return pd.read_csv(io.BytesIO(data), **options)

    def _compress(self, data: bytes) -> bytes:
        return data

    def _decompress(self, data: bytes) -> bytes:
        return data


@register_format
class CSVGZ(CSV):
    """A pandas DataFrame as gzipped CSV (reproducible bytes: no timestamp in the header)."""

    name, ext = "csvgz", "csv.gz"

    def _compress(self, data: bytes) -> bytes:
        import gzip

        return gzip.compress(data, mtime=0)

    def _decompress(self, data: bytes) -> bytes:
        import gzip

        return gzip.decompress(data)
