"""Calendars: how much countable time lies between two instants.

Without a ``calendar`` a service level counts every second (24x7). A calendar measures whole
arrays at once; it never loops over records.

Business calendars
------------------
:class:`BusinessCalendar` counts only business time: weekly opening hours in a timezone, minus
holidays. The rule it implements is the one a person would check by hand, one instant at a time:

    *an instant counts if its local wall-clock time lies inside a business interval of its day*

(or of the day before, for an overnight shift such as ``"22:00-06:00"``, which belongs to the
day it starts on and runs into the next). Everything else follows from that rule:

* Spring forward: wall times that never happen are simply not lived, so an 8-hour wall-clock
  night shift on the spring-forward night lasts 7 real hours.
* Fall back: the repeated wall hour is lived twice, so the same shift lasts 9 real hours, and an
  interval that starts or ends inside the repeated hour counts both passes through it.
* A holiday removes the intervals *belonging* to that date (an overnight shift that started the
  evening before still runs to its end); a partial day replaces the weekly hours of that date.
* Intervals of neighbouring days that overlap (an overnight tail and the next morning) count once.

How it is computed (exact, and no Python loop per record)
---------------------------------------------------------
1. For the local dates covering ``min(start) .. max(end)`` (plus a margin), list the business
   intervals of each date in *wall time*, as int64 microseconds of a naive local clock (a loop
   per date, cheap: a year is ~365 iterations). Union them.
2. Find the zone's UTC-offset changes in the same span (``zoneinfo``, sampled every 6 hours and
   bisected to the second) and cut the UTC span into segments of constant offset. In a segment
   the wall clock is ``utc + offset``; the business part of the segment is the wall intervals
   intersected with the segment's wall window, shifted back by the offset. This is exactly the
   rule above, for gaps and folds alike.
3. The result is a sorted set of disjoint UTC intervals with the cumulative business time at each
   interval start, so that ``B(t)`` (business microseconds before instant ``t``) is
   ``cum[i] + min(t - start[i], length[i])`` with ``i`` the last interval starting at or before
   ``t``; ``elapsed = max(B(end) - B(start), 0)``.
4. Finding ``i`` for every record: when all interval bounds fall on a common grid ``g`` (the gcd
   of the bounds - one minute at worst, usually 30 or 60 minutes) and the span holds at most a few
   million grid steps, ``B`` is tabulated at the grid points and read with an integer division
   and two gathers from a small table (fits in cache); otherwise ``numpy.searchsorted`` is used.
   Both are exact on int64 microseconds; the result is converted to float seconds at the end.

The tables of step 1-3 are cached per calendar for the span of days they cover; a later call
whose instants fall inside that span reuses them, a call outside it rebuilds them for the union
of both spans. Building costs about 10 ms per year of span (a per-day and a per-6-hours loop), so
instants must be plausible (years 2..9998; a source should reject absurd dates).

Contract language
-----------------
One ``[calendars.NAME]`` table per calendar (:data:`CALENDAR_SCHEMA`, parsed by
:func:`build_calendars`)::

    [calendars.support-hours]
    timezone = "America/New_York"             # IANA name; else inherited, else the contract's
    hours = { mon-fri = "08:00-12:00, 13:00-18:00", sat = "09:00-13:00" }
    holidays = [{ country = "US", subdiv = "NY" }, "2026-12-28..2026-12-31",
                { date = 2026-12-24, hours = "08:00-12:00" }]
    [calendars.night-desk]
    extend = "support-hours"                  # inherits timezone, hours, holidays
    hours = { mon-fri = "22:00-06:00" }       # replaces the inherited hours as a whole

* ``hours`` keys: ``mon`` .. ``sun`` or a range ``mon-fri``; a range may wrap round the week
  (``fri-mon`` is fri, sat, sun, mon). A day may be named by one key only; unnamed days are
  closed. Values: ``HH:MM-HH:MM`` intervals separated by commas, sorted or not, not
  overlapping; ``24:00`` ends a day at midnight; an end before the start runs past midnight
  (``22:00-06:00`` belongs to the day it starts); ``"closed"`` or ``""`` means no hours.
* ``holidays``: a TOML date, a ``"YYYY-MM-DD"`` string, a range string
  ``"YYYY-MM-DD..YYYY-MM-DD"`` (both ends included), or a table ``{ date = ..., hours = "..." }``
  whose ``date`` may be any of those forms: a partial day that has ONLY those hours. When
  several entries name one date the later one wins (a calendar's own entries come after the
  inherited ones), so a partial day can reopen one date of a holiday range.
* A table ``{ country = "US", subdiv = "NY", categories = ["public"] }`` closes the public
  holidays of a country (an ISO 3166-1 alpha-2 code), optionally of one subdivision, as the
  ``holidays`` package lists them, observed days included (``subdiv`` and ``categories`` are
  optional; the package's default category is ``public``). The dates are expanded lazily, year by
  year, for the years a measurement spans. A date the list names itself (a holiday or a partial
  day) takes precedence over a country's holiday, wherever the country table stands, so
  ``{ date = 2026-11-26, hours = "08:00-12:00" }`` opens half of Thanksgiving.
"""

from __future__ import annotations

import functools
import re
import threading
import zoneinfo
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from typing import Any

from slaengine.errors import ContractError, DataError, did_you_mean
from slaengine.lazy import np, pa, pc
from slaengine.periods import FIRST_DAY, LAST_DAY, check_instants, date_range_problem
from slaengine.walltime import transitions


class Calendar:
    """Round-the-clock time: the plain difference between two instants, in seconds."""

    name = "24x7"

    def elapsed(
        self, start: pa.Array | pa.ChunkedArray, end: pa.Array | pa.ChunkedArray
    ) -> pa.Array | pa.ChunkedArray:
        """Seconds from ``start`` to ``end`` per record (float64); null where either is null."""
        if isinstance(start, pa.ChunkedArray) or isinstance(end, pa.ChunkedArray):
            return pa.chunked_array([self.elapsed(_as_array(start), _as_array(end))])
        if not (_is_us(start) and _is_us(end)):
            micros = pc.subtract(pc.cast(end, pa.int64()), pc.cast(start, pa.int64()))
            return pc.divide(pc.cast(micros, pa.float64()), 1_000_000.0)
        # The common case in numpy, straight on the buffers: one subtraction, one division.
        seconds = (_micros(end)[0] - _micros(start)[0]) / 1_000_000.0
        if not start.null_count and not end.null_count:
            return pa.array(seconds, pa.float64())
        both = pc.and_(pc.is_valid(start), pc.is_valid(end))  # its data bitmap is the validity
        return pa.Array.from_buffers(pa.float64(), len(seconds),
                                     [both.buffers()[1], pa.py_buffer(seconds)], offset=0)


ALWAYS = Calendar()


# --------------------------------------------------------------------------- business calendars

Interval = tuple[int, int]
"""Minutes from local midnight ``(start, end)``; ``end`` may pass 1440 for an overnight shift."""

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
HOURS_FORM = "HH:MM-HH:MM[, HH:MM-HH:MM]"
RANGE_SEPARATOR = ".."

_US = 1_000_000
_MINUTE = 60 * _US
_DAY = 86_400 * _US
_EPOCH = date(1970, 1, 1)
_MARGIN_DAYS = 3  # covers any UTC offset (< 1 day) plus an overnight shift's spill
_TABLE_LIMIT = 1 << 22  # largest grid table (entries) before falling back to searchsorted
_CHUNK = 1 << 20  # records per block when reading the table (keeps temporaries in cache)
_BLOCK_DAYS = 128  # tables are built for whole blocks of days


@dataclass(frozen=True)
class _Span:
    """The business time of one calendar over ``[lo, hi)`` (UTC microseconds)."""

    lo: int
    hi: int
    starts: np.ndarray  # int64 UTC interval starts; starts[0] == lo (sentinel, length 0)
    lengths: np.ndarray  # int64 interval lengths
    cum: np.ndarray  # int64 business microseconds before each start
    grid: int  # grid step of the table, 0 when no table is used
    table: np.ndarray | None  # B at lo + k * grid, k = 0..n
    steps: np.ndarray | None  # table[k + 1] - table[k]

    def business(self, t: np.ndarray) -> np.ndarray:
        """B(t): business microseconds from ``lo`` to each instant of ``t`` (inside the span)."""
        if self.table is not None and self.steps is not None:
            q, r = np.divmod(t - self.lo, self.grid)
            out = self.table[q]
            out += np.minimum(r, self.steps[q])
            return out
        i = np.searchsorted(self.starts, t, side="right") - 1
        return self.cum[i] + np.minimum(t - self.starts[i], self.lengths[i])


@dataclass(frozen=True)
class CountryHolidays:
    """The holidays of a country, or of one of its subdivisions, as the ``holidays`` package
    lists them (observed days included).

    ``country`` is an ISO 3166-1 alpha-2 code, ``subdiv`` one of the country's subdivision codes,
    ``categories`` the package's holiday categories (empty: its default, ``public``). Checked by
    :func:`check_country_holidays`; the package is imported only when dates are asked for.
    """

    country: str
    subdiv: str | None = None
    categories: tuple[str, ...] = ()

    def dates(self, first_year: int, last_year: int) -> dict[int, frozenset[date]]:
        """The holiday dates of each year ``first_year .. last_year`` (clamped to the dates a
        contract may name, :data:`~slaengine.periods.FIRST_DAY` .. ``LAST_DAY``).

        Dates are grouped by the year they fall in, not the year that generated them, so a
        holiday observed on the last day of the previous year (New Year's Day on a Saturday) is
        found in its own year.
        """
        out: dict[int, set[date]] = {y: set() for y in range(first_year, last_year + 1)}
        lo, hi = max(first_year, FIRST_DAY.year), min(last_year, LAST_DAY.year)
        if lo <= hi:
            import holidays  # only when a calendar names a country: the import costs ~0.1 s

            found = holidays.country_holidays(
                self.country, subdiv=self.subdiv, categories=self.categories or None,
                years=range(max(lo - 1, FIRST_DAY.year), min(hi + 1, LAST_DAY.year) + 1),
            )
            for day in found:
                if day.year in out:
                    out[day.year].add(day)
        return {y: frozenset(days) for y, days in out.items()}

    def supported_years(self) -> tuple[int, int]:
        """The first and last year the installed ``holidays`` package lists this country for."""
        import holidays

        entity = getattr(holidays, self.country)
        return int(entity.start_year), int(entity.end_year)


class BusinessCalendar(Calendar):
    """Business hours in a timezone: weekly intervals, minus holidays, plus partial days.

    ``week`` holds the intervals of Monday .. Sunday (index 0 .. 6) in minutes from local
    midnight, sorted and non-overlapping within a day; an ``end`` beyond 1440 runs into the next
    day. ``holidays`` are dates without business hours; ``partial_days`` maps a date to the only
    intervals it has (if a date is in both, the whole-day holiday wins). ``countries`` add the
    holidays of countries, expanded for the years a measurement needs; a date in ``holidays`` or
    ``partial_days`` takes precedence over them.
    """

    def __init__(
        self,
        name: str,
        timezone: str,
        week: Sequence[Sequence[Interval]],
        holidays: Iterable[date] = (),
        partial_days: Mapping[date, Sequence[Interval]] | None = None,
        description: str = "",
        countries: Sequence[CountryHolidays] = (),
    ) -> None:
        if len(week) != 7:
            raise ValueError("week needs 7 days of intervals (Monday first)")
        self.name = name
        self.timezone = timezone
        self.description = description
        self.zone = zoneinfo.ZoneInfo(timezone)
        self.week: tuple[tuple[Interval, ...], ...] = tuple(
            tuple(_check_intervals(day)) for day in week
        )
        self.holidays: frozenset[date] = frozenset(holidays)
        self.partial_days: dict[date, tuple[Interval, ...]] = {
            day: tuple(_check_intervals(iv))
            for day, iv in (partial_days or {}).items()
            if day not in self.holidays
        }
        self.countries: tuple[CountryHolidays, ...] = tuple(dict.fromkeys(countries))
        self._country_days: dict[int, frozenset[date]] = {}  # year -> closed dates
        self._span: _Span | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"BusinessCalendar({self.name!r}, {self.timezone!r})"

    def intervals_on(self, day: date) -> tuple[Interval, ...]:
        """The business intervals belonging to local date ``day`` (minutes from midnight)."""
        if day in self.holidays:
            return ()
        found = self.partial_days.get(day)
        if found is not None:
            return found
        if self.countries and day in self._closed_in(day.year):
            return ()
        return self.week[day.weekday()]

    def country_holidays(self, first_year: int, last_year: int) -> frozenset[date]:
        """The dates the calendar's countries close in ``first_year .. last_year``.

        Each year is expanded once (all missing years in one call per country) and kept.
        """
        if not self.countries:
            return frozenset()
        years = range(first_year, last_year + 1)
        missing = [y for y in years if y not in self._country_days]
        if missing:
            expanded: dict[int, set[date]] = {y: set() for y in missing}
            for country in self.countries:
                for year, days in country.dates(missing[0], missing[-1]).items():
                    if year in expanded:
                        expanded[year] |= days
            self._country_days.update((y, frozenset(d)) for y, d in expanded.items())
        return frozenset().union(*(self._country_days[y] for y in years))

    def _check_country_years(self, lo: int, hi: int) -> None:
        """Refuse instants in years a country's holiday list does not cover (the ``holidays``
        package stops at a last year, 2100 for most countries): counting such a year's holidays
        as business time would be silently wrong."""
        first = datetime.fromtimestamp(lo // _US, tz=UTC).astimezone(self.zone).year
        last = datetime.fromtimestamp(hi // _US, tz=UTC).astimezone(self.zone).year
        for country in self.countries:
            start, end = country.supported_years()
            if first < start or last > end:
                from importlib.metadata import version

                shown = country.country + (f"-{country.subdiv}" if country.subdiv else "")
                raise DataError(
                    f'calendar "{self.name}": record times from {first} to {last} need the '
                    f"holidays of {shown}, which the holidays package {version('holidays')} "
                    f"lists for {start}..{end} only; list that time's holidays as dates "
                    "instead, or leave those records out of the contract's start..end")

    def _closed_in(self, year: int) -> frozenset[date]:
        found = self._country_days.get(year)
        return found if found is not None else self.country_holidays(year, year)

    # ------------------------------------------------------------------ measuring

    def elapsed(
        self, start: pa.Array | pa.ChunkedArray, end: pa.Array | pa.ChunkedArray
    ) -> pa.Array | pa.ChunkedArray:
        """Business seconds from ``start`` to ``end`` per record (float64).

        Both arrays hold instants (``timestamp[us, tz=UTC]``; other units are cast to
        microseconds, naive timestamps are taken as UTC). The result is null where either is
        null, and 0 where ``end <= start`` (a clock that would run backwards counts nothing). A
        ChunkedArray in gives a one-chunk ChunkedArray out.
        """
        chunked = isinstance(start, pa.ChunkedArray) or isinstance(end, pa.ChunkedArray)
        start_arr, end_arr = _as_array(start), _as_array(end)
        if len(start_arr) != len(end_arr):
            raise ValueError("start and end must have the same length")
        s_bounds, e_bounds = _min_max(start_arr), _min_max(end_arr)
        if s_bounds is None or e_bounds is None:  # all null (or empty) on one side
            result = pa.nulls(len(start_arr), pa.float64())
            return pa.chunked_array([result]) if chunked else result
        bounds = (s_bounds, e_bounds)
        s, s_valid = _micros(start_arr)
        e, e_valid = _micros(end_arr)
        valid = s_valid if e_valid is None else (e_valid if s_valid is None else s_valid & e_valid)
        lo = min(b[0] for b in bounds)
        hi = max(b[1] for b in bounds)
        check_instants(lo, hi)
        if self.countries:
            self._check_country_years(lo, hi)
        if s_valid is not None:
            s = np.where(s_valid, s, lo)
        if e_valid is not None:
            e = np.where(e_valid, e, lo)
        span = self._span_for(lo, hi)
        out = np.empty(len(s), dtype=np.float64)
        for i in range(0, len(s), _CHUNK):  # blocks of records, not a loop per record
            diff = span.business(e[i:i + _CHUNK])
            diff -= span.business(s[i:i + _CHUNK])
            np.maximum(diff, 0, out=diff)
            np.divide(diff, _US, out=out[i:i + _CHUNK])
        mask = None if valid is None else ~valid
        result = pa.array(out, type=pa.float64(), mask=mask)
        return pa.chunked_array([result]) if chunked else result

    def _span_for(self, lo: int, hi: int) -> _Span:
        """The cached tables if they cover ``[lo, hi]``; else tables for the union of spans."""
        with self._lock:
            span = self._span
            if span is not None and span.lo <= lo and hi < span.hi:
                return span
            # Rounded out to blocks of _BLOCK_DAYS: batches of a sorted source move forward a
            # little at a time and should find their span already built, not rebuild it.
            first = (lo // _DAY - 1) // _BLOCK_DAYS * _BLOCK_DAYS
            last = -(-(hi // _DAY + 2) // _BLOCK_DAYS) * _BLOCK_DAYS
            if span is not None:
                first = min(first, span.lo // _DAY)
                last = max(last, span.hi // _DAY)
            span = self._build(first * _DAY, last * _DAY)
            self._span = span
            return span

    def _build(self, lo: int, hi: int) -> _Span:
        """Business intervals in UTC over ``[lo, hi)`` (whole UTC days) and their lookup tables."""
        w_start, w_end = self._wall_intervals(lo // _DAY - _MARGIN_DAYS, hi // _DAY + _MARGIN_DAYS)
        pieces_s: list[np.ndarray] = [np.array([lo], dtype=np.int64)]
        pieces_e: list[np.ndarray] = [np.array([lo], dtype=np.int64)]
        for seg_lo, seg_hi, offset in self._segments(lo, hi):
            # In this segment wall = utc + offset: keep the wall intervals inside its window.
            win_lo, win_hi = seg_lo + offset, seg_hi + offset
            a = np.searchsorted(w_end, win_lo, side="right")
            b = np.searchsorted(w_start, win_hi, side="left")
            if a >= b:
                continue
            ps = np.maximum(w_start[a:b], win_lo) - offset
            pe = np.minimum(w_end[a:b], win_hi) - offset
            keep = pe > ps
            pieces_s.append(ps[keep])
            pieces_e.append(pe[keep])
        starts, ends = _union(np.concatenate(pieces_s), np.concatenate(pieces_e))
        if len(starts) == 0 or starts[0] != lo:  # zero-length sentinel: every t >= lo finds one
            starts = np.concatenate([[lo], starts])
            ends = np.concatenate([[lo], ends])
        lengths = ends - starts
        cum = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
        grid = int(np.gcd.reduce(np.concatenate([starts - lo, ends - lo, [_DAY]])))
        table = steps = None
        if (hi - lo) // grid <= _TABLE_LIMIT:
            points = lo + grid * np.arange((hi - lo) // grid + 1, dtype=np.int64)
            i = np.searchsorted(starts, points, side="right") - 1
            table = cum[i] + np.minimum(points - starts[i], lengths[i])
            steps = np.diff(table)
            table = table[:-1].copy()
        else:
            grid = 0
        return _Span(lo, hi, starts, lengths, cum, grid, table, steps)

    def _wall_intervals(self, first_day: int, last_day: int) -> tuple[np.ndarray, np.ndarray]:
        """Union of the wall-clock business intervals of local days ``first_day..last_day``.

        Days count from 1970-01-01; the values are microseconds of a naive local clock.
        """
        starts: list[int] = []
        ends: list[int] = []
        # Country holidays of every year in the span, expanded in one go before the day loop.
        self.country_holidays((_EPOCH + timedelta(days=first_day)).year,
                              (_EPOCH + timedelta(days=last_day)).year)
        for number in range(first_day, last_day + 1):  # one iteration per calendar day
            day = _EPOCH + timedelta(days=number)
            base = number * _DAY
            for a, b in self.intervals_on(day):
                starts.append(base + a * _MINUTE)
                ends.append(base + b * _MINUTE)
        if not starts:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        return _union(np.array(starts, dtype=np.int64), np.array(ends, dtype=np.int64))

    def _segments(self, lo: int, hi: int) -> list[tuple[int, int, int]]:
        """``(start, end, offset)`` pieces of ``[lo, hi)`` with a constant UTC offset (all µs),
        from the zone's transitions as :func:`slaengine.walltime.transitions` finds them."""
        instants, offsets = transitions(self.zone, lo, hi - 1)
        bounds = [lo, *instants, hi]
        return list(zip(bounds[:-1], bounds[1:], offsets, strict=True))


def _check_intervals(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted intervals of one day, checked: 0 <= start < 1440, start < end <= start + 1440."""
    out = sorted((int(a), int(b)) for a, b in intervals)
    for a, b in out:
        if not (0 <= a < 1440 and a < b <= a + 1440):
            raise ValueError(f"bad interval {(a, b)} (minutes from local midnight)")
    for (_, b1), (a2, _) in pairwise(out):
        if a2 < b1:
            raise ValueError("intervals of one day overlap")
    return out


def _union(starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Merge intervals that overlap or touch; returns sorted disjoint ``(starts, ends)``."""
    keep = ends > starts
    starts, ends = starts[keep], ends[keep]
    if len(starts) == 0:
        return starts, ends
    order = np.argsort(starts, kind="stable")
    starts, ends = starts[order], ends[order]
    reach = np.maximum.accumulate(ends)
    new = np.ones(len(starts), dtype=bool)
    new[1:] = starts[1:] > reach[:-1]
    first = np.flatnonzero(new)
    last = np.concatenate([first[1:] - 1, [len(starts) - 1]])
    return starts[first], reach[last]


def _is_us(values: pa.Array) -> bool:
    return pa.types.is_timestamp(values.type) and values.type.unit == "us"


def _as_array(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """One contiguous timestamp[us] array (chunks combined, other units cast)."""
    arr = values
    if isinstance(values, pa.ChunkedArray):
        arr = values.chunk(0) if values.num_chunks == 1 else values.combine_chunks()
    if not pa.types.is_timestamp(arr.type):
        raise TypeError(f"expected timestamps, found {arr.type}")
    if arr.type.unit != "us":
        arr = pc.cast(arr, pa.timestamp("us", tz=arr.type.tz))
    return arr


def _micros(arr: pa.Array) -> tuple[np.ndarray, np.ndarray | None]:
    """The int64 values of a timestamp array without copying, and its validity (None: no nulls)."""
    data = arr.buffers()[1]
    values = np.frombuffer(data, dtype=np.int64, count=len(arr), offset=arr.offset * 8)
    if arr.null_count == 0:
        return values, None
    return values, np.asarray(arr.is_valid().to_numpy(zero_copy_only=False), dtype=bool)


def _min_max(arr: pa.Array) -> tuple[int, int] | None:
    """Smallest and largest valid value in microseconds, or None when all are null."""
    if len(arr) == arr.null_count:
        return None
    found = pc.min_max(arr.cast(pa.int64()))
    return found["min"].as_py(), found["max"].as_py()


def package_versions(calendars: Iterable[Calendar]) -> dict[str, str]:
    """The versions of the packages the calendars' dates come from, for the manifest: the
    ``holidays`` package when a calendar names a country (its lists change between releases)."""
    if not any(isinstance(c, BusinessCalendar) and c.countries for c in calendars):
        return {}
    from importlib.metadata import version  # the installed distribution, without importing it

    return {"holidays": version("holidays")}


# --------------------------------------------------------------------------- contract language

@functools.cache
def timezones() -> frozenset[str]:
    """The IANA zone names this installation knows (read once)."""
    return frozenset(zoneinfo.available_timezones()) | {"UTC"}


def check_timezone(field: str, value: Any, error: Any) -> None:
    """Cerberus ``check_with``: ``value`` must be an IANA zone name such as ``Europe/Berlin``.

    Only names from the zone database's list are accepted, never a path: ``ZoneInfo`` alone
    would also open ``../x``-like keys' neighbours, folders (``America``) and local links
    (``localtime``), which differ from one machine to the next.
    """
    if not isinstance(value, str) or value not in timezones():
        shown = repr(value[:60]) if isinstance(value, str) else repr(value)
        close = did_you_mean(value, timezones()) if isinstance(value, str) else None
        hint = f'; did you mean "{close}"?' if close else ""
        error(field, f'unknown timezone {shown}; expected an IANA name such as '
                     f'"Europe/Berlin"{hint}')


CALENDAR_SCHEMA: dict[str, Any] = {
    "description": {"type": "string"},
    "extend": {"type": "string", "empty": False},
    "timezone": {"type": "string", "check_with": check_timezone},
    "hours": {
        "type": "dict",
        "keysrules": {"type": "string"},
        "valuesrules": {"type": "string"},
    },
    "holidays": {
        "type": "list",
        "meta": {"hint": 'such as holidays = [{ country = "US", subdiv = "NY" }, 2026-12-26, '
                         '{ date = 2026-12-24, hours = "08:00-12:00" }]'},
        "schema": {
            "type": ["date", "string", "dict"],
            "schema": {  # { date = ..., hours = ... } or { country = ..., subdiv = ..., ... }
                "date": {"type": ["date", "string"]},
                "hours": {"type": "string"},
                "country": {"type": "string"},
                "subdiv": {"type": "string"},
                "categories": {"type": "list", "schema": {"type": "string"}},
            },
        },
    },
}
"""Cerberus schema of one ``[calendars.NAME]`` table (the values are parsed by
:func:`build_calendars`, which reports bad hours, days and dates with their key path)."""

DATE_KEYS = ("date", "hours")
"""The keys of a holiday or partial-day table in ``holidays``."""
COUNTRY_KEYS = ("country", "subdiv", "categories")
"""The keys of a country's holidays table in ``holidays``."""

_TIME = r"([0-9]{1,2}):([0-9]{2})"
_INTERVAL = re.compile(rf"^\s*{_TIME}\s*-\s*{_TIME}\s*$")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
_CLOSED = ("", "closed")


def parse_hours(text: str) -> tuple[Interval, ...]:
    """``"08:00-12:00, 13:00-18:00"`` -> ``((480, 720), (780, 1080))``.

    An end before the start runs past midnight (``"22:00-06:00"`` -> ``(1320, 1800)``);
    ``"24:00"`` as an end is the midnight ending the day; ``""`` or ``"closed"`` means no hours.
    Raises ValueError with a message for people.
    """
    if text.strip().lower() in _CLOSED:
        return ()
    out: list[Interval] = []
    for part in text.split(","):
        match = _INTERVAL.match(part)
        if not match:
            raise ValueError(f'"{part.strip()}" is not a time interval; expected {HOURS_FORM}')
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        if h1 > 23 or m1 > 59:
            raise ValueError(f'"{part.strip()}": start time must be 00:00..23:59')
        if h2 > 24 or m2 > 59 or (h2 == 24 and m2 != 0):
            raise ValueError(f'"{part.strip()}": end time must be 00:00..24:00')
        a, b = h1 * 60 + m1, h2 * 60 + m2
        if a == b:
            raise ValueError(f'"{part.strip()}" is empty; write "00:00-24:00" for a whole day')
        out.append((a, b if b > a else b + 1440))
    out.sort()
    for (a1, b1), (a2, b2) in pairwise(out):
        if a2 < b1:
            raise ValueError(f"intervals {_show(a1, b1)} and {_show(a2, b2)} overlap")
    return tuple(out)


def _show(a: int, b: int) -> str:
    """Minutes back to ``"HH:MM-HH:MM"`` for messages."""
    b = b if b == 1440 else b % 1440
    return f"{a // 60:02d}:{a % 60:02d}-{b // 60:02d}:{b % 60:02d}"


def parse_days(key: str) -> tuple[int, ...]:
    """``"mon-fri"`` -> ``(0, 1, 2, 3, 4)``; a range may wrap (``"fri-mon"`` -> fri..sun, mon).

    Raises KeyError(bad_word) for a word that is not a day.
    """
    words = [w.strip().lower() for w in key.split("-")]
    if len(words) not in (1, 2) or not all(words):
        raise KeyError(key)
    for word in words:
        if word not in DAYS:
            raise KeyError(word)
    first, last = DAYS.index(words[0]), DAYS.index(words[-1])
    return tuple((first + k) % 7 for k in range((last - first) % 7 + 1))


def _parse_date(value: Any) -> tuple[date, date]:
    """A holiday's date or date range, inclusive; raises ValueError for people."""
    if isinstance(value, datetime):
        raise ValueError(f"{value} has a time; expected a date such as 2026-12-25")
    if isinstance(value, date):
        return _in_range(value, value), value
    if isinstance(value, str):
        parts = [p.strip() for p in value.split(RANGE_SEPARATOR)]
        if len(parts) in (1, 2) and all(_DATE.match(p) for p in parts):
            try:
                first, last = date.fromisoformat(parts[0]), date.fromisoformat(parts[-1])
            except ValueError as exc:
                raise ValueError(f'"{value}": {exc}') from None
            if last < first:
                raise ValueError(f'"{value}": the range ends before it starts')
            return _in_range(first, value), _in_range(last, value)
    raise ValueError(
        f"{value!r} is not a date; expected a date (2026-12-25) or a range "
        f'"2026-12-28..2026-12-31" (both ends included)'
    )


HOLIDAY_RANGE_DAYS = 3660
"""The longest holiday range (about ten years): a longer one is a typo in a year."""


def _in_range(day: date, value: Any) -> date:
    problem = date_range_problem(day)
    if problem:
        raise ValueError(f"{value}: {problem}")
    return day


@dataclass
class _Parsed:
    """One calendar table parsed on its own (before ``extend`` is resolved)."""

    timezone: str | None
    week: list[tuple[Interval, ...]] | None
    days: dict[date, tuple[Interval, ...]]  # date -> intervals (empty: whole holiday), in order
    countries: list[CountryHolidays]
    extend: str | None
    description: str


def _parse_table(name: str, table: Mapping[str, Any]) -> _Parsed:
    where = ("calendars", name)
    if not isinstance(table, Mapping):
        raise ContractError(None, where, "expected a table")
    for key in table:
        if key not in CALENDAR_SCHEMA:
            raise ContractError(None, (*where, key), "unknown key",
                                suggestion=did_you_mean(str(key), CALENDAR_SCHEMA),
                                accepted=list(CALENDAR_SCHEMA))
    timezone = table.get("timezone")
    if timezone is not None:
        problems: list[str] = []
        if isinstance(timezone, str):
            check_timezone("timezone", timezone, lambda _f, m: problems.append(m))
        else:
            problems.append("expected a string such as \"Europe/Berlin\"")
        if problems:
            raise ContractError(None, (*where, "timezone"), problems[0])
    week: list[tuple[Interval, ...]] | None = None
    hours = table.get("hours")
    if hours is not None:
        if not isinstance(hours, Mapping):
            raise ContractError(None, (*where, "hours"),
                                'expected a table such as { mon-fri = "08:00-18:00" }')
        week = [()] * 7
        given_by: dict[int, str] = {}
        for key, text in hours.items():
            path = (*where, "hours", key)
            try:
                days = parse_days(str(key))
            except KeyError as exc:
                word = str(exc.args[0])
                close = did_you_mean(word, DAYS)
                suggestion = str(key).replace(word, close) if close else None
                raise ContractError(None, path, f'"{key}" is not a day or a day range '
                                    '(such as mon, mon-fri, sat-sun)',
                                    suggestion=suggestion, accepted=DAYS) from None
            if not isinstance(text, str):
                raise ContractError(None, path, f"expected a string of the form {HOURS_FORM}")
            try:
                intervals = parse_hours(text)
            except ValueError as exc:
                raise ContractError(None, path, str(exc)) from None
            for day in days:
                if day in given_by:
                    raise ContractError(None, path, f'{DAYS[day]} is already given by '
                                        f'"{given_by[day]}"')
                given_by[day] = str(key)
                week[day] = intervals
    days_map: dict[date, tuple[Interval, ...]] = {}
    countries: list[CountryHolidays] = []
    holidays = table.get("holidays", [])
    if isinstance(holidays, Mapping) and "country" in holidays:
        raise ContractError(None, (*where, "holidays"), "expected a list; write the country's "
                            "table as one of its entries, such as "
                            'holidays = [{ country = "US", subdiv = "NY" }, 2026-12-24]')
    if not isinstance(holidays, list):
        raise ContractError(None, (*where, "holidays"), "expected a list of dates")
    for index, item in enumerate(holidays):
        path: tuple[str | int, ...] = (*where, "holidays", index)
        intervals: tuple[Interval, ...] = ()
        value = item
        if isinstance(item, Mapping):
            _check_entry_keys(item, path)
            if "country" in item:
                countries.append(parse_country_holidays(item, path))
                continue
            value = item["date"]
            text = item.get("hours", "")
            if not isinstance(text, str):
                raise ContractError(None, (*path, "hours"),
                                    f"expected a string of the form {HOURS_FORM}")
            try:
                intervals = parse_hours(text)
            except ValueError as exc:
                raise ContractError(None, (*path, "hours"), str(exc)) from None
            path = (*path, "date")
        try:
            first, last = _parse_date(value)
        except ValueError as exc:
            raise ContractError(None, path, str(exc)) from None
        if (last - first).days >= HOLIDAY_RANGE_DAYS:
            raise ContractError(None, path, f'"{value}" spans {(last - first).days + 1} days; a '
                                f"holiday range may span at most {HOLIDAY_RANGE_DAYS} days")
        for k in range((last - first).days + 1):  # one per holiday date
            day = first + timedelta(days=k)
            days_map.pop(day, None)  # a later entry wins (and keeps list order)
            days_map[day] = intervals
    extend = table.get("extend")
    if extend is not None and not isinstance(extend, str):
        raise ContractError(None, (*where, "extend"), "expected the name of another calendar")
    description = table.get("description", "")
    return _Parsed(timezone, week, days_map, countries, extend, str(description))


def _check_entry_keys(item: Mapping[str, Any], path: tuple[str | int, ...]) -> None:
    """A table in ``holidays`` is either a date table or a country table, never both."""
    if "country" in item and "date" in item:
        raise ContractError(None, path, 'a holiday table has either "date" (a holiday or a '
                            'partial day) or "country" (a country\'s holidays), not both')
    accepted = (COUNTRY_KEYS if "country" in item else DATE_KEYS if "date" in item
                else DATE_KEYS + COUNTRY_KEYS)
    for key in item:
        if key not in accepted:
            raise ContractError(None, (*path, key), "unknown key",
                                suggestion=did_you_mean(str(key), accepted), accepted=accepted)
    if "country" not in item and "date" not in item:
        if "hours" in item:
            raise ContractError(None, (*path, "date"), "required key is missing")
        if any(key in item for key in COUNTRY_KEYS):
            raise ContractError(None, (*path, "country"), "required key is missing")
        raise ContractError(None, path, 'expected { date = 2026-12-24, hours = "08:00-12:00" } '
                            'or { country = "US", subdiv = "NY" }')


def parse_country_holidays(table: Mapping[str, Any], path: Sequence[str | int]) -> CountryHolidays:
    """A ``{ country = "US", subdiv = "NY", categories = ["public"] }`` table, checked against
    the codes and categories the installed ``holidays`` package supports.

    Raises :class:`ContractError` naming the key, with the closest code and the accepted ones.
    Imports ``holidays`` (about 0.1 s) and the module of the one country named.
    """
    import holidays
    from holidays.registry import COUNTRIES, EntityLoader

    path = tuple(path)
    country = table.get("country")
    codes = sorted(EntityLoader.get_country_codes(include_aliases=False))
    if not isinstance(country, str) or country not in codes:
        shown = repr(country[:60]) if isinstance(country, str) else repr(country)
        names: dict[str, str] = {}  # other spellings -> alpha-2 code (hints only)
        for entity in COUNTRIES.values():
            for name in (entity[0], *entity[1:]):
                names[re.sub(r"[^A-Z0-9]", "", name.upper())] = entity[1]
        wanted = country if isinstance(country, str) else ""
        close = names.get(re.sub(r"[^A-Z0-9]", "", wanted.upper())) or did_you_mean(wanted, codes)
        raise ContractError(None, (*path, "country"),
                            f"{shown} is not a country code the holidays package knows; "
                            'expected an ISO 3166-1 alpha-2 code such as "US"',
                            suggestion=close, accepted=codes)
    entity = getattr(holidays, country)  # the class of that country (imports its module)
    subdiv = table.get("subdiv")
    if subdiv is not None:
        known = tuple(entity.subdivisions)
        if not known:
            raise ContractError(None, (*path, "subdiv"), f"the holidays package knows no "
                                f"subdivisions of {country}; leave subdiv out")
        if not isinstance(subdiv, str) or subdiv not in known:
            shown = repr(subdiv[:60]) if isinstance(subdiv, str) else repr(subdiv)
            wanted = subdiv if isinstance(subdiv, str) else str(subdiv)
            aliases = {k.upper(): v for k, v in getattr(entity, "subdivisions_aliases", {}).items()}
            aliases.update((code.upper(), code) for code in known)
            close = aliases.get(wanted.strip().upper()) or did_you_mean(wanted, known)
            raise ContractError(None, (*path, "subdiv"),
                                f"{shown} is not a subdivision of {country}",
                                suggestion=close, accepted=known)
    categories: tuple[str, ...] = ()
    given = table.get("categories")
    if given is not None:
        supported = tuple(entity.supported_categories)
        if not isinstance(given, list) or not given:
            raise ContractError(None, (*path, "categories"),
                                'expected a non-empty list such as ["public"]',
                                accepted=supported)
        for i, category in enumerate(given):
            if not isinstance(category, str) or category not in supported:
                raise ContractError(None, (*path, "categories", i),
                                    f"{category!r} is not a holiday category of {country}",
                                    suggestion=did_you_mean(str(category), supported),
                                    accepted=supported)
        categories = tuple(dict.fromkeys(given))
    return CountryHolidays(country, subdiv, categories)


def build_calendars(
    tables: Mapping[str, Mapping[str, Any]], *, default_timezone: str | None = None
) -> dict[str, Calendar]:
    """Parse every ``[calendars.NAME]`` table into a :class:`BusinessCalendar`.

    ``extend = "OTHER"`` inherits OTHER's timezone, hours and holidays (its countries' holidays
    included); the calendar's own ``timezone`` and ``hours`` replace the inherited ones
    (``hours`` as a whole table, not day by day) and its ``holidays`` are added after the
    inherited ones (a later entry for the same date wins, so a child's partial day can reopen a
    parent's holiday and vice versa; a country's holidays are added, and any dated entry, own or
    inherited, takes precedence over them). A
    calendar without a timezone (own or inherited) takes ``default_timezone`` (the contract's),
    and is an error when there is none. Raises :class:`ContractError` with the key path
    ``("calendars", NAME, ...)`` for the first problem found.
    """
    parsed = {name: _parse_table(name, table) for name, table in tables.items()}
    resolved: dict[str, BusinessCalendar] = {}

    def resolve(name: str, chain: tuple[str, ...]) -> tuple[str | None, Any, dict, list]:
        own = parsed[name]
        if own.extend is None:
            return own.timezone, own.week, dict(own.days), list(own.countries)
        if own.extend in chain or own.extend == name:
            cycle = " -> ".join((*chain, name, own.extend))
            raise ContractError(None, ("calendars", name, "extend"),
                                f"extend forms a cycle: {cycle}")
        if own.extend not in parsed:
            known = sorted(n for n in parsed if n != name)
            raise ContractError(None, ("calendars", name, "extend"),
                                f'no calendar called "{own.extend}"',
                                suggestion=did_you_mean(own.extend, known), accepted=known)
        timezone, week, days, countries = resolve(own.extend, (*chain, name))
        for day, intervals in own.days.items():
            days.pop(day, None)
            days[day] = intervals
        return (own.timezone or timezone, own.week if own.week is not None else week, days,
                countries + own.countries)

    for name in parsed:
        timezone, week, days, countries = resolve(name, ())
        where = ("calendars", name)
        timezone = timezone or default_timezone
        if timezone is None:
            raise ContractError(None, (*where, "timezone"), "required key is missing")
        if week is None:
            raise ContractError(None, (*where, "hours"),
                                'required key is missing (such as { mon-fri = "08:00-18:00" })')
        if not any(week) and not any(days.values()):
            raise ContractError(None, where, "the calendar is never open: no day has business "
                                "hours, so every duration counted in it would be 0 s and every "
                                'target met; give it hours such as { mon-fri = "08:00-18:00" }')
        resolved[name] = BusinessCalendar(
            name, timezone, week,
            holidays=[d for d, iv in days.items() if not iv],
            partial_days={d: iv for d, iv in days.items() if iv},
            description=parsed[name].description,
            countries=countries,
        )
    return dict(resolved)
