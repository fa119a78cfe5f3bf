"""``agent_work_time``: time agents hold the ticket: one record per ticket."""

from __future__ import annotations

from slaengine import hookimpl
from slaengine.plugin import Metric
from slaengine.plugins.metrics._clock import ClockMetric


class AgentWorkTime(ClockMetric):
    """Time agents hold the ticket: one record per ticket.

    As ``requester_wait_time``, counting only while ``new`` or ``open`` (paused in ``pending``
    and ``hold``). Example: ``target = "mean <= 8h"``.
    """

    name = clock = "agent_work_time"
    formula = "time in new or open from creation to the last solve"


@hookimpl
def register_metrics() -> list[Metric]:
    return [AgentWorkTime()]
