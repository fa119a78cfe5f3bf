"""``ticket_volume``: the number of tickets received in a period."""

from __future__ import annotations

from slaengine import hookimpl
from slaengine.lazy import np, pa
from slaengine.plugin import MeasureContext, Metric


class TicketVolume(Metric):
    """Tickets received (created) in the period, after ``where``.

    Example: ``target = "count <= 5000"`` — a volume cap above which response targets are
    suspended in many contracts, or a plain figure to watch.
    """

    name = "ticket_volume"
    requires = ()
    unit = "count"
    better = "lower"
    default_statistic = "count"
    formula = "tickets received (created) in the period"

    def measure(self, table: pa.Table, context: MeasureContext) -> pa.Array:
        return pa.array(np.ones(table.num_rows), pa.float64())  # each ticket counts once


@hookimpl
def register_metrics() -> list[Metric]:
    return [TicketVolume()]
