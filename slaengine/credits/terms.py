"""The ``[penalties]`` terms every model shares, as typed objects."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from slaengine.credits.money import FeeShare
from slaengine.credits.schema import EARN_BACK_ORDERS, YEAR_WINDOW
from slaengine.errors import did_you_mean
from slaengine.money import parse_amount
from slaengine.targets import Target, parse_target
from slaengine.years import periods_per_year


@dataclass(frozen=True)
class _Exclusion:
    period: str
    service_level: str | None
    reason: str


@dataclass(frozen=True)
class _Chronic:
    breaches: int
    within: int | None  # None: the contract year
    multiplier: Decimal
    note: str

    def window(self, failures: list[int], i: int, years: list[str]) -> list[int]:
        """The failures (period indices) that count at period ``i``: the last ``within``
        periods, or the contract year of ``i`` so far."""
        if self.within is None:
            return [j for j in failures if years[j] == years[i]]
        return [j for j in failures if j > i - self.within]

    def describe(self, year: str) -> str:
        """``"within 6 periods"`` or ``"within contract year 2026/27"``."""
        return f"within contract year {year}" if self.within is None else (
            f"within {self.within} periods")


@dataclass(frozen=True)
class _Bonus:
    index: int
    service_level: str
    stretch: Target
    amount: FeeShare
    note: str


@dataclass
class _Common:
    exclusions: list[_Exclusion]
    earn_back: int | None
    chronic: _Chronic | None
    cap_per_period: FeeShare | None
    cap_per_year: FeeShare | None
    bonuses: list[_Bonus]
    earn_back_order: str = "pro-rata"

    @classmethod
    def parse(cls, options: Mapping[str, Any], fail: Any, period: str = "month") -> _Common:
        try:
            exclusions = [_Exclusion(e["period"], e.get("service_level"), e["reason"])
                          for e in options.get("exclusions") or []]
            chronic = None
            if options.get("chronic"):
                c = options["chronic"]
                within = None if c["within"] == YEAR_WINDOW else int(c["within"])
                chronic = _Chronic(int(c["breaches"]), within,
                                   parse_amount(c.get("multiplier", "1")), c.get("note", ""))
                room = periods_per_year(period) if within is None else within
                if chronic.breaches > room:
                    where = (f"a contract year ({room} {period}s at most)" if within is None
                             else f"{within} periods")
                    fail(("penalties", "chronic", "breaches"),
                         f"{chronic.breaches} breaches cannot fit within {where}")
            bonuses = [
                _Bonus(i, b["service_level"], parse_target(b["stretch"]),
                       FeeShare.parse(b["amount"]), b.get("note", ""))
                for i, b in enumerate(options.get("bonuses") or [])
            ]
            caps = [FeeShare.parse(options[k]) if options.get(k) is not None else None
                    for k in ("cap_per_period", "cap_per_year")]
        except (KeyError, ValueError, TypeError) as exc:
            fail(("penalties",), f"cannot read the common penalty keys: {exc}")
            raise AssertionError("unreachable") from exc
        earn_back = options.get("earn_back_periods")
        order = options.get("earn_back_order", EARN_BACK_ORDERS[0])
        if order not in EARN_BACK_ORDERS:
            fail(("penalties", "earn_back_order"), f'"{order}" is not accepted',
                 did_you_mean(str(order), EARN_BACK_ORDERS), list(EARN_BACK_ORDERS))
        return cls(exclusions, int(earn_back) if earn_back else None, chronic, caps[0], caps[1],
                   bonuses, order)

    def exclusion(self, period: str, level: str | None) -> int | None:
        """The index of the first exclusion covering ``level`` in ``period``, if any."""
        for index, exclusion in enumerate(self.exclusions):
            if exclusion.period == period and exclusion.service_level in (None, level):
                return index
        return None


