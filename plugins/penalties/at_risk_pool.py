"""The ``at-risk-pool`` penalty model: a share of the fee at risk, allocated over service
levels, as most IT and BPO outsourcing contracts do it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from slaengine import hookimpl
from slaengine.credits.ledger import CreditLine, PeriodCap
from slaengine.credits.money import FeeShare, parse_percent, percent_text, period_fee, rounding_of
from slaengine.credits.outcomes import LevelOutcome, outcomes
from slaengine.credits.schema import AMOUNT_OR_SHARE, PERCENT
from slaengine.errors import SlaError
from slaengine.kinds import PenaltyModel
from slaengine.verdicts import Evaluation

TRIGGERS = ("minimum", "target")


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

    def assess(self, evaluation: Evaluation, options: Mapping[str, Any]
               ) -> list[CreditLine | PeriodCap]:
        contract = evaluation.contract
        rounding = rounding_of(options, contract.currency)
        fee = period_fee(contract)
        at_risk = FeeShare.parse(options["at_risk"])
        pool = rounding(at_risk.of(fee))
        pool_text = f"{at_risk.explain(fee)} = {pool}" if at_risk.share is not None else str(pool)
        trigger = options.get("trigger", "minimum")
        if trigger not in TRIGGERS:
            raise SlaError(f'trigger "{trigger}" is not accepted', accepted=TRIGGERS)
        allocations = {k: parse_percent(v) for k, v in options["allocations"].items()}
        items: list[CreditLine | PeriodCap] = []
        capped: set[str] = set()
        for outcome in outcomes(evaluation):
            share = allocations.get(outcome.service_level)
            if share is None or not costs(outcome, trigger):
                continue
            amount = rounding(pool * share)
            items.append(CreditLine(
                outcome.period, outcome.service_level, amount, contract.currency, self.name,
                f"{outcome.describe()}; {why(outcome, trigger)}: at risk {pool_text} × "
                f"allocation {percent_text(share)} = {amount}"))
            if outcome.period not in capped:
                capped.add(outcome.period)
                items.append(PeriodCap(outcome.period, pool, self.name,
                                       f"at-risk pool {pool_text}"))
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
