"""Files and environment variables a task's code reads by a constant name.

Imports ``explain`` and the sibling ``parts`` and ``syntax``.  ``pd.read_csv("data/sales.csv")``,
``open(CONFIG)`` (``CONFIG = "config.json"`` a module constant),
``Path("params.yaml").read_text()``, ``np.load(...)``: a reader call (``open`` for
reading, ``load``, ``loadtxt``, ``genfromtxt``, ``fromfile``, ``ExcelFile``,
``ParquetFile``, ``read`` or any ``read_*``) whose path is a constant or a module
constant reads a file.  ``scan`` finds them once per code object; ``with_reads``
adds, at each plan, a part per file (its content's sha256, or its size and
mtime above 64 MiB: the same on every machine for the same bytes), so an
edited CSV reruns the task and ``why()`` names the file.  A path that is not a
regular file when the plan is made (a folder, a file an upstream task writes)
counts only once it is one.  ``os.environ["X"]``, ``os.environ.get("X")`` and
``os.getenv("X")`` are found too, but a variable's value differs by machine and
shell (``HOME``, ``DEBUG``): counting it would split a team's builds, so the
walk reports it as incomplete (a warning naming the variable) instead.
"""

from __future__ import annotations

import ast
import datetime
import hashlib
import os
import stat

from ..explain import FILE_PART
from .parts import CodeFingerprint, Part, assemble
from .syntax import const_str, dotted_plain

__all__ = ["scan", "with_reads"]

_READERS = frozenset({"load", "loadtxt", "genfromtxt", "fromfile", "ExcelFile", "ParquetFile", "read"})
_PATH_KEYWORDS = frozenset({"filepath_or_buffer", "path", "fname", "file", "io", "filename", "source",
                            "path_or_buf", "filepath"})
_PATHS = frozenset({"Path", "pathlib.Path", "PurePath", "PosixPath"})
_ENV_CALLS = frozenset({"os.getenv", "getenv", "os.environ.get", "environ.get"})
_HASHED = 64 << 20  # files up to this size count by content, larger ones by size and mtime


def scan(node, local_names) -> tuple[frozenset, frozenset, frozenset]:
    """``(paths, names, variables)`` a function's syntax tree reads: constant paths, the
    module-level names (chains) whose value is a path, and environment variable names."""
    paths, names, envs = set(), set(), set()

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
            elif last in _READERS or last.startswith("read_"):
                for arg in n.args[:1] + [k.value for k in n.keywords if k.arg in _PATH_KEYWORDS]:
                    path_of(arg)
                if isinstance(n.func, ast.Attribute) and not n.args and not n.keywords:  # Path("x").read_text()
                    path_of(n.func.value)
        elif isinstance(n, ast.Subscript) and dotted_plain(n.value) in ("os.environ", "environ") \
                and (name := const_str(n.slice)) is not None:
            envs.add(name)
    return frozenset(paths), frozenset(names), frozenset(envs)


_CONTENT: dict = {}  # (absolute path, size, mtime_ns) -> sha256 of the content
_CACHE: dict = {}  # (code digest, extra parts' digests) -> CodeFingerprint


def with_reads(code: CodeFingerprint) -> CodeFingerprint:
    """``code`` with a part for each file its parts read, as it is now; ``code`` itself when
    it reads none."""
    paths = set().union(*(p.reads for p in code.parts.values()))
    if not paths:
        return code
    extra = {}
    for path in sorted(paths):
        found = _identity(path)
        if found is not None:
            digest, text = found
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
    """``(digest, text)`` of a regular file as it is now; None if it is not one."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    if st.st_size > _HASHED:
        when = datetime.datetime.fromtimestamp(st.st_mtime).isoformat(timespec="seconds")
        text = f"{st.st_size} bytes, modified {when}"
        return hashlib.sha256(f"size {st.st_size} mtime {st.st_mtime_ns}".encode()).hexdigest(), text
    ident = (os.path.abspath(path), st.st_size, st.st_mtime_ns)
    digest = _CONTENT.get(ident)
    if digest is None:
        try:
            with open(path, "rb") as f:
                digest = _CONTENT[ident] = hashlib.file_digest(f, "sha256").hexdigest()
        except OSError:
            return None
    return digest, f"{st.st_size} bytes, sha256 {digest[:12]}"
