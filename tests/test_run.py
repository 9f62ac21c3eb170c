"""Running: what runs, what is skipped, failures, force, results (sync and threads schedulers)."""

import pytest

import daskflow
import flows as flows_mod
from flows import (CALLS, BadSave, CycleA, GetData, Leaf, Mixed, NoSave, Preprocess, Raw, Split, Sum,
                   Train, UsesRaw, WrongNames)


@pytest.fixture(autouse=True)
def _reset_calls(root):
    CALLS.clear()


@pytest.mark.parametrize("scheduler", ["sync", "threads"])
def test_builds_once_then_skips(scheduler):
    result = daskflow.run(Train(), scheduler=scheduler)
    assert set(result.ran) == {Train(), Preprocess(), GetData()} and result.ok
    assert CALLS == {"GetData": 1, "Preprocess": 1, "Train": 1}
    again = daskflow.run(Train(), scheduler=scheduler)
    assert again.ran == [] and set(again.skipped) == {Train(), Preprocess(), GetData()}
    assert CALLS == {"GetData": 1, "Preprocess": 1, "Train": 1}
    out = Train().outputLoad()
    assert out["rows"] == 10 and abs(out["mean_x"]) < 1e-9


def test_parameter_change_reruns_only_what_depends_on_it():
    daskflow.run(Train(), scheduler="sync")
    CALLS.clear()
    daskflow.run(Train(do_preprocess=False), scheduler="sync")
    assert CALLS == {"Preprocess": 1, "Train": 1}
    assert Train(do_preprocess=False).outputLoad()["mean_x"] == 4.5
    assert Train().outputLoad()["mean_x"] == pytest.approx(0)  # both versions stay stored


def test_insignificant_parameter_does_not_rerun():
    daskflow.run(Train(n_jobs=1), scheduler="sync")
    CALLS.clear()
    assert daskflow.run(Train(n_jobs=4), scheduler="sync").ran == []


def test_processes_scheduler_runs_in_other_processes():
    result = daskflow.run(Sum(upto=3), scheduler="processes")
    assert len(result.ran) == 4
    assert Sum(upto=3).outputLoad() == {"total": 3}


def test_multi_output_and_per_output_formats_and_meta():
    daskflow.run(Mixed(), scheduler="sync")
    out = Mixed().output()
    assert set(out) == {"df", "model", "info"}
    assert out["df"].path.endswith("df.parquet") and out["model"].path.endswith("model.pkl")
    assert out["info"].path.endswith("info.json")
    df, model, info = Mixed().outputLoad()
    assert len(df) == 6 and model == {"k": 4} and info == {"raw_rows": 10}
    assert Mixed().outputLoad(as_dict=True)["model"] == {"k": 4}
    assert Mixed().outputLoad(keys=["info"]) == [{"raw_rows": 10}]
    assert Mixed().outputLoadMeta() == {"score": 0.5, "rows": 10}
    train, test = Split().outputLoad()
    assert len(train) + len(test) == 10


def test_failure_keeps_independent_branches_and_names_the_task():
    with pytest.raises(daskflow.RunError) as err:
        daskflow.run([Sum(upto=5), Leaf(i=10)], scheduler="threads")
    e = err.value
    assert "Leaf(i=3)" in str(e) and "leaf 3 is broken" in str(e)
    assert isinstance(e.__cause__, ValueError)
    assert [f.task for f in e.failures] == [Leaf(i=3)]
    assert "raise ValueError" in e.failures[0].traceback
    assert set(e.result.ran) == {Leaf(i=0), Leaf(i=1), Leaf(i=2), Leaf(i=4), Leaf(i=10)}
    assert e.result.upstream_failed == [Sum(upto=5)]
    assert CALLS["Sum"] == 0
    # what succeeded stays built
    assert Leaf(i=4).complete() and not Sum(upto=5).complete()


def test_force_reruns_task_and_everything_to_the_target():
    daskflow.run(Train(), scheduler="sync")
    CALLS.clear()
    daskflow.run(Train(), force=GetData(), scheduler="sync")
    assert CALLS == {"GetData": 1, "Preprocess": 1, "Train": 1}
    CALLS.clear()
    daskflow.run(Train(), forced=Preprocess(), scheduler="sync")
    assert CALLS == {"Preprocess": 1, "Train": 1}
    CALLS.clear()
    daskflow.run(Train(), forced_all=True, scheduler="sync")
    assert CALLS == {"Train": 1}
    CALLS.clear()
    daskflow.run(Train(), forced_all_upstream=True, scheduler="sync")
    assert CALLS == {"GetData": 1, "Preprocess": 1, "Train": 1}


def test_force_outside_the_graph_is_an_error():
    with pytest.raises(daskflow.ParameterError, match=r"force: Leaf\(i=1\) is not upstream"):
        daskflow.run(Train(), force=Leaf(i=1), scheduler="sync")


def test_invalidate_variants():
    daskflow.run(Train(), scheduler="sync")
    GetData().invalidate()
    assert not GetData().complete() and not Train().complete()
    daskflow.run(Train(), scheduler="sync")
    CALLS.clear()
    daskflow.invalidate_upstream(Train())
    daskflow.run(Train(), scheduler="sync")
    assert CALLS == {"GetData": 1, "Preprocess": 1, "Train": 1}
    CALLS.clear()
    daskflow.invalidate_downstream(Preprocess(), Train())
    daskflow.run(Train(), scheduler="sync")
    assert CALLS == {"Preprocess": 1, "Train": 1}


def test_deleted_output_makes_the_task_stale(root):
    daskflow.run(Train(), scheduler="sync")
    path = Preprocess().output().path
    import os

    os.remove(path)
    report = daskflow.why(Train())
    assert report[Preprocess()].runs
    assert report[Train()].runs and "Preprocess" in str(report[Train()].reasons[-1])
    CALLS.clear()
    daskflow.run(Train(), scheduler="sync")
    assert CALLS == {"Preprocess": 1}  # early cutoff: identical output, Train not rerun


def test_modified_output_makes_the_task_stale(root):
    import os
    import time

    daskflow.run(GetData(), scheduler="sync")
    path = GetData().output().path
    time.sleep(0.01)
    with open(path, "ab") as f:
        f.write(b"x")
    os.utime(path)
    kinds = [r.kind for r in daskflow.why(GetData())[GetData()].reasons]
    assert kinds == ["output-modified"]


def test_result_object():
    result = daskflow.run(Train(), scheduler="sync")
    assert result and result.failed == [] and set(result.durations) == {Train(), Preprocess(), GetData()}
    assert "3 ran" in repr(result) and "<table" in result._repr_html_()


def test_missing_external_fails_before_anything_runs(root):
    with pytest.raises(daskflow.MissingExternalError) as err:
        daskflow.run([UsesRaw(), GetData()], scheduler="sync")
    assert "Raw(day='2024-01-01')" in str(err.value) and "Raw/day=2024-01-01" in str(err.value)
    assert CALLS == {}


def test_external_reads_committed_data_and_republishing_reruns_consumers():
    import pandas as pd

    class Raw(daskflow.tasks.TaskCSVPandas):  # the data engineer's class of the same name
        day = daskflow.Parameter(default="2024-01-01")
        rows = 3

        def run(self):
            self.save(pd.DataFrame({"a": range(self.rows)}))

    daskflow.run(Raw(), scheduler="sync")
    daskflow.run(UsesRaw(), scheduler="sync")
    assert UsesRaw().outputLoad() == 3
    assert not daskflow.why(UsesRaw())[UsesRaw()].runs
    Raw.rows = 5
    daskflow.run(Raw(), forced_all=True, scheduler="sync")
    report = daskflow.why(UsesRaw())
    assert [r.kind for r in report[UsesRaw()].reasons] == ["external-changed"]
    daskflow.run(UsesRaw(), scheduler="sync")
    assert UsesRaw().outputLoad() == 5


def test_task_that_does_not_save():
    with pytest.raises(daskflow.RunError) as err:
        daskflow.run(NoSave(), scheduler="sync")
    assert isinstance(err.value.__cause__, daskflow.MissingOutputError)
    assert "NoSave() finished without saving output(s) ['data']" in str(err.value)
    assert not NoSave().complete()


def test_save_of_wrong_type_and_wrong_names():
    with pytest.raises(daskflow.RunError) as err:
        daskflow.run([BadSave(), WrongNames()], scheduler="sync")
    messages = {repr(f.task): str(f.exception) for f in err.value.failures}
    assert "output 'data' (parquet) cannot take a builtins.dict" in messages["BadSave()"]
    assert "exactly the outputs ['a', 'b']; got ['a', 'c']" in messages["WrongNames()"]
    assert all(isinstance(f.exception, daskflow.SaveError) for f in err.value.failures)


def test_cycle_is_an_error_naming_the_tasks():
    with pytest.raises(daskflow.CycleError, match=r"CycleA\(\) -> CycleB\(\) -> CycleA\(\)"):
        daskflow.run(CycleA(), scheduler="sync")


def test_unwritable_root_file_in_the_way(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("I am a file")
    daskflow.set_root(str(blocker / "root"))
    with pytest.raises(daskflow.StorageError) as err:
        daskflow.run(GetData(), scheduler="sync")
    assert str(blocker) in str(err.value)
    assert blocker.read_text() == "I am a file"


def test_output_load_refuses_unbuilt_task():
    with pytest.raises(daskflow.NotBuiltError, match=r"GetData\(n=10\) is not built.*no output"):
        GetData().outputLoad()
    assert not GetData().output().exists()


def test_memory_root(memroot):
    daskflow.run(Train(), scheduler="sync")
    assert Train().complete() and Train().output().path.startswith("/daskflow-test")
    assert daskflow.run(Train(), scheduler="sync").ran == []


def test_d6tflow_spellings_are_accepted():
    daskflow.set_dir(daskflow.config.settings.root)
    result = daskflow.run(GetData(), confirm=False, workers=1, abort=True, execution_summary=True,
                          scheduler="sync")
    assert result.ran == [GetData()]


def test_requires_that_raises_names_the_task():
    class Broken(daskflow.tasks.TaskPickle):
        def requires(self):
            return {"a": GetData(nn=1)}

    with pytest.raises(daskflow.TaskDefinitionError, match=r"Broken\(\).requires\(\) raised ParameterError"):
        daskflow.run(Broken(), scheduler="sync")


def test_missing_external_upstream_is_named_in_why():
    report = daskflow.why(UsesRaw())
    assert report[Raw()].status == "missing"
    assert "Raw(day='2024-01-01')" in report[UsesRaw()].reasons[-1].message


def test_task_may_write_its_output_path_itself():
    class Writes(daskflow.tasks.TaskCSVPandas):
        def run(self):
            with open(self.output().path, "w") as f:
                f.write("a,b\n1,2\n")

    daskflow.run(Writes(), scheduler="sync")
    assert Writes().outputLoad().to_dict("records") == [{"a": 1, "b": 2}]
    assert daskflow.run(Writes(), scheduler="sync").ran == []


def test_external_with_deleted_files_is_missing_before_anything_runs(root):
    import os

    import pandas as pd

    class Raw(daskflow.tasks.TaskCSVPandas):  # the producer's class of the same name
        day = daskflow.Parameter(default="2024-01-01")

        def run(self):
            self.save(pd.DataFrame({"a": [1]}))

    daskflow.run(Raw(), scheduler="sync")
    os.remove(Raw().output().path)
    CALLS.clear()
    with pytest.raises(daskflow.MissingExternalError, match=r"data.csv missing"):
        daskflow.run([GetData(), UsesRaw()], scheduler="sync")
    assert CALLS == {}


def test_aggregator_inputs_come_from_the_runs_store_in_other_processes(root):
    result = daskflow.run(flows_mod.AfterAll(), scheduler="processes")
    assert flows_mod.AfterAll() in result.ran
    assert flows_mod.AfterAll().outputLoad() == [10, 6]


def test_a_base_class_version_does_not_hide_a_subclass_edit():
    from daskflow.fingerprint import code_fingerprint

    class Base(daskflow.tasks.TaskJson):
        version = "1"

        def run(self):
            self.save(1)

    class Child(Base):
        def run(self):
            self.save(2)

    assert "Child.run" in " ".join(code_fingerprint(Child).parts)


def test_output_replaced_with_an_older_mtime_is_stale(root):
    import os

    daskflow.run(GetData(), scheduler="sync")
    path = GetData().output().path
    before = os.stat(path).st_mtime
    with open(path, "ab") as f:
        f.write(b"appended by someone else")
    os.utime(path, (before - 60, before - 60))  # as cp -p or rsync -a would leave it
    (reason,) = daskflow.why(GetData())[GetData()].reasons
    assert reason.kind == "output-modified" and "size changed" in reason.message


_SCRIPT = '''
import daskflow

class Part(daskflow.tasks.TaskJson):
    i = daskflow.IntParameter(default=0)
    def run(self):
        self.save({"i": self.i})

class Whole(daskflow.tasks.TaskJson):
    def requires(self):
        return [Part(i=i) for i in range(3)]
    def run(self):
        self.save({"n": len(self.inputLoad())})

def main():
    daskflow.set_root(ROOT)
    print(daskflow.run(Whole(), scheduler="processes", progress=False).summary())
'''


@pytest.mark.parametrize("guarded", [False, True])
def test_processes_scheduler_in_a_script_without_main_guard(tmp_path, guarded):
    import os
    import subprocess
    import sys

    body = _SCRIPT.replace("ROOT", repr(str(tmp_path / "store")))
    body += 'if __name__ == "__main__":\n    main()\n' if guarded else "main()\n"
    script = tmp_path / "flow.py"
    script.write_text(body)
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(daskflow.__file__)))
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env,
                          timeout=120, cwd=tmp_path)
    if guarded:
        assert proc.returncode == 0, proc.stderr
        assert "4 ran" in proc.stdout
        return
    assert proc.returncode == 1
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("daskflow.scheduling.SpawnGuardError: ")
    assert 'put the code that runs tasks under `if __name__ == "__main__":`' in last
    assert "bootstrapping phase" not in proc.stderr  # the children left quietly
    assert proc.stderr.count("Traceback") == 1


def test_local_progress_shows_families_counts_and_elapsed_time(capsys):
    daskflow.run(Sum(upto=3), scheduler="sync", progress=True)
    out = capsys.readouterr().out
    assert "daskflow on sync" in out
    assert "4 of 4 tasks" in out and "s elapsed" in out
    rows = {line.split("│")[1].strip(): line.split("│")[2:] for line in out.splitlines()
            if line.count("│") > 4}
    assert rows["Leaf"][0].strip() == "3" and rows["Sum"][0].strip() == "1"  # done
    assert [c.strip() for c in rows["Leaf"][1:4]] == ["0", "0", "0"]  # running, failed, to do
    daskflow.run(Sum(upto=3), scheduler="sync", progress=False)
    daskflow.run(Sum(upto=3), scheduler="sync")  # not a terminal: no display
    assert capsys.readouterr().out == ""


def test_progress_waiting_hook_shows_a_line_until_cleared():
    import io

    from rich.console import Console

    from daskflow import progress

    buf = io.StringIO()
    display = progress.Display({"Train-ab12-r1": "Train", "Prep-cd34-r1": "Prep"}, "threads",
                               console=Console(file=buf, width=100), delay=3600)
    try:
        progress.waiting("Train-ab12", "alice@laptop", "Train(model='ols')")
        Console(file=buf, width=100).print(display.render())
        assert "waiting for alice@laptop: Train(model='ols')" in buf.getvalue()
        progress.waiting("Train-ab12", None)
        buf.truncate(0)
        Console(file=buf, width=100).print(display.render())
        assert "waiting for" not in buf.getvalue() and "Train" in buf.getvalue()
    finally:
        display.close()
    assert display.live is None  # closed before its delay: it never showed


def test_a_new_unmarked_place_announces_its_root_once(tmp_path, monkeypatch, caplog):
    from daskflow import config

    place = tmp_path / "scratch"
    place.mkdir()
    monkeypatch.chdir(place)
    monkeypatch.setattr(config.settings, "root", None)
    assert config._find_project() == (place, False)  # nothing marks a project here or above
    with caplog.at_level("WARNING", logger="daskflow"):
        daskflow.run(GetData(), scheduler="sync", progress=False)
        daskflow.run(GetData(), scheduler="sync", progress=False)
    lines = [r.getMessage() for r in caplog.records if r.name == "daskflow"]
    assert lines == [f"daskflow: storing outputs in {place / 'data'} (no pyproject.toml or .git in "
                     f"{place} or above; choose another place with daskflow.set_root(...) or DASKFLOW_ROOT)"]
    assert (place / "data" / "GetData").is_dir()
    (tmp_path / "marked").mkdir()
    (tmp_path / "marked" / "pyproject.toml").write_text("")
    monkeypatch.chdir(tmp_path / "marked")
    caplog.clear()
    daskflow.run(GetData(), scheduler="sync", progress=False)
    assert not [r for r in caplog.records if r.name == "daskflow"]  # a project's own data/: no line


class _SeesTheDisplay(daskflow.tasks.TaskJson):
    """Records, from inside its run(), what the active progress display counts."""

    def requires(self):
        return [Leaf(i=0), Leaf(i=1)]

    def run(self):
        from daskflow import progress

        display = progress._ACTIVE[-1]
        self.save({"running": sorted(display.family[k] for k in display.running), "counts": display.counts()})


@pytest.mark.parametrize("scheduler", ["sync", "threads"])
def test_the_local_display_is_fed_by_the_scheduler_as_tasks_start_and_finish(scheduler, capsys):
    daskflow.run(_SeesTheDisplay(), scheduler=scheduler, progress=True)
    seen = _SeesTheDisplay().outputLoad()
    assert seen["running"] == ["_SeesTheDisplay"]  # itself, while it runs
    assert seen["counts"] == {"Leaf": [2, 0, 0, 0], "_SeesTheDisplay": [0, 1, 0, 0]}  # done, running, failed, to do
    assert "3 of 3 tasks" in capsys.readouterr().out
