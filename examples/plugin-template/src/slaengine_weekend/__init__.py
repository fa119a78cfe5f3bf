"""``weekend_share``: how many tickets arrive on a Saturday or Sunday (a staffing signal)."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from slaengine import hookimpl
from slaengine.plugin import MeasureContext, Metric


class WeekendShare(Metric):
    """Tickets created on a Saturday or Sunday ÷ tickets, in the contract's timezone.

    Each ticket measures yes or no, so the default statistic is ``share``:
    ``target = "<= 20%"`` says at most a fifth of the tickets may arrive on weekends before the
    staffing plan is reviewed. Fields: ``created_at``.
    """

    name = "weekend_share"
    requires = ("created_at",)
    unit = "boolean"
    better = "lower"
    default_statistic = "share"
    formula = "tickets created on Saturday or Sunday (local time) ÷ tickets"

    def measure(self, table: pa.Table, context: MeasureContext) -> pa.Array:
        # Vectorised: view the UTC instants in the contract's zone, then Arrow's weekday
        # (Monday = 0) for the whole column at once.
        local = pc.cast(table["created_at"], pa.timestamp("us", tz=context.timezone))
        return pc.greater_equal(pc.day_of_week(local), 5)


@hookimpl
def register_metrics() -> list[Metric]:
    return [WeekendShare()]
