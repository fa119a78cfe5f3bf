"""``csat``: customer satisfaction, a 1–5 survey score."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from slaengine import hookimpl
from slaengine.kinds import MeasureContext, Metric


class Csat(Metric):
    """Customer satisfaction score per answered survey, 1 (very unhappy) to 5 (very happy).

    Examples: ``target = "mean >= 4.2"`` (the average score), ``target = "share >= 80%"``
    (the share of answers that are 4 or 5). Tickets without an answer are left out.
    """

    name = "csat"
    requires = ("csat",)
    unit = "score"
    better = "higher"
    default_statistic = "mean"

    def measure(self, table: pa.Table, context: MeasureContext) -> pa.Array:
        return table["csat"]

    def success(self, values: pa.Array) -> pa.Array:
        """A satisfied customer answered 4 or 5."""
        return pc.greater_equal(values, 4)


@hookimpl
def register_metrics() -> list[Metric]:
    return [Csat()]
