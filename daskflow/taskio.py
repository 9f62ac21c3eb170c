"""What a task does with its data: ``save()``, ``input()``, ``inputLoad()`` inside
``run()``; ``output()``, ``outputLoad()``, ``complete()``, ``invalidate()`` outside it
(a mixin of :class:`daskflow.task.Task`).

Imports ``errors``, ``context`` and ``target``; knows nothing of planning.  Inside
``run()`` a task has a *run context* (:class:`daskflow.context.RunContext`), set by the
executor, through which ``save()``, ``saveMeta()``, ``input()`` and ``metaLoad()`` reach
storage.  Outside it these methods call the object registered with :func:`set_planner`
(``daskflow.outputs`` registers itself when ``daskflow`` is imported), so imports flow
one way.
"""

from __future__ import annotations

from .context import RunContext, RunTarget, map_struct, targets_of
from .errors import DaskflowError, SaveError
from .target import load_targets as _load

__all__ = ["TaskIO", "set_planner"]

_PLANNER = []


def set_planner(planner) -> None:
    """Register the object behind ``output()``, ``complete()``... (``daskflow.outputs``).

    It provides ``targets(task, strict)``, ``load_meta(task)``,
    ``is_complete(task)``, ``invalidate(tasks)`` and ``direct_context(task)``.
    """
    _PLANNER[:] = [planner]


def _planner():
    if not _PLANNER:
        raise DaskflowError("no planner registered: import daskflow (not only daskflow.task)")
    return _PLANNER[0]


class TaskIO:
    """The data methods of a task (it provides ``_ctx``, ``_struct()`` and its class's
    ``_outputs``)."""

    # -- inside run() (or a direct call of it) -------------------------------------------
    def _context(self, new_build: bool = False) -> RunContext:
        """The run context; outside the executor, a direct build of this task (see save()).
        A save() after a direct build is committed starts another; saveMeta() joins it."""
        if self._ctx is None or (new_build and self._ctx.finish is not None and self._ctx.done):
            self._ctx = _planner().direct_context(self)
        return self._ctx

    def save(self, data, **options) -> None:
        """Save the output(s): one object, or a dict by output name for several outputs.

        ``options`` go to the format's writer (``to_parquet``, ``to_csv``,
        ``json.dumps``...).  Called outside ``daskflow.run`` (a direct
        ``Task().run()``), it builds the task on its own: its inputs are the
        committed builds of its upstream tasks and the outputs are committed
        as a normal build.
        """
        outputs = type(self)._outputs
        if not outputs:
            raise SaveError(f"{self!r} declares no outputs (persist is empty); nothing to save")
        (name,) = outputs if len(outputs) == 1 else (None,)
        if name == "data" or (name and not (isinstance(data, dict) and set(data) == {name})):
            data = {name: data}  # one output: the object whole (a dict too, for the default name)
        if not isinstance(data, dict) or set(data) != set(outputs):
            given = sorted(data) if isinstance(data, dict) else type(data).__name__
            raise SaveError(f"{self!r}.save() needs a dict with exactly the outputs "
                            f"{sorted(outputs)}; got {given}")
        ctx = self._context(new_build=True)
        for name, obj in data.items():
            ctx.save(self, name, outputs[name], obj, options)
        if ctx.finish is not None and not ctx.done and set(ctx.saved) >= set(outputs):
            ctx.finish(ctx)
            ctx.done = True

    def saveMeta(self, data: dict) -> None:
        """Store a small JSON-serialisable dict next to the outputs (d6tflow: ``metaSave``)."""
        self._context().save_meta(self, data)

    metaSave = saveMeta

    def input(self):
        """Targets of the upstream tasks, in the shape ``requires()`` returns."""
        if self._ctx is not None:
            return self._ctx.inputs
        return map_struct(self._struct(), lambda t: t.output())

    def metaLoad(self):
        """The metadata the upstream tasks saved, in the shape ``requires()`` returns."""
        if self._ctx is not None and self._ctx.metas is not None:
            return map_struct(self._ctx.metas, lambda ref: ref.load())
        return map_struct(self._struct(), lambda t: t.outputLoadMeta())

    def inputLoad(self, keys=None, task=None, cached=False, as_dict=False, **options):
        """Load the inputs, in the shape of ``requires()``; ``task`` picks one key of a dict."""
        inputs, req = self.input(), self._struct()
        if task is not None:
            inputs, req = inputs[task], req[task]
        if isinstance(req, dict):
            names = [keys] if isinstance(keys, str) else keys
            if names is not None and set(names) <= req.keys():
                if isinstance(keys, str) and not as_dict:  # d6tflow: one input by its name, its value
                    return _load(inputs[keys], None, as_dict, options)
                return {k: _load(inputs[k], None, as_dict, options) for k in req if k in names}  # d6tflow's
            return {k: _load(inputs[k], keys, as_dict, options) for k in req}  # else: outputs by name
        if isinstance(req, (list, tuple)):
            return [_load(i, keys, as_dict, options) for i in inputs]
        return _load(inputs, keys, as_dict, options)

    # -- outside run(): ask the planner -------------------------------------------------
    def output(self):
        """The output target, or a dict of targets by name for several outputs."""
        ctx = self._ctx
        if ctx is not None and ctx.build_path is not None and ctx.finish is None:  # inside run()
            return targets_of(self, {n: RunTarget(ctx, n, f, self)  # on disk once it is used
                                     for n, f in type(self)._outputs.items()})
        return targets_of(self, _planner().targets(self, False))

    def outputLoad(self, keys=None, as_dict=False, cached=False, **options):
        """Load the outputs; refuses a task not built for today's code and parameters.

        ``keys`` picks outputs by name (one name, or a list); ``options`` go to
        the format's reader (``read_parquet``, ``read_csv``...).
        """
        return _load(targets_of(self, _planner().targets(self, True)), keys, as_dict, options)

    def outputLoadMeta(self) -> dict:
        """The dict stored by ``saveMeta()`` in the current build, without loading data."""
        return _planner().load_meta(self)

    def outputLoadAllMeta(self) -> dict:
        """``outputLoadMeta()`` of this task and every task upstream, by family (those that saved some)."""
        return _planner().load_all_meta(self)

    def complete(self) -> bool:
        """True when the outputs are built for today's code, parameters and inputs."""
        return _planner().is_complete(self)

    def invalidate(self, confirm=None) -> bool:
        """Make this task stale: remove its builds for today's code (never prompts).

        Returns True (d6tflow's ``reset`` does).
        """
        _planner().invalidate([self])
        return True

    reset = invalidate
