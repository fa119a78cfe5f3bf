"""Measurement periods: which period each record belongs to, cut in the contract's timezone.

A record belongs to the period in which it was created (its kind's ``time_field``), read as wall
time in the contract's timezone: a ticket opened at 2026-03-31 23:30 in New York (03:30 UTC on
April 1st) is a March ticket. Labels: ``2026-W09`` (ISO weeks, starting Monday), ``2026-03``,
``2026-Q1``, ``2026``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from slaengine.bits import extremes, numbers, one_array, valid_mask
from slaengine.errors import DataError
from slaengine.lazy import np, pa, pc

PERIODS = ("week", "month", "quarter", "year")

FIRST_DAY = date(1900, 1, 1)
LAST_DAY = date(2199, 12, 31)
"""The dates a contract may name (``start``, ``end``, exclusions, holidays, ``--as-of``).

Wide enough for any agreement, narrow enough that every period, its neighbours and any UTC
offset stay far inside what ``datetime`` (years 1-9999) and nanosecond timestamps (1677-2262)
can hold, so no date arithmetic overflows. An open-ended contract leaves ``end`` out.
"""


def date_range_problem(day: date) -> str | None:
    """Why ``day`` (a date, or a date-time's date) cannot be used (outside :data:`FIRST_DAY` ..
    :data:`LAST_DAY`), or None."""
    if isinstance(day, datetime):
        day = day.date()
    if FIRST_DAY <= day <= LAST_DAY:
        return None
    return (f"{day.isoformat()} is outside the accepted dates {FIRST_DAY.isoformat()} .. "
            f"{LAST_DAY.isoformat()}")


def period_keys(timestamps: pa.Array | pa.ChunkedArray, period: str, timezone: str) -> np.ndarray:
    """One sortable int64 key per timestamp: equal keys share a period, order is chronological.

    The periods spanned by the data are enumerated (a handful), their UTC bounds computed in
    ``timezone``, and every instant is placed by comparing it with each period's start (a
    binary search when they are many) — far cheaper than converting each instant to local
    calendar fields. Null instants get key 0.
    """
    if period not in PERIODS:
        raise ValueError(f"unknown period {period!r}; accepted: {', '.join(PERIODS)}")
    arr = one_array(timestamps)
    if not (pa.types.is_timestamp(arr.type) and arr.type.unit == "us"):
        arr = pc.cast(arr, pa.timestamp("us", tz=getattr(arr.type, "tz", None)))
    span = extremes(arr)
    if span is None:
        return np.zeros(len(arr), dtype=np.int64)
    values, valid = numbers(arr), valid_mask(arr)  # a missing instant's slot: anything
    low, high = span
    check_instants(low, high)
    zone = ZoneInfo(timezone)
    first = _key_of(_instant(low, zone), period)
    last = _key_of(_instant(high, zone), period)
    if first == last and valid is None:  # one period: no search
        return np.full(len(values), first, dtype=np.int64)
    keys = [first]
    while keys[-1] != last:
        keys.append(_next_key(keys[-1], period))
    grid = np.array(keys, dtype=np.int64)
    starts, _ = period_bounds(grid, period, timezone)
    if len(grid) <= _FEW_PERIODS:  # a comparison per period start: no branch per instant
        position = np.zeros(len(values), dtype=np.intp)
        for start in starts[1:].tolist():
            position += values >= start
    else:
        position = np.clip(np.searchsorted(starts, values, side="right") - 1, 0, None)
    out = grid[position]
    if valid is not None:
        out *= valid  # a missing instant: key 0 (whatever its slot held)
    return out


_FEW_PERIODS = 8


class KeysMemo:
    """The period keys of arrays already placed (:func:`period_keys`), found again by the
    array: one memo per batch, shared by every service level that reads it, so a time
    column several metrics place (a backlog, an aged backlog and a resolution rate all place
    ``created_at`` and ``resolved_at``) is placed once.

    An array is recognised by its values' buffer (address, offset, length, type); the memo
    holds the arrays it has seen, so while it lives no other array can have that buffer.
    The keys it gives are shared: copy them before changing them.
    """

    def __init__(self, period: str, timezone: str) -> None:
        self.period = period
        self.timezone = timezone
        self._found: dict[tuple, tuple[pa.Array, np.ndarray]] = {}

    def keys(self, timestamps: pa.Array | pa.ChunkedArray) -> np.ndarray:
        """:func:`period_keys` of ``timestamps`` (not to be changed)."""
        arr = one_array(timestamps)
        mark = _mark(arr)
        found = self._found.get(mark) if mark is not None else None
        if found is not None:
            return found[1]
        keys = period_keys(arr, self.period, self.timezone)
        if mark is not None:
            self._found[mark] = (arr, keys)
        return keys

    def know(self, timestamps: pa.Array | pa.ChunkedArray, keys: np.ndarray) -> None:
        """Remember ``keys`` (computed elsewhere) as the period keys of ``timestamps``."""
        arr = one_array(timestamps)
        mark = _mark(arr)
        if mark is not None and len(keys) == len(arr):
            self._found[mark] = (arr, keys)


def _mark(arr: pa.Array) -> tuple | None:
    buffers = arr.buffers()
    if len(buffers) < 2 or buffers[1] is None:
        return None
    return (buffers[1].address, arr.offset, len(arr), str(arr.type))


_LOWEST = int(datetime.combine(FIRST_DAY - timedelta(days=2), time(), UTC).timestamp()) * 1_000_000
_HIGHEST = int(datetime.combine(LAST_DAY + timedelta(days=2), time(), UTC).timestamp()) * 1_000_000


def check_instants(lowest: int, highest: int) -> None:
    """Instants outside the accepted dates cannot be given a period (a source should reject
    them as implausible; one that does not gets this error instead of an overflow)."""
    for micros in (lowest, highest):
        if not _LOWEST <= micros <= _HIGHEST:
            moment = (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=micros)
                      if -62135596800_000_000 <= micros <= 253402300799_000_000 else None)
            shown = moment.isoformat() if moment else f"{micros} µs from 1970"
            raise DataError(f"a record's time {shown} lies outside the accepted dates "
                            f"{FIRST_DAY} .. {LAST_DAY}; no period or calendar can place it")


def _instant(micros: int, zone: ZoneInfo) -> datetime:
    return datetime.fromtimestamp(micros // 1_000_000, zone)  # periods start on whole seconds


def _key_of(moment: datetime, period: str) -> int:
    if period == "week":
        iso = moment.isocalendar()
        return iso.year * 100 + iso.week
    if period == "month":
        return moment.year * 100 + moment.month
    if period == "quarter":
        return moment.year * 10 + (moment.month - 1) // 3 + 1
    return moment.year


def _next_key(key: int, period: str) -> int:
    _, after = _local_span(key, period)
    return _key_of(datetime.combine(after, time()), period)


def period_range(first: int, last: int, period: str) -> np.ndarray:
    """Every period key from ``first`` to ``last`` (both included), in order."""
    keys = [first]
    while keys[-1] < last:
        keys.append(_next_key(keys[-1], period))
    return np.array(keys, dtype=np.int64)


def period_label(period: str) -> Callable[[int], str]:
    """Turn a key from :func:`period_keys` back into its label (``2026-03``, ``2026-Q1`` ...)."""
    if period == "week":
        return lambda key: f"{key // 100}-W{key % 100:02d}"
    if period == "month":
        return lambda key: f"{key // 100}-{key % 100:02d}"
    if period == "quarter":
        return lambda key: f"{key // 10}-Q{key % 10}"
    if period == "year":
        return lambda key: f"{key}"
    raise ValueError(f"unknown period {period!r}; accepted: {', '.join(PERIODS)}")


_LABELS = {
    "week": re.compile(r"(\d{4})-W(\d{2})"),
    "month": re.compile(r"(\d{4})-(\d{2})"),
    "quarter": re.compile(r"(\d{4})-Q(\d)"),
    "year": re.compile(r"(\d{4})"),
}
_EXAMPLES = {"week": "2026-W09", "month": "2026-03", "quarter": "2026-Q1", "year": "2026"}


def label_problem(text: str, period: str) -> str | None:
    """Why ``text`` is not the label of a ``period`` (``2026-03`` for a month), or None."""
    found = _LABELS[period].fullmatch(text) if text.isascii() else None
    problem = f'"{text}" is not a {period} label such as "{_EXAMPLES[period]}"'
    if found is None:
        return problem
    year = int(found.group(1))
    if not FIRST_DAY.year <= year <= LAST_DAY.year:
        return f"{problem}: its year lies outside {FIRST_DAY.year}..{LAST_DAY.year}"
    if period == "year":
        return None
    number = int(found.group(2))
    last = {"month": 12, "quarter": 4,
            "week": date(year, 12, 28).isocalendar().week}[period]
    return None if 1 <= number <= last else f"{problem}: a {period} of {year} runs 1..{last}"


def period_bounds(keys: np.ndarray, period: str, timezone: str) -> tuple[np.ndarray, np.ndarray]:
    """UTC bounds ``[start, end)`` of each period key, as int64 microseconds since the epoch.

    Computed per period (a handful), in the contract's timezone, so a month that starts in
    winter time and ends in summer time has its true length.
    """
    zone = ZoneInfo(timezone)
    starts, ends = [], []
    for key in (int(k) for k in keys):
        first, after = _local_span(key, period)
        starts.append(_micros(datetime.combine(first, time(), zone)))
        ends.append(_micros(datetime.combine(after, time(), zone)))
    return np.array(starts, dtype=np.int64), np.array(ends, dtype=np.int64)


def _local_span(key: int, period: str) -> tuple[date, date]:
    if period == "week":
        monday = date.fromisocalendar(key // 100, key % 100, 1)
        return monday, monday + timedelta(days=7)
    if period == "month":
        year, month = divmod(key, 100)
        return date(year, month, 1), date(year + month // 12, month % 12 + 1, 1)
    if period == "quarter":
        year, quarter = divmod(key, 10)
        first = date(year, 3 * quarter - 2, 1)
        return first, date(year + quarter // 4, (3 * quarter) % 12 + 1, 1)
    if period == "year":
        return date(key, 1, 1), date(key + 1, 1, 1)
    raise ValueError(f"unknown period {period!r}; accepted: {', '.join(PERIODS)}")


def _micros(moment: datetime) -> int:
    return int(moment.timestamp()) * 1_000_000
