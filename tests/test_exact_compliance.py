"""Compliance is an exact fraction wherever it decides a verdict, a credit band or a bonus.

In binary floating point 0.72 / 0.8 is 0.8999999999999999 and 0.6 / 0.75 is 0.7999999999999999:
a level at exactly a band edge would fall into the band below and cost more. These tests put
counts on every band edge with ratios that are not exact in binary, through the target, the
engine, the tiered model, the bonuses, the JSON and the reports.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slaengine.contract import Contract, ServiceLevel, load_contract
from slaengine.credits.ledger import CreditSchedule
from slaengine.credits.outcomes import exact_compliance, outcomes
from slaengine.credits.schedule import assess_credits
from slaengine.credits.terms import terms_of
from slaengine.engine import evaluate
from slaengine.pluginmanager import build_registry
from slaengine.present import evaluation_to_dict, format_compliance
from slaengine.targets import parse_target
from slaengine.verdicts import Evaluation, Verdict


def assess(evaluation: Evaluation, model: Any, table: dict[str, Any]) -> CreditSchedule:
    """The credits of ``evaluation`` under the ``[penalties]`` ``table``, its terms parsed as a
    contract's are when it is read (a problem of the terms is a ContractError there)."""
    return assess_credits(evaluation, model, terms_of(evaluation.contract, model, table))


F = Fraction
D = Decimal

BANDS = [
    {"from": "95%", "to": "99%", "credit": "2%"},
    {"from": "90%", "to": "95%", "credit": "5%"},
    {"from": "80%", "to": "90%", "credit": "10%"},
    {"below": "80%", "credit": "20%"},
]
BAND_EDGES = (F(99, 100), F(95, 100), F(90, 100), F(80, 100))


def band_credit(compliance: Fraction) -> str | None:
    """The credit share of BANDS for an exact compliance (None: above every band)."""
    if compliance >= F(99, 100):
        return None
    if compliance >= F(95, 100):
        return "2%"
    if compliance >= F(90, 100):
        return "5%"
    return "10%" if compliance >= F(80, 100) else "20%"


@pytest.fixture(scope="module")
def models():
    return build_registry().penalty_models


# --------------------------------------------------------------------------- the target


@pytest.mark.parametrize(("hits", "n", "target", "expected", "as_float"), [
    # (hits/n) ÷ threshold, and what the float division gave before.
    (72, 100, ">= 80%", F(9, 10), 0.72 / 0.8),       # 0.8999999999999999
    (64, 100, ">= 80%", F(4, 5), 0.64 / 0.8),        # 0.7999999999999999
    (60, 100, ">= 75%", F(4, 5), 0.6 / 0.75),        # 0.7999999999999999
    (90, 100, ">= 95%", F(18, 19), 0.9 / 0.95),      # 0.9473684210526316, no short decimal
    (855, 1000, ">= 95%", F(9, 10), 0.855 / 0.95),
    (792, 1000, ">= 80%", F(99, 100), 0.792 / 0.8),
    (76, 100, ">= 80%", F(19, 20), 0.76 / 0.8),
    (10, 100, "share <= 9%", F(9, 10), 0.09 / 0.1),  # lower is better: 9% ÷ 10%
])
def test_compliance_from_counts_is_exact(hits, n, target, expected, as_float):
    compliance = parse_target(target).compliance(None, hits=hits, n=n)
    assert isinstance(compliance, Fraction)
    assert compliance == expected
    assert float(compliance) == float(expected)  # the JSON number: 0.9, not 0.8999999999999999


def test_the_float_ratios_really_miss_the_edges():
    # What the exact arithmetic protects against: each of these is just below its band edge.
    assert 0.72 / 0.8 < 0.9 and 0.64 / 0.8 < 0.8 and 0.6 / 0.75 < 0.8 and 0.09 / 0.1 < 0.9


@pytest.mark.parametrize(("value", "target", "expected"), [
    (D("5.00"), "value <= 4.50", F(9, 10)),   # a cost per contact: 4.50 ÷ 5.00
    (D("0.72"), ">= 80%", F(9, 10)),
    (F(18, 25), ">= 80%", F(9, 10)),
    (0.72, ">= 80%", F(9, 10)),                # a float figure: read as the 0.72 it prints as
    (0.6, "value >= 0.75", F(4, 5)),
    (2700.0, "mean <= 1h", F(1)),              # 45 min against an hour: capped at 100%
    (4000.5, "mean <= 1h", F(3600) / F("4000.5")),
    (float("inf"), "mean <= 1h", F(0)),
    (0, "value <= 4.50", F(1)),
])
def test_compliance_from_a_value_is_exact(value, target, expected):
    compliance = parse_target(target).compliance(value)
    assert isinstance(compliance, Fraction)
    assert compliance == expected


def test_status_and_compliance_agree_at_the_edge():
    # 17 of 20 against >= 85% holds exactly; compliance is exactly 1.
    target = parse_target(">= 85%")
    assert target.holds(None, hits=17, n=20) is True
    assert target.compliance(None, hits=17, n=20) == 1
    # 0.85 as a float figure (a mean) holds as written, and its compliance is 1 too.
    assert target.holds(0.85) is True and target.compliance(0.85) == 1


@settings(max_examples=400, deadline=None)
@given(n=st.integers(1, 10**6), data=st.data(),
       threshold=st.integers(1, 10_000), higher=st.booleans())
def test_compliance_matches_integer_arithmetic(n, data, threshold, higher):
    # threshold is in hundredths of a percent (8000 = 80.00%); compliance c is checked against
    # every band edge e (also in hundredths of a percent) by cross-multiplying integers:
    # higher-better c = (hits/n) ÷ (t/10^4), so c >= e/10^4 <=> hits·10^8 >= e·n·t;
    # lower-better  c = (t/10^4) ÷ (hits/n), so c >= e/10^4 <=> t·n·10^4 >= e·hits·10^4.
    hits = data.draw(st.integers(0, n))
    text = f"{threshold // 100}.{threshold % 100:02d}%"
    target = parse_target(f"share {'>=' if higher else '<='} {text}")
    compliance = target.compliance(None, hits=hits, n=n)
    assert isinstance(compliance, Fraction) and 0 <= compliance <= 1
    for edge in (8000, 9000, 9500, 9900, 10_000):
        if higher:
            at_least = hits * 10**8 >= edge * n * threshold
        else:
            at_least = hits == 0 or threshold * n * 10**4 >= edge * hits * 10**4
        assert (compliance >= F(edge, 10_000)) is at_least, (hits, n, text, edge)


# --------------------------------------------------------------------------- the tiered model


def one_level(target: str) -> Contract:
    level = ServiceLevel(id="sl", index=0, source="calls", metric="first_response_time",
                         target=parse_target(target))
    return Contract(path=None, text="", id="c", client="Client", vendor="Vendor",
                    currency="USD", period="month", timezone="UTC", sources={},
                    service_levels=(level,), monthly_fee=D("10000.00"))


def counted_verdict(target: str, hits: int, n: int, period: str = "2026-03",
                    **segment: str) -> Verdict:
    parsed = parse_target(target)
    met = parsed.holds(None, hits=hits, n=n)
    return Verdict(service_level="sl", metric="first_response_time", period=period,
                   segment=segment, statistic=parsed.statistic or "share", value=hits / n,
                   unit="rate", target=target, minimum=None,
                   status="met" if met else "breached",
                   compliance=parsed.compliance(None, hits=hits, n=n), margin=None,
                   sample_size=n, unmeasured=0, excluded=0, hits=hits)


def tiered(models, contract: Contract, verdicts: list[Verdict], **options):
    evaluation = Evaluation(contract=contract, verdicts=verdicts, sources={}, levels={},
                            manifest={})
    return assess(evaluation, models["tiered"], {"model": "tiered", "bands": BANDS, **options})


@pytest.mark.parametrize(("hits", "target", "amount", "shown"), [
    # 72% ÷ 80% = 90% exactly: band 90-95, 5% × 10000.00 = 500.00 (the float gave 10%: 1000.00).
    (72, "80% within 1h", "500.00", "compliance 90% is in the band 90% up to (not including) 95%"),
    # 64% ÷ 80% = 80% exactly: band 80-90, 10% = 1000.00 (the float gave 20%: 2000.00).
    (64, "80% within 1h", "1000.00", "compliance 80% is in the band 80% up to (not including)"),
    # 60% ÷ 75% = 80% exactly: 10% = 1000.00 (the float gave 2000.00).
    (60, "75% within 1h", "1000.00", "compliance 80% is in the band 80% up to"),
    # 76% ÷ 80% = 95% exactly: band 95-99, 2% = 200.00.
    (76, "80% within 1h", "200.00", "compliance 95% is in the band 95% up to"),
    # 90% ÷ 95% = 18/19 = 94.736…%: band 90-95, 5% = 500.00; cut, not rounded, to 94.73%.
    (90, "95% within 1h", "500.00", "compliance 94.73% (exactly 18/19) is in the band 90% up"),
    # 79.2% ÷ 80% = 99% exactly: above every band (99% and up costs nothing).
    (792, "80% within 1h", None, None),
])
def test_tiered_band_edges_are_exact(models, hits, target, amount, shown):
    n = 1000 if hits > 100 else 100
    schedule = tiered(models, one_level(target), [counted_verdict(target, hits, n)])
    lines = schedule.period("2026-03").lines
    if amount is None:
        assert lines == []
        return
    (line,) = lines
    assert line.amount == D(amount)
    assert shown in line.note
    assert "9999" not in line.note and "0000001" not in line.note  # no binary noise


def test_a_segmented_level_is_credited_at_its_exact_lowest_segment(models):
    # Segments 72/100 (9/10) and 73/100 (73/80): the lowest is exactly 90%, band 90-95.
    verdicts = [counted_verdict("80% within 1h", 72, 100, priority="high"),
                counted_verdict("80% within 1h", 73, 100, priority="low")]
    (outcome,) = outcomes(Evaluation(contract=one_level("80% within 1h"), verdicts=verdicts,
                                     sources={}, levels={}, manifest={}))
    assert outcome.compliance == F(9, 10)
    schedule = tiered(models, one_level("80% within 1h"), verdicts)
    assert [line.amount for line in schedule.period("2026-03").lines] == [D("500.00")]


@settings(max_examples=300, deadline=None)
@given(n=st.integers(1, 5000), data=st.data(), threshold=st.integers(1, 100))
def test_tiered_credit_is_the_band_of_the_exact_compliance(models, n, data, threshold):
    # Any hits of n against a whole-percent threshold: the credit is the band of the exact
    # compliance, and the figure in the note lies in that same band.
    hits = data.draw(st.integers(0, n))
    target = f"{threshold}% within 1h"
    verdict = counted_verdict(target, hits, n)
    exact = F(hits, n) / F(threshold, 100)
    schedule = tiered(models, one_level(target), [verdict])
    lines = schedule.period("2026-03").lines
    expected = band_credit(exact) if verdict.status == "breached" else None
    if expected is None:
        assert lines == []
        return
    (line,) = lines
    assert line.amount == D(10000) * D(expected[:-1]) / 100
    shown = re.search(r"compliance ([0-9.]+)%", line.note).group(1)
    assert band_credit(F(shown) / 100) == expected, line.note


@settings(max_examples=300, deadline=None)
@given(numerator=st.integers(0, 10**7), denominator=st.integers(1, 10**7))
def test_a_cut_figure_never_crosses_an_edge(numerator, denominator):
    # Shown to two decimals, a figure below an edge (of at most two decimals) stays below it.
    exact = min(F(1), F(numerator, denominator))
    shown = F(format_compliance(exact, 2, cut=True)[:-1]) / 100
    assert shown <= exact < shown + F(1, 10_000)
    for edge in BAND_EDGES:
        assert (shown >= edge) == (exact >= edge)


@pytest.mark.parametrize(("compliance", "text"), [
    (F(9, 10), "90.0%"), (F(5, 6), "83.3%"), (F(2, 3), "66.7%"), (F(1), "100.0%"),
    (F(0), "0.0%"), (F(19, 20), "95.0%"), (F(1999, 2000), "100.0%"), (0.8999999999999999,
    "90.0%"), (0.9, "90.0%"), (None, "—"),
])
def test_compliance_is_shown_without_binary_noise(compliance, text):
    assert format_compliance(compliance) == text


def test_a_hand_made_float_compliance_is_read_as_printed():
    assert exact_compliance(0.95) == F(19, 20)
    assert exact_compliance(D("0.9")) == F(9, 10)
    with pytest.raises(ValueError, match="not a finite number"):
        exact_compliance(float("nan"))


# --------------------------------------------------------------------------- bonuses


def test_a_bonus_is_decided_on_the_exact_share(models):
    # 2 of 3 = 0.666…; the stretch 66.666666666666666% (17 sixes) lies between the float
    # 0.6666666666666666 (16 sixes) and 2/3, so only the exact 2/3 meets it.
    stretch = ">= 66.666666666666666%"
    assert float(2 / 3) < F("0.66666666666666666") < F(2, 3)
    target = ">= 50%"
    verdict = Verdict(service_level="sl", metric="first_contact_resolution", period="2026-03",
                      segment={}, statistic="share", value=2 / 3, unit="rate", target=target,
                      minimum=None, status="met", compliance=F(1), margin=None, sample_size=3,
                      unmeasured=0, excluded=0, hits=2)
    evaluation = Evaluation(contract=one_level(target), verdicts=[verdict], sources={},
                            levels={}, manifest={})
    options = {"model": "fixed", "amount": "100.00",
               "bonuses": [{"service_level": "sl", "stretch": stretch, "amount": "250.00"}]}
    schedule = assess(evaluation, models["fixed"], options)
    assert [b.amount for b in schedule.period("2026-03").bonuses] == [D("250.00")]


# --------------------------------------------------------------------------- end to end

CONTRACT = """\
[contract]
id = "exact"
client = "Client"
vendor = "Vendor"
monthly_fee = "10000.00"
period = "month"
timezone = "UTC"

[sources.tickets]
adapter = "csv"
path = "tickets.csv"
fields = { ticket_id = "id", created_at = "created", first_response_at = "replied" }

[[service_levels]]
id = "reply-80"
metric = "first_response_time"
target = "80% within 1h"

[[service_levels]]
id = "reply-75"
metric = "first_response_time"
target = "75% within 1h"

[[service_levels]]
id = "reply-95"
metric = "first_response_time"
target = "95% within 1h"

[penalties]
model = "tiered"
bands = [
  { from = "95%", to = "99%", credit = "2%" },
  { from = "90%", to = "95%", credit = "5%" },
  { from = "80%", to = "90%", credit = "10%" },
  { below = "80%", credit = "20%" },
]
"""

# Of 100 tickets a month, how many got a first reply within the hour (after 30 s; the rest 2h).
WITHIN = {"2026-03": 72, "2026-04": 64, "2026-05": 76, "2026-06": 60, "2026-07": 90}


@pytest.fixture(scope="module")
def months(tmp_path_factory) -> Evaluation:
    folder = tmp_path_factory.mktemp("exact")
    rows = ["id,created,replied"]
    for month, within in WITHIN.items():
        for i in range(100):
            day, minute = 1 + i // 20, (i % 20) * 3
            created = f"{month}-{day:02d}T09:{minute:02d}:00Z"
            late = f"T11:{minute:02d}:00Z"  # 2h after
            replied = f"{month}-{day:02d}" + (f"T09:{minute:02d}:30Z" if i < within else late)
            rows.append(f"{month}-{i},{created},{replied}")
    (folder / "tickets.csv").write_text("\n".join(rows) + "\n")
    (folder / "exact.toml").write_text(CONTRACT)
    return evaluate(load_contract(Path(folder / "exact.toml")))


def test_the_engine_gives_exact_compliance(months):
    # reply-80 in March: 72 of 100 within 1h against 80% -> exactly 9/10.
    verdict = months.verdict("reply-80", "2026-03")
    assert (verdict.hits, verdict.sample_size, verdict.status) == (72, 100, "breached")
    assert verdict.compliance == F(9, 10)
    assert months.verdict("reply-75", "2026-06").compliance == F(4, 5)   # 60% ÷ 75%
    assert months.verdict("reply-95", "2026-07").compliance == F(18, 19)  # 90% ÷ 95%


def test_every_credit_is_the_band_of_the_exact_compliance(months):
    # fee 10000.00; 2% = 200.00, 5% = 500.00, 10% = 1000.00, 20% = 2000.00.
    #   reply-80: Mar 72/80 = 90% -> 500; Apr 64/80 = 80% -> 1000; May 76/80 = 95% -> 200;
    #             Jun 60/80 = 75% -> 2000; Jul 90% met.
    #   reply-75: Mar 72/75 = 96% -> 200; Apr 64/75 = 85.33% -> 1000; May met;
    #             Jun 60/75 = 80% -> 1000; Jul met.
    #   reply-95: Mar 72/95 = 75.78% -> 2000; Apr 64/95 = 67.36% -> 2000;
    #             May 76/95 = 80% -> 1000; Jun 60/95 = 63.15% -> 2000; Jul 90/95 = 94.73% -> 500.
    # With float ratios reply-80 in March and April and reply-75 in June fell a band lower.
    credits = {(line.period, line.service_level): line.amount
               for period in months.credits.periods for line in period.lines}
    assert credits == {
        ("2026-03", "reply-80"): D("500.00"), ("2026-04", "reply-80"): D("1000.00"),
        ("2026-05", "reply-80"): D("200.00"), ("2026-06", "reply-80"): D("2000.00"),
        ("2026-03", "reply-75"): D("200.00"), ("2026-04", "reply-75"): D("1000.00"),
        ("2026-06", "reply-75"): D("1000.00"),
        ("2026-03", "reply-95"): D("2000.00"), ("2026-04", "reply-95"): D("2000.00"),
        ("2026-05", "reply-95"): D("1000.00"), ("2026-06", "reply-95"): D("2000.00"),
        ("2026-07", "reply-95"): D("500.00"),
    }


def test_the_readme_worked_example(months):
    # README, Service credits: 72 of 100 within the hour against "80% within 1h", monthly fee
    # 10000.00, band 90-95% costs 5%: 72% ÷ 80% = 90% exactly -> 5% × 10000.00 = 500.00.
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    section = readme[readme.index("## Service credits"):readme.index("## JSON output")]
    assert "72 of 100" in section and "exactly 90%" in section and "500.00" in section
    (line,) = [line for line in months.credits.period("2026-03").lines
               if line.service_level == "reply-80"]
    assert line.amount == D("500.00")
    assert line.note == (
        "reply-80 breached in 2026-03: 72.0% against target 80% within 1h; compliance 90% is "
        "in the band 90% up to (not including) 95%: 5% of 10000.00 = 500.00")
    assert line.note in section


def test_the_json_carries_the_exact_figure_as_a_number(months):
    document = json.loads(json.dumps(evaluation_to_dict(months)))
    found = {(v["service_level"], v["period"]): v["compliance"] for v in document["verdicts"]}
    assert found[("reply-80", "2026-03")] == 0.9  # not 0.8999999999999999
    assert found[("reply-80", "2026-04")] == 0.8  # not 0.7999999999999999
    assert found[("reply-75", "2026-06")] == 0.8
    assert found[("reply-80", "2026-07")] == 1.0
