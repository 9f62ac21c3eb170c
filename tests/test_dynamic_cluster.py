"""Dynamic branches on a process-based LocalCluster (the session cluster of test_cluster_tasks).

The workers import this module by name for the task classes.  The list task has a small
output (the keys) beside its large one; the driver loads only the keys.
"""

from __future__ import annotations

import os

import pytest

distributed = pytest.importorskip("distributed")

import daskflow  # noqa: E402
from daskflow.storage import Target  # noqa: E402


class Split(daskflow.tasks.TaskPickle):
    """Keys to fan out over, and the (large) data each branch reads its part of."""

    n = daskflow.IntParameter()
    persist = {"keys": "json", "data": "pickle"}

    def run(self):
        self.save({"keys": [f"k{i}" for i in range(self.n)],
                   "data": {f"k{i}": list(range(1000 * (i + 1))) for i in range(self.n)},
                   })


class Part(daskflow.tasks.TaskJson):
    key = daskflow.Parameter()
    n = daskflow.IntParameter()

    def requires(self):
        return Split(n=self.n)

    def run(self):
        data = self.input()["data"].load()[self.key]
        self.save({"key": self.key, "total": sum(data), "pid": os.getpid()})


class Gather(daskflow.tasks.TaskJson):
    n = daskflow.IntParameter()

    def requires(self):
        return daskflow.map(Part, over=Split(n=self.n), param="key", output="keys", n=self.n)

    def run(self):
        self.save({p["key"]: p["pid"] for p in self.inputLoad()})


def test_dynamic_graph_on_a_process_cluster(client, root, monkeypatch):
    loaded = []
    real = Target.load
    monkeypatch.setattr(Target, "load", lambda self, *a, **k: loaded.append(
        (self.task.task_family, self.format.name)) or real(self, *a, **k))
    first = daskflow.run(Gather(n=3), client=client, progress=False)
    assert set(first.ran) == {Split(n=3), Gather(n=3), *(Part(key=f"k{i}", n=3) for i in range(3))}
    workers = set(client.run(os.getpid).values())
    pids = set(Gather(n=3).outputLoad().values())
    assert pids <= workers and os.getpid() not in pids
    # the driver read the keys (json) to expand, never the data (pickle) the branches read
    assert {f for t, f in loaded if t == "Split"} == {"json"}
    again = daskflow.run(Gather(n=3), client=client, progress=False)
    assert again.ran == []


def test_a_failing_branch_on_the_cluster_leaves_the_others_built(client, root):
    class Faulty(daskflow.tasks.TaskJson):  # travels by value: defined in a test
        key = daskflow.Parameter()
        n = daskflow.IntParameter()

        def run(self):
            if self.key == "k1":
                raise KeyError("k1 planned to fail")
            self.save(self.key)

    class GatherFaulty(daskflow.tasks.TaskJson):
        n = daskflow.IntParameter()

        def requires(self):
            return daskflow.map(Faulty, over=Split(n=self.n), param="key", output="keys", n=self.n)

        def run(self):
            self.save(self.inputLoad())

    with pytest.raises(daskflow.RunError) as err:
        daskflow.run(GatherFaulty(n=3), client=client, progress=False, ship_code=True)
    result = err.value.result
    assert [f.task for f in result.failed] == [Faulty(key="k1", n=3)]
    assert {Faulty(key="k0", n=3), Faulty(key="k2", n=3)} <= set(result.ran)
    assert result.upstream_failed == [GatherFaulty(n=3)]
