"""daskflow's exceptions: one tree, each error naming what went wrong and where.

Imports nothing from daskflow.  Every message names the task (with its
parameters), the parameter, the output or the path involved, and how to fix
it where that is known.  Foreign exceptions are wrapped once, at the boundary
where they happen, with ``raise ... from exc``.

::

    DaskflowError
     +-- TaskDefinitionError      a task class is malformed (found at class definition)
     |    +-- RequiresError           a requires() raised (also a RuntimeError, as luigi surfaces it)
     +-- ParameterError           unknown, missing or ill-typed parameter (also a TypeError)
     |    +-- NoTaskError             a workflow with no task and no default task (a RuntimeError, as d6tflow)
     +-- CycleError               requires() forms a cycle
     +-- FingerprintError         a parameter value cannot be hashed deterministically
     +-- SaveError                save() got wrong output names or a value the format cannot write (a ValueError)
     +-- MissingOutputError       a task finished without saving / output is not built (a RuntimeError)
     |    +-- MissingExternalError    an external task's data is missing
     +-- NotBuiltError            outputLoad() of a task not built for today's code and parameters (a RuntimeError)
     +-- LoadError                a stored output cannot be loaded (corrupt pickle, truncated parquet)
     +-- StorageError             the storage root is unreachable, unwritable or refuses credentials
     +-- LeaseError               waiting for another builder's lease took too long
     +-- ClusterError             a cluster cannot run these tasks (resources, imports, memory:// root)
     +-- RunError                 one or more tasks failed in daskflow.run(); carries each failure (a RuntimeError)

The errors d6tflow raises as ``RuntimeError`` (a failed run, a task not
built, a workflow with no task) are ``RuntimeError`` subclasses too, and a
bad ``save()`` a ``ValueError``, so d6tflow scripts' ``except`` clauses keep working.
"""

from __future__ import annotations

__all__ = [
    "DaskflowError",
    "TaskDefinitionError",
    "RequiresError",
    "ParameterError",
    "NoTaskError",
    "CycleError",
    "FingerprintError",
    "SaveError",
    "MissingOutputError",
    "MissingExternalError",
    "NotBuiltError",
    "LoadError",
    "StorageError",
    "LeaseError",
    "ClusterError",
    "RunError",
    "TaskFailure",
]


class DaskflowError(Exception):
    """Base class of every error daskflow raises on purpose."""


class TaskDefinitionError(DaskflowError, TypeError):
    """A task class is malformed, e.g. two parents declare one parameter differently."""


class RequiresError(TaskDefinitionError, RuntimeError):
    """A task's ``requires()`` raised; the original exception is its ``__cause__``."""


class ParameterError(DaskflowError, TypeError):
    """A parameter is unknown, missing, or its value has the wrong type."""


class CycleError(DaskflowError):
    """``requires()`` of some tasks forms a cycle; the message shows it."""


class FingerprintError(DaskflowError, TypeError):
    """A value cannot be hashed deterministically (names the task and parameter)."""


class SaveError(DaskflowError, ValueError):
    """``save()`` was given the wrong output names or a value its format cannot write (a
    ValueError too, as d6tflow raises)."""


class NoTaskError(ParameterError, RuntimeError):
    """A workflow asked to act without a task and with no default task (a RuntimeError
    too, as d6tflow raises)."""


class MissingOutputError(DaskflowError, RuntimeError):
    """A task's output is missing: it finished without saving, or was never built."""


class MissingExternalError(MissingOutputError):
    """An ``external = True`` task has no data in storage; nothing was run."""


class NotBuiltError(DaskflowError, RuntimeError):
    """Loading the output of a task that is not built for today's code and parameters."""


class StorageError(DaskflowError, OSError):
    """The storage root cannot be reached, written, or accessed with these credentials."""


class LoadError(DaskflowError):
    """A committed output cannot be loaded: names the task, the output and the path; the
    format's own exception is ``__cause__``."""


class LeaseError(DaskflowError):
    """Another builder held a task's lease for longer than the wait allowed (names the task
    and the owner)."""


class ClusterError(DaskflowError):
    """The cluster cannot run some tasks: a resource no worker offers, or a module
    the workers cannot import.  Raised before anything is submitted."""


class TaskFailure:
    """One failed task of a run: the task, the original exception and its traceback text."""

    __slots__ = ("task", "exception", "traceback")

    def __init__(self, task, exception: BaseException, traceback: str):
        self.task = task
        self.exception = exception
        self.traceback = traceback

    def __repr__(self) -> str:
        return f"TaskFailure({self.task!r}, {type(self.exception).__name__}: {self.exception})"


class RunError(DaskflowError, RuntimeError):
    """Some tasks of a run failed; independent branches ran to the end.

    Attributes
    ----------
    failures : list of TaskFailure
        Each failed task with its original exception and traceback text.
    result : RunResult
        What ran, was skipped, failed or was not run because an upstream failed.
    exceptions : tuple of BaseException
        The original exceptions; the first is also ``__cause__``.
    """

    def __init__(self, failures: list[TaskFailure], result=None):
        self.failures = list(failures)
        self.result = result
        self.exceptions = tuple(f.exception for f in self.failures)
        lines = [f"{len(self.failures)} task(s) failed:"]
        for f in self.failures:
            lines.append(f"  {f.task!r}: {type(f.exception).__name__}: {f.exception}")
        if result is not None and result.upstream_failed:
            lines.append(f"  not run because an upstream task failed: {len(result.upstream_failed)}")
        if self.failures:
            lines.append("first traceback:")
            lines.append(self.failures[0].traceback.rstrip())
        super().__init__("\n".join(lines))
