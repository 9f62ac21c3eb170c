"""The task classes, by output format: ``daskflow.tasks.TaskPqPandas`` and friends.

Imports ``task``, ``formats`` and ``daskframe`` (``TaskPqDask``); this package
exists so d6tflow's ``d6tflow.tasks.X`` (and ``d6tflow.tasks.h5.TaskH5Pandas``)
spellings work.  Each class only names its output format; ``TaskCache`` and
``TaskCachePandas`` keep their output in memory: it travels through the dask
graph to the downstream tasks and is never stored.
"""

from ..daskframe import TaskPqDask
from ..rawfiles import ExternalFile
from ..task import Task, TaskAggregator

__all__ = ["Task", "TaskData", "TaskPqPandas", "TaskCSVPandas", "TaskCSVGZPandas", "TaskExcelPandas",
           "TaskH5Pandas", "TaskPickle", "TaskJson", "TaskCache", "TaskCachePandas",
           "TaskAggregator", "TaskPqDask", "ExternalFile", "TaskExternalFile"]

TaskExternalFile = ExternalFile  # d6tflow-style spelling

TaskData = Task  # d6tflow's name of the base task class


class TaskPqPandas(Task):
    """A task whose output is a pandas DataFrame stored as parquet (index kept)."""

    format = "parquet"


class TaskCSVPandas(Task):
    """A task whose output is a pandas DataFrame stored as CSV (a non-default index kept)."""

    format = "csv"


class TaskCSVGZPandas(Task):
    """A task whose output is a pandas DataFrame stored as gzipped CSV."""

    format = "csvgz"


class TaskExcelPandas(Task):
    """A task whose output is a pandas DataFrame stored as an Excel workbook (needs openpyxl)."""

    format = "excel"


class TaskH5Pandas(Task):
    """A task whose output is a pandas DataFrame stored as HDF5 (needs tables)."""

    format = "hdf5"


class TaskPickle(Task):
    """A task whose output is any picklable object."""

    format = "pickle"


class TaskJson(Task):
    """A task whose output is JSON-serialisable (dict key order is kept)."""

    format = "json"


class TaskCache(Task):
    """A task whose output stays in memory: never stored, passed through the dask graph.

    It runs whenever a downstream task runs (or it is a target); a downstream
    task's commit marker records its result identity (its fingerprint and
    inputs), so a fresh downstream task does not make it run.  After a run,
    ``outputLoad()`` works in the same process.

    Examples
    --------
    >>> import daskflow, pandas as pd
    >>> class Raw(daskflow.tasks.TaskCache):
    ...     def run(self):
    ...         self.save(pd.DataFrame({"x": [1, 2]}))
    """

    format = "cache"


class TaskCachePandas(TaskCache):
    """d6tflow's name for a TaskCache holding a pandas DataFrame."""
