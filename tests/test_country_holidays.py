"""A country's holidays in a business calendar: the dates closed, their precedence against dated
entries, inheritance, lazy expansion, the manifest, and contract errors through ``validate``."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from datetime import UTC, date, datetime
from importlib.metadata import version
from pathlib import Path
from zoneinfo import ZoneInfo

import pyarrow as pa
import pytest
from click.testing import CliRunner

from slaengine.calendars import (
    BusinessCalendar,
    CountryHolidays,
    build_calendars,
    package_versions,
)
from slaengine.cli import main
from slaengine.errors import ContractError, DataError

NY = "America/New_York"
TS = pa.timestamp("us", tz="UTC")
ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).parent / "data"
US_NY = {"country": "US", "subdiv": "NY"}
WEEKDAYS = {"mon-fri": "08:00-20:00"}


def local(zone: str, *moments: str) -> pa.Array:
    """Local wall times (ISO, no offset) as UTC instants."""
    return pa.array([datetime.fromisoformat(m).replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)
                     for m in moments], TS)


def calendar(*holidays: object, **keys: object) -> BusinessCalendar:
    cal = build_calendars({"c": {"timezone": NY, "hours": WEEKDAYS,
                                 "holidays": list(holidays), **keys}})["c"]
    assert isinstance(cal, BusinessCalendar)
    return cal


# --------------------------------------------------------------------------- the dates closed


def test_new_york_2026_closes_juneteenth_labor_day_and_thanksgiving() -> None:
    cal = calendar(US_NY)
    closed = cal.country_holidays(2026, 2026)
    for day in (date(2026, 6, 19), date(2026, 9, 7), date(2026, 11, 26),  # Juneteenth, Labor,
                date(2026, 1, 1), date(2026, 7, 3)):  # Thanksgiving; New Year; July 4th observed
        assert day in closed
        assert cal.intervals_on(day) == ()
    # The days around them keep their weekly hours (08:00-20:00 = 480..1200 minutes).
    for day in (date(2026, 6, 18), date(2026, 9, 8), date(2026, 11, 25), date(2026, 11, 27)):
        assert day not in closed
        assert cal.intervals_on(day) == ((480, 1200),)
    assert all(day.year == 2026 for day in closed)


def test_business_time_across_thanksgiving_with_a_partial_day_after_it() -> None:
    cal = calendar(US_NY, {"date": date(2026, 11, 27), "hours": "08:00-12:00"})
    start, end = local(NY, "2026-11-25T18:00"), local(NY, "2026-11-30T09:00")
    # Wed 11-25 18:00-20:00 = 2 h; Thu 11-26 Thanksgiving 0; Fri 11-27 partial 08:00-12:00 = 4 h;
    # Sat, Sun closed (mon-fri only); Mon 11-30 08:00-09:00 = 1 h. 7 h = 25200 s.
    assert cal.elapsed(start, end).to_pylist() == [25200.0]
    # Without the country: Wed 2 h + Thu 12 h + Fri 4 h + Mon 1 h = 19 h = 68400 s.
    plain = calendar({"date": date(2026, 11, 27), "hours": "08:00-12:00"})
    assert plain.elapsed(start, end).to_pylist() == [68400.0]


@pytest.mark.parametrize("partial_first", [True, False])
def test_a_dated_entry_takes_precedence_over_the_country_wherever_it_stands(partial_first) -> None:
    partial = {"date": "2026-11-26", "hours": "09:00-11:00"}
    cal = calendar(*((partial, US_NY) if partial_first else (US_NY, partial)))
    assert cal.intervals_on(date(2026, 11, 26)) == ((540, 660),)
    # Thanksgiving 00:00 -> Fri 00:00: only its 09:00-11:00 = 2 h = 7200 s.
    got = cal.elapsed(local(NY, "2026-11-26T00:00"), local(NY, "2026-11-27T00:00"))
    assert got.to_pylist() == [7200.0]


def test_explicit_closed_dates_and_ranges_add_to_the_country() -> None:
    cal = calendar(US_NY, "2026-12-28..2026-12-31")
    # Mon 12-21 08:00 -> Mon 2027-01-04 08:00: 12-21..12-24 4 days x 12 h = 48 h; Fri 12-25
    # Christmas (country) 0; 12-28..12-31 explicit range 0; Fri 2027-01-01 New Year (country) 0.
    got = cal.elapsed(local(NY, "2026-12-21T08:00"), local(NY, "2027-01-04T08:00"))
    assert got.to_pylist() == [48 * 3600.0]


def test_categories_choose_which_holidays_close() -> None:
    public = calendar({"country": "US"}).country_holidays(2026, 2026)
    both = calendar({"country": "US", "categories": ["public", "unofficial"]})
    # Good Friday (2026-04-03) is an "unofficial" US holiday in the holidays package, not public.
    assert date(2026, 4, 3) not in public
    assert both.intervals_on(date(2026, 4, 3)) == ()
    assert public < both.country_holidays(2026, 2026)
    only = calendar({"country": "US", "categories": ["unofficial"]})
    assert only.intervals_on(date(2026, 11, 26)) == ((480, 1200),)  # Thanksgiving is public


def test_a_holiday_observed_in_the_previous_year_is_found_in_its_own_year() -> None:
    # New Year's Day 2022 fell on a Saturday; it was observed on Friday 2021-12-31.
    cal = calendar({"country": "US"})
    assert cal.intervals_on(date(2021, 12, 31)) == ()
    assert date(2021, 12, 31) in cal.country_holidays(2021, 2021)
    assert date(2021, 12, 31) not in cal.country_holidays(2022, 2022)


def test_several_countries_add_up() -> None:
    cal = calendar(US_NY, {"country": "GB", "subdiv": "ENG"})
    closed = cal.country_holidays(2026, 2026)
    assert date(2026, 11, 26) in closed  # Thanksgiving (US)
    assert date(2026, 8, 31) in closed  # Summer Bank Holiday (England)


# --------------------------------------------------------------------------- inheritance, laziness


def test_extend_inherits_the_country_and_may_add_more() -> None:
    cals = build_calendars({
        "day": {"timezone": NY, "hours": WEEKDAYS, "holidays": [US_NY]},
        "night": {"extend": "day", "hours": {"mon-fri": "22:00-06:00"},
                  "holidays": [{"date": "2026-09-07", "hours": "22:00-23:00"}]},
        "london": {"extend": "day", "holidays": [{"country": "GB"}]},
    })
    night, london = cals["night"], cals["london"]
    assert isinstance(night, BusinessCalendar) and isinstance(london, BusinessCalendar)
    assert night.countries == (CountryHolidays("US", "NY"),)
    assert night.intervals_on(date(2026, 11, 26)) == ()  # inherited Thanksgiving
    assert night.intervals_on(date(2026, 9, 7)) == ((1320, 1380),)  # its own partial Labor Day
    assert london.countries == (CountryHolidays("US", "NY"), CountryHolidays("GB"))
    assert london.intervals_on(date(2026, 12, 28)) == ()  # Boxing Day observed (GB)


def test_country_holidays_are_expanded_only_for_the_years_measured() -> None:
    cal = calendar(US_NY)
    assert cal._country_days == {}  # nothing expanded when the contract is read
    cal.elapsed(local(NY, "2026-03-02T09:00"), local(NY, "2026-11-30T09:00"))
    assert set(cal._country_days) <= {2025, 2026, 2027}  # the span, rounded to blocks of days
    assert 2026 in cal._country_days


def test_expansion_is_bounded_by_the_dates_a_contract_may_name() -> None:
    years = CountryHolidays("US").dates(1898, 1901)
    assert years[1898] == frozenset() and years[1899] == frozenset()  # before FIRST_DAY
    assert date(1900, 12, 25) in years[1900]
    assert set(CountryHolidays("US").dates(2199, 2201)) == {2199, 2200, 2201}


def test_times_beyond_the_years_the_package_lists_are_a_data_error() -> None:
    start, end = CountryHolidays("US").supported_years()
    cal = calendar({"country": "US"})
    # The last listed year counts: Thu 2100-12-23 19:00 -> Mon 12-27 09:00: Thu 1 h; Fri 12-24
    # Christmas observed (Christmas is a Saturday) 0; weekend; Mon 08:00-09:00 1 h = 7200 s.
    assert end == 2100 and date(2100, 12, 25).weekday() == 5
    got = cal.elapsed(local(NY, "2100-12-23T19:00"), local(NY, "2100-12-27T09:00"))
    assert got.to_pylist() == [7200.0]
    # One local year later there is no list: refused, not counted as ordinary days.
    with pytest.raises(DataError) as caught:
        cal.elapsed(local(NY, "2100-12-31T19:00"), local(NY, "2101-01-02T09:00"))
    message = str(caught.value)
    assert 'calendar "c"' in message and "2100..2101" not in message
    assert f"{start}..{end} only" in message and "from 2100 to 2101" in message
    # 2100-12-31 23:30 in New York is already 2101 in UTC, but still 2100 where the calendar is:
    # Thu 12-30 19:00-20:00 = 1 h; Fri 12-31 is New Year's Day 2101 observed (a Saturday), 0.
    late = cal.elapsed(local(NY, "2100-12-30T19:00"), local(NY, "2100-12-31T23:30"))
    assert late.to_pylist() == [3600.0]


def test_a_contract_without_a_country_does_not_import_the_holidays_package() -> None:
    code = ("import sys; from slaengine.cli import main\n"
            "try: main(['validate', sys.argv[1]])\n"
            "except SystemExit as exit: assert exit.code in (0, None), exit.code\n"
            "print('holidays' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code, str(DATA / "small.toml")],
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip().endswith("False"), out.stdout + out.stderr


# --------------------------------------------------------------------------- manifest, examples


def test_the_manifest_names_the_holidays_version_only_when_a_calendar_uses_it() -> None:
    assert package_versions([calendar(US_NY)]) == {"holidays": version("holidays")}
    assert package_versions([calendar("2026-01-01")]) == {}
    assert package_versions([]) == {}


def test_evaluate_records_the_holidays_version(tmp_path) -> None:
    contract = write_contract(tmp_path, "holidays = [{ country = \"US\", subdiv = \"NY\" }]")
    out = tmp_path / "report.json"
    result = CliRunner().invoke(main, ["evaluate", str(contract), "--format", "json",
                                       "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["manifest"]["versions"]["holidays"] == version("holidays")


@pytest.mark.parametrize("name", ["isp-helpdesk.toml", "isp-helpdesk-parquet.toml"])
def test_the_example_calendars_close_new_york_holidays(name) -> None:
    tables = tomllib.loads((ROOT / "contracts" / name).read_text())["calendars"]
    cal = build_calendars(tables)["support-hours"]
    assert isinstance(cal, BusinessCalendar)
    for day in (date(2026, 6, 19), date(2026, 9, 7), date(2026, 11, 26), date(2026, 12, 26)):
        assert cal.intervals_on(day) == ()
    assert cal.intervals_on(date(2026, 12, 24)) == ((480, 720),)


# --------------------------------------------------------------------------- contract errors


def write_contract(tmp_path: Path, holidays_line: str) -> Path:
    text = (DATA / "small.toml").read_text()
    text = text.replace('path = "small-tickets.csv"',
                        f"path = {json.dumps(str(DATA / 'small-tickets.csv'))}")
    text = text.replace('target = "median <= 1h"',
                        'target = "median <= 1h"\ncalendar = "office"')
    text += ('\n[calendars.office]\nhours = { mon-fri = "08:00-20:00" }\n'
             f"{holidays_line}\n")
    path = tmp_path / "contract.toml"
    path.write_text(text)
    return path


BAD = [
    # (holidays line, key path in the message, text the message holds, suggestion)
    ('holidays = [{ country = "USA" }]', "holidays[0].country", "alpha-2", '"US"'),
    ('holidays = [{ country = "us" }]', "holidays[0].country", "alpha-2", '"US"'),
    ('holidays = [{ country = "United Kingdom" }]', "holidays[0].country", "alpha-2", '"GB"'),
    ('holidays = [{ country = "UK" }]', "holidays[0].country", "alpha-2", '"GB"'),
    ('holidays = [{ country = "XX" }]', "holidays[0].country", "alpha-2", None),
    ('holidays = [{ country = "" }]', "holidays[0].country", "alpha-2", None),
    ('holidays = [{ country = "US", subdiv = "New York" }]', "holidays[0].subdiv",
     "not a subdivision of US", '"NY"'),
    ('holidays = [{ country = "US", subdiv = "ny" }]', "holidays[0].subdiv",
     "not a subdivision of US", '"NY"'),
    ('holidays = [{ country = "US", subdiv = "QQ" }]', "holidays[0].subdiv",
     "not a subdivision of US", None),
    ('holidays = [{ country = "IS", subdiv = "X" }]', "holidays[0].subdiv", "no subdivisions",
     None),
    ('holidays = [{ country = "US", categories = ["publik"] }]', "holidays[0].categories[0]",
     "not a holiday category of US", '"public"'),
    ('holidays = [{ country = "US", categories = [] }]', "holidays[0].categories",
     "non-empty list", None),
    ('holidays = [{ country = 1 }]', "holidays[0].country", "expected a string", None),
    ('holidays = [{ country = "US", subdiv = 36 }]', "holidays[0].subdiv", "expected a string",
     None),
    ('holidays = [{ country = "US", date = 2026-01-01 }]', "holidays[0]", "not both", None),
    ('holidays = [{ contry = "US" }]', "holidays[0].contry", "unknown key", '"country"'),
    ('holidays = [{ country = "US", subdivision = "NY" }]', "holidays[0].subdivision",
     "unknown key", '"subdiv"'),
    ('holidays = [{ country = "US", hours = "08:00-12:00" }]', "holidays[0].hours",
     "unknown key", None),
    ('holidays = [{ subdiv = "NY" }]', "holidays[0].country", "required key is missing", None),
    ('holidays = { country = "US", subdiv = "NY" }', "holidays",
     'holidays = [{ country = "US", subdiv = "NY" }', None),
]


@pytest.mark.parametrize(("line", "where", "text", "suggestion"), BAD)
def test_bad_country_tables_exit_2_through_validate(tmp_path, line, where, text, suggestion):
    result = CliRunner().invoke(main, ["validate", str(write_contract(tmp_path, line))])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert f"calendars.office.{where}:" in result.output
    assert text in result.output
    if suggestion:
        assert f"did you mean {suggestion}?" in result.output


def test_an_unknown_country_lists_the_accepted_codes() -> None:
    with pytest.raises(ContractError) as caught:
        calendar({"country": "USA"})
    err = caught.value
    assert err.key_path == ("calendars", "c", "holidays", 0, "country")
    assert err.suggestion == "US"
    assert err.accepted is not None and {"US", "GB", "DE", "FR", "JP"} <= set(err.accepted)
    assert all(len(code) == 2 for code in err.accepted)


def test_a_good_country_table_validates(tmp_path) -> None:
    line = ('holidays = [{ country = "US", subdiv = "NY", categories = ["public"] }, '
            '{ date = 2026-11-27, hours = "08:00-12:00" }, "2026-12-28..2026-12-31"]')
    result = CliRunner().invoke(main, ["validate", str(write_contract(tmp_path, line))])
    assert result.exit_code == 0, result.output
