"""Business-hours calendars: hand-worked cases, contract errors and a property test.

The property test compares :meth:`BusinessCalendar.elapsed` with a slow reference that walks
minute by minute in real (UTC) time and asks, for each minute, whether its local wall-clock
time lies inside a business interval of its day (or of the day before, for overnight shifts).
"""

from __future__ import annotations

import tomllib
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from slaengine import calendars
from slaengine.calendars import (
    ALWAYS,
    CALENDAR_SCHEMA,
    HOURS_FORM,
    BusinessCalendar,
    build_calendars,
    business,
    parse_days,
    parse_hours,
)
from slaengine.errors import ContractError
from slaengine.schema import validate

TS = pa.timestamp("us", tz="UTC")
NY = "America/New_York"


def local(zone: str, *moments: str | None) -> pa.Array:
    """Local wall times (ISO, no offset; ``fold`` not needed here) as UTC instants."""
    tz = ZoneInfo(zone)
    return pa.array(
        [None if m is None else datetime.fromisoformat(m).replace(tzinfo=tz).astimezone(UTC)
         for m in moments],
        TS,
    )


def utc(*moments: str) -> pa.Array:
    return pa.array([datetime.fromisoformat(m).replace(tzinfo=UTC) for m in moments], TS)


def one(hours: dict[str, str], zone: str = NY, **keys: object) -> BusinessCalendar:
    cal = build_calendars({"c": {"timezone": zone, "hours": hours, **keys}})["c"]
    assert isinstance(cal, BusinessCalendar)
    return cal


# --------------------------------------------------------------------------- hand-worked cases


def test_weekend_between_friday_evening_and_monday_morning() -> None:
    cal = one({"mon-fri": "08:00-20:00"})
    # 2026-01-09 is a Friday. Fri 19:30 -> 20:00 = 30 min; Sat, Sun closed; Mon 08:00 -> 08:15
    # = 15 min. 45 min = 2700 s.
    got = cal.elapsed(local(NY, "2026-01-09T19:30"), local(NY, "2026-01-12T08:15"))
    assert got.to_pylist() == [2700.0]


def test_lunch_break_is_not_counted() -> None:
    cal = one({"mon-fri": "08:00-12:00, 13:00-18:00"})
    # Tue 2026-01-13 11:00 -> 14:30: 11:00-12:00 = 60 min, lunch 0, 13:00-14:30 = 90 min -> 150.
    got = cal.elapsed(local(NY, "2026-01-13T11:00"), local(NY, "2026-01-13T14:30"))
    assert got.to_pylist() == [150 * 60.0]


def test_holiday_in_between() -> None:
    start, end = local(NY, "2026-01-13T17:00"), local(NY, "2026-01-15T09:00")
    # Tue 17-18 = 60 min, Wed 08-18 = 600 min, Thu 08-09 = 60 min -> 720 min.
    assert one({"mon-fri": "08:00-18:00"}).elapsed(start, end).to_pylist() == [720 * 60.0]
    # With Wednesday 2026-01-14 a holiday: 60 + 0 + 60 = 120 min.
    cal = one({"mon-fri": "08:00-18:00"}, holidays=[date(2026, 1, 14)])
    assert cal.elapsed(start, end).to_pylist() == [120 * 60.0]


def test_christmas_partial_day_range_and_new_year() -> None:
    cal = one(
        {"mon-fri": "08:00-18:00"},
        holidays=[date(2026, 12, 25), "2026-12-28..2026-12-31", "2027-01-01",
                  {"date": date(2026, 12, 24), "hours": "08:00-12:00"}],
    )
    # Thu 12-24 (partial, 08-12): 10:00-12:00 = 120 min; Fri 12-25 holiday; 26-27 weekend;
    # Mon 28 - Thu 31 holidays (range, both ends included); Fri 2027-01-01 holiday; weekend;
    # Mon 2027-01-04 08:00-09:00 = 60 min. 180 min = 10800 s.
    got = cal.elapsed(local(NY, "2026-12-24T10:00"), local(NY, "2027-01-04T09:00"))
    assert got.to_pylist() == [10800.0]
    # After the partial day's hours (12:00-18:00 on the 24th) nothing counts.
    got = cal.elapsed(local(NY, "2026-12-24T12:00"), local(NY, "2026-12-24T18:00"))
    assert got.to_pylist() == [0.0]


def test_partial_day_can_open_a_closed_day() -> None:
    cal = one({"mon-fri": "08:00-18:00"}, holidays=[{"date": "2026-01-10", "hours": "10:00-11:30"}])
    # Sat 2026-01-10 is normally closed; this one has 10:00-11:30 = 90 min.
    got = cal.elapsed(local(NY, "2026-01-10T00:00"), local(NY, "2026-01-11T00:00"))
    assert got.to_pylist() == [5400.0]


def test_overnight_shift_belongs_to_the_day_it_starts() -> None:
    cal = one({"mon-fri": "22:00-06:00"})
    got = cal.elapsed(
        local(NY, "2026-01-09T23:00", "2026-01-10T22:00", "2026-01-12T05:00"),
        local(NY, "2026-01-10T05:00", "2026-01-11T08:00", "2026-01-12T23:00"),
    )
    # Fri 23:00 -> Sat 05:00: Friday's shift runs into Saturday -> 6 h = 21600 s.
    # Sat 22:00 -> Sun 08:00: no shift starts on Saturday or Sunday -> 0.
    # Mon 05:00 -> 23:00: 05-06 would be Sunday's shift (none); Monday's starts 22:00 -> 1 h.
    assert got.to_pylist() == [21600.0, 0.0, 3600.0]


def test_holiday_does_not_cut_the_previous_evenings_shift() -> None:
    cal = one({"mon-sun": "22:00-06:00"}, holidays=[date(2026, 1, 10)])
    # Fri 01-09 22:00 -> Sat 06:00 belongs to Friday: 8 h. Saturday's own shift (22:00 -> Sun
    # 06:00) is the holiday's, so 0. From Fri 12:00 to Sun 12:00: 8 h = 28800 s.
    got = cal.elapsed(local(NY, "2026-01-09T12:00"), local(NY, "2026-01-11T12:00"))
    assert got.to_pylist() == [28800.0]


def test_spring_forward_new_york() -> None:
    cal = one({"sat": "22:00-06:00", "sun": "02:30-04:00"})
    # 2026-03-08 02:00 EST -> 03:00 EDT. Sat 22:00 EST (03:00Z) -> Sun 06:00 EDT (10:00Z): an
    # 8-hour wall-clock shift lasting 7 real hours. Sunday's 02:30-04:00: 02:30-03:00 never
    # happens, 03:00-04:00 EDT is inside the shift anyway (counted once). Total 7 h = 25200 s.
    got = cal.elapsed(utc("2026-03-07T17:00"), utc("2026-03-08T17:00"))
    assert got.to_pylist() == [25200.0]
    # Sunday alone, 06:00Z (01:00 EST) -> 09:00Z (05:00 EDT): the part of the shift after
    # 01:00 EST: 01:00-02:00 EST = 1 h, then 03:00-05:00 EDT = 2 h -> 3 h.
    got = cal.elapsed(utc("2026-03-08T06:00"), utc("2026-03-08T09:00"))
    assert got.to_pylist() == [10800.0]


def test_fall_back_new_york() -> None:
    cal = one({"sat": "22:00-06:00"})
    # 2026-11-01 02:00 EDT -> 01:00 EST. Sat 22:00 EDT (02:00Z) -> Sun 06:00 EST (11:00Z): 9 h.
    got = cal.elapsed(utc("2026-10-31T12:00"), utc("2026-11-01T18:00"))
    assert got.to_pylist() == [32400.0]


def test_interval_starting_inside_the_repeated_hour() -> None:
    cal = one({"sun": "01:30-03:00"})
    # On 2026-11-01 wall 01:00-02:00 happens twice. Counted: 01:30-02:00 EDT (05:30-06:00Z)
    # = 30 min; 01:00-01:30 EST is before 01:30 -> no; 01:30-02:00 EST (06:30-07:00Z) = 30 min;
    # 02:00-03:00 EST (07:00-08:00Z) = 60 min. Total 120 min, over 150 real minutes.
    got = cal.elapsed(utc("2026-11-01T00:00"), utc("2026-11-01T12:00"))
    assert got.to_pylist() == [7200.0]
    got = cal.elapsed(utc("2026-11-01T06:00"), utc("2026-11-01T06:45"))  # 01:00-01:45 EST
    assert got.to_pylist() == [15 * 60.0]


def test_london_days_of_23_and_25_hours() -> None:
    london = "Europe/London"
    cal = one({"sun": "00:00-24:00"}, zone=london)
    got = cal.elapsed(
        local(london, "2026-03-28T12:00", "2026-10-24T12:00"),
        local(london, "2026-03-30T12:00", "2026-10-26T12:00"),
    )
    # Sun 2026-03-29 clocks go 01:00 GMT -> 02:00 BST: 23 h = 82800 s.
    # Sun 2026-10-25 clocks go 02:00 BST -> 01:00 GMT: 25 h = 90000 s.
    assert got.to_pylist() == [82800.0, 90000.0]


def test_start_after_end_nulls_and_outside_hours() -> None:
    cal = one({"mon-fri": "08:00-20:00"})
    got = cal.elapsed(
        local(NY, "2026-01-12T12:00", "2026-01-12T12:00", None, "2026-01-12T12:00",
              "2026-01-10T10:00", "2026-01-12T06:00"),
        local(NY, "2026-01-12T10:00", "2026-01-12T12:00", "2026-01-12T12:00", None,
              "2026-01-11T15:00", "2026-01-12T21:00"),
    )
    # end before start -> 0; end == start -> 0; null start -> null; null end -> null;
    # Sat 10:00 -> Sun 15:00 (both outside, nothing between) -> 0;
    # Mon 06:00 -> 21:00 (both outside, whole day between) -> 08-20 = 12 h = 43200 s.
    assert got.to_pylist() == [0.0, 0.0, None, None, 0.0, 43200.0]


def test_all_null_and_empty_inputs() -> None:
    cal = one({"mon-fri": "08:00-20:00"})
    nulls = pa.nulls(3, TS)
    assert cal.elapsed(nulls, nulls).to_pylist() == [None, None, None]
    empty = pa.array([], TS)
    assert cal.elapsed(empty, empty).to_pylist() == []


def test_chunked_arrays_in_give_a_chunked_array_out() -> None:
    cal = one({"mon-fri": "08:00-20:00"})
    start = pa.chunked_array([local(NY, "2026-01-12T07:00"), local(NY, "2026-01-13T19:00")])
    end = pa.chunked_array([local(NY, "2026-01-12T09:00", "2026-01-14T09:00")])
    got = cal.elapsed(start, end)
    assert isinstance(got, pa.ChunkedArray)
    # Mon 07:00 -> 09:00 = 1 h; Tue 19:00 -> Wed 09:00 = 1 h + 1 h = 2 h.
    assert got.to_pylist() == [3600.0, 7200.0]


def test_24x7_calendar_is_unchanged() -> None:
    got = ALWAYS.elapsed(utc("2026-01-01T00:00"), utc("2026-01-01T01:30"))
    assert got.to_pylist() == [5400.0]


def test_cache_grows_with_a_later_span() -> None:
    cal = one({"mon-fri": "08:00-18:00"})
    assert cal.elapsed(local(NY, "2026-01-12T08:00"), local(NY, "2026-01-12T09:00")).to_pylist() \
        == [3600.0]
    # A call far outside the first span rebuilds; Mon 2027-06-07 08:00-10:00 = 2 h.
    got = cal.elapsed(local(NY, "2027-06-07T08:00"), local(NY, "2027-06-07T10:00"))
    assert got.to_pylist() == [7200.0]
    # Across both (Mon 2026-01-12 17:00 -> Tue 2026-01-13 09:00): 1 h + 1 h.
    got = cal.elapsed(local(NY, "2026-01-12T17:00"), local(NY, "2026-01-13T09:00"))
    assert got.to_pylist() == [7200.0]


def test_table_and_search_paths_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    hours = {"mon-thu": "08:07-12:00, 13:00-17:31", "fri": "22:00-06:00"}
    start = local(NY, "2020-02-28T10:00", "2026-03-06T23:00", "2026-11-01T01:30")
    end = local(NY, "2030-01-01T00:00", "2026-03-09T12:00", "2026-11-03T12:00")
    fast = one(hours).elapsed(start, end).to_pylist()
    monkeypatch.setattr(business, "_TABLE_LIMIT", 0)
    slow_cal = one(hours)
    slow = slow_cal.elapsed(start, end).to_pylist()
    assert slow_cal._span is not None and slow_cal._span.table is None
    assert fast == slow
    # Fri 2026-03-06 23:00 -> Sat 06:00 EST = 7 h (spring forward is on Sunday, no shift
    # then); Mon 03-09 08:07-12:00 = 233 min. 7 h + 233 min = 25200 + 13980 = 39180 s.
    assert fast[1] == 7 * 3600.0 + 233 * 60


# --------------------------------------------------------------------------- contract language


EXAMPLE = """
[calendars.support-hours]
timezone = "America/New_York"
hours = { mon-fri = "08:00-12:00, 13:00-18:00", sat = "09:00-13:00" }
holidays = [2026-01-01, 2026-12-25, "2026-12-28..2026-12-31",
            { date = 2026-12-24, hours = "08:00-12:00" }]

[calendars.night-desk]
extend = "support-hours"
hours = { mon-fri = "22:00-06:00" }
holidays = [2026-01-05]
"""


def test_contract_example_and_extend() -> None:
    tables = tomllib.loads(EXAMPLE)["calendars"]
    for name, table in tables.items():
        _, problems = validate(table, CALENDAR_SCHEMA, ("calendars", name))
        assert problems == []
    cals = build_calendars(tables)
    support, night = cals["support-hours"], cals["night-desk"]
    assert isinstance(night, BusinessCalendar) and isinstance(support, BusinessCalendar)
    assert night.timezone == NY  # inherited
    assert night.week[5] == ()  # hours replaced as a whole: no Saturday hours
    assert support.week[5] == ((540, 780),)
    assert night.holidays == support.holidays | {date(2026, 1, 5)}
    assert night.partial_days == {date(2026, 12, 24): ((480, 720),)}
    # Mon 2026-01-05 is a night-desk holiday: its 22:00 shift is gone. Sun 01-04 12:00 ->
    # Wed 01-07 12:00: Tue 22:00 -> Wed 06:00 = 8 h only.
    got = night.elapsed(local(NY, "2026-01-04T12:00"), local(NY, "2026-01-07T12:00"))
    assert got.to_pylist() == [28800.0]
    # Support hours that week: Mon 9 h + Tue 9 h (08-12 + 13-18) by Wed 12:00: +4 h = 22 h.
    got = support.elapsed(local(NY, "2026-01-04T12:00"), local(NY, "2026-01-07T12:00"))
    assert got.to_pylist() == [22 * 3600.0]


def test_child_partial_day_reopens_a_parent_holiday() -> None:
    cals = build_calendars({
        "a": {"timezone": NY, "hours": {"mon-fri": "08:00-18:00"},
              "holidays": ["2026-01-12..2026-01-16"]},
        "b": {"extend": "a", "holidays": [{"date": date(2026, 1, 14), "hours": "09:00-10:00"}]},
    })
    b = cals["b"]
    assert isinstance(b, BusinessCalendar)
    assert date(2026, 1, 14) not in b.holidays
    got = b.elapsed(local(NY, "2026-01-12T00:00"), local(NY, "2026-01-17T00:00"))
    assert got.to_pylist() == [3600.0]  # only Wed 09:00-10:00


def test_default_timezone_is_used_when_none_is_given() -> None:
    cals = build_calendars({"c": {"hours": {"mon-sun": "00:00-24:00"}}},
                           default_timezone="Asia/Kolkata")
    assert cals["c"].timezone == "Asia/Kolkata"  # type: ignore[attr-defined]


def test_parse_hours_and_days() -> None:
    assert parse_hours("08:00-12:00, 13:00-18:00") == ((480, 720), (780, 1080))
    assert parse_hours("22:00-06:00") == ((1320, 1800),)  # 06:00 next day = 1440 + 360
    assert parse_hours("00:00-24:00") == ((0, 1440),)
    assert parse_hours("closed") == ()
    assert parse_days("mon-fri") == (0, 1, 2, 3, 4)
    assert parse_days("fri-mon") == (4, 5, 6, 0)  # ranges wrap round the week
    assert parse_days("sun") == (6,)


def error(tables: dict, **keys: object) -> ContractError:
    with pytest.raises(ContractError) as caught:
        build_calendars(tables, **keys)  # type: ignore[arg-type]
    return caught.value


def test_bad_hours_name_the_expected_form() -> None:
    err = error({"c": {"timezone": NY, "hours": {"mon-fri": "8:00-1800"}}})
    assert err.key_path == ("calendars", "c", "hours", "mon-fri")
    assert HOURS_FORM in err.message


def test_unknown_day_suggests_the_key() -> None:
    err = error({"c": {"timezone": NY, "hours": {"mon-fry": "08:00-18:00"}}})
    assert err.key_path == ("calendars", "c", "hours", "mon-fry")
    assert err.suggestion == "mon-fri"
    assert err.accepted is not None and "sun" in err.accepted


def test_overlapping_intervals_and_days_given_twice() -> None:
    err = error({"c": {"timezone": NY, "hours": {"mon": "08:00-12:00, 11:00-13:00"}}})
    assert "overlap" in err.message and err.key_path[-1] == "mon"
    err = error({"c": {"timezone": NY, "hours": {"mon-fri": "08:00-12:00", "fri": "09:00-10:00"}}})
    assert err.key_path == ("calendars", "c", "hours", "fri") and "mon-fri" in err.message
    err = error({"c": {"timezone": NY, "hours": {"mon": "08:00-08:00"}}})
    assert "empty" in err.message
    err = error({"c": {"timezone": NY, "hours": {"mon": "08:00-24:30"}}})
    assert "24:00" in err.message


def test_bad_holidays() -> None:
    base = {"timezone": NY, "hours": {"mon-fri": "08:00-18:00"}}
    err = error({"c": {**base, "holidays": [date(2026, 1, 1), {"date": date(2026, 12, 24),
                                                                "hours": "8-12"}]}})
    assert err.key_path == ("calendars", "c", "holidays", 1, "hours")
    assert HOURS_FORM in err.message
    err = error({"c": {**base, "holidays": ["2026-12-31..2026-12-28"]}})
    assert err.key_path == ("calendars", "c", "holidays", 0) and "before" in err.message
    err = error({"c": {**base, "holidays": ["Christmas"]}})
    assert "2026-12-28..2026-12-31" in err.message
    err = error({"c": {**base, "holidays": [{"date": "2026-02-30"}]}})
    assert err.key_path == ("calendars", "c", "holidays", 0, "date")


def test_extend_unknown_and_cycles() -> None:
    hours = {"mon-fri": "08:00-18:00"}
    err = error({"support": {"timezone": NY, "hours": hours}, "night": {"extend": "suport"}})
    assert err.key_path == ("calendars", "night", "extend")
    assert err.suggestion == "support" and err.accepted == ["support"]
    err = error({"a": {"extend": "b"}, "b": {"extend": "a"}})
    assert "cycle" in err.message and err.key_path[-1] == "extend"
    err = error({"a": {"extend": "a", "hours": hours}})
    assert "cycle" in err.message


def test_missing_and_bad_keys() -> None:
    assert error({"c": {"hours": {"mon": "08:00-09:00"}}}).key_path == ("calendars", "c",
                                                                       "timezone")
    assert error({"c": {"timezone": NY}}).key_path == ("calendars", "c", "hours")
    err = error({"c": {"timezone": "Mars/Olympus", "hours": {"mon": "08:00-09:00"}}})
    assert "IANA" in err.message
    err = error({"c": {"timezone": NY, "hours": {}, "holiday": []}})
    assert err.suggestion == "holidays"


def test_schema_flags_wrong_types() -> None:
    table = {"timezone": NY, "hours": {"mon": 8}, "holidays": [3]}
    _, problems = validate(table, CALENDAR_SCHEMA, ("calendars", "c"))
    paths = {tuple(p[0]) for p in problems}
    assert ("calendars", "c", "hours", "mon") in paths
    assert ("calendars", "c", "holidays", 0) in paths


# --------------------------------------------------------------------------- property test

ZONES = ["America/New_York", "Europe/London", "Australia/Lord_Howe", "Asia/Kolkata"]
# 2026 offset changes: US 03-08 / 11-01, UK 03-29 / 10-25, Lord Howe 04-05 / 10-04.
ANCHORS = [date(2026, 3, 8), date(2026, 11, 1), date(2026, 3, 29), date(2026, 10, 25),
           date(2026, 4, 5), date(2026, 10, 4)]
WINDOW_DAYS = 10
# Minutes near the DST changes (01:00-03:00 local) on purpose, plus any minute at all.
MINUTES = st.one_of(st.sampled_from([0, 60, 90, 120, 150, 180, 480, 720, 1320, 1440]),
                    st.integers(0, 1440))


@st.composite
def day_intervals(draw: st.DrawFn) -> list[tuple[int, int]]:
    """0-3 intervals of one day; the last may run past midnight."""
    count = draw(st.integers(0, 3))
    points = sorted(set(draw(st.lists(MINUTES, min_size=2 * count, max_size=2 * count))))
    if len(points) % 2:
        points = points[:-1]
    out = [(points[i], points[i + 1]) for i in range(0, len(points), 2)]
    out = [(a, b) for a, b in out if a < 1440]
    if out and out[-1][0] >= 2 and draw(st.booleans()):  # overnight: end in (1440, a + 1440)
        a = out[-1][0]
        out[-1] = (a, draw(st.integers(1441, a + 1439)))
    return out


def hhmm(minutes: int) -> str:
    m = minutes if minutes == 1440 else minutes % 1440
    return f"{m // 60:02d}:{m % 60:02d}"


def reference(zone: str, week: list[list[tuple[int, int]]], closed: set[date],
              partial: dict[date, list[tuple[int, int]]], first: datetime,
              minutes: int) -> list[int]:
    """Business minutes before each minute of ``first + k`` (k = 0..minutes), by stepping."""
    tz = ZoneInfo(zone)

    def intervals_on(day: date) -> list[tuple[int, int]]:
        if day in closed:
            return []
        return partial.get(day, week[day.weekday()])

    counts = [0]
    one_day = timedelta(days=1)
    for k in range(minutes):
        wall = (first + timedelta(minutes=k)).astimezone(tz)
        today, since = wall.date(), wall.hour * 60 + wall.minute  # minutes since local midnight
        inside = any(a <= since < b for a, b in intervals_on(today)) or any(
            a <= since + 1440 < b for a, b in intervals_on(today - one_day)  # overnight tail
        )
        counts.append(counts[-1] + inside)
    return counts


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_matches_minute_stepping_reference(data: st.DataObject) -> None:
    zone = data.draw(st.sampled_from(ZONES))
    anchor = data.draw(st.sampled_from(ANCHORS))
    first_day = anchor - timedelta(days=data.draw(st.integers(1, WINDOW_DAYS - 2)))
    week = [data.draw(day_intervals()) for _ in range(7)]
    window = [first_day + timedelta(days=k) for k in range(WINDOW_DAYS)]
    holidays: list[object] = []
    closed: set[date] = set()
    partial: dict[date, list[tuple[int, int]]] = {}
    for _ in range(data.draw(st.integers(0, 3))):
        day = data.draw(st.sampled_from(window))
        kind = data.draw(st.sampled_from(["date", "range", "partial"]))
        if kind == "date":
            holidays.append(day)
            days = [day]
        elif kind == "range":
            last = day + timedelta(days=data.draw(st.integers(0, 3)))
            holidays.append(f"{day}..{last}")
            days = [day + timedelta(days=k) for k in range((last - day).days + 1)]
        else:
            hours = data.draw(day_intervals().filter(bool))
            holidays.append({"date": day, "hours": ", ".join(f"{hhmm(a)}-{hhmm(b)}"
                                                              for a, b in hours)})
            for d in [day]:
                closed.discard(d)
                partial[d] = hours
            continue
        for d in days:  # a later entry wins
            partial.pop(d, None)
            closed.add(d)
    table = {
        "timezone": zone,
        "hours": {name: ", ".join(f"{hhmm(a)}-{hhmm(b)}" for a, b in week[i]) or "closed"
                  for i, name in enumerate(calendars.DAYS)},
        "holidays": holidays,
    }
    if not any(week) and not partial:  # never open: refused, every duration would be 0 s
        with pytest.raises(ContractError, match="never open"):
            build_calendars({"random": table})
        return
    cal = build_calendars({"random": table})["random"]

    first = datetime.combine(first_day, datetime.min.time(), tzinfo=UTC)
    span = WINDOW_DAYS * 1440
    counts = reference(zone, week, closed, partial, first, span)
    pairs = data.draw(st.lists(st.tuples(st.integers(0, span), st.integers(0, span)),
                               min_size=1, max_size=20))
    starts = pa.array([first + timedelta(minutes=a) for a, _ in pairs], TS)
    ends = pa.array([first + timedelta(minutes=b) for _, b in pairs], TS)
    expected = [max(counts[b] - counts[a], 0) * 60.0 for a, b in pairs]
    assert cal.elapsed(starts, ends).to_pylist() == expected
