"""Reads in the threads a run() starts or hands work to (daskflow.threadreads): they count
with that run; other threads' opens (another task's, the scheduler's) never do."""

from __future__ import annotations

import concurrent.futures
import threading

from daskflow import observe, threadreads


def _files(tmp_path, n):
    paths = []
    for i in range(n):
        p = tmp_path / f"part{i}.csv"
        p.write_text(str(i))
        paths.append(str(p))
    return paths


def test_a_pool_a_run_submits_to_reads_for_that_run(tmp_path):
    threadreads.wrap()
    paths = _files(tmp_path, 4)
    pool = concurrent.futures.ThreadPoolExecutor(2)  # made before the run, as at a module's top
    try:
        with observe.recording() as rec:
            texts = list(pool.map(lambda p: open(p).read(), paths[:3]))
            assert pool.submit(lambda: open(paths[3]).read()).result() == "3"
        assert texts == ["0", "1", "2"]
        assert set(rec.read) == set(paths)
        # the same pool's threads outside any run: nothing recorded anywhere
        assert pool.submit(lambda: open(paths[0]).read()).result() == "0"
    finally:
        pool.shutdown()
    assert set(rec.read) == set(paths)


def test_a_thread_a_run_starts_reads_for_it_and_a_thread_started_elsewhere_does_not(tmp_path):
    threadreads.wrap()
    mine, other = _files(tmp_path, 2)
    go, done = threading.Event(), threading.Event()
    elsewhere = threading.Thread(target=lambda: (go.wait(10), open(other).read(), done.set()))
    elsewhere.start()  # another task's thread: started outside the run
    with observe.recording() as rec:
        t = threading.Thread(target=lambda: open(mine).read())
        t.start()
        t.join()
        go.set()
        assert done.wait(10)
    elsewhere.join()
    assert set(rec.read) == {mine}


def test_a_thread_still_reading_after_its_run_returned_notes_nothing(tmp_path):
    threadreads.wrap()
    early, late = _files(tmp_path, 2)
    go, done = threading.Event(), threading.Event()

    def work():
        open(early).read()
        go.wait(10)
        open(late).read()
        done.set()

    with observe.recording() as rec:
        t = threading.Thread(target=work)
        t.start()
    go.set()
    assert done.wait(10)
    t.join()
    assert set(rec.read) == {early}


def test_wrapping_is_done_once_and_again_after_a_test_put_the_originals_back(monkeypatch):
    threadreads.wrap()
    submit = concurrent.futures.ThreadPoolExecutor.submit
    threadreads.wrap()
    assert concurrent.futures.ThreadPoolExecutor.submit is submit
    monkeypatch.setattr(concurrent.futures.ThreadPoolExecutor, "submit", threadreads._ORIGINAL["submit"])
    threadreads.wrap()
    assert concurrent.futures.ThreadPoolExecutor.submit is threadreads._submit


def test_a_library_reader_handed_to_a_pool_reads_for_the_run(tmp_path):
    import pandas as pd

    threadreads.wrap()
    paths = _files(tmp_path, 3)
    with observe.recording() as rec:
        with concurrent.futures.ThreadPoolExecutor(3) as pool:  # no frame of the user's in the thread
            frames = list(pool.map(pd.read_csv, paths))
    assert len(frames) == 3
    assert set(observe.identities(rec)) == set(paths)  # not the system's files pandas looks at


def test_a_pools_threads_started_in_one_run_read_for_whoever_submits_later(tmp_path):
    threadreads.wrap()
    first, second = _files(tmp_path, 2)
    with observe.recording() as one:
        pool = concurrent.futures.ThreadPoolExecutor(1)  # its thread starts inside this run
        assert pool.submit(lambda: open(first).read()).result() == "0"
    try:
        with observe.recording() as two:
            assert pool.submit(lambda: open(second).read()).result() == "1"
    finally:
        pool.shutdown()
    assert set(one.read) == {first} and set(two.read) == {second}


def test_a_thread_of_a_finished_run_notes_nothing_while_another_run_records(tmp_path):
    threadreads.wrap()
    late, = _files(tmp_path, 1)
    go, done = threading.Event(), threading.Event()
    with observe.recording() as first:
        t = threading.Thread(target=lambda: (go.wait(10), open(late).read(), done.set()))
        t.start()
    with observe.recording() as other:  # a recording is active: the hook looks at every open
        go.set()
        assert done.wait(10)
        t.join()
    assert late not in first.read and late not in other.read


def test_a_tracer_wrapping_submit_after_daskflow_is_left_in_place():
    import concurrent.futures as cf

    threadreads.wrap()
    ours = cf.ThreadPoolExecutor.submit
    calls = []

    def traced(self, fn, /, *args, **kwargs):
        calls.append(fn)
        return ours(self, fn, *args, **kwargs)

    cf.ThreadPoolExecutor.submit = traced
    try:
        threadreads.wrap()  # the next run: the tracer stays, and calls ours
        assert cf.ThreadPoolExecutor.submit is traced
        with cf.ThreadPoolExecutor(1) as pool:
            assert pool.submit(lambda: 5).result() == 5
        assert len(calls) == 1
    finally:
        cf.ThreadPoolExecutor.submit = ours


def test_builds_a_pool_reads_for_a_run_are_neither_noted_nor_hashed(tmp_path, monkeypatch):
    from daskflow import filestate

    threadreads.wrap()
    root = tmp_path / "data"
    build = root / "Up" / "_p@20260101T000000000000-ab.data.parquet"  # an upstream task's build
    build.parent.mkdir(parents=True)
    build.write_bytes(b"x" * 100)
    mine, = _files(tmp_path, 1)
    hashed = []
    monkeypatch.setattr(observe, "file_identity",
                        lambda path, st: (hashed.append(path), filestate.file_identity(path, st))[1])
    with observe.recording(roots=[str(root)]) as rec:
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            assert list(pool.map(lambda p: open(p, "rb").read()[:1], [str(build), mine])) == [b"x", b"0"]
    assert set(rec.read) == {mine} and hashed == [mine]
