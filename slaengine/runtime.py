"""Process-wide tuning for a long evaluation, entered explicitly by the programs that want it.

:func:`tuned` is entered by the ``evaluate`` and ``verify`` commands and by the benchmark;
:func:`slaengine.engine.evaluate` called from Python changes nothing in its process (a
notebook or a service that evaluates keeps its allocator and its garbage collector as they
were).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

from slaengine.allocator import choose_arrow_pool, keep_freed_memory
from slaengine.lazy import pa


@contextmanager
def tuned() -> Iterator[None]:
    """Within: glibc keeps freed pages for reuse, Arrow's default pool is jemalloc and the
    cycle collector is off (see :mod:`slaengine.allocator`); on exit, Arrow's default pool and
    the collector are as they were.

    The evaluation makes few Python objects that could form cycles but many arrays: the cycle
    collector, triggered by allocation counts, would only walk the heap again and again.

    glibc's ``mallopt`` settings cannot be undone: glibc offers no way to read the thresholds
    back, so there is nothing to restore them to. They are harmless after the evaluation: they
    only decide whether freed memory goes back to the system at once or is kept for reuse
    (up to 128 MiB at the top of the heap, blocks below 32 MiB taken from the heap instead of
    their own ``mmap``); no allocation fails or behaves differently because of them.
    """
    pool = pa.default_memory_pool()
    collecting = gc.isenabled()
    keep_freed_memory()
    choose_arrow_pool()
    gc.disable()
    try:
        yield
    finally:
        pa.set_memory_pool(pool)
        if collecting:
            gc.enable()
