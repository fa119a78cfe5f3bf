"""The ``percent-of-fee`` penalty model: each service level's credit is a share of the fee."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from slaengine import hookimpl
from slaengine.credits.ledger import CreditLine
from slaengine.credits.money import (
    parse_percent,
    percent_text,
    period_fee,
    period_fee_text,
    rounding_of,
)
from slaengine.credits.outcomes import outcomes
from slaengine.credits.schema import PERCENT, per_status, status_values
from slaengine.errors import SlaError
from slaengine.kinds import PenaltyModel
from slaengine.verdicts import Evaluation


class PercentOfFeeModel(PenaltyModel):
    """Each failed service level costs a share of the period's fee (``model = "percent-of-fee"``).

    ::

        [penalties]
        model = "percent-of-fee"
        credits = { urgent-first-response = "5%", fcr = { breached = "2%", critical = "4%" } }

    Only the service levels listed in ``credits`` carry a credit: a string applies to a breached
    and a critical verdict alike; a table gives ``breached`` and ``critical`` (critical defaults
    to breached). The fee is the contract's ``monthly_fee`` for monthly periods, × 3 for
    quarters, × 12 for years and × 12 ÷ 52 for weeks; the contract must have one. Credit =
    fee × share, rounded once on the line. A service level broken down with ``by`` costs once per
    period, at its worst segment's status.
    """

    name = "percent-of-fee"
    schema: ClassVar[dict[str, Any]] = {
        "credits": {"type": "dict", "required": True, "valuesrules": per_status(PERCENT)},
    }
    level_keys: ClassVar[tuple[str, ...]] = ("credits",)

    def assess(self, evaluation: Evaluation, options: Mapping[str, Any]) -> list[CreditLine]:
        contract = evaluation.contract
        rounding = rounding_of(options, contract.currency)
        fee = period_fee(contract)
        credits = options.get("credits", {})
        lines = []
        for outcome in outcomes(evaluation):
            if not outcome.failed or outcome.service_level not in credits:
                continue
            text = status_values(credits[outcome.service_level]).get(outcome.status)
            if text is None:
                continue
            if fee is None:
                raise SlaError('the percent-of-fee penalty model needs [contract] monthly_fee')
            share = parse_percent(text)
            amount = rounding(fee * share)
            lines.append(CreditLine(
                outcome.period, outcome.service_level, amount, contract.currency, self.name,
                f"{outcome.describe()}; {percent_text(share)} of the {period_fee_text(contract)}"
                f" = {amount}"))
        return lines


@hookimpl
def register_penalty_models() -> list[PenaltyModel]:
    return [PercentOfFeeModel()]
