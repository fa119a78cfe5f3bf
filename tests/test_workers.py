"""The one background-thread pattern: stop on request, errors handed over, no thread left."""

from __future__ import annotations

import threading

import pytest

from slaengine.workers import Worker


def _threads(name: str) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == name]


def test_join_waits_for_the_work_and_raises_its_error_on_the_joining_thread() -> None:
    done: list[int] = []

    def work(stop: threading.Event) -> None:
        done.append(1)
        raise KeyError("from the worker")

    worker = Worker(work, "test-worker-error")
    with pytest.raises(KeyError, match="from the worker"):
        worker.join()
    assert done == [1]
    assert _threads("test-worker-error") == []
    worker.join()  # the error is handed over once


def test_close_stops_work_that_watches_stop_and_leaves_no_thread() -> None:
    started = threading.Event()
    rounds: list[int] = []

    def work(stop: threading.Event) -> None:
        started.set()
        while not stop.wait(0.01):
            rounds.append(1)
        raise RuntimeError("ended by close: not raised")

    worker = Worker(work, "test-worker-close")
    assert started.wait(5)
    worker.close()
    assert _threads("test-worker-close") == []
    worker.join()  # close dropped the error: the caller was leaving anyway


def test_work_that_ends_normally_joins_quietly() -> None:
    seen: list[bool] = []
    worker = Worker(lambda stop: seen.append(stop.is_set()), "test-worker-quiet")
    worker.join()
    assert seen == [False]
