"""``escalation_rate``: share of tickets escalated."""

from __future__ import annotations

from slaengine import hookimpl
from slaengine.lazy import pa
from slaengine.plugin import MeasureContext, Metric


class EscalationRate(Metric):
    """Escalated tickets ÷ tickets: the share escalated to a second line (or the client).

    Formula: each ticket measures its ``escalated`` yes/no field; a ticket whose ``escalated``
    is empty has no value and is left out. Unit: boolean (``share`` gives a rate). Direction:
    lower is better. Fields: ``escalated`` (tickets; true/false, yes/no, 1/0).

    Example::

        [[service_levels]]
        id = "escalations"
        metric = "escalation_rate"
        target = "<= 10%"
    """

    name = "escalation_rate"
    requires = ("escalated",)
    unit = "boolean"
    better = "lower"
    default_statistic = "share"
    formula = "escalated tickets ÷ tickets with a known escalated flag"

    def measure(self, table: pa.Table, context: MeasureContext) -> pa.Array:
        return table["escalated"]


@hookimpl
def register_metrics() -> list[Metric]:
    return [EscalationRate()]
