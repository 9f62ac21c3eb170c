"""syscalls: what one cold build costs the kernel and the CPU, counted, not timed.

Times on a shared machine swing by 30-50 %; counts do not.  For each graph this
script builds it with daskflow and with the hand-written ``dask.delayed``
baseline (``_common.run_baseline``), each in a fresh process on the sync
scheduler after a warm-up build, and reports per task:

- system calls, traced with ``strace -f`` between two marker calls: all of them,
  file creations (``openat`` with ``O_CREAT`` or ``O_TMPFILE``: a new inode, or a
  journal opened for an append after ENOENT), folder creations, renames, links;
- with ``--instructions``: user-space instructions, counted by ``valgrind
  --tool=callgrind`` (the measured builds minus a run with none of them).

    .venv/bin/python benchmarks/syscalls.py                         # chain, fan-in, tree of 250; pickle
    .venv/bin/python benchmarks/syscalls.py --formats pickle,parquet --instructions
    .venv/bin/python benchmarks/syscalls.py --code ../older-checkout   # another version, same baseline

strace and valgrind come from Debian's packages (``apt-get install strace valgrind``).
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import _common as C  # noqa: E402

CHILD = os.path.join(HERE, "_syscalls_child.py")
_CALL = re.compile(r"^(?:\[pid\s+\d+\]\s+|\d+\s+)?(\w+)\((.*)")


CODE = os.path.dirname(HERE)  # --code: the daskflow checkout measured


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([CODE, env.get("PYTHONPATH", "")]).strip(os.pathsep)
    return {k: v for k, v in env.items() if not k.startswith("DASKFLOW_")}


def trace(side: str, shape: str, fmt: str, repeat: int) -> collections.Counter:
    """System calls of ``repeat`` builds, by kind."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "trace")
        subprocess.run(["strace", "-f", "-qq", "-o", out, sys.executable, CHILD, side, shape, fmt, str(repeat)],
                       env=_env(), check=True, capture_output=True)
        counts, on = collections.Counter(), False
        with open(out, errors="replace") as f:
            for line in f:
                if "/daskflow-bench-st" in line:
                    on = "start" in line
                    continue
                m = _CALL.match(line)
                if not on or m is None:
                    continue
                name, args = m.groups()
                counts["all"] += 1
                if name in ("openat", "open", "creat") and ("O_CREAT" in args or "O_TMPFILE" in args
                                                             or name == "creat"):
                    counts["file creations"] += 1
                elif name in ("mkdir", "mkdirat"):
                    counts["folder creations"] += 1
                elif name in ("rename", "renameat", "renameat2"):
                    counts["renames"] += 1
                elif name in ("link", "linkat"):
                    counts["links"] += 1
        return counts


def instructions(side: str, shape: str, fmt: str, repeat: int) -> float:
    """User-space instructions of ``repeat`` builds (callgrind: with them minus without)."""
    def total(k):
        with tempfile.TemporaryDirectory() as tmp:
            out = subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={tmp}/cg.out",
                                  sys.executable, CHILD, side, shape, fmt, str(k)],
                                 env=_env(), check=True, capture_output=True, text=True)
            return int(re.search(r"Collected : (\d+)", out.stderr).group(1))
    return (total(repeat) - total(0)) / repeat


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shapes", default="chain:250,fanin:249,btree:250")
    ap.add_argument("--formats", default="pickle")
    ap.add_argument("--repeat", type=int, default=2, help="measured builds per process (default 2)")
    ap.add_argument("--instructions", action="store_true", help="also count instructions (valgrind, minutes)")
    ap.add_argument("--tmpdir", default=None, help="where both sides write (default: $TMPDIR)")
    ap.add_argument("--code", default=None, help="another daskflow checkout to measure (default: this one)")
    args = ap.parse_args(argv)
    global CODE
    CODE = os.path.abspath(args.code) if args.code else CODE
    if shutil.which("strace") is None:
        raise SystemExit("syscalls.py needs strace (apt-get install strace)")
    if args.instructions and shutil.which("valgrind") is None:
        raise SystemExit("--instructions needs valgrind (apt-get install valgrind)")
    if args.tmpdir:
        os.environ["BENCH_TMPDIR"] = args.tmpdir
    rows = []
    for shape in args.shapes.split(","):
        n = C.n_tasks(shape)
        for fmt in args.formats.split(","):
            per = {side: trace(side, shape, fmt, args.repeat) for side in ("daskflow", "baseline")}
            row = [shape, fmt]
            for kind in ("all", "file creations", "folder creations", "renames", "links"):
                a, b = (per[s][kind] / (n * args.repeat) for s in ("daskflow", "baseline"))
                row.append(f"{a:.2f} / {b:.2f}")
            if args.instructions:
                a, b = (instructions(s, shape, fmt, args.repeat) / n for s in ("daskflow", "baseline"))
                row.append(f"{a / 1e3:.0f}k / {b / 1e3:.0f}k = {a / b:.2f}")
            rows.append(row)
            print("  " + " | ".join(row), flush=True)
    headers = ["graph", "format", "syscalls per task (daskflow / baseline)", "file creations", "folder creations",
               "renames", "links"] + (["user-space instructions per task"] if args.instructions else [])
    print()
    print(C.table(headers, rows))
    print("counts, not times: the same on a quiet or a busy machine (sync scheduler, one process per side)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
