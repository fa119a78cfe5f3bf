"""``reply_time``: time to each reply: one record per reply instance (``TICKET#N``)."""

from __future__ import annotations

from slaengine import hookimpl
from slaengine.plugin import Metric
from slaengine.plugins.metrics._clock import ClockMetric


class ReplyTime(ClockMetric):
    """Time to each reply: one record per reply instance (``TICKET#N``).

    Instance 1 runs from the ticket's creation (an outbound ticket: its first public requester
    comment), each later one from the oldest public requester comment not yet answered, to the
    next public agent comment or the solve, whichever comes first. Never paused; only the
    calendar applies. Example: ``target = "95% within 4h"``.
    """

    name = clock = "reply_time"
    formula = "oldest unanswered public requester comment → next public agent comment or solve"


@hookimpl
def register_metrics() -> list[Metric]:
    return [ReplyTime()]
