"""The ``daskflow`` command: a thin shell over the API.

Imports the public API and, for the data they expose, ``plan``, ``report``,
``storage``, ``viz``, ``lines`` (text within the terminal's width) and
``cli_tasks`` (naming tasks and parameters); never dask.  Commands::

    daskflow run|preview|why|invalidate|graph  MODULE:TASK... [-p NAME=VALUE]...
    daskflow gc [MODULE:TASK]...
    daskflow status [-m MODULE]...

A task is named ``module:Task`` (imported from the current folder or the
installed packages) or ``path/to/file.py:Task``; ``--param name=value`` is
parsed by the parameter's own type (``Parameter.check``), so ``n=3`` gives an
``IntParameter`` 3, and goes to each named task that declares it;
``--param Class.name=value`` goes to every task of class ``Class`` upstream of
them (``daskflow.task.class_overrides``: the value wins over what a
``requires()`` passes).  ``--root`` sets the storage root
(``daskflow.set_root``), ``--json`` prints data for scripts (tasks as
``{"family", "params", "key", "task"}``; an error as one JSON object on
stderr), ``-v`` logs one line per task to stderr through the ``daskflow``
logger (quiet otherwise).  Text output is one line per task within the
terminal's width (``COLUMNS``).

Exit codes, what stays true: 0 done; 1 the work failed (a task failed, an
external input is missing, the storage root is unreachable); 2 bad usage
(unknown task, unknown parameter, bad value, unimportable module), with the
error naming what was wrong.  ``preview`` and ``why`` exit 0 whatever will
run.  Nothing ever prompts.
"""

from __future__ import annotations

import json
import logging
import sys

import click

import daskflow

from . import invalidate as _invalidate
from . import plan as _plan
from .cli_tasks import class_params, import_target, load_task_class, make_task, parse_params
from .errors import (CycleError, DaskflowError, FingerprintError, ParameterError, RunError,
                     TaskDefinitionError)
from .lines import flat_lines, identity, table_lines, terminal_width, tree_lines
from .report import WhyReport, size_text, status_row
from .storage import default_store
from .task import Task, class_overrides
from .viz import Drawing, plan_data

__all__ = ["main", "load_task_class", "make_task"]

USAGE, FAILED = 2, 1
_USAGE_ERRORS = (ParameterError, TaskDefinitionError, CycleError, FingerprintError)
logger = logging.getLogger("daskflow")


class Failure(click.ClickException):
    """The work failed (exit 1), as opposed to bad usage (exit 2)."""

    exit_code = FAILED


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
        f = click.option("-p", "--param", "params", multiple=True, metavar="[CLASS.]NAME=VALUE",
                         help="A task parameter, parsed by its type (repeatable): NAME=VALUE goes "
                              "to each named task that declares it, CLASS.NAME=VALUE to every "
                              "task of that class upstream of them.")(f)
        return click.argument("specs", nargs=-1, required=required, metavar="MODULE:TASK...")(f)
    return decorate


def force_options(f):
    f = click.option("--force-upstream", is_flag=True,
                     help="Rerun the tasks and everything upstream (external ones excepted).")(f)
    return click.option("--force", is_flag=True, help="Rerun the named tasks even if fresh.")(f)


def _tasks(specs, params) -> list[Task]:
    """The named tasks; ``-p Class.name=value`` items stay in force for the whole command."""
    classes = [load_task_class(s) for s in specs]
    given, per_class = parse_params(params)
    overrides = class_params(make_task(classes, given), per_class)
    if not overrides:
        return make_task(classes, given)
    click.get_current_context().with_resource(class_overrides(overrides))
    return make_task(classes, given)  # made again under the overrides (a target may be of such a class)


def _echo_json(data, err: bool = False) -> None:
    click.echo(json.dumps(data, indent=2, default=str), err=err)


def _result_json(result) -> dict:
    """A RunResult as data, each task as its identity (``family``, ``params``, ``key``)."""
    def ident(task):
        return identity(task, result.keys.get(task))

    return {
        "ok": result.ok, "summary": result.summary(),
        "ran": [ident(t) for t in result.ran], "skipped": [ident(t) for t in result.skipped],
        "cutoff": [ident(t) for t in result.cutoff],
        "failed": [dict(ident(f.task), error=type(f.exception).__name__, message=str(f.exception),
                        traceback=f.traceback) for f in result.failed],
        "upstream_failed": [ident(t) for t in result.upstream_failed],
        "durations": {result.keys.get(t, repr(t)): round(d, 6) for t, d in result.durations.items()},
    }


def _error_json(exc: BaseException, exit_code: int) -> dict:
    return {"ok": False, "error": type(exc).__name__, "message": str(exc), "exit_code": exit_code}


class _Command(click.Command):
    """Turns daskflow's errors into exit codes: 2 for bad usage, 1 for failed work."""

    def invoke(self, ctx):
        try:
            try:
                return super().invoke(ctx)
            except _USAGE_ERRORS as exc:
                raise click.UsageError(str(exc), ctx) from None
            except DaskflowError as exc:
                raise Failure(str(exc)) from None
        except click.ClickException as exc:
            if not ctx.params.get("as_json"):
                raise
            # under --json: the error once, as data, on stderr (nothing else there)
            _echo_json(_error_json(exc, exc.exit_code) | {"error": _error_name(exc)}, err=True)
            ctx.exit(exc.exit_code)


def _error_name(exc: click.ClickException) -> str:
    if isinstance(exc, click.BadParameter):
        return "BadParameter"
    if isinstance(exc, click.UsageError):
        return "UsageError"
    return "Failure"


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
@click.option("--scheduler", metavar="NAME",
              help="threads, sync, processes, distributed or tcp://host:port (default: dask's order, "
                   "then DASKFLOW_SCHEDULER, then threads).")
@click.option("--workers", type=click.IntRange(1), help="Threads or processes for the local schedulers.")
@click.option("--progress/--no-progress", default=None,
              help="Live table of tasks by family (default: in a terminal, after a second).")
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
        _echo_json(_error_json(exc, FAILED))
        _echo_json(_error_json(exc, FAILED), err=True)
        sys.exit(FAILED)
    if graph_path:
        daskflow.draw(tasks, result=result).save(graph_path)
    if as_json:
        _echo_json(_result_json(result))
    else:
        _print_result(result)
    if error is not None:
        if as_json:
            _echo_json(_error_json(error, FAILED), err=True)
        else:
            click.echo(f"Error: {error}", err=True)
        sys.exit(FAILED)


def _print_result(result) -> None:
    rows = [("failed", f.task, f"{type(f.exception).__name__}: {f.exception}") for f in result.failed]
    rows += [("not run", t, "an upstream task failed") for t in result.upstream_failed]
    rows += [("ran", t, f"{result.durations.get(t, 0):.3f}s") for t in result.ran]
    rows += [("skipped", t, "early cutoff" if t in result.cutoff else "fresh") for t in result.skipped]
    table = [(word, repr(task), detail.splitlines()[0] if detail else "") for word, task, detail in rows]
    if table:
        for line in table_lines([("", "", "")] + table, terminal_width(), flexible=(1, 2))[1:]:
            click.echo(line)
    click.echo(result.summary())


def _plan_for(specs, params, force=False, force_upstream=False) -> _plan.Plan:
    return _plan.Plan(_tasks(specs, params), forced_all=force, forced_all_upstream=force_upstream,
                      explain=True, ask_complete=True)


@main.command()
@tasks_argument()
@common
@force_options
@click.option("--tree/--flat", default=True,
              help="A tree under each target (default), or one flat list, upstream first.")
def preview(specs, params, as_json, force, force_upstream, tree):
    """Show the tasks with each one's status, one line each; run nothing."""
    plan = _plan_for(specs, params, force, force_upstream)
    if as_json:
        _echo_json({"root": plan.store.display, "targets": [identity(n.task, n.key) for n in plan.targets],
                    "tasks": plan_data(plan)})
        return
    lines = (tree_lines if tree else flat_lines)(plan, terminal_width())
    click.echo("\n".join(lines))


@main.command()
@tasks_argument()
@common
@force_options
def why(specs, params, as_json, force, force_upstream):
    """Say, for each task, whether it will run and why."""
    plan = _plan_for(specs, params, force, force_upstream)
    report = WhyReport(plan)
    if as_json:
        data = report.to_dict()
        for entry, node in zip(data["tasks"], plan.nodes.values()):
            entry.update(identity(node.task, node.key))
        _echo_json(data)
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
    keys = {n.task: n.key for n in _plan.Plan(tasks).nodes.values()} if as_json else {}
    removed = _invalidate.invalidate(tasks)
    if as_json:
        _echo_json({"removed": removed, "tasks": [identity(t, keys.get(t)) for t in tasks]})
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
    leases, journals = list(getattr(report, "leases", [])), list(getattr(report, "journals", []))
    if as_json:
        _echo_json({"dry_run": dry_run, "removed": removed, "bytes": report.bytes, "leases": leases,
                    "journals": journals})
        return
    for path in removed + leases + journals:
        click.echo(path)
    verb = "would remove" if dry_run else "removed"
    if leases:
        click.echo(f"{verb} {len(leases)} expired lease(s) (left by builders that died)")
    if journals:
        click.echo(f"{verb} {len(journals)} journal(s) explaining no build left")
    click.echo(f"{verb} {len(removed)} path(s), {size_text(report.bytes)}"
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
        module = import_target(where, hint="'--module'")
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, Task) and value._outputs:
                classes.setdefault(value.__name__, value)
    from .lease import describe_leases

    store = default_store()
    rows, building = [], []
    for family in families or store.list_families():
        for param_dir, commits in sorted(store.list_family(family).items()):
            rows.append(status_row(store, family, param_dir, commits, classes.get(family)))
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
        table.append((r["family"], params, r["status"], str(r["builds"]), size_text(r["bytes"]),
                      r["built"][:19].replace("T", " "), "; ".join(r["reasons"])))
    for line in table_lines(table, terminal_width(), flexible=(0, 1, 6)):
        click.echo(line)


if __name__ == "__main__":  # pragma: no cover
    main()
