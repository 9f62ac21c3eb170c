"""The listing side of a :class:`~daskflow.storage.Store`: committed builds, leases,
families, and removing builds (a mixin of Store).

Imports ``errors``, ``listing`` and ``localscan`` (which turns names, sizes and times into
:class:`~daskflow.listing.Commit` objects).  A family is one listing: one
``os.scandir`` on local disk (its names parsed once while the folder is unchanged, see
``daskflow.localscan``), one ``ListObjectsV2`` per 1000 keys on S3, never cached, so
another process's commit is always seen.
"""

from __future__ import annotations

from .errors import StorageError
from .listing import (BUILD_SEP, INLINE_LEN, MARKER_PREFIX, Commit, build_file,
                      info_mtime as _mtime, parse_leases as _parse_leases,
                      parse_listing as _parse_listing, scan_local as _scan_local, split_entry)
from .localscan import scan_commits as _scan_commits

__all__ = ["Listings"]


class Listings:
    """Listing and removing builds; a Store provides ``fs``, ``root``, ``local``, ``s3``,
    ``family_path`` and ``_error``."""

    def _find(self, path: str, prefix: str = "") -> dict:
        """Every file under ``path`` (in entries whose names start with ``prefix``) with
        its details: one recursive listing.

        On S3 it is a prefix listing of the parent (``ListObjectsV2`` pages of
        1000 keys, nothing more): an empty folder costs one request, and
        "not found" can only mean the bucket is missing, which is an error.
        """
        try:
            if self.s3:
                parent, _, leaf = path.rpartition("/")
                return self.fs.find(parent, prefix=f"{leaf}/{prefix}", detail=True)
            if self.local:
                return _scan_local(path, prefix)
            found = self.fs.find(path, detail=True)
            if prefix:
                start = f"{path}/{prefix}"
                found = {k: v for k, v in found.items() if k.startswith(start)}
            return found
        except FileNotFoundError as exc:
            if self.s3:
                raise self._error("listing", path, exc) from exc
            return {}
        except Exception as exc:
            raise self._error("listing", path, exc) from exc

    def list_family(self, family: str) -> dict[str, list[Commit]]:
        """Committed builds of a family by parameter folder, oldest first: one listing."""
        base = self.family_path(family)
        if self.local:
            return self._scan(base)
        return _parse_listing(base, self._find(base))

    def list_task(self, family: str, param_dir: str) -> list[Commit]:
        """Committed builds of one task (one parameter folder), oldest first."""
        base = self.family_path(family)
        if self.local:
            return self._scan(base, param_dir + BUILD_SEP).get(param_dir, [])
        found = self._find(base, param_dir + BUILD_SEP)
        return _parse_listing(base, found).get(param_dir, [])

    def _scan(self, base: str, prefix: str = "") -> dict[str, list[Commit]]:
        try:
            return _scan_commits(base, prefix)
        except Exception as exc:
            raise self._error("listing", base, exc) from exc

    def list_builds(self, family: str) -> list[tuple]:
        """Every build of a family, committed or not, from one listing:
        ``(param_dir, build path, bytes, newest mtime, marker path or None)``."""
        base = self.family_path(family)
        groups: dict = {}
        for path, info in self._find(base).items():
            entry = split_entry(path[len(base) + 1:])
            if entry is None:
                continue
            param_dir, build, name = entry
            key = (param_dir, f"{base}/{param_dir}{BUILD_SEP}{build}")
            size, mtime, marker = groups.get(key, (0, 0.0, None))
            if name.startswith(MARKER_PREFIX) or (len(build) == INLINE_LEN and name[0] != "_" and "/" not in name):
                marker = path  # a marker file, or the output that is its build's marker
            groups[key] = (size + (info.get("size") or 0), max(mtime, _mtime(info)), marker)
        return [(d, p, size, mtime, marker) for (d, p), (size, mtime, marker) in sorted(groups.items())]

    def list_leases(self, family: str, param_dir: str | None = None) -> dict[str, list[tuple]]:
        """Lease files of a family (or of one task) by parameter folder, from one listing
        (see :func:`daskflow.listing.parse_leases`)."""
        base = self.family_path(family)
        return _parse_leases(base, self._find(base, f"{param_dir}{BUILD_SEP}" if param_dir else ""))

    def list_task_all(self, family: str, param_dir: str) -> tuple[list[Commit], list[tuple]]:
        """Commits and leases of one task from one listing (what a lease holder checks)."""
        base = self.family_path(family)
        found = self._find(base, param_dir + BUILD_SEP)
        return _parse_listing(base, found).get(param_dir, []), _parse_leases(base, found).get(param_dir, [])

    def remove_build(self, path: str, marker: str | None = None) -> None:
        """Remove a build, its marker (if any) first, so a half-removed build never looks
        fresh: a folder of the old layout, or the files (and folder outputs) named by it."""
        try:
            if marker:
                self.fs.rm_file(marker)
            if build_file(path, "x").startswith(path + "/"):
                self.fs.rm(path, recursive=True)
                return
            folder, _, leaf = path.rpartition("/")
            files = sorted({f"{folder}/{k[len(folder) + 1:].split('/', 1)[0]}"
                            for k in self._find(folder, leaf + ".")})
            if files:
                self.fs.rm(files, recursive=True)
        except FileNotFoundError:
            pass
        except StorageError:
            raise
        except Exception as exc:
            raise self._error("removing", path, exc) from exc

    def remove_file(self, path: str) -> None:
        """Remove one file; one already gone is fine."""
        try:
            self.fs.rm_file(path)
        except FileNotFoundError:
            pass
        except Exception as exc:
            raise self._error("removing", path, exc) from exc

    def list_many(self, queries: list) -> list[dict]:
        """Several listings: ``(family, None)`` gives ``list_family(family)``, ``(family,
        param_dir)`` gives ``{param_dir: list_task(family, param_dir)}``; results in order.

        On a remote store the listings run concurrently: each is still one request
        per 1000 keys, but the check waits for the slowest family, not for the sum.
        """
        def one(query):
            family, param_dir = query
            if param_dir is None:
                return self.list_family(family)
            return {param_dir: self.list_task(family, param_dir)}

        if self.local or "memory" in _protocols(self.fs) or len(queries) < 2:
            return [one(q) for q in queries]
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(min(16, len(queries)), thread_name_prefix="daskflow-list") as pool:
            return list(pool.map(one, queries))

    def list_families(self) -> list[str]:
        """Folder names directly under the root (task families that stored something)."""
        try:
            entries = self.fs.ls(self.root, detail=True)
        except FileNotFoundError as exc:
            if self.s3:  # an empty prefix, or no bucket at all (an error, not "nothing stored")
                bucket = self.root.split("/", 1)[0]
                try:
                    self.fs.info(bucket)
                except Exception as bucket_exc:
                    raise self._error("listing", self.root, bucket_exc) from exc
            return []
        except Exception as exc:
            raise self._error("listing", self.root, exc) from exc
        return sorted(e["name"].rstrip("/").rsplit("/", 1)[-1] for e in entries if e.get("type") == "directory")


def _protocols(fs) -> tuple:
    proto = fs.protocol
    return proto if isinstance(proto, tuple) else (proto,)
