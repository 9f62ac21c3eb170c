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
