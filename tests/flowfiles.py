"""A test's flow module: its source written to a temporary project and imported from there."""

import importlib
import sys

import daskflow


def load_flow(tmp_path, monkeypatch, name: str, text: str, data) -> object:
    """Write ``text`` as ``{tmp_path}/{name}.py``, with ``FLOW_DATA`` naming ``data``, the project
    folder the current one and its store under it; import it (``unload_flow`` after)."""
    (tmp_path / f"{name}.py").write_text(text)
    monkeypatch.setenv("FLOW_DATA", str(data))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    daskflow.set_root(str(tmp_path / "store"))
    return importlib.import_module(name)


def unload_flow(name: str) -> None:
    sys.modules.pop(name, None)
