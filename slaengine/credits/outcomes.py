"""What a penalty model is given: each period's :class:`PeriodOutcomes`, one
:class:`LevelOutcome` per service level, with the fee and the model's own parsed options."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Generic, TypeVar

from slaengine.credits.money import PeriodFee, Rounding
from slaengine.credits.schema import FAILED
from slaengine.readable import format_value
from slaengine.targets import exact_figure
from slaengine.verdicts import Evaluation, Status, Verdict

_SEVERITY: dict[str, int] = {"met": 0, "insufficient_data": 1, "breached": 2, "critical": 3}


@dataclass(frozen=True)
class LevelOutcome:
    """One service level in one period, over all its segments.

    ``status`` is the worst segment's (critical > breached > insufficient_data > met),
    ``compliance`` the lowest known one as an exact Fraction (None if no segment has one).
    """

    service_level: str
    period: str
    status: Status
    compliance: Fraction | None
    verdicts: tuple[Verdict, ...]

    @property
    def failed(self) -> bool:
        return self.status in FAILED

    @property
    def has_minimum(self) -> bool:
        return any(v.minimum is not None for v in self.verdicts)

    def describe(self) -> str:
        """``"fcr critical in 2026-03: 65.0% against target >= 80% (minimum >= 70%)"``."""
        parts = []
        for v in self.verdicts:
            if v.status != self.status:
                continue
            text = f"{format_value(v.value, v.unit)} against target {v.target}"
            if v.minimum:
                text += f" (minimum {v.minimum})"
            segment = ", ".join(f"{k}={x}" for k, x in v.segment.items())
            parts.append(f"{segment}: {text}" if segment else text)
        status = self.status.replace("_", " ")
        return f"{self.service_level} {status} in {self.period}: " + "; ".join(parts)


def outcomes(evaluation: Evaluation) -> list[LevelOutcome]:
    """One :class:`LevelOutcome` per service level and period: by period, then contract order."""
    return level_outcomes(evaluation.verdicts)


def level_outcomes(verdicts: Iterable[Verdict]) -> list[LevelOutcome]:
    """:func:`outcomes` of any verdicts (an evaluation's, with earlier periods' before them)."""
    grouped: dict[tuple[str, str], list[Verdict]] = {}
    for verdict in verdicts:
        grouped.setdefault((verdict.service_level, verdict.period), []).append(verdict)
    result = []
    for (level, period), verdicts in grouped.items():
        status = max((v.status for v in verdicts), key=_SEVERITY.__getitem__)
        known = [exact_compliance(v.compliance) for v in verdicts if v.compliance is not None]
        result.append(LevelOutcome(level, period, status, min(known) if known else None,
                                   tuple(verdicts)))
    return sorted(result, key=lambda o: o.period)


def exact_compliance(compliance: Fraction | Decimal | float) -> Fraction:
    """A verdict's compliance as the exact Fraction that decides bands and credits.

    The engine's verdicts carry it exact already (72 of 100 against ``>= 80%`` is 9/10, never
    0.8999999999999999); a Decimal is exact too, and a float (a verdict made by hand) is read
    as the decimal it prints as. Compare it with Decimal band edges directly: a Fraction and a
    Decimal compare exactly.
    """
    exact = exact_figure(compliance)
    if not isinstance(exact, Fraction):
        raise ValueError(f"compliance {compliance!r} is not a finite number")
    return exact


OptionsT = TypeVar("OptionsT")


@dataclass(frozen=True)
class PeriodOutcomes(Generic[OptionsT]):
    """What a penalty model's ``assess`` is given for one period.

    ``outcomes``: one per service level with a verdict in ``period``, in the contract's order.
    ``fee``: the fee of one period (``fee.amount`` is None without a ``monthly_fee``; a model
    whose terms need one refuses them in its ``parse``). ``currency`` and ``rounding``: for the
    lines it makes (each is rounded again when it is entered in the ledger). ``options``: what
    the model's ``parse`` made of its own keys when the contract was read.
    """

    period: str
    outcomes: tuple[LevelOutcome, ...]
    fee: PeriodFee
    currency: str
    rounding: Rounding
    options: OptionsT
