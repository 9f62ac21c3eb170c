"""Notes beside the builds: ``invalidate()`` records the version it removed, so ``why()`` can
say "invalidated" instead of comparing with some other build.

Imports ``storage`` only.  A note is a small JSON file at
``<family>/_invalidated/<param_dir>.json`` (outside every build folder, so listings of
builds and ``gc`` never see it), written before the builds are removed and read only when
explaining; a build committed after the note makes it moot.
"""

from __future__ import annotations

import json
import time

from .storage import Store

__all__ = ["note_invalidated", "was_invalidated"]


def _path(store: Store, family: str, param_dir: str) -> str:
    return f"{store.family_path(family)}/_invalidated/{param_dir}.json"


def note_invalidated(store: Store, family: str, param_dir: str, version: str) -> None:
    """Record that the builds of ``version`` of a task are being removed."""
    path = _path(store, family, param_dir)
    if store.local:
        store.fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
    store.write(path, json.dumps({"version": version, "time": time.time()}).encode())


def was_invalidated(store: Store, family: str, param_dir: str, version: str, newest: float) -> bool:
    """Whether ``version`` was invalidated after the newest build (mtime ``newest``) it has."""
    try:
        note = store.read_json(_path(store, family, param_dir))
    except (FileNotFoundError, ValueError):
        return False
    return note.get("version") == version and note.get("time", 0) >= newest
