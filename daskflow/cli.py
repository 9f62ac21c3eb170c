"""The ``daskflow`` command: a thin shell over the API.

Imports the public API and, for the data they expose, ``plan``, ``report``,
``storage`` and ``viz``; never dask.  Commands::

    daskflow run|preview|why|invalidate|graph  MODULE:TASK... [-p NAME=VALUE]...
    daskflow gc [MODULE:TASK]...
    daskflow status [-m MODULE]...

A task is named ``module:Task`` (imported from the current folder or the
installed packages) or ``path/to/file.py:Task``; ``--param name=value`` is
parsed by the parameter's own type (``Parameter.check``), so ``n=3`` gives an
``IntParameter`` 3.  ``--root`` sets the storage root (``daskflow.set_root``),
``--json`` prints data for scripts, ``-v`` logs one line per task to stderr
through the ``daskflow`` logger (quiet otherwise).

Exit codes, what stays true: 0 done; 1 the work failed (a task failed, an
external input is missing, the storage root is unreachable); 2 bad usage
(unknown task, unknown parameter, bad value, unimportable module), with the
error naming what was wrong.  ``preview`` and ``why`` exit 0 whatever will
run.  Nothing ever prompts.
"""

from __future__ import annotations

import datetime
import importlib
import json
import logging
import os
import sys
import traceback
from pathlib import Path

import click

import daskflow

from . import plan as _plan
from .errors import (CycleError, DaskflowError, FingerprintError, ParameterError, RunError,
                     TaskDefinitionError)
from .params import Parameter
from .report import WhyReport, tree_text
from .storage import default_store
from .task import Task
from .viz import Drawing, plan_data

__all__ = ["main", "load_task_class", "make_task"]

USAGE, FAILED = 2, 1
_USAGE_ERRORS = (ParameterError, TaskDefinitionError, CycleError, FingerprintError)
logger = logging.getLogger("daskflow")


class Failure(click.ClickException):
    """The work failed (exit 1), as opposed to bad usage (exit 2)."""

    exit_code = FAILED


# -- naming tasks ------------------------------------------------------------------------------
def _import(where: str, hint: str = "TASK"):
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
    module = _import(where)
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


def make_task(classes: list[type[Task]], params: tuple[str, ...]) -> list[Task]:
    """Instances of ``classes``, each given the ``name=value`` items it declares.

    A name no class declares, an item without ``=``, a name given twice or a
    value its parameter refuses is a usage error naming it.
    """
    given: dict[str, str] = {}
    for item in params:
        name, sep, value = item.partition("=")
        name = name.strip().replace("-", "_")
        if not sep or not name:
            raise click.BadParameter(f"{item!r} is not NAME=VALUE", param_hint="'--param'")
        if name in given:
            raise click.BadParameter(f"parameter {name!r} given twice", param_hint="'--param'")
        given[name] = value
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


# -- options shared by the commands ------------------------------------------------------------
def _set_root(ctx, param, value):
    if value:
        daskflow.set_root(value)
    return value


def _set_verbose(ctx, param, count):
    if count and not any(getattr(h, "_daskflow_cli", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
        handler._daskflow_cli = True
        logger.addHandler(handler)
    if count:
        logger.setLevel(logging.DEBUG if count > 1 else logging.INFO)
    return count


def common(f):
    """--root, -v and --json."""
    f = click.option("--json", "as_json", is_flag=True, help="Print data (JSON) for scripts.")(f)
    f = click.option("-v", "--verbose", count=True, expose_value=False, callback=_set_verbose,
                     help="Log one line per task to stderr (-vv: more).")(f)
    f = click.option("--root", metavar="URL", expose_value=False, callback=_set_root, is_eager=True,
                     help="Storage root (any fsspec URL); default: DASKFLOW_ROOT, "
                          "[tool.daskflow] root in pyproject.toml, else data/.")(f)
    return f


def tasks_argument(required: bool = True):
    def decorate(f):
        f = click.option("-p", "--param", "params", multiple=True, metavar="NAME=VALUE",
                         help="A task parameter, parsed by its type (repeatable); given to each "
                              "task that declares it.")(f)
        return click.argument("specs", nargs=-1, required=required, metavar="MODULE:TASK...")(f)
    return decorate


def force_options(f):
    f = click.option("--force-upstream", is_flag=True,
                     help="Rerun the tasks and everything upstream (external ones excepted).")(f)
    return click.option("--force", is_flag=True, help="Rerun the named tasks even if fresh.")(f)


def _tasks(specs, params) -> list[Task]:
    return make_task([load_task_class(s) for s in specs], params)


def _echo_json(data) -> None:
    click.echo(json.dumps(data, indent=2, default=str))


class _Command(click.Command):
    """Turns daskflow's errors into exit codes: 2 for bad usage, 1 for failed work."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except _USAGE_ERRORS as exc:
            raise click.UsageError(str(exc), ctx) from None
        except DaskflowError as exc:
            raise Failure(str(exc)) from None


class _Group(click.Group):
    command_class = _Command


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]},
             epilog="Exit codes: 0 done, 1 a task failed (or could not start), 2 bad usage.")
@click.version_option(daskflow.__version__, prog_name="daskflow")
@click.option("-v", "--verbose", count=True, expose_value=False, callback=_set_verbose,
              help="Log one line per task to stderr (-vv: more).")
@click.option("--root", metavar="URL", expose_value=False, callback=_set_root,
              help="Storage root (any fsspec URL).")
def main():
    """daskflow: build the stale tasks of a workflow, skip the fresh ones, say why.

    Name tasks as module:Task or path/to/file.py:Task.
    """


# -- commands ----------------------------------------------------------------------------------
@main.command()
@tasks_argument()
@common
@force_options
@click.option("--scheduler", metavar="NAME", help="threads (default), sync, processes or tcp://host:port.")
@click.option("--workers", type=click.IntRange(1), help="Threads or processes for the local schedulers.")
@click.option("--progress/--no-progress", default=None, help="Progress bar (default: in a terminal).")
@click.option("--graph", "graph_path", type=click.Path(dir_okay=False),
              help="After the run, write its picture (HTML, or SVG for *.svg) here.")
def run(specs, params, as_json, force, force_upstream, scheduler, workers, progress, graph_path):
    """Build what is stale among the tasks and their upstream; skip the rest."""
    tasks = _tasks(specs, params)
    try:
        result = daskflow.run(tasks, forced_all=force, forced_all_upstream=force_upstream,
                              scheduler=scheduler, workers=workers,
                              progress=False if as_json else progress)
        error = None
    except RunError as exc:
        result, error = exc.result, exc
    except DaskflowError as exc:  # nothing ran (missing external input, storage): still data
        if not as_json or isinstance(exc, _USAGE_ERRORS):
            raise
        _echo_json({"ok": False, "error": type(exc).__name__, "message": str(exc)})
        click.echo(f"Error: {exc}", err=True)
        sys.exit(FAILED)
    if graph_path:
        daskflow.draw(tasks, result=result).save(graph_path)
    if as_json:
        _echo_json(result.to_dict())
    else:
        _print_result(result)
    if error is not None:
        click.echo(f"Error: {str(error).splitlines()[0] if as_json else error}", err=True)
        sys.exit(FAILED)


def _print_result(result) -> None:
    rows = [("failed", f.task, f"{type(f.exception).__name__}: {f.exception}") for f in result.failed]
    rows += [("not run", t, "an upstream task failed") for t in result.upstream_failed]
    rows += [("ran", t, f"{result.durations.get(t, 0):.3f}s") for t in result.ran]
    rows += [("skipped", t, "early cutoff" if t in result.cutoff else "fresh") for t in result.skipped]
    width = max((len(repr(t)) for _, t, _ in rows), default=0)
    for word, task, detail in rows:
        click.echo(f"{word:<8} {task!r:<{width}}  {detail}")
    click.echo(result.summary())


def _plan_for(specs, params, force=False, force_upstream=False) -> _plan.Plan:
    return _plan.Plan(_tasks(specs, params), forced_all=force, forced_all_upstream=force_upstream,
                      explain=True)


@main.command()
@tasks_argument()
@common
@force_options
def preview(specs, params, as_json, force, force_upstream):
    """Show the tasks as a tree with each one's status; run nothing."""
    plan = _plan_for(specs, params, force, force_upstream)
    if as_json:
        _echo_json({"root": plan.store.display, "targets": [n.key for n in plan.targets],
                    "tasks": plan_data(plan)})
    else:
        click.echo(tree_text(plan))


@main.command()
@tasks_argument()
@common
@force_options
def why(specs, params, as_json, force, force_upstream):
    """Say, for each task, whether it will run and why."""
    report = WhyReport(_plan_for(specs, params, force, force_upstream))
    if as_json:
        _echo_json(report.to_dict())
    else:
        click.echo(str(report))


@main.command()
@tasks_argument()
@common
@click.option("--upstream", is_flag=True, help="Also every task upstream of them.")
def invalidate(specs, params, as_json, upstream):
    """Make the tasks stale: remove their builds for today's code and parameters."""
    tasks = _tasks(specs, params)
    if upstream:
        tasks = list(_plan.Plan(tasks).nodes)
    removed = _plan.invalidate(tasks)
    if as_json:
        _echo_json({"removed": removed, "tasks": [repr(t) for t in tasks]})
    else:
        click.echo(f"removed {removed} build(s) of {len(tasks)} task(s): {', '.join(map(repr, tasks))}")


@main.command()
@tasks_argument()
@common
@force_options
@click.option("-o", "--output", default=None, metavar="PATH",
              help="Where to write (default: <Task>-graph.html; *.svg for the SVG alone; - for stdout).")
def graph(specs, params, as_json, force, force_upstream, output):
    """Draw the tasks and their upstream, coloured by status, as a page to open."""
    plan = _plan_for(specs, params, force, force_upstream)
    names = ", ".join(repr(n.task) for n in plan.targets)
    drawing = Drawing(plan_data(plan), f"daskflow: {names}", f"storage root: {plan.store.display}")
    if as_json:
        _echo_json(drawing.to_dict())
        return
    if output == "-":
        click.echo(drawing.html(), nl=False)
        return
    output = output or f"{plan.targets[0].family}-graph.html"
    drawing.save(output)
    click.echo(f"wrote {output}: {repr(drawing)[10:-1]}")


@main.command()
@tasks_argument(required=False)
@common
@click.option("--dry-run/--delete", default=True,
              help="List what would be removed (default) or remove it.")
def gc(specs, params, as_json, dry_run):
    """Remove stored outputs that no current task version uses."""
    collect = getattr(daskflow, "gc", None)
    if collect is None:
        raise Failure("daskflow.gc is not available in this version of daskflow")
    report = collect(tasks=_tasks(specs, params) if specs else None, dry_run=dry_run)
    removed = [str(p) for p in report.removed]
    leases = list(getattr(report, "leases", []))
    if as_json:
        _echo_json({"dry_run": dry_run, "removed": removed, "bytes": report.bytes, "leases": leases})
        return
    for path in removed + leases:
        click.echo(path)
    verb = "would remove" if dry_run else "removed"
    if leases:
        click.echo(f"{verb} {len(leases)} expired lease(s) (left by builders that died)")
    click.echo(f"{verb} {len(removed)} path(s), {_size(report.bytes)}"
               + (" (dry run; --delete to remove)" if dry_run else ""))


@main.command()
@click.argument("families", nargs=-1, metavar="[FAMILY]...")
@click.option("-m", "--module", "modules", multiple=True, metavar="MODULE",
              help="A module or file.py whose task classes tell fresh from stale (repeatable).")
@common
def status(families, modules, as_json):
    """List what is stored under the root: families, parameter sets, status, sizes, when built.

    Fresh or stale is knowable for the families of the task classes in the
    modules given with -m; the others read "unknown".
    """
    classes = {}
    for where in modules:
        module = _import(where, hint="'--module'")
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, Task) and value._outputs:
                classes.setdefault(value.__name__, value)
    from .lease import describe_leases

    store = default_store()
    rows, building = [], []
    for family in families or store.list_families():
        for param_dir, commits in sorted(store.list_family(family).items()):
            rows.append(_status_row(store, family, param_dir, commits, classes.get(family)))
        building += [dict(r, path=store.scrub(r["path"])) for r in describe_leases(store, family)]
    if as_json:
        _echo_json({"root": store.display, "entries": rows, "building": building})
        return
    click.echo(f"storage root: {store.display}")
    for r in building:  # leases: tasks another process is building right now (or died building)
        state = "EXPIRED lease (its builder died; daskflow gc removes it)" if r["expired"] else "being built"
        click.echo(f"{r['family']} {r['param_dir']}: {state} by {r['owner']}")
    if not rows:
        click.echo("nothing stored")
        return
    table = [("FAMILY", "PARAMETERS", "STATUS", "BUILDS", "SIZE", "BUILT (UTC)", "WHY")]
    for r in rows:
        params = ",".join(f"{k}={v}" for k, v in r["params"].items()) or "-"
        table.append((r["family"], params, r["status"], str(r["builds"]), _size(r["bytes"]),
                      r["built"][:19].replace("T", " "), "; ".join(r["reasons"])))
    widths = [max(len(row[i]) for row in table) for i in range(6)]
    for row in table:
        click.echo(("  ".join(c.ljust(w) for c, w in zip(row, widths)) + "  " + row[6]).rstrip())


def _status_row(store, family, param_dir, commits, cls) -> dict:
    newest = commits[-1]
    try:
        params = store.read_json(newest.marker).get("params", {})
    except (FileNotFoundError, ValueError):
        params = {}
    state, reasons = "unknown", []
    if cls is None:
        reasons = ["no task class given (-m MODULE)"]
    else:
        try:
            task = cls(**params)
        except DaskflowError as exc:
            task, reasons = None, [f"stored parameters no longer fit {family}: {exc}"]
        if task is not None and _plan.param_dir(task) != param_dir:
            task, reasons = None, [f"parameters no longer match {family}'s declaration"]
        if task is not None:
            node = _plan.Plan(task, store, explain=True).nodes[task]
            state = {"fresh": "fresh", "run": "stale"}.get(node.status, node.status)
            reasons = [r.message for r in node.reasons]
    size = sum(info[0] or 0 for c in commits for info in c.files.values())
    built = datetime.datetime.fromtimestamp(newest.mtime, datetime.timezone.utc).isoformat()
    return {"family": family, "params": params, "param_dir": param_dir,
            "path": newest.path, "status": state, "reasons": reasons,
            "builds": len(commits), "bytes": size, "built": built}


def _size(n) -> str:
    n = float(n or 0)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return ""


if __name__ == "__main__":  # pragma: no cover
    main()
