"""The [penalties] terms are parsed once, when the contract is read: every problem of them comes
out of load_contract at its key path and line, and assessing the credits of a contract that
loaded never fails on its terms.
"""

from __future__ import annotations

import dataclasses
import functools
import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from slaengine.cli import main
from slaengine.contract import Contract, ServiceLevel, load_contract
from slaengine.credits.ledger import CreditLine, PeriodCap
from slaengine.credits.schedule import assess_credits
from slaengine.credits.schema import penalty_schema
from slaengine.credits.terms import CreditTerms, terms_of
from slaengine.errors import ContractError, PluginError, SlaError
from slaengine.plugin import PenaltyModel
from slaengine.pluginmanager import build_registry
from slaengine.schema import validate
from slaengine.targets import parse_target
from slaengine.verdicts import Evaluation, Verdict

D = Decimal
DATA = Path(__file__).parent / "data"
SMALL = (DATA / "small.toml").read_text()


@functools.cache
def registry():
    return build_registry()


def write_contract(tmp_path: Path, penalties: str, *, fee: bool = True) -> Path:
    """tests/data/small.toml with a [penalties] table, with or without its monthly fee."""
    shutil.copy(DATA / "small-tickets.csv", tmp_path / "small-tickets.csv")
    text = SMALL if fee else SMALL.replace('monthly_fee = "10000.00"\n', "", 1)
    path = tmp_path / "contract.toml"
    path.write_text(f"{text}\n[penalties]\n{penalties}\n")
    return path


def refusal(tmp_path: Path, penalties: str, *, fee: bool = True) -> ContractError:
    path = write_contract(tmp_path, penalties, fee=fee)
    with pytest.raises(ContractError) as info:
        load_contract(path, registry())
    return info.value


# Each: the [penalties] table, whether the contract has a monthly fee, the key path refused and
# a part of the message. None of these was refused when the contract was read before: each
# stopped an evaluation half way, or (for a share of the fee with no failure to charge) passed.
REFUSED = {
    "chronic over a window": (
        'model = "fixed"\namount = "5.00"\nchronic = { breaches = 7, within = 6 }', True,
        "penalties.chronic.breaches", "7 breaches cannot fit within 6 periods"),
    "chronic over a year": (
        'model = "fixed"\namount = "5.00"\nchronic = { breaches = 13, within = "year" }', True,
        "penalties.chronic.breaches", "cannot fit within a contract year (12 months at most)"),
    "stretch of another statistic": (
        'model = "fixed"\namount = "5.00"\n[[penalties.bonuses]]\nservice_level = "fcr"\n'
        'stretch = "p90 <= 4h"\namount = "10.00"', True, "penalties.bonuses[0].stretch",
        '"p90 <= 4h" cannot be read off fcr, whose verdicts are the share in rate; write the '
        'stretch like its target ">= 80%"'),
    "stretch in another unit": (
        'model = "fixed"\namount = "5.00"\n[[penalties.bonuses]]\nservice_level = "csat"\n'
        'stretch = "mean >= 90%"\namount = "10.00"', True, "penalties.bonuses[0].stretch",
        "whose verdicts are the mean in score"),
    "stretch with another time limit": (
        'model = "fixed"\namount = "5.00"\n[[penalties.bonuses]]\n'
        'service_level = "urgent-first-response"\nstretch = "90% within 2h"\namount = "10.00"',
        True, "penalties.bonuses[0].stretch",
        '"90% within 2h" needs a different time limit than the target "75% within 1h"'),
    "cap per period without a fee": (
        'model = "fixed"\namount = "5.00"\ncap_per_period = "12%"', False,
        "penalties.cap_per_period", '"12%" is a share of the period\'s fee, but the contract has '
        "no monthly_fee; add [contract] monthly_fee or write an amount"),
    "cap per year without a fee": (
        'model = "fixed"\namount = "5.00"\ncap_per_year = "3%"', False, "penalties.cap_per_year",
        '"3%" is a share of the yearly fee (12 monthly fees), but the contract has no '
        "monthly_fee"),
    "bonus without a fee": (
        'model = "fixed"\namount = "5.00"\n[[penalties.bonuses]]\nservice_level = "fcr"\n'
        'stretch = ">= 90%"\namount = "1%"', False, "penalties.bonuses[0].amount",
        '"1%" is a share of the period\'s fee'),
    "at risk without a fee": (
        'model = "at-risk-pool"\nat_risk = "12%"\nallocations = { fcr = "50%" }', False,
        "penalties.at_risk", '"12%" is a share of the period\'s fee'),
    "band without a fee": (
        'model = "tiered"\nbands = [{ from = "90%", to = "99%", credit = "500.00" },\n'
        '  { below = "90%", credit = "5%" }]', False, "penalties.bands[1].credit",
        '"5%" is a share of the period\'s fee'),
    "percent of no fee": (
        'model = "percent-of-fee"\ncredits = { fcr = "2%" }', False, "penalties.credits",
        "the percent-of-fee penalty model needs [contract] monthly_fee"),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_a_problem_of_the_terms_is_refused_when_the_contract_is_read(tmp_path, case):
    table, fee, key, message = REFUSED[case]
    error = refusal(tmp_path, table, fee=fee)
    rendered = error.render()
    assert f"{key}: " in rendered and message in rendered
    assert error.line is not None and str(tmp_path / "contract.toml") in rendered
    # The CLI says the same, exit 2, no traceback.
    result = CliRunner().invoke(main, ["validate", str(tmp_path / "contract.toml")])
    assert result.exit_code == 2, result.output
    assert key in result.output and "Traceback" not in result.output


def test_the_same_terms_with_a_fee_or_a_fitting_window_load(tmp_path):
    # The counterparts of the refusals above that are sound: a share with a fee, a chronic
    # rule that fits, a stretch written like its target.
    for table in ('model = "fixed"\namount = "5.00"\ncap_per_period = "12%"\n'
                  'cap_per_year = "3%"\nchronic = { breaches = 6, within = 6 }',
                  'model = "at-risk-pool"\nat_risk = "12%"\nallocations = { fcr = "50%" }',
                  'model = "percent-of-fee"\ncredits = { fcr = "2%" }',
                  'model = "fixed"\namount = "5.00"\n[[penalties.bonuses]]\n'
                  'service_level = "urgent-first-response"\nstretch = "90% within 1h"\n'
                  'amount = "1%"'):
        contract = load_contract(write_contract(tmp_path, table), registry())
        assert isinstance(contract.credit_terms, CreditTerms)


def test_the_terms_on_a_loaded_contract_are_typed_and_frozen(tmp_path):
    contract = load_contract(write_contract(
        tmp_path, 'model = "fixed"\namount = "500.00"\ncritical_amount = "900.00"\n'
        'amounts = { fcr = { breached = "250.00" } }\ncap_per_year = "3%"\n'
        'earn_back_periods = 2\n[[penalties.exclusions]]\nperiod = "2026-03"\n'
        'reason = "migration"'), registry())
    terms = contract.credit_terms
    assert terms is not None and terms.model == "fixed"
    # 10000.00 a month: the period's fee is one monthly fee.
    assert (terms.fee.amount, terms.fee.text) == (D("10000.00"), "monthly fee 10000.00")
    assert terms.options.default == {"breached": D("500.00"), "critical": D("900.00")}
    # A table with only breached: critical costs the same.
    assert terms.options.own == {"fcr": {"breached": D("250.00"), "critical": D("250.00")}}
    assert terms.cap_per_year is not None and terms.cap_per_year.share == D("0.03")
    assert terms.earn_back == 2 and terms.exclusion("2026-03", "fcr") == 0
    with pytest.raises(dataclasses.FrozenInstanceError):
        terms.earn_back = 5  # type: ignore[misc]
    # The table as written stays on the contract, for the manifest.
    assert contract.penalties is not None and contract.penalties["amount"] == "500.00"


# --------------------------------------------------------------------------- never mid-way

LEVELS = {"a": ">= 80%", "b": "75% within 1h"}


def hand_contract(fee: str | None, period: str = "month") -> Contract:
    levels = tuple(ServiceLevel(id=name, index=i, source="tickets", metric="m",
                                target=parse_target(target))
                   for i, (name, target) in enumerate(LEVELS.items()))
    return Contract(path=None, text="", id="c", client="C", vendor="V", currency="USD",
                    period=period, timezone="UTC", sources={}, service_levels=levels,
                    monthly_fee=D(fee) if fee is not None else None)


MONEY = st.sampled_from(["0.00", "5.00", "250.00", "1000.00", "3%", "12%", "100%"])
SHARE = st.sampled_from(["10%", "50%", "100%"])
MODELS = st.sampled_from([
    {"model": "fixed", "amount": "300.00", "critical_amount": "700.00"},
    {"model": "percent-of-fee", "credits": {"a": "2%", "b": {"breached": "1%", "critical": "5%"}}},
    {"model": "tiered", "bands": [{"from": "90%", "to": "99%", "credit": "2%"},
                                  {"below": "90%", "credit": "400.00"}]},
    {"model": "at-risk-pool", "at_risk": "12%", "allocations": {"a": "60%", "b": "60%"}},
    {"model": "at-risk-pool", "at_risk": "900.00", "allocations": {"a": "60%"},
     "trigger": "target"},
])
STRETCH = st.sampled_from([">= 90%", "p90 <= 4h", "95% within 1h", "90% within 2h"])


@st.composite
def tables(draw: Any) -> dict[str, Any]:
    table = dict(draw(MODELS))
    if draw(st.booleans()):
        table["cap_per_period"] = draw(MONEY)
    if draw(st.booleans()):
        table["cap_per_year"] = draw(MONEY)
    if draw(st.booleans()):
        table["chronic"] = {"breaches": draw(st.integers(1, 4)),
                            "within": draw(st.sampled_from([2, 6, "year"])),
                            "multiplier": draw(st.sampled_from(["1", "1.5", "2"]))}
    if draw(st.booleans()):
        table["earn_back_periods"] = draw(st.integers(1, 3))
        table["earn_back_order"] = draw(st.sampled_from(["pro-rata", "contract-order"]))
    table["bonuses"] = [{"service_level": draw(st.sampled_from(list(LEVELS))),
                         "stretch": draw(STRETCH), "amount": draw(MONEY)}
                        for _ in range(draw(st.integers(0, 2)))]
    table["exclusions"] = [{"period": f"2026-0{draw(st.integers(1, 6))}", "reason": "agreed"}
                           for _ in range(draw(st.integers(0, 1)))]
    return table


def verdicts_for(statuses: list[tuple[str, str]]) -> list[Verdict]:
    out = []
    for month, pair in enumerate(statuses, start=1):
        for level, status in zip(LEVELS, pair, strict=True):
            target = parse_target(LEVELS[level])
            value = {"met": 0.95, "breached": 0.72, "critical": 0.4}[status]
            out.append(Verdict(
                service_level=level, metric="m", period=f"2026-{month:02d}", segment={},
                statistic="attainment" if target.within else "share", value=value,
                unit="rate", target=target.text, minimum=None, status=status,
                compliance=min(1.0, value / float(target.threshold)), margin=None,
                sample_size=100, unmeasured=0, excluded=0))
    return out


@given(table=tables(), fee=st.sampled_from([None, "10000.00", "333.33"]),
       statuses=st.lists(st.tuples(*[st.sampled_from(["met", "breached", "critical"])] * 2),
                         min_size=1, max_size=8))
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_terms_that_load_are_always_assessed(table, fee, statuses):
    """Any table the schema passes either is refused when the terms are read, or gives a
    schedule: assessing never raises, and every period adds up."""
    model = registry().penalty_models[table["model"]]
    _, problems = validate(table, penalty_schema(model), ("penalties",))
    if problems:
        return
    contract = hand_contract(fee)
    try:
        terms = terms_of(contract, model, table)
    except ContractError:
        return
    evaluation = Evaluation(contract=contract, verdicts=verdicts_for(statuses), sources={},
                            levels={}, manifest={})
    schedule = assess_credits(evaluation, model, terms)
    assert len(schedule.periods) == len(statuses)
    for p in schedule.periods:
        assert sum((line.amount for line in p.lines), D(0)) == p.after_caps - p.earned_back
        assert p.net == p.after_caps - p.earned_back - p.bonus_total
        assert p.capped >= 0 and p.after_caps >= 0


# --------------------------------------------------------------------------- a third-party model


class Wayward(PenaltyModel):
    """A model whose ``assess`` does what it should not: ``behaviour`` picks what."""

    name = "wayward"
    behaviour = "another period"

    def assess(self, period):
        if self.behaviour == "contract error":
            raise ContractError(None, ("penalties", "x"), "a contract problem found too late")
        if self.behaviour == "another period":
            return [CreditLine("1999-01", "a", D("1.00"), "USD", self.name, "elsewhere")]
        if self.behaviour == "negative":
            return [CreditLine(period.period, "a", D("-1.00"), "USD", self.name, "negative")]
        if self.behaviour == "float":
            return [CreditLine(period.period, "a", 1.0, "USD", self.name, "float")]
        return [PeriodCap("1999-01", D("1.00"), self.name, "elsewhere")]


@pytest.mark.parametrize(("behaviour", "message"), [
    ("contract error", "found a problem of the contract in assess"),
    ("another period", "a model credits the period it is given"),
    ("cap of another period", "a model credits the period it is given"),
    ("negative", "a credit is a Decimal >= 0"),
    ("float", "a credit is a Decimal >= 0"),
])
def test_a_model_that_misbehaves_is_reported_as_a_plugin_fault(behaviour, message):
    model = Wayward()
    model.behaviour = behaviour
    contract = hand_contract("10000.00")
    terms = terms_of(contract, model, {"model": "wayward"})
    assert terms.options == {"model": "wayward"}  # the default parse: the table as a dict
    evaluation = Evaluation(contract=contract, verdicts=verdicts_for([("breached", "met")]),
                            sources={}, levels={}, manifest={})
    with pytest.raises(PluginError, match=message) as info:
        assess_credits(evaluation, model, terms)
    assert not isinstance(info.value, ContractError)
    assert isinstance(info.value, SlaError) and '"wayward"' in str(info.value)


# --------------------------------------------------------------------------- the package's floors

CREDITS = Path(__file__).parent.parent / "slaengine" / "credits"
RESULTS = ("slaengine.verdicts", "slaengine.credits.outcomes", "slaengine.credits.rules",
           "slaengine.credits.schedule")
PRESENTATION = ("slaengine.present", "slaengine.outputs", "plugins.reporters")


def imported(path: Path) -> set[str]:
    """Every module ``path`` imports, at run time or for type checking alone."""
    import ast

    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_no_credit_module_imports_the_engine_and_the_terms_import_no_results():
    modules = {path.stem: imported(path) for path in CREDITS.glob("*.py")}
    assert {"money", "schema", "terms", "ledger", "rules", "schedule"} <= set(modules)
    for name, imports in modules.items():
        assert not any(m.startswith("slaengine.engine") for m in imports), name
    for name in ("money", "schema", "terms", "ledger"):
        upward = {m for m in modules[name] if m.startswith(RESULTS + PRESENTATION)}
        assert not upward, f"credits.{name} imports {upward}"
    for name, imports in modules.items():  # the presentation floor sits above every credit module
        assert not any(m.startswith("slaengine.present") for m in imports), name
