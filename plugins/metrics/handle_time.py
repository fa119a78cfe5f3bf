"""``handle_time``: average handle time (AHT) of an interaction."""

from __future__ import annotations

from collections.abc import Collection

from slaengine import hookimpl
from slaengine.lazy import pa, pc
from slaengine.plugin import MeasureContext, Metric

PARTS = ("talk_seconds", "hold_seconds", "wrap_seconds")


class HandleTime(Metric):
    """Agent handling time of each interaction (talk + hold + after-contact work), in seconds.

    Formula: on tickets, the ``handle_seconds`` field; on calls, ``talk_seconds +
    hold_seconds + wrap_seconds``, where an empty part counts 0 and a call with all three
    empty has no value (an abandoned call). The default statistic ``mean`` is the AHT. Unit:
    duration. Direction: lower is better. Fields: ``handle_seconds`` (tickets) or
    ``talk_seconds``, ``hold_seconds``, ``wrap_seconds`` (calls), chosen from what the source
    delivers. A record without a value is left out of the mean.

    Example::

        [[service_levels]]
        id = "aht"
        metric = "handle_time"
        target = "mean <= 10min"
    """

    name = "handle_time"
    requires = ("handle_seconds",)
    unit = "duration"
    better = "lower"
    default_statistic = "mean"
    kinds = ("tickets", "calls")
    formula = "handle_seconds, or talk + hold + wrap per call"

    def required_fields(self, available: Collection[str]) -> tuple[str, ...]:
        if "handle_seconds" not in available and any(p in available for p in PARTS):
            return PARTS
        return self.requires

    def measure(self, table: pa.Table, context: MeasureContext) -> pa.Array:
        if "handle_seconds" in table.column_names:
            return table["handle_seconds"]
        parts = [table[p] for p in PARTS if p in table.column_names]
        total = pc.fill_null(parts[0], 0.0)
        any_part = pc.is_valid(parts[0])
        for part in parts[1:]:
            total = pc.add(total, pc.fill_null(part, 0.0))
            any_part = pc.or_(any_part, pc.is_valid(part))
        return pc.if_else(any_part, total, pa.scalar(None, pa.float64()))


@hookimpl
def register_metrics() -> list[Metric]:
    return [HandleTime()]
