"""The ``daskflow`` console script, run for real in a subprocess on tests/cli_project/flow.py.

Each test gets its own storage root (``--root``); runs use the sync scheduler.
"""

import datetime
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import daskflow

HERE = Path(__file__).parent
SCRIPT = Path(sys.executable).with_name("daskflow")
FLOW = "cli_project.flow"
TRAIN = f"{FLOW}:Train"
THREE = ["GetData()", "Preprocess(do_preprocess=True)", "Train(model='ols', do_preprocess=True)"]


def start(*args, root=None, cwd=HERE) -> subprocess.Popen:
    """Start the console script (text pipes)."""
    assert SCRIPT.exists(), f"no console script at {SCRIPT}: pip install -e . first"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DASKFLOW_")}
    cmd = [str(SCRIPT), *map(str, args)]
    if root is not None:
        cmd += ["--root", str(root)]
    return subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(proc: subprocess.Popen) -> subprocess.CompletedProcess:
    out, err = proc.communicate(timeout=120)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def cli(*args, root=None, cwd=HERE) -> subprocess.CompletedProcess:
    """Run the console script; return the CompletedProcess."""
    return finish(start(*args, root=root, cwd=cwd))


def ok_json(*args, root, cwd=HERE):
    r = cli(*args, "--json", root=root, cwd=cwd)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def names(identities) -> list:
    """The reprs of the task identities in a --json answer."""
    return [t["task"] for t in identities]


def run_json(*args, root):
    return ok_json("run", *args, "--scheduler", "sync", root=root)


@pytest.fixture
def store(tmp_path):
    return tmp_path / "store"


def stored_files(store: Path) -> list:
    return sorted(p for p in store.rglob("*") if p.is_file()) if store.exists() else []


def test_help_lists_every_command():
    r = cli("--help")
    assert r.returncode == 0
    for command in ("run", "preview", "why", "invalidate", "graph", "gc", "status"):
        assert f"\n  {command} " in r.stdout
    assert "Exit codes" in r.stdout


BAD_USAGE = [
    (["run", f"{FLOW}:Nope"], ["TASK", "'Nope' is not defined in cli_project.flow", "GetData, Preprocess"]),
    (["run", f"{FLOW}:datetime"], ["'datetime' is a module, not a task class"]),
    (["run", "no_such_module:Train"], ["cannot import module 'no_such_module': no such module"]),
    (["run", "cli_project/broken.py:Clash"], ["importing module 'cli_project.broken' failed",
                                             "broken.py", "TaskDefinitionError", "_hidden"]),
    (["run", "cli_project/nowhere.py:Train"], ["no such file: cli_project/nowhere.py"]),
    (["run", "Train"], ["'Train' is not MODULE:TASK"]),
    (["run", TRAIN, "-p", "bogus=1"], ["--param", "unknown parameter 'bogus'",
                                       "model (choice, default ols)", "do_preprocess (bool, default True)"]),
    (["run", f"{FLOW}:Typed", "-p", "n=abc"], ["--param", "Typed: parameter 'n' (int) cannot take 'abc'"]),
    (["run", f"{FLOW}:Typed", "-p", "n=1", "-p", "day=yesterday"], ["parameter 'day' (date)", "'yesterday'"]),
    (["run", f"{FLOW}:Typed"], ["Typed: missing required parameter(s) 'n'"]),
    (["run", f"{FLOW}:Typed", "-p", "n"], ["'n' is not NAME=VALUE"]),
    (["run", f"{FLOW}:Typed", "-p", "n=1", "-p", "n=2"], ["parameter 'n' given twice"]),
    (["run", TRAIN, "--scheduler", "warp"], ["daskflow run", "scheduler 'warp' is not one of"]),
    (["why", TRAIN, "-p", "model=svm"], ["parameter 'model' (choice) cannot take 'svm'", "['ols', 'mean']"]),
    (["run"], ["Missing argument 'MODULE:TASK...'"]),
    (["bake", TRAIN], ["No such command 'bake'"]),
]


@pytest.fixture(scope="module")
def bad_usage(tmp_path_factory):
    """The script's answer to each BAD_USAGE case, all started at once (each its own root)."""
    roots = [tmp_path_factory.mktemp("usage") / "store" for _ in BAD_USAGE]
    procs = [start(*args, root=root) for (args, _), root in zip(BAD_USAGE, roots)]
    return [(finish(p), root) for p, root in zip(procs, roots)]


@pytest.mark.parametrize("case", range(len(BAD_USAGE)), ids=[w[-1][:40] for _, w in BAD_USAGE])
def test_bad_usage_exits_2_naming_what_was_wrong(case, bad_usage):
    r, store = bad_usage[case]
    assert r.returncode == 2, (r.stdout, r.stderr)
    for word in BAD_USAGE[case][1]:
        assert word in r.stderr
    assert stored_files(store) == []


def test_run_builds_then_skips_with_json(store):
    first = run_json(TRAIN, root=store)
    assert first["ok"] is True and first["failed"] == [] and first["upstream_failed"] == []
    assert sorted(names(first["ran"])) == sorted(THREE) and first["skipped"] == []
    assert set(first["durations"]) == {t["key"] for t in first["ran"]}
    train = next(t for t in first["ran"] if t["family"] == "Train")
    assert train["params"] == {"model": "ols", "do_preprocess": True}  # JSON values, not text
    assert train["key"].startswith("Train-") and len(train["key"]) == len("Train-") + 32
    assert first["summary"] == "3 ran, 0 skipped"
    assert len(list((store / "Train").glob("*@*.data.json"))) == 1
    second = run_json(TRAIN, root=store)
    assert second["ran"] == [] and sorted(names(second["skipped"])) == sorted(THREE)
    assert {t["key"] for t in second["skipped"]} == {t["key"] for t in first["ran"]}


def test_text_output_one_line_per_task(store):
    r = cli("run", TRAIN, "--scheduler", "sync", root=store)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[-1] == "3 ran, 0 skipped"
    assert sorted(line.split()[0] for line in lines[:-1]) == ["ran"] * 3
    assert all(any(t in line for line in lines) for t in THREE)
    assert r.stderr == ""  # quiet by default


def test_params_are_parsed_by_their_own_types(store):
    data = run_json(f"{FLOW}:Typed", "-p", "n=3", "-p", "day=2024-02-29", "-p", 'tags=["a", "b"]', root=store)
    assert names(data["ran"]) == ["Typed(n=3, day=datetime.date(2024, 2, 29), tags=('a', 'b'), label='<b>x</b> & y')"]
    assert data["ran"][0]["params"] == {"n": 3, "day": "2024-02-29", "tags": ["a", "b"], "label": "<b>x</b> & y"}
    from cli_project.flow import Typed

    daskflow.set_root(str(store))  # the task the CLI built is the one the API names
    task = Typed(n=3, day=datetime.date(2024, 2, 29), tags=["a", "b"])
    assert task.outputLoad() == {"n": 3, "day": "2024-02-29", "tags": ["a", "b"]}


def test_params_given_to_every_task_that_declares_them(store):
    data = run_json(TRAIN, f"{FLOW}:Preprocess", "-p", "do_preprocess=no", "-p", "model=mean", root=store)
    assert sorted(names(data["ran"])) == ["GetData()", "Preprocess(do_preprocess=False)",
                                   "Train(model='mean', do_preprocess=False)"]


def test_task_named_by_file_path_from_another_folder(store, tmp_path):
    absolute = HERE / "cli_project" / "flow.py"
    assert ok_json("run", f"{absolute}:GetData", "--scheduler", "sync", root=store)["ran"][0]["task"] == "GetData()"
    relative = ok_json("run", "tests/cli_project/flow.py:GetData", root=store, cwd=HERE.parent)
    assert names(relative["skipped"]) == ["GetData()"]  # same module name, same task, already built


def test_a_failed_task_exits_1_and_what_succeeded_stays_built(store, tmp_path):
    r = cli("run", f"{FLOW}:Report", "--scheduler", "sync", "--json", root=store)
    assert r.returncode == 1
    data = json.loads(r.stdout)
    assert data["ok"] is False
    assert [f["task"] for f in data["failed"]] == ["Flaky(fail=True)"]
    failure = data["failed"][0]
    assert (failure["error"], failure["message"]) == ("ValueError", "Flaky was told to fail")
    assert 'raise ValueError("Flaky was told to fail")' in failure["traceback"]
    assert names(data["upstream_failed"]) == ["Report(fail=True)"]
    assert sorted(names(data["ran"])) == sorted(THREE)
    error = json.loads(r.stderr)  # the error once, as data, and nothing else on stderr
    assert error["error"] == "RunError" and error["message"].startswith("1 task(s) failed")

    picture = tmp_path / "after.html"
    text = cli("run", f"{FLOW}:Report", "--scheduler", "sync", "--graph", picture, root=store)
    assert text.returncode == 1
    assert "failed   Flaky(fail=True)" in text.stdout and "not run  Report(fail=True)" in text.stdout
    assert "ValueError: Flaky was told to fail" in text.stderr and "flow.py" in text.stderr
    page = picture.read_text()
    assert page.count('class="dfv-node dfv-failed"') == 1 and page.count('class="dfv-node dfv-blocked"') == 1
    assert page.count('class="dfv-node dfv-fresh"') == 3


def test_missing_external_input_exits_1_naming_task_and_path(store):
    r = cli("run", f"{FLOW}:UsesVendor", "--scheduler", "sync", root=store)
    assert r.returncode == 1
    assert "Vendor()" in r.stderr and str(store / "Vendor") in r.stderr
    data = cli("run", f"{FLOW}:UsesVendor", "--json", root=store)
    assert data.returncode == 1
    answer = json.loads(data.stdout)
    assert (answer["ok"], answer["error"]) == (False, "MissingExternalError")
    assert "Vendor()" in answer["message"]
    assert stored_files(store) == []


def test_preview_and_why(store):
    before = cli("preview", TRAIN, "-p", "do_preprocess=false", root=store)
    assert before.returncode == 0
    assert [line.count("PENDING") for line in before.stdout.splitlines()] == [1, 1, 1]
    run_json(f"{FLOW}:GetData", root=store)
    data = ok_json("preview", TRAIN, "-p", "do_preprocess=false", root=store)
    status = {t["family"]: t["status"] for t in data["tasks"]}
    assert status == {"GetData": "fresh", "Preprocess": "run", "Train": "run"}
    train = next(t for t in data["tasks"] if t["family"] == "Train")
    assert [t["key"] for t in data["targets"]] == [train["key"]] and train["params"] == {"model": "ols", "do_preprocess": "False"}
    assert len(train["deps"]) == 1

    why = ok_json("why", TRAIN, "-p", "do_preprocess=false", root=store)
    kinds = {t["family"]: [r["kind"] for r in t["reasons"]] for t in why["tasks"]}
    assert kinds["GetData"] == [] and kinds["Preprocess"][0] == "no-output"
    assert kinds["Train"][-1] == "upstream"
    text = cli("why", TRAIN, "-p", "do_preprocess=false", root=store).stdout
    assert "GetData() is fresh, skipped" in text
    assert "Preprocess(do_preprocess=False) will run:\n  - no output" in text


def test_force_reruns_the_named_tasks_or_everything_upstream(store):
    run_json(TRAIN, root=store)
    forced = run_json(TRAIN, "--force", root=store)
    assert names(forced["ran"]) == [THREE[2]] and sorted(names(forced["skipped"])) == sorted(THREE[:2])
    everything = run_json(TRAIN, "--force-upstream", root=store)
    assert sorted(names(everything["ran"])) == sorted(THREE)


def test_invalidate_makes_tasks_stale(store):
    run_json(TRAIN, root=store)
    assert ok_json("invalidate", f"{FLOW}:Preprocess", root=store)["removed"] == 1
    why = ok_json("why", TRAIN, root=store)
    assert [t["status"] for t in why["tasks"]] == ["fresh", "run", "run"]
    upstream = ok_json("invalidate", TRAIN, "--upstream", root=store)
    assert upstream["removed"] == 2  # GetData and Train; Preprocess had none left
    assert sorted(names(upstream["tasks"])) == sorted(THREE)
    assert all(t["key"].startswith(t["family"] + "-") for t in upstream["tasks"])
    assert run_json(TRAIN, root=store)["ran"] != []


def test_status_lists_what_is_stored(store):
    run_json(TRAIN, root=store)
    run_json(TRAIN, "-p", "do_preprocess=false", root=store)
    ok_json("invalidate", f"{FLOW}:Preprocess", root=store)  # Train(True) is now stale

    blind = ok_json("status", root=store)
    assert blind["root"] == str(store)
    assert [(e["family"], e["params"]) for e in blind["entries"]] == [
        ("GetData", {}), ("Preprocess", {"do_preprocess": "False"}),
        ("Train", {"do_preprocess": "False", "model": "ols"}),
        ("Train", {"do_preprocess": "True", "model": "ols"})]
    assert {e["status"] for e in blind["entries"]} == {"unknown"}
    for e in blind["entries"]:
        build = Path(e["path"])  # {family}/{params}@{build}: the prefix of the build's files
        assert e["builds"] == 1 and e["bytes"] > 0 and list(build.parent.glob(build.name + ".*"))
        assert datetime.datetime.fromisoformat(e["built"]).tzinfo is not None

    known = ok_json("status", "-m", FLOW, root=store)
    status = {(e["family"], e["params"].get("do_preprocess")): e["status"] for e in known["entries"]}
    assert status == {("GetData", None): "fresh", ("Preprocess", "False"): "fresh",
                      ("Train", "False"): "fresh", ("Train", "True"): "stale"}
    stale = next(e for e in known["entries"] if e["status"] == "stale")
    assert stale["reasons"] == ["upstream will run: Preprocess(do_preprocess=True)"]

    text = cli("status", "Train", "-m", "cli_project/flow.py", root=store)
    assert text.returncode == 0
    lines = text.stdout.splitlines()
    assert lines[0] == f"storage root: {store}" and lines[1].split()[:3] == ["FAMILY", "PARAMETERS", "STATUS"]
    assert [line.split()[:3] for line in lines[2:]] == [["Train", "do_preprocess=False,model=ols", "fresh"],
                                                         ["Train", "do_preprocess=True,model=ols", "stale"]]


def test_graph_writes_a_page_an_svg_or_stdout(store, tmp_path):
    run_json(f"{FLOW}:GetData", root=store)
    out = tmp_path / "train.html"
    r = cli("graph", TRAIN, "-o", out, root=store)
    assert r.returncode == 0 and r.stdout.startswith(f"wrote {out}: 3 tasks")
    page = out.read_text()
    assert page.startswith("<!DOCTYPE html>") and page.count('class="dfv-node ') == 3
    assert page.count('class="dfv-node dfv-fresh"') == 1 and page.count('class="dfv-node dfv-run"') == 2
    assert page.count("<script>") == 1 and "src=" not in page and "https://" not in page  # pan and zoom, inline
    svg = tmp_path / "train.svg"
    assert cli("graph", TRAIN, "-o", svg, root=store).returncode == 0
    assert svg.read_text().startswith('<svg xmlns="http://www.w3.org/2000/svg"')
    assert cli("graph", TRAIN, "-o", "-", root=store).stdout == page


@pytest.mark.parametrize("where", ["command", "group"])
def test_verbose_logs_one_line_per_task(store, where):
    args = ("run", TRAIN, "--scheduler", "sync", "-v") if where == "command" else (
        "-v", "run", TRAIN, "--scheduler", "sync")
    r = cli(*args, root=store)
    assert r.returncode == 0
    lines = r.stderr.splitlines()
    assert len(lines) == 3
    for task in THREE:
        assert sum(task in line for line in lines) == 1


def test_gc_removes_builds_no_current_version_uses(store):
    if not hasattr(daskflow, "gc"):
        pytest.xfail("daskflow.gc not yet available")
    run_json(TRAIN, root=store)
    run_json(TRAIN, "--force-upstream", root=store)  # a second build of each: the first are garbage
    before = stored_files(store)
    dry = ok_json("gc", TRAIN, root=store)
    assert dry["dry_run"] is True and len(dry["removed"]) == 3 and dry["bytes"] > 0
    assert stored_files(store) == before  # a dry run removes nothing
    assert all(list(Path(p).parent.glob(Path(p).name + ".*")) for p in dry["removed"])
    text = cli("gc", TRAIN, root=store)
    assert text.returncode == 0
    assert text.stdout.splitlines()[-1].startswith("would remove 3 path(s), ")
    done = ok_json("gc", TRAIN, "--delete", root=store)
    assert done["dry_run"] is False and sorted(done["removed"]) == sorted(dry["removed"])
    assert not any(Path(p).exists() for p in done["removed"])
    assert run_json(TRAIN, root=store)["ran"] == []  # what the current tasks use is kept


def test_plain_parameters_take_their_defaults_type_from_text():
    from cli_project.flow import Train, Tuned
    from daskflow.cli import make_task

    (task,) = make_task([Tuned], ("alpha=0.7", "layers=[16, 4]", "name=12", "strict=true"))
    assert task.param_kwargs == {"alpha": 0.7, "layers": [16, 4], "name": "12", "strict": True}
    assert task == Tuned(alpha=0.7, layers=[16, 4], name="12", strict=True)  # as the API names it
    (task,) = make_task([Tuned], ("alpha=3", "strict=maybe"))
    assert task.param_kwargs["alpha"] == 3 and task.param_kwargs["strict"] == "maybe"
    (train,) = make_task([Train], ("do_preprocess=0",))
    assert train.do_preprocess is False


def test_status_module_errors_name_the_option(store):
    r = cli("status", "-m", "no_such_module", root=store)
    assert r.returncode == 2 and "Invalid value for '--module'" in r.stderr


SHAPES = "cli_project.shapes"


def test_class_parameter_reaches_the_upstream_tasks_of_that_class(store):
    data = run_json(f"{SHAPES}:Compare", "-p", "Features.spend_bins=5", root=store)
    built = {t["family"]: t for t in data["ran"] if t["family"] == "Features"}
    assert [t["params"] for t in data["ran"] if t["family"] == "Features"] == [{"spend_bins": 5}]
    assert built["Features"]["key"].startswith("Features-")
    daskflow.set_root(str(store))
    from cli_project.shapes import Compare, Features

    from daskflow.task import class_overrides

    assert Features(spend_bins=5).complete() and not Features().complete()
    with class_overrides({Features: {"spend_bins": 5}}):  # what the command did
        assert Compare().output().load() == {"a": 5, "b": 5}  # both instances got it
    without = run_json(f"{SHAPES}:Compare", root=store)  # the same command without it: the defaults
    assert sorted(t["params"]["spend_bins"] for t in without["ran"] if t["family"] == "Features") == [2, 3]


@pytest.mark.parametrize("item, words", [
    ("Nope.spend_bins=5", ["no task of class 'Nope'", "classes there: Compare, Features, Spend"]),
    ("Features.bins=5", ["unknown parameter Features.bins", "spend_bins (int, default 3)"]),
    ("Features.spend_bins=many", ["Features: parameter 'spend_bins' (int) cannot take 'many'"]),
    (".spend_bins=5", ["is not NAME=VALUE or CLASS.NAME=VALUE"]),
])
def test_bad_class_parameter_is_a_usage_error(store, item, words):
    r = cli("run", f"{SHAPES}:Compare", "-p", item, root=store)
    assert r.returncode == 2, r.stderr
    for word in words:
        assert word in r.stderr
    assert stored_files(store) == []


def test_python_dash_m_daskflow_is_the_same_command(store):
    env = {k: v for k, v in os.environ.items() if not k.startswith("DASKFLOW_")}
    env["PYTHONPATH"] = os.pathsep.join([str(Path(daskflow.__file__).parent.parent), env.get("PYTHONPATH", "")])
    r = subprocess.run([sys.executable, "-m", "daskflow", "run", TRAIN, "--scheduler", "sync", "--json",
                        "--root", str(store)], cwd=HERE, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert sorted(names(json.loads(r.stdout)["ran"])) == sorted(THREE)
    usage = subprocess.run([sys.executable, "-m", "daskflow", "--help"], cwd=HERE, env=env,
                           capture_output=True, text=True, timeout=60)
    assert usage.returncode == 0 and usage.stdout.startswith("Usage: daskflow ")


@pytest.mark.parametrize("args, code, kind", [
    (["run", TRAIN, "-p", "bogus=1"], 2, "BadParameter"),
    (["run", TRAIN, "--scheduler", "warp"], 2, "UsageError"),
    (["run", f"{FLOW}:UsesVendor"], 1, "MissingExternalError"),
])
def test_errors_under_json_are_one_json_object_on_stderr(store, args, code, kind):
    r = cli(*args, "--json", root=store)
    assert r.returncode == code
    error = json.loads(r.stderr)  # the whole of stderr is that one object
    assert error["ok"] is False and error["error"] == kind and error["exit_code"] == code
    assert error["message"]


@pytest.mark.parametrize("task, n", [("Wide", 9), ("Wide -p n=199", 200), ("Chain", 8),
                                     ("Chain -p depth=200", 200)])
@pytest.mark.parametrize("shape", ["--tree", "--flat"])
@pytest.mark.parametrize("columns", [60, 120])
def test_preview_is_one_line_per_task_within_the_width(store, task, n, shape, columns, monkeypatch):
    monkeypatch.setenv("COLUMNS", str(columns))
    name, *more = task.split()
    r = cli("preview", f"{SHAPES}:{name}", *more, shape, root=store)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) == n
    assert max(len(line) for line in lines) <= columns
    assert all("PENDING" in line for line in lines)  # the status word always shows
    own = [line for line in lines
           if re.sub(r"^[\s└─\[\]\d]*(PENDING\s+)?", "", line).startswith("Part(" if name == "Wide" else "Chain(")]
    assert len(own) == n - (name == "Wide")
    if shape == "--flat":
        assert all(line.startswith("PENDING") for line in lines)
    if name == "Chain" and shape == "--tree" and n == 200:
        assert "[199]" in lines[-1]  # deep levels are numbered, not indented off the screen


def test_status_lines_fit_the_width(store, monkeypatch):
    run_json(f"{SHAPES}:Wide", "-p", "n=12", root=store)
    monkeypatch.setenv("COLUMNS", "70")
    r = cli("status", "-m", SHAPES, root=store)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[1].split()[:3] == ["FAMILY", "PARAMETERS", "STATUS"]
    assert len(lines) == 2 + 13 and max(map(len, lines[1:])) <= 70
    assert sum("fresh" in line for line in lines[2:]) == 13  # rows only: line 0 names the root
    full = ok_json("status", "-m", SHAPES, root=store)  # the whole text stays in --json
    assert any(len(e["params"].get("label", "")) > 70 for e in full["entries"])
