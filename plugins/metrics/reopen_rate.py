"""``reopen_rate``: share of resolved tickets that were reopened."""

from __future__ import annotations

from slaengine import hookimpl
from slaengine.bits import one_array, present_where
from slaengine.lazy import pa, pc
from slaengine.plugin import MeasureContext, Metric


class ReopenRate(Metric):
    """Reopened ÷ resolved: the share of resolved tickets reopened at least once.

    Formula: a resolved ticket measures yes when ``reopens > 0``, no when ``reopens = 0``; an
    unresolved ticket (no ``resolved_at``), or one whose ``reopens`` is unknown, has no value
    and is left out of the share. Unit: boolean (the ``share`` statistic gives a rate).
    Direction: lower is better. Fields: ``resolved_at``, ``reopens`` (tickets).

    Example::

        [[service_levels]]
        id = "reopens"
        metric = "reopen_rate"
        target = "<= 5%"
    """

    name = "reopen_rate"
    requires = ("resolved_at", "reopens")
    unit = "boolean"
    better = "lower"
    default_statistic = "share"
    formula = "resolved tickets with reopens > 0 ÷ resolved tickets"

    def measure(self, table: pa.Table, context: MeasureContext) -> pa.Array:
        reopened = pc.greater(table["reopens"], 0)
        resolved = pc.is_valid(table["resolved_at"])
        return present_where(one_array(reopened), one_array(resolved))  # unresolved: no value


@hookimpl
def register_metrics() -> list[Metric]:
    return [ReopenRate()]
