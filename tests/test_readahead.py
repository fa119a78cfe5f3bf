"""read_ahead: same items in the same order, errors raised where the items are consumed."""

from __future__ import annotations

import threading

import pytest

from slaengine.readahead import read_ahead


def test_items_come_in_order_from_another_thread() -> None:
    threads: set[str] = set()

    def produce():
        for i in range(50):
            threads.add(threading.current_thread().name)
            yield i

    assert list(read_ahead(produce(), depth=3)) == list(range(50))
    assert threads == {"slaengine-read-ahead"}


def test_an_error_of_the_source_is_raised_to_the_consumer_after_the_items_before_it() -> None:
    def produce():
        yield 1
        yield 2
        raise KeyError("bad page")

    seen = []
    with pytest.raises(KeyError, match="bad page"):
        for item in read_ahead(produce()):
            seen.append(item)
    assert seen == [1, 2]


def test_stopping_early_closes_the_source() -> None:
    closed = threading.Event()

    def produce():
        try:
            yield from range(1000)
        finally:
            closed.set()

    items = read_ahead(produce(), depth=1)
    assert next(items) == 0
    items.close()
    assert closed.wait(5)
