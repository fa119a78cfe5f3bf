"""Wall-clock times in a timezone to UTC instants, vectorised over a few offset changes.

A timezone's offset from UTC changes only at its transitions (daylight saving, rule changes),
a handful a year. :func:`to_utc` finds the transitions the data spans, then places every wall
time with one binary search and subtracts its offset: a pass or two over the data instead of
a calendar conversion per value.

The hours a transition skips or repeats are resolved as :func:`slaengine.coerce.times._localise`
documents: a repeated wall time takes its first occurrence (``ambiguous="earliest"``), a skipped
one becomes the last instant before the gap (``nonexistent="earliest"``), exactly as
``pyarrow.compute.assume_timezone`` does with those options.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from slaengine.lazy import np

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
    after the last change. Each calendar year is searched once per process (cached), so many
    batches spanning many years cost no more than one."""
    first_year = _year_of(first_us)
    changes = [change for year in range(first_year, _year_of(last_us) + 1)
               for change in _changes_in_year(zone, year)
               if first_us < change[0] <= last_us]
    offsets = [_offset_us(zone, first_us)] + [offset for _, offset in changes]
    return [instant for instant, _ in changes], offsets


def _year_of(instant_us: int) -> int:
    return (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=instant_us)).year


@functools.lru_cache(maxsize=4096)
def _changes_in_year(zone: ZoneInfo, year: int) -> tuple[tuple[int, int], ...]:
    """The offset changes of ``zone`` in a UTC calendar year: (instant, new offset) pairs,
    found by stepping a day at a time and bisecting to the second."""
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    step = (datetime(year, 1, 1, tzinfo=UTC) - epoch) // timedelta(microseconds=1)
    end = (datetime(year + 1, 1, 1, tzinfo=UTC) - epoch) // timedelta(microseconds=1)
    changes: list[tuple[int, int]] = []
    current = _offset_us(zone, step)
    while step < end:
        after = min(step + _DAY_US, end)
        offset = _offset_us(zone, after)
        if offset != current:
            low, high = step, after  # offset(low) is the old one, offset(high) the new one
            while high - low > _US:
                middle = (low + high) // 2
                if _offset_us(zone, middle) == current:
                    low = middle
                else:
                    high = middle
            changes.append((high // _US * _US, offset))  # transitions fall on whole seconds
            current = offset
        step = after
    return tuple(changes)


def to_utc(local_us: np.ndarray, timezone: str) -> np.ndarray:
    """UTC instants (µs since the epoch) of wall times ``local_us`` (µs since the local epoch,
    as a naive timestamp holds them) in ``timezone``."""
    if not len(local_us):
        return local_us.astype(np.int64)
    zone = ZoneInfo(timezone)
    margin = 2 * _DAY_US  # offsets are under a day: the UTC span lies within this margin
    instants, offsets = transitions(zone, int(local_us.min()) - margin,
                                    int(local_us.max()) + margin)
    if len(instants) > _FEW_CHANGES:
        return _searched(local_us, instants, offsets)
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


_FEW_CHANGES = 6  # up to this many changes, a pass per change beats a binary search


def _searched(local_us: np.ndarray, instants: list[int], offsets: list[int]) -> np.ndarray:
    """:func:`to_utc` for data spanning many changes: each wall time placed by binary search
    among the changes (in wall time), the same rules for repeated and skipped hours."""
    changes = np.array(instants, dtype=np.int64)
    before = np.array(offsets[:-1], dtype=np.int64)
    after = np.array(offsets[1:], dtype=np.int64)
    index = np.searchsorted(changes + before, local_us, side="right")  # changes passed
    utc = local_us - np.asarray(offsets, dtype=np.int64)[index]
    last = np.maximum(index - 1, 0)
    in_gap = (index > 0) & (after > before)[last] & (local_us < (changes + after)[last])
    if in_gap.any():
        utc[in_gap] = changes[last[in_gap]] - 1  # the last instant before the gap
    return utc
