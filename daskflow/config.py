"""Where outputs live and where tasks run: the one settings object.

Imports nothing from daskflow but ``errors``.  The storage root is chosen, first
match wins, from: ``set_root(url, **storage_options)``, the ``DASKFLOW_ROOT``
variable, ``[tool.daskflow] root`` in the project's ``pyproject.toml`` (a
relative path is relative to that file's folder), else ``data/`` in the
project's folder.  The project's folder is the nearest folder, from the current
one upward, holding ``pyproject.toml`` or ``.git`` (else the current folder),
so a notebook in a subfolder finds the same outputs as a script at the top.
The default scheduler comes from ``DASKFLOW_SCHEDULER`` (else ``threads``).
How much of an installed library's version counts for freshness comes from
``settings.library_versions`` or ``DASKFLOW_LIBRARY_VERSIONS``: ``exact``
(default), ``minor`` or ``off``.  Whether ``run()`` records which of the
user's functions a task called comes from ``settings.trace`` or
``DASKFLOW_TRACE`` (``1``/``0``).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from .errors import DaskflowError

__all__ = ["Settings", "settings", "set_root", "set_dir", "resolve_root", "project_dir"]


@dataclass
class Settings:
    """Process-wide defaults; every API call also takes them as arguments."""

    root: str | None = None
    storage_options: dict = field(default_factory=dict)
    library_versions: str | None = None  # exact | minor | off; None: DASKFLOW_LIBRARY_VERSIONS
    trace: bool | None = None  # None: DASKFLOW_TRACE


settings = Settings()


def set_root(url: str | os.PathLike, **storage_options) -> None:
    """Store outputs under ``url`` (any fsspec URL: a folder, ``s3://bucket/prefix``,
    ``memory://x``), with ``storage_options`` passed to the filesystem.

    Examples
    --------
    >>> import daskflow
    >>> daskflow.set_root("memory://example")
    """
    settings.root = os.fspath(url)
    settings.storage_options = dict(storage_options)


set_dir = set_root  # d6tflow's name


def project_dir(start: Path | None = None) -> Path:
    """The nearest folder from ``start`` (the current folder) upward with pyproject.toml or .git."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "pyproject.toml").exists() or (folder / ".git").exists():
            return folder
    return here


def resolve_root() -> tuple[str, dict]:
    """Return ``(url, storage_options)`` of the storage root in force now."""
    if settings.root is not None:
        return settings.root, dict(settings.storage_options)
    env = os.environ.get("DASKFLOW_ROOT")
    if env:
        return env, {}
    folder = project_dir()
    pyproject = folder / "pyproject.toml"
    if pyproject.exists():
        try:
            conf = tomllib.loads(pyproject.read_text()).get("tool", {}).get("daskflow", {})
        except tomllib.TOMLDecodeError as exc:
            raise DaskflowError(f"{pyproject}: cannot read [tool.daskflow]: {exc}") from exc
        root = conf.get("root")
        if root:
            if "://" in root or os.path.isabs(root):
                return root, {}
            return str(folder / root), {}
    return str(folder / "data"), {}


_GRANULARITIES = ("exact", "minor", "off")


def library_versions() -> str:
    """How much of a library's version counts: ``exact`` (default), ``minor`` or ``off``."""
    mode = settings.library_versions or os.environ.get("DASKFLOW_LIBRARY_VERSIONS") or "exact"
    if mode not in _GRANULARITIES:
        source = "settings.library_versions" if settings.library_versions else "DASKFLOW_LIBRARY_VERSIONS"
        raise DaskflowError(f"{source}={mode!r}: expected one of {', '.join(_GRANULARITIES)}")
    return mode


def trace_enabled() -> bool:
    """Whether run() records which of the user's functions a task called (see daskflow.trace)."""
    if settings.trace is not None:
        return bool(settings.trace)
    return os.environ.get("DASKFLOW_TRACE", "0").strip().lower() in ("1", "true", "yes", "on")


def default_scheduler() -> str:
    """``DASKFLOW_SCHEDULER`` or ``threads``."""
    return os.environ.get("DASKFLOW_SCHEDULER") or "threads"
