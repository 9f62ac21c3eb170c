"""Running one task where dask puts it: bind inputs, run, save, commit.

Imports ``errors``, ``storage``, ``task`` and ``plan``; never dask, so the same
function serves the sync, threaded and process schedulers and a distributed
cluster.  A graph node calls :func:`execute` with its :class:`Spec` and the
:class:`Outcome` of each upstream task; it returns a small Outcome, never the
task's data (workers load inputs and save outputs themselves).

What stays true: exceptions from ``run()`` never escape (they come back in the
Outcome with their traceback text), so independent branches keep going on
every scheduler; a task whose upstream failed is not run; a build is
committed only after all its outputs are written.
"""

from __future__ import annotations

import hashlib
import json
import logging
import pickle
import time
import traceback
from dataclasses import dataclass, field

from .errors import MissingOutputError
from .listing import sizes_token
from .plan import Node, inputs_id, static_body
from .storage import Store, Target
from .task import RunContext, Task, _map, _shape

__all__ = ["Spec", "Outcome", "execute", "spec_for", "known_outcome"]

logger = logging.getLogger("daskflow")
_UNKNOWN = "requires() not seen by the plan"


@dataclass
class Outcome:
    """What a graph node returns: small, picklable."""

    key: str
    status: str  # ran | cutoff | fresh | failed | upstream_failed
    result: str | None = None
    path: str | None = None
    duration: float = 0.0
    error: BaseException | None = None
    traceback: str = ""
    blocked_by: list = field(default_factory=list)
    members: list = field(default_factory=list)  # an aggregator's upstream outcomes


@dataclass
class Spec:
    """What a graph node needs to run one task."""

    task: Task
    key: str
    store: Store
    param_dir: str
    version: str
    forced: bool
    aggregate: bool
    cutoff: dict  # inputs id -> (build path, result)
    body: dict  # static part of the marker
    deps: list  # upstream tasks, in requires() order
    struct: object = _UNKNOWN  # what requires() returned, as the plan saw it


def spec_for(node: Node, store: Store) -> Spec:
    return Spec(node.task, node.key, store, node.param_dir, node.version, node.forced, node.aggregate,
                {i: (c.path, c.result) for i, c in node.cutoff.items()}, static_body(node),
                [d.task for d in node.deps], node.task.__dict__.get("_requires", _UNKNOWN))


def known_outcome(node: Node) -> Outcome:
    """The outcome of a task that does not run (fresh or external): known at plan time."""
    path = node.commit.path if node.commit is not None else None
    members = [known_outcome(d) for d in node.deps] if node.aggregate else []
    return Outcome(node.key, "fresh", node.result, path, members=members)


def execute(spec: Spec, deps: list) -> Outcome:
    """Run one task given its upstream outcomes; never raises."""
    blocked = [d.key for d in deps if d.status in ("failed", "upstream_failed")]
    if blocked:
        logger.info("%r not run: an upstream task failed", spec.task)
        return Outcome(spec.key, "upstream_failed", blocked_by=blocked)
    inputs = inputs_id(d.result for d in deps)
    if spec.aggregate:
        return Outcome(spec.key, "ran", inputs, members=list(deps))
    if not spec.forced and inputs in spec.cutoff:
        path, result = spec.cutoff[inputs]
        logger.info("%r skipped: upstream rebuilt identical outputs (early cutoff)", spec.task)
        return Outcome(spec.key, "cutoff", result, path)
    start = time.perf_counter()
    retries = max(int(type(spec.task).retries or 0), 0)
    for attempt in range(retries + 1):
        try:
            result, path = _build(spec, deps, inputs, start)
            duration = time.perf_counter() - start
            logger.info("%r ran in %.3fs", spec.task, duration)
            return Outcome(spec.key, "ran", result, path, duration)
        except Exception as exc:  # reported in the Outcome, re-raised by the driver
            if attempt < retries:
                logger.info("%r failed (%s: %s), retrying", spec.task, type(exc).__name__, exc)
                continue
            logger.info("%r failed: %s: %s", spec.task, type(exc).__name__, exc)
            return Outcome(spec.key, "failed", duration=time.perf_counter() - start,
                           error=_portable(exc), traceback=traceback.format_exc())
    raise AssertionError("unreachable")


def _portable(exc: BaseException) -> BaseException:
    """The exception itself if it survives pickling (process and cluster runs), else a stand-in."""
    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:
        return RuntimeError(f"{type(exc).__module__}.{type(exc).__qualname__}: {exc}")


def _bind(spec: Spec, deps: list):
    """The inputs structure of the task, with targets on the builds its upstream committed."""
    by_task = dict(zip(spec.deps, deps))

    def targets(dep: Task, outcome: Outcome):
        if outcome.path is None:  # an aggregator: the outputs of what it groups
            return [targets(t, o) for t, o in zip(dep.deps(), outcome.members)]
        return _shape(dep, {n: Target(spec.store, f"{outcome.path}/{n}.{f.ext}", f, dep)
                            for n, f in type(dep)._outputs.items()})

    def target(dep: Task):
        return targets(dep, by_task[dep])

    struct = spec.task.requires() if spec.struct == _UNKNOWN else spec.struct  # == survives pickling
    return None if struct is None else _map(struct, target)


def _build(spec: Spec, deps: list, inputs: str, start: float) -> tuple[str, str]:
    task, store = spec.task, spec.store
    build = store.new_build(task.task_family, spec.param_dir)
    runner = object.__new__(type(task))
    runner.__dict__.update(task.__dict__)
    if spec.struct != _UNKNOWN:  # input() in run(): requires() as planned (a dynamic one cannot re-plan here)
        runner.__dict__["_requires"] = spec.struct
    ctx = runner._ctx = RunContext(store, build, _bind(spec, deps))
    runner.run()
    outputs = type(task)._outputs
    for name, fmt in outputs.items():  # written by the task itself at self.output()[name].path
        if name not in ctx.saved and (found := store.checksum(ctx.path(name, fmt))) is not None:
            ctx.saved[name], ctx.sizes[name] = found
    missing = [n for n in outputs if n not in ctx.saved]
    if missing:
        raise MissingOutputError(f"{task!r} finished without saving output(s) {missing}; "
                                 f"call self.save(...) in run()")
    h = hashlib.sha256()
    for name in sorted(ctx.saved):
        h.update(f"{name}\0{ctx.saved[name]}\n".encode())
    result = h.hexdigest()[:16]
    body = {k: v for k, v in spec.body.items() if k != "code_parts"}
    body["deps"] = [dict(d, result=o.result) for d, o in zip(spec.body["deps"], deps)]
    body.update(inputs=inputs, result=result, duration=round(time.perf_counter() - start, 6),
                outputs={n: {"file": f"{n}.{f.ext}", "format": f.name, "sha256": ctx.saved[n]}
                         for n, f in outputs.items()})
    text = json.dumps(body, sort_keys=True, default=str)  # the C encoder: no indent
    sizes = sizes_token({f"{n}.{outputs[n].ext}": size for n, size in ctx.sizes.items()})
    store.commit(build, spec.version, inputs, result, sizes,
                 f'{text[:-1]},"code_parts":{spec.body["code_parts"]}}}'.encode())
    return result, build
