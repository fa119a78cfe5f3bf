"""``response_time``: mean wait for every agent reply, not only the first."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from slaengine import hookimpl
from slaengine.lazy import np, pa, pc
from slaengine.plugin import (
    Input,
    MeasureContext,
    Metric,
    PeriodFigures,
    PeriodGrid,
    PeriodMetric,
    combine_summaries,
)
from slaengine.plugins.metrics._period import per_period


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

    summary_keys = ("created",)  # the period each ticket was created in

    def summarise(self, role: str, records: pa.Table, context: MeasureContext) -> pa.Table:
        both = pc.and_(pc.is_valid(records["response_seconds"]), pc.is_valid(records["replies"]))
        summary = pa.table({  # the periods of all the records: the batch's, placed already
            "created": context.period_keys(records["created_at"]),
            "waited": pc.cast(records["response_seconds"], pa.float64()),
            "replies": pc.cast(records["replies"], pa.int64()),
        })
        if records.num_rows and not pc.all(both).as_py():
            summary = summary.filter(both)  # only tickets with both figures
        return combine_summaries([summary], ("created",))

    def figures(self, summaries: Mapping[str, pa.Table], grid: PeriodGrid,
                context: MeasureContext) -> PeriodFigures:
        summary = summaries["tickets"]
        created = summary["created"].to_numpy()
        waited = per_period(created, summary["waited"].to_numpy(zero_copy_only=False), grid)
        sample = per_period(created, summary["replies"].to_numpy(zero_copy_only=False), grid)
        sample = sample.astype(np.int64)
        value: list[float | None] = [float(w / r) if r > 0 else None
                                     for w, r in zip(waited, sample, strict=True)]
        return PeriodFigures(value=value, sample_size=sample)

    def records_behind(self, role: str, records: pa.Table, grid: PeriodGrid,
                       context: MeasureContext) -> list[np.ndarray]:
        """The tickets created in the period with both fields (those summed)."""
        both = pc.and_(pc.is_valid(records["response_seconds"]),
                       pc.is_valid(records["replies"]))
        summed = np.asarray(both.to_numpy(zero_copy_only=False), dtype=bool)
        index = grid.index(records["created_at"])
        return [(index == p) & summed for p in range(len(grid))]


@hookimpl
def register_metrics() -> list[Metric]:
    return [ResponseTime()]
