"""Running one task where dask puts it: bind inputs, run, save, commit.

Imports ``errors``, ``config``, ``listing``, ``storage``, ``context``, ``task``, ``plan``,
``fingerprint``, ``lease``, ``luigi_names``, ``filestate``, ``observe``, ``progress`` and
``trace``; never dask, so the same function serves the sync, threaded and process
schedulers and a distributed cluster.  A graph node calls :func:`execute` with its :class:`Spec` and the
:class:`Outcome` of each upstream task; it returns a small Outcome, never the
task's data (workers load inputs and save outputs themselves), except for a
``TaskCache``, whose values (and metadata) ride in its Outcome to the
downstream nodes: never stored, they are that node's dask result.

What stays true: exceptions from ``run()`` never escape (they come back in the
Outcome with their traceback text), so independent branches keep going on
every scheduler; a task whose upstream failed is not run; a build is
committed only after all its outputs are written.  Where the store takes
leases (``daskflow.lease``), a task version another builder is building is
not built again: its commit becomes this task's outcome (status ``shared``,
with ``waited_for`` naming the builder), so downstream tasks are built only
from committed upstream builds.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import logging
import pickle
import time
import traceback
from dataclasses import dataclass, field

from .errors import MissingOutputError, TaskDefinitionError
from .fingerprint import code_of
from .config import trace_enabled
from .context import MemoryTarget, MetaRef
from .lease import claim
from .listing import build_file, sizes_token
from .luigi_names import run_hooked
from .filestate import READS_NAME, project_folder, record_changed
from .nativereads import wrap as native_readers
from .threadreads import wrap as thread_readers
from .observe import identities, recording
from .node import Node
from .plan import cache_result, inputs_id, static_body
from .progress import waiting
from .storage import Store, Target
from .task import RunContext, Task, _map, _shape
from .trace import watch

__all__ = ["Spec", "Outcome", "execute", "spec_for", "known_outcome"]

logger = logging.getLogger("daskflow")
_MARKER_JSON = json.JSONEncoder(sort_keys=True, default=str)  # made once: a marker per build
_UNKNOWN = "requires() not seen by the plan"


@dataclass
class Outcome:
    """What a graph node returns: small, picklable."""

    key: str
    status: str  # ran | cutoff | shared | fresh | failed | upstream_failed
    result: str | None = None
    path: str | None = None
    duration: float = 0.0
    error: BaseException | None = None
    traceback: str = ""
    blocked_by: list = field(default_factory=list)
    members: list = field(default_factory=list)  # an aggregator's upstream outcomes
    waited_for: str = ""  # shared: the builder (owner of the lease) this task waited for
    values: dict | None = None  # a TaskCache's outputs by name: its data, kept in the graph
    meta: dict | None = None  # a TaskCache's saveMeta()
    reads: dict | None = None  # the files a TaskCache's run() (and its own caches') read: recorded downstream


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
    cutoff: dict  # inputs id -> [(build path, result, record of the files run() read or None)], newest first
    body: dict  # static part of the marker
    deps: list  # upstream tasks, in requires() order
    struct: object = _UNKNOWN  # what requires() returned, as the plan saw it
    cached: bool = False  # a TaskCache: outputs stay in memory
    dep_stores: list = field(default_factory=list)  # each upstream task's root (d6tflow's path)
    project: str = ""  # the planning process's project folder: read files are kept relative to it
    memoized: frozenset = frozenset()  # memoized functions its code reaches (see daskflow.observe)


def spec_for(node: Node, store: Store, project: str = "") -> Spec:
    store = getattr(node, "store", None) or store  # the node's own root, else the plan's
    return Spec(node.task, node.key, store, node.param_dir, node.version, node.forced, node.aggregate,
                {i: [(c.path, c.result, c.file(READS_NAME) if READS_NAME in c.files else None) for c in cs]
                 for i, cs in node.cutoff.items()}, static_body(node),
                [d.task for d in node.deps], node.task.__dict__.get("_requires", _UNKNOWN),
                type(node.task)._is_cached(), [getattr(d, "store", None) or store for d in node.deps], project,
                getattr(node.code, "memoized", frozenset()))


def known_outcome(node: Node) -> Outcome:
    """The outcome of a task that does not run (fresh or external): known at plan time."""
    path = node.commit.path if node.commit is not None else None
    members = [known_outcome(d) for d in node.deps] if node.aggregate else []
    return Outcome(node.key, "fresh", node.result, path, members=members)


def execute(spec: Spec, deps: list) -> Outcome:
    """Run one task given its upstream outcomes; never raises."""
    with project_folder(spec.project):  # on a worker started elsewhere too
        return _execute(spec, deps)


def _execute(spec: Spec, deps: list) -> Outcome:
    blocked = [d.key for d in deps if d.status in ("failed", "upstream_failed")]
    if blocked:
        logger.info("%r not run: an upstream task failed", spec.task)
        return Outcome(spec.key, "upstream_failed", blocked_by=blocked)
    inputs = inputs_id(d.result for d in deps)
    if spec.aggregate:
        return Outcome(spec.key, "ran", inputs, members=list(deps))
    for path, result, reads in () if spec.forced else spec.cutoff.get(inputs, ()):  # newest first
        if reads is None or not _record_moved(spec, reads):  # and the files its run() read as now
            logger.info("%r skipped: upstream rebuilt identical outputs (early cutoff)", spec.task)
            return Outcome(spec.key, "cutoff", result, path)
    start = time.perf_counter()
    if spec.cached:  # a TaskCache: never stored, so never leased
        return _execute_cached(spec, deps, inputs, start)
    lease, committed = None, False
    try:
        if spec.store.leases:
            lease, commit, waited = _claim(spec, inputs)
            if commit is not None:  # built elsewhere since the plan: never built twice
                waited = waited or "another builder (committed before this run asked)"
                logger.info("%r built by %s: reusing its commit", spec.task, waited)
                return Outcome(spec.key, "shared", commit.result, commit.path,
                               time.perf_counter() - start, waited_for=waited)
        retries = max(int(type(spec.task).retries or 0), 0)
        for attempt in range(retries + 1):
            try:
                result, path = _build(spec, deps, inputs, start, lease)
                committed = True
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
    except Exception as exc:  # taking the lease failed (storage, a LeaseError after waiting)
        return Outcome(spec.key, "failed", duration=time.perf_counter() - start,
                       error=_portable(exc), traceback=traceback.format_exc())
    finally:  # also on KeyboardInterrupt: a lease never outlives its build
        if lease is not None:
            lease.release(committed)


def _record_moved(spec: Spec, reads: str) -> bool:
    """Whether a file the cut-off build's run() read changed; a record that cannot be read
    (storage failing) counts as changed: the task is built, never skipped on a guess."""
    try:
        return record_changed(spec.store, reads) is not None
    except Exception as exc:
        logger.info("%r: the record of the files its build read cannot be read (%s: %s): building it",
                    spec.task, type(exc).__name__, exc)
        return True


def _claim(spec: Spec, inputs: str):
    names = type(spec.task)._output_files()
    shown = []

    def on_wait(owner):  # the progress display's "waiting for <owner>" line
        shown.append(owner)
        waiting(spec.key, owner, repr(spec.task))

    try:
        return claim(spec.store, spec.task, spec.task.task_family, spec.param_dir, spec.version, inputs,
                     names, spec.forced, on_wait=on_wait)
    finally:
        if shown:
            waiting(spec.key, None)


def _execute_cached(spec: Spec, deps: list, inputs: str, start: float) -> Outcome:
    """Run a TaskCache: its outputs stay in the Outcome, travelling through the graph."""
    retries = max(int(type(spec.task).retries or 0), 0)
    for attempt in range(retries + 1):
        try:
            ctx = _run_cached(spec, deps)
            duration = time.perf_counter() - start
            logger.info("%r ran in %.3fs (output kept in memory)", spec.task, duration)
            return Outcome(spec.key, "ran", cache_result(spec.version, inputs), None, duration,
                           values=ctx.values, meta=ctx.meta, reads=ctx.reads)
        except Exception as exc:  # reported in the Outcome, re-raised by the driver
            if attempt < retries:
                continue
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
    """The inputs of the task, with targets on the builds its upstream committed (or on the
    values a TaskCache passed), and where each upstream's metadata is, in the same shape."""
    by_task = dict(zip(spec.deps, zip(deps, spec.dep_stores or [spec.store] * len(deps))))

    def targets(dep: Task, outcome: Outcome):
        if getattr(dep, "raw_file", False):  # a raw input file (daskflow.rawfiles): its own target
            return dep.output()
        if outcome.values is not None:  # a TaskCache: its values came through the graph
            return _shape(dep, {n: MemoryTarget(outcome.values[n], f, dep)
                                for n, f in type(dep)._outputs.items()})
        if outcome.path is None:  # an aggregator: the outputs of what it groups
            return [targets(t, o) for t, o in zip(dep.deps(), outcome.members)]
        store = by_task.get(dep, (None, spec.store))[1]
        return _shape(dep, {n: Target(store, build_file(outcome.path, f"{n}.{f.ext}"), f, dep, name=n)
                            for n, f in type(dep)._outputs.items()})

    def target(dep: Task):
        return targets(dep, by_task[dep][0])

    def meta(dep: Task):
        outcome, store = by_task[dep]
        if outcome.values is not None:
            return MetaRef(dep, value=outcome.meta)
        return MetaRef(dep, store, outcome.path)

    struct = spec.task.requires() if spec.struct == _UNKNOWN else spec.struct  # == survives pickling
    if struct is None:
        return None, None
    return _map(struct, target), _map(struct, meta)


def _runner(spec: Spec, deps: list, build: str | None):
    """A copy of the task to run, bound to its inputs and to ``build`` (None: a TaskCache)."""
    task = spec.task
    runner = object.__new__(type(task))
    runner.__dict__.update(task.__dict__)
    if spec.struct != _UNKNOWN:  # input() in run(): requires() as planned (a dynamic one cannot re-plan here)
        runner.__dict__["_requires"] = spec.struct
    ctx = runner._ctx = RunContext(spec.store, build, *_bind(spec, deps))
    return runner, ctx


def _call_run(spec: Spec, runner, deps: list) -> dict:
    """``run()`` itself, traced when asked; returns what it read (see :func:`_reads`)."""
    task = spec.task
    native_readers()  # pyarrow's readers, which open files in C, say what they read
    thread_readers()  # and the threads run() starts or hands work to count with it
    with recording(spec.memoized, _roots(spec)) as seen:  # the files run() reads by a path computed at run time
        if trace_enabled():  # daskflow.trace: which user functions run() calls (opt-in)
            with watch(task, spec.body):
                made = runner.run()
        else:
            made = runner.run()
        if inspect.isgenerator(made):  # luigi's dynamic dependencies: yield in run()
            made.close()
            raise TaskDefinitionError(
                f"{task!r}.run() yields tasks (luigi's dynamic dependencies), which daskflow does "
                f"not run: name them in requires(), or read an upstream's output there with "
                f"self.input_of(...) / daskflow.map (README: Dynamic branches)")
    return _reads(spec, seen, deps)


def _run_cached(spec: Spec, deps: list) -> RunContext:
    """Run a TaskCache: its outputs stay in the context's values, nothing is stored; luigi's
    hooks around it as around any run."""
    runner, ctx = _runner(spec, deps, None)

    def body():
        ctx.reads = _call_run(spec, runner, deps)

    def finish():
        missing = [n for n in type(spec.task)._outputs if n not in ctx.values]
        if missing:
            raise MissingOutputError(f"{spec.task!r} finished without saving output(s) {missing}; "
                                     f"call self.save(...) in run()")
        return ctx

    return run_hooked(runner, body, finish)


def _reads(spec: Spec, seen, deps: list) -> dict:
    """What a run read (see :func:`daskflow.observe.identities`), with what the TaskCache
    upstreams that fed it read: never stored themselves, their files count with this build."""
    found, todo = {}, list(deps)
    while todo:  # an aggregator of caches: its members'
        o = todo.pop()
        found.update(o.reads or {})
        todo.extend(o.members)
    found.update(identities(seen, _roots(spec)))
    return dict(sorted(found.items()))


def _roots(spec: Spec) -> list:
    """The local roots a run reads builds from (its own and its upstream tasks')."""
    return [s.root for s in {spec.store, *spec.dep_stores} if s is not None and s.local]


def _build(spec: Spec, deps: list, inputs: str, start: float, lease=None) -> tuple[str, str]:
    runner, ctx = _runner(spec, deps, spec.store.new_build(spec.task.task_family, spec.param_dir))

    def body():
        if found := _call_run(spec, runner, deps):
            ctx.reads_bytes = json.dumps(found, sort_keys=True).encode()

    result = run_hooked(runner, body, lambda: commit_build(spec, deps, inputs, start, ctx, lease))
    return result, ctx.build_path


def begin_direct(spec: Spec, deps: list) -> RunContext:
    """The context of a direct ``Task().run()``: inputs bound, a new build (or memory) to save into."""
    build = None if spec.cached else spec.store.new_build(spec.task.task_family, spec.param_dir)
    return RunContext(spec.store, build, *_bind(spec, deps))


def commit_build(spec: Spec, deps: list, inputs: str, start: float, ctx: RunContext, lease=None) -> str:
    """Check every output was saved, then write the build's commit marker; return its result."""
    task, store, build = spec.task, spec.store, ctx.build_path
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
    if code := code_of(ctx.names.values()):  # the code a pickle names, loaded downstream: equal
        h.update(f"code\0{code}\n".encode())  # bytes after an edit to it are not the same result
    if list(outputs) != sorted(outputs):  # inputLoad() gives the outputs in persist's order
        h.update(f"order\0{','.join(outputs)}\n".encode())
    if ctx.meta_bytes is not None:  # saveMeta(): what metaLoad() downstream reads
        h.update(f"meta\0{hashlib.sha256(ctx.meta_bytes).hexdigest()}\n".encode())
    result = h.hexdigest()[:16]
    body = {k: v for k, v in spec.body.items() if k != "code_parts"}
    body["deps"] = [dict(d, result=o.result) for d, o in zip(spec.body["deps"], deps)]
    body.update(inputs=inputs, result=result, duration=round(time.perf_counter() - start, 6),
                outputs={n: {"file": f"{n}.{f.ext}", "format": f.name, "sha256": ctx.saved[n]}
                         for n, f in outputs.items()})
    text = _MARKER_JSON.encode(body)  # the C encoder: no indent
    sizes = sizes_token({f"{n}.{outputs[n].ext}": size for n, size in ctx.sizes.items()})
    if lease is not None:
        lease.check()  # an interrupted run's lease is gone: its build must not commit
    folders = tuple(ctx.path(n, f) for n, f in outputs.items() if f.write is not None) if store.fsync else ()
    ctx.build_path = store.commit(build, spec.version, inputs, result, sizes,
                                  f'{text[:-1]},"code_parts":{spec.body["code_parts"]}}}'.encode(), folders,
                                  ctx.last, ctx.meta_bytes, ctx.reads_bytes)  # an inline commit names the build anew
    ctx.last = ctx.meta_bytes = ctx.reads_bytes = None
    ctx.committed = True
    return result
