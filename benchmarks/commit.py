"""commit: what a build costs in metadata operations, S3 requests and time, against main's layout.

Three parts, each in this one script:

1. The filesystem pattern of one build, on local disk, alternating, median of
   ``--repeat`` rounds of ``--n`` builds: daskflow before this layout (a folder per build:
   mkdir + output + marker temp file + rename), the first file-per-build layout (output +
   marker temp file + rename in the family folder, no mkdir), one create at its name for the
   output and one for the marker (1c432c6), today's for a build of one output (written
   unnamed with ``O_TMPFILE``, a line appended to the journal, linked under its committing
   name: one inode), and with ``fsync`` on (temp + rename).
2. daskflow end to end: ``Fan(n)`` over ``n`` pickle tasks (``scheduler="sync"``), built
   in fresh roots by this worktree's daskflow and by main's (``git archive`` of
   ``--base``, default ``1c432c6``, before inline commits), each in its own process, alternating; and this
   worktree's with ``fsync`` on.  Per task, and as ratios in the same run.
3. Counts (deterministic): ``os``-level file creations (``O_TMPFILE`` included), links, folder creations and renames per
   build on local disk, and S3 requests per build counted at a moto server through the
   tests' counting proxy.

    .venv/bin/python benchmarks/commit.py              # n=300, repeat=5
    .venv/bin/python benchmarks/commit.py --n 100 --repeat 3
"""

from __future__ import annotations

import argparse
import collections
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(REPO, "tests"))

import _common as C  # noqa: E402

CHILD = r'''
import sys, time
sys.path.insert(0, {code!r}); sys.path.insert(0, {here!r})
import daskflow, _commit_tasks as T
daskflow.set_root({root!r}{extra})
start = time.perf_counter()
r = daskflow.run(T.Fan(n={n}), scheduler="sync", progress=False)
elapsed = time.perf_counter() - start
assert len(r.ran) == {n} + 1, r
print("SECONDS", elapsed)
'''


def pattern(kind: str, folder: str, n: int) -> float:
    """Seconds for ``n`` builds of one small output and a marker, in ``kind``'s pattern."""
    family = os.path.join(folder, secrets.token_hex(4))
    os.mkdir(family)
    data = b"\x80\x05K\x01." * 8
    start = time.perf_counter()
    for i in range(n):
        build = f"{family}/p={i}__ab@2026{i:010d}-{secrets.token_hex(4)}"
        if kind == "main (folder per build)":
            os.mkdir(build)
            out, tmp, marker = f"{build}/data.pkl", f"{build}/.tmp-x", f"{build}/_commit.json"
        else:
            out, tmp, marker = f"{build}.data.pkl", f"{family}/.tmp-{i}", f"{build}._commit.json"
        if kind.startswith("today, one output"):
            fd = os.open(family, os.O_TMPFILE | os.O_WRONLY, 0o666)
            os.write(fd, data)
            journal = f"{family}/_explain.x.jsonl"
            try:
                jfd = os.open(journal, os.O_WRONLY | os.O_APPEND)
            except FileNotFoundError:
                jfd = os.open(journal, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
            os.write(jfd, b'{"build":"x"}\n')
            os.close(jfd)
            os.link(f"/proc/self/fd/{fd}", out, src_dir_fd=fd, follow_symlinks=True)
            os.close(fd)
            continue
        sync = kind.endswith("fsync")
        direct = kind.startswith("output + marker")  # the marker made at its name, no rename
        for path, body in ((out, data), (marker if direct else tmp, b"{}")):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
            os.write(fd, body)
            if sync:
                os.fsync(fd)
            os.close(fd)
        if sync:
            _fsync_dir(family)
        if not direct:
            os.replace(tmp, marker)
        if sync:
            _fsync_dir(family)
    return time.perf_counter() - start


def _fsync_dir(folder):
    fd = os.open(folder, os.O_RDONLY)
    os.fsync(fd)
    os.close(fd)


def child(code: str, root: str, n: int, extra: str = "") -> float:
    script = CHILD.format(code=code, here=HERE, root=root, n=n, extra=extra)
    env = {k: v for k, v in os.environ.items() if not k.startswith("DASKFLOW_")}
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=600)
    if out.returncode:
        raise SystemExit(f"a build failed:\n{out.stderr[-2000:]}")
    return float(out.stdout.split("SECONDS")[1])


def counts_local(folder: str, n: int) -> dict:
    import daskflow
    import _commit_tasks as T

    calls = collections.Counter()
    real = os.open, os.mkdir, os.replace, os.rename, os.link

    def opened(path, flags, *a, **k):
        new = bool(flags & os.O_CREAT) and not os.path.lexists(path)
        fd = real[0](path, flags, *a, **k)
        calls["file creations"] += new or (flags & os.O_TMPFILE == os.O_TMPFILE)
        return fd

    def linked(src, dst, *a, **k):
        calls["links"] += 1
        return real[4](src, dst, *a, **k)

    def made(path, *a, **k):
        calls["folder creations"] += 1
        return real[1](path, *a, **k)

    def moved(src, dst, *a, **k):
        calls["renames"] += 1
        return real[2](src, dst, *a, **k)

    def renamed(src, dst, *a, **k):
        calls["renames"] += 1
        return real[3](src, dst, *a, **k)

    daskflow.set_root(os.path.join(folder, "counted"))
    os.open, os.mkdir, os.replace, os.rename, os.link = opened, made, moved, renamed, linked
    try:
        daskflow.run(T.Fan(n=n), scheduler="sync", progress=False)
    finally:
        os.open, os.mkdir, os.replace, os.rename, os.link = real
    return {k: v / (n + 1) for k, v in calls.items()}


def counts_s3(n: int) -> dict:
    import servers

    import daskflow
    import _commit_tasks as T

    server = servers.start_moto()
    try:
        with servers.CountingProxy(server.endpoint) as proxy:
            for leases in (False, True):
                options = dict(server.storage_options(), client_kwargs={"endpoint_url": proxy.endpoint})
                daskflow.set_root(f"s3://{server.bucket}/commit-{secrets.token_hex(4)}", leases=leases, **options)
                proxy.reset()
                daskflow.run(T.Fan(n=n), scheduler="sync", progress=False)
                kinds = collections.Counter(
                    "LIST" if m == "GET" and "list-type=2" in p else m for m, p in proxy.requests)
                yield leases, kinds
    finally:
        server.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--base", default="1c432c6", help="the commit to compare with (main before inline commits)")
    ap.add_argument("--dir", default=None, help="where to build (default: a temp folder in $TMPDIR)")
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="bench-commit-", dir=args.dir)
    print(f"building under {tmp}")
    try:
        kinds = ["main (folder per build)", "file per build, marker temp + rename",
                 "output + marker, each at its name (1c432c6)", "today, one output (unnamed, journal, link)",
                 "today + fsync"]
        times = {k: [] for k in kinds}
        for r in range(args.repeat + 1):
            for kind in kinds if r % 2 == 0 else kinds[::-1]:
                t = pattern(kind, tmp, args.n)
                if r:
                    times[kind].append(t)
        base = times[kinds[0]]
        rows = [[k, C.fmt_us(C.median(v) / args.n), f"{C.median(C.ratios(v, base)):.2f}",
                 f"{min(C.ratios(v, base)):.2f}"] for k, v in times.items()]
        print(f"\n1. one build's filesystem pattern, local disk ({args.n} builds, median of {args.repeat})")
        print(C.table(["pattern", "per build", "x main (median)", "x main (min)"], rows))

        old = os.path.join(tmp, "main-code")
        os.mkdir(old)
        archive = subprocess.run(["git", "-C", REPO, "archive", args.base, "daskflow"], capture_output=True)
        if archive.returncode:
            raise SystemExit(f"git archive {args.base} failed: {archive.stderr.decode()}")
        subprocess.run(["tar", "-x", "-C", old], input=archive.stdout, check=True)
        runs = {"main " + args.base: (old, ""), "today": (REPO, ""), "today + fsync": (REPO, ", fsync=True")}
        times = {k: [] for k in runs}
        for r in range(args.repeat):
            for name in list(runs) if r % 2 == 0 else list(runs)[::-1]:
                code, extra = runs[name]
                root = os.path.join(tmp, f"run{r}-{list(runs).index(name)}")
                times[name].append(child(code, root, args.n, extra))
        base = times["main " + args.base]
        rows = [[k, C.fmt_us(C.median(v) / (args.n + 1)), f"{C.median(C.ratios(v, base)):.2f}",
                 f"{min(C.ratios(v, base)):.2f}"] for k, v in times.items()]
        print(f"\n2. daskflow.run(Fan(n={args.n})) cold, sync scheduler, local disk, per task "
              f"(median of {args.repeat}, alternating, one process each)")
        print(C.table(["code", "per task", "x main (median)", "x main (min)"], rows))

        print(f"\n3. counts per build (deterministic), Fan(n={args.n}): one pickle output per task")
        local = counts_local(tmp, args.n)
        print("   local disk: " + ", ".join(f"{k} {v:.2f}" for k, v in sorted(local.items()))
              + "  (folder creations: the root and two family folders, once)")
        for leases, kinds in counts_s3(min(args.n, 100)):
            per = {k: v for k, v in sorted(kinds.items())}
            print(f"   S3 (moto), leases {'on ' if leases else 'off'}: {per} for {min(args.n, 100) + 1} builds"
                  " (+1 PUT and 1 DELETE: the run's writability probe; 2 LIST: the plan)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
