"""The ``fixed`` penalty model: a set amount per failed service level per period."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, ClassVar

from slaengine import hookimpl
from slaengine.credits.ledger import CreditLine
from slaengine.credits.money import PeriodFee
from slaengine.credits.outcomes import PeriodOutcomes
from slaengine.credits.schema import AMOUNT, per_status, status_values
from slaengine.money import parse_amount
from slaengine.plugin import PenaltyModel


@dataclass(frozen=True)
class FixedTerms:
    """``amount`` and ``critical_amount`` by status (``default``; empty without ``amount``),
    ``amounts`` by service level and status (``own``), and whether ``critical_amount`` was
    written (the notes name the key that set an amount)."""

    default: Mapping[str, Decimal] = field(default_factory=dict)
    own: Mapping[str, Mapping[str, Decimal]] = field(default_factory=dict)
    critical_written: bool = False


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

    def parse(self, options: Mapping[str, Any], fee: PeriodFee) -> FixedTerms:
        default: dict[str, Decimal] = {}
        if options.get("amount") is not None:
            default = {"breached": parse_amount(options["amount"]),
                       "critical": parse_amount(options.get("critical_amount",
                                                            options["amount"]))}
        own = {level: {status: parse_amount(text) for status, text in status_values(value).items()}
               for level, value in (options.get("amounts") or {}).items()}
        return FixedTerms(default, own, "critical_amount" in options)

    def assess(self, period: PeriodOutcomes[FixedTerms]) -> Sequence[CreditLine]:
        terms = period.options
        lines = []
        for outcome in period.outcomes:
            if not outcome.failed:
                continue
            level = outcome.service_level
            table = terms.own.get(level, terms.default)
            if outcome.status not in table:
                continue
            amount = period.rounding(table[outcome.status])
            where = "its own amount" if level in terms.own else (
                "critical_amount" if outcome.status == "critical" and terms.critical_written
                else "amount")
            lines.append(CreditLine(
                period.period, level, amount, period.currency, self.name,
                f"{outcome.describe()}; fixed credit for a {outcome.status} service level "
                f"({where}) = {amount}"))
        return lines


@hookimpl
def register_penalty_models() -> list[PenaltyModel]:
    return [FixedModel()]
