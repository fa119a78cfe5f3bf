"""``periodic_update_time``: time between updates to the customer, per update interval."""

from __future__ import annotations

from slaengine import hookimpl
from slaengine.plugin import Metric
from slaengine.plugins.metrics._clock import ClockMetric


class PeriodicUpdateTime(ClockMetric):
    """Time between updates to the customer: one record per update interval.

    An interval starts at the creation, at every public agent comment on an unsolved ticket and
    at every reopen, and ends at the next public agent comment or solve. Never paused.
    Example: ``target = "95% within 24h"``.
    """

    name = clock = "periodic_update_time"
    formula = "creation, public agent comment or reopen → next public agent comment or solve"


@hookimpl
def register_metrics() -> list[Metric]:
    return [PeriodicUpdateTime()]
