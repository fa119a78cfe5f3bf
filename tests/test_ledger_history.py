"""History-aware credits: earn-back, chronic failure and yearly caps take the earlier periods
from the ledger, so a contract evaluated month by month (``--period``), each run appending to
the ledger, gets the verdicts, credits, earn-backs, chronic flags and capped totals of one run
over all the months."""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal
from functools import cache
from itertools import pairwise
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ledger_kit import ROOT, cli

from slaengine.contract import load_contract
from slaengine.engine import evaluate
from slaengine.ledger.history import assess_with_history, narrowed_to, period_span
from slaengine.ledger.record import append_evaluation
from slaengine.pluginmanager import build_registry

# One level, csat ``mean >= 4``; a breach costs 10% of the 1000.00 fee = 100.00. Chronic:
# 2 failures within 3 periods doubles the credit; a credit is earned back after 1 month on
# target; the year's credits are capped at 250.00.
CONTRACT = """\
[contract]
id = "hist"
client = "Client Ltd"
vendor = "Vendor Inc"
monthly_fee = "1000.00"
period = "month"
timezone = "UTC"

[sources.tickets]
adapter = "csv"
path = "tickets.csv"
fields = { ticket_id = "Ticket", created_at = "Opened", csat = "CSAT" }

[[service_levels]]
id = "csat"
metric = "csat"
target = "mean >= 4"

[penalties]
model = "percent-of-fee"
credits = { csat = "10%" }
chronic = { breaches = 2, within = 3, multiplier = "2" }
earn_back_periods = 1
cap_per_year = "250.00"
"""

# One answer a month: January and February 3 (breached), March and April 5 (met).
TICKETS = ("Ticket,Opened,CSAT\nJ1,2026-01-10T10:00:00Z,3\nF1,2026-02-10T10:00:00Z,3\n"
           "M1,2026-03-10T10:00:00Z,5\nA1,2026-04-10T10:00:00Z,5\n")
MONTHS = ("2026-01", "2026-02", "2026-03", "2026-04")


def _folder(tmp_path: Path, tickets: str = TICKETS) -> Path:
    (tmp_path / "tickets.csv").write_text(tickets)
    (tmp_path / "hist.toml").write_text(CONTRACT)
    return tmp_path / "hist.toml"


def _run(*args: str | Path) -> dict:
    done = cli("evaluate", *args, "--format", "json")
    assert done.exit_code == 0, done.output
    return json.loads(done.stdout)


def _totals(report: dict, period: str) -> dict:
    (found,) = [t for t in report["credit_totals"] if t["period"] == period]
    return {k: Decimal(v) for k, v in found.items() if k != "period"}


def test_chronic_flag_cap_and_earn_back_across_runs(tmp_path: Path) -> None:
    contract = _folder(tmp_path)
    ledger = tmp_path / "ledger.db"
    runs = {month: _run(contract, "--period", month, "--ledger", ledger) for month in MONTHS}
    # Each run holds its own month only.
    assert [[v["period"] for v in runs[m]["verdicts"]] for m in MONTHS] == [[m] for m in MONTHS]
    # January: 100.00, nothing before it.
    assert _totals(runs["2026-01"], "2026-01")["after_caps"] == Decimal("100.00")
    # February, alone in its run: 2 failures within 3 periods (January from the ledger) is
    # chronic: 100.00 × 2 = 200.00; the year has charged 100.00, so 100 + 200 - 250 = 50.00
    # is over the yearly cap: 150.00 kept.
    feb = _totals(runs["2026-02"], "2026-02")
    assert (feb["before_caps"], feb["capped"], feb["after_caps"]) == (
        Decimal("200.00"), Decimal("50.00"), Decimal("150.00"))
    (chronic,) = [f for f in runs["2026-02"]["flags"] if f["kind"] == "chronic-failure"]
    assert chronic["periods"] == ["2026-01", "2026-02"]
    rules = [(line["rule"], line["amount"]) for line in runs["2026-02"]["credits"]]
    assert rules == [("percent-of-fee", "100.00"), ("chronic", "100.00"),
                     ("cap-per-year", "-50.00")]
    # March is met: February's credit comes back, its share of what February kept after the
    # cap: 200.00 × 150.00 ÷ 200.00 = 150.00, so March's net is 0 - 150.00.
    march = _totals(runs["2026-03"], "2026-03")
    assert (march["earned_back"], march["net"]) == (Decimal("150.00"), Decimal("-150.00"))
    (back,) = runs["2026-03"]["credits"]
    assert back["rule"] == "earn-back" and "credit of 2026-02 (200.00)" in back["note"]
    # The year to date in March's run: 100 + 200 = 300 before caps, 250 after, 150 back,
    # net 250 - 150 = 100.00.
    (year,) = runs["2026-03"]["credit_years"]
    assert (year["before_caps"], year["after_caps"], year["net"]) == ("300.00", "250.00",
                                                                      "100.00")
    # One run over all four months says the same.
    whole = _run(contract)
    for month in MONTHS:
        assert _totals(whole, month) == _totals(runs[month], month)
    assert whole["flags"] == runs["2026-04"]["flags"]
    assert whole["credit_years"] == runs["2026-04"]["credit_years"]


def test_without_the_ledger_a_month_alone_has_no_history(tmp_path: Path) -> None:
    contract = _folder(tmp_path)
    # February alone: one failure, no chronic, no cap reached: 100.00.
    feb = _run(contract, "--period", "2026-02")
    assert _totals(feb, "2026-02")["after_caps"] == Decimal("100.00")
    assert [f["kind"] for f in feb["flags"]] == ["earn-back-pending"]


def test_later_months_take_a_closed_periods_latest_restatement(tmp_path: Path) -> None:
    contract = _folder(tmp_path)
    ledger = tmp_path / "ledger.db"
    _run(contract, "--period", "2026-01", "--ledger", ledger)
    assert cli("ledger", "close", ledger, "--contract", "hist", "--period", "2026-01"
               ).exit_code == 0
    # The corrected export: January's answer was 5, so January is met.
    (tmp_path / "tickets.csv").write_text(TICKETS.replace("2026-01-10T10:00:00Z,3",
                                                          "2026-01-10T10:00:00Z,5"))
    _run(contract, "--period", "2026-01", "--ledger", ledger, "--reason", "corrected export")
    feb = _run(contract, "--period", "2026-02", "--ledger", ledger)
    # February is the only failure now (January's restatement is met): 100.00, no chronic.
    assert _totals(feb, "2026-02")["after_caps"] == Decimal("100.00")
    assert [f["kind"] for f in feb["flags"]] == ["earn-back-pending"]


@pytest.mark.parametrize(("period", "said"), [
    ("2026-13", "--period"),          # no 13th month
    ("2026-Q1", "--period"),          # a quarter, the contract is monthly
    ("march", "--period"),
    ("2027-01", "--period 2027-01"),  # no records in it
])
def test_a_period_that_cannot_be_evaluated_is_exit_2_naming_it(tmp_path: Path, period: str,
                                                                said: str) -> None:
    contract = _folder(tmp_path)
    done = cli("evaluate", contract, "--period", period, "--ledger", tmp_path / "l.db")
    assert done.exit_code == 2, done.output
    assert said in done.output and "Traceback" not in done.output


def test_a_period_outside_the_window_is_refused(tmp_path: Path) -> None:
    contract = _folder(tmp_path)
    contract.write_text(CONTRACT.replace('timezone = "UTC"',
                                         'timezone = "UTC"\nstart = 2026-02-01'))
    done = cli("evaluate", contract, "--period", "2026-01")
    assert done.exit_code == 2 and "outside the contract's window" in done.output


def test_period_span_of_each_kind() -> None:
    from datetime import date

    assert period_span("2026-02", "month") == (date(2026, 2, 1), date(2026, 2, 28))
    assert period_span("2026-12", "month") == (date(2026, 12, 1), date(2026, 12, 31))
    assert period_span("2026-Q4", "quarter") == (date(2026, 10, 1), date(2026, 12, 31))
    # ISO week 1 of 2026 starts on Monday 2025-12-29.
    assert period_span("2026-W01", "week") == (date(2025, 12, 29), date(2026, 1, 4))
    assert period_span("2026", "year") == (date(2026, 1, 1), date(2026, 12, 31))


# --------------------------------------------------------------------------- the property


PENALISED = sorted(p.name for p in (ROOT / "contracts").glob("*.toml")
                   if "\n[penalties]" in p.read_text())


@cache
def _registry():
    return build_registry()


@cache
def _whole(name: str):
    return evaluate(load_contract(ROOT / "contracts" / name, _registry()), _registry())


@cache
def _part(name: str, first: str, last: str):
    """The evaluation of the periods ``first``..``last`` only (the window cut to them)."""
    contract = load_contract(ROOT / "contracts" / name, _registry())
    start, end = period_span(first, contract.period)[0], period_span(last, contract.period)[1]
    if first == last:
        return evaluate(narrowed_to(contract, first), _registry())
    return evaluate(replace(contract, window=(start, end)), _registry())


def _split(periods: list[str], cuts: set[int]) -> list[tuple[str, str]]:
    edges = [0, *sorted(cuts), len(periods)]
    return [(periods[a], periods[b - 1]) for a, b in pairwise(edges) if a < b]


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_runs_appending_to_a_ledger_equal_one_run_over_all_periods(tmp_path_factory,
                                                                   data) -> None:
    assert PENALISED, "the example contracts with penalties"
    name = data.draw(st.sampled_from(PENALISED), label="contract")
    whole = _whole(name)
    periods = whole.periods
    # Runs of consecutive periods: month by month (every cut), or some months together.
    cuts = data.draw(st.sets(st.integers(1, len(periods) - 1)), label="cuts")
    ledger = tmp_path_factory.mktemp("ledger") / "ledger.db"
    model = _registry().penalty_models[whole.contract.penalties["model"]]
    last = None
    for first, final in _split(periods, cuts):
        part = _part(name, first, final)
        part = replace(part)  # credits are assessed again on a copy
        assess_with_history(part, model, ledger)
        append_evaluation(ledger, part)
        own = {v.period for v in part.verdicts}
        assert own == {p for p in periods if first <= p <= final}
        # The one difference: a segment of a ``by`` level with no record in a run's periods
        # (seen only in other periods) has no verdict there, where the run over every period
        # gives it an empty insufficient_data one.
        seen = {(v.service_level, tuple(v.segment.items())) for v in part.verdicts}
        expected = [v for v in whole.verdicts if v.period in own and (
            v.sample_size or v.unmeasured or (v.service_level, tuple(v.segment.items())) in seen)]
        assert expected == part.verdicts
        for period in own:
            assert part.credits.period(period) == whole.credits.period(period), period
        last = part
    assert last is not None
    assert last.credits.flags == whole.credits.flags
    years = {y.year for y in last.credits.years}
    assert last.credits.years == [y for y in whole.credits.years if y.year in years]
    assert last.credits.exclusions == whole.credits.exclusions
