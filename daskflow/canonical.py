"""Canonical, typed encoding of parameter values, for identities and fingerprints.

Imports only ``daskflow.errors`` (numpy and pandas are looked up lazily, by
type, when a value is one of theirs).  ``encode(value)`` returns bytes that
depend only on the value: ``1``, ``1.0``, ``True`` and ``"1"`` differ; dict
order does not matter; sets are sorted by their elements' encodings, so they
are stable across hash seeds; floats are exact (``float.hex``).  A numpy array
counts by dtype (a structured one by its fields), shape and data, a masked one
with its mask and fill value, a subclass (``np.matrix``) with its class's name;
a pandas object by its values' hashes and dtypes, and, where it has them, its
names, categories, a datetime index's freq and labels' types.  Nothing here
uses ``hash()``, ``repr()`` of arbitrary objects, pickle or ``id()``.  A value
with no canonical encoding raises ``TypeError``; callers name the task and
parameter.
"""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import enum
import functools
import hashlib
import pathlib
import re
import sys
import types
import uuid
from collections.abc import Mapping

__all__ = ["encode", "encode_fields", "FieldError", "digest", "framed", "inputs_id", "cache_result"]


def digest(*parts: bytes) -> str:
    """sha256 hex digest of length-prefixed parts (so parts never run together)."""
    h = hashlib.sha256()
    update = h.update
    for part in parts:
        update(len(part).to_bytes(8, "little"))
        update(part)
    return h.hexdigest()


def framed(*parts: bytes) -> bytes:
    """The bytes :func:`digest` hashes: each part after its length (8 bytes, little-endian)."""
    return b"".join(len(p).to_bytes(8, "little") + p for p in parts)


def inputs_id(results) -> str:
    """Identity of a task's inputs: the results of its upstream tasks, in order
    (``digest(*(r.encode() for r in results))[:16]``, framed here; once per set of results
    in a process: a no-op check of a warm process looks it up)."""
    return _inputs_id(tuple(results))


@functools.lru_cache(maxsize=1 << 18)
def _inputs_id(results: tuple) -> str:
    parts = []
    for result in results:
        body = result.encode()
        parts += (len(body).to_bytes(8, "little"), body)
    return hashlib.sha256(b"".join(parts)).hexdigest()[:16] if parts else _NO_INPUTS


_NO_INPUTS = hashlib.sha256(b"").hexdigest()[:16]  # inputs_id of a task without upstream tasks


def cache_result(version: str, inputs: str) -> str:
    """Result identity of a TaskCache: its version (code and parameters) and its inputs."""
    return digest(b"daskflow-cache/1", version.encode(), inputs.encode())[:16]


class FieldError(TypeError):
    """A value of :func:`encode_fields` without a canonical encoding; ``field`` names it."""

    def __init__(self, field: str):
        super().__init__(field)
        self.field = field


def encode_fields(fields, values) -> bytes:
    """``b"".join(head + encode(values[name]) for name, head in fields)``, with text and ints
    framed inline (most parameters are; this is once per task instance, the frame's tag
    and length from a table).  A value with no encoding raises :class:`FieldError` naming
    it, from the TypeError."""
    parts = []
    for name, head in fields:
        value = values[name]
        kind = type(value)
        if kind is str:
            body = value.encode("utf-8", "surrogatepass")
            n = len(body)
            parts += (head, _STR_FRAMES[n] if n < 256 else b"str:" + n.to_bytes(8, "little"), body)
        elif kind is int:
            body = b"%d" % value
            n = len(body)
            parts += (head, _INT_FRAMES[n] if n < 32 else b"int:" + n.to_bytes(8, "little"), body)
        elif kind is bool:
            parts += (head, b"bool:1" if value else b"bool:0")
        elif kind is float:
            body = value.hex().encode()
            parts += (head, b"float:", len(body).to_bytes(8, "little"), body)
        else:
            try:
                parts += (head, encode(value))
            except TypeError as exc:
                raise FieldError(name) from exc
    return b"".join(parts)


# the head of a framed str or int of each length (``_frame(tag, body)`` without the body)
_STR_FRAMES = [b"str:" + n.to_bytes(8, "little") for n in range(256)]
_INT_FRAMES = [b"int:" + n.to_bytes(8, "little") for n in range(32)]


def _frame(tag: bytes, body: bytes) -> bytes:
    return tag + b":" + len(body).to_bytes(8, "little") + body


def _seq(tag: bytes, items) -> bytes:
    return _frame(tag, b"".join([encode(v) for v in items]))


def encode(value) -> bytes:
    """Return the canonical bytes of ``value``; raise TypeError if there are none."""
    t = type(value)
    if t is str:  # the commonest, framed here as _EXACT[str] frames it
        body = value.encode("utf-8", "surrogatepass")
        return b"str:" + len(body).to_bytes(8, "little") + body
    enc = _EXACT.get(t)
    if enc is not None:
        return enc(value)
    return _encode_other(value)


def _encode_float(v: float) -> bytes:
    return _frame(b"float", v.hex().encode())


def _encode_mapping(value) -> bytes:
    items = sorted([(encode(k), encode(v)) for k, v in value.items()])
    return _frame(b"dict", b"".join([k + v for k, v in items]))


_EXACT = {
    type(None): lambda v: b"none:",
    bool: lambda v: b"bool:1" if v else b"bool:0",
    int: lambda v: _frame(b"int", str(v).encode()),
    float: _encode_float,
    str: lambda v: _frame(b"str", v.encode("utf-8", "surrogatepass")),
    bytes: lambda v: _frame(b"bytes", v),
    tuple: lambda v: _seq(b"tuple", v),
    list: lambda v: _seq(b"list", v),
    dict: _encode_mapping,
    types.MappingProxyType: _encode_mapping,
    set: lambda v: _frame(b"set", b"".join(sorted(encode(x) for x in v))),
    frozenset: lambda v: _frame(b"set", b"".join(sorted(encode(x) for x in v))),
    datetime.date: lambda v: _frame(b"date", v.isoformat().encode()),
    datetime.time: lambda v: _frame(b"time", v.isoformat().encode()),
    datetime.timedelta: lambda v: _frame(b"timedelta", repr((v.days, v.seconds, v.microseconds)).encode()),
    decimal.Decimal: lambda v: _frame(b"decimal", str(v).encode()),
    uuid.UUID: lambda v: _frame(b"uuid", v.bytes),
    complex: lambda v: _frame(b"complex", (v.real.hex() + "," + v.imag.hex()).encode()),
}


def _encode_other(value) -> bytes:
    if isinstance(value, datetime.datetime):  # pd.Timestamp too
        text, tz = value.isoformat(), value.tzinfo
        if tz is not None and not isinstance(tz, datetime.timezone):  # a named zone: its rules (DST),
            text += f"[{_zone(tz)}]"  # not one offset
        return _frame(b"datetime", text.encode())
    if isinstance(value, enum.Enum):
        cls = type(value)
        # by qualified name only: a script's __main__ and its module name must agree
        return _frame(b"enum", f"{cls.__qualname__}.{value.name}".encode())
    if isinstance(value, bool):
        return _EXACT[bool](value)
    if isinstance(value, (pathlib.PurePath,)):
        return _frame(b"path", value.as_posix().encode())
    if isinstance(value, Mapping):
        if isinstance(value, dict):  # a dict subclass (FrozenDict): the branches above are by type,
            _EXACT[type(value)] = _encode_mapping  # so its type is looked up directly from now on
        return _encode_mapping(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _encode_dataclass(value)
    if isinstance(value, type) and hasattr(value, "__daskflow_identity__"):  # a task class (TaskParameter)
        return _frame(b"task-class", value.__qualname__.encode())
    identity = getattr(value, "__daskflow_identity__", None)
    if identity is not None:  # tasks given as parameters
        return _frame(b"task", identity())
    module = type(value).__module__.split(".")[0]
    if module == "numpy":
        return _encode_numpy(value)
    if module == "pandas":
        return _encode_pandas(value)
    np = sys.modules.get("numpy")  # a subclass of ndarray of another module's (not imported: none)
    if np is not None and isinstance(value, np.ndarray):
        return _encode_numpy(value)
    for base, enc in ((int, _EXACT[int]), (float, _encode_float), (str, _EXACT[str]),
                      (tuple, _EXACT[tuple]), (list, _EXACT[list])):
        if isinstance(value, base):  # subclasses of builtins, e.g. str enums handled above
            return enc(value)
    raise TypeError(f"no deterministic encoding for a value of type "
                    f"{type(value).__module__}.{type(value).__qualname__}")


def _zone(tz) -> str:
    """A named zone's name (zoneinfo's key, pytz's zone, dateutil's file below zoneinfo/), the
    same on every machine; another tzinfo by its class and text, without a memory address."""
    name = getattr(tz, "key", None) or getattr(tz, "zone", None)
    if name:
        return name
    text = re.sub(r" at 0x[0-9a-fA-F]+", "", str(tz))
    if "zoneinfo/" in text:  # dateutil: tzfile('/usr/share/zoneinfo/Europe/Berlin')
        text = text.rsplit("zoneinfo/", 1)[1].rstrip("')\"")
    return text


def _encode_dataclass(value) -> bytes:
    """A frozen dataclass (a config given as a parameter): by class name and every field."""
    cls = type(value)
    if not cls.__dataclass_params__.frozen:  # a value that can change after a task is named by it
        raise TypeError(f"no deterministic encoding for {cls.__module__}.{cls.__qualname__}: a dataclass "
                        f"that is not frozen can change in place; declare it @dataclass(frozen=True)")
    fields = b"".join([encode(f.name) + encode(getattr(value, f.name)) for f in dataclasses.fields(value)])
    return _frame(b"dataclass", encode(cls.__qualname__) + fields)  # by name, as an enum: __main__ or not


def _encode_numpy(value) -> bytes:
    import numpy as np

    if isinstance(value, np.ndarray):
        if type(value) is not np.ndarray:
            return _encode_subarray(np, value)
        if value.dtype.names is not None:  # by its fields: '|V12' names none of them, padding is no data
            return _frame(b"records", encode((value.dtype.descr, value.shape)) + b"".join(
                [_encode_numpy(value[n]) for n in value.dtype.names]))
        if value.dtype.hasobject:
            return _frame(b"ndarray-obj", repr(value.shape).encode() + _seq(b"list", value.ravel().tolist()))
        arr = np.ascontiguousarray(value)
        head = f"{arr.dtype.str}|{arr.shape}".encode()
        return _frame(b"ndarray", _frame(b"h", head) + arr.tobytes())
    if isinstance(value, np.generic):
        if value.dtype.names is not None:  # a structured scalar (a row of a structured array)
            return _frame(b"record", encode(value.dtype.descr) + b"".join([encode(value[n]) for n in value.dtype.names]))
        return _frame(b"np-" + value.dtype.str.encode(), value.tobytes())
    if isinstance(value, np.dtype) and value.names is not None:  # by its fields: dask's token has its '|V12'
        return _frame(b"dtype", value.str.encode() + encode(value.descr))  # only (a plain one is tokenized)
    raise TypeError(f"no deterministic encoding for numpy {type(value).__name__}")


def _encode_subarray(np, value) -> bytes:
    """A masked array by its data, mask, fill value and hardness; another subclass of ndarray
    (``np.matrix``, whose ``*`` multiplies matrices, ``np.recarray``, one of the user's) by its
    class's name and its data."""
    if isinstance(value, np.ma.MaskedArray):
        return _frame(b"masked", _encode_numpy(value.data) + _encode_numpy(np.ma.getmaskarray(value))
                      + encode(value.fill_value) + encode(bool(value.hardmask)))
    return _frame(b"ndarray-sub", encode(type(value).__qualname__) + _encode_numpy(value.view(np.ndarray)))


def _encode_pandas(value) -> bytes:
    import pandas as pd

    if isinstance(value, pd.DataFrame):
        schema = [(str(c), str(t)) for c, t in value.dtypes.items()]
        values = pd.util.hash_pandas_object(value, index=True).to_numpy().tobytes()
        extra = _labels("column-types", list(value.columns)) + _attrs(value)
        return _frame(b"dataframe", encode(schema) + encode(str(value.index.dtype)) + values) + _pandas_meta(
            value.index, value.columns.name, value.dtypes.items(), extra)
    if isinstance(value, pd.Series):
        values = pd.util.hash_pandas_object(value, index=True).to_numpy().tobytes()
        index = value.index  # its dtype, which the hashes leave out (tz, period freq, int32): where not int64
        extra = [("index-dtype", str(index.dtype))] if index.nlevels == 1 and str(index.dtype) != "int64" else []
        extra += _labels("name-type", [value.name]) + _attrs(value)
        return _frame(b"series", encode((str(value.name), str(value.dtype))) + values) + _pandas_meta(
            index, None, [(value.name, value.dtype)], extra)
    if isinstance(value, pd.Index):  # names, categories, freq: in the meta, as a frame's index
        values = pd.util.hash_pandas_object(value).to_numpy().tobytes()
        return _frame(b"index", encode((str(value.dtype), value.nlevels)) + values) + _pandas_meta(value, None, [])
    if isinstance(value, pd.api.extensions.ExtensionArray):  # pd.array, Categorical: as a Series of it
        return _frame(b"pd-array", _encode_pandas(pd.Series(value)))  # (dtype: Int32, Sparse[int64, 1])
    if isinstance(value, pd.Timestamp):
        return _frame(b"timestamp", value.isoformat().encode())
    raise TypeError(f"no deterministic encoding for pandas {type(value).__name__}")


def _labels(tag: str, labels: list) -> list:
    """``[(tag, types)]`` for labels whose text alone is ambiguous (``1`` and ``"1"``, ``None`` and
    ``"None"``), else ``[]``: labels of text, or none, add nothing."""
    if all(n is None or (type(n) is str and n != "None") for n in labels):
        return []
    return [(tag, [type(n).__qualname__ for n in labels])]


def _attrs(value) -> list:
    return [("attrs", dict(value.attrs))] if value.attrs else []


def _pandas_meta(index, columns_name, dtypes, extra=()) -> bytes:
    """What the values' hashes leave out, where it is there: the index's names, the columns'
    name, and each categorical's categories and order (``reset_index()`` and ``sort_values``
    show them); then the types of labels that are not text, a datetime index's freq, a
    MultiIndex's level dtypes, and ``extra``; b'' for a frame without them, whose bytes stay
    as they were."""
    import pandas as pd

    meta = []
    if any(n is not None for n in index.names):
        meta.append(("index", [str(n) for n in index.names]))
    if columns_name is not None:
        meta.append(("columns", str(columns_name)))
    for name, dtype in dtypes:
        if isinstance(dtype, pd.CategoricalDtype):
            meta.append(("category", str(name), [str(c) for c in dtype.categories], bool(dtype.ordered)))
    for level in getattr(index, "levels", [index]):
        if isinstance(level.dtype, pd.CategoricalDtype):
            meta.append(("index-category", [str(c) for c in level.dtype.categories], bool(level.dtype.ordered)))
    meta += _labels("index-name-types", list(index.names)) + _labels("columns-name-type", [columns_name])
    if isinstance(index, (pd.DatetimeIndex, pd.TimedeltaIndex)) and index.freq is not None:
        meta.append(("index-freq", index.freqstr))  # shift(), asfreq(), what a period's end is
    if index.nlevels > 1:
        meta.append(("level-dtypes", [str(level.dtype) for level in index.levels]))
    meta += extra
    return _frame(b"pandas-meta", encode(meta)) if meta else b""
