"""A memoized loader of the user's (functools.lru_cache) opens its files once per process:
what it opened counts for every task whose code reaches it (daskflow.observe), the file as
opened and the folder as listed; a loader cached by argument that saw a file at two
versions makes its callers' builds unfresh."""

from __future__ import annotations

import functools
import json

from daskflow import observe


def _loaders(tmp_path):
    conf = tmp_path / "conf.json"
    conf.write_text('{"k": 1}')
    (tmp_path / "parts").mkdir()
    for i in range(3):
        (tmp_path / "parts" / f"p{i}.csv").write_text(str(i))

    @functools.lru_cache(maxsize=None)
    def settings():
        return json.loads(conf.read_text())

    @functools.lru_cache(maxsize=None)
    def parts():
        return sorted(p.name for p in (tmp_path / "parts").iterdir())

    @functools.lru_cache(maxsize=None)
    def column(name):
        return json.loads(conf.read_text())["k"]

    ids = {f.__name__: observe.code_id(f.__wrapped__.__code__, __name__) for f in (settings, parts, column)}
    return conf, settings, parts, column, ids


def test_a_cache_hit_records_the_file_as_its_loader_opened_it(tmp_path):
    conf, settings, _, _, ids = _loaders(tmp_path)
    watched = frozenset([ids["settings"]])
    with observe.recording(watched) as first:
        settings()
    with observe.recording(watched) as second:
        settings()  # from the cache: nothing opened
    assert list(second.read) == list(first.read) == [str(conf)]
    assert second.read[str(conf)] == first.read[str(conf)]
    conf.write_text('{"k": 22}')
    settings.cache_clear()  # read again: what its cache holds now
    with observe.recording(watched):
        settings()
    with observe.recording(watched) as third:
        settings()
    assert third.read[str(conf)]["size"] == len('{"k": 22}') and not third.broken


def test_a_cached_listing_counts_as_it_was_listed(tmp_path):
    _, _, parts, _, ids = _loaders(tmp_path)
    watched = frozenset([ids["parts"]])
    with observe.recording(watched):
        parts()
    (tmp_path / "parts" / "p3.csv").write_text("3")  # after the loader listed the folder
    with observe.recording(watched) as later:
        assert len(parts()) == 3  # the cached list
    recorded = observe.identities(later, base=str(tmp_path))
    assert sorted(recorded["parts"]["entries"]) == ["p0.csv", "p1.csv", "p2.csv"]


def test_a_loader_cached_by_argument_that_saw_two_versions_makes_the_build_unfresh(tmp_path):
    conf, _, _, column, ids = _loaders(tmp_path)
    watched = frozenset([ids["column"]])
    with observe.recording(watched):
        column("x")
    conf.write_text('{"k": 2}')
    with observe.recording(watched):
        column("y")  # a miss: the new version
    with observe.recording(watched) as rerun:
        column("x")  # the old value, from the cache
    assert "column" in rerun.broken and "2 versions" in rerun.broken
