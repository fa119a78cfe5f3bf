"""``next_reply_time``: time to each reply after the first: reply instances 2 and later."""

from __future__ import annotations

from slaengine import hookimpl
from slaengine.plugin import Metric
from slaengine.plugins.metrics._clock import ClockMetric


class NextReplyTime(ClockMetric):
    """Time to each reply after the first: reply instances 2 and later.

    The records of ``reply_time`` from instance 2 on: every follow-up of the requester
    answered in time. Example: ``target = "90% within 8h"``.
    """

    name = clock = "next_reply_time"
    formula = "reply_time instances 2 and later"


@hookimpl
def register_metrics() -> list[Metric]:
    return [NextReplyTime()]
