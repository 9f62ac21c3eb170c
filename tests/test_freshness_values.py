"""Values whose encoding dropped what the user sees, code taken for a library's, a parameter
counted where it cannot apply.

The first tests compare tokens of values in this process (``describe``, as the walk sees a
module constant, and ``canonical.encode``, as a parameter's identity sees it); the cases
at the end are tiny projects run, edited and run again, each step in a fresh interpreter
with another hash seed, as ``test_freshness_cases`` runs them.
"""

import collections
import hashlib
import json
import os
import subprocess
import sys
import textwrap
import types

import numpy as np
import pandas as pd
import pytest

from daskflow import canonical
from daskflow.fingerprint.values import Collector, describe, own_class


def token(value) -> str:
    found = Collector("test")
    out = describe(value, found, "V")
    assert not found.incomplete, found.incomplete
    return out


def differ(a, b) -> bool:
    return token(a) != token(b)


# -- mappings: order, default_factory, maps --------------------------------------------------

def test_a_mapping_that_keeps_insertion_order_counts_its_order():
    od = collections.OrderedDict
    assert differ(od([("a", "alpha"), ("b", "beta")]), od([("b", "beta"), ("a", "alpha")]))
    assert differ(collections.Counter({"a": 1, "b": 1}), collections.Counter({"b": 1, "a": 1}))  # most_common ties
    assert differ(types.MappingProxyType({"a": 1, "b": 2}), types.MappingProxyType({"b": 2, "a": 1}))
    assert differ(collections.UserDict({"a": 1, "b": 2}), collections.UserDict({"b": 2, "a": 1}))
    assert differ([od([("a", 1), ("b", 2)])], [od([("b", 2), ("a", 1)])])  # nested too

    class Rename(dict):
        pass

    assert differ(Rename(a=1, b=2), Rename(b=2, a=1))
    # holding a function (no canonical encoding): taken apart item by item, its order too
    assert differ(od([("a", len), ("b", abs)]), od([("b", abs), ("a", len)]))
    # keys in the order of their tokens (as a dict's, see _container) add nothing: the token is
    # the items' encoding, as before
    ordered = od((k, 1) for k in sorted("abc", key=token))
    assert token(ordered) == "const " + hashlib.sha256(canonical.encode(ordered)).hexdigest()


def test_a_defaultdict_counts_its_default_factory():
    items = {"a": 2}
    tokens = {token(collections.defaultdict(f, items)) for f in (int, float, list, None)}
    assert len(tokens) == 4
    assert "factory class builtins:int" in token(collections.defaultdict(int, items))
    found = Collector("test")
    text = describe(collections.defaultdict(lambda: 1, items), found, "W")
    assert "factory func" in text and [k for k, _ in found.refs] == ["func"]  # its code is walked
    assert differ(collections.defaultdict(int, {"a": len}), collections.defaultdict(float, {"a": len}))


def test_a_chainmap_counts_its_maps():
    cm = collections.ChainMap
    assert differ(cm({"k": 1}, {"k": 2}), cm({"k": 2}, {"k": 1}))  # the same view, another layering
    assert differ(cm({"a": 1, "b": 2}), cm({"b": 2, "a": 1}))
    assert differ(cm({"k": 1}), cm({}, {"k": 1}))  # CFG["k"] = 2 writes the first map


# -- numpy: masks, structured dtypes, subclasses ----------------------------------------------

def test_a_masked_array_counts_its_mask_fill_value_and_hardness():
    base = np.ma.array([1.0, 2.0, 3.0], mask=[0, 1, 0])
    assert differ(base, np.ma.array([1.0, 2.0, 3.0], mask=[0, 0, 1]))
    assert differ(base, np.ma.array([1.0, 2.0, 3.0], mask=[0, 1, 0], fill_value=-1.0))
    assert differ(base, np.ma.array([1.0, 2.0, 3.0], mask=[0, 1, 0], hard_mask=True))
    assert differ(np.ma.array([1.0, 2.0]), np.array([1.0, 2.0]))
    assert canonical.encode(base) == canonical.encode(np.ma.array([1.0, 2.0, 3.0], mask=[False, True, False]))


def test_a_structured_dtype_counts_its_field_names():
    a = np.array([(1, 2.0)], dtype=[("id", "i4"), ("w", "f8")])
    b = np.array([(1, 2.0)], dtype=[("id", "i4"), ("weight", "f8")])
    assert differ(a, b) and differ(a[0], b[0]) and differ(a.dtype, b.dtype)
    assert differ(a, np.array([(1, 2.0)], dtype=[("id", "i8"), ("w", "f8")]))
    assert differ(np.dtype("i4"), np.dtype("i8"))


def test_a_structured_array_does_not_count_its_padding_bytes():
    dtype = np.dtype({"names": ["a", "b"], "formats": ["i1", "i4"], "aligned": True})  # 3 bytes of padding
    raws = [np.frombuffer(bytes([1, fill, fill, fill, 2, 0, 0, 0]), dtype=dtype) for fill in (0, 255)]
    assert raws[0].tobytes() != raws[1].tobytes() and (raws[0] == raws[1]).all()
    assert canonical.encode(raws[0]) == canonical.encode(raws[1])
    assert canonical.encode(raws[0][0]) == canonical.encode(raws[1][0])


def test_a_subclass_of_ndarray_counts_its_class_and_data():
    assert differ(np.matrix([[1, 2]]), np.array([[1, 2]]))  # m * m multiplies matrices
    rec = np.rec.array([(1, 2.0)], dtype=[("a", "i4"), ("b", "f8")])
    assert differ(rec, np.array([(1, 2.0)], dtype=[("a", "i4"), ("b", "f8")]))

    class Grid(np.ndarray):  # of this module's: its data count, not only its (empty) attributes
        pass

    assert differ(np.array([1, 2]).view(Grid), np.array([1, 3]).view(Grid))


# -- pandas: index freq, index dtype, label types, extension arrays ------------------------------

def test_a_datetime_index_counts_its_freq():
    days = ["2024-01-01", "2024-01-02", "2024-01-03"]
    assert differ(pd.DatetimeIndex(days, freq="D"), pd.DatetimeIndex(days))
    assert differ(pd.timedelta_range("1D", periods=2, freq="D"), pd.TimedeltaIndex(["1D", "2D"]))
    for make in (lambda i: pd.Series([1, 2, 3], index=i), lambda i: pd.DataFrame({"a": [1, 2, 3]}, index=i)):
        assert differ(make(pd.DatetimeIndex(days, freq="D")), make(pd.DatetimeIndex(days)))


def test_an_index_counts_its_names_dtype_and_kind():
    assert differ(pd.Index([1, 2], name="a"), pd.Index([1, 2], name="b"))
    assert differ(pd.Index([1, 2], dtype="int64"), pd.Index([1, 2], dtype="int32"))
    assert differ(pd.period_range("2024-01", periods=2, freq="M"), pd.period_range("2024-01", periods=2, freq="2M"))
    assert differ(pd.IntervalIndex.from_breaks([0, 5], closed="left"), pd.IntervalIndex.from_breaks([0, 5], closed="right"))
    assert differ(pd.CategoricalIndex(["a", "b"], ordered=True), pd.CategoricalIndex(["a", "b"]))
    assert differ(pd.MultiIndex.from_tuples([(1, 2)], names=["a", "b"]), pd.MultiIndex.from_tuples([(1, 2)], names=["a", "c"]))
    assert differ(pd.DatetimeIndex(["2024-01-01"], tz="UTC"), pd.DatetimeIndex(["2024-01-01"], tz="Europe/Berlin"))
    assert canonical.encode(pd.Index(["a", "b"])) == canonical.encode(pd.Index(["a", "b"]))  # a parameter's too


def test_a_series_counts_its_index_dtype():
    days = pd.DatetimeIndex(["2024-01-01"])
    assert differ(pd.Series([1], index=days), pd.Series([1], index=days.tz_localize("UTC")))
    assert differ(pd.Series([1], index=pd.Index([1], dtype="int32")), pd.Series([1], index=pd.Index([1], dtype="int64")))
    assert differ(pd.Series([1], index=pd.period_range("2024-01", periods=1, freq="M")),
                  pd.Series([1], index=pd.period_range("2024-01", periods=1, freq="2M")))
    levels = [pd.MultiIndex.from_arrays([pd.Index([1], dtype=t), ["x"]]) for t in ("int32", "int64")]
    assert differ(pd.DataFrame({"a": [1]}, index=levels[0]), pd.DataFrame({"a": [1]}, index=levels[1]))


def test_labels_that_print_alike_differ_by_type():
    assert differ(pd.DataFrame({1: [1]}), pd.DataFrame({"1": [1]}))  # df[1] is not df["1"]
    assert differ(pd.Series([1], name=1), pd.Series([1], name="1"))
    assert differ(pd.Series([1], name=None), pd.Series([1], name="None"))
    assert differ(pd.Series([1], index=pd.Index([0], name=1)), pd.Series([1], index=pd.Index([0], name="1")))
    with_attrs = pd.Series([1])
    with_attrs.attrs["unit"] = "m"
    assert differ(pd.Series([1]), with_attrs)


def test_a_pandas_array_counts_its_dtype():
    assert differ(pd.array([1, None], dtype="Int64"), pd.array([1, None], dtype="Int32"))
    assert differ(pd.arrays.SparseArray([0, 1], fill_value=0), pd.arrays.SparseArray([0, 1], fill_value=1))
    assert differ(pd.Categorical(["a", "b"], categories=["a", "b"]), pd.Categorical(["a", "b"], categories=["b", "a"]))
    assert differ(pd.Categorical(["a", "b"], ordered=True), pd.Categorical(["a", "b"]))


def test_plain_frames_and_series_keep_their_bytes():
    """What the new metadata adds is only there when the object has it: a frame or series
    with a default index, text labels and no freq is encoded as before (the golden file
    holds two)."""
    for value in (pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}), pd.Series([1.0, 2.0], name="s"),
                  pd.Series([1.0], index=pd.Index([0], name="r"), name="v")):
        assert b"index-freq" not in canonical.encode(value) and b"name-type" not in canonical.encode(value)
    assert b"pandas-meta" not in canonical.encode(pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}))


# -- own code: classes its module does not hold -------------------------------------------------

def test_a_class_of_make_dataclass_is_own_code():
    import dataclasses

    cfg = dataclasses.make_dataclass("Cfg", [("k", int, dataclasses.field(default=2))])
    assert own_class(cfg)
    found = Collector("test")
    describe(cfg, found, "Cfg")
    assert ("class", cfg) in found.refs  # walked: its fields and defaults count
    named = types.new_class("Named", (), {}, lambda ns: ns.update(k=1))
    assert own_class(named)


def test_a_library_class_is_not_own_code():
    import _thread
    import re

    assert not own_class(collections.OrderedDict) and not own_class(re.Pattern)
    assert not own_class(_thread.LockType) and not own_class(pd.DataFrame) and not own_class(int)
    # a library's namedtuple, not where its name says: its methods are collections'
    assert not own_class(collections.namedtuple("Renamed", "a", module="json"))


# -- deterministic across processes and hash seeds ----------------------------------------------

VALUES_SCRIPT = '''
import collections, json, types
import numpy as np, pandas as pd
from daskflow.fingerprint.values import Collector, describe
days = ["2024-01-01", "2024-01-02"]
values = {
    "od": collections.OrderedDict([("b", 1), ("a", 2), ("c", {"z", "y", "x"})]),
    "counter": collections.Counter(["x", "y", "y", "z"]),
    "dd": collections.defaultdict(set, {"k": frozenset({"p", "q", "r"})}),
    "cm": collections.ChainMap({"b": 1}, {"a": {"s", "t"}}),
    "proxy": types.MappingProxyType({"b": 1, "a": 2}),
    "masked": np.ma.array([1.0, 2.0], mask=[0, 1]),
    "records": np.array([(1, 2.0)], dtype=[("id", "i4"), ("w", "f8")]),
    "dtype": np.dtype([("id", "i4")]),
    "matrix": np.matrix([[1, 2]]),
    "dtindex": pd.DatetimeIndex(days, freq="D", name="d"),
    "frame": pd.DataFrame({1: [1, 2], "b": ["x", "y"]}, index=pd.DatetimeIndex(days, freq="D")),
    "series": pd.Series([1, 2], index=pd.Index(["p", "q"], name=0), name=("a", 1)),
    "midx": pd.MultiIndex.from_tuples([(1, "a")], names=["n", None]),
    "array": pd.array([1, None], dtype="Int32"),
}
print(json.dumps({k: describe(v, Collector("x"), k) for k, v in values.items()}))
'''


def test_new_encodings_do_not_depend_on_hash_seed(tmp_path):
    outs = []
    for seed in ("1", "4242"):
        proc = subprocess.run([sys.executable, "-c", VALUES_SCRIPT], cwd=tmp_path, capture_output=True, text=True,
                              env=dict(os.environ, PYTHONHASHSEED=seed), timeout=120)
        assert proc.returncode == 0, proc.stderr
        outs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    assert outs[0] == outs[1]


# -- edit, then run again in a fresh interpreter ------------------------------------------------

RUN = '''\
import json, warnings
warnings.simplefilter("always")
with warnings.catch_warnings(record=True) as caught:
    import daskflow
    import flow
    daskflow.run(flow.T(), scheduler="sync")
print(json.dumps({"warnings": [str(w.message) for w in caught]}))
'''

LOG = '''\
import os

def log(name):
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "calls.log"), "a") as f:
        f.write(name + "\\n")
'''


def T(body, head=""):
    return (f"import daskflow\nfrom calllog import log\n{head}\n\nclass T(daskflow.tasks.TaskJson):\n"
            f"    def run(self):\n        log('T')\n        self.save({{'v': {body}}})\n")


PLUGIN_LOADER = ('import importlib.util\nfrom pathlib import Path\n'
                 '_spec = importlib.util.spec_from_file_location("score_plugin", Path(__file__).parent / "plugins" / "score.py")\n'
                 'score_plugin = importlib.util.module_from_spec(_spec)\n_spec.loader.exec_module(score_plugin)\n')

# name: ({file: text}, edit (file, old, new) or "seed", task bodies that must run after it)
CASES = {
    "ordereddict-reordered": (
        {"flow.py": T("list(RENAME)", "from collections import OrderedDict\nRENAME = OrderedDict([('a', 'alpha'), ('b', 'beta')])")},
        ("flow.py", "[('a', 'alpha'), ('b', 'beta')]", "[('b', 'beta'), ('a', 'alpha')]"), ["T"]),
    "defaultdict-factory": (
        {"flow.py": T("sum(W[k] for k in 'abc')", "from collections import defaultdict\nW = defaultdict(int, {'a': 2})")},
        ("flow.py", "defaultdict(int, ", "defaultdict(lambda: 1, "), ["T"]),
    "defaultdict-factory-lambda-body": (
        {"flow.py": T("sum(W[k] for k in 'abc')", "from collections import defaultdict\nW = defaultdict(lambda: 1, {'a': 2})")},
        ("flow.py", "lambda: 1", "lambda: 5"), ["T"]),
    "masked-array-mask": (
        {"flow.py": T("float(W.sum())", "import numpy as np\nW = np.ma.array([1.0, 2.0, 3.0], mask=[0, 1, 0])")},
        ("flow.py", "mask=[0, 1, 0]", "mask=[0, 0, 1]"), ["T"]),
    "structured-dtype-field-renamed": (
        {"flow.py": T("list(REF.dtype.names)", "import numpy as np\nREF = np.array([(1, 2.0)], dtype=[('id', 'i4'), ('w', 'f8')])")},
        ("flow.py", "('w', 'f8')", "('weight', 'f8')"), ["T"]),
    "datetimeindex-freq": (
        {"flow.py": T("str(IDX.freq)", "import pandas as pd\nIDX = pd.DatetimeIndex(['2024-01-01', '2024-01-02', '2024-01-03'], freq='D')")},
        ("flow.py", "freq='D')", "freq=None)"), ["T"]),
    "make-dataclass-default": (
        {"flow.py": T("Cfg().k * 10", "from dataclasses import make_dataclass, field\nCfg = make_dataclass('Cfg', [('k', int, field(default=2))])")},
        ("flow.py", "field(default=2)", "field(default=3)"), ["T"]),
    "plugin-from-file-location": (
        {"plugins/score.py": "def score(x):\n    return x + 1\n", "flow.py": T("score_plugin.score(1)", PLUGIN_LOADER)},
        ("plugins/score.py", "x + 1", "x + 5"), ["T"]),
    "plugin-from-file-location-constant": (
        {"plugins/score.py": "K = 1\n\ndef score(x):\n    return x + K\n", "flow.py": T("score_plugin.score(1)", PLUGIN_LOADER)},
        ("plugins/score.py", "K = 1", "K = 2"), ["T"]),
    "plugin-from-file-location-class": (
        {"plugins/score.py": "class Scorer:\n    def score(self, x):\n        return x + 1\n",
         "flow.py": T("SCORER.score(1)", PLUGIN_LOADER + "SCORER = score_plugin.Scorer()\n")},
        ("plugins/score.py", "x + 1", "x + 5"), ["T"]),
    "parent-default-child-redeclares": (
        {"flow.py": "import daskflow\nfrom calllog import log\n\nclass Base(daskflow.tasks.TaskJson):\n"
                    "    k = daskflow.IntParameter(default=2)\n\n    def run(self):\n        log('T')\n"
                    "        self.save({'v': self.k * 10})\n\nclass T(Base):\n    k = daskflow.IntParameter(default=3)\n"},
        ("flow.py", "IntParameter(default=2)", "IntParameter(default=4)"), []),
    "parent-default-child-inherits": (  # the default the child inherits still counts
        {"flow.py": "import daskflow\nfrom calllog import log\n\nclass Base(daskflow.tasks.TaskJson):\n"
                    "    k = daskflow.IntParameter(default=2)\n\n    def run(self):\n        log('T')\n"
                    "        self.save({'v': self.k * 10})\n\nclass T(Base):\n    pass\n"},
        ("flow.py", "IntParameter(default=2)", "IntParameter(default=4)"), ["T"]),
    # -- no false-stale: the same project in another process with another hash seed -------------
    "new-encodings-other-seed": (
        {"flow.py": T("len(V)", "import collections, numpy as np, pandas as pd\n"
                                "V = [collections.OrderedDict([('b', {'x', 'y', 'z'}), ('a', 1)]), "
                                "collections.defaultdict(lambda: 1, {'k': 2}), collections.Counter('abcabd'), "
                                "collections.ChainMap({'b': 1}, {'a': 2}), np.ma.array([1.0], mask=[1]), "
                                "np.array([(1, 2.0)], dtype=[('id', 'i4'), ('w', 'f8')]), "
                                "pd.DatetimeIndex(['2024-01-01', '2024-01-02'], freq='D'), pd.array([1, None], dtype='Int32')]")},
        "seed", []),
    "own-code-other-seed": (
        {"plugins/score.py": "TAGS = {'a', 'b', 'c'}\n\ndef score(x):\n    return x + len(TAGS)\n",
         "flow.py": T("score_plugin.score(Cfg().k)", PLUGIN_LOADER + "from dataclasses import make_dataclass, field\n"
                      "Cfg = make_dataclass('Cfg', [('k', int, field(default=2)), ('tags', frozenset, field(default=frozenset('xyz')))])")},
        "seed", []),
}


def _run(folder, seed):
    env = dict(os.environ, PYTHONHASHSEED=seed, PYTHONDONTWRITEBYTECODE="1")
    env.pop("DASKFLOW_ROOT", None)
    log = folder / "calls.log"
    if log.exists():
        log.unlink()
    proc = subprocess.run([sys.executable, "run.py"], cwd=folder, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["bodies"] = sorted(set(log.read_text().split())) if log.exists() else []
    return out


@pytest.mark.parametrize("name", sorted(CASES))
def test_case(tmp_path, name):
    files, step, expect = CASES[name]
    folder = tmp_path / "proj"
    for rel, text in {"run.py": RUN, "calllog.py": LOG, "pyproject.toml": "[project]\nname = 'p'\n", **files}.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_text(textwrap.dedent(text))
    first = _run(folder, "1")
    assert first["bodies"] == ["T"], first
    if step != "seed":
        path = folder / step[0]
        text = path.read_text()
        assert step[1] in text, step
        path.write_text(text.replace(step[1], step[2], 1))
    out = _run(folder, "2")
    assert out["bodies"] == expect, out
    assert not [w for w in out["warnings"] if "incomplete" in w], out
