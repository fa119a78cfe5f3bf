"""``service_level``: calls answered within N seconds (the classic 80/20)."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, ClassVar

from slaengine import hookimpl
from slaengine.errors import DataError
from slaengine.lazy import pa, pc
from slaengine.plugin import MeasureContext, Metric
from slaengine.plugins.metrics.abandonment_rate import _check_duration, short_abandons


class ServiceLevel(Metric):
    """Seconds each call waited in the queue before an agent answered.

    Formula: ``answered_at - started_at`` per call, on the service level's calendar; an
    abandoned call (no ``answered_at``) has no value, so the default statistic
    ``attainment`` counts it as a miss: ``target = "80% within 20s"`` is the classic 80/20
    (calls answered within 20s ÷ calls offered). With the option ``short_abandon = "5s"`` a
    call abandoned within that time (``ended_at - started_at <= 5s``, wall-clock seconds) is
    left out of the calls offered, as in ``abandonment_rate``: the caller hung up before the
    queue could answer. Such a call is counted as excluded; an abandoned call without
    ``ended_at`` cannot be timed and stays a miss. (The reference articles define no call
    service level; the short-abandon rule is ``abandonment_rate``'s, so that both figures count
    the same calls as offered.) Unit: duration. Direction: lower is better.
    Fields: ``started_at``, ``answered_at``, and ``ended_at`` when the source has it (calls).

    Example::

        [[service_levels]]
        id = "service-level"
        source = "calls"
        metric = "service_level"
        target = "80% within 20s"
        options = { short_abandon = "5s" }
    """

    name = "service_level"
    requires = ("started_at", "answered_at")
    unit = "duration"
    better = "lower"
    default_statistic = "attainment"
    kinds = ("calls",)
    formula = "calls answered within N seconds ÷ calls offered (abandoned = miss, short ones out)"
    schema: ClassVar[dict[str, Any]] = {
        "short_abandon": {"type": "string", "check_with": _check_duration},
    }

    def required_fields(self, available: Collection[str]) -> tuple[str, ...]:
        return (*self.requires, "ended_at") if "ended_at" in available else self.requires

    def selects(self, table: pa.Table, context: MeasureContext) -> pa.Array | None:
        short_text = context.options.get("short_abandon")
        if not short_text:
            return None
        if "ended_at" not in table.column_names:
            raise DataError(f"service level {context.service_level}: short_abandon needs the "
                            "calls' ended_at (when the caller hung up); the source has none")
        return pc.invert(short_abandons(table, short_text))

    def measure(self, table: pa.Table, context: MeasureContext) -> pa.Array:
        return context.duration(table, "started_at", "answered_at")


@hookimpl
def register_metrics() -> list[Metric]:
    return [ServiceLevel()]
