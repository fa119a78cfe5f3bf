"""The ``at-risk-pool`` penalty model: a share of the fee at risk, allocated over service
levels, as most IT and BPO outsourcing contracts do it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar

from slaengine import hookimpl
from slaengine.credits.ledger import CreditLine, PeriodCap
from slaengine.credits.money import FeeShare, PeriodFee, parse_percent, percent_text
from slaengine.credits.outcomes import LevelOutcome, PeriodOutcomes
from slaengine.credits.schema import AMOUNT_OR_SHARE, PERCENT
from slaengine.credits.terms import needs_fee
from slaengine.plugin import PenaltyModel

TRIGGERS = ("minimum", "target")


@dataclass(frozen=True)
class PoolTerms:
    """The amount at risk each period, each service level's allocation, and the trigger."""

    at_risk: FeeShare
    allocations: Mapping[str, Decimal]
    trigger: str


class AtRiskPoolModel(PenaltyModel):
    """An at-risk amount spread over the critical service levels (``model = "at-risk-pool"``).

    ::

        [penalties]
        model = "at-risk-pool"
        at_risk = "12%"      # of the period's fee (or an amount: "21600.00")
        allocations = { urgent-first-response = "50%", resolution = "40%", fcr = "60%" }
        trigger = "minimum"  # default; or "target"

    Each period, ``at_risk`` of the fee is at risk (the monthly fee for monthly periods, × 3 for
    a quarter, × 12 for a year, × 12 ÷ 52 for a week). A failed service level with an allocation
    costs ``at-risk amount × allocation``, rounded on its line; the period's credits are then
    capped at the at-risk amount (a ``PeriodCap``, applied after exclusions and chronic
    multipliers). Allocations may add up to more than 100% (150% is common): several failures
    reach the cap sooner, one failure never costs more than its own share.

    **Minimum and target.** A service level's ``target`` is the level expected; its ``minimum``
    is the level whose miss costs money. With ``trigger = "minimum"`` (the default) a service
    level that has a minimum costs a credit only when it is ``critical`` (below the minimum); one
    without a minimum costs when it is ``breached`` (below the target). With ``trigger =
    "target"`` any breached or critical verdict costs. Service levels without an allocation never
    cost anything; a service level broken down with ``by`` costs once, at its worst segment.
    """

    name = "at-risk-pool"
    schema: ClassVar[dict[str, Any]] = {
        "at_risk": {**AMOUNT_OR_SHARE, "required": True},
        "allocations": {"type": "dict", "required": True, "minlength": 1,
                        "valuesrules": PERCENT},
        "trigger": {"type": "string", "allowed": list(TRIGGERS)},
    }
    level_keys: ClassVar[tuple[str, ...]] = ("allocations",)

    def parse(self, options: Mapping[str, Any], fee: PeriodFee) -> PoolTerms:
        at_risk = FeeShare.parse(options["at_risk"])
        needs_fee(at_risk, fee, ("penalties", "at_risk"))
        return PoolTerms(at_risk, {k: parse_percent(v) for k, v in options["allocations"].items()},
                         options.get("trigger", "minimum"))

    def assess(self, period: PeriodOutcomes[PoolTerms]) -> Sequence[CreditLine | PeriodCap]:
        terms, fee = period.options, period.fee.amount
        pool = period.rounding(terms.at_risk.of(fee))
        pool_text = (f"{terms.at_risk.explain(fee)} = {pool}" if terms.at_risk.share is not None
                     else str(pool))
        items: list[CreditLine | PeriodCap] = []
        for outcome in period.outcomes:
            share = terms.allocations.get(outcome.service_level)
            if share is None or not costs(outcome, terms.trigger):
                continue
            amount = period.rounding(pool * share)
            items.append(CreditLine(
                period.period, outcome.service_level, amount, period.currency, self.name,
                f"{outcome.describe()}; {why(outcome, terms.trigger)}: at risk {pool_text} × "
                f"allocation {percent_text(share)} = {amount}"))
        if items:
            items.append(PeriodCap(period.period, pool, self.name, f"at-risk pool {pool_text}"))
        return items


def costs(outcome: LevelOutcome, trigger: str) -> bool:
    """Whether ``outcome`` is a failure that costs a credit under ``trigger``."""
    if trigger == "target" or not outcome.has_minimum:
        return outcome.status in ("breached", "critical")
    return outcome.status == "critical"


def why(outcome: LevelOutcome, trigger: str) -> str:
    if outcome.status == "critical":
        return "below the minimum"
    if trigger == "target":
        return "below the target (trigger = target)"
    return "below the target, and it has no minimum"

@hookimpl
def register_penalty_models() -> list[PenaltyModel]:
    return [AtRiskPoolModel()]
