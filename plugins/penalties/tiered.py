"""The ``tiered`` penalty model: credit bands by how far compliance fell short."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from itertools import pairwise
from typing import Any, ClassVar

from slaengine import hookimpl
from slaengine.credits.ledger import CreditLine
from slaengine.credits.money import FeeShare, PeriodFee, parse_percent, percent_text
from slaengine.credits.outcomes import PeriodOutcomes
from slaengine.credits.schema import AMOUNT_OR_SHARE, PERCENT
from slaengine.credits.terms import needs_fee
from slaengine.plugin import PenaltyModel
from slaengine.readable import format_compliance


@dataclass(frozen=True)
class Band:
    """Compliance in ``[low, high)`` costs ``credit``."""

    low: Decimal
    high: Decimal
    credit: FeeShare

    def holds(self, compliance: Fraction) -> bool:
        """``low <= compliance < high``, exactly (a Decimal edge is an exact Fraction)."""
        return Fraction(self.low) <= compliance < Fraction(self.high)

    def describe(self) -> str:
        if self.low == 0:
            return f"below {percent_text(self.high)}"
        return f"{percent_text(self.low)} up to (not including) {percent_text(self.high)}"


def parse_bands(entries: list[Mapping[str, Any]]) -> list[Band]:
    """The ``bands`` list as :class:`Band` objects; ValueError if one is malformed or two
    overlap."""
    bands = []
    for i, entry in enumerate(entries):
        if "below" in entry:
            if "from" in entry or "to" in entry:
                raise ValueError(f"bands[{i}]: write either below or from and to, not both")
            low, high = Decimal(0), parse_percent(entry["below"])
        elif "from" in entry and "to" in entry:
            low, high = parse_percent(entry["from"]), parse_percent(entry["to"])
        else:
            raise ValueError(f'bands[{i}]: needs from and to (e.g. from = "95%", to = "99%") '
                             'or below (e.g. below = "90%")')
        if low >= high:
            raise ValueError(f"bands[{i}]: from {percent_text(low)} is not below to "
                             f"{percent_text(high)}")
        bands.append(Band(low, high, FeeShare.parse(entry["credit"])))
    ordered = sorted(bands, key=lambda b: b.low)
    for lower, upper in pairwise(ordered):
        if upper.low < lower.high:
            raise ValueError(f"bands {lower.describe()} and {upper.describe()} overlap")
    return bands


def _check_bands(field_name: str, value: Any, error: Any) -> None:
    try:
        parse_bands(value)
    except (ValueError, KeyError, TypeError) as exc:
        error(field_name, str(exc))


@dataclass(frozen=True)
class TieredTerms:
    """The bands, and the service levels they apply to (None: every one)."""

    bands: tuple[Band, ...]
    service_levels: frozenset[str] | None


class TieredModel(PenaltyModel):
    """Credit bands by compliance (``model = "tiered"``).

    ::

        [penalties]
        model = "tiered"
        bands = [
          { from = "95%", to = "99%", credit = "2%" },
          { from = "90%", to = "95%", credit = "5%" },
          { below = "90%", credit = "10%" },
        ]
        service_levels = ["urgent-first-response", "fcr"]   # optional; default: all

    Compliance is the verdict's achieved ÷ target in the good direction, capped at 100% (FCR
    76% against ``>= 80%`` is 95%; a p90 of 4h12m against ``<= 4h`` is 240 ÷ 252 = 95.2%).

    **Boundaries: a band owns its lower edge, not its upper one** -- ``from <= compliance <
    to``; ``below = "90%"`` means ``compliance < 90%``. So exactly 95% costs 2% (band 95-99),
    exactly 90% costs 5%, and exactly 99% costs nothing. Compliance is the verdict's exact
    fraction (72 of 100 against ``>= 80%`` is exactly 90%, never 89.99999999999999%), and the
    note prints it exactly: ``90%``, or, when it is no short decimal, cut to two decimals with
    the fraction beside it (``83.33% (exactly 5/6)``).

    Only breached and critical verdicts are credited; a failure whose compliance lies above
    every band costs nothing. ``credit`` is a share of the period's fee (``"5%"``: the monthly
    fee, × 3 for a quarter, × 12 for a year) or an amount (``"500.00"``). Bands must not overlap.
    A service level broken down with ``by`` is credited once per period, at its lowest segment.
    """

    name = "tiered"
    schema: ClassVar[dict[str, Any]] = {
        "bands": {
            "type": "list", "required": True, "minlength": 1, "check_with": _check_bands,
            "schema": {"type": "dict", "schema": {
                "from": PERCENT, "to": PERCENT, "below": PERCENT,
                "credit": {**AMOUNT_OR_SHARE, "required": True},
            }},
        },
        "service_levels": {"type": "list", "schema": {"type": "string"}},
    }
    level_keys: ClassVar[tuple[str, ...]] = ("service_levels",)

    def parse(self, options: Mapping[str, Any], fee: PeriodFee) -> TieredTerms:
        bands = tuple(parse_bands(options.get("bands", [])))
        for i, band in enumerate(bands):
            needs_fee(band.credit, fee, ("penalties", "bands", i, "credit"))
        chosen = options.get("service_levels")
        return TieredTerms(bands, frozenset(chosen) if chosen is not None else None)

    def assess(self, period: PeriodOutcomes[TieredTerms]) -> Sequence[CreditLine]:
        terms, fee = period.options, period.fee.amount
        lines = []
        for outcome in period.outcomes:
            if not outcome.failed or outcome.compliance is None:
                continue
            if terms.service_levels is not None and outcome.service_level not in (
                    terms.service_levels):
                continue
            compliance = outcome.compliance
            band = next((b for b in terms.bands if b.holds(compliance)), None)
            if band is None:
                continue
            amount = period.rounding(band.credit.of(fee))
            lines.append(CreditLine(
                period.period, outcome.service_level, amount, period.currency, self.name,
                f"{outcome.describe()}; compliance {_shown(compliance)} is in the band "
                f"{band.describe()}: {band.credit.explain(fee)} = {amount}"))
        return lines


@hookimpl
def register_penalty_models() -> list[PenaltyModel]:
    return [TieredModel()]


def _shown(compliance: Fraction) -> str:
    """Compliance for people, exactly: ``90%``, ``95.125%``. A figure that is no short decimal
    is cut (never rounded up) to two decimals, so a figure short of a band edge never shows as
    the edge, with the exact fraction beside it when that is short enough to check by hand:
    ``94.99% (exactly 18999/20000)``, ``83.33% (exactly 5/6)``."""
    scaled = compliance * 10**6
    if scaled.denominator == 1:
        return percent_text(Decimal(scaled.numerator).scaleb(-6))
    shown = format_compliance(compliance, 2, cut=True)
    if compliance.denominator > _CHECKABLE:
        return shown
    return f"{shown} (exactly {compliance})"


_CHECKABLE = 10**6
"""The largest denominator an exact compliance is written with in a credit note (a mean's
compliance, read from a float, can have sixteen digits: only the cut figure is shown)."""
