"""``total_resolution_time``: time from creation to the final solve: one record per ticket."""

from __future__ import annotations

from slaengine import hookimpl
from slaengine.plugin import Metric
from slaengine.plugins.metrics._clock import ClockMetric


class TotalResolutionTime(ClockMetric):
    """Time from creation to the final solve: one record per ticket.

    Never paused: the time solved before a reopen counts too. An unsolved ticket is unmeasured.
    Example: ``target = "p90 <= 5d"``.
    """

    name = clock = "total_resolution_time"
    formula = "creation → last solve, never paused"


@hookimpl
def register_metrics() -> list[Metric]:
    return [TotalResolutionTime()]
