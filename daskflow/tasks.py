"""The task classes, by output format: ``daskflow.tasks.TaskPqPandas`` and friends.

Imports ``task``, ``daskframe`` (``TaskPqDask``) and ``rawfiles`` (``ExternalFile``); this module exists so ``d6tflow.tasks.X`` spellings work.
"""

from .task import (Task, TaskAggregator, TaskCSVPandas, TaskJson, TaskPickle,  # noqa: F401
                   TaskPqPandas)
from .daskframe import TaskPqDask  # noqa: F401
from .rawfiles import ExternalFile  # noqa: F401

TaskExternalFile = ExternalFile  # d6tflow-style spelling

__all__ = ["Task", "TaskPqPandas", "TaskCSVPandas", "TaskPickle", "TaskJson", "TaskAggregator",
           "TaskPqDask", "ExternalFile", "TaskExternalFile"]
