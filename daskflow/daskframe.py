"""Dask DataFrame outputs: ``TaskPqDask`` and its folder format, partitioned parquet.

Imports ``errors``, ``formats``, ``storage`` and ``task``; dask.dataframe (and
distributed, when the write runs on a worker) only inside the methods, so
importing daskflow stays cheap.  Besides ``graph``, this is the one module
that uses dask: a dask DataFrame output is a dask computation by nature.

A ``TaskPqDask`` saves a dask DataFrame; the format writes it as partitioned
parquet into the output folder ``{build}/{name}.parquet/`` on the task's
storage root.  On a cluster the write is computed by all workers (through a
``worker_client``), so no partition passes through the driver or a single
worker.  Downstream, ``inputLoad()`` returns a lazy ``dd.read_parquet``.

What stays true: after the partitions, the format writes an empty
``_parts.<digest>`` file (see :func:`daskflow.storage.parts_digest`) holding
the names and sizes of the partition files, and the build's result digest
comes from their sizes and ETags.  The freshness check reads both from the one
listing it already makes: a removed, added or resized partition makes the
task stale.
"""

from __future__ import annotations

import hashlib

from .formats import Format, register_format
from .storage import PARTS_PREFIX, parts_digest
from .task import Task

__all__ = ["DaskParquet", "TaskPqDask"]


@register_format
class DaskParquet(Format):
    """A dask DataFrame as a folder of parquet partitions (a pandas DataFrame is one partition).

    Examples
    --------
    >>> import daskflow
    >>> daskflow.formats.get_format("dask-parquet")
    <format dask-parquet>
    """

    name, ext = "dask-parquet", "parquet"

    def check(self, obj) -> None:
        import pandas as pd

        if not isinstance(obj, pd.DataFrame) and not _is_dask_frame(obj):
            raise TypeError(f"{self.name} output needs a dask (or pandas) DataFrame, "
                            f"got {type(obj).__name__}")

    def write(self, obj, fs, path: str) -> str:
        """Write the partitions under ``path``, then the ``_parts`` manifest; return the digest."""
        import dask.dataframe as dd

        if not _is_dask_frame(obj):
            obj = dd.from_pandas(obj, npartitions=1)
        _compute(obj.to_parquet(path, filesystem=fs, compute=False))
        fs.invalidate_cache(path)
        found = fs.find(path, detail=True)
        cut = len(path.rstrip("/")) + 1
        files = {name[cut:]: info for name, info in found.items()}
        digest = parts_digest({n: i.get("size") or 0 for n, i in files.items()})
        fs.pipe_file(f"{path}/{PARTS_PREFIX}{digest}", b"")
        h = hashlib.sha256(digest.encode())
        for name in sorted(files):
            etag = files[name].get("ETag") or files[name].get("etag")
            # without an ETag (local disk) sizes say nothing of content: a digest unique to this
            # build, so early cutoff never mistakes new partitions for old ones
            stamp = str(etag).strip(chr(34)) if etag else f"unverified {path}"
            h.update(f"{name}\0{stamp}\n".encode())
        return h.hexdigest()

    def load_path(self, fs, path: str):
        """A lazy dask DataFrame over the partitions."""
        import dask.dataframe as dd

        # no hive partitioning: the parameter folders above (``n=3,...``) are not columns
        return dd.read_parquet(path, filesystem=fs, dataset={"partitioning": None})


def _is_dask_frame(obj) -> bool:
    return type(obj).__module__.startswith("dask.") and hasattr(obj, "npartitions") \
        and hasattr(obj, "to_parquet")


def _compute(result) -> None:
    """Compute a dask result: on the whole cluster when running on a worker, else locally."""
    try:
        from distributed import get_worker, worker_client

        get_worker()
    except (ImportError, ValueError):
        import dask

        dask.compute(result)
        return
    with worker_client() as client:  # secedes: this worker's thread is not held while waiting
        client.compute(result).result()


class TaskPqDask(Task):
    """A task whose output is a dask DataFrame, stored as partitioned parquet.

    ``run()`` saves a dask DataFrame; the workers write its partitions.
    ``inputLoad()`` downstream (and ``outputLoad()``) returns a lazy dask
    DataFrame reading them.

    Examples
    --------
    >>> import daskflow, dask.dataframe as dd, pandas as pd
    >>> class Events(daskflow.tasks.TaskPqDask):
    ...     def run(self):
    ...         self.save(dd.from_pandas(pd.DataFrame({"x": range(10)}), npartitions=2))
    """

    format = "dask-parquet"
