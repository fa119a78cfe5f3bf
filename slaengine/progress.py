"""Progress of an evaluation: what is being done and, on a read whose size is known, how far
it has come.

``slaengine.engine.evaluate`` reports to a callback, once per batch at most. A callback may
take the description only (``print`` will do); one that also takes ``done`` and ``total``
gets, while a source is read, the bytes of its files read so far and their total size, when
every one is a regular file whose size is known (not standard input or a FIFO) and the
source tells how far it has come (:attr:`slaengine.plugin.SourceBatch.position`).
"""

from __future__ import annotations

import stat
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol


class Progress(Protocol):
    """A callback that takes byte counts: ``done`` of ``total`` bytes read, or both None
    (nothing is being read, or its size is not known)."""

    def __call__(self, description: str, done: int | None = None,
                 total: int | None = None) -> None: ...


def reporter(callback: Progress | Callable[[str], None] | None) -> Progress:
    """``callback`` as a :class:`Progress`: one that takes the description only is given the
    description only; None reports nowhere."""
    if callback is None:
        return _nowhere
    import inspect

    try:
        inspect.signature(callback).bind("", done=0, total=0)
    except (TypeError, ValueError):  # takes no done/total (or cannot tell)
        plain = callback

        def described(description: str, done: int | None = None,
                      total: int | None = None) -> None:
            plain(description)

        return described
    return callback  # type: ignore[return-value]


def _nowhere(description: str, done: int | None = None, total: int | None = None) -> None:
    return None


def known_size(files: Sequence[Path]) -> int | None:
    """The total size in bytes of ``files`` when each is a regular file; None when one is
    not (standard input, a FIFO, a device) or cannot be looked at."""
    total = 0
    for path in files:
        try:
            found = path.stat()
        except OSError:
            return None
        if not stat.S_ISREG(found.st_mode):
            return None
        total += found.st_size
    return total
