"""The task classes, by output format: ``daskflow.tasks.TaskPqPandas`` and friends.

Imports ``task`` and ``daskframe`` (``TaskPqDask``); this module exists so ``d6tflow.tasks.X`` spellings work.
"""

from .task import (Task, TaskAggregator, TaskCSVPandas, TaskJson, TaskPickle,  # noqa: F401
                   TaskPqPandas)
from .daskframe import TaskPqDask  # noqa: F401

__all__ = ["Task", "TaskPqPandas", "TaskCSVPandas", "TaskPickle", "TaskJson", "TaskAggregator",
           "TaskPqDask"]
