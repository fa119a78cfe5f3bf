"""The service levels one source feeds, split into two lanes that fold each batch at once:
one on the reading loop's thread, one on a thread of its own.

A batch's levels mostly wait on numpy and Arrow, which release the interpreter lock, so two
lanes keep a second core busy when the levels cost more than the reading. The lanes meet
after every batch (the next batch is handed out only when both are done), so a level sees the
batches in order, and whatever levels share is computed once per batch under a lock
(:meth:`Batch.shared <slaengine.engine.batch.Batch.shared>`): the results are the same, bit
for bit, as on one lane.

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


WORTH_A_THREAD = 12
"""The guessed cost of a source's levels (see :func:`split`) from which they take two lanes.

The reading already keeps a core busy (decoding, typing), so a second lane pays only when the
levels cost clearly more than the reading: on 2 cores and 10M Parquet tickets, the ISP
example's 16 levels (cost 24) took 5.5-6.2 s on two lanes against 6.1-6.5 s on one, while the
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
    thread. :meth:`close` ends the second lane's thread on every path out."""

    def __init__(self, levels: Sequence[StreamedLevel]) -> None:
        own, other = split(levels)
        two = ENABLED and (os.cpu_count() or 1) >= 2 and own and other
        self.own = list(own) if two else list(levels)
        self.other = list(other) if two else []
        self._batches: queue.Queue[object] = queue.Queue(maxsize=1)
        self._done: queue.Queue[BaseException | None] = queue.Queue(maxsize=1)
        self._worker = Worker(self._run, "slaengine-lane") if self.other else None

    def _run(self, stop: threading.Event) -> None:
        while True:
            batch = self._batches.get()
            if batch is _DONE:
                return
            error: BaseException | None = None
            try:
                for level in self.other:
                    level.add(batch)  # type: ignore[arg-type]
            except BaseException as exc:  # handed to the feeding thread, raised there
                error = exc
            self._done.put(error)  # every batch handed out is answered, whatever happened

    def add(self, batch: Batch) -> None:
        """Fold ``batch`` into every level; an error of either lane is raised here."""
        if self._worker is None:
            for level in self.own:
                level.add(batch)
            return
        self._batches.put(batch)
        try:
            for level in self.own:
                level.add(batch)
        finally:
            error = self._done.get()  # both lanes done with this batch before the next
        if error is not None:
            raise error

    def close(self) -> None:
        """Let the second lane's thread end (it waits for no more batches) and join it."""
        if self._worker is not None:
            self._batches.put(_DONE)
            self._worker.close()
            self._worker = None
