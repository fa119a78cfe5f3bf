"""``service_level``: calls answered within N seconds (the classic 80/20)."""

from __future__ import annotations

import pyarrow as pa

from slaengine import hookimpl
from slaengine.kinds import MeasureContext, Metric


class ServiceLevel(Metric):
    """Seconds each call waited in the queue before an agent answered.

    Formula: ``answered_at - started_at`` per call, on the service level's calendar; an
    abandoned call (no ``answered_at``) has no value, so the default statistic
    ``attainment`` counts it as a miss: ``target = "80% within 20s"`` is the classic 80/20
    (calls answered within 20s ÷ calls offered). To leave short abandons out, narrow the
    calls with ``where`` or use ``abandonment_rate`` alongside. Unit: duration. Direction:
    lower is better. Fields: ``started_at``, ``answered_at`` (calls).

    Example::

        [[service_levels]]
        id = "service-level"
        source = "calls"
        metric = "service_level"
        target = "80% within 20s"
    """

    name = "service_level"
    requires = ("started_at", "answered_at")
    unit = "duration"
    better = "lower"
    default_statistic = "attainment"
    kinds = ("calls",)
    formula = "calls answered within N seconds ÷ calls offered (abandoned = miss)"

    def measure(self, table: pa.Table, context: MeasureContext) -> pa.Array:
        return context.duration(table, "started_at", "answered_at")


@hookimpl
def register_metrics() -> list[Metric]:
    return [ServiceLevel()]
