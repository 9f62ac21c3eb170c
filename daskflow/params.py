"""Parameter descriptors: declare, parse, check and normalise task parameters.

Imports only ``daskflow.errors``.  A parameter is a descriptor on a task
class (as in luigi): it knows its name, default and significance, turns a
given value, or a string from the command line, into its canonical Python
value (``normalize``).  Values are read-only on the
task instance.  Normalised values are what fingerprints and paths are built
from, so ``IntParameter`` given ``"3"`` and ``3`` name the same task.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import itertools
import json
import numbers
from collections.abc import Mapping

from .errors import ParameterError

__all__ = [
    "NODEFAULT",
    "FrozenDict",
    "Parameter",
    "IntParameter",
    "FloatParameter",
    "BoolParameter",
    "DateParameter",
    "PathParameter",
    "ListParameter",
    "DictParameter",
    "EnumParameter",
    "ChoiceParameter",
]


class _NoDefault:
    def __repr__(self) -> str:
        return "NODEFAULT"


NODEFAULT = _NoDefault()
_CREATED = itertools.count()


class Parameter:
    """A task parameter: any value that daskflow can fingerprint.

    Parameters
    ----------
    default : object, optional
        Used when the task is constructed without this parameter.
    significant : bool, default True
        An insignificant parameter (``n_jobs``, ``verbose``) is passed to the
        task but is not part of its identity, its fingerprint or its path.
    description : str, optional
        Shown by ``daskflow --help``-style listings.

    Examples
    --------
    >>> import daskflow
    >>> class Train(daskflow.tasks.TaskPickle):
    ...     model = daskflow.Parameter(default="ols")
    >>> Train(model="gbm").model
    'gbm'
    """

    type_name = "any"

    def __init__(self, default=NODEFAULT, significant: bool = True, description: str | None = None):
        self._order = next(_CREATED)  # luigi orders parameters so (Parameter._counter)
        self.default = default
        self.significant = significant
        self.description = description
        self.name: str | None = None

    def __set_name__(self, owner, name: str) -> None:
        self.name = name

    def __get__(self, obj, objtype=None):
        if obj is None:
            return self
        return obj._params[self.name]

    def __set__(self, obj, value):
        raise AttributeError(f"{type(obj).__name__}.{self.name} is read-only: tasks are values; "
                             f"use task.clone({self.name}=...) for another one")

    def __repr__(self) -> str:
        default = "" if self.default is NODEFAULT else f"default={self.default!r}"
        return f"{type(self).__name__}({default})"

    @property
    def has_default(self) -> bool:
        return self.default is not NODEFAULT

    def same_declaration(self, other: "Parameter") -> bool:
        """True when two declarations of one name agree on type, default and significance."""
        return (type(self) is type(other) and self.significant == other.significant
                and _same(self.default, other.default))

    def check(self, value, task_name: str):
        """Normalise ``value`` or raise a ParameterError naming the task and parameter.

        ``None`` is accepted where the default is ``None`` (an optional parameter, as in luigi)."""
        if value is None and self.default is None:
            return None
        try:
            return self.normalize(value)
        except (TypeError, ValueError) as exc:
            raise ParameterError(
                f"{task_name}: parameter {self.name!r} ({self.type_name}) cannot take "
                f"{value!r}: {exc}") from exc

    def normalize(self, value):
        """Return the canonical value; raise TypeError or ValueError if it does not fit."""
        return value

    def parse(self, text: str):
        """The value of luigi's text of one (a command line, ``luigi.cfg``; JSON for lists)."""
        return self.normalize(text)

    def unchanged_types(self) -> tuple:
        """Types whose values ``normalize`` returns as given: a task skips the call for them.

        Declared next to ``normalize``: a subclass that overrides ``normalize`` alone
        gets none (see :func:`unchanged_types`)."""
        return ()

    def serialize(self, value) -> str:
        """Short, human-readable text of a value, for previews and paths."""
        return "None" if value is None else self._text(value)

    def _text(self, value) -> str:
        return canonical_text(value)


def unchanged_types(param: Parameter) -> tuple:
    """The types a task may keep as given for ``param`` without calling its ``check``: those
    the class that defines ``normalize`` declares, if ``check`` is the base one."""
    kind = type(param)
    if kind.check is not Parameter.check:
        return ()
    owner = next(k for k in kind.__mro__ if "normalize" in vars(k))
    return param.unchanged_types() if "unchanged_types" in vars(owner) else ()


def canonical_text(value) -> str:
    """Readable text of a value that is the same in every process: set elements and dict keys
    sorted (``str()`` of a set follows the hash seed, of a dict the insertion order)."""
    if isinstance(value, (set, frozenset)):
        return "{" + ", ".join(sorted(canonical_text(v) for v in value)) + "}"
    if isinstance(value, Mapping):
        return "{" + ", ".join(sorted(f"{canonical_text(k)}: {canonical_text(v)}"
                                      for k, v in value.items())) + "}"
    if isinstance(value, (list, tuple)):
        inner = ", ".join(canonical_text(v) for v in value)
        return f"[{inner}]" if isinstance(value, list) else f"({inner})"
    if dataclasses.is_dataclass(value) and not isinstance(value, type):  # its repr may hold a set
        fields = ", ".join(f"{f.name}={canonical_text(getattr(value, f.name))}" for f in dataclasses.fields(value))
        return f"{type(value).__name__}({fields})"
    return str(value)


def _is_numpy_bool(value) -> bool:
    return type(value).__module__ == "numpy" and type(value).__name__ in ("bool_", "bool")


def _same(a, b) -> bool:
    try:
        return type(a) is type(b) and bool(a == b)
    except Exception:  # an ambiguous comparison (arrays): treat as different
        return False


class IntParameter(Parameter):
    """An integer; ``"3"`` from the command line becomes 3. Booleans are refused."""

    type_name = "int"

    def normalize(self, value):
        if isinstance(value, bool) or _is_numpy_bool(value):
            raise TypeError("expected an int, got a bool")
        if isinstance(value, str):
            return int(value.strip())
        if isinstance(value, numbers.Integral):  # int, numpy integers
            return int(value)
        if isinstance(value, numbers.Real) and float(value).is_integer():
            return int(value)
        raise TypeError(f"expected an int, got {type(value).__name__}")

    def unchanged_types(self) -> tuple:
        return (int,)


class FloatParameter(Parameter):
    """A float; ints and numeric strings are converted."""

    type_name = "float"

    def normalize(self, value):
        if isinstance(value, bool) or _is_numpy_bool(value):
            raise TypeError("expected a float, got a bool")
        if isinstance(value, (numbers.Real, str)):  # int, float, numpy numbers, text
            return float(value)
        raise TypeError(f"expected a float, got {type(value).__name__}")

    def unchanged_types(self) -> tuple:
        return (float,)


class BoolParameter(Parameter):
    """A bool; the strings true/false, yes/no, 1/0 (any case) are accepted."""

    type_name = "bool"
    _TEXT = {"true": True, "1": True, "yes": True, "on": True,
             "false": False, "0": False, "no": False, "off": False}

    def normalize(self, value):
        if isinstance(value, bool):
            return value
        if _is_numpy_bool(value):
            return bool(value)
        if isinstance(value, str) and value.strip().lower() in self._TEXT:
            return self._TEXT[value.strip().lower()]
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        raise TypeError(f"expected a bool, got {value!r}")

    def unchanged_types(self) -> tuple:
        return (bool,)


class DateParameter(Parameter):
    """A ``datetime.date``; ISO strings (``2024-01-31``) are parsed, and a datetime (a
    ``pandas.Timestamp``, ``datetime.now()``) gives its date, as luigi's does."""

    type_name = "date"

    def normalize(self, value):
        if isinstance(value, datetime.datetime):  # also pandas.Timestamp: its date, where it is
            return datetime.date(value.year, value.month, value.day)
        if isinstance(value, datetime.date):
            return value
        if isinstance(value, str):
            return datetime.date.fromisoformat(value.strip())
        raise TypeError(f"expected a date, got {type(value).__name__}")

    def unchanged_types(self) -> tuple:
        return (datetime.date,)  # exactly a date: a datetime is checked

    def _text(self, value) -> str:
        return value.isoformat()


class PathParameter(Parameter):
    """A path or URL of a raw input file or folder (local, ``s3://...``), as text.

    Its value is part of the task's identity; the file's listing identity (size
    and mtime, or ETag on S3) is part of the task's *inputs*: a task with a
    PathParameter depends on ``daskflow.tasks.ExternalFile(path=value)``, so a
    changed file reruns it and ``why()`` says how the file changed.
    """

    type_name = "path"

    def normalize(self, value):
        import os

        if isinstance(value, os.PathLike):
            value = os.fspath(value)
        if not isinstance(value, str) or not value:
            raise TypeError(f"expected a path, got {type(value).__name__}")
        return value.replace(os.sep, "/") if "://" not in value else value


class ListParameter(Parameter):
    """A list, stored as a tuple so the task stays immutable; JSON on the command line."""

    type_name = "list"

    def normalize(self, value):
        if isinstance(value, str):
            value = json.loads(value)
        if not isinstance(value, (list, tuple)):
            raise TypeError(f"expected a list, got {type(value).__name__}")
        return tuple([_freeze(v) for v in value])

    def _text(self, value) -> str:
        if all(type(v) in _JSON_ATOMS for v in value):  # what json.dumps writes, without an encoder
            return "[" + ", ".join([_JSON_ATOMS[type(v)](v) for v in value]) + "]"
        return _LIST_JSON.encode(_thaw(value))  # json.dumps(..., default=canonical_text)


class DictParameter(Parameter):
    """A mapping, stored read-only; JSON on the command line."""

    type_name = "dict"

    def normalize(self, value):
        if isinstance(value, str):
            value = json.loads(value)
        if not isinstance(value, Mapping):
            raise TypeError(f"expected a dict, got {type(value).__name__}")
        return _freeze(value)

    def _text(self, value) -> str:
        if all(type(k) is str and type(v) in _JSON_ATOMS for k, v in value.items()):  # as json.dumps
            return "{" + ", ".join([f"{_json_str(k)}: {_JSON_ATOMS[type(v)](v)}"
                                    for k, v in sorted(value.items())]) + "}"
        return _DICT_JSON.encode(_thaw(value))  # json.dumps(..., sort_keys=True, default=canonical_text)


_ATOMS = frozenset({str, int, float, bool, type(None)})  # _freeze and _thaw keep these as they are
# json.dumps with options makes an encoder per call; these are the same encoders, made once
_LIST_JSON = json.JSONEncoder(default=canonical_text)
_DICT_JSON = json.JSONEncoder(sort_keys=True, default=canonical_text)
_json_str = json.encoder.encode_basestring_ascii  # json.dumps's text of a str (ensure_ascii)
# the text json.dumps writes for these types (a float's repr where finite; nan and inf by json)
_JSON_ATOMS = {str: _json_str, int: int.__repr__, bool: lambda v: "true" if v else "false",
               type(None): lambda v: "null",
               float: lambda v: float.__repr__(v) if v - v == 0.0 else _LIST_JSON.encode(v)}


class FrozenDict(dict):
    """A read-only dict: a DictParameter's value.  Picklable, JSON-serialisable, and a dict
    to pandas, json and user code; changing it raises TypeError (tasks are values)."""

    def _refuse(self, *args, **kwargs):
        raise TypeError("a DictParameter value is read-only; use task.clone(name={...}) for another")

    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = _refuse
    __ior__ = _refuse

    def __reduce__(self):
        return (FrozenDict, (dict(self),))


def _freeze(value):
    if type(value) in _ATOMS:
        return value
    if isinstance(value, Mapping):
        return FrozenDict({k: _freeze(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    return value


def _thaw(value):
    if type(value) in _ATOMS:
        return value
    if isinstance(value, Mapping):
        return {k: _thaw(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [_thaw(v) for v in value]
    return value


class EnumParameter(Parameter):
    """A member of ``enum``; its name is accepted as text."""

    type_name = "enum"

    def __init__(self, enum: type[enum.Enum], **kwargs):
        self.enum = enum
        super().__init__(**kwargs)

    def normalize(self, value):
        if isinstance(value, self.enum):
            return value
        if isinstance(value, str) and value in self.enum.__members__:
            return self.enum[value]
        names = ", ".join(self.enum.__members__)
        raise ValueError(f"expected a member of {self.enum.__name__} ({names})")

    def unchanged_types(self) -> tuple:
        return (self.enum,)

    def _text(self, value) -> str:
        return value.name

    def same_declaration(self, other) -> bool:
        return super().same_declaration(other) and self.enum is other.enum


class ChoiceParameter(Parameter):
    """One of ``choices``; text from the command line is converted with ``var_type``."""

    type_name = "choice"

    def __init__(self, choices, var_type: type = str, **kwargs):
        self.choices = tuple(choices)
        self.var_type = var_type
        super().__init__(**kwargs)

    def normalize(self, value):
        if isinstance(value, str) and self.var_type is not str:
            value = self.var_type(value)
        if value not in self.choices:
            raise ValueError(f"expected one of {list(self.choices)}")
        return value

    def same_declaration(self, other) -> bool:
        return super().same_declaration(other) and self.choices == other.choices
