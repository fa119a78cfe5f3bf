"""Figures as people read them: a value in its unit, a compliance percentage, a margin.

One spelling for each figure wherever it is shown: a reporter's cell, a credit line's note, a
penalty model's explanation. Exact figures (Fraction, Decimal) are rounded from their exact
value, never through a float.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction


def format_compliance(
    compliance: Fraction | Decimal | float | None, decimals: int = 1, *, cut: bool = False
) -> str:
    """Compliance as a percentage for people, from the exact figure, without binary noise:
    9/10 -> ``"90.0%"``, 5/6 -> ``"83.3%"``, 2/3 -> ``"66.7%"``.

    Rounded half-up to ``decimals``; with ``cut``, cut off instead, so a figure short of a band
    edge never shows as the edge (0.94999 -> ``"94.99%"`` at two decimals, not ``"95.00%"``).
    A float (a compliance read back from a JSON report) is taken as the decimal it prints as.
    """
    if compliance is None:
        return "—"
    from slaengine.targets import exact_figure

    exact = exact_figure(compliance)
    if isinstance(exact, float):
        return f"{exact * 100:.{decimals}f}%"
    scaled = abs(exact) * 100 * 10**decimals + (0 if cut else Fraction(1, 2))
    whole = scaled.numerator // scaled.denominator * (1 if exact >= 0 else -1)
    return f"{Decimal(whole).scaleb(-decimals):f}%"


def format_value(value: float | Decimal | None, unit: str) -> str:
    """A value as people read it: ``45min``, ``93.4%``, ``4.21``, ``+30.0``, ``1234``,
    ``1,234.50`` (money)."""
    from slaengine.targets import format_duration

    if value is None:
        return "—"
    if unit == "duration":
        return format_duration(value)
    if unit == "rate":
        return f"{value * 100:.1f}%"
    if unit == "points":
        return f"{value:+.1f}"
    if unit == "count":
        return f"{value:.0f}"
    if unit == "money":
        return f"{Decimal(value):,.2f}" if isinstance(value, Decimal) else f"{value:,.2f}"
    return f"{value:.2f}"


def format_margin(value: float | None, unit: str) -> str:
    """A signed margin: ``+15min`` room to spare, ``-2.3pp`` missed by."""
    if value is None:
        return "—"
    sign = "+" if value >= 0 else "-"
    if unit == "rate":
        return f"{sign}{abs(value) * 100:.1f}pp"
    return sign + format_value(abs(value), unit).lstrip("+")
