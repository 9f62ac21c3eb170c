"""Installed libraries by distribution name and version, for code fingerprints.

Imports ``config`` and the standard library.  ``importlib.metadata`` is read
once per process and module: a package named like its distribution
(``pandas``) is looked up directly; otherwise ``packages_distributions()``
(a scan of every installed distribution, once per process) maps the import
name (``sklearn``) to its distributions (``scikit-learn``); ``version()``
gives each one's version.  The standard library has no distribution and counts by
name only (the Python version is not part of a fingerprint), as does
daskflow itself.  How much of a version counts is the setting
``library_versions``: ``exact`` (default), ``minor`` (``1.5``) or ``off``.
"""

from __future__ import annotations

import functools
import importlib.metadata as metadata
import sys

from ..config import library_versions

__all__ = ["distributions_of", "counted"]


@functools.lru_cache(maxsize=1)
def _top_level() -> dict:
    return metadata.packages_distributions()


@functools.lru_cache(maxsize=None)
def distributions_of(module: str) -> tuple:
    """``((distribution, version), ...)`` installed for a module's top-level package."""
    top = module.split(".")[0]
    if not top or top in sys.stdlib_module_names or top in ("daskflow", "builtins", "__main__"):
        return ()
    try:  # most distributions are named like their package: no scan of every installed one
        return ((metadata.distribution(top).metadata["Name"], metadata.version(top)),)
    except metadata.PackageNotFoundError:
        pass
    out = []
    for dist in sorted(set(_top_level().get(top, ()))):  # sklearn -> scikit-learn: one scan
        try:
            out.append((dist, metadata.version(dist)))
        except metadata.PackageNotFoundError:  # a stale record: the name alone
            continue
    return tuple(out)


def counted(versions: dict) -> dict:
    """The part of ``{distribution: version}`` that counts under the granularity setting."""
    mode = library_versions()
    if mode == "off":
        return {}
    if mode == "minor":
        return {d: ".".join(v.split(".")[:2]) for d, v in versions.items()}
    return dict(versions)
