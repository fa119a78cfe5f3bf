"""``pausable_update_time``: time between updates, paused while pending."""

from __future__ import annotations

from slaengine import hookimpl
from slaengine.plugin import Metric
from slaengine.plugins.metrics._clock import ClockMetric


class PausableUpdateTime(ClockMetric):
    """Time between updates, paused while pending.

    The intervals of ``periodic_update_time``, not counting time the ticket is ``pending``.
    Example: ``target = "p90 <= 24h"``.
    """

    name = clock = "pausable_update_time"
    formula = "periodic_update_time, not counting time pending"


@hookimpl
def register_metrics() -> list[Metric]:
    return [PausableUpdateTime()]
