"""Code fingerprints: what a task's code is, as a digest that changes when the code does.

Imports ``errors``, ``canonical``, ``params``, ``task`` and ``config``; never
dask at import time.  The subpackage, in the order data flows:

- ``source``: which modules are the user's, each code object's syntax node
  and stable key;
- ``syntax``: the canonical token stream of a syntax tree, its free names;
- ``values``: tokens for the values code refers to, every value by value;
- ``libraries``: installed distributions and versions;
- ``walk``: parts and the class fingerprint (``code_fingerprint``).
"""

from .source import is_user_file, is_user_module
from .walk import _CLASS_CACHE, CodeFingerprint, Part, _fingerprint_class, _walk_function, code_fingerprint

__all__ = ["CodeFingerprint", "Part", "code_fingerprint", "is_user_module", "is_user_file"]
