"""The ``percent-of-fee`` penalty model: each service level's credit is a share of the fee."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, ClassVar

from slaengine import hookimpl
from slaengine.credits.ledger import CreditLine
from slaengine.credits.money import PeriodFee, parse_percent, percent_text
from slaengine.credits.outcomes import PeriodOutcomes
from slaengine.credits.schema import PERCENT, per_status, status_values
from slaengine.credits.terms import TermsProblem
from slaengine.plugin import PenaltyModel

Shares = Mapping[str, Mapping[str, Decimal]]
"""Service level -> failing status -> share of the period's fee."""


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

    def parse(self, options: Mapping[str, Any], fee: PeriodFee) -> Shares:
        shares = {level: {status: parse_percent(text)
                          for status, text in status_values(value).items()}
                  for level, value in (options.get("credits") or {}).items()}
        if shares and fee.monthly is None:
            raise TermsProblem(("penalties", "credits"),
                               "the percent-of-fee penalty model needs [contract] monthly_fee")
        return shares

    def assess(self, period: PeriodOutcomes[Shares]) -> Sequence[CreditLine]:
        lines = []
        for outcome in period.outcomes:
            share = period.options.get(outcome.service_level, {}).get(outcome.status)
            if not outcome.failed or share is None:
                continue
            assert period.fee.amount is not None  # refused in parse
            amount = period.rounding(period.fee.amount * share)
            lines.append(CreditLine(
                period.period, outcome.service_level, amount, period.currency, self.name,
                f"{outcome.describe()}; {percent_text(share)} of the {period.fee.text}"
                f" = {amount}"))
        return lines


@hookimpl
def register_penalty_models() -> list[PenaltyModel]:
    return [PercentOfFeeModel()]
