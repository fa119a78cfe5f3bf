"""Measurement periods: which period each record belongs to, cut in the contract's timezone.

A record belongs to the period in which it was created (its kind's ``time_field``), read as wall
time in the contract's timezone: a ticket opened at 2026-03-31 23:30 in New York (03:30 UTC on
April 1st) is a March ticket. Labels: ``2026-W09`` (ISO weeks, starting Monday), ``2026-03``,
``2026-Q1``, ``2026``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

PERIODS = ("week", "month", "quarter", "year")


def period_keys(timestamps: pa.Array | pa.ChunkedArray, period: str, timezone: str) -> np.ndarray:
    """One sortable int64 key per timestamp: equal keys share a period, order is chronological.

    Vectorised: the timestamps are viewed in ``timezone`` (a metadata change) and Arrow's
    calendar kernels extract the local year, month or ISO week.
    """
    local = pc.cast(timestamps, pa.timestamp("us", tz=timezone))
    if period == "week":
        keys = pc.add(pc.multiply(pc.iso_year(local), 100), pc.iso_week(local))
    elif period == "month":
        keys = pc.add(pc.multiply(pc.year(local), 100), pc.month(local))
    elif period == "quarter":
        keys = pc.add(pc.multiply(pc.year(local), 10), pc.quarter(local))
    elif period == "year":
        keys = pc.year(local)
    else:
        raise ValueError(f"unknown period {period!r}; accepted: {', '.join(PERIODS)}")
    return np.asarray(pc.cast(keys, pa.int64()).to_numpy(zero_copy_only=False), dtype=np.int64)


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
