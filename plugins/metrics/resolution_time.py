"""``resolution_time``: time from ticket creation to resolution (MTTR with ``mean``)."""

from __future__ import annotations

from slaengine import hookimpl
from slaengine.lazy import pa
from slaengine.plugin import MeasureContext, Metric


class ResolutionTime(Metric):
    """Time from ticket creation to its resolution, in the service level's calendar.

    Example: ``target = "p90 <= 24h"``; ``target = "mean <= 8h"`` is the mean time to resolve
    (MTTR). An unresolved ticket has no value: a mean or a percentile leaves it out, an
    attainment target (``"90% within 24h"``) counts it as a miss.
    """

    name = "resolution_time"
    requires = ("created_at", "resolved_at")
    unit = "duration"
    better = "lower"
    default_statistic = "p90"
    formula = "resolved_at − created_at per ticket, on the calendar (mean: MTTR)"

    def measure(self, table: pa.Table, context: MeasureContext) -> pa.Array:
        return context.duration(table, "created_at", "resolved_at")


@hookimpl
def register_metrics() -> list[Metric]:
    return [ResolutionTime()]
