"""``handle_time``: average handle time (AHT) of an interaction."""

from __future__ import annotations

import pyarrow as pa

from slaengine import hookimpl
from slaengine.kinds import MeasureContext, Metric


class HandleTime(Metric):
    """Agent handling time of each interaction (talk + hold + after-contact work), in seconds.

    Example: ``target = "mean <= 10min"`` (AHT). Read from the ``handle_seconds`` field; a
    record without it has no value and is left out of the mean.
    """

    name = "handle_time"
    requires = ("handle_seconds",)
    unit = "duration"
    better = "lower"
    default_statistic = "mean"

    def measure(self, table: pa.Table, context: MeasureContext) -> pa.Array:
        return table["handle_seconds"]


@hookimpl
def register_metrics() -> list[Metric]:
    return [HandleTime()]
