"""Files a task's run() reads by a path computed at run time (daskflow.observe): recorded
with the build, checked at each plan, by thread, without what daskflow or libraries open."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap

import pytest

import daskflow
from flowfiles import load_flow, unload_flow
from daskflow import filestate, observe
from daskflow.lease import _match
from daskflow.plan import Plan

FLOW = '''
import json, os
from pathlib import Path
import daskflow

DATA = Path(os.environ["FLOW_DATA"])


class Read(daskflow.tasks.TaskJson):
    name = daskflow.Parameter()

    def run(self):
        text = (DATA / f"{self.name}.txt").read_text()  # a path made at run time
        with open(DATA / "written.txt", "w") as f:  # written by the task: not an input
            f.write(text)
        open(DATA / "written.txt").read()
        import email.mime.text  # a library's own files
        self.save({"v": text})


class Both(daskflow.tasks.TaskJson):
    def requires(self):
        return {"a": Read(name="a"), "b": Read(name="b")}

    def run(self):
        self.save({k: v["v"] for k, v in self.inputLoad().items()})


class Mixed(daskflow.tasks.TaskJson):  # an upstream build and a file read at run time
    def requires(self):
        return Read(name="a")

    def run(self):
        self.save({"a": self.inputLoad()["v"], "b": (DATA / "b.txt").read_text()})


class Cached(daskflow.tasks.TaskCache):  # kept in memory: what it reads counts downstream
    name = daskflow.Parameter()

    def run(self):
        self.save((DATA / f"{self.name}.txt").read_text())


class Pair(daskflow.tasks.TaskCache):  # a cache of caches
    def requires(self):
        return [Cached(name="a"), Cached(name="b")]

    def run(self):
        self.save("".join(self.inputLoad()))


class Stored(daskflow.tasks.TaskJson):
    def requires(self):
        return Pair()

    def run(self):
        self.save({"v": self.inputLoad()})
'''


@pytest.fixture
def flow(tmp_path, monkeypatch):
    data = tmp_path / "inputs"
    data.mkdir()
    (data / "a.txt").write_text("alpha")
    (data / "b.txt").write_text("beta")
    yield load_flow(tmp_path, monkeypatch, "obs_flow", FLOW, data), data
    unload_flow("obs_flow")


def _record(task):
    node = Plan(task).nodes[task]
    assert filestate.READS_NAME in node.commit.files, node.commit.files
    return json.loads(open(node.commit.file(filestate.READS_NAME)).read())


def test_each_task_records_only_what_its_own_run_read(flow):
    m, data = flow
    result = daskflow.run(m.Both(), scheduler="threads", progress=False)  # both Reads at once
    assert len(result.ran) == 3
    for name in "ab":
        record = _record(m.Read(name=name))
        assert list(record) == [f"inputs/{name}.txt"]  # not the other's, the written file, the library
        assert record[f"inputs/{name}.txt"]["size"] == len({"a": "alpha", "b": "beta"}[name])
    both = Plan(m.Both()).nodes[m.Both()]
    assert filestate.READS_NAME not in both.commit.files  # its inputs are builds: no record, no extra file


def test_an_edited_file_reruns_its_reader_and_why_names_it_and_a_revert_is_free(flow):
    m, data = flow
    daskflow.run(m.Both(), progress=False)
    (data / "a.txt").write_text("ALPHA")
    why = str(daskflow.why(m.Both()))
    assert "file inputs/a.txt changed (read by run())" in why  # relative: a teammate's checkout too
    ran = daskflow.run(m.Both(), progress=False).ran
    assert sorted(map(repr, ran)) == ["Both()", "Read(name='a')"]
    assert m.Both().outputLoad() == {"a": "ALPHA", "b": "beta"}
    os.utime(data / "b.txt")  # touched, same bytes: the hash says unchanged
    (data / "a.txt").write_text("alpha")  # back as it was: the first builds serve it again
    assert daskflow.run(m.Both(), progress=False).ran == []
    assert m.Both().outputLoad() == {"a": "alpha", "b": "beta"}


def test_what_a_taskcache_upstream_read_counts_with_the_stored_build_it_fed(flow):
    m, data = flow
    daskflow.run(m.Stored(), progress=False)
    assert sorted(_record(m.Stored())) == ["inputs/a.txt", "inputs/b.txt"]  # two caches away
    assert daskflow.run(m.Stored(), progress=False).ran == []
    (data / "b.txt").write_text("BETA")  # the same process: the caches' results are by code and inputs
    assert "file inputs/b.txt changed" in str(daskflow.why(m.Stored()))
    assert m.Stored() in daskflow.run(m.Stored(), progress=False).ran
    assert m.Stored().outputLoad() == {"v": "alphaBETA"}


def test_a_deleted_file_reruns_its_reader_with_a_clear_error(flow):
    m, data = flow
    daskflow.run(m.Read(name="a"), progress=False)
    (data / "a.txt").unlink()
    assert "file inputs/a.txt is gone" in str(daskflow.why(m.Read(name="a")))
    with pytest.raises(daskflow.RunError, match="a.txt"):
        daskflow.run(m.Read(name="a"), progress=False)


def test_a_team_build_is_not_reused_when_a_file_it_read_changed(flow):
    m, data = flow
    daskflow.run(m.Read(name="a"), progress=False)
    node = Plan(m.Read(name="a")).nodes[m.Read(name="a")]
    names = [f"{n}.{f.ext}" for n, f in type(node.task)._outputs.items()]
    assert _match(node.store, node.commits, node.version, node.inputs, names) is node.commit
    (data / "a.txt").write_text("changed")
    assert _match(node.store, node.commits, node.version, node.inputs, names) is None


def test_the_recorder_keeps_to_its_thread_and_sees_listings_and_databases(tmp_path):
    import sqlite3
    import threading

    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "x.csv").write_text("1")
    other, go = [], threading.Event()
    t = threading.Thread(target=lambda: (go.wait(10), other.append(open(tmp_path / "d" / "x.csv").read())))
    t.start()  # another thread (another task's): not one this run started (tests/test_observed_threads.py)
    with observe.recording() as rec:
        os.listdir(tmp_path / "d")
        sqlite3.connect(tmp_path / "db.sqlite").close()
        go.set()
        t.join()
    assert other == ["1"]
    assert set(rec.listed) == {str(tmp_path / "d")}
    assert set(rec.read) == {str(tmp_path / "db.sqlite")}  # not the other thread's open
    found = observe.identities(rec)
    assert found[str(tmp_path / "d")]["entries"]["x.csv"]["size"] == 1  # outside the project: absolute
    (tmp_path / "d" / "y.csv").write_text("2")
    assert filestate.changed(found) == f"folder {tmp_path / 'd'} changed (y.csv added)"


SIDE = '''
import json
import daskflow

class Up(daskflow.tasks.TaskJson):
    def run(self):
        with open("stats.json", "w") as f:  # a side file by a constant path
            json.dump({"mean": 2}, f)
        self.save({"v": 1})

class T(daskflow.tasks.TaskJson):
    def requires(self):
        return Up()

    def run(self):
        with open("stats.json") as f:
            self.save({"v": self.inputLoad()["v"] + json.load(f)["mean"]})
'''

STEP = '''
import daskflow, side
r = daskflow.run(side.T(), progress=False)
print(sorted(map(repr, r.ran)), side.T().outputLoad()["v"])
'''


def test_a_side_file_an_upstream_writes_is_read_as_it_was_when_run_read_it(tmp_path):
    # hashed at plan time, before Up wrote it, it made T unloadable right after its run; and an
    # edit of the side file alone (Up's output identical: cut off) served T's stale value
    (tmp_path / "side.py").write_text(SIDE)
    (tmp_path / "step.py").write_text(STEP)
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'p'\n")

    def step():
        proc = subprocess.run([sys.executable, "step.py"], cwd=tmp_path, capture_output=True, text=True,
                              timeout=120, env={k: v for k, v in os.environ.items() if k != "DASKFLOW_ROOT"})
        assert proc.returncode == 0, proc.stderr
        return proc.stdout.strip()

    assert step() == "['T()', 'Up()'] 3"
    assert step() == "[] 3"
    (tmp_path / "side.py").write_text(SIDE.replace('{"mean": 2}', '{"mean": 5}'))
    assert step() == "['T()', 'Up()'] 6"
    assert step() == "[] 6"


def test_paths_are_kept_relative_to_the_project_so_a_notebook_in_a_subfolder_finds_them(flow, tmp_path,
                                                                                        monkeypatch):
    m, data = flow
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    daskflow.run(m.Read(name="a"), progress=False)
    assert list(_record(m.Read(name="a"))) == ["inputs/a.txt"]
    (tmp_path / "notebooks").mkdir()
    monkeypatch.chdir(tmp_path / "notebooks")
    assert daskflow.run(m.Read(name="a"), progress=False).ran == []
    (data / "a.txt").write_text("changed")
    assert "file inputs/a.txt changed" in str(daskflow.why(m.Read(name="a")))


def test_credentials_and_settings_in_the_home_folder_are_not_inputs(tmp_path, monkeypatch):
    home = tmp_path / "home"
    (home / ".aws").mkdir(parents=True)
    (home / ".aws" / "credentials").write_text("[default]\n")
    (tmp_path / "data.txt").write_text("d")
    monkeypatch.setenv("HOME", str(home))
    observe._excluded_prefixes.cache_clear()
    try:
        with observe.recording() as rec:
            open(home / ".aws" / "credentials").read()  # botocore, from a run() reading S3
            open(tmp_path / "data.txt").read()
        assert list(observe.identities(rec)) == [str(tmp_path / "data.txt")]
    finally:
        observe._excluded_prefixes.cache_clear()


def test_the_systems_files_are_not_inputs_but_a_project_under_usr_is_the_users():
    skip = observe._excluded_prefixes()
    for system in ("/usr/share/zoneinfo/UTC", "/usr/lib/python3/dist-packages/six.py", "/etc/hosts",
                   "/usr/local/lib/python3.11/site-packages/x.py"):
        assert system.startswith(skip), system
    for project in ("/usr/src/app/data/sales.csv", "/usr/local/src/app/flow.py", "/usr/app/x.csv"):
        assert not project.startswith(skip), project  # Docker images put the project there


@pytest.mark.skipif(not os.access("/usr/src", os.W_OK), reason="needs a writable /usr/src (a container's root)")
def test_a_project_in_usr_src_records_what_its_code_reads():
    import shutil
    import tempfile

    top = tempfile.mkdtemp(prefix="daskflow-usr-", dir="/usr/src")
    try:
        with open(os.path.join(top, "usr_reader.py"), "w") as f:
            f.write("def read(path):\n    return open(path).read()\n")
        with open(os.path.join(top, "data.txt"), "w") as f:
            f.write("d")
        sys.path.insert(0, top)
        import usr_reader

        with observe.recording() as rec:
            usr_reader.read(os.path.join(top, "data.txt"))  # the project's own code, in /usr/src
        assert list(observe.identities(rec)) == [os.path.join(top, "data.txt")]
    finally:
        sys.path.remove(top)
        sys.modules.pop("usr_reader", None)
        shutil.rmtree(top)


def test_user_changes_a_run_tracks_runpy_settings_chdir_sqlite_uri_and_files_it_missed(tmp_path, monkeypatch):
    import runpy
    import sqlite3

    (tmp_path / "settings.py").write_text("N = 1\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.txt").write_text("a")
    with sqlite3.connect(tmp_path / "db.sqlite") as db:
        db.execute("create table t (v int)")
    (tmp_path / "parts").mkdir()
    (tmp_path / "parts" / "p1.csv").write_text("1")
    monkeypatch.chdir(tmp_path)
    with observe.recording() as rec:
        runpy.run_path("settings.py")  # a config run as Python: not code the fingerprint sees
        os.chdir("sub")
        open("a.txt").read()  # relative to the folder run() moved to
        os.chdir(tmp_path)
        sqlite3.connect(f"file:{tmp_path / 'db.sqlite'}?mode=ro", uri=True).close()
        os.listdir("parts")
        try:
            open("override.json")  # optional: absent this time
        except FileNotFoundError:
            pass
        import email.mime.audio  # noqa: F401  (the import machinery's reads: not inputs)
    found = observe.identities(rec)
    assert sorted(found) == ["db.sqlite", "override.json", "parts", "settings.py", "sub/a.txt"]  # in the project
    assert filestate.changed(found) is None
    (tmp_path / "parts" / "p1.csv").write_text("9")  # same size, another content: dask reads it later
    assert filestate.changed(found) == "folder parts changed (p1.csv changed)"
    (tmp_path / "parts" / "p1.csv").write_text("1")
    (tmp_path / "override.json").write_text("{}")
    assert filestate.changed(found) == "file override.json appeared"


def test_user_data_beside_the_builds_under_a_root_counts(tmp_path):
    root = tmp_path / "data"
    for rel in ("raw/v1@2024.csv", "_raw/x.csv", "Fam/n=1__ab@20261203T101010000000-1a2b3c4d.data.pkl",
                "Fam/_explain.1a2b3c4d.jsonl"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text("x")
    rec = observe.Recorder()
    for rel in ("raw/v1@2024.csv", "_raw/x.csv", "Fam/n=1__ab@20261203T101010000000-1a2b3c4d.data.pkl",
                "Fam/_explain.1a2b3c4d.jsonl"):
        rec.read[str(root / rel)] = None
    assert sorted(observe.identities(rec, [str(root)])) == [str(root / "_raw/x.csv"), str(root / "raw/v1@2024.csv")]


def test_a_database_the_run_writes_is_not_its_input(tmp_path):
    import sqlite3

    with sqlite3.connect(tmp_path / "read.db") as db:
        db.execute("create table t (v int)")
    with observe.recording() as rec:
        sqlite3.connect(tmp_path / "read.db").execute("select * from t").fetchall()
        with sqlite3.connect(tmp_path / "export.db") as db:  # written: another task may write it too
            db.execute("create table t (v int)")
    assert list(observe.identities(rec)) == [str(tmp_path / "read.db")]


def test_a_file_changed_while_run_had_it_open_counts_as_changed(tmp_path):
    import threading

    (tmp_path / "sales.csv").write_text("v\n1\n")
    go = threading.Event()
    writer = threading.Thread(target=lambda: (go.wait(10), (tmp_path / "sales.csv").write_text("v\n100\n")))
    writer.start()  # someone else: a thread the run did not start (one it starts writes for it)
    with observe.recording() as rec:
        open(tmp_path / "sales.csv").read()  # run() read 1 ...
        go.set()  # ... someone else wrote meanwhile
        writer.join()
        os.utime(tmp_path / "sales.csv", ns=(1, 1))
    found = observe.identities(rec)
    opened = hashlib.sha256(b"v\n1\n").hexdigest()
    assert found[str(tmp_path / "sales.csv")]["sha256"] == opened  # as opened, not as it is now
    assert filestate.changed(found) == f"file {tmp_path / 'sales.csv'} changed"
    (tmp_path / "sales.csv").write_text("v\n1\n")  # back: the bytes run() read
    assert filestate.changed(found) is None
    with observe.recording() as rec:
        open(tmp_path / "sales.csv").read()
        os.utime(tmp_path / "sales.csv", ns=(2, 2))  # touched while read (by run() or another): same bytes
    assert filestate.changed(observe.identities(rec)) is None  # not stale for ever


def test_a_file_missing_right_under_the_root_counts_as_missing(tmp_path):
    root = tmp_path / "data"  # the default root is {project}/data
    root.mkdir()
    with observe.recording() as rec:
        with pytest.raises(FileNotFoundError):
            open(root / "overrides.json")
    found = observe.identities(rec, [str(root)])
    assert found == {str(root / "overrides.json"): {"missing": True}}
    (root / "overrides.json").write_text("{}")
    assert filestate.changed(found) == f"file {root / 'overrides.json'} appeared"


def test_listings_of_the_current_folder_and_of_data_beside_the_builds_count(tmp_path, monkeypatch):
    root = tmp_path / "data"  # the default root is {project}/data: data/raw is the user's
    (root / "raw").mkdir(parents=True)
    (root / "raw" / "a.csv").write_text("1")
    (root / "Fam").mkdir()
    (root / "Fam" / "n=1__ab@20261203T101010000000-1a2b3c4d.data.pkl").write_text("x")
    monkeypatch.chdir(root / "raw")
    with observe.recording() as rec:
        os.listdir()  # no argument: the current folder
        os.listdir(root / "Fam")  # daskflow's family folder: its builds are inputs already
    assert list(observe.identities(rec, [str(root)])) == [str(root / "raw")]


def test_the_hook_never_raises_into_run_and_a_failure_makes_the_build_unfresh(tmp_path, monkeypatch):
    import sqlite3

    sqlite3.connect(tmp_path / "data.db").close()
    with observe.recording() as rec:
        sqlite3.connect(os.fsencode(tmp_path / "data.db")).close()  # a bytes path
    assert list(observe.identities(rec)) == [str(tmp_path / "data.db")]

    def broken(*args):
        raise RuntimeError("no stat today")

    monkeypatch.setattr(observe, "_origin", broken)
    with observe.recording() as rec:
        (tmp_path / "x.txt").write_text("x")
        assert open(tmp_path / "x.txt").read() == "x"  # the user's open still works
    found = observe.identities(rec)
    assert "no stat today" in filestate.changed(found)


def test_a_worker_elsewhere_keeps_paths_relative_to_the_planners_project(tmp_path, monkeypatch):
    proj = tmp_path / "proj"
    (proj / "data").mkdir(parents=True)
    (proj / "pyproject.toml").write_text("")
    (proj / "data" / "sales.csv").write_text("1")
    monkeypatch.chdir(tmp_path)  # the worker's folder
    with filestate.project_folder(str(proj)), observe.recording() as rec:
        open(proj / "data" / "sales.csv").read()
    with filestate.project_folder(str(proj)):
        found = observe.identities(rec)
    assert list(found) == ["data/sales.csv"]
    monkeypatch.chdir(proj)  # the driver, at the next plan
    assert filestate.changed(found) is None


def test_a_distro_python_excludes_its_own_folders_not_usr_src_and_typed_code_is_the_users(tmp_path,
                                                                                          monkeypatch):
    monkeypatch.setattr(sys, "base_prefix", "/usr")  # apt's python3, or a venv made from it
    observe._excluded_prefixes.cache_clear()
    observe._KINDS.clear()
    try:
        assert not "/usr/src/app/data.csv".startswith(observe._excluded_prefixes())
        (tmp_path / "data.txt").write_text("d")
        code = compile(f"def read():\n    return open({str(tmp_path / 'data.txt')!r}).read()\n", "<stdin>", "exec")
        namespace: dict = {}
        exec(code, namespace)  # a run() typed at the REPL
        with observe.recording() as rec:
            namespace["read"]()
        assert list(observe.identities(rec)) == [str(tmp_path / "data.txt")]
    finally:
        observe._excluded_prefixes.cache_clear()
        observe._KINDS.clear()


WRITER = '''
import daskflow

class Report(daskflow.tasks.TaskPickle):  # writes a side file by a constant path
    def run(self):
        open("side.txt", "w").write("by Report")
        self.save(1)

class Reader(daskflow.tasks.TaskPickle):  # reads it, and is not downstream of Report
    def run(self):
        self.save(open("side.txt").read())
'''


def test_a_tasks_key_does_not_depend_on_the_other_tasks_of_the_plan(tmp_path, monkeypatch):
    (tmp_path / "side_writer.py").write_text(WRITER)
    (tmp_path / "side.txt").write_text("old")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    daskflow.set_root(str(tmp_path / "store"))
    import side_writer as m

    try:
        with_writer = Plan([m.Report(), m.Reader()]).nodes[m.Reader()].key
        assert with_writer == Plan(m.Reader()).nodes[m.Reader()].key
    finally:
        sys.modules.pop("side_writer", None)


def test_a_glob_counts_by_names_in_the_project_so_checkouts_share_builds(tmp_path, monkeypatch):
    from daskflow.fingerprint.reads import _identity

    digests = []
    for who, text in (("alice", "1"), ("bob", "1"), ("carol", "2")):
        (tmp_path / who / "parts").mkdir(parents=True)
        (tmp_path / who / "pyproject.toml").write_text("")
        (tmp_path / who / "parts" / "p1.csv").write_text(text)
        monkeypatch.chdir(tmp_path / who)
        digests.append(_identity(str(tmp_path / who / "parts" / "*.csv"))[0])  # HERE-based: absolute
    assert digests[0] == digests[1] != digests[2]


def test_an_unreadable_record_at_an_early_cutoff_rebuilds_and_never_raises(flow, monkeypatch):
    from daskflow import execute as ex
    from daskflow.errors import StorageError
    from daskflow.plan import inputs_id

    m, data = flow
    daskflow.run(m.Read(name="a"), progress=False)
    plan = Plan(m.Read(name="a"))
    node = plan.nodes[m.Read(name="a")]
    spec = ex.spec_for(node, plan.store)
    commit = node.commit
    spec.cutoff = {inputs_id([]): [(commit.path, commit.result, commit.file(filestate.READS_NAME))]}

    def unreadable(store, path):
        raise StorageError(f"reading {path} failed: 403")

    monkeypatch.setattr(ex, "record_changed", unreadable)
    outcome = ex.execute(spec, [])
    assert outcome.status == "ran" and outcome.error is None


def test_an_early_cutoff_takes_an_older_build_that_read_the_files_as_they_are_now(flow):
    m, data = flow
    daskflow.run(m.Mixed(), progress=False)
    (data / "b.txt").write_text("BETA")
    assert daskflow.run(m.Mixed(), progress=False).ran == [m.Mixed()]  # a second build, same inputs
    (data / "b.txt").write_text("beta")  # back: the first build read the file as it is now
    m.Read(name="a").invalidate(confirm=False)
    result = daskflow.run(m.Mixed(), progress=False)  # Read(a) builds the same bytes again
    assert result.ran == [m.Read(name="a")] and result.cutoff == [m.Mixed()]
    assert m.Mixed().outputLoad() == {"a": "alpha", "b": "beta"}


def test_package_data_read_with_pkgutil_get_data_is_recorded_but_not_a_module_imported(tmp_path, monkeypatch):
    import pkgutil

    pkg = tmp_path / "datapkg"
    (pkg / "data").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "helper.py").write_text("X = 1\n")
    (pkg / "data" / "lookup.csv").write_text("code,w\na,1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with observe.recording() as rec:
        assert pkgutil.get_data("datapkg", "data/lookup.csv") == b"code,w\na,1\n"  # a loader's get_data
        import datapkg.helper  # noqa: F401  (its source: read by the import machinery)
    assert set(rec.read) == {str(pkg / "data" / "lookup.csv")}


def test_looking_for_installed_distributions_on_sys_path_is_not_a_listing_of_data(tmp_path, monkeypatch):
    import importlib.metadata

    (tmp_path / "notes.txt").write_text("a log beside the script")
    monkeypatch.syspath_prepend(str(tmp_path))  # the script's folder, first on sys.path
    with observe.recording() as rec:
        importlib.metadata.version("pandas")  # as sklearn, fsspec and pandas' plugins do in run()
        list(importlib.metadata.entry_points(group="daskflow.nothing"))
        assert [d for d in importlib.metadata.distributions(path=[str(tmp_path)])] == []
    assert str(tmp_path) not in rec.listed and not observe.identities(rec)  # what they open: the installs'
    with observe.recording() as rec:
        os.listdir(tmp_path)  # the user's own listing of it counts
    assert set(rec.listed) == {str(tmp_path)}


def test_a_file_a_distribution_finder_opens_for_run_is_recorded(tmp_path, monkeypatch):
    pkg_resources = pytest.importorskip("pkg_resources")

    pkg = tmp_path / "respkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "table.csv").write_text("a,1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with observe.recording() as rec:
        assert pkg_resources.resource_string("respkg", "table.csv") == b"a,1\n"
    assert str(pkg / "table.csv") in rec.read
