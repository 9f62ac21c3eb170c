"""What a task sees of storage while its ``run()`` executes: the run context and targets.

Imports ``errors``, ``formats`` and ``storage``; knows nothing of tasks'
classes, planning or dask.  The executor (``daskflow.execute``), or a direct
``Task().run()`` (``daskflow.outputs``), gives a running task a
:class:`RunContext`: ``save()``, ``saveMeta()``, ``input()`` and
``metaLoad()`` reach storage, or memory for a ``TaskCache``, only through it.
Every path of a build is made here (``RunContext.path``, :func:`meta_path`),
so a change of layout stays in one place.
"""

from __future__ import annotations

import base64
import hashlib
import json
import pickle
from collections.abc import Mapping

from .errors import NotBuiltError, SaveError
from .formats import Format, dumps
from .storage import META_NAME, Target, build_file

__all__ = ["RunContext", "MemoryTarget", "MetaRef", "TargetDict", "meta_path", "flatten", "map_struct"]


def flatten(struct) -> list:
    """Tasks (or targets) of a requires()/input() structure, in order."""
    if struct is None:
        return []
    if isinstance(struct, dict):
        return [x for v in struct.values() for x in flatten(v)]
    if isinstance(struct, (list, tuple)):
        return [x for v in struct for x in flatten(v)]
    return [struct]


def map_struct(struct, fn):
    """``struct`` (a requires() shape) with ``fn`` applied to each leaf."""
    if isinstance(struct, TargetDict):
        return struct
    if isinstance(struct, dict):
        return {k: map_struct(v, fn) for k, v in struct.items()}
    if isinstance(struct, (list, tuple)):
        return [map_struct(v, fn) for v in struct]
    return fn(struct)


def meta_path(build_path: str) -> str:
    """Where ``saveMeta()`` of a build is stored."""
    return build_file(build_path, META_NAME)


class TargetDict(dict):
    """The targets of a task with several outputs, by output name.

    A plain dict, except that using it as one target (``.load()``) is an error
    naming the outputs and how to load one.
    """

    task = None

    def load(self, *args, **kwargs):
        names = ", ".join(map(repr, self))
        first = next(iter(self), "name")
        raise TypeError(f"{self.task!r} has several outputs ({names}): this is a dict of targets, "
                        f"not one target; load one with [{first!r}].load(), or all with "
                        f"self.inputLoad() / task.outputLoad(as_dict=True)")

    def exists(self) -> bool:
        return all(t.exists() for t in self.values())


def targets_of(task, targets: dict):
    """One target for a task with the single default output ``data``, else a TargetDict."""
    if len(targets) == 1 and list(type(task)._outputs) == ["data"]:
        return targets["data"]
    out = TargetDict(targets)
    out.task = task
    return out


class MemoryTarget(Target):
    """The output of a ``TaskCache``: its value, held in memory, never stored."""

    def __init__(self, value, fmt: Format, task=None, reason: str = "", present: bool = True):
        super().__init__(None, None, fmt, task, reason)
        self.value = value
        self.present = present

    @property
    def path(self):
        return None

    def exists(self) -> bool:
        return self.present

    def load(self, cached: bool = False, **options):
        if not self.present:
            raise NotBuiltError(f"{self.task!r} keeps its output in memory (TaskCache) and has not "
                                f"run in this process for today's code and inputs ({self.reason}); "
                                f"run daskflow.run({self.task!r}) first")
        return self.value

    def __repr__(self) -> str:
        return f"MemoryTarget({type(self.value).__name__}, {self.task!r})"


class RunTarget(Target):
    """An output of the task whose ``run()`` asks for it: an output held back for the
    commit (see :meth:`RunContext.save`) is written before the target is used, however
    early the target was taken."""

    def __init__(self, ctx: "RunContext", name: str, fmt: Format, task):
        super().__init__(ctx.store, ctx.path(name, fmt), fmt, task, name=name)
        self._ctx = ctx

    @property
    def path(self):
        self._ctx.flush()
        return super().path

    def exists(self) -> bool:
        self._ctx.flush()
        return super().exists()

    def load(self, cached: bool = False, **options):
        self._ctx.flush()
        return super().load(cached, **options)


class MetaRef:
    """Where an upstream task's metadata is: a build on a store, or a value in memory."""

    __slots__ = ("task", "store", "build", "value")

    def __init__(self, task, store=None, build=None, value=None):
        self.task, self.store, self.build, self.value = task, store, build, value

    def load(self) -> dict:
        """The metadata, or ``{}`` for an upstream task that saved none."""
        if self.value is not None or self.build is None:
            return self.value or {}
        try:
            return decode_meta(self.store.read_json(meta_path(self.build)))
        except FileNotFoundError:
            return {}


def _plain(obj):
    """numpy scalars and arrays, read-only dicts: their plain values (for JSON)."""
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if isinstance(obj, Mapping):
        return dict(obj)
    raise TypeError(f"{type(obj).__module__}.{type(obj).__qualname__} is not JSON-serialisable")


class RunContext:
    """What a task sees of storage while its ``run()`` executes.

    Parameters
    ----------
    store : Store
    build_path : str or None
        The build being written (None for a task whose outputs stay in memory).
    inputs : object
        Targets of the upstream tasks, in the shape of ``requires()``.
    metas : object, optional
        :class:`MetaRef` of each upstream task, in the same shape.
    finish : callable, optional
        Called once every output is saved, for a direct ``Task().run()``: commits the build.
    """

    def __init__(self, store, build_path, inputs, metas=None, finish=None):
        self.store = store
        self.build_path = build_path
        self.inputs = inputs
        self.metas = metas
        self.finish = finish
        self.done = False
        self.saved: dict[str, str] = {}  # output name -> sha256 of its bytes
        self.sizes: dict[str, int] = {}  # file outputs: name -> size in bytes
        self.names: dict = {}  # classes and functions the outputs name (pickles, user formats)
        self.values: dict = {}  # outputs kept in memory (TaskCache): name -> object
        self.meta = None
        self.last = None  # (file name, bytes) of the only output, written by the commit
        self.meta_bytes = None  # saveMeta() before the commit: written by it
        self.reads_bytes = None  # the files run() read (daskflow.observe): written by the commit
        self.reads = None  # a TaskCache's: what its run() read, passed on in its Outcome
        self.committed = False

    def flush(self) -> None:
        """Write an output held back for the commit now: ``run()`` asks for its own targets."""
        if self.last is not None:
            name, data = self.last
            self.last = None
            self.store.write(build_file(self.build_path, name), data)

    def path(self, name: str, fmt: Format) -> str:
        return build_file(self.build_path, f"{name}.{fmt.ext}")

    def save(self, task, name: str, fmt: Format, obj, options: dict | None = None) -> None:
        if not fmt.stored:
            self.values[name] = obj
            self.saved[name] = "memory"
            return
        try:
            fmt.check(obj)
            if fmt.write is not None:  # a folder format writes its files itself
                self.saved[name] = fmt.write(obj, self.store.fs, self.path(name, fmt))
                return
            data = dumps(fmt, obj, dict(options or {}), self.names)
            reader = getattr(fmt, "target_class", None) or type(fmt)  # d6tflow's target class, or
            if not reader.__module__.startswith("daskflow."):  # a user's format: its load() runs
                self.names.setdefault(id(reader), reader)  # downstream, so its code counts
        except Exception as exc:  # pyarrow and friends raise their own types: one error naming the output
            raise SaveError(f"{task!r}: output {name!r} ({fmt.name}) cannot take a "
                            f"{type(obj).__module__}.{type(obj).__qualname__}: "
                            f"{type(exc).__name__}: {exc}") from exc
        self.sizes[name] = len(data)
        if (self.store.inline and len(type(task)._outputs) == 1 and not self.committed
                and len(data) <= INLINE_MAX):
            self.last = (f"{name}.{fmt.ext}", data)  # the commit writes it: one file in all
            self.saved[name] = hashlib.sha256(data).hexdigest()
            return
        self.last = None  # an earlier save() of it held back: this one replaces it
        if name in self.saved and not self.committed:  # saved twice in one run(): the last wins
            self.saved[name] = self.store.write(self.path(name, fmt), data, replace=True)
        else:
            self.saved[name] = self.store.write(self.path(name, fmt), data)

    def save_meta(self, task, data) -> None:
        try:  # a dict by its items; any other value (d6tflow pickles any) whole
            payload = json.dumps(encode_meta(data) if isinstance(data, Mapping)
                                 else {_WHOLE: encode_meta({"": data})[""]}).encode()
        except (TypeError, ValueError, AttributeError, pickle.PicklingError) as exc:
            raise SaveError(f"{task!r}.saveMeta(): a value is neither JSON nor picklable: {exc}") from exc
        if self.build_path is not None and not self.committed:
            self.meta_bytes = payload  # written by the commit, under the build's final name
        elif self.build_path is not None:
            self.store.write(meta_path(self.build_path), payload)
        self.meta = dict(data) if isinstance(data, Mapping) else data


_PICKLED = "__daskflow_pickle__"
_WHOLE = "__daskflow_value__"  # saveMeta() of a value that is not a dict (a list...)
INLINE_MAX = 64 << 20  # an output up to this size waits in memory for an inline commit; a larger
# one is written at once and committed by a marker file (its cost is small beside the write)


def encode_meta(data: Mapping) -> dict:
    """Metadata as JSON: each value JSON can hold as is (numpy values as plain ones); any other
    (a DataFrame...) pickled inside the JSON, as d6tflow pickles metadata."""
    out = {}
    for key, value in data.items():
        try:
            out[str(key)] = json.loads(json.dumps(value, default=_plain))
        except (TypeError, ValueError):
            out[str(key)] = {_PICKLED: base64.b64encode(pickle.dumps(value)).decode()}
    return out


def decode_meta(data: dict):
    """The values :func:`encode_meta` stored, the pickled ones unpickled (a value saved whole,
    not a dict, as it was saved)."""
    if len(data) == 1 and _WHOLE in data:
        return decode_meta({"": data[_WHOLE]})[""]
    return {k: pickle.loads(base64.b64decode(v[_PICKLED])) if isinstance(v, dict) and set(v) == {_PICKLED}
            else v for k, v in data.items()}
