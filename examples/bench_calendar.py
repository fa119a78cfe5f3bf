"""Benchmark: business durations for 10 million start/end pairs, against ``businesstimedelta``.

Not a test (nothing here asserts a time). Run it with::

    python examples/bench_calendar.py [--pairs 10000000] [--sample 20000] [--seed 7]

Calendar: Monday-Friday 08:00-18:00 in America/New_York with the 2026 US federal holidays.
Pairs (seeded): starts uniform over 2026 on whole seconds, ends 0-5 days later (whole seconds,
``businesstimedelta`` drops microseconds). ``BusinessCalendar.elapsed`` is plain numpy on one
thread (no threading inside numpy's element-wise ops, sorting or gathers), so the figure is for
one core. ``businesstimedelta`` (pure Python, ``pytz``) runs on a random sample of the same
pairs; its time is extrapolated linearly to all pairs (its cost per pair does not depend on how
many pairs there are). Both must agree exactly on the sample: the calendar's hours and holidays
never touch a DST change (02:00 on a Sunday), where ``businesstimedelta`` would differ (it
localises wall times with ``pytz``'s ``is_dst=False`` and makes a holiday 24 real hours long).
Requires the ``bench`` extra (``businesstimedelta``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import time

import numpy as np
import pyarrow as pa

from slaengine.calendars import ALWAYS, BusinessCalendar, Calendar, build_calendars

ZONE = "America/New_York"
# US federal holidays 2026 and 2027 (ends run into 2027; businesstimedelta's HolidayRule also
# needs a holiday after every instant it sees).
HOLIDAYS = [dt.date(2026, m, d) for m, d in [(1, 1), (1, 19), (2, 16), (5, 25), (6, 19), (7, 3),
                                              (9, 7), (10, 12), (11, 11), (11, 26), (12, 25)]]
HOLIDAYS += [dt.date(2027, m, d) for m, d in [(1, 1), (1, 18), (2, 15), (5, 31), (6, 18), (7, 5),
                                               (9, 6), (10, 11), (11, 11), (11, 25), (12, 24)]]
YEAR_START = int(dt.datetime(2026, 1, 1, tzinfo=dt.UTC).timestamp())
YEAR_SECONDS = 365 * 86400


def pairs(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` seeded (start, end) pairs as int64 UTC microseconds on whole seconds."""
    rng = np.random.default_rng(seed)
    start = YEAR_START + rng.integers(0, YEAR_SECONDS, n, dtype=np.int64)
    end = start + rng.integers(0, 5 * 86400, n, dtype=np.int64)
    return start * 1_000_000, end * 1_000_000


def ours(cal: Calendar, start: pa.Array, end: pa.Array) -> tuple[
        float, np.ndarray]:
    """Seconds taken by ``cal.elapsed`` and its result."""
    t0 = time.perf_counter()
    out = cal.elapsed(start, end)
    return time.perf_counter() - t0, out.to_numpy(zero_copy_only=False)


def theirs(start: np.ndarray, end: np.ndarray) -> tuple[float, np.ndarray]:
    """Seconds taken by ``businesstimedelta`` on the pairs and its results."""
    import businesstimedelta
    import pytz

    tz = pytz.timezone(ZONE)
    rule = businesstimedelta.Rules([
        businesstimedelta.WorkDayRule(start_time=dt.time(8), end_time=dt.time(18),
                                      working_days=[0, 1, 2, 3, 4], tz=tz),
        businesstimedelta.HolidayRule(HOLIDAYS, tz=tz),
    ])
    starts = [dt.datetime.fromtimestamp(s / 1e6, tz=pytz.utc) for s in start.tolist()]
    ends = [dt.datetime.fromtimestamp(e / 1e6, tz=pytz.utc) for e in end.tolist()]
    out = np.empty(len(starts))
    t0 = time.perf_counter()
    for i, (a, b) in enumerate(zip(starts, ends, strict=True)):
        out[i] = rule.difference(a, b).timedelta.total_seconds()
    return time.perf_counter() - t0, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=10_000_000)
    parser.add_argument("--sample", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    table = {"timezone": ZONE, "hours": {"mon-fri": "08:00-18:00"}, "holidays": HOLIDAYS}
    start_us, end_us = pairs(args.pairs, args.seed)
    ts = pa.timestamp("us", tz="UTC")
    start, end = pa.array(start_us, ts), pa.array(end_us, ts)

    cal = build_calendars({"bench": table})["bench"]
    assert isinstance(cal, BusinessCalendar)
    cold, result = ours(cal, start, end)  # builds the year's tables first
    warm = min(ours(cal, start, end)[0] for _ in range(3))
    plain = min(ours(ALWAYS, start, end)[0] for _ in range(3))
    print(f"pairs: {args.pairs:,} over 2026, ends 0-5 days after starts; single-threaded numpy")
    print(f"slaengine BusinessCalendar.elapsed: {warm:.3f} s  "
          f"({args.pairs / warm / 1e6:.1f} M pairs/s; first call incl. building tables "
          f"{cold:.3f} s = {args.pairs / cold / 1e6:.1f} M pairs/s)")
    print(f"slaengine 24x7 Calendar.elapsed:    {plain:.3f} s  "
          f"({args.pairs / plain / 1e6:.1f} M pairs/s)")

    rng = np.random.default_rng(args.seed + 1)
    pick = rng.choice(args.pairs, size=min(args.sample, args.pairs), replace=False)
    spent, expected = theirs(start_us[pick], end_us[pick])
    mismatches = int(np.count_nonzero(np.abs(expected - result[pick]) > 1e-6))
    projected = spent / len(pick) * args.pairs
    print(f"businesstimedelta: {spent:.3f} s for {len(pick):,} sampled pairs "
          f"({len(pick) / spent:,.0f} pairs/s) -> {projected:,.0f} s projected for "
          f"{args.pairs:,} (linear)")
    print(f"agreement on the sample: {len(pick) - mismatches:,}/{len(pick):,} equal")
    print(f"speed-up: {projected / warm:,.0f}x (warm), {projected / cold:,.0f}x (first call)")


if __name__ == "__main__":
    main()
