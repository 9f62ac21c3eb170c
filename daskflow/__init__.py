"""daskflow: a Make-like build system for data-science workflows, on dask.

The public API, nothing else.  Write tasks as classes (d6tflow's shape), run
them with :func:`run` on the local dask scheduler or a dask.distributed
cluster; outputs are stored through fsspec (local disk, S3) and every task
whose outputs match today's code, parameters and upstream results is skipped.

>>> import daskflow as d6tflow   # d6tflow's spellings work
"""

from . import tasks
from .config import set_dir, set_root
from .errors import (ClusterError, CycleError, DaskflowError, FingerprintError, MissingExternalError,
                     MissingOutputError, NotBuiltError, ParameterError, RunError, SaveError,
                     StorageError, TaskDefinitionError, TaskFailure)
from .dynamic import map
from .formats import Format, register_format
from .gc import GcReport, gc
from .graph import run
from .inherit import inherits, requires
from .params import (BoolParameter, ChoiceParameter, DateParameter, DictParameter, EnumParameter,
                     FloatParameter, IntParameter, ListParameter, Parameter)
from .plan import invalidate_downstream, invalidate_upstream
from .report import preview, why
from .result import RunResult
from .task import Task
from .viz import Drawing, draw, graph_html
from .workflow import Workflow, WorkflowMulti

__version__ = "0.1.0"

__all__ = [
    "tasks", "Task", "run", "preview", "why", "set_root", "set_dir", "map",
    "draw", "graph_html", "Drawing",
    "invalidate_downstream", "invalidate_upstream", "gc", "GcReport",
    "requires", "inherits", "Workflow", "WorkflowMulti", "RunResult",
    "Parameter", "IntParameter", "FloatParameter", "BoolParameter", "DateParameter",
    "ListParameter", "DictParameter", "EnumParameter", "ChoiceParameter",
    "Format", "register_format",
    "DaskflowError", "TaskDefinitionError", "ParameterError", "CycleError", "FingerprintError",
    "SaveError", "MissingOutputError", "MissingExternalError", "NotBuiltError", "StorageError",
    "RunError", "TaskFailure", "ClusterError",
]
