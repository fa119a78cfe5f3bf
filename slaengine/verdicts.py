"""What an evaluation produces: verdicts with their evidence, row accounting and a manifest."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Literal

from slaengine.kinds import reject_schema
from slaengine.lazy import pa

if TYPE_CHECKING:
    from slaengine.contract import Contract
    from slaengine.credits.ledger import CreditSchedule

Status = Literal["met", "breached", "critical", "insufficient_data"]
STATUSES: tuple[Status, ...] = ("met", "breached", "critical", "insufficient_data")


@dataclass(frozen=True)
class Verdict:
    """One service level in one period and segment.

    ``value`` is in base units: seconds for durations, a fraction 0-1 for rates, the plain
    number otherwise (``unit`` says which). ``sample_size`` is the number of records the
    statistic covers (for an attainment target every record, measured or not; otherwise the
    measured ones); ``unmeasured`` the records whose measure is null (never answered, never
    resolved, no survey answer); ``excluded`` the records of the period that ``where`` left out.
    ``compliance`` is achieved ÷ target in the good direction, capped at 1, as an exact Fraction
    (72 of 100 against ``>= 80%`` is exactly 9/10: it decides credit bands); ``hits`` the
    records that counted as achieved for a share or attainment (the exact figure is ``hits /
    sample_size``), None for other statistics; ``margin`` is the
    distance to the target on the good side (negative: missed by that much). ``missed`` holds the
    ids of the records that missed a per-record target (attainment, share, percentiles), at most
    :data:`MISSED_LIMIT` of them; ``missed_count`` is the full number. ``paused`` is the total
    of seconds the clock stood still (``pause``), None when no pause applies. Money values are
    exact Decimals. ``outlook`` is set for the running period of an ``--as-of`` evaluation
    (see :mod:`slaengine.outlook`); ``provisional`` marks a verdict of a period not over at the
    ``--as-of`` instant (its figure may still change). ``note`` says why a verdict is not what
    its numbers alone would give (a period in which the level's calendar is never open).
    """

    service_level: str
    metric: str
    period: str
    segment: dict[str, str]
    statistic: str
    value: float | Decimal | None
    unit: str
    target: str
    minimum: str | None
    status: Status
    compliance: Fraction | None
    margin: float | None
    sample_size: int
    unmeasured: int
    excluded: int
    missed_count: int = 0
    missed: tuple[str, ...] = ()
    paused: float | None = None
    outlook: dict[str, Any] | None = None
    note: str | None = None
    provisional: bool = False
    hits: int | None = None


MISSED_LIMIT = 1000

FAILED: tuple[Status, ...] = ("breached", "critical")
"""The statuses of a failed verdict (those breach evidence is written for)."""


@dataclass(frozen=True)
class Concentration:
    """How concentrated the miss of a mean or order-statistic target is: ``value`` is the
    figure the verdict would have without its ``left_out`` worst measures (the worst 1% of its
    sample, at least one); None when nothing would be left."""

    left_out: int
    value: float | None


def verdict_key(verdict: Verdict) -> tuple[str, str, tuple]:
    """A verdict's place: service level, period and segment (values in ``by`` order)."""
    return (verdict.service_level, verdict.period, tuple(verdict.segment.items()))


@dataclass
class SourceAccount:
    """Every row a source read, accounted for: ``read == accepted + rejected + duplicates``.

    ``rejected_by_reason`` counts rejected rows by reason (the offending values left out);
    ``duplicates`` are rows superseded by a later version of the same record. With
    ``--as-of``, ``after_as_of`` of the accepted records lie after that instant and were left out.
    """

    source: str
    adapter: str
    path: str
    read: int = 0
    accepted: int = 0
    rejected: int = 0
    duplicates: int = 0
    rejected_by_reason: dict[str, int] = field(default_factory=dict)
    after_as_of: int = 0
    notes: dict[str, int] = field(default_factory=dict)

    @property
    def reconciles(self) -> bool:
        return self.read == self.accepted + self.rejected + self.duplicates


@dataclass
class LevelAccount:
    """How a service level used its source's accepted records:
    ``accepted == included + excluded + outside_window`` (``excluded``: left out by ``where``
    or by an agreed exclusion — ``agreed`` counts the latter by reason; ``outside_window``: in
    periods outside the contract's ``start``..``end``). With ``period_by``, ``without_period``
    records have no time in that field yet (unresolved) and belong to no period: counted apart,
    so ``accepted == included + excluded + outside_window + without_period``."""

    service_level: str
    source: str
    accepted: int
    included: int
    excluded: int
    outside_window: int = 0
    agreed: dict[str, int] = field(default_factory=dict)
    without_period: int = 0


@dataclass
class Evaluation:
    """The result of evaluating a contract: what reporters render and ``verify`` re-checks."""

    contract: Contract
    verdicts: list[Verdict]
    sources: dict[str, SourceAccount]
    levels: dict[str, LevelAccount]
    manifest: dict[str, Any]
    rejected: pa.Table = field(default_factory=lambda: reject_schema().empty_table())
    evidence: dict[str, pa.Table] = field(default_factory=dict)
    concentration: dict[tuple[str, str, tuple], Concentration] = field(default_factory=dict)
    credits: CreditSchedule | None = None

    def verdict(self, service_level: str, period: str, **segment: str) -> Verdict:
        """The verdict of ``service_level`` in ``period`` (and segment, if the level has one)."""
        for verdict in self.verdicts:
            if (verdict.service_level, verdict.period, verdict.segment) == (
                service_level, period, segment
            ):
                return verdict
        raise KeyError(f"no verdict for {service_level} in {period} {segment or ''}".strip())

    def count(self, status: Status) -> int:
        return sum(1 for v in self.verdicts if v.status == status)

    @property
    def periods(self) -> list[str]:
        return sorted({v.period for v in self.verdicts})


def evaluation_to_dict(evaluation: Evaluation) -> dict[str, Any]:
    """The stable, documented JSON shape of an evaluation (see the README).

    Durations are seconds, rates and compliance fractions 0-1, money strings.
    """
    contract = evaluation.contract
    document = {
        "schema_version": 1,  # slaengine.jsonschema.REPORT_SCHEMA_VERSION: the report's shape
        "contract": {
            "id": contract.id, "client": contract.client, "vendor": contract.vendor,
            "period": contract.period, "timezone": contract.timezone,
            "currency": contract.currency,
            "monthly_fee": str(contract.monthly_fee) if contract.monthly_fee is not None else None,
        },
        "manifest": evaluation.manifest,
        "summary": {status: evaluation.count(status) for status in STATUSES},
        "verdicts": [
            {
                "service_level": v.service_level, "metric": v.metric, "period": v.period,
                "segment": v.segment, "statistic": v.statistic,
                "value": str(v.value) if isinstance(v.value, Decimal) else v.value,
                "unit": v.unit, "target": v.target, "minimum": v.minimum, "status": v.status,
                "compliance": _number(v.compliance), "margin": v.margin,
                "sample_size": v.sample_size, "unmeasured": v.unmeasured, "excluded": v.excluded,
                "missed_count": v.missed_count, "missed": list(v.missed), "paused": v.paused,
                **({"outlook": v.outlook} if v.outlook is not None else {}),
                **({"note": v.note} if v.note else {}),
                **({"provisional": True} if v.provisional else {}),
            }
            for v in evaluation.verdicts
        ],
        "sources": {
            name: {"adapter": a.adapter, "path": a.path, "read": a.read, "accepted": a.accepted,
                   "rejected": a.rejected, "duplicates": a.duplicates,
                   "rejected_by_reason": a.rejected_by_reason,
                   **({"after_as_of": a.after_as_of} if a.after_as_of else {}),
                   **({"notes": a.notes} if a.notes else {})}
            for name, a in evaluation.sources.items()
        },
        "service_levels": {
            name: {"source": a.source, "accepted": a.accepted, "included": a.included,
                   "excluded": a.excluded, "outside_window": a.outside_window,
                   "agreed_exclusions": a.agreed,
                   **({"without_period": a.without_period} if a.without_period else {})}
            for name, a in evaluation.levels.items()
        },
    }
    if evaluation.credits is not None:
        from slaengine.credits.present import schedule_to_dict

        document.update(schedule_to_dict(evaluation.credits))
    return document


def _number(value: Fraction | float | None) -> float | None:
    """An exact figure as the JSON number it is written as (the float nearest to it)."""
    return None if value is None else float(value)


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
