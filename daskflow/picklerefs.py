"""What a pickle refers to by name: the classes and functions its bytes do not hold.

Imports only the standard library.  A pickle stores an instance's class, and any
function or class inside it, as a module and a name: two pickles can be equal
bytes while the code they will run when loaded (``model.predict``, a
``FunctionTransformer``'s function, a library's class) has changed.  So the
result of a pickled output and the token of a library object in a code
fingerprint count that code too: :func:`dumps` pickles and records, in one pass,
every class of an object pickled and every function or class pickled by
reference (``Pickler.reducer_override``, which the C pickler may skip only for
``None``, booleans and exact ints, floats, strings, bytes, lists, tuples, dicts,
sets and frozensets: the bulk of plain data costs nothing more).
"""

from __future__ import annotations

import io
import pickle
import types

__all__ = ["dumps", "references"]


class _Recorder(pickle.Pickler):
    def __init__(self, file, protocol, found: dict, **options):
        super().__init__(file, protocol, **options)
        self.found = found

    def reducer_override(self, obj):
        if isinstance(obj, (type, types.FunctionType)):
            self.found.setdefault(id(obj), obj)
        else:
            kind = type(obj)
            self.found.setdefault(id(kind), kind)
        return NotImplemented  # pickled as it would be without this


def dumps(obj, found: dict, protocol: int = pickle.HIGHEST_PROTOCOL, **options) -> bytes:
    """``pickle.dumps(obj)``, recording in ``found`` (``{id: class or function}``) what the
    bytes name: the classes of its objects and the functions and classes inside it."""
    buffer = io.BytesIO()
    _Recorder(buffer, protocol, found, **options).dump(obj)
    return buffer.getvalue()


class _Sink:
    def write(self, data) -> int:
        return len(data)


def references(obj) -> list:
    """The classes and functions a pickle of ``obj`` names (nothing is kept); [] if it cannot
    be pickled."""
    found: dict = {}
    try:
        _Recorder(_Sink(), pickle.HIGHEST_PROTOCOL, found).dump(obj)
    except Exception:  # not picklable: the caller's own identity check reports it
        return []
    return list(found.values())
