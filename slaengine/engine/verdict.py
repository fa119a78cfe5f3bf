"""A verdict from a level's figures for one period and segment: status, compliance, margin.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

from slaengine.calendars import ALWAYS, Calendar
from slaengine.contract import Contract, ServiceLevel, statistic_unit
from slaengine.lazy import np, pa
from slaengine.periods import period_bounds, period_label
from slaengine.plugin import Metric, PeriodFigures
from slaengine.targets import exact_figure
from slaengine.verdicts import Verdict


@dataclass(frozen=True)
class Figures:
    """What a level found in one period and segment, for its verdict.

    ``value`` is the statistic (None: nothing to measure); ``sample_size`` the records it was
    computed on; ``unmeasured`` records counted but without a measure; ``excluded`` records
    left out by ``where`` or by agreement; ``hits`` the successes of a share or an attainment
    (None for other statistics); ``missed`` the first ids of the records that missed and
    ``missed_count`` all of them; ``paused`` the seconds paused (None: no pause applies).
    """

    value: float | Decimal | None
    sample_size: int
    unmeasured: int = 0
    excluded: int = 0
    hits: int | None = None
    missed: tuple[str, ...] = ()
    missed_count: int = 0
    paused: float | None = None


def verdict(level: ServiceLevel, metric: Metric, period: str, segment: dict[str, Any],
            figures: Figures) -> Verdict:
    """One verdict: the status, compliance and margin of the figures against the targets.

    Status and compliance are decided on the exact figure: ``hits / n`` for a share or an
    attainment, a Decimal as it is, a float as the decimal it prints as (see
    :func:`slaengine.targets.exact_figure`).
    """
    value, n, hits = figures.value, figures.sample_size, figures.hits
    counts = {"hits": hits, "n": n} if hits is not None else {}
    figure = value if value is None or hits is not None else exact_figure(value)
    target = level.target
    return Verdict(
        service_level=level.id, metric=level.metric, period=period, segment=segment,
        statistic=level.statistic, value=value,
        unit=statistic_unit(level.statistic, metric), target=target.text,
        minimum=level.minimum.text if level.minimum else None,
        status=status(level, figure, n, counts),
        compliance=target.compliance(figure, **counts),
        margin=target.margin(_float(value)), sample_size=n, unmeasured=figures.unmeasured,
        excluded=figures.excluded, missed_count=figures.missed_count, missed=figures.missed,
        paused=figures.paused, hits=hits,
    )


def period_verdicts(level: ServiceLevel, metric: Metric, periods: np.ndarray,
                    labels: Sequence[str], figures: PeriodFigures,
                    excluded: Mapping[int, int]) -> list[Verdict]:
    """The verdicts of a period-level service level, one per period (``periods``: keys;
    ``excluded``: per key, the records left out)."""
    return [verdict(level, metric, label, {}, Figures(
        value=figures.value[p], sample_size=int(figures.sample_size[p]),
        excluded=excluded.get(int(periods[p]), 0))) for p, label in enumerate(labels)]


def closed_periods(contract: Contract, calendar: Calendar, periods: np.ndarray) -> np.ndarray:
    """Which periods hold no business time at all in ``calendar`` (all holidays, say)."""
    if calendar is ALWAYS or not len(periods):
        return np.zeros(len(periods), dtype=bool)
    starts, ends = period_bounds(periods, contract.period, contract.timezone)
    instants = pa.timestamp("us", tz="UTC")
    seconds = calendar.elapsed(pa.array(starts, instants), pa.array(ends, instants))
    return np.asarray(seconds.to_numpy(zero_copy_only=False)) == 0


def period_labels(contract: Contract, periods: np.ndarray) -> list[str]:
    """The label of each period key (``2026-03``)."""
    label = period_label(contract.period)
    return [label(int(p)) for p in periods]


def _float(value: float | Decimal | None) -> float | None:
    return float(value) if value is not None else None


def status(
    level: ServiceLevel, value: float | Decimal | Fraction | None, n: int,
    counts: dict[str, int],
) -> str:
    """met, breached, critical (below the minimum) or insufficient_data (below min_sample).

    ``counts`` (hits and n) makes share and attainment comparisons exact.
    """
    if value is None or n < level.min_sample:
        return "insufficient_data"
    if level.target.holds(value, **counts):
        return "met"
    if level.minimum is not None and not level.minimum.holds(value, **counts):
        return "critical"
    return "breached"
