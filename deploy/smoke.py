"""A small workflow through a dask cluster and its storage root: the deploy smoke test.

    DASKFLOW_SCHEDULER=tcp://HOST:8786 DASKFLOW_ROOT=s3://BUCKET/prefix python deploy/smoke.py

The scheduler comes from DASKFLOW_SCHEDULER, else DASK_SCHEDULER_ADDRESS (set by
the dask-kubernetes operator in a DaskJob's pod).  The task classes live in
``__main__``, so they travel to the workers by value.  Exits non-zero when the
workflow fails or a task body ran in this process instead of on a worker.
"""

from __future__ import annotations

import os
import socket
import sys

import pandas as pd

import daskflow


class Raw(daskflow.tasks.TaskPqDask):
    rows = daskflow.IntParameter(default=10_000)

    def run(self):
        import dask.dataframe as dd

        df = pd.DataFrame({"k": [i % 10 for i in range(self.rows)], "v": range(self.rows)})
        self.save(dd.from_pandas(df, npartitions=4))


class Totals(daskflow.tasks.TaskPqPandas):
    rows = daskflow.IntParameter(default=10_000)

    def requires(self):
        return Raw(rows=self.rows)

    def run(self):
        self.save(self.inputLoad().groupby("k").v.sum().compute().to_frame().reset_index())


class Where(daskflow.tasks.TaskJson):
    rows = daskflow.IntParameter(default=10_000)

    def requires(self):
        return Totals(rows=self.rows)

    def run(self):
        total = int(self.inputLoad().v.sum())
        self.save({"pid": os.getpid(), "host": socket.gethostname(), "total": total})


def main() -> int:
    address = os.environ.get("DASKFLOW_SCHEDULER") or os.environ.get("DASK_SCHEDULER_ADDRESS")
    if not address:
        print("set DASKFLOW_SCHEDULER (or DASK_SCHEDULER_ADDRESS) to the scheduler's tcp:// address",
              file=sys.stderr)
        return 2
    result = daskflow.run(Where(), scheduler=address, forced_all=True)
    out = Where().outputLoad()
    print(result, out)
    rows = Where().rows
    ok = out["total"] == rows * (rows - 1) // 2 and (out["pid"], out["host"]) != (os.getpid(),
                                                                                socket.gethostname())
    print("smoke:", "ok" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
