"""Task identities stay byte-identical: parameter bytes, folders, versions and fingerprints.

The expected values were computed by daskflow before the no-op check was sped
up (tag ``before-s19``); roots built then must stay fresh, so every fast path
(inline framing of parameter values, ``param_dir`` slugs, digests framed once
per class) must give these same bytes.  Also: the fast paths agree with
``canonical.encode`` and ``json.dumps`` on values they do not special-case,
and a plan is freed by reference counting alone.
"""

import datetime
import enum
import gc
import json
import random
import weakref

import daskflow
from daskflow import canonical
from daskflow.params import DictParameter, IntParameter, ListParameter, canonical_text
from daskflow.plan import Plan


class Shade(enum.Enum):
    LIGHT = 1
    DARK = 2


class IdAll(daskflow.tasks.TaskPickle):
    version = "1"
    i = daskflow.IntParameter(default=3)
    f = daskflow.FloatParameter(default=0.25)
    b = daskflow.BoolParameter(default=True)
    d = daskflow.DateParameter(default=datetime.date(2024, 2, 29))
    l = daskflow.ListParameter(default=["z", 1, None, True])
    m = daskflow.DictParameter(default={"b": 1, "a": "x y"})
    e = daskflow.EnumParameter(Shade, default=Shade.DARK)
    s = daskflow.Parameter(default="text/é")
    n_jobs = daskflow.IntParameter(default=1, significant=False)


class IdDown(daskflow.tasks.TaskJson):
    version = "2"
    k = daskflow.Parameter()

    def requires(self):
        return {"all": IdAll(i=self.k if isinstance(self.k, int) else 0), "plain": IdAll(s=str(self.k))}


def _tasks():
    return [IdAll(), IdAll(i=-7, f=1e300, b=False, l=[], m={}, s=""), IdDown(k=5), IdDown(k="a,b=c"),
            IdDown(k=2.5)]


def _identities(plan):
    return [[repr(n.task), n.task.param_bytes.hex(), n.param_dir, n.version, n.fingerprint]
            for n in plan.nodes.values()]


GOLDEN = json.loads(r"""
[
 [
  "IdAll(i=3, f=0.25, b=True, d=datetime.date(2024, 2, 29), l=('z', 1, None, True), m={'b': 1, 'a': 'x y'}, e=<Shade.DARK: 2>, s='text/é', n_jobs=1)",
  "7374723a010000000000000069696e743a0100000000000000337374723a010000000000000066666c6f61743a14000000000000003078312e30303030303030303030303030702d327374723a010000000000000062626f6f6c3a317374723a010000000000000064646174653a0a00000000000000323032342d30322d32397374723a01000000000000006c7475706c653a25000000000000007374723a01000000000000007a696e743a0100000000000000316e6f6e653a626f6f6c3a317374723a01000000000000006d646963743a36000000000000007374723a0100000000000000617374723a03000000000000007820797374723a010000000000000062696e743a0100000000000000317374723a010000000000000065656e756d3a0a0000000000000053686164652e4441524b7374723a0100000000000000737374723a0700000000000000746578742fc3a9",
  "i=3,f=0.25,b=True,d=2024-02-29,l=__z_,_1,_null,_true_,m=__a____x_y_,__b___1_,e=D__ae78d00f80",
  "fab17959a9d1a648",
  "ac4ebde3fd9871427b6c7ecd43cbc180a44bc1fdf20e96707e79de424d48af22"
 ],
 [
  "IdAll(i=-7, f=1e+300, b=False, d=datetime.date(2024, 2, 29), l=(), m={}, e=<Shade.DARK: 2>, s='', n_jobs=1)",
  "7374723a010000000000000069696e743a02000000000000002d377374723a010000000000000066666c6f61743a16000000000000003078312e37653433633838303037353963702b3939367374723a010000000000000062626f6f6c3a307374723a010000000000000064646174653a0a00000000000000323032342d30322d32397374723a01000000000000006c7475706c653a00000000000000007374723a01000000000000006d646963743a00000000000000007374723a010000000000000065656e756d3a0a0000000000000053686164652e4441524b7374723a0100000000000000737374723a0000000000000000",
  "i=-7,f=1e+300,b=False,d=2024-02-29,l=__,m=__,e=DARK,s=__6fd12df4ac",
  "e354b9c560a42caf",
  "8f3aae6626b4f8bf061a813106dde0d3e1c72b5dd94064679445108d1e3e0261"
 ],
 [
  "IdAll(i=5, f=0.25, b=True, d=datetime.date(2024, 2, 29), l=('z', 1, None, True), m={'b': 1, 'a': 'x y'}, e=<Shade.DARK: 2>, s='text/é', n_jobs=1)",
  "7374723a010000000000000069696e743a0100000000000000357374723a010000000000000066666c6f61743a14000000000000003078312e30303030303030303030303030702d327374723a010000000000000062626f6f6c3a317374723a010000000000000064646174653a0a00000000000000323032342d30322d32397374723a01000000000000006c7475706c653a25000000000000007374723a01000000000000007a696e743a0100000000000000316e6f6e653a626f6f6c3a317374723a01000000000000006d646963743a36000000000000007374723a0100000000000000617374723a03000000000000007820797374723a010000000000000062696e743a0100000000000000317374723a010000000000000065656e756d3a0a0000000000000053686164652e4441524b7374723a0100000000000000737374723a0700000000000000746578742fc3a9",
  "i=5,f=0.25,b=True,d=2024-02-29,l=__z_,_1,_null,_true_,m=__a____x_y_,__b___1_,e=D__6fdc81988b",
  "44cb4f77d737f79b",
  "6325e5ad9a71f98be62d6721cfed7422f3e42d59a0fce6dfb8076e336acb2f70"
 ],
 [
  "IdAll(i=3, f=0.25, b=True, d=datetime.date(2024, 2, 29), l=('z', 1, None, True), m={'b': 1, 'a': 'x y'}, e=<Shade.DARK: 2>, s='5', n_jobs=1)",
  "7374723a010000000000000069696e743a0100000000000000337374723a010000000000000066666c6f61743a14000000000000003078312e30303030303030303030303030702d327374723a010000000000000062626f6f6c3a317374723a010000000000000064646174653a0a00000000000000323032342d30322d32397374723a01000000000000006c7475706c653a25000000000000007374723a01000000000000007a696e743a0100000000000000316e6f6e653a626f6f6c3a317374723a01000000000000006d646963743a36000000000000007374723a0100000000000000617374723a03000000000000007820797374723a010000000000000062696e743a0100000000000000317374723a010000000000000065656e756d3a0a0000000000000053686164652e4441524b7374723a0100000000000000737374723a010000000000000035",
  "i=3,f=0.25,b=True,d=2024-02-29,l=__z_,_1,_null,_true_,m=__a____x_y_,__b___1_,e=D__42ce716f62",
  "f310fd8df9d3a0bf",
  "602e9e4c6ddcf52739f588f0144653fe062d1977433299e0a00f8ba557b39400"
 ],
 [
  "IdDown(k=5)",
  "7374723a01000000000000006b696e743a010000000000000035",
  "k=5__9caf45307c",
  "b977f86b9f9ccb4c",
  "3e8225181c1bcf25b361b74fde7f0f601d2f52fbf272be281f39dec75bd18bbd"
 ],
 [
  "IdAll(i=0, f=0.25, b=True, d=datetime.date(2024, 2, 29), l=('z', 1, None, True), m={'b': 1, 'a': 'x y'}, e=<Shade.DARK: 2>, s='text/é', n_jobs=1)",
  "7374723a010000000000000069696e743a0100000000000000307374723a010000000000000066666c6f61743a14000000000000003078312e30303030303030303030303030702d327374723a010000000000000062626f6f6c3a317374723a010000000000000064646174653a0a00000000000000323032342d30322d32397374723a01000000000000006c7475706c653a25000000000000007374723a01000000000000007a696e743a0100000000000000316e6f6e653a626f6f6c3a317374723a01000000000000006d646963743a36000000000000007374723a0100000000000000617374723a03000000000000007820797374723a010000000000000062696e743a0100000000000000317374723a010000000000000065656e756d3a0a0000000000000053686164652e4441524b7374723a0100000000000000737374723a0700000000000000746578742fc3a9",
  "i=0,f=0.25,b=True,d=2024-02-29,l=__z_,_1,_null,_true_,m=__a____x_y_,__b___1_,e=D__8adf717c2b",
  "6e571fae2024e86f",
  "f64b1edbb250f9df2ef81615019d71221dc5c50a9652a6d03ab2d3e13e56010f"
 ],
 [
  "IdAll(i=3, f=0.25, b=True, d=datetime.date(2024, 2, 29), l=('z', 1, None, True), m={'b': 1, 'a': 'x y'}, e=<Shade.DARK: 2>, s='a,b=c', n_jobs=1)",
  "7374723a010000000000000069696e743a0100000000000000337374723a010000000000000066666c6f61743a14000000000000003078312e30303030303030303030303030702d327374723a010000000000000062626f6f6c3a317374723a010000000000000064646174653a0a00000000000000323032342d30322d32397374723a01000000000000006c7475706c653a25000000000000007374723a01000000000000007a696e743a0100000000000000316e6f6e653a626f6f6c3a317374723a01000000000000006d646963743a36000000000000007374723a0100000000000000617374723a03000000000000007820797374723a010000000000000062696e743a0100000000000000317374723a010000000000000065656e756d3a0a0000000000000053686164652e4441524b7374723a0100000000000000737374723a0500000000000000612c623d63",
  "i=3,f=0.25,b=True,d=2024-02-29,l=__z_,_1,_null,_true_,m=__a____x_y_,__b___1_,e=D__dec03addff",
  "580a55da831fa49e",
  "299a03dcf7971fb5c8f72cd621342e6b84c645a7d6847580e12f180fe74a1a37"
 ],
 [
  "IdDown(k='a,b=c')",
  "7374723a01000000000000006b7374723a0500000000000000612c623d63",
  "k=a,b=c__48179f76e4",
  "18781bd4a9394dbd",
  "36919f2a35365c6a90e9f7d6293ac11116181ff99c5702f45af8f7f97a7088ed"
 ],
 [
  "IdAll(i=3, f=0.25, b=True, d=datetime.date(2024, 2, 29), l=('z', 1, None, True), m={'b': 1, 'a': 'x y'}, e=<Shade.DARK: 2>, s='2.5', n_jobs=1)",
  "7374723a010000000000000069696e743a0100000000000000337374723a010000000000000066666c6f61743a14000000000000003078312e30303030303030303030303030702d327374723a010000000000000062626f6f6c3a317374723a010000000000000064646174653a0a00000000000000323032342d30322d32397374723a01000000000000006c7475706c653a25000000000000007374723a01000000000000007a696e743a0100000000000000316e6f6e653a626f6f6c3a317374723a01000000000000006d646963743a36000000000000007374723a0100000000000000617374723a03000000000000007820797374723a010000000000000062696e743a0100000000000000317374723a010000000000000065656e756d3a0a0000000000000053686164652e4441524b7374723a0100000000000000737374723a0300000000000000322e35",
  "i=3,f=0.25,b=True,d=2024-02-29,l=__z_,_1,_null,_true_,m=__a____x_y_,__b___1_,e=D__0431d7c273",
  "239ac5bf025996d0",
  "5df97bf8f829254a55880251c8198d189f7b05eb8b17631b3313761b3ee7e734"
 ],
 [
  "IdDown(k=2.5)",
  "7374723a01000000000000006b666c6f61743a14000000000000003078312e34303030303030303030303030702b31",
  "k=2.5__34daa6107a",
  "87ecf902d26c3da5",
  "df8af8c9ce393b0da707ee11be788d84c5b837127c5bdc3677c5c1ced034716b"
 ]
]
""")


def test_identities_are_those_of_earlier_releases(root):
    assert _identities(Plan(_tasks())) == GOLDEN


def test_param_bytes_are_canonical_encodings_of_names_and_values():
    values = ["", "é\ud800", "x" * 255, "x" * 256, "é" * 128, 0, -1, 10 ** 30, 10 ** 31, 10 ** 40, True,
              False, None, 0.1, -0.0, float("nan"), 1e300,
              ("a", 1), ["a"], {"k": (1, "x")}, {2, 1}, datetime.date(2020, 1, 2), Shade.LIGHT, b"by",
              (0.5, -0.0, float("inf"), True, None, 3, "é"), ((1, 2.5), ["x"], {"a": 1.5}),
              {"f": 0.1, "b": False, "n": None, 1: "int key", "t": (1.0, "y")}, (Shade.DARK, b"z"), ()]

    class Any(daskflow.tasks.TaskPickle):
        v = daskflow.Parameter()
        w = daskflow.Parameter(default="w")

    for value in values:
        task = Any(v=value)
        expected = b"".join(_reference(n) + _reference(x) for n, x in (("v", value), ("w", "w")))
        assert task.param_bytes == expected, value


def _reference(value) -> bytes:
    """canonical.encode without its inline framing of text: what the bytes always were."""
    kind = type(value)
    if kind in (tuple, list):
        return canonical._frame(kind.__name__.encode(), b"".join(_reference(v) for v in value))
    if kind is dict:
        items = sorted((_reference(k), _reference(v)) for k, v in value.items())
        return canonical._frame(b"dict", b"".join(k + v for k, v in items))
    return canonical._EXACT[kind](value) if kind in canonical._EXACT else canonical.encode(value)


def test_inputs_id_is_the_digest_of_the_upstream_results_none_included():
    # the constant for a task without upstream tasks is the digest of no parts, as before
    assert canonical.inputs_id([]) == canonical.digest()[:16] == "e3b0c44298fc1c14"
    assert canonical.inputs_id(iter([])) == canonical.digest()[:16]
    results = ["0123456789abcdef", "fedcba9876543210"]
    assert canonical.inputs_id(results) == canonical.digest(*(r.encode() for r in results))[:16]
    assert canonical.inputs_id(r for r in results) == canonical.inputs_id(results)


def test_slugs_of_lists_and_dicts_are_what_json_writes():
    lists, dicts = ListParameter(), DictParameter()
    rnd = random.Random(7)
    atoms = ["", "a", "é", "\u2603", "q\"uote", "back\\slash", "\n", 0, -5, 10 ** 20, True, False, None,
             0.0, -0.0, 0.1, 2.5, 1e16, 1e-320, float("nan"), float("inf"), -float("inf")]
    keys = [a for a in atoms if isinstance(a, str)]
    for _ in range(2000):
        items = [rnd.choice(atoms) for _ in range(rnd.randint(0, 4))]
        assert lists.serialize(lists.normalize(items)) == json.dumps(items, default=canonical_text)
        mapping = {rnd.choice(keys): rnd.choice(atoms) for _ in range(rnd.randint(0, 4))}
        assert dicts.serialize(dicts.normalize(mapping)) == json.dumps(mapping, sort_keys=True,
                                                                       default=canonical_text)


def test_a_subclass_that_normalises_differently_is_still_called():
    class Clamped(IntParameter):
        def normalize(self, value):
            return min(super().normalize(value), 10)

    class C(daskflow.tasks.TaskPickle):
        n = Clamped(default=1)

    assert C(n=50).n == 10 and C(n=50) == C(n=10)


def test_a_dropped_plan_is_freed_without_the_cyclic_collector(root):
    enabled = gc.isenabled()
    gc.disable()
    try:
        plan = Plan(_tasks())
        ref = weakref.ref(plan)
        del plan
        assert ref() is None  # no reference cycle through the plan (its expansion once held one)
    finally:
        if enabled:
            gc.enable()


def test_planning_leaves_the_collector_as_it_found_it(root):
    assert gc.isenabled()
    Plan(_tasks())
    assert gc.isenabled() and gc.get_freeze_count() == 0
    gc.freeze()  # a process that froze its objects (before a fork) keeps them frozen
    try:
        frozen = gc.get_freeze_count()
        plan = Plan(_tasks())
        assert gc.get_freeze_count() <= frozen  # (frozen objects freed meanwhile leave it)
        assert gc.is_tracked(plan.nodes[plan.targets_tasks[0]])
    finally:
        gc.unfreeze()


def test_a_task_made_again_of_equal_values_keeps_the_identity_of_its_own():
    # equal values of other types or signs are other identities: 1 == 1.0 == True, 0.0 == -0.0
    class Any(daskflow.tasks.TaskPickle):
        v = daskflow.Parameter()

    pairs = [(1, 1.0), (1, True), (0, False), (0.0, -0.0), (-0.0, 0.0), (float("nan"), float("nan")),
             ((1, 2), (1.0, 2.0)), (frozenset({1}), frozenset({1.0})), (Shade.LIGHT, Shade.LIGHT.value)]
    for first, second in pairs:
        a = Any(v=first)
        hash(a)  # computed, and kept under its keywords
        b = Any(v=second)
        assert b.param_bytes == b"".join(_reference(x) for x in ("v", second)), (first, second)
        assert type(b.v) is type(second)
        again = Any(v=first)
        assert again == a and hash(again) == hash(a) and again.param_bytes == a.param_bytes


def test_a_task_made_again_under_overrides_or_new_parameters_takes_them():
    from daskflow.task import class_overrides

    class Over(daskflow.tasks.TaskPickle):
        n = daskflow.IntParameter(default=1)

    hash(Over(n=2))
    with class_overrides({Over: {"n": 5}}):
        assert Over(n=2).n == 5
    assert Over(n=2).n == 2
    hash(Over(n=3))
    extra = daskflow.IntParameter(default=7)  # set after the class, as luigi.util does
    extra.__set_name__(Over, "extra")
    Over.extra = extra
    del Over._settled
    made = Over(n=3)
    assert made.extra == 7 and "extra" in made.param_kwargs
