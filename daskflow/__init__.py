"""daskflow: a Make-like build system for data-science workflows, on dask.

The public API, nothing else.  Write tasks as classes (d6tflow's shape), run
them with :func:`run` on the local dask scheduler or a dask.distributed
cluster; outputs are stored through fsspec (local disk, S3) and every task
whose outputs match today's code, parameters and upstream results is skipped.

>>> import daskflow as d6tflow   # d6tflow's spellings work
"""

import sys as _sys

from . import outputs as _outputs  # noqa: F401  (registers the planner behind Task.output())
from . import formats, functional, tasks
from .compat import cache, targets, utils
from .compat.params import (DateHourParameter, DateMinuteParameter, DateSecondParameter, MonthParameter,
                            NumericalParameter, OptionalParameter, TaskParameter, TimeDeltaParameter,
                            TupleParameter, YearParameter)
from .compat.settings import set_dir, settings
from .compat.targets import data
from .config import set_root
from .errors import (ClusterError, CycleError, DaskflowError, FingerprintError, MissingExternalError,
                     LeaseError, LoadError, MissingOutputError, NoTaskError, NotBuiltError, ParameterError,
                     RequiresError, RunError, SaveError, StorageError, TaskDefinitionError, TaskFailure)
from .dynamic import map
from .formats import Format, register_format
from .gc import GcReport, gc
from .graph import run
from .inherit import inherits, requires
from .params import (BoolParameter, ChoiceParameter, DateParameter, DictParameter, EnumParameter,
                     FloatParameter, IntParameter, ListParameter, Parameter, PathParameter)
from .outputs import invalidate_downstream, invalidate_upstream, taskflow_downstream, taskflow_upstream
from .report import preview, why

show = preview  # d6tflow's alias
from .result import RunResult
from .task import Task
from .viz import Drawing, draw, graph_html
from .workflow import Workflow, WorkflowMulti

__version__ = "0.1.0"

# d6tflow's submodules, importable by name as there (import d6tflow.settings, from
# d6tflow.targets import PickleTarget, d6tflow.cache.data): the same objects as the attributes
_sys.modules.update({f"{__name__}.targets": targets, f"{__name__}.utils": utils,
                     f"{__name__}.settings": settings, f"{__name__}.cache": cache})


# d6tflow's names daskflow does not provide, and what to use instead
_NOT_PROVIDED = {
    "pipes": "d6tpipe is not supported: share outputs through an S3 root (set_root('s3://...')) and "
             "mark the readers' tasks external = True",
    "FlowExport": "share the task module and an S3 root instead (README: Sharing one root)",
    "FlowImport": "share the task module and an S3 root instead (README: Sharing one root)",
    "enable_gcs": "any fsspec URL is a root: daskflow.set_root('gs://bucket/prefix') with gcsfs installed",
    "invalidate_all": "use daskflow.gc (dry run by default) or invalidate_upstream(task)",
    "invalidate_orphans": "use daskflow.gc, which removes what no current task version uses",
}


def __getattr__(name):  # PEP 562: dask is imported by the first daskflow.delayed / Flow, not here
    if name in ("Flow", "delayed"):
        from . import collection

        return getattr(collection, name)
    if name in _NOT_PROVIDED:
        raise AttributeError(f"daskflow does not provide d6tflow's {name}: {_NOT_PROVIDED[name]}")
    raise AttributeError(f"module 'daskflow' has no attribute {name!r}")

__all__ = [
    "tasks", "targets", "settings", "data", "formats", "functional", "Task", "run", "delayed", "Flow", "map",
    "preview", "show", "why", "set_root", "set_dir", "utils", "cache",
    "draw", "graph_html", "Drawing",
    "invalidate_downstream", "invalidate_upstream", "taskflow_upstream", "taskflow_downstream",
    "gc", "GcReport",
    "requires", "inherits", "Workflow", "WorkflowMulti", "RunResult",
    "Parameter", "IntParameter", "FloatParameter", "BoolParameter", "DateParameter",
    "ListParameter", "DictParameter", "PathParameter", "EnumParameter", "ChoiceParameter",
    "TupleParameter", "OptionalParameter", "NumericalParameter", "MonthParameter", "YearParameter",
    "DateHourParameter", "DateMinuteParameter", "DateSecondParameter", "TimeDeltaParameter", "TaskParameter",
    "Format", "register_format",
    "DaskflowError", "TaskDefinitionError", "RequiresError", "ParameterError", "NoTaskError", "CycleError", "FingerprintError",
    "SaveError", "MissingOutputError", "MissingExternalError", "NotBuiltError", "StorageError",
    "LoadError", "LeaseError",
    "RunError", "TaskFailure", "ClusterError",
]
