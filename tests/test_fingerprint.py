"""Code and parameter fingerprints: canonical, followed into helpers, deterministic (golden file)."""

import datetime
import decimal
import enum
import json
import os
import pathlib
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import daskflow
from daskflow import canonical
from daskflow.fingerprint import code_fingerprint

HERE = Path(__file__).parent
GOLDEN = HERE / "golden" / "fingerprints.json"
sys.path.insert(0, str(HERE / "golden"))


class Color(enum.Enum):
    RED = 1


PARAM_VALUES = {
    "int": 1, "float": 1.0, "bool": True, "str": "1", "none": None, "neg_zero": -0.0,
    "float_exact": 0.1 + 0.2, "big": 10**30, "bytes": b"\x00\x01",
    "tuple": (1, "a", (2.5, None)), "list": [1, 2], "dict": {"b": 1, "a": [1, {"z": 2}]},
    "set": {"pear", "apple", "fig", 3, 2.5}, "frozenset": frozenset({"x", "y"}),
    "date": datetime.date(2024, 2, 29), "datetime": datetime.datetime(2024, 1, 1, 12, 30, 5),
    "timedelta": datetime.timedelta(days=1, seconds=3), "decimal": decimal.Decimal("1.10"),
    "path": pathlib.PurePosixPath("data/raw.csv"), "enum": Color.RED,
    "ndarray": np.arange(6, dtype="int32").reshape(2, 3), "np_scalar": np.float64(1.5),
    "frame": pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}),
    "series": pd.Series([1.0, 2.0], name="s"),
}


def fingerprints() -> dict:
    from fpproject import tasks

    code = {cls.__name__: code_fingerprint(cls).digest
            for cls in (tasks.Load, tasks.Fit, tasks.Closure, tasks.Pinned)}
    params = {name: canonical.digest(canonical.encode(v)) for name, v in PARAM_VALUES.items()}
    return {"code": code, "params": params}


def test_golden_fingerprints():
    """Same code and values give the same fingerprints on every machine and Python 3 version.
    Regenerate on purpose only: DASKFLOW_REGEN_GOLDEN=1 pytest tests/test_fingerprint.py"""
    now = fingerprints()
    if os.environ.get("DASKFLOW_REGEN_GOLDEN"):
        GOLDEN.write_text(json.dumps(now, indent=1, sort_keys=True) + "\n")
    assert now == json.loads(GOLDEN.read_text())


def test_fingerprints_do_not_depend_on_hash_seed_or_folder(tmp_path):
    import shutil

    shutil.copytree(HERE / "golden", tmp_path / "golden")
    shutil.copy(HERE / "test_fingerprint.py", tmp_path / "test_fingerprint.py")
    script = ("import json, sys; sys.path.insert(0, '.'); import test_fingerprint as t; "
              "print(json.dumps(t.fingerprints()))")
    outs = []
    for seed in ("1", "999"):
        env = dict(os.environ, PYTHONHASHSEED=seed)
        proc = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        outs.append(json.loads(proc.stdout))
    assert outs[0] == outs[1] == fingerprints()


def test_typed_values_differ():
    encoded = [canonical.encode(v) for v in (1, 1.0, True, "1", b"1", (1,), [1], {1}, None)]
    assert len(set(encoded)) == len(encoded)
    assert canonical.encode({"a": 1, "b": 2}) == canonical.encode({"b": 2, "a": 1})
    assert canonical.encode(0.1 + 0.2) != canonical.encode(0.3)
    assert canonical.encode(pd.DataFrame({"a": [1]})) != canonical.encode(pd.DataFrame({"b": [1]}))
    assert canonical.encode(np.zeros(2, "int32")) != canonical.encode(np.zeros(2, "int64"))
    assert canonical.encode(np.zeros((2, 1))) != canonical.encode(np.zeros((1, 2)))


def test_follows_helpers_and_reports_dynamic_references():
    from fpproject import tasks

    parts = set(code_fingerprint(tasks.Fit).parts)
    assert {"fpproject.tasks:Fit.run", "fpproject.util:scale", "fpproject.util:recursive",
            "fpproject.util:ping", "fpproject.util:pong", "fpproject.util:Helper",
            "fpproject.util:Helper.apply"} <= parts
    assert not any(p.startswith(("math", "daskflow", "fpproject.tasks:Load")) for p in parts)
    closure_parts = code_fingerprint(tasks.Closure).parts
    assert any(k.startswith("fpproject.tasks:make_closure.<locals>.body[") for k in closure_parts)

    class Dynamic(daskflow.tasks.TaskJson):
        def run(self):
            import importlib

            mod = importlib.import_module("json")
            self.save(getattr(mod, "du" + "mps")({}))

    incomplete = code_fingerprint(Dynamic).incomplete
    assert any("getattr() with a computed name" in r for r in incomplete)
    assert any("importlib.import_module() result used through a variable" in r for r in incomplete)


def test_computed_once_per_class():
    from daskflow import fingerprint

    class Once(daskflow.tasks.TaskJson):
        def run(self):
            self.save({})

    first = code_fingerprint(Once)
    assert code_fingerprint(Once) is first and Once in fingerprint._CLASS_CACHE


def test_local_renames_count_only_when_the_function_introspects(tmp_path, monkeypatch):
    from daskflow.fingerprint import _walk_function

    variants = {"plain": "{v}", "locals": "locals()", "fstring": 'f"{{{v}=}}"'}
    for kind, ret in variants.items():
        for v in ("a", "b"):
            body = f"def f(x):\n    {v} = x + 1\n    return {ret.format(v=v)}\n"
            (tmp_path / f"m_{kind}_{v}.py").write_text(body)
    monkeypatch.syspath_prepend(str(tmp_path))
    import importlib

    def digest(kind, v):
        return _walk_function(importlib.import_module(f"m_{kind}_{v}").f)[0].digest

    assert digest("plain", "a") == digest("plain", "b")
    assert digest("locals", "a") != digest("locals", "b")
    assert digest("fstring", "a") != digest("fstring", "b")


def test_unhashable_parameter_value_in_a_plan_names_task_and_parameter(root):
    class Holder(daskflow.tasks.TaskJson):
        thing = daskflow.Parameter()

        def run(self):
            self.save({})

    with pytest.raises(daskflow.FingerprintError, match=r"Holder\(thing=.*parameter 'thing'"):
        daskflow.run(Holder(thing=lambda: 1), scheduler="sync")


def test_decorated_helpers_are_followed(tmp_path, monkeypatch):
    (tmp_path / "deco_helpers.py").write_text(
        "import functools\n\n@functools.lru_cache\ndef cached(x):\n    return x + 1\n")
    (tmp_path / "deco_tasks.py").write_text(
        "import daskflow\nfrom deco_helpers import cached\n\n"
        "class UsesCached(daskflow.tasks.TaskJson):\n    def run(self):\n        self.save(cached(1))\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import deco_tasks

    assert "deco_helpers:cached" in code_fingerprint(deco_tasks.UsesCached).parts


def test_library_objects_count_by_name_not_by_value(tmp_path, monkeypatch):
    (tmp_path / "env_tasks.py").write_text(
        "import os\nfrom os import environ\nimport daskflow\n\n"
        "class ReadsEnv(daskflow.tasks.TaskJson):\n"
        "    def run(self):\n"
        "        self.save([os.environ.get('A'), environ.get('B'), os.path.join('x', 'y')])\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import env_tasks
    from daskflow import fingerprint

    before = fingerprint._fingerprint_class(env_tasks.ReadsEnv).digest
    monkeypatch.setenv("DASKFLOW_SOME_NEW_VARIABLE", "changes the environment")
    assert fingerprint._fingerprint_class(env_tasks.ReadsEnv).digest == before


def test_closures_of_one_factory_differ(tmp_path, monkeypatch):
    (tmp_path / "closure_tasks.py").write_text(
        "import daskflow\n\n"
        "def make_run(k):\n    def run(self):\n        self.save(k)\n    return run\n\n"
        "class Two(daskflow.tasks.TaskJson):\n    run = make_run(2)\n\n"
        "class Three(daskflow.tasks.TaskJson):\n    run = make_run(3)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import closure_tasks as m

    (two,) = [p for k, p in code_fingerprint(m.Two).parts.items() if "make_run" in k]
    (three,) = [p for k, p in code_fingerprint(m.Three).parts.items() if "make_run" in k]
    assert two.digest != three.digest and two.key != three.key


def test_constants_holding_functions_config_objects_and_patterns_count(tmp_path, monkeypatch):
    import importlib

    source = ("import dataclasses, re\nimport daskflow\n\n"
              "def fit_ols(x):\n    return x + {ols}\n\n"
              "MODELS = {{'ols': fit_ols}}\n\n"
              "@dataclasses.dataclass\nclass Config:\n    alpha: float = 0.5\n\n"
              "CONFIG = Config(alpha={alpha})\nWORD = re.compile({pattern!r})\n\n"
              "class UsesThem(daskflow.tasks.TaskJson):\n    def run(self):\n"
              "        self.save([MODELS['ols'](1), CONFIG.alpha, bool(WORD.match('ab'))])\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    digests = []
    for i, values in enumerate([dict(ols=1, alpha=0.5, pattern="a"), dict(ols=2, alpha=0.5, pattern="a"),
                                dict(ols=1, alpha=0.7, pattern="a"), dict(ols=1, alpha=0.5, pattern="b")]):
        (tmp_path / f"consts_{i}.py").write_text(source.format(**values))
        fp = code_fingerprint(importlib.import_module(f"consts_{i}").UsesThem)
        assert not fp.incomplete, fp.incomplete
        digests.append({k.split(":", 1)[1]: p.digest for k, p in fp.parts.items()}["UsesThem.run"])
    assert len(set(digests)) == 4


VALUES_MODULE = '''\
import dataclasses, decimal, enum, pathlib, re, types
import numpy as np
import pandas as pd


@dataclasses.dataclass(slots=True, frozen=True)
class Frozen:
    a: int
    tags: frozenset = frozenset({"x", "y", "z"})


class Kind(enum.Enum):
    A = 1


def values(k):
    return {
        "dataclass": Frozen(k), "timedelta": pd.Timedelta(days=k), "timestamp": pd.Timestamp(2024, 1, k),
        "dateoffset": pd.DateOffset(days=k), "namespace": types.SimpleNamespace(k=k, s={"p", "q", "r"}),
        "range": range(k), "ndarray": np.arange(k), "np_scalar": np.float64(k), "enum": Kind(1) if k == 1 else k,
        "decimal": decimal.Decimal(k), "path": pathlib.Path(str(k)), "pattern": re.compile("a" * k),
        "mix": {"w": pd.Timedelta(days=k), "n": types.SimpleNamespace(v=[Frozen(k)]), "set": {"u", "v", str(k)}},
    }
'''


def test_value_tokens_are_stable_across_processes_and_differ_by_value(tmp_path):
    (tmp_path / "valmod.py").write_text(VALUES_MODULE)
    script = ("import json, sys; sys.path.insert(0, '.'); import valmod\n"
              "from daskflow.fingerprint.values import Collector, describe\n"
              "out = {}\n"
              "for k in (1, 2):\n"
              "    found = Collector('test')\n"
              "    out[k] = {n: describe(v, found, n) for n, v in valmod.values(k).items()}\n"
              "    assert not found.incomplete, found.incomplete\n"
              "print(json.dumps(out))\n")
    runs = []
    for seed in ("1", "2", "31337"):
        env = dict(os.environ, PYTHONHASHSEED=seed)
        proc = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        runs.append(json.loads(proc.stdout))
    assert runs[0] == runs[1] == runs[2]
    one, two = runs[0]["1"], runs[0]["2"]
    assert [n for n in one if one[n] == two[n]] == []  # every value counts by value
    assert not any(t.startswith("opaque") for t in one.values())


def test_a_value_without_deterministic_identity_is_incomplete_and_named(tmp_path, monkeypatch):
    (tmp_path / "locked.py").write_text(
        "import threading\nimport daskflow\n\nLOCK = threading.Lock()\n\n"
        "class UsesLock(daskflow.tasks.TaskJson):\n    def run(self):\n"
        "        with LOCK:\n            self.save({})\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import locked

    (reason,) = code_fingerprint(locked.UsesLock).incomplete
    assert reason.startswith("locked:UsesLock.run (") and "locked.py:7" in reason
    assert "LOCK is a _thread.lock with no deterministic identity" in reason


def test_part_keys_hold_no_path_or_line(tmp_path, monkeypatch):
    body = "import daskflow\n\nOPS = {{\n    'a': lambda x: x + 1,\n    'b': lambda x: x * 2,\n}}\n\n" \
           "class UsesOps(daskflow.tasks.TaskJson):\n    def run(self):\n        self.save(OPS['b'](1))\n"
    (tmp_path / "ops_a.py").write_text(body.format())
    (tmp_path / "ops_b.py").write_text("\n\n\n# moved down\n" + body.format())
    monkeypatch.syspath_prepend(str(tmp_path))
    import ops_a
    import ops_b

    a, b = code_fingerprint(ops_a.UsesOps), code_fingerprint(ops_b.UsesOps)
    assert "ops_a:<lambda>@OPS#2" in a.parts and a.parts["ops_a:<lambda>@OPS#2"].source == "lambda x: x * 2"
    for n in (1, 2):  # the same code lower in the file: same digest, only the line moved
        assert a.parts[f"ops_a:<lambda>@OPS#{n}"].digest == b.parts[f"ops_b:<lambda>@OPS#{n}"].digest
    assert a.parts["ops_a:<lambda>@OPS#2"].line + 4 == b.parts["ops_b:<lambda>@OPS#2"].line


def test_top_level_calls_count_but_output_logging_and_daskflow_calls_do_not(tmp_path, monkeypatch):
    import importlib

    monkeypatch.syspath_prepend(str(tmp_path))
    head = "import logging, random\nimport daskflow\n\nclass T(daskflow.tasks.TaskJson):\n    def run(self):\n        self.save(1)\n\n"
    variants = {"none": "", "print": "print('hi')\nlogging.basicConfig(level=logging.INFO)\ndaskflow.preview(T())\n",
                "lambda": "(lambda: None)()\n", "seed": "random.seed(3)\n"}
    parts = {}
    for name, tail in variants.items():
        (tmp_path / f"top_{name}.py").write_text(head + tail)
        fp = code_fingerprint(importlib.import_module(f"top_{name}").T)
        parts[name] = sorted(k.split(":", 1)[1] for k in fp.parts)
    assert parts["none"] == parts["print"] == ["T", "T.run"]  # shown or logged: not an effect
    assert parts["lambda"] == parts["seed"] == ["<module>", "T", "T.run"]  # a call of any other kind counts


def test_upstream_attributes_count_only_when_read_through_an_instance(tmp_path, monkeypatch):
    """``up.post(x)`` counts Up.post in T's fingerprint; reading ``self.n`` (a parameter both
    classes declare, as with @inherits), ``type(self).K`` or a global ``Up.K`` adds nothing,
    so code that reads no upstream method through an instance keeps its fingerprint."""
    from daskflow.fingerprint import with_upstream

    (tmp_path / "borrow.py").write_text(
        "import daskflow\n\nclass Up(daskflow.tasks.TaskJson):\n    n = daskflow.IntParameter(default=1)\n"
        "    K = 2\n\n    def run(self):\n        self.save(self.n)\n\n    def post(self, x):\n        return x + self.K\n\n"
        "class Plain(daskflow.tasks.TaskJson):\n    n = daskflow.IntParameter(default=1)\n    K = 3\n\n"
        "    def requires(self):\n        return Up(n=self.n)\n\n    def run(self):\n"
        "        self.save(self.n + type(self).K + Up.K)\n\n"
        "class Reads(Plain):\n    def run(self):\n        up = self.requires()\n        self.save(up.post(self.n))\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import borrow

    plain = code_fingerprint(borrow.Plain)
    assert with_upstream(borrow.Plain, plain, frozenset({borrow.Up})) is plain
    reads = code_fingerprint(borrow.Reads)
    merged = with_upstream(borrow.Reads, reads, frozenset({borrow.Up}))
    assert merged.digest != reads.digest and "borrow:Up.post" in merged.parts
    assert "borrow:Up.run" not in merged.parts  # a hook daskflow calls: cutoff stays possible


def test_a_named_time_zone_is_part_of_a_datetime_value():
    """09:00 in London and in UTC print the same offset in January; six months on they differ,
    so the zone counts.  A fixed offset is all its isoformat says: its bytes are unchanged."""
    import zoneinfo

    london = pd.Timestamp("2024-01-15 09:00", tz="Europe/London")
    utc = pd.Timestamp("2024-01-15 09:00", tz="UTC")
    assert london.isoformat() == utc.isoformat()
    assert canonical.encode(london) != canonical.encode(utc)
    assert canonical.encode(london) == canonical.encode(
        datetime.datetime(2024, 1, 15, 9, tzinfo=zoneinfo.ZoneInfo("Europe/London")))
    fixed = datetime.datetime(2024, 1, 15, 9, tzinfo=datetime.timezone(datetime.timedelta(hours=2)))
    assert canonical.encode(fixed) == b"datetime:" + len(fixed.isoformat()).to_bytes(8, "little") + fixed.isoformat().encode()


def test_reads_by_a_constant_path_are_found_and_writes_are_not():
    import ast

    from daskflow.fingerprint.reads import scan

    source = ("def f(x, path):\n    a = pd.read_csv('a.csv'); open('b.txt'); open('c.txt', 'w'); open('d.txt', mode='rb')\n"
              "    np.load(PATH); Path('e.txt').read_text(); x.to_csv('f.csv'); open(path); open('g.txt', 'a+')\n"
              "    pd.read_parquet(path=cfg.DATA); os.environ['G']; os.getenv('H'); os.environ.get('I', '1')\n")
    paths, names, envs, written = scan(ast.parse(source).body[0], {"x", "path", "a"})
    assert paths == {"a.csv", "b.txt", "d.txt", "e.txt"}
    assert names == {"PATH", "cfg.DATA"} and envs == {"G", "H", "I"}
    assert written == {"c.txt", "f.csv", "g.txt"}  # an upstream's side file: left to the run's record


def test_tokenizing_keeps_a_scripts_classes_and_other_threads_pickles_name_cloudpickles_setter():
    import subprocess
    import sys
    import threading

    import cloudpickle

    from daskflow.fingerprint import values

    namespace = {"__name__": "__main__"}
    exec("class Scale:\n    def apply(self, x):\n        return x * 2\n", namespace)  # a script's class
    Scale = namespace["Scale"]
    Scale.__module__ = "__main__"
    code, found = Scale.apply.__code__, values.Collector("test")
    values._tokenize([Scale()], found, "SCALE")  # dask's pickle round trip of a value holding it
    assert Scale.apply.__code__ is code

    inside, done, blob = threading.Event(), threading.Event(), []

    def planner():
        with values._classes_kept():
            inside.set()
            done.wait(10)

    t = threading.Thread(target=planner)
    t.start()
    inside.wait()
    blob.append(cloudpickle.dumps(Scale))  # another thread ships the class meanwhile
    done.set()
    t.join()
    child = "import pickle, sys; cls = pickle.loads(sys.stdin.buffer.read()); print(cls().apply(2))"
    out = subprocess.run([sys.executable, "-c", child], input=blob[0], capture_output=True, timeout=60)
    assert out.stdout.strip() == b"4", out.stderr


def test_the_output_file_names_daskflow_keeps_on_a_class_are_not_code():
    class Kept(daskflow.tasks.TaskPickle):
        def run(self):
            self.save(1)

    from daskflow.fingerprint.walk import _fingerprint_class

    before = _fingerprint_class(Kept).digest
    assert Kept._output_files() == ("data.pkl",)  # kept on the class (_files_of)
    assert _fingerprint_class(Kept).digest == before
