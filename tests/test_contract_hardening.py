"""Contracts that would give wrong money or wrong verdicts are refused, with file, line, key path
and the accepted form -- never a traceback, never a silent guess.

Each test covers a class of bad input with many members; ``small.toml`` (tests/data) is the base
contract, changed one line at a time.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from slaengine.calendars import build_calendars
from slaengine.cli import main
from slaengine.contract import load_contract, parse_contract
from slaengine.contract import read as contract_module
from slaengine.credits.money import parse_percent
from slaengine.errors import ContractError, DataError, SlaError
from slaengine.money import parse_amount
from slaengine.periods import period_keys
from slaengine.pluginmanager import build_registry

DATA = Path(__file__).parent / "data"
SMALL = (DATA / "small.toml").read_text()
REGISTRY = build_registry()
FEE = 'monthly_fee = "10000.00"'
HEAD_END = 'timezone = "America/New_York"'


def write(tmp_path: Path, old: str, new: str, extra: str = "") -> Path:
    """small.toml with ``old`` replaced by ``new`` and ``extra`` appended, next to its data."""
    assert old in SMALL, old
    shutil.copy(DATA / "small-tickets.csv", tmp_path / "small-tickets.csv")
    path = tmp_path / "contract.toml"
    path.write_text(SMALL.replace(old, new, 1) + extra)
    return path


def refused(tmp_path: Path, old: str, new: str, extra: str = "") -> str:
    """The rendered error of loading the changed contract (it must be refused)."""
    path = write(tmp_path, old, new, extra)
    with pytest.raises(SlaError) as info:
        load_contract(path, REGISTRY)
    text = info.value.render()
    assert str(path) in text
    return text


def line_in(path_text: str, needle: str) -> int:
    return next(i for i, line in enumerate(path_text.splitlines(), 1) if needle in line)


def run(*args: str):
    return CliRunner().invoke(main, list(args))


# --------------------------------------------------------------------------- money


BAD_AMOUNTS = [
    "180000,50",  # a decimal comma: read as 18000050 by a parser that drops commas
    "1.234,56", "1,234.56", "1 234.56", "1'234.56", "1_234.56",  # thousands separators
    "١٢٣", "１２３", "12\u0663",  # digits of other scripts
    "-0", "-5.00", "+5", "1e5", "1E5", "NaN", "nan", "Infinity", "-Infinity", "inf",
    " 5", "5 ", "5.", ".5", "", "5..0", "0x10", "5.00 USD", "$5", "5\n",
    "1" * 16,  # more than 15 digits before the point
    "1.1234567",  # more than 6 decimals
]


@pytest.mark.parametrize("text", BAD_AMOUNTS)
def test_monthly_fee_in_any_but_the_one_form_is_refused_with_line_and_form(tmp_path, text):
    quoted = '"' + text.replace("\\", "\\\\").replace("\n", "\\n") + '"'
    message = refused(tmp_path, FEE, f"monthly_fee = {quoted}")
    assert f"line {line_in(SMALL, 'monthly_fee')}: contract.monthly_fee" in message
    assert "180000.50" in message or "digits" in message


@pytest.mark.parametrize("number", ["10000", "10000.5", "1e4", "nan", "inf", "true"])
def test_a_toml_number_as_fee_is_refused_with_a_hint_to_quote_it(tmp_path, number):
    message = refused(tmp_path, FEE, f"monthly_fee = {number}")
    assert "contract.monthly_fee" in message
    assert "quoted" in message


@pytest.mark.parametrize("text", ["0", "7", "10000.00", "180000.50", "0.000001",
                                  "999999999999999.999999", "007.50"])
def test_amounts_in_the_one_form_are_read_exactly(text):
    amount = parse_amount(text)
    assert amount == Decimal(text)
    assert amount.as_tuple().exponent == -len(text.partition(".")[2])  # "10000.00" keeps 2


def strict_form(text: str) -> bool:
    """The accepted form, written independently: ASCII digits, at most 15 of them before the
    point once leading zeros are dropped, optionally a point and 1 to 6 digits."""
    whole, point, decimals = text.partition(".")
    digits = "0123456789"
    return (bool(whole) and all(c in digits for c in whole) and len(whole.lstrip("0")) <= 15
            and (not point or (0 < len(decimals) <= 6 and all(c in digits for c in decimals))))


@given(st.one_of(st.text(max_size=24), st.from_regex(r"[0-9]{1,17}(\.[0-9]{0,8})?",
                                                     fullmatch=True)))
def test_any_text_outside_the_strict_form_is_refused(text):
    if strict_form(text):
        assert parse_amount(text) == Decimal(text)
    else:
        with pytest.raises(ValueError):
            parse_amount(text)


@given(st.decimals(min_value=0, max_value=Decimal("999999999999999.999999"), places=None,
                   allow_nan=False, allow_infinity=False).filter(lambda d: d.as_tuple()[2] >= -6))
def test_every_decimal_written_in_the_form_round_trips(number):
    text = format(number, "f")
    assert parse_amount(text) == number


@pytest.mark.parametrize("text", ["12,5%", "١٢%", "１２%", "-5%", "+5%", "5 %", " 5%", "5% ",
                                  "%", "5", "1e1%", "NaN%", ".5%", "5.%", "5%%"])
def test_percentages_follow_the_same_form(text):
    with pytest.raises(ValueError):
        parse_percent(text)


@pytest.mark.parametrize(("text", "share"), [("12%", "0.12"), ("2.5%", "0.025"), ("0%", "0"),
                                             ("100%", "1")])
def test_percentages_in_the_form_are_exact(text, share):
    assert parse_percent(text) == Decimal(share)


PENALTIES = {
    # (penalties table, key path refused)
    "fixed amount comma": ('model = "fixed"\namount = "500,00"', "penalties.amount"),
    "fixed per level": ('model = "fixed"\namounts = { fcr = "1.500,00" }', "penalties.amounts.fcr"),
    "fixed per status": ('model = "fixed"\namounts = { fcr = { breached = "5e2" } }',
                         "penalties.amounts.fcr.breached"),
    "critical amount": ('model = "fixed"\namount = "5"\ncritical_amount = "-5"',
                        "penalties.critical_amount"),
    "at risk unicode": ('model = "at-risk-pool"\nat_risk = "١٢%"\nallocations = { fcr = "50%" }',
                        "penalties.at_risk"),
    "allocation comma": ('model = "at-risk-pool"\nat_risk = "12%"\n'
                         'allocations = { fcr = "50,5%" }', "penalties.allocations.fcr"),
    "percent of fee float": ('model = "percent-of-fee"\ncredits = { fcr = 0.05 }',
                             "penalties.credits.fcr"),
    "band credit": ('model = "tiered"\nbands = [{ below = "90%", credit = "1 000" }]',
                    "penalties.bands[0].credit"),
    "cap float": ('model = "fixed"\namount = "5"\ncap_per_period = 100.0',
                  "penalties.cap_per_period"),
    "cap comma": ('model = "fixed"\namount = "5"\ncap_per_year = "1,5%"',
                  "penalties.cap_per_year"),
    "bonus": ('model = "fixed"\namount = "5"\n[[penalties.bonuses]]\nservice_level = "fcr"\n'
              'stretch = ">= 90%"\namount = "NaN"', "penalties.bonuses[0].amount"),
    "multiplier": ('model = "fixed"\namount = "5"\nchronic = { breaches = 2, within = 3, '
                   'multiplier = "1,5" }', "penalties.chronic.multiplier"),
    # Semantics: shares above the whole, credits above the whole fee.
    "at risk over 100%": ('model = "at-risk-pool"\nat_risk = "120%"\n'
                          'allocations = { fcr = "50%" }', "penalties.at_risk"),
    "allocation over 100%": ('model = "at-risk-pool"\nat_risk = "12%"\n'
                             'allocations = { fcr = "150%" }', "penalties.allocations.fcr"),
    "credit share over 100%": ('model = "percent-of-fee"\ncredits = { fcr = "101%" }',
                               "penalties.credits.fcr"),
    "cap share over 100%": ('model = "fixed"\namount = "5"\ncap_per_period = "100.01%"',
                            "penalties.cap_per_period"),
    "yearly cap over 100%": ('model = "fixed"\namount = "5"\ncap_per_year = "250%"',
                             "penalties.cap_per_year"),
    "fixed above the fee": ('model = "fixed"\namount = "10000.01"', "penalties.amount"),
    "level above the fee": ('model = "fixed"\namounts = { fcr = { critical = "20000" } }',
                            "penalties.amounts.fcr.critical"),
    "pool above the fee": ('model = "at-risk-pool"\nat_risk = "15000.00"\n'
                           'allocations = { fcr = "50%" }', "penalties.at_risk"),
    "band above the fee": ('model = "tiered"\nbands = [{ below = "90%", credit = "10500" }]',
                           "penalties.bands[0].credit"),
}


@pytest.mark.parametrize("case", sorted(PENALTIES))
def test_bad_money_in_penalties_is_refused_at_its_key(tmp_path, case):
    table, key_path = PENALTIES[case]
    message = refused(tmp_path, FEE, FEE, f"\n[penalties]\n{table}\n")
    assert key_path in message, message
    assert re.search(r"line \d+", message)


def test_money_at_the_fee_and_caps_above_it_are_allowed(tmp_path):
    # A credit equal to the monthly fee (10000.00) is allowed; a cap above the fee never binds
    # and is allowed; a share of exactly 100% is allowed.
    path = write(tmp_path, FEE, FEE, '\n[penalties]\nmodel = "fixed"\namount = "10000.00"\n'
                 'cap_per_period = "50000.00"\ncap_per_year = "100%"\n')
    contract = load_contract(path, REGISTRY)
    assert contract.penalties["amount"] == "10000.00"


def test_a_weekly_credit_is_compared_with_the_weekly_fee(tmp_path):
    # Weekly fee = 10000 × 12 ÷ 52 = 2307.69...; 2400.00 is above it.
    message = refused(tmp_path, 'period = "month"', 'period = "week"',
                      '\n[penalties]\nmodel = "fixed"\namount = "2400.00"\n')
    assert "penalties.amount" in message and "2307.69" in message


# --------------------------------------------------------------------------- semantics


@pytest.mark.parametrize(("window", "key"), [
    ("start = 2026-04-01\nend = 2026-03-01", "contract.end"),
    ("start = 2026-04-01\nend = 2026-04-01", "contract.end"),
    ("start = 2026-04-01T10:00:00\nend = 2026-05-01", "contract.start"),
])
def test_a_window_that_ends_before_it_starts_is_refused(tmp_path, window, key):
    assert key in refused(tmp_path, HEAD_END, f"{HEAD_END}\n{window}")


@pytest.mark.parametrize("value", ["0", "-1", "true", '"5"', "1.5"])
def test_min_sample_must_be_a_whole_number_of_at_least_one(tmp_path, value):
    message = refused(tmp_path, 'target = ">= 80%"', f'target = ">= 80%"\nmin_sample = {value}')
    assert "service_levels[2].min_sample" in message


def test_an_exclusion_that_ends_before_it_starts_is_refused(tmp_path):
    message = refused(tmp_path, FEE, FEE, '\n[[exclusions]]\nreason = "x"\nfrom = 2026-03-10\n'
                      "to = 2026-03-01\n")
    assert "exclusions[0].to" in message


def test_an_exclusion_outside_the_window_is_a_warning(tmp_path):
    path = write(tmp_path, HEAD_END, f"{HEAD_END}\nstart = 2026-03-01\nend = 2026-04-30",
                 '\n[[exclusions]]\nreason = "old outage"\nfrom = 2025-01-01\nto = 2025-01-02\n')
    contract = load_contract(path, REGISTRY)
    assert len(contract.warnings) == 1 and "exclusions[0]" in contract.warnings[0]
    result = run("validate", str(path))
    assert result.exit_code == 0
    assert "warning:" in result.output and "excludes nothing" in result.output


# --------------------------------------------------------------------------- dates at the edges


@pytest.mark.parametrize(("old", "new", "key"), [
    (HEAD_END, f"{HEAD_END}\nend = 9999-12-31", "contract.end"),
    (HEAD_END, f"{HEAD_END}\nstart = 0001-01-01", "contract.start"),
    (HEAD_END, f"{HEAD_END}\nstart = 1899-12-31", "contract.start"),
    (HEAD_END, f"{HEAD_END}\nend = 2262-04-12", "contract.end"),
])
def test_dates_outside_the_accepted_range_are_refused(tmp_path, old, new, key):
    message = refused(tmp_path, old, new)
    assert key in message and "1900-01-01 .. 2199-12-31" in message


@pytest.mark.parametrize("bounds", [("9999-12-30", "9999-12-31"), ("0001-01-01", "0001-01-02"),
                                    ("2026-01-01", "9999-12-31T23:59:59"),
                                    ("0001-01-01T00:00:00Z", "2026-01-01")])
def test_exclusions_at_the_edges_of_time_are_refused(tmp_path, bounds):
    message = refused(tmp_path, FEE, FEE, f'\n[[exclusions]]\nreason = "x"\nfrom = {bounds[0]}\n'
                      f"to = {bounds[1]}\n")
    assert "exclusions[0]" in message and "accepted dates" in message


def test_the_last_accepted_dates_evaluate(tmp_path):
    path = write(tmp_path, HEAD_END, f"{HEAD_END}\nstart = 1900-01-01\nend = 2199-12-31",
                 '\n[[exclusions]]\nreason = "x"\nfrom = 2199-12-30\nto = 2199-12-31T23:00:00\n')
    result = run("evaluate", str(path), "--as-of", "2199-12-31")
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("moment", ["9999-12-31", "9999-12-30", "0001-01-01",
                                    "9999-12-31T23:59:59", "0001-01-01T00:00:00+05:00",
                                    "2300-01-01"])
def test_as_of_far_out_exits_2_naming_the_range(tmp_path, moment):
    result = run("evaluate", str(write(tmp_path, FEE, FEE)), "--as-of", moment)
    assert result.exit_code == 2, result.output
    assert "--as-of" in result.output and "1900-01-01 .. 2199-12-31" in result.output
    assert "Traceback" not in result.output


# --------------------------------------------------------------------------- TOML and files


@pytest.mark.parametrize(("extra", "key"), [
    ('\n[contract]\nid = "again"\n', "contract"),
    ("\n", None),
])
def test_a_repeated_key_or_table_names_it_and_its_line(tmp_path, extra, key):
    if key is None:  # a repeated plain key
        text = SMALL.replace(FEE, f'{FEE}\nmonthly_fee = "5.00"')
        with pytest.raises(ContractError) as info:
            parse_contract(text, path=Path("c.toml"), registry=REGISTRY)
        message = info.value.render()
        assert '"monthly_fee" is given twice' in message
        assert f"line {line_in(SMALL, 'monthly_fee') + 1}" in message
        return
    with pytest.raises(ContractError) as info:
        parse_contract(SMALL + extra, path=Path("c.toml"), registry=REGISTRY)
    assert '"contract" is given twice' in info.value.render()
    assert f"line {len(SMALL.splitlines()) + 2}" in info.value.render()


@pytest.mark.parametrize("nested", [
    "x = " + "[" * 10_000 + "]" * 10_000,
    "x = " + "{ a = " * 5_000 + "1" + " }" * 5_000,
    "x = " + "[" * 200 + "]" * 200,  # parses, but deeper than any contract
])
def test_deep_nesting_is_refused_naming_the_file(tmp_path, nested):
    path = tmp_path / "deep.toml"
    path.write_text(nested + "\n")
    with pytest.raises(ContractError, match="nested") as info:
        load_contract(path, REGISTRY)
    assert str(path) in info.value.render()


def test_a_huge_contract_is_refused_unread(tmp_path, monkeypatch):
    monkeypatch.setattr(contract_module, "MAX_CONTRACT_BYTES", 1000)
    path = tmp_path / "big.toml"
    path.write_text(SMALL + "#" * 2000)
    with pytest.raises(ContractError, match="at most 1000 bytes"):
        load_contract(path, REGISTRY)


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_a_device_is_refused_promptly():
    began = time.monotonic()
    result = run("validate", "/dev/zero")
    assert result.exit_code == 2
    assert "/dev/zero: not a regular file" in result.output
    assert time.monotonic() - began < 5


def test_a_fifo_and_a_folder_are_refused_without_being_opened(tmp_path):
    fifo = tmp_path / "pipe.toml"
    os.mkfifo(fifo)  # opening it would block: the check must not open it
    result = run("validate", str(fifo))
    assert result.exit_code == 2 and "not a regular file" in result.output
    result = run("validate", str(tmp_path))
    assert result.exit_code == 2 and "a folder" in result.output


@pytest.mark.parametrize("data", [b"\xff\xfe[contract]\n", b'[contract]\nid = "caf\xe9"\n',
                                  "\ufeff[contract]\n".encode()])
def test_bytes_that_are_not_utf8_name_the_file(tmp_path, data):
    path = tmp_path / "latin1.toml"
    path.write_bytes(data)
    result = run("validate", str(path))
    assert result.exit_code == 2
    assert str(path) in result.output and "line" in result.output
    assert "UTF-8" in result.output


# --------------------------------------------------------------------------- calendars


@pytest.mark.parametrize("hours", ["{}", '{ mon-sun = "closed" }', '{ mon-fri = "" }'])
def test_a_calendar_that_is_never_open_is_refused(tmp_path, hours):
    message = refused(tmp_path, FEE, FEE, f"\n[calendars.office]\nhours = {hours}\n")
    assert "calendars.office" in message and "never open" in message


def test_a_calendar_open_only_on_one_partial_day_is_accepted():
    found = build_calendars({"c": {"timezone": "UTC", "hours": {},
                                   "holidays": [{"date": "2026-03-02", "hours": "09:00-10:00"}]}})
    assert found["c"].partial_days


@pytest.mark.parametrize(("hours", "says"), [
    ('{ mon = "25:00-26:00" }', "00:00..23:59"), ('{ mon = "24:00-24:00" }', "00:00..23:59"),
    ('{ mon = "08:00-08:00" }', "empty"), ('{ mon = "08:00-12:00, 11:00-13:00" }', "overlap"),
    ('{ mon = "8-12" }', "HH:MM"), ('{ mon = "０８:００-１２:００" }', "HH:MM"),
    ('{ mon = "08:00-12:00", mon-fri = "09:00-10:00" }', "already given"),
    ('{ funday = "08:00-12:00" }', "not a day"),
])
def test_bad_hours_name_the_calendar_key(tmp_path, hours, says):
    message = refused(tmp_path, FEE, FEE, f"\n[calendars.office]\nhours = {hours}\n")
    assert "calendars.office.hours" in message and says in message


def test_an_extend_cycle_is_refused(tmp_path):
    message = refused(tmp_path, FEE, FEE, '\n[calendars.a]\nextend = "b"\n'
                      '[calendars.b]\nextend = "a"\nhours = { mon = "09:00-10:00" }\n')
    assert "extend" in message and "cycle" in message


@pytest.mark.parametrize("holiday", ['"1900-01-01..2199-12-31"', "9999-12-31", '"0001-01-01"'])
def test_holidays_out_of_range_or_spanning_centuries_are_refused(tmp_path, holiday):
    message = refused(tmp_path, FEE, FEE, '\n[calendars.office]\nhours = { mon = "09:00-10:00" }'
                      f"\nholidays = [{holiday}]\n")
    assert "calendars.office.holidays[0]" in message


def test_a_month_without_business_time_gives_insufficient_data_with_a_note(tmp_path):
    # March 2026 is all holidays: every first-response duration in it would be 0 s (met).
    path = write(tmp_path, 'target = "median <= 1h"',
                 'target = "median <= 1h"\ncalendar = "office"',
                 '\n[calendars.office]\nhours = { mon-fri = "08:00-18:00" }\n'
                 'holidays = ["2026-03-01..2026-03-31"]\n')
    from slaengine.engine import evaluate

    evaluation = evaluate(load_contract(path, REGISTRY), REGISTRY)
    march = [v for v in evaluation.verdicts
             if v.service_level == "median-first-response" and v.period == "2026-03"]
    april = [v for v in evaluation.verdicts
             if v.service_level == "median-first-response" and v.period == "2026-04"]
    assert march and all(v.status == "insufficient_data" for v in march)
    assert all("no business hours in 2026-03" in (v.note or "") for v in march)
    assert april and all(v.note is None for v in april)
    assert {v.status for v in april} <= {"met", "breached"}


def test_a_calendar_on_a_period_level_metric_is_refused(tmp_path):
    message = refused(
        tmp_path, 'metric = "csat"\ntarget = "mean >= 4"',
        'metric = "response_time"\ntarget = "<= 4h"\ncalendar = "office"',
        '\n[calendars.office]\nhours = { mon-fri = "08:00-18:00" }\n')
    assert "service_levels[3].calendar" in message


# --------------------------------------------------------------------------- data paths


def test_validate_and_evaluate_find_the_same_files(tmp_path):
    shutil.copy(DATA / "small-tickets.csv", tmp_path / "data[1].csv")
    path = tmp_path / "c.toml"
    path.write_text(SMALL.replace('path = "small-tickets.csv"', 'path = "data[1].csv"'))
    assert run("validate", str(path)).exit_code == 0
    assert run("evaluate", str(path)).exit_code == 0
    path.write_text(SMALL.replace('path = "small-tickets.csv"', 'path = "nothing-*.csv"'))
    checked, evaluated = run("validate", str(path)), run("evaluate", str(path))
    assert checked.exit_code == evaluated.exit_code == 2
    assert "no file matches the pattern (sources.tickets.path)" in checked.output
    assert checked.output == evaluated.output


# --------------------------------------------------------------------------- other text attacks


@pytest.mark.parametrize(("old", "new", "key"), [
    ('id = "fcr"', 'id = "fc\\u001b[31mr"', "service_levels[2].id"),
    ('id = "fcr"', 'id = "fcr\\n"', "service_levels[2].id"),
    ('id = "fcr"', f'id = "{"f" * 5000}"', "service_levels[2].id"),
    ('id = "small"', 'id = "sm\\u0000all"', "contract.id"),
    ('client = "Client Ltd"', 'client = "Client\\u001b]0;pwned\\u0007 Ltd"', "contract.client"),
    ('[[service_levels]]\nid = "fcr"', '[[service_levels]]\n"i\\u001bd" = 1\nid = "fcr"',
     "service_levels[2].i\\x1bd"),
    ('[sources.tickets]', '[sources."tick ets"]', "sources"),
    ('by = ["priority"]', 'by = ["priority", "priority"]', "service_levels[1].by"),
    ('where = { priority = ["urgent"] }', "where = { priority = [] }",
     "service_levels[0].where.priority"),
    ('where = { priority = ["urgent"] }', "where = { priority = [1] }",
     "service_levels[0].where.priority"),
    ('target = "median <= 1h"', 'target = "p100.0000001 <= 1h"', "service_levels[1].target"),
    ('target = "median <= 1h"', 'target = "p0 <= 1h"', "service_levels[1].target"),
    ('target = "median <= 1h"', 'target = "p90 <= ١h"', "service_levels[1].target"),
    ('target = "median <= 1h"', 'target = "p90 <= 1e3h"', "service_levels[1].target"),
    ('target = "median <= 1h"', f'target = "p90 <= {"9" * 400}h"', "service_levels[1].target"),
    ('target = "75% within 1h"', 'target = "99999999999999999999% within 1h"',
     "service_levels[0].target"),
    ('target = "75% within 1h"', 'target = "95% within 99999999999d"',
     "service_levels[0].target"),
    ('target = "75% within 1h"', 'target = "95% within 36526d"', "service_levels[0].target"),
    (HEAD_END, 'timezone = "../../etc/passwd"', "contract.timezone"),
    (HEAD_END, 'timezone = "Mars/Olympus"', "contract.timezone"),
    (HEAD_END, 'timezone = "America"', "contract.timezone"),
    (HEAD_END, 'timezone = "/etc/localtime"', "contract.timezone"),
    (HEAD_END, 'timezone = ""', "contract.timezone"),
    (HEAD_END, 'timezone = "America/New_York\\u0000"', "contract.timezone"),
    ('period = "month"', 'period = "day"', "contract.period"),
])
def test_contract_text_attacks_are_refused_at_their_key(tmp_path, old, new, key):
    message = refused(tmp_path, old, new)
    assert key in message, message
    assert "\x1b" not in message and "\x00" not in message
    assert len(message) < 3000


def test_a_where_with_100000_values_is_refused_quickly(tmp_path):
    values = ", ".join(f'"v{i}"' for i in range(100_000))
    began = time.monotonic()
    message = refused(tmp_path, 'where = { priority = ["urgent"] }',
                      f"where = {{ priority = [{values}] }}")
    assert "service_levels[0].where.priority" in message and "at most 10000" in message
    assert time.monotonic() - began < 10


def test_the_calendar_timezone_is_checked_the_same_way(tmp_path):
    message = refused(tmp_path, FEE, FEE, '\n[calendars.office]\ntimezone = "../../etc/passwd"\n'
                      'hours = { mon = "09:00-10:00" }\n')
    assert "calendars.office.timezone" in message


def test_no_attack_gives_a_traceback_through_the_cli(tmp_path):
    attacks = [
        (FEE, 'monthly_fee = "180000,50"'), (HEAD_END, f"{HEAD_END}\nend = 9999-12-31"),
        (HEAD_END, 'timezone = "America"'), ('target = "75% within 1h"',
                                             'target = "95% within 99999999999d"'),
    ]
    for old, new in attacks:
        path = write(tmp_path, old, new)
        for command in ("validate", "evaluate"):
            result = run(command, str(path))
            assert result.exit_code == 2, (new, command, result.output)
            assert result.output.startswith("error: ") and str(path) in result.output


@pytest.mark.parametrize("times", [("9999-12-31T10:00:00-05:00", "9999-12-31T11:30:00-05:00"),
                                   ("0001-01-01T00:00:00Z", "0001-01-01T00:30:00Z"),
                                   ("2026-03-03T10:00:00-05:00", "9999-12-31T11:30:00-05:00")])
def test_record_times_beyond_the_accepted_dates_are_rejected_rows_not_overflow(tmp_path, times):
    # Every source rejects such rows (counted, with the reason): 2 rows read = 1 + 1.
    path = write(tmp_path, 'target = "median <= 1h"', 'target = "median <= 1h"\n'
                 'calendar = "office"',
                 '\n[calendars.office]\nhours = { mon-fri = "08:00-18:00" }\n')
    rows = (DATA / "small-tickets.csv").read_text().splitlines()[:2]
    rows.append(f"T99,{times[0]},{times[1]},,urgent,1,5")
    (tmp_path / "small-tickets.csv").write_text("\n".join(rows) + "\n")
    result = run("evaluate", str(path))
    assert result.exit_code == 0, result.output
    assert "2 rows read = 1 accepted + 1 rejected" in result.output
    assert "out of range (1900-01-01 to 2199-12-31)" in result.output


def test_a_source_that_lets_far_times_through_gets_an_error_not_an_overflow():
    # A third-party source may not reject them: periods say so instead of overflowing.
    far = pa.array([253_402_000_000_000_000], pa.timestamp("us", tz="UTC"))  # year 9999
    with pytest.raises(DataError, match=r"outside the accepted dates 1900-01-01 \.\. 2199-12-31"):
        period_keys(far, "month", "America/New_York")


@pytest.mark.parametrize(("period", "label", "fine"), [
    ("month", "2026-03", True), ("month", "2026-13", False), ("month", "2026-00", False),
    ("month", "26-03", False), ("month", "2026-3", False), ("month", "٢٠٢٦-03", False),
    ("quarter", "2026-Q4", True), ("quarter", "2026-Q5", False), ("quarter", "2026-03", False),
    ("week", "2026-W53", True),  # 2026 has 53 ISO weeks (Dec 28th is in week 53)
    ("week", "2027-W53", False), ("week", "2026-W00", False),
    ("year", "2026", True), ("year", "1899", False), ("year", "2026-01", False),
])
def test_a_penalty_exclusion_names_a_real_period(period, label, fine):
    # A label that names no period would silently never match: it is refused instead.
    text = (f'[contract]\nid = "c"\nclient = "C"\nvendor = "V"\nmonthly_fee = "1000.00"\n'
            f'period = "{period}"\n[sources.t]\nadapter = "csv"\npath = "t.csv"\n'
            '[[service_levels]]\nid = "frt"\nmetric = "first_response_time"\n'
            'target = "p90 <= 1h"\n[penalties]\nmodel = "fixed"\namount = "100.00"\n'
            f'[[penalties.exclusions]]\nperiod = "{label}"\nreason = "outage"\n')
    if fine:
        parse_contract(text)
    else:
        with pytest.raises(ContractError, match=r"penalties\.exclusions\[0\]\.period"):
            parse_contract(text)
