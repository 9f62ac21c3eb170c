"""d6tflow spellings on a real S3 server (SeaweedFS on 127.0.0.1): TaskCache, a direct run,
Workflow(env=), standalone targets; derived roots reuse the root's endpoint and credentials."""

import pandas as pd

import daskflow as d6tflow
from d6tflow_cache_tasks import CALLS, Doubled, Raw, Report


def test_cache_direct_run_env_and_targets_on_s3(s3root):
    CALLS.clear()
    d6tflow.run(Report(), scheduler="sync")
    assert Report().outputLoad()["meta"] == {"rows": 4}
    keys = s3root.fs.find(s3root.prefix)
    assert any("/Report/" in k for k in keys) and not any("Doubled" in k for k in keys)

    Raw(n=2).run()  # a direct run commits a normal build on S3
    assert Raw(n=2).complete() and len(Raw(n=2).outputLoad()) == 2

    flow = d6tflow.Workflow(Report, {"label": "prod"}, env="prod")
    flow.run(scheduler="sync")
    assert flow.outputLoad()["label"] == "prod"
    assert any("/env=prod/Report/" in k for k in s3root.fs.find(s3root.prefix))
    assert not Report(label="prod").complete()  # in env=prod, not in the root

    target = d6tflow.targets.PqPandasTarget(f"{s3root.url}/loose/t.parquet")
    assert target.save(pd.DataFrame({"a": [1]})) == f"{s3root.url}/loose/t.parquet"
    assert target.exists() and target.load()["a"].tolist() == [1]
    assert Doubled() not in d6tflow.run(Report(), scheduler="sync").ran  # fresh: no recompute
