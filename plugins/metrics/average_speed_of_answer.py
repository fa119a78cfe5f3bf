"""``average_speed_of_answer``: mean queue time of answered calls (ASA)."""

from __future__ import annotations

from slaengine import hookimpl
from slaengine.lazy import pa
from slaengine.plugin import MeasureContext, Metric


class AverageSpeedOfAnswer(Metric):
    """Seconds each answered call waited in the queue; their mean is the ASA.

    Formula: ``answered_at - started_at`` per call, on the service level's calendar; the
    default statistic is ``mean``. Abandoned calls have no value and are left out (they are
    what ``abandonment_rate`` measures). Unit: duration. Direction: lower is better. Fields:
    ``started_at``, ``answered_at`` (calls).

    Example::

        [[service_levels]]
        id = "asa"
        source = "calls"
        metric = "average_speed_of_answer"
        target = "mean <= 30s"
    """

    name = "average_speed_of_answer"
    requires = ("started_at", "answered_at")
    unit = "duration"
    better = "lower"
    default_statistic = "mean"
    kinds = ("calls",)
    formula = "Σ (answered_at − started_at) ÷ answered calls"

    def measure(self, table: pa.Table, context: MeasureContext) -> pa.Array:
        return context.duration(table, "started_at", "answered_at")


@hookimpl
def register_metrics() -> list[Metric]:
    return [AverageSpeedOfAnswer()]
