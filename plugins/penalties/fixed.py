"""The ``fixed`` penalty model: a set amount per failed service level per period."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, ClassVar

from slaengine import hookimpl
from slaengine.credits.ledger import CreditLine
from slaengine.credits.money import rounding_of
from slaengine.credits.outcomes import outcomes
from slaengine.credits.schema import AMOUNT, per_status, status_values
from slaengine.kinds import PenaltyModel
from slaengine.money import parse_amount
from slaengine.verdicts import Evaluation


class FixedModel(PenaltyModel):
    """A set amount for each service level that fails in a period (``model = "fixed"``).

    ::

        [penalties]
        model = "fixed"
        amount = "500.00"            # any breached service level, per period
        critical_amount = "1000.00"  # a miss of the minimum (status critical); default: amount
        [penalties.amounts]
        fcr = "750.00"
        urgent-first-response = { breached = "1000.00", critical = "2500.00" }

    A service level listed in ``amounts`` uses its own amount (a string: breached and critical
    alike; a table: ``breached`` and ``critical``, critical defaulting to breached). The others
    use ``amount`` and ``critical_amount``; without ``amount`` they carry no credit. Met and
    insufficient-data verdicts never cost anything. Amounts are money in the contract's currency,
    written as strings. A service level broken down with ``by`` costs once per period, at its
    worst segment's status.
    """

    name = "fixed"
    schema: ClassVar[dict[str, Any]] = {
        "amount": AMOUNT,
        "critical_amount": AMOUNT,
        "amounts": {"type": "dict", "valuesrules": per_status(AMOUNT)},
    }
    level_keys: ClassVar[tuple[str, ...]] = ("amounts",)

    def assess(self, evaluation: Evaluation, options: Mapping[str, Any]) -> list[CreditLine]:
        contract = evaluation.contract
        rounding = rounding_of(options, contract.currency)
        default: dict[str, Any] = {}
        if options.get("amount") is not None:
            default = {"breached": options["amount"],
                       "critical": options.get("critical_amount", options["amount"])}
        lines = []
        for outcome in outcomes(evaluation):
            if not outcome.failed:
                continue
            level = outcome.service_level
            own = options.get("amounts", {}).get(level)
            table = status_values(own) if own is not None else default
            text = table.get(outcome.status)
            if text is None:
                continue
            amount: Decimal = rounding(parse_amount(text))
            where = "its own amount" if own is not None else (
                "critical_amount" if outcome.status == "critical"
                and "critical_amount" in options else "amount")
            lines.append(CreditLine(
                outcome.period, level, amount, contract.currency, self.name,
                f"{outcome.describe()}; fixed credit for a {outcome.status} service level "
                f"({where}) = {amount}"))
        return lines


@hookimpl
def register_penalty_models() -> list[PenaltyModel]:
    return [FixedModel()]
