"""Service credits, worked by hand: every expected amount has its arithmetic beside it.

Verdicts are built directly (no data files), on a contract made in code, so each test says
exactly which service level did what in which period.
"""

from __future__ import annotations

import functools
import re
import shutil
import tomllib
from dataclasses import replace
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any, ClassVar

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from slaengine.cli import main
from slaengine.contract import Contract, ServiceLevel, load_contract
from slaengine.credits import rules as credit_rules
from slaengine.credits import schema as credit_schema
from slaengine.credits.ledger import CreditSchedule
from slaengine.credits.outcomes import outcomes
from slaengine.credits.schedule import assess_credits
from slaengine.credits.schema import (
    PENALTY_COMMON_SCHEMA,
    money_problems,
    penalty_schema,
    per_status,
)
from slaengine.credits.terms import terms_of
from slaengine.errors import ContractError, SlaError
from slaengine.pluginmanager import build_registry
from slaengine.present import format_schedule, schedule_to_dict
from slaengine.schema import validate
from slaengine.targets import parse_target
from slaengine.verdicts import Evaluation, Verdict
from slaengine.years import YearStart, placing_day


def assess(evaluation: Evaluation, model: Any, table: dict[str, Any]) -> CreditSchedule:
    """The credits of ``evaluation`` under the ``[penalties]`` ``table``, its terms parsed as a
    contract's are when it is read (a problem of the terms is a ContractError there)."""
    return assess_credits(evaluation, model, terms_of(evaluation.contract, model, table))


D = Decimal
ROOT = Path(__file__).parent.parent
DATA = ROOT / "tests" / "data"
SMALL = (DATA / "small.toml").read_text()
README = (ROOT / "README.md").read_text()
MONTHS = [f"2026-{m:02d}" for m in range(1, 13)]


@functools.cache
def registry():
    return build_registry()


@pytest.fixture(scope="module")
def models():
    return registry().penalty_models


def make_contract(levels: dict[str, tuple[str, str | None]], *, fee: str | None = "180000.00",
                  currency: str = "USD", period: str = "month") -> Contract:
    """A contract with the given service levels: id -> (target, minimum)."""
    service_levels = tuple(
        ServiceLevel(id=name, index=i, source="tickets", metric="first_contact_resolution",
                     target=parse_target(target),
                     minimum=parse_target(minimum) if minimum else None)
        for i, (name, (target, minimum)) in enumerate(levels.items())
    )
    return Contract(path=None, text="", id="c", client="Client", vendor="Vendor",
                    currency=currency, period=period, timezone="UTC", sources={},
                    service_levels=service_levels,
                    monthly_fee=Decimal(fee) if fee is not None else None)


def verdict(level: str, period: str, status: str, *, compliance: float | None = None,
            value: float | None = None, target: str = ">= 80%", minimum: str | None = None,
            statistic: str = "share", unit: str = "rate",
            segment: dict[str, str] | None = None) -> Verdict:
    if compliance is None and status != "insufficient_data":
        compliance = 1.0 if status == "met" else 0.5
    return Verdict(service_level=level, metric="m", period=period, segment=segment or {},
                   statistic=statistic, value=value, unit=unit, target=target, minimum=minimum,
                   status=status, compliance=compliance, margin=None, sample_size=100,
                   unmeasured=0, excluded=0)


def evaluation(contract: Contract, verdicts: list[Verdict]) -> Evaluation:
    return Evaluation(contract=contract, verdicts=verdicts, sources={}, levels={}, manifest={})


def amounts(schedule: CreditSchedule, period: str) -> list[tuple[str | None, str, Decimal]]:
    return [(line.service_level, line.rule, line.amount)
            for line in schedule.period(period).lines]


def totals(schedule: CreditSchedule, period: str) -> tuple[Decimal, ...]:
    p = schedule.period(period)
    return p.before_caps, p.capped, p.after_caps, p.earned_back, p.bonus_total, p.net


# --------------------------------------------------------------------------- at-risk pool, a year

POOL_LEVELS = {
    "urgent": (">= 85%", ">= 60%"),       # has a minimum: only critical costs
    "resolution": (">= 90%", None),       # no minimum: breached costs
    "fcr": (">= 80%", ">= 70%"),          # has a minimum
    "csat": (">= 75%", None),             # no allocation: never costs
}
POOL = {
    "model": "at-risk-pool",
    "at_risk": "12%",
    "allocations": {"urgent": "50%", "resolution": "40%", "fcr": "60%"},  # 150%
    "earn_back_periods": 3,
    "chronic": {"breaches": 3, "within": 6, "multiplier": "1.5", "note": "termination right"},
    "cap_per_year": "60000.00",
}


def year_of_verdicts() -> list[Verdict]:
    failures = {
        ("urgent", "2026-01"): "critical", ("urgent", "2026-03"): "critical",
        ("fcr", "2026-03"): "critical", ("fcr", "2026-04"): "breached",
        ("fcr", "2026-06"): "critical", ("fcr", "2026-07"): "critical",
        ("resolution", "2026-05"): "breached", ("resolution", "2026-12"): "breached",
        ("csat", "2026-02"): "breached",
    }  # fmt: skip
    return [verdict(level, month, failures.get((level, month), "met"),
                    value=0.5 if (level, month) in failures else 0.95,
                    minimum=POOL_LEVELS[level][1])
            for month in MONTHS for level in POOL_LEVELS]


def test_a_year_through_the_at_risk_pool(models):
    # Pool: 12% × 180000.00 = 21600.00 a month. Credits: urgent 21600 × 50% = 10800.00,
    # resolution × 40% = 8640.00, fcr × 60% = 12960.00.
    contract = make_contract(POOL_LEVELS)
    schedule = assess(evaluation(contract, year_of_verdicts()), models["at-risk-pool"], POOL)
    pool = "at-risk-pool"

    # Jan: urgent critical -> 10800.00. Its earn-back fails: urgent is critical again in Mar.
    assert amounts(schedule, "2026-01") == [("urgent", pool, D("10800.00"))]
    # Feb: csat breached but has no allocation -> nothing.
    assert totals(schedule, "2026-02") == (0, 0, 0, 0, 0, 0)
    # Mar: urgent 10800 + fcr 12960 = 23760 > pool 21600 -> capped by 2160.00.
    assert amounts(schedule, "2026-03") == [
        ("urgent", pool, D("10800.00")), ("fcr", pool, D("12960.00")),
        (None, pool, D("-2160.00"))]
    assert totals(schedule, "2026-03")[:3] == (D("23760.00"), D("2160.00"), D("21600.00"))
    # Apr: fcr breached but above its minimum (70%): with trigger = minimum it costs nothing.
    assert schedule.period("2026-04").lines == []
    # May: resolution breached, no minimum -> 8640.00.
    assert amounts(schedule, "2026-05") == [("resolution", pool, D("8640.00"))]
    # Jun: fcr critical 12960.00. Year so far 10800 + 21600 + 8640 + 12960 = 54000 <= 60000.
    # urgent met Apr, May, Jun -> its Mar credit is earned back here, pro rata: Mar kept
    # 21600 of its 23760 of credits, so urgent returns 10800 × 21600 ÷ 23760 = 9818.1818...
    # (fcr's share 12960 × 21600 ÷ 23760 = 11781.8181...: floors 9818.18 + 11781.81 =
    # 21599.99, the cent left goes to the larger remainder, fcr's .81 -> 11781.82; together
    # 21600.00). net 12960 - 9818.18 = 3141.82.
    assert amounts(schedule, "2026-06") == [
        ("fcr", pool, D("12960.00")), ("urgent", "earn-back", D("-9818.18"))]
    assert totals(schedule, "2026-06") == (D("12960.00"), 0, D("12960.00"), D("9818.18"), 0,
                                           D("3141.82"))
    assert ("share pro rata: 2026-03 kept 21600.00 of its 23760.00 of credits after caps, so "
            "10800.00 × 21600.00 ÷ 23760.00 = 9818.18 (rounded so that 2026-03's shares add up "
            "to 21600.00)") in schedule.period("2026-06").lines[1].note
    # Jul: fcr critical, its 3rd credit-bearing failure in 6 periods (Mar, Jun, Jul; Apr's breach
    # cost nothing) -> chronic: 12960 × 1.5 = 19440, i.e. 12960 × 0.5 = 6480.00 more.
    # Yearly cap: 54000 + 19440 = 73440 - 60000 = 13440.00 over -> 6000.00 charged.
    assert amounts(schedule, "2026-07") == [
        ("fcr", pool, D("12960.00")), ("fcr", "chronic", D("6480.00")),
        (None, "cap-per-year", D("-13440.00"))]
    assert totals(schedule, "2026-07")[:3] == (D("19440.00"), D("13440.00"), D("6000.00"))
    # Aug: resolution met Jun, Jul, Aug -> May's 8640.00 earned back (May was not capped: all
    # of it); net -8640.00, which the line explains.
    assert amounts(schedule, "2026-08") == [("resolution", "earn-back", D("-8640.00"))]
    assert schedule.period("2026-08").net == D("-8640.00")
    [line] = schedule.period("2026-08").lines
    assert "share: all of it (2026-05 was not capped)" in line.note
    assert ("2026-08's credits stand at -8640.00 after it: below zero only because this "
            "returns credit charged in 2026-05") in line.note
    # Oct: fcr met Aug, Sep, Oct -> Jul's credit (19440.00) returned, but only its share of the
    # 6000.00 that was charged after the yearly cap: 19440 × 6000 ÷ 19440 = 6000.00.
    [line] = schedule.period("2026-10").lines
    assert (line.rule, line.amount) == ("earn-back", D("-6000.00"))
    assert "19440.00 × 6000.00 ÷ 19440.00 = 6000.00" in line.note
    # Dec: resolution breached 8640.00; the year is at its cap (60000) -> all of it cut.
    assert totals(schedule, "2026-12")[:3] == (D("8640.00"), D("8640.00"), 0)

    # Year: before caps 10800 + 23760 + 8640 + 12960 + 19440 + 8640 = 84240.00;
    # capped 2160 + 13440 + 8640 = 24240.00; after caps 84240 - 24240 = 60000.00 (the cap);
    # earned back 9818.18 + 8640 + 6000 = 24458.18; net 60000 - 24458.18 = 35541.82.
    [year] = schedule.years
    assert (year.before_caps, year.capped, year.after_caps, year.earned_back, year.net) == (
        D("84240.00"), D("24240.00"), D("60000.00"), D("24458.18"), D("35541.82"))
    assert sum(p.net for p in schedule.periods) == year.net

    flags = {(f.kind, f.service_level): f for f in schedule.flags}
    chronic = flags[("chronic-failure", "fcr")]
    assert chronic.periods == ("2026-03", "2026-06", "2026-07")
    assert "from 2026-07" in chronic.note and "termination right" in chronic.note
    # Dec's resolution credit waits for Jan-Mar 2027.
    pending = flags[("earn-back-pending", "resolution")]
    assert pending.periods == ("2026-12",)
    assert set(flags) == {("chronic-failure", "fcr"), ("earn-back-pending", "resolution")}


def test_every_line_reconciles_in_the_json(models):
    contract = make_contract(POOL_LEVELS)
    schedule = assess(evaluation(contract, year_of_verdicts()), models["at-risk-pool"], POOL)
    data = schedule_to_dict(schedule)
    assert set(data) == {"penalties", "credits", "bonuses", "credit_totals", "credit_years",
                         "flags", "credit_exclusions"}
    assert data["penalties"] == {"model": "at-risk-pool", "currency": "USD",
                                 "rounding": "half-up to 0.01", "year_start": "01-01",
                                 "earn_back_order": "pro-rata"}
    assert data["credits"][0] == {
        "period": "2026-01", "service_level": "urgent", "amount": "10800.00",
        "currency": "USD", "rule": "at-risk-pool",
        "note": "urgent critical in 2026-01: 50.0% against target >= 80% (minimum >= 60%); "
                "below the minimum: at risk 12% of 180000.00 = 21600.00 × allocation 50% "
                "= 10800.00"}
    # Per period, the signed lines add up to after_caps - earned_back, and net subtracts bonuses.
    for row in data["credit_totals"]:
        lines = sum(D(c["amount"]) for c in data["credits"] if c["period"] == row["period"])
        assert lines == D(row["after_caps"]) - D(row["earned_back"])
        assert D(row["net"]) == lines - D(row["bonuses"])
        assert D(row["before_caps"]) - D(row["capped"]) == D(row["after_caps"])
    assert data["credit_years"][0] == {
        "year": "2026", "before_caps": "84240.00", "capped": "24240.00", "after_caps": "60000.00",
        "earned_back": "24458.18", "bonuses": "0.00", "net": "35541.82"}
    assert "termination right" in format_schedule(schedule)


# --------------------------------------------------------------------------- allocations > 100%


def test_allocations_above_the_pool_are_capped_at_the_at_risk_amount(models):
    contract = make_contract(POOL_LEVELS)
    verdicts = [verdict("urgent", "2026-01", "critical", minimum=">= 60%"),
                verdict("resolution", "2026-01", "breached"),
                verdict("fcr", "2026-01", "critical", minimum=">= 70%")]
    schedule = assess(evaluation(contract, verdicts), models["at-risk-pool"], POOL)
    # 10800 + 8640 + 12960 = 32400.00 (150% of 21600) -> capped at 21600.00: -10800.00.
    assert amounts(schedule, "2026-01")[-1] == (None, "at-risk-pool", D("-10800.00"))
    assert totals(schedule, "2026-01")[:3] == (D("32400.00"), D("10800.00"), D("21600.00"))
    cap = schedule.period("2026-01").lines[-1]
    assert cap.note == ("at-risk pool 12% of 180000.00 = 21600.00: 32400.00 capped at "
                        "21600.00")


def test_trigger_target_charges_a_breach_above_the_minimum(models):
    contract = make_contract(POOL_LEVELS)
    verdicts = [verdict("fcr", "2026-04", "breached", minimum=">= 70%")]
    options = {**POOL, "trigger": "target"}
    schedule = assess(evaluation(contract, verdicts), models["at-risk-pool"], options)
    # trigger = target: a breach of the target costs: 21600 × 60% = 12960.00.
    assert amounts(schedule, "2026-04") == [("fcr", "at-risk-pool", D("12960.00"))]
    # Default trigger (minimum): the same verdict costs nothing.
    schedule = assess(evaluation(contract, verdicts), models["at-risk-pool"], POOL)
    assert amounts(schedule, "2026-04") == []


def test_contract_cap_per_period_after_the_pool(models):
    contract = make_contract(POOL_LEVELS)
    verdicts = [verdict("urgent", "2026-01", "critical", minimum=">= 60%"),
                verdict("fcr", "2026-01", "critical", minimum=">= 70%")]
    options = {**POOL, "cap_per_period": "10%"}
    schedule = assess(evaluation(contract, verdicts), models["at-risk-pool"], options)
    # 10800 + 12960 = 23760 -> pool cap 21600 (-2160) -> cap_per_period 10% × 180000 = 18000
    # (-3600).
    assert [a for _, _, a in amounts(schedule, "2026-01")][-2:] == [D("-2160.00"), D("-3600.00")]
    assert totals(schedule, "2026-01")[:3] == (D("23760.00"), D("5760.00"), D("18000.00"))


# --------------------------------------------------------------------------- tiered


BANDS = {
    "model": "tiered",
    "bands": [{"from": "95%", "to": "99%", "credit": "2%"},
              {"from": "90%", "to": "95%", "credit": "5%"},
              {"below": "90%", "credit": "10%"}],
}


@pytest.mark.parametrize(("compliance", "expected"), [
    (0.99, None),          # 99% is the upper edge of the top band: not in it -> no credit
    (0.9899, "200.00"),    # 95% <= 98.99% < 99% -> 2% × 10000.00 = 200.00
    (0.95, "200.00"),      # exactly 95%: a band owns its lower edge -> 2%, not 5%
    (0.9499, "500.00"),    # 90% <= 94.99% < 95% -> 5% × 10000.00 = 500.00
    (0.9, "500.00"),       # exactly 90% -> 5%
    (0.8999, "1000.00"),   # below 90% -> 10% × 10000.00 = 1000.00
    (0.0, "1000.00"),
])
def test_tiered_band_boundaries(models, compliance, expected):
    contract = make_contract({"fcr": (">= 80%", None)}, fee="10000.00")
    verdicts = [verdict("fcr", "2026-03", "breached", compliance=compliance)]
    schedule = assess(evaluation(contract, verdicts), models["tiered"], BANDS)
    lines = schedule.period("2026-03").lines
    assert [str(line.amount) for line in lines] == ([expected] if expected else [])


def test_tiered_compliance_from_a_float_ratio_lands_on_the_edge(models):
    # FCR 76% against >= 80%: 0.76 / 0.8 prints as 0.95 -> read as exactly 95% -> 2% = 200.00.
    contract = make_contract({"fcr": (">= 80%", None)}, fee="10000.00")
    verdicts = [verdict("fcr", "2026-03", "breached", compliance=0.76 / 0.8, value=0.76)]
    schedule = assess(evaluation(contract, verdicts), models["tiered"], BANDS)
    [line] = schedule.period("2026-03").lines
    assert line.amount == D("200.00")
    assert "compliance 95% is in the band 95% up to (not including) 99%: 2% of 10000.00" in (
        line.note)


def test_tiered_ignores_met_and_insufficient_data_and_unlisted_levels(models):
    contract = make_contract({"fcr": (">= 80%", None), "csat": (">= 75%", None)},
                             fee="10000.00")
    verdicts = [verdict("fcr", "2026-03", "met"),
                verdict("fcr", "2026-04", "insufficient_data"),
                verdict("csat", "2026-03", "breached", compliance=0.5)]
    options = {**BANDS, "service_levels": ["fcr"]}
    schedule = assess(evaluation(contract, verdicts), models["tiered"], options)
    assert schedule.credits == []


def test_tiered_bands_must_not_overlap():
    schema = penalty_schema(registry().penalty_models["tiered"])
    table = {"model": "tiered", "bands": [{"from": "90%", "to": "96%", "credit": "2%"},
                                          {"from": "95%", "to": "99%", "credit": "1%"}]}
    _, problems = validate(table, schema, ("penalties",))
    assert [(p[0], p[1]) for p in problems] == [
        (("penalties", "bands"),
         "bands 90% up to (not including) 96% and 95% up to (not including) 99% overlap")]


# --------------------------------------------------------------------------- exclusions


def test_exclusions_waive_the_credit_and_say_why(models):
    contract = make_contract(POOL_LEVELS)
    verdicts = [
        verdict("urgent", "2026-02", "critical", minimum=">= 60%"),
        verdict("fcr", "2026-02", "critical", minimum=">= 70%"),
        verdict("urgent", "2026-03", "critical", minimum=">= 60%"),
        verdict("fcr", "2026-03", "critical", minimum=">= 70%"),
        verdict("fcr", "2026-04", "critical", minimum=">= 70%"),
    ]
    options = {
        **POOL,
        "exclusions": [
            {"period": "2026-02", "reason": "force majeure: regional power outage"},
            {"period": "2026-03", "service_level": "urgent",
             "reason": "outage caused by the client's telephony change"},
            {"period": "2027-01", "reason": "agreed maintenance window"},
        ],
    }
    schedule = assess(evaluation(contract, verdicts), models["at-risk-pool"], options)
    # Feb, the whole period excluded: urgent 10800.00 and fcr 12960.00 shown, then waived.
    assert amounts(schedule, "2026-02") == [
        ("urgent", "at-risk-pool", D("10800.00")),
        ("urgent", "exclusion", D("-10800.00")),
        ("fcr", "at-risk-pool", D("12960.00")),
        ("fcr", "exclusion", D("-12960.00"))]
    assert schedule.period("2026-02").lines[1].note == (
        "10800.00 not charged: force majeure: regional power outage")
    assert schedule.period("2026-02").net == 0
    # Mar: only urgent excluded; fcr 12960.00 charged.
    assert schedule.period("2026-03").after_caps == D("12960.00")
    # Chronic needs 3 failures in 6 periods: Feb's excluded fcr failure does not count, so
    # Mar, Apr = 2 -> no flag, no multiplier.
    assert amounts(schedule, "2026-04") == [("fcr", "at-risk-pool", D("12960.00"))]
    waived = [(e.period, e.service_level, e.waived) for e in schedule.exclusions]
    # Feb: 10800 + 12960 = 23760.00 waived; Mar: 10800.00; 2027-01 matches nothing.
    assert waived == [("2026-02", None, D("23760.00")), ("2026-03", "urgent", D("10800.00")),
                      ("2027-01", None, D("0"))]
    assert [(f.kind, f.periods) for f in schedule.flags if f.kind != "earn-back-pending"] == [
        ("exclusion-unused", ("2027-01",))]


def test_an_excluded_period_is_skipped_by_the_earn_back_window(models):
    contract = make_contract({"fcr": (">= 80%", None)}, fee="10000.00")
    statuses = ["breached", "met", "critical", "met"]  # Jan fails; Mar excluded
    verdicts = [verdict("fcr", m, s) for m, s in zip(MONTHS, statuses, strict=False)]
    options = {"model": "fixed", "amount": "500.00", "earn_back_periods": 2,
               "exclusions": [{"period": "2026-03", "reason": "client-caused outage"}]}
    schedule = assess(evaluation(contract, verdicts), models["fixed"], options)
    # Jan 500.00; window of 2 = Feb (met), Mar skipped (excluded), Apr (met) -> earned in Apr.
    assert amounts(schedule, "2026-04") == [("fcr", "earn-back", D("-500.00"))]
    # Mar's critical credit (critical_amount defaults to amount: 500.00) is waived.
    assert amounts(schedule, "2026-03") == [("fcr", "fixed", D("500.00")),
                                            ("fcr", "exclusion", D("-500.00"))]


# --------------------------------------------------------------------------- rounding


@pytest.mark.parametrize(("mode", "expected"), [
    ("half-up", ["12.35", "12.36"]),    # 12.345 -> 12.35; 12.355 -> 12.36
    ("half-even", ["12.34", "12.36"]),  # 12.345 -> 12.34 (4 is even); 12.355 -> 12.36
    ("down", ["12.34", "12.35"]),       # truncated
])
def test_rounding_of_a_half_cent(models, mode, expected):
    # Fee 1234.50: 1% = 12.345; fee 1235.50: 1% = 12.355.
    results = []
    for fee in ("1234.50", "1235.50"):
        contract = make_contract({"fcr": (">= 80%", None)}, fee=fee)
        options = {"model": "percent-of-fee", "credits": {"fcr": "1%"}, "rounding": mode}
        schedule = assess(evaluation(contract, [verdict("fcr", "2026-01", "breached")]),
                          models["percent-of-fee"], options)
        [line] = schedule.credits
        results.append(str(line.amount))
        assert schedule.rounding.describe() == f"{mode} to 0.01"
    assert results == expected


def test_rounding_follows_the_currency_minor_unit(models):
    # JPY has no minor unit: 1% of 123457 = 1234.57 -> 1235 (half-up to 1).
    contract = make_contract({"fcr": (">= 80%", None)}, fee="123457", currency="JPY")
    options = {"model": "percent-of-fee", "credits": {"fcr": "1%"}}
    schedule = assess(evaluation(contract, [verdict("fcr", "2026-01", "breached")]),
                      models["percent-of-fee"], options)
    assert schedule.credits[0].amount == D("1235")
    assert schedule.credits[0].currency == "JPY"


def test_percent_of_fee_per_status_and_quarterly_fee(models):
    contract = make_contract({"fcr": (">= 80%", ">= 70%"), "csat": (">= 75%", None)},
                             fee="10000.00", period="quarter")
    verdicts = [verdict("fcr", "2026-Q1", "critical", minimum=">= 70%"),
                verdict("csat", "2026-Q1", "breached"),
                verdict("fcr", "2026-Q2", "breached", minimum=">= 70%")]
    options = {"model": "percent-of-fee",
               "credits": {"fcr": {"breached": "2%", "critical": "4%"}}}
    schedule = assess(evaluation(contract, verdicts), models["percent-of-fee"], options)
    # Quarterly fee 3 × 10000.00 = 30000.00. Q1 fcr critical 4% = 1200.00 (csat: no credit
    # listed); Q2 fcr breached 2% = 600.00.
    assert [(line.period, line.amount) for line in schedule.credits] == [
        ("2026-Q1", D("1200.00")), ("2026-Q2", D("600.00"))]
    assert "4% of the quarterly fee (3 × 10000.00) = 1200.00" in schedule.credits[0].note


# --------------------------------------------------------------------------- fixed, segments


def test_fixed_amounts_per_level_and_critical(models):
    contract = make_contract({"fcr": (">= 80%", ">= 70%"), "csat": (">= 75%", None),
                              "aht": ("mean <= 15min", None)}, fee=None)
    verdicts = [verdict("fcr", "2026-01", "critical", minimum=">= 70%"),
                verdict("csat", "2026-01", "breached"),
                verdict("aht", "2026-01", "breached")]
    options = {"model": "fixed", "amount": "500.00", "critical_amount": "1000.00",
               "amounts": {"fcr": {"breached": "750.00", "critical": "1500.00"},
                           "csat": "250.00"}}
    schedule = assess(evaluation(contract, verdicts), models["fixed"], options)
    # fcr critical: its own 1500.00; csat: its own 250.00; aht: the default 500.00.
    assert [(line.service_level, line.amount) for line in schedule.credits] == [
        ("fcr", D("1500.00")), ("csat", D("250.00")), ("aht", D("500.00"))]
    assert schedule.period("2026-01").net == D("2250.00")  # 1500 + 250 + 500


def test_a_segmented_level_costs_once_at_its_worst_segment(models):
    contract = make_contract({"first-response": ("p90 <= 24h", "p90 <= 48h")}, fee=None)
    verdicts = [
        verdict("first-response", "2026-01", "met", segment={"priority": "high"},
                target="p90 <= 24h", minimum="p90 <= 48h", statistic="p90", unit="duration"),
        verdict("first-response", "2026-01", "breached", segment={"priority": "low"},
                value=30 * 3600.0, target="p90 <= 24h", minimum="p90 <= 48h",
                statistic="p90", unit="duration"),
        verdict("first-response", "2026-01", "critical", segment={"priority": "normal"},
                value=50 * 3600.0, target="p90 <= 24h", minimum="p90 <= 48h",
                statistic="p90", unit="duration"),
    ]
    [outcome] = outcomes(evaluation(contract, verdicts))
    assert outcome.status == "critical"
    options = {"model": "fixed", "amount": "500.00", "critical_amount": "900.00"}
    schedule = assess(evaluation(contract, verdicts), models["fixed"], options)
    [line] = schedule.credits
    assert line.amount == D("900.00")
    # The note names the segment that set the status (normal: p90 50h), not the others.
    assert line.note.startswith("first-response critical in 2026-01: priority=normal: ")
    assert "priority=low" not in line.note


# --------------------------------------------------------------------------- bonuses


def test_bonus_for_a_stretch_target_is_shown_apart(models):
    contract = make_contract({"fcr": (">= 80%", ">= 70%")}, fee="10000.00")
    verdicts = [verdict("fcr", "2026-01", "met", value=0.92, minimum=">= 70%"),
                verdict("fcr", "2026-02", "met", value=0.8999, minimum=">= 70%"),
                verdict("fcr", "2026-03", "critical", value=0.6, minimum=">= 70%")]
    options = {"model": "fixed", "amount": "500.00",
               "bonuses": [{"service_level": "fcr", "stretch": ">= 90%", "amount": "1000.00"},
                           {"service_level": "fcr", "stretch": ">= 91%", "amount": "1%"}]}
    schedule = assess(evaluation(contract, verdicts), models["fixed"], options)
    jan = schedule.period("2026-01")
    # 92% >= 90% -> 1000.00; 92% >= 91% -> 1% × 10000.00 = 100.00; no credits:
    # net 0 - 0 - (1000 + 100) = -1100.00 (the client owes the vendor).
    assert [(b.rule, b.amount) for b in jan.bonuses] == [("bonus", D("1000.00")),
                                                         ("bonus", D("100.00"))]
    assert jan.lines == []
    assert (jan.bonus_total, jan.net) == (D("1100.00"), D("-1100.00"))
    assert jan.bonuses[0].note == ("fcr 92.0% meets the stretch target >= 90% in 2026-01: "
                                   "bonus 1000.00")
    # Feb: 89.99% misses both stretch targets.
    assert schedule.period("2026-02").bonuses == []
    # Mar: a credit of 500.00 and no bonus: net 500.00.
    assert schedule.period("2026-03").net == D("500.00")
    data = schedule_to_dict(schedule)
    assert [b["amount"] for b in data["bonuses"]] == ["1000.00", "100.00"]
    assert data["credits"] == [c for c in data["credits"] if c["rule"] != "bonus"]


def test_a_stretch_in_another_statistic_is_refused(models):
    contract = make_contract({"fcr": (">= 80%", None)}, fee="10000.00")
    verdicts = [verdict("fcr", "2026-01", "met", value=0.92)]
    options = {"model": "fixed", "amount": "500.00",
               "bonuses": [{"service_level": "fcr", "stretch": "p90 <= 4h", "amount": "10.00"}]}
    with pytest.raises(ContractError, match=r"penalties\.bonuses\[0\]\.stretch"):
        assess(evaluation(contract, verdicts), models["fixed"], options)


# --------------------------------------------------------------------------- checking the keys


def test_the_plugins_load_through_entry_points():
    registry = build_registry()
    assert {"fixed", "percent-of-fee", "tiered", "at-risk-pool"} <= set(
        registry.names("penalty model"))
    assert registry.origin("penalty model", "at-risk-pool").plugin == "penalty-at-risk-pool"


def test_a_typo_in_a_common_key_gets_did_you_mean(models):
    schema = penalty_schema(models["at-risk-pool"])
    assert set(PENALTY_COMMON_SCHEMA) <= set(schema)
    table = {"model": "at-risk-pool", "at_risk": "12%", "allocations": {"fcr": "60%"},
             "earn_back_period": 3, "chronic": {"breaches": 3, "withn": 6}}
    _, problems = validate(table, schema, ("penalties",))
    found = {p[0]: (p[1], p[2]) for p in problems}
    assert found[("penalties", "earn_back_period")] == ("unknown key", "earn_back_periods")
    assert found[("penalties", "chronic", "withn")] == ("unknown key", "within")


def test_amounts_must_be_strings(models):
    schema = penalty_schema(models["at-risk-pool"])
    table = {"model": "at-risk-pool", "at_risk": 12, "allocations": {"fcr": "60%"},
             "cap_per_year": "lots"}
    _, problems = validate(table, schema, ("penalties",))
    paths = {p[0] for p in problems}
    assert paths == {("penalties", "at_risk"), ("penalties", "cap_per_year")}


def test_an_unknown_service_level_in_penalties_is_named(models):
    contract = make_contract(POOL_LEVELS)
    options = {**POOL, "allocations": {"fcrr": "60%"}}
    with pytest.raises(ContractError) as info:
        assess(evaluation(contract, []), models["at-risk-pool"], options)
    assert 'penalties.allocations.fcrr: no service level called "fcrr"' in info.value.render()
    assert 'did you mean "fcr"?' in info.value.render()


def test_a_share_of_the_fee_needs_a_fee(models):
    contract = make_contract(POOL_LEVELS, fee=None)
    verdicts = [verdict("resolution", "2026-01", "breached")]
    with pytest.raises(SlaError, match="monthly_fee"):
        assess(evaluation(contract, verdicts), models["at-risk-pool"], POOL)


def test_the_example_contract_penalties_are_sound(models):
    import tomllib

    path = Path(__file__).parent.parent / "contracts" / "isp-helpdesk.toml"
    table = tomllib.loads(path.read_text())["penalties"]
    _, problems = validate(table, penalty_schema(models[table["model"]]), ("penalties",))
    assert problems == []


# --------------------------------------------------------------------------- fees and caps

PERIOD_LABELS = {
    "week": [f"2026-W{w:02d}" for w in range(1, 54)],  # 2026 has 53 ISO weeks
    "month": MONTHS,
    "quarter": [f"2026-Q{q}" for q in range(1, 5)],
    "year": ["2026"],
}


def fixed_year(period: str, fee: str, amount: str, n: int, **options: object) -> CreditSchedule:
    """``n`` periods of one contract year, each with one failure costing ``amount``."""
    contract = make_contract({"fcr": (">= 80%", None)}, fee=fee, period=period)
    verdicts = [verdict("fcr", label, "breached") for label in PERIOD_LABELS[period][:n]]
    table = {"model": "fixed", "amount": amount, **options}
    return assess(evaluation(contract, verdicts), registry().penalty_models["fixed"],
                  table)


@pytest.mark.parametrize("period", list(PERIOD_LABELS))
def test_the_yearly_cap_is_a_share_of_twelve_monthly_fees_whatever_the_period(period):
    # 3% × 12 × 180000.00 = 64800.00 for every period. Twelve quarterly fees would give
    # 3% × 12 × 540000.00 = 194400.00, three times too high; twelve yearly fees 777600.00.
    n = len(PERIOD_LABELS[period])
    schedule = fixed_year(period, "180000.00", "100000.00", n, cap_per_year="3%")
    [year] = schedule.years
    assert year.after_caps == D("64800.00")
    cap = next(line for line in schedule.credits if line.rule == "cap-per-year")
    assert cap.note.startswith("cap per year 3% of the yearly fee (12 × monthly fee 180000.00 = "
                               "2160000.00) = 64800.00: 2026 charged ")


@given(period=st.sampled_from(list(PERIOD_LABELS)),
       cents=st.integers(min_value=1, max_value=10**11),
       basis_points=st.integers(min_value=1, max_value=10_000),
       data=st.data())
@settings(max_examples=200, deadline=None)
def test_yearly_caps_equal_twelve_monthly_fees_times_the_share(period, cents, basis_points,
                                                               data):
    fee = D(cents) / 100
    share = D(basis_points) / 100  # a percentage with up to two decimals
    n = data.draw(st.integers(min_value=1, max_value=len(PERIOD_LABELS[period])))
    amount = str(D(data.draw(st.integers(min_value=1, max_value=10**11))).scaleb(-2))
    schedule = fixed_year(period, f"{fee:.2f}", amount, n, cap_per_year=f"{share}%")
    limit = (fee * 12 * share / 100).quantize(D("0.01"), rounding=ROUND_HALF_UP)
    [year] = schedule.years
    assert year.after_caps == min(D(amount) * n, limit)
    assert year.before_caps == D(amount) * n


@pytest.mark.parametrize(("period", "expected"), [
    # cap_per_period 10% of the period's fee, monthly fee 10000.00:
    ("week", "230.77"),     # 10% × 10000 × 12 ÷ 52 = 230.769... -> 230.77
    ("month", "1000.00"),   # 10% × 10000
    ("quarter", "3000.00"),  # 10% × 3 × 10000
    ("year", "12000.00"),   # 10% × 12 × 10000
])
def test_the_cap_per_period_is_a_share_of_that_periods_fee(period, expected):
    schedule = fixed_year(period, "10000.00", "50000.00", 1, cap_per_period="10%")
    assert schedule.periods[0].after_caps == D(expected)


# --------------------------------------------------------------------------- contract years


@pytest.mark.parametrize(("year_start", "period", "label", "expected"), [
    ("01-01", "month", "2026-01", "2026"),       # the default: calendar years, as before
    ("01-01", "week", "2026-W01", "2026"),       # Monday 2025-12-29, Thursday 2026-01-01
    ("01-01", "week", "2026-W53", "2026"),       # Monday 2026-12-28, Thursday 2026-12-31
    ("01-01", "week", "2020-W53", "2020"),       # Thursday 2020-12-31, Sunday 2021-01-03
    ("01-01", "week", "2021-W01", "2021"),       # Monday 2021-01-04
    ("04-01", "month", "2026-03", "2025/26"),
    ("04-01", "month", "2026-04", "2026/27"),
    ("04-01", "quarter", "2026-Q1", "2025/26"),
    ("04-01", "quarter", "2026-Q2", "2026/27"),
    ("02-01", "quarter", "2026-Q1", "2025/26"),  # Jan-Mar starts before Feb 1st
    ("02-01", "quarter", "2026-Q2", "2026/27"),
    ("04-01", "year", "2026", "2025/26"),        # a calendar year starts on January 1st
    ("04-01", "week", "2026-W14", "2026/27"),    # Mon 2026-03-30, Thu 2026-04-02
    ("04-01", "week", "2026-W13", "2025/26"),    # Mon 2026-03-23, Thu 2026-03-26
    ("04-03", "week", "2026-W14", "2025/26"),    # Thu 2026-04-02 is before April 3rd
    ("12-31", "month", "2026-12", "2025/26"),    # Dec 1st is before Dec 31st
    ("03-01", "month", "1999-12", "1999/00"),
])
def test_a_period_belongs_to_the_contract_year_it_starts_in(year_start, period, label,
                                                            expected):
    assert YearStart.parse(year_start).of_period(label, period) == expected


@pytest.mark.parametrize(("label", "period"), [
    ("2021-W53", "week"), ("2026-W00", "week"), ("2026-13", "month"), ("2026-00", "month"),
    ("2026-Q5", "quarter"), ("2026-03", "quarter"), ("26", "year"), ("2026-Q1", "month"),
])
def test_a_label_that_is_not_the_periods_is_not_placed(label, period):
    with pytest.raises(ValueError, match="is not the label of a"):
        placing_day(label, period)


@pytest.mark.parametrize("text", [
    "02-29",  # not a day of every year
    "02-30", "04-31", "13-01", "00-10", "04-00", "4-1", "04-1", "4-01", "0401", "04/01",
    "04.01", "--04-01", "04-01 ", " 04-01", "04-01\n", "", "2026-04-01", "04-01-2026",
    "０４-01", "04-٠١", "April 1",
])
def test_year_start_is_checked_strictly(tmp_path, text):
    message = refused_contract(tmp_path, f'year_start = "{text}"' if text != "04-01\n"
                               else 'year_start = "04-01\\n"')
    assert "contract.year_start" in message
    assert "line 11" in message


@pytest.mark.parametrize("value", ["401", "4.01", "true", "2026-04-01"])
def test_year_start_must_be_a_string(tmp_path, value):
    assert "contract.year_start" in refused_contract(tmp_path, f"year_start = {value}")


@pytest.mark.parametrize("text", ["01-01", "04-01", "02-28", "03-01", "12-31", "07-15"])
def test_a_real_day_is_accepted_as_year_start(tmp_path, text):
    contract = load_contract(small_contract(tmp_path, f'year_start = "{text}"'), registry())
    assert contract.year_start == YearStart.parse(text)
    assert contract.year_start.text == text


def test_the_default_year_start_is_january_first(tmp_path):
    contract = load_contract(small_contract(tmp_path, ""), registry())
    assert contract.year_start.text == "01-01" and contract.year_start.calendar


def test_the_yearly_cap_starts_again_with_the_contract_year(models):
    contract = replace(make_contract({"fcr": (">= 80%", None)}, fee="10000.00"),
                       year_start=YearStart.parse("04-01"))
    verdicts = [verdict("fcr", m, "breached") for m in MONTHS]
    options = {"model": "fixed", "amount": "400.00", "cap_per_year": "1000.00"}
    schedule = assess(evaluation(contract, verdicts), models["fixed"], options)
    # 2025/26 holds Jan-Mar 2026: 3 × 400 = 1200 -> cut to 1000 in Mar (200.00 over).
    # 2026/27 holds Apr-Dec: 400 + 400 + 200 (Jun: 800 + 400 - 1000 = 200 over) then nothing.
    assert [p.after_caps for p in schedule.periods] == [D("400.00"), D("400.00"), D("200.00"),
                                                        D("400.00"), D("400.00"), D("200.00"),
                                                        *[D("0.00")] * 6]
    assert [(y.year, y.before_caps, y.after_caps) for y in schedule.years] == [
        ("2025/26", D("1200.00"), D("1000.00")), ("2026/27", D("3600.00"), D("1000.00"))]
    cut = schedule.period("2026-06").lines[-1]
    assert cut.note == ("cap per year 1000.00: contract year 2026/27 charged 800.00 before this "
                        "period, 800.00 + 400.00 - 1000.00 = 200.00 over")
    data = schedule_to_dict(schedule)
    assert [y["year"] for y in data["credit_years"]] == ["2025/26", "2026/27"]
    assert data["penalties"]["year_start"] == "04-01"
    assert "contract years from 04-01" in format_schedule(schedule)


def test_chronic_within_the_contract_year_starts_again_each_year(models):
    contract = replace(make_contract({"fcr": (">= 80%", None)}, fee="10000.00"),
                       year_start=YearStart.parse("04-01"))
    failed = {"2026-02", "2026-03", "2026-04", "2026-05", "2026-06"}
    verdicts = [verdict("fcr", m, "breached" if m in failed else "met") for m in MONTHS]
    chronic = {"breaches": 3, "within": "year", "multiplier": "2"}
    options = {"model": "fixed", "amount": "100.00", "chronic": chronic}
    schedule = assess(evaluation(contract, verdicts), models["fixed"], options)
    # 2025/26 has Feb, Mar (2 failures); 2026/27 counts Apr, May, Jun: the 3rd is Jun -> 100.00
    # more. A rolling window of 6 would have made Apr (Feb, Mar, Apr) chronic already.
    assert [str(p.after_caps) for p in schedule.periods[1:6]] == [
        "100.00", "100.00", "100.00", "100.00", "200.00"]
    line = schedule.period("2026-06").lines[1]
    assert line.note.startswith("chronic failure: 3 failures of fcr within contract year "
                                "2026/27 (2026-04, 2026-05, 2026-06)")
    rolling = assess(evaluation(contract, verdicts), models["fixed"],
                     {**options, "chronic": {**chronic, "within": 6}})
    assert rolling.period("2026-04").after_caps == D("200.00")


@pytest.mark.parametrize(("period", "breaches", "ok"), [
    ("quarter", 4, True), ("quarter", 5, False), ("month", 12, True), ("month", 13, False),
    ("week", 53, True), ("week", 54, False), ("year", 1, True), ("year", 2, False),
])
def test_chronic_breaches_must_fit_in_a_contract_year(models, period, breaches, ok):
    contract = make_contract({"fcr": (">= 80%", None)}, fee="10000.00", period=period)
    options = {"model": "fixed", "amount": "1.00",
               "chronic": {"breaches": breaches, "within": "year"}}
    if ok:
        assess(evaluation(contract, []), models["fixed"], options)
    else:
        with pytest.raises(ContractError, match="cannot fit within a contract year"):
            assess(evaluation(contract, []), models["fixed"], options)


@pytest.mark.parametrize("within", ["years", "Year", "6", 0, -1, True, 1.5, ""])
def test_chronic_within_is_periods_or_year(models, within):
    schema = penalty_schema(models["fixed"])
    table = {"model": "fixed", "chronic": {"breaches": 1, "within": within}}
    _, problems = validate(table, schema, ("penalties",))
    assert [p[0] for p in problems] == [("penalties", "chronic", "within")]


HISTORY = st.lists(st.sampled_from(["met", "breached", "critical"]), min_size=2, max_size=3)


@given(year_start=st.builds(lambda m, d: f"{m:02d}-{d:02d}", st.integers(1, 12),
                            st.integers(1, 28)),
       period=st.sampled_from(["week", "month", "quarter"]),
       statuses=st.lists(st.tuples(st.sampled_from(["met", "breached", "critical"]),
                                   st.sampled_from(["met", "breached", "critical"])),
                         min_size=1, max_size=40),
       order=st.sampled_from(["pro-rata", "contract-order"]))
@settings(max_examples=150, deadline=None)
def test_contract_year_totals_sum_to_the_periods(year_start, period, statuses, order):
    labels = {"week": [f"{2025 + i // 52}-W{i % 52 + 1:02d}" for i in range(40)],
              "month": [f"{2024 + i // 12}-{i % 12 + 1:02d}" for i in range(40)],
              "quarter": [f"{2020 + i // 4}-Q{i % 4 + 1}" for i in range(40)]}[period]
    start = YearStart.parse(year_start)
    contract = replace(make_contract({"a": (">= 80%", None), "b": (">= 80%", None)},
                                     fee="10000.00", period=period), year_start=start)
    verdicts = [verdict(level, label, status) for label, pair in zip(labels, statuses,
                                                                     strict=False)
                for level, status in zip("ab", pair, strict=True)]
    options = {"model": "fixed", "amount": "700.00", "critical_amount": "1300.00",
               "cap_per_period": "12%", "cap_per_year": "4%", "earn_back_periods": 1,
               "earn_back_order": order, "chronic": {"breaches": 2, "within": "year",
                                                     "multiplier": "1.5"}}
    schedule = assess(evaluation(contract, verdicts), registry().penalty_models["fixed"],
                      options)
    fields = ("before_caps", "capped", "after_caps", "earned_back", "bonus_total", "net")
    by_year: dict[str, list] = {}
    for p in schedule.periods:
        by_year.setdefault(start.of_period(p.period, period), []).append(p)
    assert [y.year for y in schedule.years] == list(by_year)
    for year in schedule.years:
        for name in fields:
            assert getattr(year, name) == sum(getattr(p, name) for p in by_year[year.year])
        # The yearly cap is 4% × 12 × 10000.00 = 4800.00 per contract year.
        assert year.after_caps <= D("4800.00")
    for name in fields:
        assert sum(getattr(y, name) for y in schedule.years) == sum(
            getattr(p, name) for p in schedule.periods)
    # Every period lies in its contract year: from year_start of the first year to the next.
    for y in schedule.years:
        first = int(y.year[:4])
        for p in by_year[y.year]:
            day = placing_day(p.period, period)
            assert start.first_day(first) <= day < start.first_day(first + 1)
    # Credits go below zero only through an earn-back, whose line says so.
    for p in schedule.periods:
        assert p.after_caps >= 0
        if p.after_caps - p.earned_back < 0:
            assert any("below zero only because" in line.note for line in p.lines
                       if line.rule == "earn-back")


# --------------------------------------------------------------------------- payable money


def small_contract(tmp_path: Path, head: str, extra: str = "", fee: str = '"10000.00"',
                   currency: str = "USD") -> Path:
    """tests/data/small.toml with ``head`` added to [contract] (line 10), a fee and currency."""
    shutil.copy(DATA / "small-tickets.csv", tmp_path / "small-tickets.csv")
    text = SMALL.replace('monthly_fee = "10000.00"',
                         f'monthly_fee = {fee}\ncurrency = "{currency}"', 1)
    text = text.replace('timezone = "America/New_York"',
                        f'timezone = "America/New_York"\n{head}', 1)
    path = tmp_path / "contract.toml"
    path.write_text(text + extra)
    return path


def refused_contract(tmp_path: Path, head: str, extra: str = "", **kwargs: str) -> str:
    path = small_contract(tmp_path, head, extra, **kwargs)
    with pytest.raises(SlaError) as info:
        load_contract(path, registry())
    text = info.value.render()
    assert str(path) in text
    return text


UNPAYABLE = {
    # (currency, [penalties] table, key path refused)
    "fixed amount": ("USD", 'model = "fixed"\namount = "500.005"', "penalties.amount"),
    "critical amount": ("USD", 'model = "fixed"\namount = "5"\ncritical_amount = "5.001"',
                        "penalties.critical_amount"),
    "per level": ("USD", 'model = "fixed"\namounts = { fcr = "1.001" }', "penalties.amounts.fcr"),
    "per status": ("USD", 'model = "fixed"\namounts = { fcr = { critical = "2.999" } }',
                   "penalties.amounts.fcr.critical"),
    "at risk": ("USD", 'model = "at-risk-pool"\nat_risk = "100.001"\n'
                'allocations = { fcr = "50%" }', "penalties.at_risk"),
    "band credit": ("USD", 'model = "tiered"\nbands = [{ below = "90%", credit = "10.125" }]',
                    "penalties.bands[0].credit"),
    "cap per period": ("USD", 'model = "fixed"\namount = "5"\ncap_per_period = "100.5001"',
                       "penalties.cap_per_period"),
    "cap per year": ("USD", 'model = "fixed"\namount = "5"\ncap_per_year = "100.001"',
                     "penalties.cap_per_year"),
    "bonus": ("USD", 'model = "fixed"\namount = "5"\n[[penalties.bonuses]]\n'
              'service_level = "fcr"\nstretch = ">= 90%"\namount = "0.001"',
              "penalties.bonuses[0].amount"),
    "yen": ("JPY", 'model = "fixed"\namount = "10.5"', "penalties.amount"),
    "yen per status": ("JPY", 'model = "fixed"\namounts = { fcr = { breached = "0.1" } }',
                       "penalties.amounts.fcr.breached"),
    "dinar": ("KWD", 'model = "fixed"\namount = "1.0005"', "penalties.amount"),
    "decimals 4": ("USD", 'model = "fixed"\ndecimals = 4\namount = "1.00005"',
                   "penalties.amount"),
    "decimals 0 yen": ("JPY", 'model = "fixed"\ndecimals = 0\namount = "1.5"',
                       "penalties.amount"),
}


@pytest.mark.parametrize("case", sorted(UNPAYABLE))
def test_an_amount_the_currency_cannot_pay_is_refused_at_its_key(tmp_path, case):
    currency, table, key_path = UNPAYABLE[case]
    fee = '"10000"' if currency == "JPY" else '"10000.00"'
    message = refused_contract(tmp_path, "", f"\n[penalties]\n{table}\n", fee=fee,
                               currency=currency)
    assert f"{key_path}: " in message, message
    assert f"cannot be paid in {currency}" in message
    assert re.search(r"line \d+", message)


@pytest.mark.parametrize(("currency", "fee"), [("USD", "10000.005"), ("USD", "0.001"),
                                               ("JPY", "10000.5"), ("KWD", "1.0001"),
                                               ("EUR", "99.999")])
def test_a_monthly_fee_the_currency_cannot_pay_is_refused(tmp_path, currency, fee):
    message = refused_contract(tmp_path, "", fee=f'"{fee}"', currency=currency)
    assert "contract.monthly_fee: " in message and f'"{fee}" cannot be paid in' in message
    assert "line 7" in message


@pytest.mark.parametrize(("currency", "fee", "table"), [
    ("USD", "10000.00", 'model = "fixed"\namount = "500.10"\ncap_per_year = "2.125%"'),
    ("JPY", "10000.00", 'model = "fixed"\namount = "500.000"'),  # trailing zeros: 500 yen
    ("JPY", "10000", 'model = "percent-of-fee"\ncredits = { fcr = "2.5%" }'),  # a share
    ("KWD", "10000.125", 'model = "fixed"\namount = "1.005"'),
    ("USD", "10000.0001", 'model = "fixed"\ndecimals = 4\namount = "1.0005"'),
    ("USD", "10000.50", 'model = "fixed"\ndecimals = 0\namount = "500.50"'),  # max(2, 0)
    ("XYZ", "10000.01", 'model = "fixed"\namount = "1.01"'),  # unknown currency: cents
])
def test_amounts_the_currency_can_pay_are_accepted(tmp_path, currency, fee, table):
    path = small_contract(tmp_path, "", f"\n[penalties]\n{table}\n", fee=f'"{fee}"',
                          currency=currency)
    assert load_contract(path, registry()).monthly_fee == D(fee)


def test_several_unpayable_amounts_are_named_in_one_run(tmp_path):
    message = refused_contract(
        tmp_path, "", '\n[penalties]\nmodel = "fixed"\namount = "1.001"\n'
        'cap_per_year = "2.002"\n', fee='"100.001"')
    for key in ("contract.monthly_fee", "penalties.amount", "penalties.cap_per_year"):
        assert f"{key}: " in message


def test_an_unpayable_amount_exits_2_through_the_cli(tmp_path):
    path = small_contract(tmp_path, "", '\n[penalties]\nmodel = "fixed"\namount = "500.005"\n')
    for command in ("validate", "evaluate"):
        result = CliRunner().invoke(main, [command, str(path)])
        assert result.exit_code == 2, result.output
        assert "penalties.amount" in result.output and "Traceback" not in result.output


class _PluginModel:
    """A model from elsewhere whose money keys use the shared checks in three ways."""

    name = "plugin"
    schema: ClassVar[dict[str, Any]] = {
        "marked": {"type": "string", "meta": {"fee": "money"}},
        "checked": {"type": "string", "check_with": credit_schema._check_amount},
        "per_status": {"type": "dict", "valuesrules": per_status(
            {"type": "string", "check_with": credit_schema._check_fee_share})},
        "not_money": {"type": "string"},
    }


def test_a_plugins_own_money_keys_are_checked_without_marking_them():
    options = {"model": "plugin", "marked": "1.001", "checked": "2.002", "not_money": "3.003",
               "per_status": {"fcr": "4.004", "aht": {"critical": "5.005"}, "ok": "6%"}}
    problems = money_problems(options, _PluginModel(), "USD", "10.00")
    assert [p[0] for p in problems] == [
        ("penalties", "marked"), ("penalties", "checked"), ("penalties", "per_status", "fcr"),
        ("penalties", "per_status", "aht", "critical")]


# --------------------------------------------------------------------------- earn-back order


def earn_back_case(order: str | None, *, delayed: bool = False) -> CreditSchedule:
    """Jan: three failures, 500 + 300 + 200 = 1000 capped at 600; all met afterwards. With
    ``delayed``, Feb is excluded for ``c``, so its earn-back comes due a month after the
    others."""
    contract = make_contract({"a": (">= 80%", None), "b": (">= 80%", None),
                              "c": (">= 80%", None)}, fee="10000.00")
    verdicts = [verdict(level, month, "breached" if month == "2026-01" else "met")
                for month in MONTHS[:3] for level in "abc"]
    options: dict[str, Any] = {"model": "fixed", "amounts": {"a": "500.00", "b": "300.00",
                                                             "c": "200.00"},
                               "cap_per_period": "600.00", "earn_back_periods": 1}
    if order is not None:
        options["earn_back_order"] = order
    if delayed:
        options["exclusions"] = [{"period": "2026-02", "service_level": "c",
                                  "reason": "client-side outage"}]
    return assess(evaluation(contract, verdicts), registry().penalty_models["fixed"],
                  options)


def returned(schedule: CreditSchedule) -> list[tuple[str, str | None, Decimal]]:
    return [(line.period, line.service_level, line.amount) for line in schedule.credits
            if line.rule == "earn-back"]


def test_earn_backs_of_a_capped_period_come_back_pro_rata_by_default():
    # Jan kept 600 of 1000: a 500 × 600 ÷ 1000 = 300.00, b 300 × 0.6 = 180.00,
    # c 200 × 0.6 = 120.00; together 600.00, what Jan kept.
    schedule = earn_back_case(None)
    assert returned(schedule) == [("2026-02", "a", D("-300.00")), ("2026-02", "b", D("-180.00")),
                                  ("2026-02", "c", D("-120.00"))]
    assert schedule.earn_back_order == "pro-rata"
    notes = [line.note for line in schedule.credits if line.rule == "earn-back"]
    assert "share pro rata: 2026-01 kept 600.00 of its 1000.00 of credits after caps, so " \
           "500.00 × 600.00 ÷ 1000.00 = 300.00" in notes[0]
    # Feb's credits: 0 - 600 = -600.00, and the lines say why.
    assert schedule.period("2026-02").net == D("-600.00")
    assert "2026-02's credits stand at -600.00 after it: below zero only because this returns " \
           "credit charged in 2026-01" in notes[2]
    # The same shares when c comes due a month later: a share does not depend on timing.
    assert returned(earn_back_case(None, delayed=True)) == [
        ("2026-02", "a", D("-300.00")), ("2026-02", "b", D("-180.00")),
        ("2026-03", "c", D("-120.00"))]


def test_contract_order_returns_whole_credits_until_the_period_runs_out():
    # a 500.00 whole; b 300 > the 100 left -> 100.00; c: nothing left, no line.
    schedule = earn_back_case("contract-order")
    assert returned(schedule) == [("2026-02", "a", D("-500.00")), ("2026-02", "b", D("-100.00"))]
    notes = [line.note for line in schedule.credits if line.rule == "earn-back"]
    assert "share in contract order: all of it, from what 2026-01 kept after caps (600.00)" in (
        notes[0])
    assert ("share in contract order: limited to the 100.00 left of 2026-01's credits after caps "
            "(600.00; earlier earn-backs of 2026-01 took 500.00)") in notes[1]
    assert schedule_to_dict(schedule)["penalties"]["earn_back_order"] == "contract-order"


def test_an_unknown_earn_back_order_is_refused(models):
    _, problems = validate({"model": "fixed", "earn_back_order": "fifo"},
                           penalty_schema(models["fixed"]), ("penalties",))
    assert [(p[0], p[3]) for p in problems] == [(("penalties", "earn_back_order"),
                                                 ["pro-rata", "contract-order"])]


@given(credits=st.lists(st.integers(min_value=1, max_value=10**9), min_size=1, max_size=6),
       kept_part=st.fractions(min_value=0, max_value=1), decimals=st.sampled_from([0, 2, 3]))
@settings(max_examples=150, deadline=None)
def test_pro_rata_shares_add_up_to_what_was_kept(credits, kept_part, decimals):
    quantum = D(1).scaleb(-decimals)
    amounts = {f"l{i}": D(c) * quantum for i, c in enumerate(credits)}
    whole = sum(amounts.values())
    kept = (D(kept_part.numerator) / D(kept_part.denominator) * whole).quantize(
        quantum, rounding="ROUND_DOWN")
    shares = credit_rules.pro_rata(amounts, whole, kept, quantum)
    assert list(shares) == list(amounts)
    assert sum(shares.values()) == min(kept, whole)
    for name, share in shares.items():
        exact = Fraction(amounts[name]) * Fraction(kept) / Fraction(whole)
        assert 0 <= share <= amounts[name]
        assert abs(Fraction(share) - exact) < Fraction(quantum)
        assert share == share.quantize(quantum)


# --------------------------------------------------------------------------- the README example


def readme_example() -> tuple[dict[str, Any], list[list[str]]]:
    """The worked example of the README's *Service credits*: its TOML and its table rows."""
    section = README.split("## Service credits")[1].split("\n## ")[0]
    example = section.split("A worked example")[1]
    toml_text = example.split("```toml\n")[1].split("```")[0]
    rows = [[cell.strip() for cell in line.strip("|").split("|")]
            for line in example.splitlines() if re.match(r"\| \d{4}-Q", line)]
    return tomllib.loads(toml_text), rows


def test_the_readme_worked_example_is_what_the_engine_computes(models):
    document, rows = readme_example()
    head, table = document["contract"], document["penalties"]
    _, problems = validate(table, penalty_schema(models[table["model"]]), ("penalties",))
    assert problems == []
    contract = replace(make_contract({"response": (">= 80%", None),
                                      "resolution": (">= 80%", None)},
                                     fee=head["monthly_fee"], period=head["period"]),
                       year_start=YearStart.parse(head["year_start"]))
    failed = {"2026-Q1": "response", "2026-Q2": "both", "2026-Q3": "none", "2026-Q4": "both",
              "2027-Q1": "response", "2027-Q2": "response"}
    verdicts = [verdict(level, label, "breached" if which in (level, "both") else "met")
                for label, which in failed.items() for level in ("response", "resolution")]
    schedule = assess(evaluation(contract, verdicts), models["fixed"], table)
    # By hand (quarter's fee 3 × 10000 = 30000; cap per period 10% = 3000; cap per year
    # 5% × 12 × 10000 = 6000 per contract year from April 1st):
    # 2026-Q1 (2025/26): 2000.
    # 2026-Q2 (2026/27): 2000 + 2000 = 4000 -> 3000 (1000 capped); year used 3000.
    # 2026-Q3: both met: Q2's credits back pro rata 2000 × 3000 ÷ 4000 = 1500 each -> -3000.
    # 2026-Q4: 4000 -> 3000; year used 3000 + 3000 = 6000 (the cap, not over).
    # 2027-Q1 (still 2026/27): response's 3rd failure in 2026/27 (Q2, Q4, Q1) -> × 1.5 = 3000
    # (cap per period 3000: not over); year 6000 + 3000 - 6000 = 3000 over -> 0 after caps.
    # resolution met: Q4's 2000 × 3000 ÷ 4000 = 1500 back -> net -1500.
    # 2027-Q2 (2027/28): a new year: 2000 charged, no chronic (1 failure in 2027/28).
    expected = [
        ["2026-Q1", "2025/26", "response", "2000.00", "0.00", "2000.00", "0.00", "2000.00"],
        ["2026-Q2", "2026/27", "both", "4000.00", "1000.00", "3000.00", "0.00", "3000.00"],
        ["2026-Q3", "2026/27", "none", "0.00", "0.00", "0.00", "3000.00", "-3000.00"],
        ["2026-Q4", "2026/27", "both", "4000.00", "1000.00", "3000.00", "0.00", "3000.00"],
        ["2027-Q1", "2026/27", "response", "3000.00", "3000.00", "0.00", "1500.00", "-1500.00"],
        ["2027-Q2", "2027/28", "response", "2000.00", "0.00", "2000.00", "0.00", "2000.00"],
    ]
    assert rows == expected
    computed = [[p.period, contract.year_start.of_period(p.period, "quarter"), failed[p.period],
                 *(str(getattr(p, n)) for n in ("before_caps", "capped", "after_caps",
                                                "earned_back", "net"))]
                for p in schedule.periods]
    assert computed == expected
    # Years: 2025/26 nets 2000; 2026/27 before caps 4000 + 4000 + 3000 = 11000, capped
    # 1000 + 1000 + 3000 = 5000, after caps 6000, earned back 3000 + 1500 = 4500, net 1500;
    # 2027/28 nets 2000; together 5500.
    assert [(y.year, str(y.before_caps), str(y.capped), str(y.after_caps), str(y.earned_back),
             str(y.net)) for y in schedule.years] == [
        ("2025/26", "2000.00", "0.00", "2000.00", "0.00", "2000.00"),
        ("2026/27", "11000.00", "5000.00", "6000.00", "4500.00", "1500.00"),
        ("2027/28", "2000.00", "0.00", "2000.00", "0.00", "2000.00")]
    assert sum(y.net for y in schedule.years) == D("5500.00")
    for phrase in ("before caps 11000.00, capped 5000.00, after caps\n  6000.00 (the cap), "
                   "earned back 4500.00, net 1500.00", "together\n  5500.00",
                   "each returns 2000.00 × 3000.00 ÷ 4000.00 = 1500.00"):
        assert phrase in README
    # In contract order Q3 would return response 2000.00 and resolution the 1000.00 left.
    other = assess(evaluation(contract, verdicts), models["fixed"],
                   {**table, "earn_back_order": "contract-order"})
    assert returned(other)[:2] == [("2026-Q3", "response", D("-2000.00")),
                                   ("2026-Q3", "resolution", D("-1000.00"))]
    flags = {(f.kind, f.service_level): f.periods for f in schedule.flags}
    assert flags[("chronic-failure", "response")] == ("2026-Q2", "2026-Q4", "2027-Q1")


def test_unpayable_money_is_reported_with_the_contracts_other_problems(tmp_path):
    message = refused_contract(tmp_path, 'year_start = "02-29"',
                               '\n[penalties]\nmodel = "fixed"\namount = "10.5"\n',
                               fee='"10000"', currency="JPY")
    assert "3 problems" not in message  # the fee is payable: two problems
    assert "contract.year_start: " in message
    assert ('penalties.amount: "10.5" cannot be paid in JPY, which is paid in whole JPY; write '
            "the amount the contract means as a whole number") in message
