"""``response_time``: mean wait for every agent reply, not only the first."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from slaengine import hookimpl
from slaengine.kinds import Input, MeasureContext, Metric, PeriodFigures, PeriodGrid, PeriodMetric
from slaengine.plugins.metrics._period import sums


class ResponseTime(PeriodMetric):
    """Total time customers waited for agent replies ÷ number of replies, per period.

    Formula: over the tickets created in the period, Σ ``response_seconds`` ÷ Σ ``replies``.
    A ticket with either field empty is left out of both sums. The sample size is Σ replies;
    a period without replies has no figure (insufficient data). Unit: duration (seconds).
    Direction: lower is better. Fields: ``created_at``, ``response_seconds``, ``replies``
    (tickets). A period-level metric: the target has no statistic.

    Example::

        [[service_levels]]
        id = "response-time"
        metric = "response_time"
        target = "<= 4h"
    """

    name = "response_time"
    unit = "duration"
    better = "lower"
    formula = "Σ response_seconds ÷ Σ replies over tickets created in the period"
    inputs: ClassVar[dict[str, Input]] = {
        "tickets": Input(("tickets",), ("created_at", "response_seconds", "replies")),
    }

    def aggregate(
        self, inputs: Mapping[str, pa.Table], grid: PeriodGrid, context: MeasureContext
    ) -> PeriodFigures:
        tickets = inputs["tickets"]
        index = grid.index(tickets["created_at"])
        both = pc.and_(pc.is_valid(tickets["response_seconds"]), pc.is_valid(tickets["replies"]))
        both = np.asarray(both.to_numpy(zero_copy_only=False), dtype=bool)
        index[~both] = -1
        waited = sums(tickets["response_seconds"], index, grid)
        replies = np.rint(sums(tickets["replies"], index, grid)).astype(np.int64)
        value: list[float | None] = [
            float(w / r) if r > 0 else None for w, r in zip(waited, replies, strict=True)
        ]
        return PeriodFigures(value=value, sample_size=replies)


@hookimpl
def register_metrics() -> list[Metric]:
    return [ResponseTime()]
