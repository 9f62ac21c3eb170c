"""d6tflow's ``d6tflow.tasks.h5`` spelling: ``TaskH5Pandas`` (needs the ``tables`` package)."""

from . import TaskH5Pandas

__all__ = ["TaskH5Pandas"]
