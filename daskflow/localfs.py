"""Local-disk primitives of the write path: exclusive file creation, fsync of files and folders.

Imports only the standard library; ``daskflow.storage`` wraps their failures in
StorageError.  Every file a build writes is new (``O_CREAT | O_EXCL``): build
file names are private to their build, so an existing name is an error, never
overwritten.
"""

from __future__ import annotations

import os

__all__ = ["CREATE", "fill", "fsync_dir", "fsync_tree"]

CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)


def fill(fd: int, data: bytes, fsync: bool) -> None:
    """Write ``data`` whole to the open file ``fd``, fsync it if asked, close it."""
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
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
