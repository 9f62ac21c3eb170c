"""Naming tasks on the command line: ``module:Task``, ``path/to/file.py:Task`` and ``-p`` items.

Imports ``errors``, ``params`` and ``task`` (and click, for its usage errors);
used by ``daskflow.cli``.  A ``name=value`` item is parsed by the parameter's
own type and goes to each named task declaring it; a ``Class.name=value``
item goes to every task of class ``Class`` among the named tasks and their
upstream (applied with :func:`daskflow.task.class_overrides`).  Every mistake
is a ``click.BadParameter`` naming the task, the parameter or the file.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import traceback
from pathlib import Path

import click

from .errors import ParameterError
from .params import Parameter
from .task import Task

__all__ = ["load_task_class", "make_task", "class_params", "parse_params", "import_target"]


def import_target(where: str, hint: str = "TASK"):
    """Import ``where``: a dotted module name or the path of a .py file."""
    if where.endswith(".py") or "/" in where or os.sep in where:
        path = Path(where).resolve()
        if not path.is_file():
            raise click.BadParameter(f"no such file: {where}", param_hint=hint)
        folder, parts = path.parent, [path.stem]
        while (folder / "__init__.py").exists():  # a file inside a package: import it as such
            parts.insert(0, folder.name)
            folder = folder.parent
        name = ".".join(parts)
        sys.path.insert(0, str(folder))
    else:
        name = where
        sys.path.insert(0, os.getcwd())  # as `python -m` would; a console script does not
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name and (name == exc.name or name.startswith(exc.name + ".")):
            raise click.BadParameter(f"cannot import module {name!r}: no such module in "
                                     f"{os.getcwd()} or the installed packages", param_hint=hint)
        raise click.BadParameter(_import_failure(name, exc), param_hint=hint)
    except Exception as exc:
        raise click.BadParameter(_import_failure(name, exc), param_hint=hint)


def _import_failure(name: str, exc: BaseException) -> str:
    where = ""
    ours = str(Path(__file__).parent)  # point at the user's line, not daskflow's or importlib's
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if not f.filename.startswith((ours, "<")) and "importlib" not in f.filename]
    if frames and not isinstance(exc, SyntaxError):
        where = f" (at {frames[-1].filename}:{frames[-1].lineno})"
    return f"importing module {name!r} failed{where}: {type(exc).__name__}: {exc}"


def load_task_class(spec: str) -> type[Task]:
    """The task class named by ``module:Task`` or ``path/to/file.py:Task``."""
    where, sep, name = spec.rpartition(":")
    if not sep or not where or not name:
        raise click.BadParameter(f"{spec!r} is not MODULE:TASK or path/to/file.py:TASK", param_hint="TASK")
    module = import_target(where)
    cls = getattr(module, name, None)
    if not (isinstance(cls, type) and issubclass(cls, Task)):
        found = sorted(n for n, v in vars(module).items() if isinstance(v, type) and issubclass(v, Task)
                       and v.__module__ == module.__name__)
        what = "is not defined" if cls is None else f"is a {type(cls).__name__}, not a task class"
        raise click.BadParameter(f"{name!r} {what} in {where}; task classes there: "
                                 f"{', '.join(found) or 'none'}", param_hint="TASK")
    return cls


def _describe(p: Parameter) -> str:
    default = f", default {p.serialize(p.default)}" if p.has_default else ", required"
    return f"{p.name} ({p.type_name}{default})"


def _from_text(p: Parameter, text: str):
    """A plain ``Parameter`` with a non-text default takes the default's type (JSON text)."""
    if type(p) is not Parameter or not p.has_default or isinstance(p.default, str) or p.default is None:
        return text
    try:
        value = json.loads(text)
    except ValueError:
        return text
    kinds = [(bool,), (int, float), (list, tuple), (dict,)]
    for kind in kinds:
        if isinstance(p.default, kind) and isinstance(value, kind) and (
                isinstance(value, bool) == isinstance(p.default, bool)):
            return value
    return text


def parse_params(params: tuple[str, ...]) -> tuple[dict, dict]:
    """``name=value`` items for the named tasks, and ``Class.name=value`` items by class name."""
    given: dict[str, str] = {}
    per_class: dict[str, dict[str, str]] = {}
    for item in params:
        name, sep, value = item.partition("=")
        name = name.strip().replace("-", "_")
        owner, dot, name = name.rpartition(".")
        if not sep or not name or (dot and not owner):
            raise click.BadParameter(f"{item!r} is not NAME=VALUE or CLASS.NAME=VALUE", param_hint="'--param'")
        into = per_class.setdefault(owner, {}) if dot else given
        if name in into:
            raise click.BadParameter(f"parameter {owner + dot}{name!r} given twice", param_hint="'--param'")
        into[name] = value
    return given, per_class


def class_params(targets: list[Task], per_class: dict[str, dict[str, str]]) -> dict:
    """``{Class: {name: value}}`` for ``-p Class.name=value``, checked against the targets' graph.

    A class that is not among the targets and their upstream tasks, a
    parameter that class does not declare, or a value it refuses is a usage
    error naming it.
    """
    if not per_class:
        return {}
    found: dict[str, type] = {}
    seen, todo = set(), list(targets)
    while todo:
        task = todo.pop()
        if task in seen:
            continue
        seen.add(task)
        found.setdefault(type(task).__name__, type(task))
        todo.extend(task.deps())
    out = {}
    for owner, values in per_class.items():
        cls = found.get(owner)
        if cls is None:
            raise click.BadParameter(f"no task of class {owner!r} among {', '.join(map(repr, targets))} and "
                                     f"their upstream tasks; classes there: {', '.join(sorted(found))}",
                                     param_hint="'--param'")
        defs = cls._param_defs
        unknown = [n for n in values if n not in defs]
        if unknown:
            raise click.BadParameter(f"unknown parameter {owner}.{unknown[0]}; valid parameters of {owner}: "
                                     f"{', '.join(_describe(p) for p in defs.values()) or 'none'}",
                                     param_hint="'--param'")
        try:
            out[cls] = {n: defs[n].check(_from_text(defs[n], v), owner) for n, v in values.items()}
        except ParameterError as exc:
            raise click.BadParameter(str(exc), param_hint="'--param'") from None
    return out


def make_task(classes: list[type[Task]], params) -> list[Task]:
    """Instances of ``classes``, each given the ``name=value`` items it declares.

    ``params`` is a tuple of ``name=value`` texts or a dict of them.  A name no
    class declares, an item without ``=``, a name given twice or a value its
    parameter refuses is a usage error naming it.
    """
    if isinstance(params, dict):
        given = dict(params)
    else:
        given, per_class = parse_params(params)
        if per_class:
            raise click.BadParameter("CLASS.NAME=VALUE needs the graph: use the daskflow command",
                                     param_hint="'--param'")
    declared = {n for cls in classes for n in cls._param_defs}
    unknown = [n for n in given if n not in declared]
    if unknown:
        valid = "; ".join(f"{cls.__name__}: " + (", ".join(_describe(p) for p in cls._param_defs.values())
                                                  or "none") for cls in classes)
        raise click.BadParameter(f"unknown parameter {', '.join(map(repr, unknown))}; valid parameters: "
                                 f"{valid}", param_hint="'--param'")
    tasks = []
    for cls in classes:
        defs = cls._param_defs
        kwargs = {n: _from_text(defs[n], v) for n, v in given.items() if n in defs}
        try:
            tasks.append(cls(**kwargs))
        except ParameterError as exc:
            raise click.BadParameter(str(exc), param_hint="'--param'") from None
    return tasks
