"""Business calendars: business time between two instants, counted over whole arrays.

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
"""

from __future__ import annotations

import threading
import zoneinfo
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise

from slaengine.bits import filled
from slaengine.calendars.always import Calendar, as_array, micros, min_max
from slaengine.calendars.countries import CountryHolidays
from slaengine.calendars.hours import Interval
from slaengine.errors import DataError
from slaengine.lazy import np, pa
from slaengine.periods import check_instants
from slaengine.walltime import transitions

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
        start_arr, end_arr = as_array(start), as_array(end)
        if len(start_arr) != len(end_arr):
            raise ValueError("start and end must have the same length")
        s_bounds, e_bounds = min_max(start_arr), min_max(end_arr)
        if s_bounds is None or e_bounds is None:  # all null (or empty) on one side
            result = pa.nulls(len(start_arr), pa.float64())
            return pa.chunked_array([result]) if chunked else result
        bounds = (s_bounds, e_bounds)
        s, s_valid = micros(start_arr)
        e, e_valid = micros(end_arr)
        valid = s_valid if e_valid is None else (e_valid if s_valid is None else s_valid & e_valid)
        lo = min(b[0] for b in bounds)
        hi = max(b[1] for b in bounds)
        check_instants(lo, hi)
        if self.countries:
            self._check_country_years(lo, hi)
        s, e = filled(s, s_valid, lo), filled(e, e_valid, lo)  # a missing instant: any inside
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


def package_versions(calendars: Iterable[Calendar]) -> dict[str, str]:
    """The versions of the packages the calendars' dates come from, for the manifest: the
    ``holidays`` package when a calendar names a country (its lists change between releases)."""
    if not any(isinstance(c, BusinessCalendar) and c.countries for c in calendars):
        return {}
    from importlib.metadata import version  # the installed distribution, without importing it

    return {"holidays": version("holidays")}

