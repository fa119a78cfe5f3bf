"""``backlog``: tickets still open at the end of the period."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import numpy as np
import pyarrow as pa

from slaengine import hookimpl
from slaengine.kinds import Input, MeasureContext, Metric, PeriodFigures, PeriodGrid, PeriodMetric
from slaengine.plugins.metrics._period import micros


def open_at_end(
    tickets: pa.Table, grid: PeriodGrid, older_than_us: int = 0
) -> tuple[list[float | None], np.ndarray]:
    """Per period: tickets open at its end (created more than ``older_than_us`` before it) and
    the tickets created before its end (the population looked at, the sample size)."""
    created = micros(tickets["created_at"])
    resolved = micros(tickets["resolved_at"])  # unresolved: later than every end
    value: list[float | None] = []
    sample = np.zeros(len(grid), dtype=np.int64)
    for p, end in enumerate(grid.ends):
        existing = created < end
        still_open = existing & (resolved >= end) & (created < end - older_than_us)
        sample[p] = int(existing.sum())
        value.append(float(still_open.sum()) if sample[p] else None)
    return value, sample


class Backlog(PeriodMetric):
    """Tickets open at the end of the period.

    Formula: tickets with ``created_at`` before the period's end and ``resolved_at`` empty or
    at/after the end. Every ticket the source holds counts, whichever period it was created in.
    The sample size is the number of tickets created before the end (the population looked
    at), so a backlog of 0 is a figure, not missing data; a period with no tickets at all (for
    instance when ``where`` selects none) is insufficient data. Unit: count. Direction: lower
    is better. Fields: ``created_at``, ``resolved_at`` (tickets). A period-level metric: the
    target has no statistic.

    Example::

        [[service_levels]]
        id = "backlog"
        metric = "backlog"
        target = "<= 200"
    """

    name = "backlog"
    unit = "count"
    better = "lower"
    formula = "tickets created before the period end and not resolved by it"
    inputs: ClassVar[dict[str, Input]] = {
        "tickets": Input(("tickets",), ("created_at", "resolved_at")),
    }

    def aggregate(
        self, inputs: Mapping[str, pa.Table], grid: PeriodGrid, context: MeasureContext
    ) -> PeriodFigures:
        value, sample = open_at_end(inputs["tickets"], grid)
        return PeriodFigures(value=value, sample_size=sample)


@hookimpl
def register_metrics() -> list[Metric]:
    return [Backlog()]
