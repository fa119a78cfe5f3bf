"""The money toolkit of service credits: rounding, shares of a fee, a period's fee.

Nothing here knows about verdicts or reports: these are the pieces a penalty model and the
contract's ``[penalties]`` terms are written with.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from typing import Any, Protocol

from slaengine.errors import SlaError, did_you_mean
from slaengine.money import parse_amount


class FeeTerms(Protocol):
    """What a period's fee is made from: a contract's ``monthly_fee`` and ``period``."""

    @property
    def monthly_fee(self) -> Decimal | None: ...

    @property
    def period(self) -> str: ...

ROUNDING_MODES: dict[str, str] = {
    "half-up": ROUND_HALF_UP,
    "half-even": ROUND_HALF_EVEN,
    "down": ROUND_DOWN,
}
"""``rounding = "..."`` -> the :mod:`decimal` rounding mode."""

MINOR_UNITS: dict[str, int] = {
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0,
    "RWF": 0, "UGX": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
}  # fmt: skip
"""ISO 4217 currencies whose minor unit is not the cent (every other one: 2 decimals)."""

FEE_MONTHS: dict[str, Decimal] = {"month": Decimal(1), "quarter": Decimal(3), "year": Decimal(12)}
"""A period's fee in monthly fees; a week is 12/52 of a monthly fee (see :func:`period_fee`)."""


# --------------------------------------------------------------------------- amounts


@dataclass(frozen=True)
class Rounding:
    """How every line is rounded: a mode from :data:`ROUNDING_MODES` and a number of decimals."""

    mode: str = "half-up"
    decimals: int = 2

    @property
    def quantum(self) -> Decimal:
        return Decimal(1).scaleb(-self.decimals)

    def __call__(self, amount: Decimal) -> Decimal:
        return amount.quantize(self.quantum, rounding=ROUNDING_MODES[self.mode])

    def describe(self) -> str:
        """``"half-up to 0.01"``."""
        return f"{self.mode} to {self.quantum}"


def rounding_of(options: Mapping[str, Any], currency: str) -> Rounding:
    """The rounding ``[penalties]`` asks for; by default half-up to the currency's minor unit."""
    mode = options.get("rounding", "half-up")
    if mode not in ROUNDING_MODES:
        raise SlaError(f'rounding "{mode}" is not accepted', suggestion=did_you_mean(
            str(mode), ROUNDING_MODES), accepted=list(ROUNDING_MODES))
    decimals = options.get("decimals", MINOR_UNITS.get(currency, 2))
    return Rounding(mode=mode, decimals=int(decimals))


_PERCENT = re.compile(r"([0-9]+(?:\.[0-9]+)?)%", re.ASCII)
PERCENT_FORM = 'digits with an optional "." and decimals, then "%", quoted, such as "12%" or "2.5%"'
"""The accepted form of a percentage, for messages."""


def parse_percent(text: object) -> Decimal:
    """``"12%"`` -> ``Decimal("0.12")``; written as a string so no float touches it.

    The number before ``%`` follows the one form of :func:`slaengine.money.parse_amount` (ASCII
    digits, an optional ``.`` and decimals; no comma, sign, blank or exponent).
    """
    if not isinstance(text, str):
        return _refuse_percent(text)
    match = _PERCENT.fullmatch(text)
    if match is None:
        if text.endswith("%"):
            try:
                parse_amount(text[:-1])
            except ValueError as exc:
                raise ValueError(f"{exc} before the %") from None
        raise ValueError(f"{_show(text)} is not a percentage; expected {PERCENT_FORM}")
    try:
        return parse_amount(match.group(1)) / 100
    except ValueError as exc:
        raise ValueError(f"{exc} before the %") from None


def _refuse_percent(text: object) -> Decimal:
    shown = "true or false" if isinstance(text, bool) else f"the number {text!r}"
    raise ValueError(f"found {shown}; expected {PERCENT_FORM}")


def _show(text: str, limit: int = 40) -> str:
    shown = repr(text[:limit])[1:-1]
    return f'"{shown}…"' if len(text) > limit else f'"{shown}"'


def plain(number: Decimal) -> str:
    """A Decimal without exponent or trailing zeros: ``Decimal("1.50")`` -> ``"1.5"``."""
    text = format(number.normalize(), "f")
    return text


def percent_text(share: Decimal) -> str:
    """``Decimal("0.125")`` -> ``"12.5%"``."""
    return plain(share * 100) + "%"


@dataclass(frozen=True)
class FeeShare:
    """An amount written as money (``"500.00"``) or as a share of a fee (``"12%"``)."""

    text: str
    amount: Decimal | None = None
    share: Decimal | None = None

    @classmethod
    def parse(cls, text: object) -> FeeShare:
        if isinstance(text, str) and text.strip().endswith("%"):
            return cls(text=text, share=parse_percent(text))
        return cls(text=str(text), amount=parse_amount(text))

    def of(self, fee: Decimal | None, fee_name: str = "period's fee") -> Decimal:
        """The amount: itself, or its share of ``fee`` (exact, not rounded)."""
        if self.amount is not None:
            return self.amount
        assert self.share is not None
        if fee is None:
            raise SlaError(f'"{self.text}" ' + NO_FEE.format(fee=fee_name))
        return fee * self.share

    def explain(self, fee: Decimal | None) -> str:
        """How the amount is made: ``"500.00"`` or ``"12% of 180000.00"``."""
        if self.amount is not None:
            return str(self.amount)
        return f"{percent_text(self.share or Decimal(0))} of {fee}"


@dataclass(frozen=True)
class PeriodFee:
    """The fee of one evaluation period (``amount``, None without a ``monthly_fee``), the
    monthly fee it comes from, and how it was reached (``text``, for notes).

    The monthly fee × 1 (month), 3 (quarter), 12 (year), or × 12 ÷ 52 (week, computed to 28
    significant digits and only rounded on a credit line).
    """

    amount: Decimal | None
    monthly: Decimal | None
    period: str
    text: str

    @classmethod
    def of(cls, monthly_fee: Decimal | None, period: str) -> PeriodFee:
        if monthly_fee is None:
            return cls(None, None, period, "no monthly fee")
        if period == "week":
            return cls(monthly_fee * 12 / 52, monthly_fee, period,
                       f"weekly fee ({monthly_fee} × 12 ÷ 52)")
        text = (f"monthly fee {monthly_fee}" if period == "month" else
                f"{period}ly fee ({FEE_MONTHS[period]} × {monthly_fee})")
        return cls(monthly_fee * FEE_MONTHS[period], monthly_fee, period, text)


def period_fee(contract: FeeTerms) -> Decimal | None:
    """The fee of one evaluation period of ``contract`` (see :class:`PeriodFee`); ``None`` when
    the contract has no ``monthly_fee``."""
    return PeriodFee.of(contract.monthly_fee, contract.period).amount


def period_fee_text(contract: FeeTerms) -> str:
    """How :func:`period_fee` was reached, for notes: ``"monthly fee 180000.00"``."""
    return PeriodFee.of(contract.monthly_fee, contract.period).text


NO_FEE = ("is a share of the {fee}, but the contract has no monthly_fee; add [contract] "
          "monthly_fee or write an amount")
"""Why a share of the fee cannot be paid without a ``monthly_fee`` (after the share's text)."""


def yearly_cap(cap: FeeShare, monthly_fee: Decimal | None, rounding: Rounding
               ) -> tuple[Decimal, str]:
    """The yearly cap (rounded) and how it was reached, for the note.

    A share is a share of twelve **monthly** fees whatever the period: ``"3%"`` of a quarterly,
    weekly or yearly contract with a monthly fee of 180000.00 is 3% × 12 × 180000.00 =
    64800.00, not 3% of twelve quarterly fees.
    """
    yearly = monthly_fee * 12 if monthly_fee is not None else None
    limit = rounding(cap.of(yearly, "yearly fee (12 monthly fees)"))
    if cap.share is None:
        return limit, str(limit)
    return limit, (f"{percent_text(cap.share)} of the yearly fee (12 × monthly fee {monthly_fee} "
                   f"= {yearly}) = {limit}")

