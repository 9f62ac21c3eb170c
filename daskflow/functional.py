"""d6tflow's ``d6tflow.functional`` module path: ``from daskflow.functional import Workflow``.

Imports ``compat.functional`` only; the implementation is there.
"""

from .compat.functional import Workflow

__all__ = ["Workflow"]
