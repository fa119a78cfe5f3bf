"""``requester_wait_time``: time the requester waits: one record per ticket."""

from __future__ import annotations

from slaengine import hookimpl
from slaengine.plugin import Metric
from slaengine.plugins.metrics._clock import ClockMetric


class RequesterWaitTime(ClockMetric):
    """Time the requester waits: one record per ticket.

    From creation to the last solve, counting while the ticket is ``new``, ``open`` or ``hold``;
    paused while ``pending`` (and while solved before a reopen: a reopened ticket continues the
    same clock). An unsolved ticket is unmeasured. Example: ``target = "p90 <= 16h"``.
    """

    name = clock = "requester_wait_time"
    formula = "time in new, open or hold from creation to the last solve"


@hookimpl
def register_metrics() -> list[Metric]:
    return [RequesterWaitTime()]
