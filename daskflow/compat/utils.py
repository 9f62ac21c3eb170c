"""d6tflow's ``utils``: experiment generators for ``WorkflowMulti``, the upstream walk, a tree.

Imports ``report``, ``task`` and ``workflow``.  ``params_generator_single({"model": ["ols", "gbm"]})``
gives ``{0: {"model": "ols"}, 1: {"model": "gbm"}}``; ``params_generator_multiple``
(``generate_exps_for_multi_param``) the grid of several lists, named as d6tflow
names them (``alpha_1_beta_3``...); ``traverse(task)`` the task and then its
upstream tasks, depth first, each once; ``print_tree`` is ``daskflow.preview``.
"""

from __future__ import annotations

from pathlib import Path

from ..report import preview
from ..task import Task, flatten
from ..workflow import grid

__all__ = ["params_generator_single", "params_generator_multiple", "generate_exps_for_multi_param",
           "traverse", "print_tree", "to_parquet"]


def params_generator_single(dict_: dict, params_base: dict | None = None) -> dict:
    """``{i: {key: value, **params_base}}`` for each value of the one list in ``dict_``."""
    (key, values), = dict_.items()
    return {i: {key: v, **(params_base or {})} for i, v in enumerate(values)}


def generate_exps_for_multi_param(params_dict: dict, current_key=0, multi_exp_dict=None) -> dict:
    """Every combination of the lists in ``params_dict`` (keys in sorted order), named
    ``{key}_{value}_...``; the other arguments are d6tflow's recursion's, unused."""
    return grid(params_dict)


params_generator_multiple = generate_exps_for_multi_param


def traverse(t: Task, path: list | None = None) -> list:
    """``t``, then its upstream tasks, depth first, each once (d6tflow's order)."""
    path = [*(path or []), t]
    for node in flatten(t.requires()):
        if node not in path:
            path = traverse(node, path)
    return path


def print_tree(task, indent="", last=True, show_params=True, clip_params=False) -> None:
    """The tree of ``task`` and its upstream with each one's status (``daskflow.preview``)."""
    preview(task, clip_params=clip_params)


def to_parquet(df, path, **kwargs) -> None:
    """``df.to_parquet(path)`` with d6tflow's defaults (gzip, pyarrow), making the folder."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    df.to_parquet(path, **{"compression": "gzip", "engine": "pyarrow", **kwargs})
