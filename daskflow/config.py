"""Where outputs live and where tasks run: the one settings object.

Imports nothing from daskflow but ``errors``.  The storage root is chosen, first
match wins, from: ``set_root(url, **storage_options)``, the ``DASKFLOW_ROOT``
variable, ``[tool.daskflow] root`` in the project's ``pyproject.toml`` (a
relative path is relative to that file's folder), else ``data/`` in the
project's folder.  The project's folder is the nearest folder, from the current
one upward, holding ``pyproject.toml`` or ``.git`` (else the current folder),
so a notebook in a subfolder finds the same outputs as a script at the top.
Where no folder is so marked, the root is ``data/`` in the current folder, and
the first use of such a root that does not exist yet logs one line (a warning
on the ``daskflow`` logger, shown by default) saying where outputs go.
The default scheduler comes from ``DASKFLOW_SCHEDULER`` (else ``threads``).
"""

from __future__ import annotations

import logging
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

logger = logging.getLogger("daskflow")


@dataclass
class Settings:
    """Process-wide defaults; every API call also takes them as arguments."""

    root: str | None = None
    storage_options: dict = field(default_factory=dict)


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
    return _find_project(start)[0]


def _find_project(start: Path | None = None) -> tuple[Path, bool]:
    """``(folder, found)``: the project's folder, and whether a pyproject.toml or .git marks it."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "pyproject.toml").exists() or (folder / ".git").exists():
            return folder, True
    return here, False


_ANNOUNCED: set = set()  # default roots already announced in this process


def _announce(root: Path) -> None:
    """Say once, on the first use of a new unmarked place, where outputs will be stored."""
    if root in _ANNOUNCED:
        return
    _ANNOUNCED.add(root)
    if not root.exists():
        logger.warning("daskflow: storing outputs in %s (no pyproject.toml or .git in %s or above; "
                       "choose another place with daskflow.set_root(...) or DASKFLOW_ROOT)",
                       root, root.parent)


def resolve_root() -> tuple[str, dict]:
    """Return ``(url, storage_options)`` of the storage root in force now."""
    if settings.root is not None:
        return settings.root, dict(settings.storage_options)
    env = os.environ.get("DASKFLOW_ROOT")
    if env:
        return env, {}
    folder, marked = _find_project()
    if not marked:
        _announce(folder / "data")
        return str(folder / "data"), {}
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


def default_scheduler() -> str:
    """``DASKFLOW_SCHEDULER`` or ``threads``."""
    return os.environ.get("DASKFLOW_SCHEDULER") or "threads"
