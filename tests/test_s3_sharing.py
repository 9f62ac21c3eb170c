"""Sharing through a bucket: another team's project reads outputs with read-only credentials.

Two projects in temp folders, each with its own ``pyproject.toml`` naming the
same ``s3://`` root under ``[tool.daskflow]``, each run in its own process with
only ``AWS_*`` variables for credentials (as s3fs users do).  The data
engineer's project builds ``Sales``; the analyst's project declares a class of
the same name with ``external = True``.  With read-only credentials the
analyst's process previews, checks freshness and loads the data; it cannot
write, and says so in one StorageError naming the root.  When the data
engineer republishes, the analyst's downstream task becomes stale.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import uuid

import daskflow
from s3_fixtures import S3Root
from test_storage_conformance import REPO, load_module

PRODUCER = '''
import sys
import pandas as pd
import daskflow

ROWS = int(sys.argv[1]) if len(sys.argv) > 1 else 3


class Sales(daskflow.tasks.TaskPqPandas):
    region = daskflow.Parameter(default="eu")

    def run(self):
        self.save(pd.DataFrame({"amount": range(ROWS)}))


if __name__ == "__main__":
    print(daskflow.run(Sales(), scheduler="sync", progress=False))
'''

CONSUMER = '''
import contextlib, io, json, sys
import daskflow


class Sales(daskflow.tasks.TaskPqPandas):
    external = True
    region = daskflow.Parameter(default="eu")


class Summary(daskflow.tasks.TaskJson):
    def requires(self):
        return Sales()

    def run(self):
        self.save({"total": int(self.inputLoad()["amount"].sum())})


if __name__ == "__main__":
    out = {}
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        daskflow.preview(Summary())
    out["preview"] = buf.getvalue()
    out["sales"] = int(Sales().outputLoad()["amount"].sum())
    out["summary_complete"] = Summary().complete()
    out["why"] = [r.kind for r in daskflow.why(Summary())[Summary()].reasons]
    if sys.argv[1:] == ["run"]:
        try:
            daskflow.run(Summary(), scheduler="sync", progress=False)
            out["summary"] = Summary().outputLoad()
        except daskflow.StorageError as exc:
            out["error"] = str(exc)
    print("RESULT " + json.dumps(out))
'''


def _project(folder, name, source, url):
    folder.mkdir()
    (folder / "pyproject.toml").write_text(f'[tool.daskflow]\nroot = "{url}"\n')
    (folder / f"{name}.py").write_text(textwrap.dedent(source))
    return folder


def _run(folder, script, env, *args):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "DASKFLOW_"))} | env
    env["PYTHONPATH"] = str(REPO)
    done = subprocess.run([sys.executable, script, *args], cwd=folder, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("RESULT ")]
    return json.loads(lines[-1][7:]) if lines else done.stdout


def test_read_only_consumer_reads_and_sees_republished_data(s3_reader_server, tmp_path):
    server = s3_reader_server
    url = f"s3://{server.bucket}/team-{uuid.uuid4().hex[:8]}/sales"
    engineer = _project(tmp_path / "engineering", "pipeline", PRODUCER, url)
    analyst = _project(tmp_path / "analysis", "report", CONSUMER, url)
    writer = server.env()
    reader = server.env(server.reader_key, server.reader_secret)

    assert "1 ran" in _run(engineer, "pipeline.py", writer, "3")

    seen = _run(analyst, "report.py", reader, "run")
    assert "EXTERNAL" in seen["preview"] and "PENDING" in seen["preview"]
    assert seen["sales"] == 3 and seen["summary_complete"] is False and seen["why"] == ["no-output"]
    assert url in seen["error"] and "not writable" in seen["error"] and "access denied" in seen["error"]
    assert server.reader_secret not in seen["error"] and server.secret not in seen["error"]

    # the analysts' writer (here: this process, same module, read-write options) builds Summary
    report = load_module(analyst, CONSUMER, name="report")
    daskflow.set_root(url, **server.storage_options())
    assert daskflow.run(report.Summary(), scheduler="sync").ran == [report.Summary()]
    assert report.Summary().outputLoad() == {"total": 3}

    assert "1 ran" in _run(engineer, "pipeline.py", writer, "5")  # republished

    after = _run(analyst, "report.py", reader)
    assert after["sales"] == 10 and after["summary_complete"] is False
    assert after["why"] == ["external-changed"]
    sys.modules.pop("report", None)
    S3Root(server).fs.rm(url[len("s3://"):], recursive=True)
