"""d6tflow's ``cache`` module: ``data``, the values of its in-memory targets (the same dict
as ``daskflow.data``)."""

from .targets import data

__all__ = ["data"]
