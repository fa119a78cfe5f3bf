"""One background thread, the one way slaengine runs work beside the calling thread.

Three jobs run beside an evaluation: the next batch of a source is read ahead
(:mod:`slaengine.readahead`), the input files are hashed for the manifest
(:class:`slaengine.manifest.Digests`), and half the groups of a large order-statistic
selection are partitioned (:mod:`slaengine.statistics`). Each needs the same three things,
which :class:`Worker` gives once: a way to ask the work to stop, an error raised on the worker
handed to the thread that waits for it (as it was, with its traceback), and no thread left
behind on any path out.
"""

from __future__ import annotations

import threading
from collections.abc import Callable


class Worker:
    """``work(stop)`` running on a daemon thread of its own, started at once.

    ``work`` should look at ``stop`` (a :class:`threading.Event`) between two pieces of work
    and return when it is set. :meth:`join` waits for the end and raises the work's error
    there; :meth:`close` asks the work to stop, waits, and leaves any error unraised (the
    caller is already leaving, on an error of its own or because the result is not wanted).
    """

    def __init__(self, work: Callable[[threading.Event], object], name: str) -> None:
        self.stop = threading.Event()
        self._error: BaseException | None = None

        def run() -> None:
            try:
                work(self.stop)
            except BaseException as exc:  # handed to the thread that joins, raised there
                self._error = exc

        self._thread = threading.Thread(target=run, name=name, daemon=True)
        self._thread.start()

    def join(self) -> None:
        """Wait for the work to end; raise its error, if it raised one."""
        self._thread.join()
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def close(self) -> None:
        """Ask the work to stop and wait for its thread to end; its error is dropped."""
        self.stop.set()
        self._thread.join()
        self._error = None
