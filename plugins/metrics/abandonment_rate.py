"""``abandonment_rate``: share of calls abandoned before an agent answered."""

from __future__ import annotations

from typing import Any, ClassVar

from slaengine import hookimpl
from slaengine.lazy import pa, pc
from slaengine.plugin import MeasureContext, Metric
from slaengine.targets import TargetError, parse_duration


def _check_duration(field: str, value: Any, error: Any) -> None:
    try:
        parse_duration(value)
    except (TargetError, ValueError) as exc:
        error(field, f'{value!r} is not a duration such as "5s" ({exc})')


class AbandonmentRate(Metric):
    """Abandoned calls ÷ offered calls.

    Formula: a call measures yes (abandoned) when ``answered_at`` is empty, no when it was
    answered. With the option ``short_abandon = "5s"`` a call abandoned within that time
    (``ended_at - started_at <= 5s``, wall-clock seconds) is left out of both sides: the caller
    hung up before the queue could answer (misdial, IVR). An abandoned call without
    ``ended_at`` cannot be timed and is kept as abandoned. Unit: boolean (``share`` gives a
    rate). Direction: lower is better. Fields: ``started_at``, ``answered_at``, ``ended_at``
    (calls).

    Example::

        [[service_levels]]
        id = "abandoned"
        source = "calls"
        metric = "abandonment_rate"
        target = "<= 5%"
        options = { short_abandon = "5s" }
    """

    name = "abandonment_rate"
    requires = ("started_at", "answered_at", "ended_at")
    unit = "boolean"
    better = "lower"
    default_statistic = "share"
    kinds = ("calls",)
    formula = "calls not answered ÷ calls offered (short abandons left out)"
    schema: ClassVar[dict[str, Any]] = {
        "short_abandon": {"type": "string", "check_with": _check_duration},
    }

    def measure(self, table: pa.Table, context: MeasureContext) -> pa.Array:
        abandoned = pc.is_null(table["answered_at"])
        short_text = context.options.get("short_abandon")
        if not short_text:
            return abandoned
        short = short_abandons(table, short_text)
        return pc.if_else(short, pa.scalar(None, pa.bool_()), abandoned)


def short_abandons(calls: pa.Table, short_text: str) -> pa.Array:
    """Which calls were abandoned within ``short_text`` (``ended_at - started_at``, wall-clock
    time, inclusive); a call without ``ended_at`` cannot be timed and is not one."""
    short_us = float(parse_duration(short_text)) * 1_000_000
    waited = pc.subtract(pc.cast(calls["ended_at"], pa.int64()),
                         pc.cast(calls["started_at"], pa.int64()))
    abandoned = pc.is_null(calls["answered_at"])
    return pc.fill_null(pc.and_(abandoned, pc.less_equal(waited, short_us)), False)


@hookimpl
def register_metrics() -> list[Metric]:
    return [AbandonmentRate()]
