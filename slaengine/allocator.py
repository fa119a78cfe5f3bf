"""Memory for an evaluation: freed batches' pages reused, not asked of the system each time.

Evaluating a batch makes many short-lived arrays of a megabyte or so, and fresh pages cost a
page fault each (the kernel zeroes them). Measured on 10M records, two allocators did that
for every batch:

- glibc's malloc serves such sizes with fresh ``mmap`` pages and unmaps them on free: about a
  tenth of the evaluation time. Raising the mmap threshold to 32 MiB (arrays up to that come
  from the heap) and the trim threshold to 128 MiB (a freed top of heap is kept up to that)
  makes the next batch reuse the same pages. Only glibc (Linux) has these knobs; when the
  process was started with any of glibc's ``MALLOC_*`` environment variables, they are left
  as set.
- Arrow's default pool (mimalloc in the wheels) kept extending into fresh pages while batches
  were decoded on one thread and freed on another: 7% slower and a third more peak memory
  than jemalloc, which becomes Arrow's default pool where the build has it, told to return
  freed pages to the system after 100 ms. ``ARROW_DEFAULT_MEMORY_POOL`` in the environment
  wins.

Applied by :func:`slaengine.runtime.tuned`, which the command line and the benchmark enter.
"""

from __future__ import annotations

import ctypes
import os
import platform

from slaengine.lazy import pa

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 << 20
TRIM_THRESHOLD = 128 << 20

_done = False
DECAY_MS = 100


def choose_arrow_pool() -> str:
    """Make jemalloc Arrow's default pool where Arrow has it and the environment does not
    choose; the name of the default pool after that (:func:`slaengine.runtime.tuned` puts the
    pool before back)."""
    if "ARROW_DEFAULT_MEMORY_POOL" not in os.environ:
        try:
            pool = pa.jemalloc_memory_pool()
            pa.jemalloc_set_decay_ms(DECAY_MS)
            pa.set_memory_pool(pool)
        except NotImplementedError:  # built without jemalloc: the default stays
            pass
    return pa.default_memory_pool().backend_name


def keep_freed_memory() -> bool:
    """Tune glibc's malloc as described above; True when it was tuned (now or before)."""
    global _done
    if _done:
        return True
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    if any(name.startswith("MALLOC_") for name in os.environ):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        tuned = (libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1
                 and libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1)
    except (OSError, AttributeError):
        return False
    _done = tuned
    return tuned
