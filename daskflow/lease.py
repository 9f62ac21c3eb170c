"""Team-build leases: each task version is built once by all the processes sharing a root.

Imports ``config``, ``errors``, ``listing`` and ``storage`` (whose filesystem it uses for
its three operations: an exclusive create, a renewal, a delete).  A lease is a small file
beside the task's builds, one per task version being built (its code and parameters
``V`` and the identity of its inputs ``I``)::

    {root}/{Family}/{params}@_lease.{V}.{I}.{G}.json    G = generation, 000001, 000002...

holding its owner (host, pid, run id) and its time to live.  The protocol:

1. Take generation 1 with an exclusive create: ``os.open(O_CREAT | O_EXCL)`` on local
   disk, a conditional PUT (``If-None-Match: *``) on S3.  A refusal ("exists", or 412
   Precondition Failed) means someone holds it; any other failure is a StorageError.
2. Taken: check once whether a matching commit appeared meanwhile, and reuse it if so:
   on S3 one prefix listing of the task; on local disk one ``stat`` of
   ``{params}@_lease.{V}.{I}.done``, the name a holder renames its lease to after
   committing (a listing only when it exists).  Else build, commit, and release the
   lease: deleted, or on local disk renamed to its ``.done`` name once committed
   (``finally``, so an exception or Ctrl-C releases it too).  While it builds, a heartbeat thread renews
   the lease (its mtime) every third of its time to live.
3. Held by another: list the task every ``poll`` seconds, saying once "waiting for
   <owner>", until its commit appears (reused as this task's outcome, recorded in the
   Outcome), or its lease disappears without a commit (the holder failed: take it and
   build here, and say so), or it expires (the holder died without releasing: SIGKILL, a
   lost machine).  An expired generation ``G`` is taken over by creating ``G + 1``
   exclusively, so of several takers exactly one wins.  Generations are removed from
   the top down (by their holder, by ``daskflow gc``), so the lowest free generation is
   always above every live one.  Waiting is bounded (``DASKFLOW_LEASE_WAIT``): then a
   LeaseError names the task and the owner.

A lease whose holder lost it (the holder was stopped for longer than its time to live)
can give two builds of one version; both are complete and either is a valid result, as
without leases.  Liveness compares the lease's mtime (S3: LastModified) with this
machine's clock: keep clocks in sync within a fraction of ``DASKFLOW_LEASE_TTL``.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import socket
import threading
import time
from dataclasses import dataclass

from . import config
from .errors import LeaseError
from .listing import BUILD_SEP, LEASE_PREFIX
from .filestate import build_changed
from .storage import Commit, Store

__all__ = ["Lease", "claim", "abandon_all", "lease_path", "owner_text", "RUN_ID", "describe_leases", "expired_leases"]

logger = logging.getLogger("daskflow")
RUN_ID = secrets.token_hex(6)  # one per process: tells two runs on one host apart


def lease_path(store: Store, family: str, param_dir: str, version: str, inputs: str, gen: int) -> str:
    return f"{store.task_path(family, param_dir)}{BUILD_SEP}{LEASE_PREFIX}{version}.{inputs}.{gen:06d}.json"


def _done_path(lease: str) -> str:
    """``{params}@_lease.{V}.{I}.done``: left by a local holder that committed ``V, I``."""
    return lease.rsplit(".", 2)[0] + ".done"


def owner_text(body: dict) -> str:
    """``pid 123 on host (run ab12...)``, for messages."""
    owner = body.get("owner", {})
    return f"pid {owner.get('pid', '?')} on {owner.get('host', '?')} (run {owner.get('run', '?')})"


@dataclass(eq=False)  # one object per lease taken: hashable by identity
class Lease:
    """A lease this process holds; :meth:`release` deletes it (and the expired generations
    below it)."""

    store: Store
    path: str
    body: bytes
    ttl: float
    below: tuple = ()  # expired generations of the same version, removed after this one
    abandoned: bool = False  # released before its build finished (Ctrl-C): that build must not commit

    def check(self) -> None:
        """Raise KeyboardInterrupt if the run was interrupted while this build went on."""
        if self.abandoned:
            raise KeyboardInterrupt(f"run interrupted: not committing {self.store.scrub(self.path)}")

    def renew(self) -> None:
        try:
            if self.store.local:
                os.utime(self.path)
            else:
                self.store.fs.pipe_file(self.path, self.body)
        except Exception as exc:  # the build goes on; another builder may take over
            logger.warning("cannot renew lease %s: %s", self.store.scrub(self.path), self.store.scrub(exc))

    def release(self, committed: bool = False) -> None:
        """Delete the lease; after a commit on local disk, rename it to its ``.done`` name
        instead (the next taker's one-stat check, see :func:`claim`)."""
        _HEARTBEAT.drop(self)
        for path in (self.path, *self.below):  # top down: no gap below a live generation
            try:
                if committed and path == self.path and self.store.local:
                    os.replace(path, _done_path(path))
                else:
                    self.store.fs.rm_file(path)
            except FileNotFoundError:
                pass
            except Exception as exc:
                logger.warning("cannot remove lease %s (daskflow gc removes it once expired): %s",
                               self.store.scrub(path), self.store.scrub(exc))


def abandon_all() -> None:
    """Release every lease this process holds (the run was interrupted): builds still running
    in worker threads finish without committing."""
    with _HEARTBEAT.lock:
        held = list(_HEARTBEAT.held)
    for lease in held:
        lease.abandoned = True
        lease.release()


class _Heartbeat:
    """One daemon thread per process renewing every held lease every third of its ttl."""

    def __init__(self):
        self.held: set[Lease] = set()
        self.lock = threading.Lock()
        self.wake = threading.Event()
        self.thread = None

    def add(self, lease: Lease) -> None:
        with self.lock:
            self.held.add(lease)
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self.loop, name="daskflow-lease", daemon=True)
                self.thread.start()

    def drop(self, lease: Lease) -> None:
        with self.lock:
            self.held.discard(lease)

    def loop(self) -> None:
        last: dict[Lease, float] = {}
        while True:
            with self.lock:
                pause = min([0.5] + [lease.ttl / 6 for lease in self.held])
            self.wake.wait(pause)
            now = time.monotonic()
            with self.lock:
                due = [lz for lz in self.held if now - last.setdefault(lz, now) >= lz.ttl / 3]
                for lz in [lz for lz in last if lz not in self.held]:
                    del last[lz]
            for lease in due:
                lease.renew()
                last[lease] = now


_HEARTBEAT = _Heartbeat()


def _create(store: Store, path: str, data: bytes) -> bool:
    """Take a lease file: True if made here, False if someone holds it."""
    return store.create_exclusive(path, data)


def _read(store: Store, path: str, settle: float = 1.0) -> dict | None:
    """A lease's body; None if it is gone.  On local disk a lease is created, then written:
    read in between, it is empty, so it is read again for up to ``settle`` seconds before it
    counts as a lease of unknown owner (its writer died between the two), alive until it
    expires."""
    deadline = time.monotonic() + settle
    while True:
        try:
            with store.open(path) as f:
                return json.loads(f.read())
        except FileNotFoundError:
            return None
        except ValueError:
            if time.monotonic() > deadline:
                return {}
            time.sleep(0.005)


def _match(store: Store, commits: list[Commit], version: str, inputs: str, names, forced=False) -> Commit | None:
    if forced:
        return None
    same = [c for c in commits if c.version == version and c.inputs == inputs and store.intact(c, names) is None
            and build_changed(store, c) is None]
    return same[-1] if same else None


def claim(store: Store, task, family: str, param_dir: str, version: str, inputs: str, names,
          forced: bool = False, poll: float | None = None, on_wait=None):
    """Take the lease of a task version, or wait for the build of whoever holds it.

    A ``forced`` task reuses no commit: it waits for a holder to finish, then builds.
    ``on_wait(owner)`` is called each time the holder waited for changes (for the
    progress display's "waiting for <owner>").

    Returns
    -------
    (Lease, None, waited) : build here, then ``lease.release()``
    (None, Commit, waited) : reuse this commit (made by ``waited``, or found on taking)
    ``waited`` is the owner this process waited for ("" if none).

    Raises
    ------
    LeaseError
        The holder kept the lease for longer than ``DASKFLOW_LEASE_WAIT`` seconds.
    """
    ttl, wait = config.lease_timing()
    poll = poll if poll is not None else min(0.2 if store.local else 0.5, ttl / 4)
    body = json.dumps({"owner": {"host": socket.gethostname(), "pid": os.getpid(), "run": RUN_ID},
                       "task": repr(task), "ttl": ttl, "taken": time.time()}, sort_keys=True).encode()
    deadline = time.monotonic() + wait
    gen, take, waited, announced = 1, True, "", None
    while True:
        if take:
            path = lease_path(store, family, param_dir, version, inputs, gen)
            if _create(store, path, body):
                if gen == 1 and store.local and (forced or not os.path.exists(_done_path(path))):
                    # on disk generation 1 taken means no other generation exists, and no
                    # .done file means nobody committed this version: no listing needed
                    if announced is not None:
                        logger.warning("%r: %s; building it here", task, announced)
                    lease = Lease(store, path, body, ttl)
                    _HEARTBEAT.add(lease)
                    return lease, None, waited
                commits, leases = store.list_task_all(family, param_dir)  # the one check after taking
                mine = [lz for lz in leases if lz[:2] == (version, inputs)]
                found = _match(store, commits, version, inputs, names, forced)
                if found is None and not any(lz[2] > gen for lz in mine):
                    if announced is not None:
                        logger.warning("%r: %s; building it here", task, announced)
                    lease = Lease(store, path, body, ttl, tuple(lz[3] for lz in reversed(mine) if lz[2] < gen))
                    _HEARTBEAT.add(lease)
                    return lease, None, waited
                Lease(store, path, body, ttl).release()  # only our own generation goes
                if found is not None:
                    return None, found, waited
        take = True
        commits, leases = store.list_task_all(family, param_dir)
        found = _match(store, commits, version, inputs, names, forced)
        if found is not None:
            return None, found, waited
        mine = [lz for lz in leases if lz[:2] == (version, inputs)]
        if not mine:  # released without a commit: its holder failed; take it here
            if waited:
                announced = f"{waited} released its lease without committing (its build failed)"
            gen = 1
            continue
        top = mine[-1]
        info = _read(store, top[3])
        if info is None:  # released between the listing and the read: look again
            take = False
            continue
        owner = owner_text(info) if info else "an unknown owner"
        if top[4] + float(info.get("ttl") or ttl) < time.time():
            announced = f"the lease of {owner} expired (its holder stopped renewing it)"
            gen = top[2] + 1
            continue
        if owner != waited:
            logger.warning("%r: waiting for %s, who is building it", task, owner)
            waited = owner
            if on_wait is not None:
                on_wait(owner)
        if time.monotonic() > deadline:
            raise LeaseError(f"{task!r}: waited {wait:.0f}s for {owner}, who still holds its lease "
                             f"{store.scrub(top[3])}; raise DASKFLOW_LEASE_WAIT, or remove the lease "
                             f"if that builder is gone")
        time.sleep(poll)
        take = False


def describe_leases(store: Store, family: str, now: float | None = None) -> list[dict]:
    """The leases of a family as rows: task folder, owner, age, expired or not (one listing
    plus one read per lease)."""
    now = time.time() if now is None else now
    rows = []
    for param_dir, leases in store.list_leases(family).items():
        for version, inputs, gen, path, mtime in leases:
            info = _read(store, path)
            if info is None:
                continue
            ttl = float(info.get("ttl") or config.lease_timing()[0])
            rows.append({"family": family, "param_dir": param_dir, "path": path, "generation": gen,
                         "owner": owner_text(info) if info else "unknown", "task": info.get("task", ""),
                         "renewed": mtime, "expired": mtime + ttl < now})
    return rows


def expired_leases(store: Store, family: str, grace: float = 0.0) -> list[str]:
    """Paths of the leases of a family that expired more than ``grace`` seconds ago, by
    version from the top generation down (so removing them in order leaves no gap)."""
    now = time.time()
    chains: dict = {}
    for row in describe_leases(store, family, now - grace):
        chains.setdefault(row["path"].rsplit(".", 2)[0], []).append(row)
    out = []
    for rows in chains.values():
        if all(r["expired"] for r in rows):  # a live top keeps its chain (takeover in progress)
            out += [r["path"] for r in sorted(rows, key=lambda r: -r["generation"])]
    return out

