"""``aged_backlog``: tickets open at the end of the period and older than N days."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from slaengine import hookimpl
from slaengine.lazy import np, pa
from slaengine.plugin import Input, MeasureContext, Metric, PeriodFigures, PeriodGrid, PeriodMetric
from slaengine.plugins.metrics.backlog import OPEN_KEYS, open_at_end, open_summary, open_tickets
from slaengine.targets import TargetError, parse_duration

DEFAULT_OLDER_THAN = "7d"


def _check_duration(field: str, value: Any, error: Any) -> None:
    try:
        parse_duration(value)
    except (TargetError, ValueError) as exc:
        error(field, f'{value!r} is not a duration such as "7d" ({exc})')


class AgedBacklog(PeriodMetric):
    """Tickets open at the end of the period that were created more than ``older_than`` before it.

    Formula: as ``backlog`` (``created_at`` before the end, ``resolved_at`` empty or at/after
    the end), and ``created_at < end - older_than`` (strictly older; option ``older_than``,
    default ``"7d"``, wall-clock time). The sample size is the number of tickets created before
    the end. Unit: count. Direction: lower is better. Fields: ``created_at``, ``resolved_at``
    (tickets). A period-level metric: the target has no statistic.

    Example::

        [[service_levels]]
        id = "aged-backlog"
        metric = "aged_backlog"
        target = "<= 20"
        options = { older_than = "14d" }
    """

    name = "aged_backlog"
    unit = "count"
    better = "lower"
    formula = "tickets open at the period end, created more than older_than before it"
    schema: ClassVar[dict[str, Any]] = {
        "older_than": {"type": "string", "check_with": _check_duration,
                       "default": DEFAULT_OLDER_THAN},
    }
    inputs: ClassVar[dict[str, Input]] = {
        "tickets": Input(("tickets",), ("created_at", "resolved_at")),
    }

    summary_keys = OPEN_KEYS

    def summarise(self, role: str, records: pa.Table, context: MeasureContext) -> pa.Table:
        return open_summary(records, context, _older_than_us(context))

    def figures(self, summaries: Mapping[str, pa.Table], grid: PeriodGrid,
                context: MeasureContext) -> PeriodFigures:
        value, sample = open_at_end(summaries["tickets"], grid)
        return PeriodFigures(value=value, sample_size=sample)

    def records_behind(self, role: str, records: pa.Table, grid: PeriodGrid,
                       context: MeasureContext) -> list[np.ndarray]:
        return open_tickets(records, grid, context, _older_than_us(context))


def _older_than_us(context: MeasureContext) -> int:
    seconds = parse_duration(context.options.get("older_than", DEFAULT_OLDER_THAN))
    return int(seconds * 1_000_000)


@hookimpl
def register_metrics() -> list[Metric]:
    return [AgedBacklog()]
