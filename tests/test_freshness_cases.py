"""Edit-then-rerun cases, each step in a fresh interpreter with a new hash seed.

Every case is a tiny project (``flow.py`` and, where needed, ``pkg/*.py``)
built once, edited (or copied, or run with another seed), and run again; the
task bodies that executed are compared with what must run.  ``expect`` lists
the task bodies that must rerun; ``warn`` cases may instead warn, at plan
time, naming what the walk could not follow.  The same table, run against
another checkout of daskflow (``PYTHONPATH=...``), gives the before/after
counts of false-fresh and false-stale results.
"""

import io
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

HEADER = '''\
import os
import daskflow

def log(name):
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "calls.log"), "a") as f:
        f.write(name + "\\n")

'''

RUN = '''\
import json, sys, warnings
warnings.simplefilter("always")
with warnings.catch_warnings(record=True) as caught:
    import daskflow
    import flow
    result = daskflow.run(flow.T(), scheduler="sync")
    text = str(daskflow.why(flow.T()))
print(json.dumps({"warnings": [str(w.message) for w in caught]}))
'''


def T(body, uses="", requires=""):
    """A task T whose run() logs itself and saves ``body``."""
    req = f"\n    def requires(self):\n        return {requires}\n" if requires else ""
    return (f"class T(daskflow.tasks.TaskJson):{req}\n    def run(self):\n        log('T')\n"
            f"        self.save({{'v': {body}}})\n")


MATCH = ("def agg(spec):\n    match spec:\n        case {'how': 'trim', 'k': k, **rest} if k > 0:\n"
         "            return [k, sorted(rest)]\n        case [first, *others]:\n            return [first, others]\n"
         "        case _:\n            return 0\n")

HELPERS_MOD = "SCALE = 3\n\ndef inner(x):\n    return x * SCALE\n"

UP = ("class Up(daskflow.tasks.TaskJson):\n    SCALE = 2\n\n    def run(self):\n        log('Up')\n"
      "        self.save({'v': 1})\n\n    def post(self, x):\n        return x + 1\n\n")

MIXINS = ("class DropNa:\n    def clean(self, xs):\n        return [x for x in xs if x is not None]\n\n"
          "class FillNa:\n    def clean(self, xs):\n        return [0 if x is None else x for x in xs]\n\n"
          "class Shout:\n    def loud(self):\n        return 1\n\n")

# a memoized loader (functools.lru_cache) that two sibling tasks call: the second gets the
# value from the cache and opens nothing; the path is made at run time (no constant to hash)
MEMOIZED = (
    "import functools, json\nfrom pathlib import Path\n\n@functools.lru_cache(maxsize=None)\ndef settings():\n"
    "    return json.loads(Path(__file__).with_name('conf.json').read_text())\n\n\n"
    "class A(daskflow.tasks.TaskJson):\n    def run(self):\n        log('A')\n"
    "        self.save({'v': settings()['k']})\n\n"
    "class B(daskflow.tasks.TaskJson):\n    def run(self):\n        log('B')\n"
    "        self.save({'v': settings()['k'] * 100})\n\n"
    "class T(daskflow.tasks.TaskJson):\n    def requires(self):\n        return [A(), B()]\n\n"
    "    def run(self):\n        log('T')\n        self.save({'v': sum(x['v'] for x in self.inputLoad())})\n")

# task classes made by type() in a module-level loop (globals()[name] = type(...)), as a family of
# similar tasks often is; T requires them all
LOOP_CLASSES = (
    "class Base(daskflow.tasks.TaskJson):\n    K = 1\n\n    def run(self):\n        log(type(self).__name__)\n"
    "        self.save({'v': self.K})\n\n"
    "SPECS = [('Times2', 2), ('Times3', 3)]\nfor _name, _k in SPECS:\n"
    "    globals()[_name] = type(_name, (Base,), {'K': _k, '__module__': __name__})\n\n"
    "class T(daskflow.tasks.TaskJson):\n    def requires(self):\n        return [Times2(), Times3()]\n\n"
    "    def run(self):\n        log('T')\n        self.save({'v': sum(x['v'] for x in self.inputLoad())})\n")

# name: (flow.py body after HEADER, {other files}, edit (file, old, new) or a special step, expect)
CASES = {
    # -- code parts that share a name -------------------------------------------------------
    "lambdas-one-line": (
        "F, G = (lambda x: x + 1), (lambda x: x * 2)\n\n" + T("G(3)"), {},
        ("flow.py", "x * 2", "x * 5"), ["T"]),
    "lambdas-one-line-unused-edited": (
        "F, G = (lambda x: x + 1), (lambda x: x * 2)\n\n" + T("G(3)"), {},
        ("flow.py", "x + 1", "x + 7"), []),
    "lambdas-separate-lines-first": (
        "F = lambda x: x + 1\nG = lambda x: x * 2\n\n" + T("F(3) + G(3)"), {},
        ("flow.py", "x + 1", "x + 7"), ["T"]),
    "lambdas-separate-lines-second": (
        "F = lambda x: x + 1\nG = lambda x: x * 2\n\n" + T("F(3) + G(3)"), {},
        ("flow.py", "x * 2", "x * 7"), ["T"]),
    "lambda-in-multiline-dict": (
        "OPS = {\n    'a': lambda x: x + 1,\n    'b': lambda x: x * 2,\n}\n\n" + T("OPS['b'](3)"), {},
        ("flow.py", "x * 2", "x * 9"), ["T"]),
    "lambda-in-multiline-dict-first": (
        "OPS = {\n    'a': lambda x: x + 1,\n    'b': lambda x: x * 2,\n}\n\n" + T("OPS['a'](3)"), {},
        ("flow.py", "x + 1", "x + 9"), ["T"]),
    "lambda-in-multiline-list": (
        "STEPS = [\n    lambda x: x + 1,\n    lambda x: x * 2,\n]\n\n" + T("STEPS[1](3)"), {},
        ("flow.py", "x * 2", "x * 4"), ["T"]),
    "lambda-in-multiline-call": (
        "import functools\nOPS = dict(\n    a=lambda x: x + 1,\n    b=lambda x: x - 2,\n)\n\n" + T("OPS['b'](3)"), {},
        ("flow.py", "x - 2", "x - 3"), ["T"]),
    "lambda-blank-line-on-top": (
        "F, G = (lambda x: x + 1), (lambda x: x * 2)\n\n" + T("F(1) + G(3)"), {},
        ("flow.py", "import os\n", "\n\nimport os\n"), []),
    "lambda-comment-inside-literal": (
        "OPS = {\n    'a': lambda x: x + 1,\n    'b': lambda x: x * 2,\n}\n\n" + T("OPS['b'](3)"), {},
        ("flow.py", "    'b': lambda", "    # b doubles\n    'b': lambda"), []),
    "closures-same-factory-second": (
        "def make(k):\n    def scale(x):\n        return x * k\n    return scale\n\nS2 = make(2)\nS3 = make(3)\n\n"
        + T("S2(1) + S3(1)"), {}, ("flow.py", "S3 = make(3)", "S3 = make(4)"), ["T"]),
    "closures-same-factory-first": (
        "def make(k):\n    def scale(x):\n        return x * k\n    return scale\n\nS2 = make(2)\nS3 = make(3)\n\n"
        + T("S2(1) + S3(1)"), {}, ("flow.py", "S2 = make(2)", "S2 = make(5)"), ["T"]),
    "closures-factory-body": (
        "def make(k):\n    def scale(x):\n        return x * k\n    return scale\n\nS2 = make(2)\nS3 = make(3)\n\n"
        + T("S2(1) + S3(1)"), {}, ("flow.py", "return x * k", "return x * k + 1"), ["T"]),
    "nested-defs-same-name": (
        "def one():\n    def f():\n        return 1\n    return f\n\ndef two():\n    def f():\n        return 2\n    return f\n\n"
        "F1, F2 = one(), two()\n\n" + T("F1() + F2()"), {}, ("flow.py", "return 2", "return 20"), ["T"]),
    # -- values the encoder did not know ------------------------------------------------------
    "dataclass-slots-frozen": (
        "from dataclasses import dataclass\n\n@dataclass(slots=True, frozen=True)\nclass Cfg:\n    a: int\n\n"
        "CFG = Cfg(1)\n\n" + T("CFG.a"), {}, ("flow.py", "Cfg(1)", "Cfg(2)"), ["T"]),
    "dataclass-plain": (
        "from dataclasses import dataclass\n\n@dataclass\nclass Cfg:\n    a: int\n\n"
        "CFG = Cfg(1)\n\n" + T("CFG.a"), {}, ("flow.py", "Cfg(1)", "Cfg(2)"), ["T"]),
    "dataclass-field-default": (
        "from dataclasses import dataclass\n\n@dataclass(frozen=True)\nclass Cfg:\n    a: int = 1\n\n"
        "CFG = Cfg()\n\n" + T("CFG.a"), {}, ("flow.py", "a: int = 1", "a: int = 2"), ["T"]),
    "pandas-timedelta": (
        "import pandas as pd\nW = pd.Timedelta('1D')\n\n" + T("W.days"), {}, ("flow.py", "'1D'", "'2D'"), ["T"]),
    "pandas-timestamp": (
        "import pandas as pd\nW = pd.Timestamp('2024-01-01')\n\n" + T("W.day"), {},
        ("flow.py", "'2024-01-01'", "'2024-01-02'"), ["T"]),
    "pandas-dateoffset": (
        "import pandas as pd\nW = pd.DateOffset(days=1)\n\n" + T("str(pd.Timestamp('2024-01-01') + W)"), {},
        ("flow.py", "days=1", "days=2"), ["T"]),
    "simplenamespace": (
        "from types import SimpleNamespace\nNS = SimpleNamespace(a=1, b='x')\n\n" + T("NS.a"), {},
        ("flow.py", "a=1", "a=2"), ["T"]),
    "range": ("R = range(10)\n\n" + T("sum(R)"), {}, ("flow.py", "range(10)", "range(11)"), ["T"]),
    "numpy-array": (
        "import numpy as np\nA = np.array([1, 2])\n\n" + T("int(A.sum())"), {},
        ("flow.py", "[1, 2]", "[1, 3]"), ["T"]),
    "numpy-scalar": (
        "import numpy as np\nA = np.float64(1.5)\n\n" + T("float(A)"), {}, ("flow.py", "1.5", "2.5"), ["T"]),
    "enum-member-switched": (
        "import enum\nclass Color(enum.Enum):\n    RED = 1\n    BLUE = 2\n\nC = Color.RED\n\n" + T("C.value"), {},
        ("flow.py", "C = Color.RED", "C = Color.BLUE"), ["T"]),
    "enum-value-edited": (
        "import enum\nclass Color(enum.Enum):\n    RED = 1\n    BLUE = 2\n\nC = Color.RED\n\n" + T("C.value"), {},
        ("flow.py", "RED = 1", "RED = 5"), ["T"]),
    "decimal": ("import decimal\nD = decimal.Decimal('1.1')\n\n" + T("str(D)"), {},
                ("flow.py", "'1.1'", "'1.2'"), ["T"]),
    "pathlib": ("from pathlib import Path\nP = Path('a')\n\n" + T("str(P)"), {}, ("flow.py", "'a'", "'b'"), ["T"]),
    "re-pattern": ("import re\nP = re.compile('a+')\n\n" + T("bool(P.match('aa'))"), {},
                   ("flow.py", "'a+'", "'b+'"), ["T"]),
    "nested-mix": (
        "import pandas as pd\nfrom types import SimpleNamespace\nCFG = {'w': pd.Timedelta('1D'), 'r': range(3), "
        "'ns': SimpleNamespace(k=[1, 2])}\n\n" + T("CFG['w'].days"), {},
        ("flow.py", "'1D'", "'3D'"), ["T"]),
    "nested-mix-inner-list": (
        "from types import SimpleNamespace\nCFG = {'ns': SimpleNamespace(k=[1, 2])}\n\n" + T("CFG['ns'].k"), {},
        ("flow.py", "k=[1, 2]", "k=[1, 3]"), ["T"]),
    # -- look-ups by a constant name ----------------------------------------------------------
    "getattr-module-constant-name": (
        "import pkg.helpers as h\n\n" + T("getattr(h, 'SCALE')"), {"pkg/helpers.py": HELPERS_MOD},
        ("pkg/helpers.py", "SCALE = 3", "SCALE = 4"), ["T"]),
    "globals-constant-name": (
        "FACTOR = 2\n\n" + T("globals()['FACTOR']"), {}, ("flow.py", "FACTOR = 2", "FACTOR = 3"), ["T"]),
    "vars-module-constant-name": (
        "import pkg.helpers as h\n\n" + T("vars(h)['SCALE']"), {"pkg/helpers.py": HELPERS_MOD},
        ("pkg/helpers.py", "SCALE = 3", "SCALE = 4"), ["T"]),
    "sys-modules-constant-name": (
        "import sys\nimport pkg.helpers\n\n" + T("sys.modules['pkg.helpers'].inner(1)"), {"pkg/helpers.py": HELPERS_MOD},
        ("pkg/helpers.py", "return x * SCALE", "return x * SCALE + 1"), ["T"]),
    "import-module-constant-name": (
        "import importlib\n\n" + T("importlib.import_module('pkg.helpers').SCALE"), {"pkg/helpers.py": HELPERS_MOD},
        ("pkg/helpers.py", "SCALE = 3", "SCALE = 4"), ["T"]),
    "getattr-computed-name-warns": (
        "import pkg.helpers as h\nNAME = 'SC' + 'ALE'\n\n" + T("getattr(h, NAME.strip())"),
        {"pkg/helpers.py": HELPERS_MOD}, ("pkg/helpers.py", "SCALE = 3", "SCALE = 4"), "warn"),
    # -- helper classes: the whole MRO ----------------------------------------------------------
    "mro-base-method": (
        "class Base:\n    def transform(self, x):\n        return x + 1\n\nclass Model(Base):\n    pass\n\n"
        + T("Model().transform(1)"), {}, ("flow.py", "return x + 1", "return x + 2"), ["T"]),
    "mro-base-in-other-module": (
        "from pkg.base import Base\n\nclass Model(Base):\n    k = 1\n\n" + T("Model().transform(1)"),
        {"pkg/base.py": "class Base:\n    def transform(self, x):\n        return x + 1\n"},
        ("pkg/base.py", "return x + 1", "return x + 2"), ["T"]),
    "mro-base-class-attribute": (
        "class Base:\n    RATE = 1\n\nclass Model(Base):\n    def get(self):\n        return self.RATE\n\n"
        + T("Model().get()"), {}, ("flow.py", "RATE = 1", "RATE = 2"), ["T"]),
    "mro-grandparent": (
        "class G:\n    def f(self):\n        return 1\n\nclass P(G):\n    pass\n\nclass Model(P):\n    pass\n\n"
        + T("Model().f()"), {}, ("flow.py", "return 1", "return 2"), ["T"]),
    # -- task classes used as namespaces --------------------------------------------------------
    "task-class-constant": (
        "class Other(daskflow.tasks.TaskJson):\n    SCALE = 2\n    def run(self):\n        self.save({})\n\n"
        + T("Other.SCALE"), {}, ("flow.py", "SCALE = 2", "SCALE = 3"), ["T"]),
    "upstream-static-method-cutoff": (
        "class A(daskflow.tasks.TaskJson):\n    @staticmethod\n    def norm(x):\n        return x + 1\n\n"
        "    def run(self):\n        log('A')\n        self.save({'a': 1})\n\n"
        + T("A.norm(self.inputLoad()['a'])", requires="A()"), {},
        ("flow.py", "return x + 1", "return x + 2"), ["A", "T"]),
    "task-class-method-not-upstream": (
        "class Other(daskflow.tasks.TaskJson):\n    @classmethod\n    def norm(cls, x):\n        return x * 2\n\n"
        + T("Other.norm(3)"), {}, ("flow.py", "return x * 2", "return x * 3"), ["T"]),
    # -- defaults, decorators, blocks -------------------------------------------------------------
    "default-argument": ("def helper(x, k=2):\n    return x * k\n\n" + T("helper(1)"), {},
                         ("flow.py", "k=2", "k=3"), ["T"]),
    "decorator-argument": (
        "import functools\n\ndef times(n):\n    def deco(f):\n        @functools.wraps(f)\n        def w(x):\n"
        "            return f(x) * n\n        return w\n    return deco\n\n@times(2)\ndef helper(x):\n    return x\n\n"
        + T("helper(1)"), {}, ("flow.py", "@times(2)", "@times(3)"), ["T"]),
    "edit-inside-if-block": (
        "def helper(x):\n    if x > 0:\n        y = x + 1\n    else:\n        y = 0\n    return y\n\n" + T("helper(1)"), {},
        ("flow.py", "y = x + 1", "y = x + 2"), ["T"]),
    "helper-class-attribute": (
        "class Cfg:\n    RATE = 0.1\n\n" + T("Cfg.RATE"), {}, ("flow.py", "RATE = 0.1", "RATE = 0.2"), ["T"]),
    # -- variants a careful user tries next ---------------------------------------------------
    "lambda-default-argument": ("F = lambda x, k=2: x * k\n\n" + T("F(3)"), {}, ("flow.py", "k=2", "k=5"), ["T"]),
    "lambda-added-elsewhere": (
        "OPS = {\n    'a': lambda x: x + 1,\n    'b': lambda x: x * 2,\n}\n\n" + T("OPS['b'](3)"), {},
        ("flow.py", "OPS = {", "EXTRA = [lambda y: y]\n\nOPS = {"), []),
    "functions-reordered": (
        "def f(x):\n    return x + 1\n\ndef g(x):\n    return f(x) * 2\n\n" + T("g(1)"), {},
        ("flow.py", "def f(x):\n    return x + 1\n\n", "def zzz():\n    return 0\n\ndef f(x):\n    return x + 1\n\n"), []),
    "partial-keyword": (
        "import functools\n\ndef helper(x, k=1):\n    return x * k\n\nH = functools.partial(helper, k=2)\n\n" + T("H(1)"),
        {}, ("flow.py", "k=2)", "k=3)"), ["T"]),
    "function-list-swapped": (
        "def f(x):\n    return x + 1\n\ndef g(x):\n    return x * 3\n\nSTEPS = [f, g]\n\n" + T("STEPS[0](2)"), {},
        ("flow.py", "STEPS = [f, g]", "STEPS = [g, f]"), ["T"]),
    "staticmethod-of-helper": (
        "class U:\n    @staticmethod\n    def f(x):\n        return x + 1\n\n" + T("U.f(1)"), {},
        ("flow.py", "return x + 1", "return x + 2"), ["T"]),
    "property-of-helper": (
        "class U:\n    @property\n    def v(self):\n        return 1\n\n" + T("U().v"), {},
        ("flow.py", "return 1", "return 2"), ["T"]),
    "task-own-class-attribute": (
        T("self.SCALE").replace("    def run", "    SCALE = 2\n\n    def run", 1), {},
        ("flow.py", "SCALE = 2", "SCALE = 3"), ["T"]),
    "constant-in-other-module-attr": (
        "from pkg import helpers\n\n" + T("helpers.SCALE"), {"pkg/helpers.py": HELPERS_MOD},
        ("pkg/helpers.py", "SCALE = 3", "SCALE = 4"), ["T"]),
    "enum-in-other-module": (
        "from pkg.kinds import Kind\n\n" + T("Kind.A.value"), {"pkg/kinds.py": "import enum\n\nclass Kind(enum.Enum):\n    A = 1\n"},
        ("pkg/kinds.py", "A = 1", "A = 2"), ["T"]),
    "numpy-dtype": (
        "import numpy as np\nA = np.array([1, 2], dtype='int32')\n\n" + T("int(A.sum())"), {},
        ("flow.py", "'int32'", "'int64'"), ["T"]),
    "dataclass-default-factory": (
        "from dataclasses import dataclass, field\n\n@dataclass\nclass Cfg:\n    ks: list = field(default_factory=lambda: [1])\n\n"
        "CFG = Cfg()\n\n" + T("CFG.ks"), {}, ("flow.py", "lambda: [1]", "lambda: [2]"), ["T"]),
    "frozen-dataclass-in-dict": (
        "from dataclasses import dataclass\n\n@dataclass(frozen=True, slots=True)\nclass P:\n    lr: float\n\n"
        "GRID = {'a': P(0.1), 'b': P(0.2)}\n\n" + T("GRID['b'].lr"), {}, ("flow.py", "P(0.2)", "P(0.3)"), ["T"]),
    "lru-cache-helper": (
        "import functools\n\n@functools.lru_cache(maxsize=None)\ndef helper(x):\n    return x + 1\n\n" + T("helper(1)"), {},
        ("flow.py", "return x + 1", "return x + 3"), ["T"]),
    "vars-unrelated-constant": (
        "import pkg.helpers as h\n\n" + T("vars(h)['SCALE']"), {"pkg/helpers.py": HELPERS_MOD + "OTHER = 1\n"},
        ("pkg/helpers.py", "OTHER = 1", "OTHER = 2"), []),
    "comment-in-helper-module": (
        "from pkg.helpers import inner\n\n" + T("inner(1)"), {"pkg/helpers.py": HELPERS_MOD},
        ("pkg/helpers.py", "def inner(x):\n", "# the inner helper\ndef inner(x):\n    # scales\n"), []),
    "helper-module-blank-lines-on-top": (
        "from pkg.helpers import inner\n\nF = lambda x: x\n\n" + T("inner(1) + F(1)"), {"pkg/helpers.py": HELPERS_MOD},
        ("flow.py", "import os\n", "\n\n\nimport os\n"), []),
    "closure-over-list-constant": (
        "def make(ks):\n    def f(x):\n        return x + sum(ks)\n    return f\n\nF = make([1, 2])\n\n" + T("F(1)"), {},
        ("flow.py", "make([1, 2])", "make([1, 3])"), ["T"]),
    "parameter-default-changed": (
        T("self.n").replace("    def run", "    n = daskflow.IntParameter(default=1)\n\n    def run", 1), {},
        ("flow.py", "default=1", "default=2"), ["T"]),
    "timestamp-tz": (
        "import pandas as pd\nW = pd.Timestamp('2024-01-01', tz='UTC')\n\n" + T("W.hour"), {},
        ("flow.py", "tz='UTC'", "tz='Europe/Paris'"), ["T"]),
    "nested-class-method": (
        "class Outer:\n    class Inner:\n        def f(self):\n            return 1\n\n" + T("Outer.Inner().f()"), {},
        ("flow.py", "return 1", "return 2"), ["T"]),
    # -- what ordinary code reaches besides names (an adversarial probe, 2026-12-03) ----------------
    "import-inside-run": (
        "class T(daskflow.tasks.TaskJson):\n    def run(self):\n        log('T')\n"
        "        from pkg.helpers import inner\n        self.save({'v': inner(2)})\n",
        {"pkg/helpers.py": HELPERS_MOD}, ("pkg/helpers.py", "x * SCALE", "x * SCALE + 1"), ["T"]),
    "import-module-inside-helper": (
        "def helper():\n    import pkg.helpers as h\n    return h.SCALE\n\n" + T("helper()"),
        {"pkg/helpers.py": HELPERS_MOD}, ("pkg/helpers.py", "SCALE = 3", "SCALE = 4"), ["T"]),
    "relative-import-inside-function": (
        "from pkg.a import f\n\n" + T("f()"),
        {"pkg/helpers.py": HELPERS_MOD, "pkg/a.py": "def f():\n    from .helpers import inner\n    return inner(1)\n"},
        ("pkg/helpers.py", "x * SCALE", "x * SCALE + 2"), ["T"]),
    "bound-method-of-own-object": (
        "class Scaler:\n    def __init__(self, k):\n        self.k = k\n\n    def transform(self, x):\n"
        "        return x * self.k\n\nSTEPS = [Scaler(3).transform]\n\n" + T("STEPS[0](2)"), {},
        ("flow.py", "Scaler(3)", "Scaler(5)"), ["T"]),
    "bound-method-of-library-object": (
        "import numpy as np\ndraw = np.random.default_rng(0).integers\n\n" + T("int(draw(100))"), {},
        ("flow.py", "default_rng(0)", "default_rng(1)"), ["T"]),
    "wrapper-applied-by-call": (
        "import functools\n\ndef clip(f):\n    @functools.wraps(f)\n    def w(x):\n        return min(f(x), 10)\n"
        "    return w\n\ndef _g(x):\n    return x * 4\n\ng = clip(_g)\n\n" + T("g(3)"), {},
        ("flow.py", "min(f(x), 10)", "min(f(x), 5)"), ["T"]),
    "metaclass-call": (
        "class Meta(type):\n    def __call__(cls, *a):\n        obj = super().__call__(*a)\n        obj.alpha = 1\n"
        "        return obj\n\nclass M(metaclass=Meta):\n    pass\n\n" + T("M().alpha"), {},
        ("flow.py", "obj.alpha = 1", "obj.alpha = 2"), ["T"]),
    "function-attribute": (
        "def w(x):\n    return x * w.limit\n\nw.limit = 3\n\n" + T("w(2)"), {},
        ("flow.py", "w.limit = 3", "w.limit = 4"), ["T"]),
    "singledispatch-implementation": (
        "import functools\n\n@functools.singledispatch\ndef f(x):\n    return 0\n\n@f.register\n"
        "def _(x: int):\n    return x + 1\n\n" + T("f(1)"), {},
        ("flow.py", "x + 1", "x + 2"), ["T"]),
    "pandas-query-at-name": (
        "import pandas as pd\nLIMIT = 1\n\n" + T("int(pd.DataFrame({'x': [1, 2, 3]}).query('x > @LIMIT')['x'].sum())"), {},
        ("flow.py", "LIMIT = 1", "LIMIT = 2"), ["T"]),
    "own-module-as-value": (
        "from pkg import features\nFEATS = {'v1': features}\n\n" + T("FEATS['v1'].build(1)"),
        {"pkg/features.py": "def build(x):\n    return x + 1\n"}, ("pkg/features.py", "x + 1", "x + 2"), ["T"]),
    "library-object-holding-own-function": (
        "from sklearn.preprocessing import FunctionTransformer\n\ndef double(x):\n    return x * 2\n\n"
        "FT = FunctionTransformer(double)\n\n" + T("float(FT.transform([[1.0]])[0][0])"), {},
        ("flow.py", "x * 2", "x * 3"), ["T"]),
    "module-level-call": (
        "import random\nrandom.seed(1)\n\n" + T("random.random()"), {},
        ("flow.py", "random.seed(1)", "random.seed(2)"), ["T"]),
    "import-for-its-side-effect": (
        "import pkg.acc\nimport pandas as pd\n\n" + T("pd.DataFrame({'x': [1, 2]}).feat.total()"),
        {"pkg/acc.py": "import pandas as pd\n\n@pd.api.extensions.register_dataframe_accessor('feat')\n"
                       "class Feat:\n    def __init__(self, df):\n        self._df = df\n\n"
                       "    def total(self):\n        return int(self._df['x'].sum()) + 1\n"},
        ("pkg/acc.py", "+ 1", "+ 2"), ["T"]),
    "accessor-registered-in-a-helper-reached-for-another-name": (  # helpers.clean is reached; df.feat too
        "from pkg.helpers import clean\nimport pandas as pd\n\n"
        + T("clean(pd.DataFrame({'x': [1, 2]})).feat.total()"),
        {"pkg/helpers.py": "import pandas as pd\n\ndef clean(df):\n    return df.dropna()\n\n"
                           "@pd.api.extensions.register_dataframe_accessor('feat')\n"
                           "class Feat:\n    def __init__(self, df):\n        self._df = df\n\n"
                           "    def total(self):\n        return int(self._df['x'].sum()) + 1\n"},
        ("pkg/helpers.py", "+ 1", "+ 2"), ["T"]),
    "library-registry-two-implementations-named-alike-first-edited": (  # dask's normalize_token registry
        "import helpers\nfrom dask.base import tokenize\n\n" + T("tokenize(helpers.A())"),
        {"helpers.py": "from dask.base import normalize_token\n\nclass A:\n    pass\n\nclass B:\n    pass\n\n"
                       "@normalize_token.register(A)\ndef _(x):\n    return 'a1'\n\n"
                       "@normalize_token.register(B)\ndef _(x):\n    return 'b1'\n"},
        ("helpers.py", "'a1'", "'a2'"), ["T"]),
    "accessor-imported-by-a-name-never-read": (
        "from pkg.acc import Feat  # noqa: F401\nimport pandas as pd\n\n"
        + T("pd.DataFrame({'x': [1, 2]}).feat.total()"),
        {"pkg/acc.py": "import pandas as pd\n\n@pd.api.extensions.register_dataframe_accessor('feat')\n"
                       "class Feat:\n    def __init__(self, df):\n        self._df = df\n\n"
                       "    def total(self):\n        return int(self._df['x'].sum()) + 1\n"},
        ("pkg/acc.py", "+ 1", "+ 2"), ["T"]),
    "unregistered-class-beside-a-reached-helper-is-not-counted": (
        "from pkg.helpers import clean\n\n" + T("clean(1)"),
        {"pkg/helpers.py": "import dataclasses\n\ndef clean(x):\n    return x + 1\n\n"
                           "@dataclasses.dataclass(frozen=True)\nclass Other:\n    k: int = 1\n"},
        ("pkg/helpers.py", "k: int = 1", "k: int = 2"), []),
    "match-capture-guard-edited": (
        "import helpers\n\n" + T("helpers.agg({'how': 'trim', 'k': 1})"),
        {"helpers.py": MATCH}, ("helpers.py", "if k > 0", "if k > 1"), ["T"]),
    "match-capture-beside-a-global-of-its-name": (  # k in the case is the pattern's, not the global
        "import helpers\n\n" + T("helpers.agg({'how': 'trim', 'k': 1})"),
        {"helpers.py": "k = 5\n\n" + MATCH}, ("helpers.py", "k = 5", "k = 6"), []),
    "cmp-to-key-of-own-function-edited": (
        "import functools\n\ndef compare(a, b):\n    return a - b\n\nKEY = functools.cmp_to_key(compare)\n\n"
        + T("sorted([3, 1, 2], key=KEY)"), {}, ("flow.py", "return a - b", "return b - a"), ["T"]),
    "frompyfunc-of-own-function-edited": (
        "import numpy as np\n\ndef bucket(x):\n    return int(x > 2)\n\nVB = np.frompyfunc(bucket, 1, 1)\n\n"
        + T("[int(v) for v in VB(np.array([1, 2, 3]))]"), {}, ("flow.py", "x > 2", "x > 1"), ["T"]),
    "cached-property-body": (
        "import functools\n\nclass Stats:\n    @functools.cached_property\n    def k(self):\n        return 2\n\n"
        + T("Stats().k"), {}, ("flow.py", "return 2", "return 3"), ["T"]),
    "singledispatchmethod-two-implementations": (
        "import functools\n\nclass S:\n    @functools.singledispatchmethod\n    def scale(self, x):\n        return 0\n\n"
        "    @scale.register\n    def _(self, x: int):\n        return x + 1\n\n"
        "    @scale.register\n    def _(self, x: float):\n        return x + 0.5\n\n" + T("S().scale(1)"), {},
        ("flow.py", "x + 1", "x + 2"), ["T"]),
    "memoized-loader-shared-by-siblings": (
        MEMOIZED, {"conf.json": '{"k": 1}'}, ("conf.json", '"k": 1', '"k": 2'), ["A", "B", "T"]),
    "memoized-loader-by-functools-cache-in-a-helper-module": (
        "import helpers\n\n" + MEMOIZED.split("\n\n\n", 1)[1].replace("settings()", "helpers.settings()"),
        {"conf.json": '{"k": 1}', "helpers.py": MEMOIZED.split("\n\n\n", 1)[0].replace(
            "functools.lru_cache(maxsize=None)", "functools.cache")},
        ("conf.json", '"k": 1', '"k": 3'), ["A", "B", "T"]),
    "classes-made-in-a-module-loop-one-edited": (
        LOOP_CLASSES, {}, ("flow.py", "('Times3', 3)", "('Times3', 4)"), ["T", "Times3"]),
    "classes-made-in-a-module-loop-base-edited": (
        LOOP_CLASSES, {}, ("flow.py", "'v': self.K}", "'v': self.K + 1}"), ["T", "Times2", "Times3"]),
    "classes-made-in-a-module-loop-by-update": (
        LOOP_CLASSES.replace("globals()[_name] = type(", "globals().update({_name: type(").replace(
            "__name__})", "__name__})})"), {}, ("flow.py", "('Times2', 2)", "('Times2', 5)"), ["T", "Times2"]),
    "globals-update-of-a-call-still-counts": (
        "import random\n\ndef setup():\n    random.seed(1)\n    return {'N': 1}\n\nglobals().update(setup())\n\n"
        + T("random.random()"), {}, ("flow.py", "random.seed(1)", "random.seed(2)"), ["T"]),
    "item-assignment-to-another-object-still-counts": (
        "import random\nSTATE = {}\nSTATE['seed'] = 1\nrandom.seed(STATE['seed'])\n\n" + T("random.random()"), {},
        ("flow.py", "STATE['seed'] = 1", "STATE['seed'] = 2"), ["T"]),
    "module-level-call-reads-a-constant": (
        "import random\nSEED = 1\nrandom.seed(SEED)\n\n" + T("random.random()"), {},
        ("flow.py", "SEED = 1", "SEED = 2"), ["T"]),
    "import-inside-run-fast-or-fallback": (
        "class T(daskflow.tasks.TaskJson):\n    def run(self):\n        log('T')\n        try:\n"
        "            from pkg.fast import f\n        except ImportError:\n            from pkg.slow import f\n"
        "        self.save({'v': f(1)})\n",
        {"pkg/fast.py": "def f(x):\n    return x + 1\n", "pkg/slow.py": "def f(x):\n    return x + 1\n"},
        ("pkg/fast.py", "x + 1", "x + 2"), ["T"]),
    "side-effect-import-in-package-init": (
        "import pandas as pd\nfrom pkg.helpers import inner\n\n" + T("inner(1) + pd.DataFrame({'x': [1]}).geo.center()"),
        {"pkg/__init__.py": "from . import acc\n", "pkg/helpers.py": HELPERS_MOD,
         "pkg/acc.py": "import pandas as pd\n\n@pd.api.extensions.register_dataframe_accessor('geo')\n"
                       "class Geo:\n    def __init__(self, o):\n        self.o = o\n\n    def center(self):\n        return 1\n"},
        ("pkg/acc.py", "return 1", "return 2"), ["T"]),
    "script-closing-run-call-edited": (
        T("1") + "\ndaskflow.preview(T())\nprint('built')\n", {},
        ("flow.py", "daskflow.preview(T())", "daskflow.preview([T()])"), []),
    "display-option-edited": (
        "import logging\nimport pandas as pd\npd.set_option('display.max_columns', 20)\nlogging.basicConfig(level=logging.INFO)\n\n"
        + T("1"), {}, ("flow.py", "max_columns', 20", "max_columns', 50"), []),
    "global-rng-bound-method-other-seed": (
        "from random import shuffle\nfrom numpy.random import rand\n\n" + T("callable(shuffle) and callable(rand)"), {},
        "seed", []),
    "pickled-object-method-past-cutoff": (  # Up reruns with equal bytes; T runs the edited method
        "class Model:\n    def predict(self, x):\n        return x + 1\n\n"
        "class Up(daskflow.tasks.TaskPickle):\n    def run(self):\n        log('Up')\n        self.save(Model())\n\n"
        + T("self.inputLoad().predict(2)", requires="Up()"), {},
        ("flow.py", "x + 1", "x + 3"), ["T", "Up"]),
    "query-string-in-a-constant": (  # df.query(QUERY) reads the @LIMIT its text names
        "import pandas as pd\n\nLIMIT = 2\nQUERY = 'x > @LIMIT'\n\n"
        + T("len(pd.DataFrame({'x': [1, 2, 3, 4]}).query(QUERY))"), {},
        ("flow.py", "LIMIT = 2", "LIMIT = 3"), ["T"]),
    # -- a module imported only for its constants still ran its own top-level calls ----------------
    "seed-in-a-constants-module": (
        "from pkg.constants import N\n\n" + T("N"),
        {"pkg/constants.py": "import numpy as np\n\nnp.random.seed(0)\nN = 3\nM = 1\n"},
        ("pkg/constants.py", "np.random.seed(0)", "np.random.seed(1)"), ["T"]),
    "other-constant-of-a-constants-module": (
        "from pkg.constants import N\n\n" + T("N"),
        {"pkg/constants.py": "import numpy as np\n\nnp.random.seed(0)\nN = 3\nM = 1\n"},
        ("pkg/constants.py", "M = 1", "M = 2"), []),
    "settings-making-a-run-folder": (  # its calls count by their code, not this process's values
        "from pkg.settings import N\n\n" + T("N"),
        {"pkg/settings.py": "import os, time\n\nN = 3\nRUN = time.strftime('%H%M%S') + str(os.getpid())\n"
                            "os.makedirs(os.path.join(os.path.dirname(__file__), 'runs', RUN), exist_ok=True)\n"},
        "seed", []),
    # -- what a downstream reads besides the upstream's bytes: order, metadata, a target's load() ----
    "persist-order-decides-inputload": (  # the same files; inputLoad() gives them in persist's order
        "class Up(daskflow.tasks.TaskJson):\n    persist = ['a', 'b']\n\n    def run(self):\n        log('Up')\n"
        "        self.save({'a': 1, 'b': 2})\n\n" + T("self.inputLoad()", requires="Up()"), {},
        ("flow.py", "persist = ['a', 'b']", "persist = ['b', 'a']"), ["T", "Up"]),
    "upstream-metadata-only": (  # equal data, other saveMeta(): the downstream reads it
        "class Up(daskflow.tasks.TaskJson):\n    def run(self):\n        log('Up')\n        self.save({'x': 1})\n"
        "        self.saveMeta({'scale': 2})\n\n" + T("self.metaLoad()['scale']", requires="Up()"), {},
        ("flow.py", "{'scale': 2}", "{'scale': 3}"), ["T", "Up"]),
    "d6tflow-target-class-load": (  # a DataTarget's load() runs downstream: its code counts there
        "from pkg.targets import TaskTxt\n\nclass Up(TaskTxt):\n    def run(self):\n        log('Up')\n"
        "        self.save(['a', 'b'])\n\n" + T("self.inputLoad()", requires="Up()"),
        {"pkg/targets.py": "import daskflow as d6tflow\n\nclass TxtTarget(d6tflow.targets.DataTarget):\n"
                       "    def load(self, cached=False, **kwargs):\n        def read(path, **options):\n"
                       "            with open(path) as fh:\n                return fh.read().splitlines()\n"
                       "        return super().load(read, cached, **kwargs)\n\n    def save(self, lines, **kwargs):\n"
                       "        self.path.parent.mkdir(parents=True, exist_ok=True)\n"
                       "        with open(self.path, 'w') as fh:\n            fh.write('\\n'.join(lines))\n"
                       "        return self.path\n\nclass TaskTxt(d6tflow.tasks.TaskData):\n"
                       "    target_class = TxtTarget\n    target_ext = 'txt'\n"},
        ("pkg/targets.py", "return fh.read().splitlines()", "return [x.upper() for x in fh.read().splitlines()]"),
        ["T", "Up"]),  # Up's class names the target class; T loads through its edited load()
    # -- what a task runs of its upstream's class, through the instance, past early cutoff -----------
    "upstream-method-through-instance": (
        UP + T("self.requires().post(self.inputLoad()['v'])", requires="Up()"), {},
        ("flow.py", "x + 1", "x + 3"), ["T", "Up"]),
    "upstream-method-through-dict": (
        UP + T("up['a'].post(1)", requires="{'a': Up()}").replace("        self.save", "        up = self.requires()\n        self.save"),
        {}, ("flow.py", "x + 1", "x + 3"), ["T", "Up"]),
    "upstream-attribute-through-instance": (
        UP + T("self.requires().SCALE", requires="Up()"), {},
        ("flow.py", "SCALE = 2", "SCALE = 5"), ["T", "Up"]),
    "upstream-method-through-getattr": (
        UP + T("getattr(self.requires(), 'post')(1)", requires="Up()"), {},
        ("flow.py", "x + 1", "x + 3"), ["T", "Up"]),
    "upstream-method-calls-its-own-method": (
        UP.replace("    def post(self, x):", "    def compute(self, x):\n        return self.post(x) * self.SCALE\n\n    def post(self, x):")
        + T("self.requires().compute(1)", requires="Up()"), {}, ("flow.py", "x + 1", "x + 3"), ["T", "Up"]),
    "upstream-run-edit-keeps-cutoff": (
        UP + T("self.requires().post(self.inputLoad()['v'])", requires="Up()"), {},
        ("flow.py", "{'v': 1}", "{'v': 2 - 1}"), ["Up"]),
    # -- which of two mixins wins, classes of yours behind a value or a parameter -----------------
    "mixin-order-swapped": (
        MIXINS + T("self.clean([1, None, 3])").replace("class T(daskflow.tasks.TaskJson)", "class T(DropNa, FillNa, daskflow.tasks.TaskJson)"),
        {}, ("flow.py", "class T(DropNa, FillNa,", "class T(FillNa, DropNa,"), ["T"]),
    "mixin-order-swapped-no-shared-name": (
        MIXINS + T("self.clean([1, None]) + [self.loud()]").replace("class T(daskflow.tasks.TaskJson)", "class T(DropNa, Shout, daskflow.tasks.TaskJson)"),
        {}, ("flow.py", "class T(DropNa, Shout,", "class T(Shout, DropNa,"), []),
    "namedtuple-constant-method": (
        "from typing import NamedTuple\n\nclass Window(NamedTuple):\n    size: int\n\n    def starts(self, n):\n"
        "        return list(range(0, n - self.size + 1))\n\nWINDOW = Window(2)\n\n" + T("WINDOW.starts(5)"), {},
        ("flow.py", "n - self.size + 1", "n - self.size"), ["T"]),
    "enum-parameter-member-value": (
        "import enum\n\nclass Horizon(enum.Enum):\n    SHORT = 3\n    LONG = 12\n\n"
        + T("self.h.value").replace("    def run", "    h = daskflow.EnumParameter(enum=Horizon, default='SHORT')\n\n    def run", 1)
        .replace("class T(daskflow.tasks.TaskJson):", "class T(daskflow.tasks.TaskJson):", 1), {},
        ("flow.py", "SHORT = 3", "SHORT = 6"), ["T"]),
    "timestamp-parameter-zone": (
        "import pandas as pd\n\n" + T("(self.start + pd.DateOffset(months=6)).tz_convert('UTC').hour")
        .replace("    def run", "    start = daskflow.Parameter(default=pd.Timestamp('2024-01-15 09:00', tz='Europe/London'))\n\n    def run", 1),
        {}, ("flow.py", "tz='Europe/London'", "tz='UTC'"), ["T"]),
    "frozen-dataclass-parameter": (
        "from dataclasses import dataclass\n\n@dataclass(frozen=True)\nclass Cfg:\n    alpha: float = 0.5\n"
        "    tags: frozenset = frozenset({'a', 'b', 'c', 'd'})\n\n" + T("self.cfg.alpha").replace("    def run", "    cfg = daskflow.Parameter(default=Cfg(alpha=0.5))\n\n    def run", 1),
        {}, ("flow.py", "Cfg(alpha=0.5)", "Cfg(alpha=0.25)"), ["T"]),
    # -- files read by a constant path: by content -------------------------------------------------
    "csv-read-by-constant-path": (
        "import pandas as pd\n\n" + T("int(pd.read_csv('raw.csv')['a'].sum())"), {"raw.csv": "a\n1\n2\n"},
        ("raw.csv", "2", "7"), ["T"]),
    "config-file-by-module-constant": (
        "import json\nCONFIG = 'cfg.json'\n\ndef k():\n    with open(CONFIG) as f:\n        return json.load(f)['k']\n\n"
        + T("k()"), {"cfg.json": '{"k": 1}'}, ("cfg.json", "1", "2"), ["T"]),
    "path-read-text": (
        "from pathlib import Path\n\n" + T("Path('notes.txt').read_text()"), {"notes.txt": "alpha"},
        ("notes.txt", "alpha", "beta"), ["T"]),
    "csv-rewritten-same-content": (
        "import pandas as pd\n\n" + T("int(pd.read_csv('raw.csv')['a'].sum())"), {"raw.csv": "a\n1\n2\n"},
        ("raw.csv", "2", "2"), []),
    "file-written-by-constant-path": (
        "import time\n\n" + T("open('side.txt', 'w').write(str(time.time())) > 0"), {}, "seed", []),
    # -- a dict's order, module-level assignments and calls, nested defaults, pandas metadata -------
    "dict-constant-reordered": (
        "AGG = {'b': 1, 'a': 2}\n\n" + T("list(AGG)"), {}, ("flow.py", "{'b': 1, 'a': 2}", "{'a': 2, 'b': 1}"), ["T"]),
    "attribute-assigned-on-a-library-class": (
        "import pandas as pd\nfrom pkg.helpers import inner\n\n" + T("int(pd.Series([1, 2]).double().sum()) + inner(0)"),
        {"pkg/helpers.py": HELPERS_MOD + "\nimport pandas as pd\n\ndef _double(s):\n    return s * 2\n\npd.Series.double = _double\n"},
        ("pkg/helpers.py", "return s * 2", "return s * 3"), ["T"]),
    "module-calls-its-own-setup": (
        "import random\n\ndef setup():\n    random.seed(1)\n\nsetup()\n\n" + T("random.random()"), {},
        ("flow.py", "random.seed(1)", "random.seed(2)"), ["T"]),
    "main-block-added": (
        T("1") + "\ndef main():\n    pass\n", {},
        ("flow.py", "    pass\n", "    print(T())\n\nif __name__ == '__main__':\n    main()\n"), []),
    "printoptions-added": (
        "import numpy as np\n\n" + T("int(np.arange(3).sum())"), {},
        ("flow.py", "import numpy as np\n", "import numpy as np\nnp.set_printoptions(precision=3)\n"), []),
    "nested-def-renamed-its-name-a-label": (  # s.agg(["mean", p90]): p90.__name__ is an index label
        "import pandas as pd\n\n" + T("list(pd.Series([1.0, 2.0]).agg(['mean', p90]).index)").replace(
            "        log('T')\n", "        log('T')\n        def p90(s):\n            return s.quantile(0.9)\n", 1),
        {}, ("flow.py", "def p90(s)", "def q90(s)", "flow.py", "p90]", "q90]"), ["T"]),
    "docstring-read-as-data": (  # clean.__doc__ saved: its text counts, as other constants do
        "def clean(x):\n    \"\"\"drop negatives\"\"\"\n    return [v for v in x if v >= 0]\n\n"
        + T("[clean([1, -1]), clean.__doc__]"), {}, ("flow.py", "drop negatives", "remove values below zero"), ["T"]),
    "docstring-not-read-edited": (
        "def clean(x):\n    \"\"\"drop negatives\"\"\"\n    return [v for v in x if v >= 0]\n\n"
        + T("clean([1, -1])"), {}, ("flow.py", "drop negatives", "remove values below zero"), []),
    "overload-stubs-added": (  # typing.overload stubs above the real def: it keeps its key
        "from typing import overload\n\ndef clean(x):\n    return [v for v in x if v >= 0]\n\n" + T("clean([1, -1])"), {},
        ("flow.py", "def clean(x):\n", "@overload\ndef clean(x: int) -> int: ...\n@overload\n"
         "def clean(x: list) -> list: ...\ndef clean(x):\n"), []),
    "nested-def-default-argument": (
        "def make(k):\n    def scale(x, k=k):\n        return x * k\n    return scale\n\nSCALE = make(2)\n\n" + T("SCALE(1)"), {},
        ("flow.py", "make(2)", "make(3)"), ["T"]),
    "series-constant-index-name": (
        "import pandas as pd\nREF = pd.Series([1], index=pd.Index(['a'], name='r'), name='v')\n\n"
        + T("list(REF.reset_index().columns)"), {}, ("flow.py", "name='r'", "name='region'"), ["T"]),
    "list-subclass-constant-method": (
        "class Steps(list):\n    def apply(self, x):\n        for f in self:\n            x = f(x)\n        return x\n\n"
        "def inc(x):\n    return x + 1\n\nSTEPS = Steps([inc])\n\n" + T("STEPS.apply(1)"), {},
        ("flow.py", "        return x\n\n", "        return x * 10\n\n"), ["T"]),
    # -- files read by a path computed at run time: seen as run() opens them (daskflow.observe) ------
    "file-read-by-joined-path": (
        "import json, os\nfrom pathlib import Path\nHERE = os.path.dirname(os.path.abspath(__file__))\n\n" + T("json.load(open(os.path.join(HERE, 'w.json')))['a']"), {"w.json": '{"a": 1}'},
        ("w.json", "1", "2"), ["T"]),
    "file-read-by-fstring-path": (
        "import json, os\nfrom pathlib import Path\nHERE = os.path.dirname(os.path.abspath(__file__))\n\nNAME = 'q'\n\n" + T("Path(f'sql/{NAME}.sql').read_text()"), {"sql/q.sql": "select 1"},
        ("sql/q.sql", "1", "2"), ["T"]),
    "files-read-by-a-thread-pool-of-run": (  # paths made in run(), read in the pool's threads
        "import os\nfrom concurrent.futures import ThreadPoolExecutor\nimport pandas as pd\n\n"
        "def parts():\n    return [os.path.join('inputs', f'part{i}.csv') for i in range(3)]\n\n"
        + T("int(sum(f['v'].sum() for f in ThreadPoolExecutor(3).map(pd.read_csv, parts())))"),
        {f"inputs/part{i}.csv": f"v\n{i}\n" for i in range(3)}, ("inputs/part1.csv", "1", "100"), ["T"]),
    "file-read-by-a-thread-run-starts": (
        "import threading\n\ndef read(out):\n    out.append(open('in' + '.txt').read())\n\n"
        "def in_thread():\n    out = []\n    t = threading.Thread(target=read, args=(out,))\n    t.start()\n"
        "    t.join()\n    return out[0]\n\n" + T("in_thread()"),
        {"in.txt": "one"}, ("in.txt", "one", "two"), ["T"]),
    "file-read-by-with-name": (
        "import json, os\nfrom pathlib import Path\nHERE = os.path.dirname(os.path.abspath(__file__))\n\n" + T("Path(__file__).with_name('f.txt').read_text()"), {"f.txt": "alpha"},
        ("f.txt", "alpha", "beta"), ["T"]),
    "file-read-by-path-division-inline": (
        "import json, os\nfrom pathlib import Path\nHERE = os.path.dirname(os.path.abspath(__file__))\n\nDATA = Path('data')\n\n" + T("(DATA / 'x.txt').read_text()"), {"data/x.txt": "1"},
        ("data/x.txt", "1", "2"), ["T"]),
    "file-read-by-path-open": (
        "import json, os\nfrom pathlib import Path\nHERE = os.path.dirname(os.path.abspath(__file__))\n\nCONFIG = 'c.json'\n\n" + T("json.load(Path(CONFIG).open())"), {"c.json": '{"k": 1}'},
        ("c.json", "1", "2"), ["T"]),
    "file-read-by-class-attribute": (
        "import json, os\nfrom pathlib import Path\nHERE = os.path.dirname(os.path.abspath(__file__))\n\n" + T("open(self.PATH).read()").replace("    def run", "    PATH = 'p.txt'\n\n    def run", 1),
        {"p.txt": "one"}, ("p.txt", "one", "two"), ["T"]),
    "file-read-by-default-argument": (
        "import json, os\nfrom pathlib import Path\nHERE = os.path.dirname(os.path.abspath(__file__))\n\ndef load(path='ref.txt'):\n    with open(path) as f:\n        return f.read()\n\n" + T("load()"),
        {"ref.txt": "r1"}, ("ref.txt", "r1", "r2"), ["T"]),
    "file-read-by-importlib-resources": (
        "import json, os\nfrom pathlib import Path\nHERE = os.path.dirname(os.path.abspath(__file__))\n\nimport importlib.resources\n\n" + T("importlib.resources.files('pkg').joinpath('d.txt').read_text()"),
        {"pkg/d.txt": "d1"}, ("pkg/d.txt", "d1", "d2"), ["T"]),
    "sqlite-database-read": (  # a .sqlite file is made by its SQL; the edit runs SQL on it
        "import json, os\nfrom pathlib import Path\nHERE = os.path.dirname(os.path.abspath(__file__))\n\nimport sqlite3\n\n" + T("sqlite3.connect(os.path.join(HERE, 'db.sqlite')).execute('select v from t').fetchone()[0]"),
        {"db.sqlite": "create table t (v int); insert into t values (1);"}, ("db.sqlite", "", "update t set v = 2"), ["T"]),
    "glob-gains-a-file": (
        "import json, os\nfrom pathlib import Path\nHERE = os.path.dirname(os.path.abspath(__file__))\n\nimport glob\n\n" + T("sorted(glob.glob(os.path.join('parts', '*.csv')))"),
        {"parts/a.csv": "1", "parts/b.csv": "2", "parts/c.txt": "x"}, "add-part", ["T"]),
    "glob-literal-read-by-dask": (  # dask reads the parts in its own threads: the glob counts
        "import dask.dataframe as dd\n\n" + T("int(dd.read_csv('parts/*.csv')['a'].sum().compute())"),
        {"parts/a.csv": "a\n1\n", "parts/b.csv": "a\n2\n"}, ("parts/b.csv", "2", "5"), ["T"]),
    "parquet-dataset-folder-gains-a-part": (  # a .parquet file is written from its CSV text
        "import pandas as pd\n\n" + T("int(pd.read_parquet('events')['a'].sum())"),
        {"events/p0.parquet": "a\n1\n2\n"}, "add-parquet-part", ["T"]),
    "file-read-by-joined-path-same-content": (
        "import json, os\nfrom pathlib import Path\nHERE = os.path.dirname(os.path.abspath(__file__))\n\n" + T("json.load(open(os.path.join(HERE, 'w.json')))['a']"), {"w.json": '{"a": 1}'},
        ("w.json", "1", "1"), []),
    "file-read-by-joined-path-copy": (
        "import json, os\nfrom pathlib import Path\nHERE = os.path.dirname(os.path.abspath(__file__))\n\n" + T("json.load(open(os.path.join('cfg', 'w.json')))['a']"), {"cfg/w.json": '{"a": 1}'}, "copy", []),
    "side-file-of-upstream-cut-off": (  # Up rewrites side.json by a constant path; only the side file changes
        "import json\n\nclass Up(daskflow.tasks.TaskJson):\n    def run(self):\n        log('Up')\n"
        "        with open('side.json', 'w') as f:\n            json.dump({'m': 2}, f)\n        self.save({'v': 1})\n\n"
        + T("json.load(open('side.json'))['m'] + self.inputLoad()['v']", requires="Up()"), {},
        ("flow.py", "{'m': 2}", "{'m': 5}"), ["T", "Up"]),
    # -- no false-stale: same code in another process, folder, hash seed ---------------------------
    "csv-read-by-constant-path-copy": (
        "import pandas as pd\n\n" + T("int(pd.read_csv('raw.csv')['a'].sum())"), {"raw.csv": "a\n1\n2\n"},
        "copy", []),
    "checkout-folder-constant-copy": (  # HERE is the checkout's folder: the path within it counts
        "import json, os\nfrom pathlib import Path\nHERE = os.path.dirname(os.path.abspath(__file__))\n\n" + T("json.load(open(os.path.join(HERE, 'w.json')))['a']"), {"w.json": '{"a": 1}'}, "copy", []),
    "checkout-relative-constant-path-read-copy": (
        "import json, os\nfrom pathlib import Path\nHERE = os.path.dirname(os.path.abspath(__file__))\n\nLOOKUP = Path(__file__).parent / 'lookup.txt'\n\n" + T("open(LOOKUP).read()"), {"lookup.txt": "x"},
        "copy", []),
    "checkout-relative-constant-edited": (
        "import json, os\nfrom pathlib import Path\nHERE = os.path.dirname(os.path.abspath(__file__))\n\nDATA = os.path.join(HERE, 'a.txt')\n\n" + T("open(DATA).read()"), {"a.txt": "1", "b.txt": "2"},
        ("flow.py", "'a.txt'", "'b.txt'"), ["T"]),
    "frozen-dataclass-parameter-other-seed": (
        "from dataclasses import dataclass\n\n@dataclass(frozen=True)\nclass Cfg:\n    alpha: float = 0.5\n"
        "    tags: frozenset = frozenset({'a', 'b', 'c', 'd'})\n\n" + T("sorted(self.cfg.tags)").replace("    def run", "    cfg = daskflow.Parameter(default=Cfg())\n\n    def run", 1),
        {}, "seed", []),
    "set-parameter-other-seed": (
        T("sorted(self.tags)").replace("    def run", "    tags = daskflow.Parameter(default=frozenset({'a', 'b', 'c', 'd'}))\n\n    def run", 1)
        .replace("class T(daskflow.tasks.TaskJson):", "class T(daskflow.tasks.TaskJson):"), {}, "seed", []),
    "plain-set-parameter-other-seed": (
        T("sorted(self.tags)").replace("    def run", "    tags = daskflow.Parameter(default={'alpha', 'beta', 'gamma', 'delta'})\n\n    def run", 1), {},
        "seed", []),
    "dict-parameter-default-reordered": (  # one task either way, but run() sees the default's order: code
        T("list(self.opts)").replace("    def run", "    opts = daskflow.Parameter(default={'b': 1, 'a': 2})\n\n    def run", 1), {},
        ("flow.py", "{'b': 1, 'a': 2}", "{'a': 2, 'b': 1}"), ["T"]),
    "dict-parameter-other-seed": (
        T("list(self.opts)").replace("    def run", "    opts = daskflow.Parameter(default={'b': 1, 'a': 2, 'c': 3})\n\n    def run", 1), {},
        "seed", []),
    "library-objects-other-seed": (
        "import logging\nimport numpy as np\nfrom os import environ\nLOG = logging.getLogger('flow')\n"
        "RNG = np.random.default_rng(0)\nDTYPES = {'a': np.dtype('int64'), 'b': np.dtype('float32')}\n\n"
        + T("[LOG.name, environ.get('NOPE'), str(DTYPES['a']), RNG is not None]"), {}, "copy", []),
    "library-object-state-changed": (
        "import numpy as np\nRNG = np.random.default_rng(0)\n\n" + T("int(np.random.default_rng(0).integers(9)) + (RNG is None)"), {},
        ("flow.py", "default_rng(0)\n\n", "default_rng(1)\n\n"), ["T"]),
    "set-constant-other-seed": ("TAGS = {'alpha', 'beta', 'gamma', 'delta'}\n\n" + T("sorted(TAGS)"), {}, "seed", []),
    "mixed-values-copy-other-seed": (
        "import enum, decimal, pandas as pd\nfrom dataclasses import dataclass\nfrom types import SimpleNamespace\n\n"
        "class Color(enum.Enum):\n    RED = 1\n\n@dataclass(frozen=True)\nclass Cfg:\n    tags: frozenset = frozenset({'a', 'b', 'c'})\n\n"
        "V = {'c': Cfg(), 'e': Color.RED, 'd': decimal.Decimal('1.5'), 'w': pd.Timedelta('1D'), "
        "'o': pd.DateOffset(days=1), 'ns': SimpleNamespace(s={'x', 'y', 'z'}), 'r': range(3)}\n"
        "F, G = (lambda x: x + 1), (lambda x: x * 2)\n\n" + T("len(V) + F(1) + G(1)"), {}, "copy", []),
    "closures-copy-other-seed": (
        "def make(k):\n    def scale(x):\n        return x * k\n    return scale\n\nS2 = make(2)\nS3 = make(3)\n"
        "OPS = {\n    'a': lambda x: x + 1,\n    'b': lambda x: x * 2,\n}\n\n" + T("S2(1) + S3(1) + OPS['b'](1)"),
        {}, "copy", []),
}


class Project:
    def __init__(self, folder: Path, flow: str, files: dict):
        self.folder = folder
        (folder / "pkg").mkdir(parents=True)
        (folder / "pyproject.toml").write_text("[project]\nname = 'p'\n")
        (folder / "pkg" / "__init__.py").write_text("")
        (folder / "flow.py").write_text(HEADER + flow)
        (folder / "run.py").write_text(RUN)
        for name, text in files.items():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            if name.endswith(".parquet"):
                pd.read_csv(io.StringIO(text)).to_parquet(folder / name)
                continue
            if name.endswith(".sqlite"):
                with sqlite3.connect(folder / name) as db:
                    db.executescript(text)
                continue
            (folder / name).write_text(text)

    def edit(self, name, old, new):
        path = self.folder / name
        if name.endswith(".sqlite"):
            with sqlite3.connect(path) as db:
                db.execute(new)
            return
        text = path.read_text()
        assert old in text, f"{old!r} not in {name}"
        path.write_text(text.replace(old, new, 1))

    def run(self, seed):
        env = dict(os.environ, PYTHONHASHSEED=seed, PYTHONDONTWRITEBYTECODE="1")
        env.pop("DASKFLOW_ROOT", None)
        log = self.folder / "calls.log"
        if log.exists():
            log.unlink()
        proc = subprocess.run([sys.executable, "run.py"], cwd=self.folder, env=env,
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        out = json.loads(proc.stdout.strip().splitlines()[-1])
        out["bodies"] = sorted(set(log.read_text().split())) if log.exists() else []
        return out


def run_case(tmp_path, name):
    flow, files, step, expect = CASES[name]
    project = Project(tmp_path / "proj", flow, files)
    first = project.run("1")
    assert "T" in first["bodies"], first
    if step == "seed":
        pass
    elif step == "add-parquet-part":
        pd.DataFrame({"a": [40]}).to_parquet(project.folder / "events" / "p1.parquet")
    elif step == "add-part":
        (project.folder / "parts" / "d.csv").write_text("4")
    elif step == "copy":
        copy = tmp_path / "elsewhere" / "checkout"
        shutil.copytree(project.folder, copy)
        project.folder = copy
    else:
        for i in range(0, len(step), 3):  # one or more (file, old, new) edits
            project.edit(*step[i:i + 3])
    return project.run("2"), expect


@pytest.mark.parametrize("name", sorted(CASES))
def test_case(tmp_path, name):
    out, expect = run_case(tmp_path, name)
    if expect == "warn":
        assert "T" in out["bodies"] or any("SCALE" in w or "getattr" in w for w in out["warnings"]), out
    else:
        assert out["bodies"] == expect, out
