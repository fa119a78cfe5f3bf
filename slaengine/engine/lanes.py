"""The service levels one source feeds, split into two lanes that fold each batch at once:
one on the reading loop's thread, one on a thread of its own.

A batch's levels mostly wait on numpy and Arrow, which release the interpreter lock, so two
lanes keep a second core busy when the levels cost more than the reading. Each lane folds the
batches in order (the second a batch or two behind), and whatever levels of both lanes share
is computed once per batch under a lock (:meth:`Batch.shared
<slaengine.engine.batch.Batch.shared>`), the groups' numbering under the grouping's own lock:
the results are the same, bit for bit, as on one lane.

Levels that share state beyond a batch stay in one lane: the per-record levels of one share
key (one tally), and the inputs of one period-level service level.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Sequence

from slaengine.engine.batch import Batch
from slaengine.engine.levels import PeriodInput, StreamedLevel
from slaengine.engine.record import RecordLevel
from slaengine.workers import Worker

ENABLED = True
"""Whether a source's levels may be split into two lanes (the tests compare both ways)."""

_DONE = object()

AHEAD = 2
"""Batches the second lane may be behind the first (each held until both have folded it)."""


WORTH_A_THREAD = 12
"""The guessed cost of a source's levels (see :func:`split`) from which they take two lanes.

The reading already keeps a core busy (decoding, typing), so a second lane pays only when the
levels cost clearly more than the reading: on 2 cores and 10M Parquet tickets, the ISP
example's 16 levels (cost 24) took 5.3-5.5 s on two lanes against 6.3-6.5 s on one, while the
benchmark's nine levels (cost 6) were no faster, and at times slower, on two."""


def split(levels: Sequence[StreamedLevel]) -> tuple[list[StreamedLevel], list[StreamedLevel]]:
    """Two lanes of about the same cost, each group of levels that share state whole in one;
    all in the first when their cost is below :data:`WORTH_A_THREAD`.

    The cost of a group is guessed, not measured: a period-level service level's summary
    (a group-by per batch) weighs 3, a per-record measure 1, or 2 on business hours."""
    groups: dict[object, list[StreamedLevel]] = {}
    weights: dict[object, int] = {}
    for level in levels:
        if isinstance(level, RecordLevel):
            key: object = ("record", level.share_key)
            weight = 1 if level.calendar.name == "24x7" else 2
        elif isinstance(level, PeriodInput):
            key, weight = ("period", id(level.period_level)), 3
        else:  # a kind of level this split does not know: everything in one lane
            return list(levels), []
        groups.setdefault(key, []).append(level)
        weights[key] = max(weights.get(key, 0), weight)
    if sum(weights.values()) < WORTH_A_THREAD:
        return list(levels), []
    lanes: tuple[list[StreamedLevel], list[StreamedLevel]] = ([], [])
    loads = [0, 0]
    for key in sorted(groups, key=lambda k: -weights[k]):  # heaviest first, to the lighter
        lane = 0 if loads[0] <= loads[1] else 1
        lanes[lane].extend(groups[key])
        loads[lane] += weights[key]
    return lanes


class Lanes:
    """Feeds each batch to ``levels``: split into two lanes when that is worth a thread
    (:data:`ENABLED`, two cores or more, and some work for each lane), else all on the calling
    thread.

    The second lane takes the batches in order from a short queue (:data:`AHEAD` batches) and
    folds them at its own pace, so neither lane waits for the other after every batch.
    :meth:`finish` waits for it to catch up and raises its error, if it met one (an error is
    also raised at the next :meth:`add`); :meth:`close` ends its thread on every path out."""

    def __init__(self, levels: Sequence[StreamedLevel]) -> None:
        own, other = split(levels)
        two = ENABLED and (os.cpu_count() or 1) >= 2 and own and other
        self.own = list(own) if two else list(levels)
        self.other = list(other) if two else []
        self._batches: queue.Queue[object] = queue.Queue(maxsize=AHEAD)
        self._error: BaseException | None = None
        self._abandoned = False
        self._worker = Worker(self._run, "slaengine-lane") if self.other else None

    def _run(self, stop: threading.Event) -> None:
        while True:
            batch = self._batches.get()
            if batch is _DONE:
                return
            if self._error is not None or self._abandoned:
                continue  # only taken off the queue: the feeding thread is leaving
            try:
                for level in self.other:
                    level.add(batch)  # type: ignore[arg-type]
            except BaseException as exc:  # handed to the feeding thread, raised there
                self._error = exc

    def add(self, batch: Batch) -> None:
        """Fold ``batch`` into every level (the second lane's share on its thread)."""
        if self._worker is not None:
            self._raise()
            self._batches.put(batch)
        for level in self.own:
            level.add(batch)

    def finish(self) -> None:
        """Wait until the second lane has folded every batch; raise its error, if any."""
        self._stop()
        self._raise()

    def close(self) -> None:
        """End the second lane's thread (what it still holds is left unfolded); no error."""
        self._abandoned = True
        self._stop()

    def _stop(self) -> None:
        if self._worker is not None:
            self._batches.put(_DONE)
            self._worker.join()
            self._worker = None

    def _raise(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            self._abandoned = True
            raise error
