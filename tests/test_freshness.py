"""Freshness within one process: chaining, the sibling hole, early cutoff, incomplete fingerprints."""

import warnings

import pytest

import daskflow

STATE = {"value": 1, "calls": []}


class Source(daskflow.tasks.TaskJson):
    def run(self):
        STATE["calls"].append("Source")
        self.save({"v": STATE["value"]})


class Left(daskflow.tasks.TaskJson):
    def requires(self):
        return Source()

    def run(self):
        STATE["calls"].append("Left")
        self.save({"left": self.inputLoad()["v"]})


class Right(daskflow.tasks.TaskJson):
    def requires(self):
        return Source()

    def run(self):
        STATE["calls"].append("Right")
        self.save({"right": self.inputLoad()["v"]})


@pytest.fixture(autouse=True)
def _state(root):
    STATE.update(value=1, calls=[])


def test_sibling_built_on_an_old_upstream_result_is_stale():
    daskflow.run([Left(), Right()], scheduler="sync")
    STATE["value"] = 2
    daskflow.run(Left(), force=Source(), scheduler="sync")  # Right is not part of this run
    report = daskflow.why(Right())
    (reason,) = report[Right()].reasons
    assert reason.kind == "upstream" and "Source() was rebuilt with a different result" in reason.message
    STATE["calls"].clear()
    daskflow.run(Right(), scheduler="sync")
    assert STATE["calls"] == ["Right"] and Right().outputLoad() == {"right": 2}


def test_forced_rebuild_with_identical_result_keeps_siblings_fresh():
    daskflow.run([Left(), Right()], scheduler="sync")
    daskflow.run(Left(), force=Source(), scheduler="sync")  # same value: same result
    assert Right().complete()


def test_early_cutoff_in_process():
    daskflow.run(Left(), scheduler="sync")
    Source().invalidate()
    STATE["calls"].clear()
    result = daskflow.run(Left(), scheduler="sync")
    assert STATE["calls"] == ["Source"] and result.cutoff == [Left()]
    assert result.skipped == [Left()] and result.ran == [Source()]


def test_incomplete_fingerprint_is_reported_not_ignored():
    class Dynamic(daskflow.tasks.TaskJson):
        def run(self):
            self.save({"n": getattr(STATE, "get" + "")("value")})

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        report = daskflow.why(Dynamic())
    kinds = [r.kind for r in report[Dynamic()].reasons]
    assert kinds == ["no-output", "incomplete-fingerprint"]
    assert "getattr() with a computed name" in report[Dynamic()].reasons[1].message
    assert any("incomplete" in str(w.message) and "Dynamic" in str(w.message) for w in caught)
    daskflow.run(Dynamic(), scheduler="sync")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert "fingerprint incomplete" in str(daskflow.why(Dynamic()))


def test_foreign_marker_is_stale_with_a_warning(root):
    daskflow.run(Source(), scheduler="sync")
    marker = next(root.rglob("*@*._commit.*.json"))
    marker.rename(marker.with_name(marker.name.partition("._commit.")[0] + "._commit.not.a.marker.json"))
    with pytest.warns(UserWarning, match="corrupt or foreign commit marker"):
        assert daskflow.why(Source())[Source()].runs


def test_marker_with_an_unfinished_body_still_names_a_complete_build(root):
    # A crash between the marker's create and its one write leaves an empty body: the
    # build was complete before the marker existed, and freshness reads only its name.
    daskflow.run(Source(), scheduler="sync")
    marker = next(root.rglob("*@*._commit.*.json"))
    marker.write_bytes(b"")
    assert not daskflow.why(Source())[Source()].runs
    assert daskflow.run(Source(), scheduler="sync").ran == []
    assert Source().output().load() is not None
