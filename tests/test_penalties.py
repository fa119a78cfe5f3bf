"""Service credits, worked by hand: every expected amount has its arithmetic beside it.

Verdicts are built directly (no data files), on a contract made in code, so each test says
exactly which service level did what in which period.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from slaengine.contract import Contract, ServiceLevel
from slaengine.errors import ContractError, SlaError
from slaengine.penalties import (
    PENALTY_COMMON_SCHEMA,
    CreditSchedule,
    assess,
    format_schedule,
    outcomes,
    penalty_schema,
    schedule_to_dict,
)
from slaengine.pluginmanager import build_registry
from slaengine.schema import validate
from slaengine.targets import parse_target
from slaengine.verdicts import Evaluation, Verdict

D = Decimal
MONTHS = [f"2026-{m:02d}" for m in range(1, 13)]


@pytest.fixture(scope="module")
def models():
    return build_registry().penalty_models


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
    schema = penalty_schema(build_registry().penalty_models["tiered"])
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
