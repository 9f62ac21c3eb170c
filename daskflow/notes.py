"""Notes beside the builds: ``invalidate()`` records the version it removed, so ``why()`` can
say "invalidated" instead of comparing with some other build.

Imports ``storage`` only.  A note is an empty file
``<family>/_invalidated/<param_dir>@<version>@<milliseconds>`` (outside every build
folder, so listings of builds and ``gc`` never see it), written before the builds are
removed.  Explaining reads them with one listing per family, and only for a family that
has builds (a never-built graph costs no request more); a build committed after the
note makes it moot.
"""

from __future__ import annotations

import time

from .storage import Store

__all__ = ["note_invalidated", "invalidated_notes"]


def _folder(store: Store, family: str) -> str:
    return f"{store.family_path(family)}/_invalidated"


def note_invalidated(store: Store, family: str, param_dir: str, version: str) -> None:
    """Record that the builds of ``version`` of a task are being removed."""
    folder = _folder(store, family)
    if store.local:
        store.fs.makedirs(folder, exist_ok=True)
    store.write(f"{folder}/{param_dir}@{version}@{int(time.time() * 1000)}", b"")


def invalidated_notes(store: Store, family: str, cache: dict) -> dict:
    """``{(param_dir, version): time of the newest note}`` of a family: one listing, kept in
    ``cache`` (one per plan)."""
    if family in cache:
        return cache[family]
    cache[family] = _list(store, family)
    return cache[family]


def _list(store: Store, family: str) -> dict:
    try:
        names = [p.rstrip("/").rsplit("/", 1)[-1] for p in store.fs.ls(_folder(store, family), detail=False)]
    except FileNotFoundError:  # nothing was ever invalidated; any other error is reported
        return {}
    out: dict = {}
    for name in names:
        param_dir, _, rest = name.partition("@")
        version, _, millis = rest.partition("@")
        if millis.isdigit():
            out[(param_dir, version)] = max(out.get((param_dir, version), 0.0), int(millis) / 1000)
    return out
