"""Read a source one step ahead of the evaluation, on one thread of its own.

A source's batches are decoded and typed (Arrow compute, which releases the interpreter lock)
while the previous batch is measured and counted (numpy, on the calling thread). This is a
two-stage pipeline, not a pool: Arrow's own thread pool still does the decoding, and one
thread only keeps the next batch coming. Order is kept, at most ``depth`` batches wait, and an
exception raised by the source is raised again, as it was, where the batches are consumed.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")

_DONE = object()


class _Failed:
    def __init__(self, error: BaseException) -> None:
        self.error = error


def read_ahead(items: Iterable[T], depth: int = 2) -> Iterator[T]:
    """Yield the items of ``items`` in order, producing up to ``depth`` ahead on a thread.

    When the consumer stops early (an error, or ``close()``), the producing thread is told to
    stop at its next item and the source's iterator is closed on that thread.
    """
    slots: queue.Queue[object] = queue.Queue(maxsize=max(depth, 1))
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                slots.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        iterator = iter(items)
        try:
            for item in iterator:
                if not put(item):
                    break
            else:
                put(_DONE)
        except BaseException as exc:  # handed over to the consumer, raised there
            put(_Failed(exc))
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                close()

    thread = threading.Thread(target=produce, name="slaengine-read-ahead", daemon=True)
    thread.start()
    try:
        while True:
            item = slots.get()
            if item is _DONE:
                return
            if isinstance(item, _Failed):
                raise item.error
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        thread.join()
