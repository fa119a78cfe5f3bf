"""A verdict from a level's figures for one period and segment: status, compliance, margin.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import numpy as np
import pyarrow as pa

from slaengine.calendars import ALWAYS, Calendar
from slaengine.contract import Contract, ServiceLevel, statistic_unit
from slaengine.kinds import (
    Metric,
)
from slaengine.periods import period_bounds, period_label
from slaengine.targets import exact_figure
from slaengine.verdicts import (
    Verdict,
)


def verdict(
    level: ServiceLevel, metric: Metric, period: str, segment: dict, value: float | Decimal | None,
    n: int, unmeasured: int, excluded: int, hits: int | None,
    missed: tuple[tuple[str, ...], int], paused: float | None,
) -> Verdict:
    """One verdict: the status, compliance and margin of ``value`` against the targets.

    Status and compliance are decided on the exact figure: ``hits / n`` for a share or an
    attainment, a Decimal as it is, a float as the decimal it prints as (see
    :func:`slaengine.targets.exact_figure`).
    """
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
        margin=target.margin(_float(value)), sample_size=n, unmeasured=unmeasured,
        excluded=excluded, missed_count=missed[1], missed=missed[0], paused=paused, hits=hits,
    )


def closed_periods(contract: Contract, calendar: Calendar, periods: np.ndarray) -> np.ndarray:
    """Which periods hold no business time at all in ``calendar`` (all holidays, say)."""
    if calendar is ALWAYS or not len(periods):
        return np.zeros(len(periods), dtype=bool)
    starts, ends = period_bounds(periods, contract.period, contract.timezone)
    instants = pa.timestamp("us", tz="UTC")
    seconds = calendar.elapsed(pa.array(starts, instants), pa.array(ends, instants))
    return np.asarray(seconds.to_numpy(zero_copy_only=False)) == 0


def _labels(contract: Contract, periods: np.ndarray) -> list[str]:
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
