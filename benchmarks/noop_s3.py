"""noop_s3: the no-op freshness check of a fully built graph on a local S3 server, against local disk.

The graph is ``benchmarks/noop.py``'s (``_noop_tasks``: 10 task families x
1,000 parameter sets, each task requiring two of the layer below, 10,000
tasks by default).  It is built once on S3 (SeaweedFS started on 127.0.0.1
with free ports, or the server ``DASKFLOW_TEST_S3_ENDPOINT`` names) and once
on local disk; then ``Plan(targets)`` is timed on each, alternating, and every
request the S3 server receives during a check is counted by a loopback
counting proxy (``tests/servers.py``).

Reported: requests per check against the bound ``ceil(objects / 1000)`` plus
one per family (one LIST page per 1000 keys per family), the median time of
a check on S3 and on local disk, and their ratio.

    .venv/bin/python benchmarks/noop_s3.py               # 10,000 tasks
    .venv/bin/python benchmarks/noop_s3.py --n 2000      # quick
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests"))

import servers  # noqa: E402  (tests/servers.py: SeaweedFS and the counting proxy)


def _build(targets, label):
    import daskflow

    start = time.perf_counter()
    result = daskflow.run(targets, scheduler="threads", workers=16, progress=False)
    print(f"  built {len(result.ran)} tasks on {label} in {time.perf_counter() - start:.1f} s", flush=True)


def _check(targets, store):
    from daskflow.plan import Plan

    start = time.perf_counter()
    plan = Plan(targets, store)
    elapsed = time.perf_counter() - start
    assert not plan.to_run(), "the graph is not fully built"
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=10_000, help="tasks (a multiple of --families)")
    ap.add_argument("--families", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()

    import _noop_tasks as T

    import daskflow
    from daskflow.storage import Store

    width = args.n // args.families
    targets = T.targets(args.families, width)
    server = servers.from_env()
    ours = server is None
    if ours:
        print("starting SeaweedFS on 127.0.0.1 ...", flush=True)
        server = servers.start_seaweedfs("daskflow-bench")
    local_dir = tempfile.mkdtemp(prefix="daskflow-noop-s3-")
    prefix = f"{server.bucket}/noop-{args.n}-{uuid.uuid4().hex[:6]}"
    try:
        with servers.CountingProxy(server.endpoint) as proxy:
            s3_url = f"s3://{prefix}"
            daskflow.set_root(s3_url, **server.storage_options())
            _build(targets, f"S3 ({server.endpoint})")
            direct = Store(s3_url, server.storage_options())
            objects = len(direct.fs.find(prefix))
            counted = Store(s3_url, dict(server.storage_options(),
                                         client_kwargs={"endpoint_url": proxy.endpoint}))

            daskflow.set_root(local_dir)
            _build(targets, "local disk")
            local = Store(local_dir)

            _check(targets, counted), _check(targets, direct), _check(targets, local)  # warm-up
            s3_times, local_times, requests = [], [], []
            for _ in range(args.repeat):
                proxy.reset()
                _check(targets, counted)  # counted through the proxy, timed without it
                requests.append(proxy.count())
                s3_times.append(_check(targets, direct))
                local_times.append(_check(targets, local))
            kinds = {f"{m} {'LIST' if 'list-type=2' in p else 'object'}" for m, p in proxy.requests}

        bound = math.ceil(objects / 1000) + args.families
        s3_t, local_t = statistics.median(s3_times), statistics.median(local_times)
        print()
        print(f"no-op check of {len(targets) * args.families} tasks ({args.families} families), "
              f"median of {args.repeat}")
        print(f"  objects on S3            {objects}")
        print(f"  requests per S3 check    {statistics.median(requests):.0f} ({', '.join(sorted(kinds))}); "
              f"bound ceil(objects/1000) + families = {bound}: {'OK' if max(requests) <= bound else 'OVER'}")
        print(f"  S3 check                 {s3_t * 1000:.0f} ms ({s3_t / args.n * 1e6:.0f} us per task)")
        print(f"  local disk check         {local_t * 1000:.0f} ms ({local_t / args.n * 1e6:.0f} us per task)")
        print(f"  ratio S3 / local         {s3_t / local_t:.2f}")
    finally:
        shutil.rmtree(local_dir, ignore_errors=True)
        if ours:
            server.stop()
        else:
            try:
                Store(f"s3://{prefix}", server.storage_options()).fs.rm(prefix, recursive=True)
            except OSError:
                pass


if __name__ == "__main__":
    main()
