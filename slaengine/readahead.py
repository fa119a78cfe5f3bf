"""Read a source one step ahead of the evaluation, on one thread of its own.

A source's batches are decoded and typed (Arrow compute, which releases the interpreter lock)
while the previous batch is measured and counted (numpy, on the calling thread). This is a
stage of a pipeline, not a pool: one thread keeps the next item coming (a source may use it
again for a stage of its own: the ``arrow`` source decodes a Parquet file on one, the ``csv``
source parses on one). Order is kept, at most ``depth`` batches wait, and an
exception raised by the source is raised again, as it was, where the batches are consumed.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import TypeVar

from slaengine.workers import Worker

T = TypeVar("T")

_DONE = object()


def read_ahead(items: Iterable[T], depth: int = 2, name: str = "slaengine-read-ahead",
               ) -> Iterator[T]:
    """Yield the items of ``items`` in order, producing up to ``depth`` ahead on a thread.

    When the consumer stops early (an error, or ``close()``), the producing thread is told to
    stop at its next item and the source's iterator is closed on that thread. ``name`` is the
    producing thread's.
    """
    slots: queue.Queue[object] = queue.Queue(maxsize=max(depth, 1))

    def put(item: object, stop: threading.Event) -> bool:
        while not stop.is_set():
            try:
                slots.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce(stop: threading.Event) -> None:
        iterator = iter(items)
        try:
            for item in iterator:
                if not put(item, stop):
                    return
        finally:
            # After an error too: the consumer, finding the end, joins and gets the error.
            put(_DONE, stop)
            close = getattr(iterator, "close", None)
            if close is not None:
                close()

    producer = Worker(produce, name)
    try:
        while True:
            item = slots.get()
            if item is _DONE:
                producer.join()  # raises the source's error, if it ended on one
                return
            yield item  # type: ignore[misc]
    finally:
        producer.close()
