"""Team builds: several builder processes on one root build each task version once.

Real subprocesses on one local root (leases on) and on one S3 root (the suite's
SeaweedFS server, leases on by default).  Each task appends a line to a file
per family when its ``run()`` starts, so "computed once" is counted, not
guessed; every builder prints what it loaded, and a later run must find
everything fresh.  Tasks are deterministic or not (``noise``: random values),
so convergence cannot come from identical bytes.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import daskflow
from test_storage_conformance import REPO, load_module

FLOW = '''
import os, random, time
from pathlib import Path
import daskflow


def mark(name):
    log = Path(os.environ["FLOW_LOG"])
    with open(log / name, "a") as f:
        f.write(f"{os.getpid()}\\n")
    if os.environ.get("FLOW_GATE") == name:  # build only once every other builder waits for it
        waiting, deadline = log / "waiting", time.time() + 120
        while len(list(waiting.glob("*"))) < int(os.environ["FLOW_N"]) - 1:
            if time.time() > deadline:
                raise RuntimeError(f"{name}: the other builders never waited for its lease")
            time.sleep(0.01)
    hold = os.environ.get("FLOW_HOLD")
    if hold == name:  # keep the lease: a test kills or interrupts this builder now, then
        release = os.environ.get("FLOW_RELEASE")  # (interrupted) lets the build go on
        deadline = time.time() + float(os.environ.get("FLOW_HOLD_S", "120"))
        while time.time() < deadline and not (release and os.path.exists(release)):
            time.sleep(0.01)
    time.sleep(float(os.environ.get("FLOW_SLOW", "0")))


def value(base):
    return base + (random.random() if os.environ.get("FLOW_NOISE") == "1" else 0.0)


class Source(daskflow.tasks.TaskPickle):
    def run(self):
        mark("Source")
        self.save(value(1.0))


class Left(daskflow.tasks.TaskPickle):
    def requires(self):
        return Source()

    def run(self):
        mark("Left")
        self.save(value(self.inputLoad() * 2))


class Right(daskflow.tasks.TaskJson):
    def requires(self):
        return Source()

    def run(self):
        mark("Right")
        self.save({"v": value(self.inputLoad() + 10)})


class Top(daskflow.tasks.TaskPickle):
    def requires(self):
        return {"l": Left(), "r": Right()}

    def run(self):
        mark("Top")
        got = self.inputLoad()
        self.save(value(got["l"] + got["r"]["v"]))
'''

BUILDER = '''
import json, logging, os, signal, sys, time
from pathlib import Path
signal.signal(signal.SIGINT, signal.default_int_handler)  # Ctrl-C, even when started in the background
sys.path.insert(0, {mods!r})
import daskflow, {name} as m


class Waiting(logging.StreamHandler):  # stderr, as before; and a note the gated task can see
    def emit(self, record):
        super().emit(record)
        if "waiting for" in record.getMessage():
            (Path(os.environ["FLOW_LOG"]) / "waiting" / str(os.getpid())).touch()


logging.getLogger("daskflow").addHandler(Waiting())
daskflow.set_root({url!r}, **json.loads(os.environ.get("FLOW_OPTIONS", "{{}}")))
start = Path(os.environ["FLOW_START"])
(start / str(os.getpid())).touch()
deadline = time.time() + 60
while len(list(start.iterdir())) < int(os.environ["FLOW_N"]) and time.time() < deadline:
    time.sleep(0.005)  # every builder plans and starts at about the same moment
r = daskflow.run(m.Top(), scheduler=os.environ.get("FLOW_SCHEDULER", "threads"), progress=False)
print("RESULT " + json.dumps({{"ran": sorted(map(repr, r.ran)), "shared": {{repr(k): v for k, v in r.shared.items()}},
                             "value": m.Top().outputLoad()}}), flush=True)
'''

FAMILIES = ("Source", "Left", "Right", "Top")


@pytest.fixture(params=["local", "s3"])
def team(request, tmp_path, monkeypatch):
    """A shared root and a way to start builder processes on it."""
    env = dict(os.environ, PYTHONPATH=str(REPO), FLOW_LOG=str(tmp_path / "log"))
    env.pop("DASKFLOW_LEASE_TTL", None)  # the default (60 s): a loaded machine never looks dead
    env.pop("DASKFLOW_ROOT", None)
    (tmp_path / "log" / "waiting").mkdir(parents=True)
    if request.param == "local":
        url, options = str(tmp_path / "store"), {}
        env["DASKFLOW_LEASES"] = "on"  # a local root shared by processes: on by setting
        monkeypatch.setenv("DASKFLOW_LEASES", "on")
        listing = lambda: [str(p) for p in (tmp_path / "store").rglob("*")]  # noqa: E731
    else:
        from s3_fixtures import S3Root

        s3 = S3Root(request.getfixturevalue("s3_server"), "team")
        request.addfinalizer(s3.cleanup)
        url, options = s3.url, s3.options
        env.update(s3.env())
        env.pop("DASKFLOW_LEASES", None)  # on by default for S3
        listing = lambda: s3.fs.find(s3.prefix)  # noqa: E731
    flow = load_module(tmp_path / "mods", FLOW, "team")
    daskflow.set_root(url, **options)
    env["FLOW_OPTIONS"] = json.dumps(options)
    return Team(tmp_path, url, env, flow, listing)


class Team:
    def __init__(self, tmp_path, url, env, flow, listing):
        self.tmp, self.url, self.env, self.flow, self.listing = tmp_path, url, env, flow, listing
        self.script = BUILDER.format(mods=str(Path(flow.__file__).parent), name=flow.__name__, url=url)
        self.rounds = 0

    def start(self, n, **env):
        """Start ``n`` builders that begin their runs together."""
        self.rounds += 1
        start = self.tmp / f"start{self.rounds}"
        start.mkdir()
        env = dict(self.env, FLOW_START=str(start), FLOW_N=str(n), **env)
        return [subprocess.Popen([sys.executable, "-c", self.script], env=env, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True) for _ in range(n)]

    @staticmethod
    def finish(procs):
        results = []
        for p in procs:
            out, err = p.communicate(timeout=240)
            assert p.returncode == 0, err[-3000:]
            line = [x for x in out.splitlines() if x.startswith("RESULT ")]
            assert line, out + err
            results.append((json.loads(line[0][7:]), err))
        return results

    def runs(self, family):
        path = self.tmp / "log" / family
        return len(path.read_text().splitlines()) if path.exists() else 0

    def leases(self):
        return [p for p in self.listing() if "@_lease." in p and not p.endswith(".done")]


def _converged(team, results):
    """Each task computed once, every builder loaded the same value, no lease left, and a
    run in this process finds everything fresh (0 rebuilds)."""
    assert {f: team.runs(f) for f in FAMILIES} == {f: 1 for f in FAMILIES}
    assert len({json.dumps(r["value"]) for r, _ in results}) == 1, results
    ran = [t for r, _ in results for t in r["ran"]]
    assert sorted(ran) == sorted(f"{f}()" for f in FAMILIES)  # each task ran in one builder
    assert team.leases() == []
    again = daskflow.run(team.flow.Top(), scheduler="sync", progress=False)
    assert again.ran == [] and len(again.skipped) == 4
    assert team.flow.Top().outputLoad() == results[0][0]["value"]


@pytest.mark.parametrize("n, noise", [(2, "0"), (3, "1")], ids=["2-deterministic", "3-random"])
def test_builders_build_each_task_once_and_converge(team, n, noise):
    # Source is built only once every other builder waits for its lease: the builders
    # overlap however the machine schedules them (no sleep decides it)
    results = team.finish(team.start(n, FLOW_NOISE=noise, FLOW_GATE="Source"))
    _converged(team, results)
    shared = [r["shared"] for r, _ in results]
    # every other builder reused each task (from the lease holder's commit), unless it
    # planned after the commit, when the task was fresh for it: never built twice
    assert 0 < sum(len(s) for s in shared) <= 4 * (n - 1)
    waited = [err for _, err in results if "waiting for pid" in err]
    assert waited  # the waits were said, naming the owner
    owners = [v for s in shared for v in s.values()]
    assert any(v.startswith("pid ") for v in owners)  # who was waited for, by pid and host
    assert all(v.startswith(("pid ", "another builder")) for v in owners)


def test_builder_killed_holding_a_lease_is_taken_over_by_exactly_one(team):
    ttl = "3"  # short, so the dead holder's lease expires within the test
    (holder,) = team.start(1, FLOW_NOISE="1", FLOW_HOLD="Source", DASKFLOW_LEASE_TTL=ttl)
    deadline = time.time() + 60
    while team.runs("Source") == 0 and time.time() < deadline:
        time.sleep(0.05)
    assert team.runs("Source") == 1 and len(team.leases()) == 1
    holder.send_signal(signal.SIGKILL)
    holder.wait(30)
    assert len(team.leases()) == 1  # a killed holder cannot release: its lease stays until it expires
    results = team.finish(team.start(2, FLOW_NOISE="1", DASKFLOW_LEASE_TTL=ttl))
    assert team.runs("Source") == 2  # the killed build, and exactly one takeover
    assert {f: team.runs(f) for f in FAMILIES[1:]} == {f: 1 for f in FAMILIES[1:]}
    assert len({json.dumps(r["value"]) for r, _ in results}) == 1
    assert any("expired" in err and "building it here" in err for _, err in results)
    assert team.leases() == []  # the taker removed the dead generation below its own
    again = daskflow.run(team.flow.Top(), scheduler="sync", progress=False)
    assert again.ran == []


@pytest.mark.parametrize("scheduler", ["sync", "threads"])
def test_ctrl_c_releases_leases(team, scheduler):
    # on threads the interrupted build goes on in its worker thread (until released), then must
    # not commit; the build holds until the test says, so a slow machine cannot let it finish first
    release = team.tmp / "release"
    (proc,) = team.start(1, FLOW_HOLD="Source", FLOW_SCHEDULER=scheduler, FLOW_RELEASE=str(release))
    deadline = time.time() + 60
    while team.runs("Source") == 0 and time.time() < deadline:
        time.sleep(0.05)
    assert len(team.leases()) == 1
    proc.send_signal(signal.SIGINT)
    deadline = time.time() + 20
    while team.leases() and time.time() < deadline:
        time.sleep(0.05)
    assert team.leases() == []  # released at once, not left to expire
    release.touch()
    out, err = proc.communicate(timeout=60)
    assert proc.returncode != 0 and "KeyboardInterrupt" in err
    assert not [p for p in team.listing() if "._commit." in p]
    results = team.finish(team.start(1))
    assert "waiting for" not in results[0][1]
    assert team.runs("Source") == 2 and team.runs("Top") == 1
