"""``first_response_time``: time from ticket creation to the first agent reply."""

from __future__ import annotations

from slaengine import hookimpl
from slaengine.lazy import pa
from slaengine.plugin import MeasureContext, Metric


class FirstResponseTime(Metric):
    """Time from ticket creation to the first agent reply, in the service level's calendar.

    Example: ``target = "95% within 1h"`` or ``target = "p90 <= 4h"``. A ticket with no reply
    has no value: a mean or a percentile leaves it out, an attainment target counts it as a miss.
    """

    name = "first_response_time"
    requires = ("created_at", "first_response_at")
    unit = "duration"
    better = "lower"
    default_statistic = "p90"
    formula = "first_response_at − created_at per ticket, on the calendar"

    def measure(self, table: pa.Table, context: MeasureContext) -> pa.Array:
        return context.duration(table, "created_at", "first_response_at")


@hookimpl
def register_metrics() -> list[Metric]:
    return [FirstResponseTime()]
