"""Files and environment variables a task's code reads by a constant name.

Imports ``config``, ``explain``, ``filestate`` and the sibling ``parts`` and ``syntax``.  ``pd.read_csv("data/sales.csv")``,
``open(CONFIG)`` (``CONFIG = "config.json"`` a module constant),
``Path("params.yaml").read_text()``, ``np.load(...)``: a reader call (``open`` for
reading, ``load``, ``loadtxt``, ``genfromtxt``, ``fromfile``, ``ExcelFile``,
``ParquetFile``, ``read`` or any ``read_*``) whose path is a constant or a module
constant reads a file.  ``scan`` finds them once per code object; ``with_reads``
adds, at each plan, a part per file (its content's sha256, or its size and
mtime above 64 MiB: the same on every machine for the same bytes), so an
edited CSV reruns the task and ``why()`` names the file; a folder (a parquet
dataset) or a glob (``data/part-*.csv``) counts by the files in it or matching
it.  A path that does not exist when the plan is made counts once it does; a
path a task of the plan writes by a constant name (an upstream's side file) is
left to :mod:`daskflow.observe`, which sees it as ``run()`` opens it.  ``os.environ["X"]``, ``os.environ.get("X")`` and
``os.getenv("X")`` are found too, but a variable's value differs by machine and
shell (``HOME``, ``DEBUG``): counting it would split a team's builds, so the
walk reports it as incomplete (a warning naming the variable) instead.
"""

from __future__ import annotations

import ast
import datetime
import glob
import hashlib
import os
import stat

from ..config import in_project
from ..explain import FILE_PART
from ..filestate import HASHED, content_digest
from .parts import CodeFingerprint, Part, assemble
from .syntax import const_str, dotted_plain

__all__ = ["scan", "with_reads", "writes_of"]

_READERS = frozenset({"load", "loadtxt", "genfromtxt", "fromfile", "ExcelFile", "ParquetFile", "read"})
_PATH_KEYWORDS = frozenset({"filepath_or_buffer", "path", "fname", "file", "io", "filename", "source",
                            "path_or_buf", "filepath"})
_PATHS = frozenset({"Path", "pathlib.Path", "PurePath", "PosixPath"})
_NP_WRITERS = frozenset({"save", "savez", "savez_compressed", "savetxt"})
_ENV_CALLS = frozenset({"os.getenv", "getenv", "os.environ.get", "environ.get"})


def scan(node, local_names) -> tuple[frozenset, frozenset, frozenset, frozenset]:
    """``(paths, names, variables, written)`` of a function's syntax tree: the constant paths
    it reads, the module-level names (chains) whose value is a path it reads, environment
    variable names, and the constant paths it writes (``open(p, "w")``, ``df.to_csv(p)``,
    ``Path(p).write_text``, ``np.save(p, ...)``)."""
    paths, names, envs, written = set(), set(), set(), set()

    def path_of(arg) -> None:
        if (text := const_str(arg)) is not None:
            paths.add(text)
        elif isinstance(arg, ast.Call) and dotted_plain(arg.func) in _PATHS and len(arg.args) == 1:
            path_of(arg.args[0])
        elif (chain := dotted_plain(arg)) and chain.split(".")[0] not in local_names:
            names.add(chain)  # resolved with the function's globals: only a str or a path counts

    for n in ast.walk(node):
        if isinstance(n, ast.Call):
            callee = dotted_plain(n.func)
            last = callee.rpartition(".")[2] if callee else getattr(n.func, "attr", "")
            if callee in _ENV_CALLS and n.args and (name := const_str(n.args[0])) is not None:
                envs.add(name)
            elif last == "open" and callee in ("open", "io.open", "builtins.open"):
                mode = n.args[1] if len(n.args) > 1 else next((k.value for k in n.keywords if k.arg == "mode"), None)
                if n.args and (mode is None or not set(const_str(mode) or "w") & set("wax+")):
                    path_of(n.args[0])
                elif n.args and (text := _const_path(n.args[0])) is not None:
                    written.add(os.path.normpath(text))
            elif last in ("write_text", "write_bytes") or last.startswith("to_") and n.args \
                    or last in _NP_WRITERS and callee in (f"np.{last}", f"numpy.{last}"):
                target = n.func.value if last in ("write_text", "write_bytes") and isinstance(n.func, ast.Attribute) \
                    else (n.args[0] if n.args else None)
                if target is not None and (text := _const_path(target)) is not None:
                    written.add(os.path.normpath(text))
            elif last in _READERS or last.startswith("read_"):
                for arg in n.args[:1] + [k.value for k in n.keywords if k.arg in _PATH_KEYWORDS]:
                    path_of(arg)
                if isinstance(n.func, ast.Attribute) and not n.args and not n.keywords:  # Path("x").read_text()
                    path_of(n.func.value)
        elif isinstance(n, ast.Subscript) and dotted_plain(n.value) in ("os.environ", "environ") \
                and (name := const_str(n.slice)) is not None:
            envs.add(name)
    return frozenset(paths), frozenset(names), frozenset(envs), frozenset(written)


def _const_path(arg) -> str | None:
    """The text of a literal path or ``Path(<literal>)``; None for anything else."""
    if isinstance(arg, ast.Call) and dotted_plain(arg.func) in _PATHS and len(arg.args) == 1:
        arg = arg.args[0]
    return const_str(arg)


_CACHE: dict = {}  # (code digest, extra parts' digests) -> CodeFingerprint


def writes_of(code: CodeFingerprint) -> frozenset:
    """The constant paths ``code``'s parts write (normalised)."""
    return frozenset().union(*(p.writes for p in code.parts.values()))


def with_reads(code: CodeFingerprint, written: frozenset = frozenset()) -> CodeFingerprint:
    """``code`` with a part for each file its parts read, as it is now; ``code`` itself when
    it reads none.  A path in ``written`` (one the task's own class or an upstream class
    writes by that constant path: a side file) is left out: it would be hashed before its
    writer runs; the file as the reader's ``run()`` opened it counts instead
    (:mod:`daskflow.observe`), when ``run()`` opens it with Python's ``open`` (a C reader,
    pyarrow's own, is not seen: such a side file does not count)."""
    paths = {p for p in set().union(*(p.reads for p in code.parts.values())) if os.path.normpath(p) not in written}
    if not paths:
        return code
    extra = {}
    for path in sorted(paths):
        found = _identity(path)
        if found is not None:
            digest, text = found
            path = in_project(path) or path  # the same key in any checkout of the project
            extra[FILE_PART + path] = Part(FILE_PART + path, digest, path, values={"content": digest[:16]},
                                         shown={"content": text})
    if not extra:
        return code
    ident = (code.digest, tuple((k, p.digest) for k, p in extra.items()))
    cached = _CACHE.get(ident)
    if cached is None:
        cached = _CACHE[ident] = assemble({**code.parts, **extra}, code.incomplete, code.libraries)
    return cached


def _identity(path: str):
    """``(digest, text)`` of a regular file as it is now, of the files in a folder (a parquet
    dataset) or matching a glob (``data/part-*.csv``), each by its name and content; None
    if there is no such file."""
    if glob.has_magic(path):
        return _many(path, sorted(glob.glob(path)))
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    if stat.S_ISDIR(st.st_mode):
        return _many(path, sorted(f"{top}/{name}" for top, _, names in os.walk(path) for name in names))
    if not stat.S_ISREG(st.st_mode):
        return None
    if st.st_size > HASHED:
        when = datetime.datetime.fromtimestamp(st.st_mtime).isoformat(timespec="seconds")
        text = f"{st.st_size} bytes, modified {when}"
        return hashlib.sha256(f"size {st.st_size} mtime {st.st_mtime_ns}".encode()).hexdigest(), text
    digest = content_digest(path, st)
    if digest is None:
        return None
    return digest, f"{st.st_size} bytes, sha256 {digest[:12]}"


def _many(path: str, files: list):
    """``(digest, text)`` of several files together: each by its path and identity."""
    h, count = hashlib.sha256(), 0
    for name in files:
        found = _identity(name) if not glob.has_magic(name) else None
        if found is not None:
            shown = os.path.relpath(name, path) if not glob.has_magic(path) else in_project(name) or name
            h.update(f"{shown}\0{found[0]}\n".encode())  # a glob's matches: the same in any checkout
            count += 1
    if not count:
        return None
    digest = h.hexdigest()
    return digest, f"{count} files, sha256 {digest[:12]}"
