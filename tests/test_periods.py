"""Periods are cut in the contract's timezone, with ISO weeks starting on Monday."""

from datetime import UTC, datetime

import pyarrow as pa
import pytest

from slaengine.periods import period_keys, period_label


def labels(instants: list[datetime], period: str, timezone: str) -> list[str]:
    array = pa.array(instants, pa.timestamp("us", tz="UTC"))
    label = period_label(period)
    return [label(int(k)) for k in period_keys(array, period, timezone)]


def test_month_is_cut_in_the_contract_timezone():
    # 2026-04-01 03:30 UTC is March 31st 23:30 in New York (EDT, -4h) but April in Berlin.
    instant = [datetime(2026, 4, 1, 3, 30, tzinfo=UTC)]
    assert labels(instant, "month", "America/New_York") == ["2026-03"]
    assert labels(instant, "month", "Europe/Berlin") == ["2026-04"]


def test_iso_weeks_start_monday_and_belong_to_their_iso_year():
    # 2026-01-01 is a Thursday: ISO week 1 of 2026. 2027-01-01 is a Friday: still week 53 of
    # 2026. 2026-03-01 is a Sunday (week 9), 2026-03-02 the Monday of week 10.
    instants = [datetime(2026, 1, 1, 12, tzinfo=UTC), datetime(2027, 1, 1, 12, tzinfo=UTC),
                datetime(2026, 3, 1, 12, tzinfo=UTC), datetime(2026, 3, 2, 12, tzinfo=UTC)]
    assert labels(instants, "week", "UTC") == ["2026-W01", "2026-W53", "2026-W09", "2026-W10"]


@pytest.mark.parametrize(("period", "expected"), [
    ("quarter", ["2026-Q1", "2026-Q2", "2026-Q4"]),
    ("year", ["2026", "2026", "2026"]),
    ("month", ["2026-03", "2026-04", "2026-12"]),
])
def test_quarter_year_month_labels(period, expected):
    instants = [datetime(2026, 3, 31, 12, tzinfo=UTC), datetime(2026, 4, 1, 12, tzinfo=UTC),
                datetime(2026, 12, 31, 12, tzinfo=UTC)]
    assert labels(instants, period, "UTC") == expected


def test_keys_sort_chronologically():
    instants = [datetime(2026, 12, 31, tzinfo=UTC), datetime(2027, 1, 1, 6, tzinfo=UTC)]
    keys = period_keys(pa.array(instants, pa.timestamp("us", tz="UTC")), "month", "UTC")
    assert keys[0] < keys[1]


def test_period_keys_match_local_calendar_fields_at_every_boundary():
    # Around each New York month boundary of 2026 (DST changes included): one microsecond
    # before and at local midnight, compared with zoneinfo's own local date.
    from datetime import timedelta
    from zoneinfo import ZoneInfo

    zone = ZoneInfo("America/New_York")
    instants = []
    for month in range(1, 13):
        midnight = datetime(2026, month, 1, tzinfo=zone).astimezone(UTC)
        instants += [midnight - timedelta(microseconds=1), midnight]
    expected = [f"{i.astimezone(zone):%Y-%m}" for i in instants]
    assert labels(instants, "month", "America/New_York") == expected
