"""Local-disk primitives of the write path: exclusive file creation, files that appear whole
under their name (``O_TMPFILE`` + ``linkat``), appends, fsync of files and folders.

Imports only the standard library; ``daskflow.storage`` wraps their failures in
StorageError.  Every file a build writes is new (``O_CREAT | O_EXCL``): build
file names are private to their build, so an existing name is an error, never
overwritten.
"""

from __future__ import annotations

import errno
import os
import secrets

__all__ = ["CREATE", "REPLACE", "APPEND", "fill", "unnamed", "mtime_ns", "publish", "discard", "append", "fsync_dir", "fsync_tree"]

CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
REPLACE = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0)  # saved again before its commit
APPEND = os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_CLOEXEC", 0)
_TMPFILE = getattr(os, "O_TMPFILE", 0)
_unnamed_ok = [bool(_TMPFILE) and os.path.isdir("/proc/self/fd")]  # off after the first refusal


def unnamed(folder: str, data: bytes):
    """An open file in ``folder`` holding ``data`` and no name yet (``O_TMPFILE``): a
    :func:`publish` makes it appear whole, one inode and one link in all.  Where the
    filesystem has no ``O_TMPFILE`` (macOS, NFS, old kernels) a ``.tmp-`` file beside
    it: ``(fd or None, temp path or None)``."""
    if _unnamed_ok[0]:
        try:
            fd = os.open(folder, _TMPFILE | os.O_WRONLY | getattr(os, "O_CLOEXEC", 0), 0o666)
        except OSError as exc:
            if exc.errno not in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL, errno.ENOTSUP):
                raise
            _unnamed_ok[0] = False
        else:
            try:
                _write_all(fd, data)
            except BaseException:
                os.close(fd)
                raise
            return fd, None
    tmp = f"{folder}/.tmp-{secrets.token_hex(6)}"
    fill(os.open(tmp, CREATE, 0o666), data, False)
    return None, tmp


def mtime_ns(handle) -> int:
    """The modification time of what :func:`unnamed` wrote (its data is all written)."""
    fd, tmp = handle
    return os.fstat(fd).st_mtime_ns if fd is not None else os.stat(tmp).st_mtime_ns


# linkat of /proc/self/fd refused (a sandbox, a /proc without its magic links): a named file
_LINK_REFUSED = (errno.ENOENT, errno.EPERM, errno.EACCES, errno.EXDEV, errno.EOPNOTSUPP, errno.ENOTSUP,
                 errno.EINVAL)


def publish(handle, path: str, data: bytes, mtime: int) -> None:
    """Give what :func:`unnamed` made (``data``, modified at ``mtime`` ns) its name ``path``,
    never replacing a file there.  Where linking the unnamed file is refused, the bytes go
    to a ``.tmp-`` file beside it, modified at the same ``mtime``, renamed to ``path``, and
    later builds skip ``O_TMPFILE``."""
    fd, tmp = handle
    if fd is not None:
        try:
            os.link(f"/proc/self/fd/{fd}", path, src_dir_fd=fd, follow_symlinks=True)  # linkat(2)
            return
        except OSError as exc:
            folder = os.path.dirname(path)
            if exc.errno not in _LINK_REFUSED or isinstance(exc, FileExistsError) or not os.path.isdir(folder):
                raise
            _unnamed_ok[0] = False
            tmp = f"{folder}/.tmp-{secrets.token_hex(6)}"
            fill(os.open(tmp, CREATE, 0o666), data, False)
        finally:
            os.close(fd)
    try:
        if fd is not None:
            os.utime(tmp, ns=(mtime, mtime))  # the time the build id records
        os.rename(tmp, path)  # the temp name is private, the final one unique to the build
    except BaseException:
        discard((None, tmp))
        raise


def discard(handle) -> None:
    """Drop what :func:`unnamed` made, on a failed commit."""
    fd, tmp = handle
    if fd is not None:
        os.close(fd)
    elif tmp is not None:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass


def append(path: str, data: bytes) -> None:
    """Append ``data`` to ``path`` in one ``write`` (``O_APPEND``: writers never interleave),
    creating it the first time only."""
    try:
        fd = os.open(path, APPEND & ~os.O_CREAT)
    except FileNotFoundError:
        fd = os.open(path, APPEND, 0o666)
    fill(fd, data, False)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def fill(fd: int, data: bytes, fsync: bool) -> None:
    """Write ``data`` whole to the open file ``fd``, fsync it if asked, close it."""
    try:
        _write_all(fd, data)
        if fsync:
            os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(folder: str) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_tree(folders) -> None:
    """fsync every file and folder under each of ``folders`` (folder outputs)."""
    for top in folders:
        for dirpath, _, names in os.walk(top):
            for name in names:
                fd = os.open(os.path.join(dirpath, name), os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
            fsync_dir(dirpath)
