"""The credit schedule: ledger lines, period and year totals, flags."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from slaengine.credits.money import Rounding

EXCLUSION, CHRONIC, CAP_PER_PERIOD, CAP_PER_YEAR, EARN_BACK, BONUS = (
    "exclusion", "chronic", "cap-per-period", "cap-per-year", "earn-back", "bonus",
)
"""The ``rule`` of the lines the common steps add (a model's own lines carry its name)."""


@dataclass(frozen=True)
class CreditLine:
    """One step of a period's ledger: signed ``amount`` (positive: owed to the client).

    ``service_level`` is None for a step on the whole period (a cap). ``rule`` names the model
    or the common step that made the line; ``note`` says why, with the arithmetic.
    ``provisional``: the line's period was not over at the ``--as-of`` instant.
    """

    period: str
    service_level: str | None
    amount: Decimal
    currency: str
    rule: str
    note: str
    provisional: bool = False


@dataclass(frozen=True)
class PeriodCap:
    """A cap a model puts on one period's credits (the at-risk pool), applied after exclusions
    and chronic multipliers and before the contract's own caps."""

    period: str
    amount: Decimal
    rule: str
    note: str


@dataclass(frozen=True)
class Flag:
    """Something the report must show besides money: ``chronic-failure``,
    ``earn-back-pending``, ``exclusion-unused``."""

    kind: str
    service_level: str | None
    periods: tuple[str, ...]
    note: str


@dataclass(frozen=True)
class AppliedExclusion:
    """One exclusion of the contract and the credit it waived (0: nothing was due)."""

    period: str
    service_level: str | None
    reason: str
    waived: Decimal


@dataclass
class Totals:
    """The money totals of a period or a year (see the module doc for each step)."""

    before_caps: Decimal = Decimal(0)
    capped: Decimal = Decimal(0)
    after_caps: Decimal = Decimal(0)
    earned_back: Decimal = Decimal(0)
    bonus_total: Decimal = Decimal(0)
    net: Decimal = Decimal(0)


TOTALS = ("before_caps", "capped", "after_caps", "earned_back", "bonus_total", "net")
"""The fields of :class:`Totals`."""


@dataclass
class PeriodCredits(Totals):
    """One period's ledger (``lines``), its bonuses, and its totals; ``provisional`` when the
    period was not over at the ``--as-of`` instant (its verdicts, and so its credits, may still
    change)."""

    period: str = ""
    lines: list[CreditLine] = field(default_factory=list)
    bonuses: list[CreditLine] = field(default_factory=list)
    provisional: bool = False


@dataclass
class YearTotals(Totals):
    """The periods of one contract year added up; ``year`` is its label: ``2026`` (calendar
    years, the default) or ``2026/27`` (``year_start = "04-01"``).

    ``provisional`` is the part of these totals from provisional periods (None when the year
    has none); :attr:`final` the rest, from periods that are over.
    """

    year: str = ""
    provisional: Totals | None = None

    @property
    def final(self) -> Totals:
        """The part of the year's totals from periods that were over at ``--as-of``."""
        if self.provisional is None:
            return self
        return Totals(**{name: getattr(self, name) - getattr(self.provisional, name)
                         for name in TOTALS})


@dataclass
class CreditSchedule:
    """Every period's credits, the yearly totals, the flags and the exclusions applied."""

    model: str
    currency: str
    rounding: Rounding
    periods: list[PeriodCredits]
    years: list[YearTotals]
    flags: list[Flag]
    exclusions: list[AppliedExclusion]
    year_start: str = "01-01"
    earn_back_order: str = "pro-rata"

    @property
    def credits(self) -> list[CreditLine]:
        return [line for p in self.periods for line in p.lines]

    @property
    def bonuses(self) -> list[CreditLine]:
        return [line for p in self.periods for line in p.bonuses]

    def period(self, label: str) -> PeriodCredits:
        for credits in self.periods:
            if credits.period == label:
                return credits
        raise KeyError(label)


