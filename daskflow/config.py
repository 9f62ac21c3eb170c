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

Team builds (``daskflow.lease``): leases are on by default for S3 roots and off
elsewhere; ``set_root(url, leases=True)``, ``DASKFLOW_LEASES=on|off`` or
``[tool.daskflow] leases = true`` decide instead (first match wins), e.g. for a
local root on a shared disk (NFS, Lustre).  ``DASKFLOW_LEASE_TTL`` (seconds, 60)
is how long a lease lives without renewal; ``DASKFLOW_LEASE_WAIT`` (seconds,
3600) how long a builder waits for another's commit.  ``set_root(url,
fsync=True)``, ``DASKFLOW_FSYNC=on`` or ``[tool.daskflow] fsync`` make local
commits durable across a power loss (the outputs and the folder reach the disk
before the marker).

How much of an installed library's version counts for freshness comes from
``settings.library_versions`` or ``DASKFLOW_LIBRARY_VERSIONS``: ``exact``
(default), ``minor`` or ``off``.  Whether ``run()`` records which of the
user's functions a task called comes from ``settings.trace`` or
``DASKFLOW_TRACE`` (``1``/``0``).
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

__all__ = ["Settings", "settings", "set_root", "set_dir", "resolve_root", "project_dir",
           "lease_setting", "fsync_setting", "lease_timing"]

logger = logging.getLogger("daskflow")


@dataclass
class Settings:
    """Process-wide defaults; every API call also takes them as arguments."""

    root: str | None = None
    storage_options: dict = field(default_factory=dict)
    leases: bool | None = None  # None: on for S3 roots, off elsewhere
    fsync: bool | None = None
    library_versions: str | None = None  # exact | minor | off; None: DASKFLOW_LIBRARY_VERSIONS
    trace: bool | None = None  # None: DASKFLOW_TRACE


settings = Settings()


def set_root(url: str | os.PathLike, *, leases: bool | None = None, fsync: bool | None = None,
             **storage_options) -> None:
    """Store outputs under ``url`` (any fsspec URL: a folder, ``s3://bucket/prefix``,
    ``memory://x``), with ``storage_options`` passed to the filesystem.

    Parameters
    ----------
    leases : bool, optional
        Team-build leases: each task version is built once by all the processes sharing
        the root (default: on for S3, off elsewhere; see ``daskflow.lease``).
    fsync : bool, optional
        fsync a local build's files and folder before its marker (durable across a power
        loss; costs a disk flush per build).

    Examples
    --------
    >>> import daskflow
    >>> daskflow.set_root("memory://example")
    """
    settings.root = os.fspath(url)
    settings.storage_options = dict(storage_options)
    settings.leases, settings.fsync = leases, fsync


set_dir = set_root  # d6tflow's name


def project_dir(start: Path | None = None) -> Path:
    """The nearest folder from ``start`` (the current folder) upward with pyproject.toml or .git."""
    return _find_project(start)[0]


def in_project(path) -> str | None:
    """An absolute ``path`` inside the project folder as a path relative to it (``"."`` for
    the folder itself), else None: what a checkout elsewhere, or a teammate's, agrees on."""
    text = os.fspath(path)
    if not os.path.isabs(text):
        return None
    base = str(project_dir())
    if text == base or text.startswith(base.rstrip(os.sep) + os.sep):
        return os.path.relpath(text, base)
    return None


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


def _switch(name: str, value) -> bool | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in ("1", "on", "true", "yes"):
        return True
    if word in ("0", "off", "false", "no"):
        return False
    raise DaskflowError(f"{name}={value!r}: expected on or off")


def _project_setting(key: str):
    pyproject = project_dir() / "pyproject.toml"
    if not pyproject.exists():
        return None
    try:
        return tomllib.loads(pyproject.read_text()).get("tool", {}).get("daskflow", {}).get(key)
    except tomllib.TOMLDecodeError as exc:
        raise DaskflowError(f"{pyproject}: cannot read [tool.daskflow]: {exc}") from exc


def _setting(attr: str, env: str, key: str) -> bool | None:
    for name, value in ((f"set_root({attr}=)", getattr(settings, attr)), (env, os.environ.get(env))):
        if (found := _switch(name, value)) is not None:
            return found
    return _switch(f"[tool.daskflow] {key}", _project_setting(key))


def lease_setting(s3: bool) -> bool:
    """Whether builds take leases: ``set_root(leases=)``, ``DASKFLOW_LEASES``,
    ``[tool.daskflow] leases``, else on for S3 roots only."""
    found = _setting("leases", "DASKFLOW_LEASES", "leases")
    return s3 if found is None else found


def fsync_setting() -> bool:
    """Whether local commits fsync: ``set_root(fsync=)``, ``DASKFLOW_FSYNC``,
    ``[tool.daskflow] fsync``, else off."""
    return bool(_setting("fsync", "DASKFLOW_FSYNC", "fsync"))


def lease_timing() -> tuple[float, float]:
    """``(ttl, wait)`` in seconds: ``DASKFLOW_LEASE_TTL`` (60), ``DASKFLOW_LEASE_WAIT`` (3600)."""
    out = []
    for env, default in (("DASKFLOW_LEASE_TTL", 60.0), ("DASKFLOW_LEASE_WAIT", 3600.0)):
        try:
            out.append(float(os.environ.get(env) or default))
        except ValueError as exc:
            raise DaskflowError(f"{env}={os.environ[env]!r}: expected a number of seconds") from exc
    return out[0], out[1]


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
