"""Timestamp fields: ISO 8601 text or typed timestamps and dates, as UTC microseconds within the
dates a contract may name; wall times read in the contract's timezone."""

from __future__ import annotations

from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from slaengine.bits import all_within, numbers
from slaengine.coerce.column import Column, reasons, strict_cast, trimmed_text, type_error
from slaengine.fields import TIMESTAMP
from slaengine.periods import FIRST_DAY, LAST_DAY
from slaengine.walltime import to_utc

# ISO 8601 shapes accepted for timestamps; ranges (month 13, February 30, hour 25) are checked
# by Arrow's strict cast afterwards.
_ISO_RE = (
    r"^\d{4}-\d{2}-\d{2}"
    r"(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$"
)
_OFFSET_RE = r"[T ].*(?:Z|[+-]\d{2}:?\d{2})$"
# Instants a timestamp field may hold (UTC microseconds): far enough inside what a datetime can
# show that a value stays representable, and placeable, in every timezone.
_EARLIEST_US = (FIRST_DAY - date(1970, 1, 1)).days * 86_400_000_000
_LATEST_US = (LAST_DAY - date(1970, 1, 1)).days * 86_400_000_000 + 86_400_000_000 - 1
_TIME_RANGE = f"{FIRST_DAY} to {LAST_DAY}"
# Wall times are clipped to just outside that range before they are placed in a timezone (an
# offset moves them by less than a day), so they stay rejectable and never overflow.
_WALL_LOW_US = _EARLIEST_US - 2 * 86_400_000_000  # 1899-12-30T00:00:00
_WALL_HIGH_US = _LATEST_US + 1 + 2 * 86_400_000_000  # 2200-01-03T00:00:00


def timestamps(name: str, arr: pa.Array, timezone: str, source: str, column: str) -> Column:
    """Timestamps as UTC microseconds: parsed from ISO 8601 text, or converted if typed.

    Typed values a microsecond timestamp cannot hold, and instants outside
    :data:`_TIME_RANGE`, are rejected as out of range.
    """
    t = arr.type
    if pa.types.is_timestamp(t) or pa.types.is_date(t):
        if pa.types.is_date(t):
            micros, zone = strict_cast(arr, pa.timestamp("us")), None
        else:
            micros, zone = _to_us(arr, t.unit, t.tz), t.tz
        typed = micros.cast(TIMESTAMP) if zone is not None else _localise(micros, timezone)
        col = Column(name, arr, typed)
        _check_time_range(col, typed_input=True)
        return col
    if not pa.types.is_string(t):
        raise type_error(source, column, name, t, "timestamps")

    text = trimmed_text(arr)
    shaped = pc.fill_null(pc.match_substring_regex(text, _ISO_RE), False)
    fast = _uniform(text, shaped, timezone)
    if fast is not None:
        col = Column(name, arr, fast, _text=text)
        _check_time_range(col)
        return col
    # Arrow parses at most microseconds for a "us" timestamp; finer digits are truncated.
    norm = pc.replace_substring_regex(text, r"(\.\d{6})\d+", r"\1")
    has_offset = pc.fill_null(pc.match_substring_regex(norm, _OFFSET_RE), False)
    null = pa.scalar(None, pa.string())
    naive_text = pc.if_else(pc.and_(shaped, pc.invert(has_offset)), norm, null)
    aware_text = pc.if_else(pc.and_(shaped, has_offset), norm, null)
    naive = _localise(strict_cast(naive_text, pa.timestamp("us")), timezone)
    aware = strict_cast(aware_text, TIMESTAMP)
    typed = pc.coalesce(naive, aware)

    col = Column(name, arr, typed, _text=text)
    invalid = pc.and_(pc.is_valid(text), pc.is_null(typed))
    col.add_problem(invalid, lambda: reasons(name, text, " is not an ISO 8601 timestamp"))
    _check_time_range(col)
    return col


def _check_time_range(col: Column, *, typed_input: bool = False) -> None:
    """Reject the rows whose instant lies outside :data:`_TIME_RANGE` or, for typed input,
    whose raw value is present but whose instant is missing (it did not fit a microsecond
    timestamp). One min-max pass when every value fits."""
    lost_some = typed_input and col.typed.null_count > col.raw.null_count
    if not lost_some and all_within(col.typed, _EARLIEST_US, _LATEST_US):
        return
    as_int = col.typed.cast(pa.int64())
    outside = pc.or_(pc.less(as_int, _EARLIEST_US), pc.greater(as_int, _LATEST_US))
    bad = pc.fill_null(outside, False)
    if lost_some:
        bad = pc.or_(bad, pc.and_(pc.is_valid(col.raw), pc.is_null(col.typed)))
    what = f" is out of range ({_TIME_RANGE})"
    col.add_problem(bad, lambda: reasons(col.name, col.text, what))


def _uniform(text: pa.Array, shaped: pa.Array, timezone: str) -> pa.Array | None:
    """The common case in one cast: every value well-formed and all naive (or all with an
    offset). None when the column is mixed or has a bad value: then the careful path runs."""
    if not pc.all(pc.or_(shaped, pc.is_null(text))).as_py():
        return None
    try:
        return _localise(pc.cast(text, pa.timestamp("us")), timezone)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    try:
        return pc.cast(text, TIMESTAMP)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None


def _localise(naive: pa.Array, timezone: str) -> pa.Array:
    """Read naive timestamps as wall-clock times in ``timezone`` and return UTC instants.

    DST changes: a wall time that occurs twice (the hour repeated when clocks go back) takes
    its first occurrence (``ambiguous="earliest"``: 01:30 on 2026-11-01 in New York is
    05:30Z, still daylight time); a wall time that does not exist (the hour skipped when clocks
    go forward) becomes the last instant before the gap (``nonexistent="earliest"``: 02:30 on
    2026-03-08 in New York is 06:59:59.999999Z). Both are what a clock on the wall would show a
    moment earlier, so a record is never moved later than it was written. (The same as
    ``pyarrow.compute.assume_timezone`` with ``ambiguous="earliest"`` and
    ``nonexistent="earliest"``, in a few passes: see :mod:`slaengine.walltime`.)
    """
    if naive.null_count == len(naive):
        return pa.nulls(len(naive), TIMESTAMP)
    if naive.offset:
        naive = pa.concat_arrays([naive])  # buffers that start at the first value
    validity, data = naive.buffers()[:2]
    local = np.frombuffer(data, dtype=np.int64, count=len(naive))
    if local.min() < _WALL_LOW_US or local.max() > _WALL_HIGH_US:
        # out of range either way (rejected by the caller); clipped so they can be placed
        local = np.clip(local, _WALL_LOW_US, _WALL_HIGH_US)
    if not naive.null_count:
        return pa.array(to_utc(local, timezone), TIMESTAMP)
    valid = np.unpackbits(np.frombuffer(validity, dtype=np.uint8), bitorder="little",
                          count=len(naive)).view(bool)
    # a valid value in the null slots keeps the span of offsets to search small
    local = np.where(valid, local, local[int(np.argmax(valid))])
    return pa.Array.from_buffers(TIMESTAMP, len(naive),
                                 [validity, pa.py_buffer(to_utc(local, timezone))],
                                 null_count=naive.null_count)


def _to_us(arr: pa.Array, unit: str, tz: str | None) -> pa.Array:
    """Typed timestamps in microseconds; nanoseconds are truncated, coarser units widened."""
    target = pa.timestamp("us", tz=tz)
    if unit == "ns":
        return arr.cast(target, safe=False)
    scale = _TO_US.get(unit)
    if scale is not None and arr.offset == 0 and arr.null_count < len(arr):
        values = numbers(arr)
        # every slot (null slots too) where the product cannot overflow: one multiplication
        if values.min() >= _EARLIEST_US // scale and values.max() <= _LATEST_US // scale:
            return pa.Array.from_buffers(target, len(arr),
                                         [arr.buffers()[0], pa.py_buffer(values * scale)],
                                         null_count=arr.null_count)
    return strict_cast(arr, target)


_TO_US = {"s": 1_000_000, "ms": 1_000}

