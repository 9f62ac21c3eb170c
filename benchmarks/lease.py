"""lease: what a team-build lease costs per task, local disk and S3, against the same build without.

``Fan(n)`` over ``n`` pickle tasks (``scheduler="sync"``) is built in fresh roots with
leases off and on, alternating, median of ``--repeat``: on local disk and on a SeaweedFS
server started on 127.0.0.1 (or the one ``DASKFLOW_TEST_S3_ENDPOINT`` names).  Then,
counted at the S3 server through the tests' counting proxy: the requests of one build
with and without leases, and of a no-op run (everything fresh) with and without leases,
which must be equal.

    .venv/bin/python benchmarks/lease.py                  # local n=300, S3 n=100
    .venv/bin/python benchmarks/lease.py --n 100 --s3-n 50 --repeat 3
"""

from __future__ import annotations

import argparse
import collections
import os
import secrets
import shutil
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests"))

import _common as C  # noqa: E402
import servers  # noqa: E402


def build(url: str, leases: bool, n: int, **options) -> float:
    import daskflow
    import _commit_tasks as T

    daskflow.set_root(url, leases=leases, **options)
    start = time.perf_counter()
    result = daskflow.run(T.Fan(n=n), scheduler="sync", progress=False)
    elapsed = time.perf_counter() - start
    assert len(result.ran) == n + 1
    return elapsed


def alternate(make_url, n: int, repeat: int, **options) -> dict:
    times = {False: [], True: []}
    for r in range(repeat + 1):
        for leases in (False, True) if r % 2 == 0 else (True, False):
            t = build(make_url(), leases, n, **options)
            if r:
                times[leases].append(t)
    return times


def kinds(proxy) -> dict:
    return dict(sorted(collections.Counter(
        "LIST" if m == "GET" and "list-type=2" in p else m for m, p in proxy.requests).items()))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--s3-n", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    import daskflow
    import _commit_tasks as T

    tmp = tempfile.mkdtemp(prefix="bench-lease-")
    server = servers.from_env()
    ours = server is None
    rows = []
    try:
        local = alternate(lambda: os.path.join(tmp, secrets.token_hex(4)), args.n, args.repeat)
        if ours:
            print("starting SeaweedFS on 127.0.0.1 ...", flush=True)
            server = servers.start_seaweedfs("daskflow-bench")
        s3 = alternate(lambda: f"s3://{server.bucket}/lease-{secrets.token_hex(4)}", args.s3_n, args.repeat,
                       **server.storage_options())
        for label, times, n in (("local disk", local, args.n), ("S3 (SeaweedFS)", s3, args.s3_n)):
            ratio = C.ratios(times[True], times[False])
            rows.append([label, n, C.fmt_us(C.median(times[False]) / (n + 1)),
                         C.fmt_us(C.median(times[True]) / (n + 1)),
                         C.fmt_us((C.median(times[True]) - C.median(times[False])) / (n + 1)),
                         f"{C.median(ratio):.2f}", f"{min(ratio):.2f}-{max(ratio):.2f}"])
        print(f"\nFan(n) cold build, sync scheduler, median of {args.repeat} alternating runs")
        print(C.table(["root", "tasks", "per task, no lease", "per task, lease", "lease cost per task",
                       "x no lease (median)", "range"], rows))

        with servers.CountingProxy(server.endpoint) as proxy:
            options = dict(server.storage_options(), client_kwargs={"endpoint_url": proxy.endpoint})
            counted = {}
            for leases in (False, True):
                url = f"s3://{server.bucket}/lease-count-{secrets.token_hex(4)}"
                daskflow.set_root(url, leases=leases, **options)
                proxy.reset()
                daskflow.run(T.Fan(n=args.s3_n), scheduler="sync", progress=False)
                counted[("build", leases)] = kinds(proxy)
                proxy.reset()
                assert daskflow.run(T.Fan(n=args.s3_n), scheduler="sync", progress=False).ran == []
                counted[("no-op", leases)] = kinds(proxy)
        print(f"\nS3 requests, counted at the server, Fan(n={args.s3_n}): {args.s3_n + 1} builds")
        for (what, leases), found in counted.items():
            print(f"  {what:6} leases {'on ' if leases else 'off'}: {found}")
        same = counted[("no-op", False)] == counted[("no-op", True)]
        print(f"  no-op request count unchanged by leases: {'PASS' if same else 'FAIL'}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if ours and server is not None:
            server.stop()


if __name__ == "__main__":
    main()
