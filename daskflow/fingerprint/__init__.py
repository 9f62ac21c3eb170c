"""Code fingerprints: what a task's code is, as a digest that changes when the code does.

Imports ``errors``, ``canonical``, ``params``, ``task`` and ``config``; never
dask at import time.  The subpackage, in the order data flows:

- ``parts``: a part and a fingerprint, the data the others pass;
- ``source``: which modules are the user's, each code object's syntax node
  and stable key;
- ``syntax``: the canonical token stream of a syntax tree, its free names;
- ``values``: tokens for the values code refers to, every value by value;
- ``libraries``: installed distributions and versions;
- ``bases``: which of two mixins defining one name wins (the order of the bases);
- ``walk``: parts and the class fingerprint (``code_fingerprint``);
- ``borrowed``: what a task reads of its upstream classes through their instances;
- ``reads``: the files its code reads by a constant path;
- here: the code parts as JSON and the static part of a commit marker (``static_body``).
"""

from .borrowed import with_upstream
from .reads import with_reads, writes_of
from .source import is_user_file, is_user_module
from .walk import _CLASS_CACHE, CodeFingerprint, Part, _fingerprint_class, _walk_function, code_fingerprint, code_of

__all__ = ["CodeFingerprint", "Part", "code_fingerprint", "code_of", "with_upstream", "with_reads", "writes_of", "code_json", "static_body", "is_user_module",
           "is_user_file"]

_CODE_JSON: dict = {}


def code_json(code: CodeFingerprint) -> str:
    """The parts of a code fingerprint as JSON text (a commit marker's ``code_parts``), made
    once per code digest."""
    text = _CODE_JSON.get(code.digest)
    if text is None:
        import json

        text = _CODE_JSON[code.digest] = json.dumps(
            {k: {"digest": p.digest, "file": p.file, "line": p.line, "statements": p.statements,
                 "values": p.values, "shown": p.shown, "source": p.source[:4000]}
             for k, p in code.parts.items()}, sort_keys=True)
    return text


def static_body(node) -> dict:
    """The part of a commit marker known before the task runs, from a plan's node (its task,
    version, fingerprint, code and upstream keys); ``code_parts`` is JSON text."""
    task = node.task
    defs = type(task)._param_defs
    return {
        "schema": "daskflow-marker/1",
        "family": node.family,
        "task": repr(task),
        "params": {k: defs[k].serialize(v) for k, v in task.significant_params().items()},
        "fingerprint": node.fingerprint,
        "version": node.version,
        "code": node.code.digest,
        "code_parts": code_json(node.code),
        "incomplete": node.code.incomplete,
        "libraries": node.code.libraries,
        "deps": [dict({"key": d.key}, **d.file_info) for d in node.deps],  # each dep's own marker names its task
    }
