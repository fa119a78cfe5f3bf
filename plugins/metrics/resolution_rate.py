"""``resolution_rate``: tickets resolved in the period ÷ tickets received in the period."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import numpy as np
import pyarrow as pa

from slaengine import hookimpl
from slaengine.kinds import (
    Input,
    MeasureContext,
    Metric,
    PeriodFigures,
    PeriodGrid,
    PeriodMetric,
    count_by,
)
from slaengine.plugins.metrics._period import per_period


class ResolutionRate(PeriodMetric):
    """Tickets resolved in the period ÷ tickets received (created) in the period.

    Formula: resolved counts the tickets whose ``resolved_at`` lies in ``[start, end)`` of the
    period, whenever they were created; received counts those whose ``created_at`` does. It can
    exceed 100% when the team works off an older backlog. The sample size is the number
    received; a period without any has no figure. Unit: rate. Direction: higher is better.
    Fields: ``created_at``, ``resolved_at`` (tickets). A period-level metric: the target has no
    statistic.

    Example::

        [[service_levels]]
        id = "resolution-rate"
        metric = "resolution_rate"
        target = ">= 95%"
    """

    name = "resolution_rate"
    unit = "rate"
    better = "higher"
    formula = "resolved in the period ÷ received in the period"
    inputs: ClassVar[dict[str, Input]] = {
        "tickets": Input(("tickets",), ("created_at", "resolved_at")),
    }

    summary_keys = ("created", "resolved")

    def summarise(self, role: str, records: pa.Table, context: MeasureContext) -> pa.Table:
        return count_by({"created": context.period_keys(records["created_at"]),
                         "resolved": context.period_keys(records["resolved_at"])})

    def figures(self, summaries: Mapping[str, pa.Table], grid: PeriodGrid,
                context: MeasureContext) -> PeriodFigures:
        summary = summaries["tickets"]
        n = summary["n"].to_numpy()
        received = per_period(summary["created"].to_numpy(), n, grid).astype(np.int64)
        resolved = per_period(summary["resolved"].to_numpy(), n, grid).astype(np.int64)
        value: list[float | None] = [
            float(s / r) if r > 0 else None for s, r in zip(resolved, received, strict=True)
        ]
        return PeriodFigures(value=value, sample_size=received)


@hookimpl
def register_metrics() -> list[Metric]:
    return [ResolutionRate()]
