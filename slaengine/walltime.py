"""Wall-clock times in a timezone to UTC instants, vectorised over a few offset changes.

A timezone's offset from UTC changes only at its transitions (daylight saving, rule changes),
a handful a year. :func:`to_utc` finds the transitions the data spans, then places every wall
time with one binary search and subtracts its offset: a pass or two over the data instead of
a calendar conversion per value.

The hours a transition skips or repeats are resolved as :func:`slaengine.coerce._localise`
documents: a repeated wall time takes its first occurrence (``ambiguous="earliest"``), a skipped
one becomes the last instant before the gap (``nonexistent="earliest"``), exactly as
``pyarrow.compute.assume_timezone`` does with those options.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

_US = 1_000_000
_DAY_US = 86_400 * _US


def _offset_us(zone: ZoneInfo, instant_us: int) -> int:
    moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=instant_us)
    offset = moment.astimezone(zone).utcoffset()
    assert offset is not None
    return (offset.days * 86_400 + offset.seconds) * _US + offset.microseconds


def transitions(zone: ZoneInfo, first_us: int, last_us: int) -> tuple[list[int], list[int]]:
    """The UTC instants (µs) between ``first_us`` and ``last_us`` where ``zone``'s offset
    changes, and the offsets (µs): ``offsets[i]`` holds before ``instants[i]``, the last one
    after the last change. Found by stepping a day at a time and bisecting to the second."""
    instants: list[int] = []
    offsets = [_offset_us(zone, first_us)]
    step = first_us
    while step < last_us:
        after = min(step + _DAY_US, last_us)
        offset = _offset_us(zone, after)
        if offset != offsets[-1]:
            low, high = step, after  # offset(low) is the old one, offset(high) the new one
            while high - low > _US:
                middle = (low + high) // 2
                if _offset_us(zone, middle) == offsets[-1]:
                    low = middle
                else:
                    high = middle
            instants.append(high // _US * _US)  # transitions fall on whole seconds
            offsets.append(offset)
        step = after
    return instants, offsets


def to_utc(local_us: np.ndarray, timezone: str) -> np.ndarray:
    """UTC instants (µs since the epoch) of wall times ``local_us`` (µs since the local epoch,
    as a naive timestamp holds them) in ``timezone``."""
    if not len(local_us):
        return local_us.astype(np.int64)
    zone = ZoneInfo(timezone)
    margin = 2 * _DAY_US  # offsets are under a day: the UTC span lies within this margin
    instants, offsets = transitions(zone, int(local_us.min()) - margin,
                                    int(local_us.max()) + margin)
    utc = local_us - offsets[0]
    for change, before, after in zip(instants, offsets, offsets[1:], strict=False):
        # In wall time the change happens at change + before: from then on the new offset
        # holds. A repeated hour (after < before) lies before that point: its first occurrence.
        # A skipped hour (after > before) is [change + before, change + after): those wall
        # times become the last instant before the gap.
        passed = local_us >= change + before
        np.subtract(utc, after - before, out=utc, where=passed)
        if after > before:
            in_gap = passed & (local_us < change + after)
            if in_gap.any():
                utc[in_gap] = change - 1
    return utc
