"""``backlog``: tickets still open at the end of the period."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from slaengine import hookimpl
from slaengine.lazy import np, pa, pc
from slaengine.plugin import (
    Input,
    MeasureContext,
    Metric,
    PeriodFigures,
    PeriodGrid,
    PeriodMetric,
    count_by,
)

OPEN_KEYS = ("created", "resolved", "aged")


def open_keys(tickets: pa.Table, context: MeasureContext,
              older_than_us: int = 0) -> dict[str, np.ndarray]:
    """Each ticket's period keys: of its creation, its resolution (none: after every period)
    and the moment it becomes ``older_than_us`` old."""
    created = context.period_keys(tickets["created_at"])
    aged = created
    if older_than_us:
        later = pc.add(tickets["created_at"], pa.scalar(older_than_us, pa.duration("us")))
        aged = context.period_keys(later)
    resolved = context.period_keys(tickets["resolved_at"])  # missing: after every period
    return {"created": created, "resolved": resolved, "aged": aged}


def open_summary(tickets: pa.Table, context: MeasureContext, older_than_us: int = 0) -> pa.Table:
    """Tickets counted by :func:`open_keys`."""
    return count_by(open_keys(tickets, context, older_than_us))


def open_tickets(tickets: pa.Table, grid: PeriodGrid, context: MeasureContext,
                 older_than_us: int = 0) -> list[np.ndarray]:
    """Per period of the grid, the tickets :func:`open_at_end` counts as open (and old enough)
    at its end (``aged <= p`` implies ``created <= p``)."""
    keys = open_keys(tickets, context, older_than_us)
    return [(keys["aged"] <= key) & (keys["resolved"] > key) for key in grid.keys.tolist()]


def open_at_end(summary: pa.Table, grid: PeriodGrid) -> tuple[list[float | None], np.ndarray]:
    """Per period p of the grid, from :func:`open_summary`: the tickets open at its end,
    created more than the age before it, and those created before its end (the sample size).

    With keys in time order: created before the end of p is ``created <= p``; older than the
    age at the end is ``aged <= p``; not resolved by the end (resolved at or after it) is
    ``resolved > p``.
    """
    created = summary["created"].to_numpy()
    resolved = summary["resolved"].to_numpy()
    aged = summary["aged"].to_numpy()
    n = summary["n"].to_numpy()
    value: list[float | None] = []
    sample = np.zeros(len(grid), dtype=np.int64)
    for p, key in enumerate(grid.keys.tolist()):  # once per period, over the few summary rows
        sample[p] = int(n[created <= key].sum())
        still_open = int(n[(aged <= key) & (resolved > key)].sum())
        value.append(float(still_open) if sample[p] else None)
    return value, sample


class Backlog(PeriodMetric):
    """Tickets open at the end of the period.

    Formula: tickets with ``created_at`` before the period's end and ``resolved_at`` empty or
    at/after the end. Every ticket the source holds counts, whichever period it was created in.
    The sample size is the number of tickets created before the end (the population looked
    at), so a backlog of 0 is a figure, not missing data; a period with no tickets at all (for
    instance when ``where`` selects none) is insufficient data. Unit: count. Direction: lower
    is better. Fields: ``created_at``, ``resolved_at`` (tickets). A period-level metric: the
    target has no statistic.

    Example::

        [[service_levels]]
        id = "backlog"
        metric = "backlog"
        target = "<= 200"
    """

    name = "backlog"
    unit = "count"
    better = "lower"
    formula = "tickets created before the period end and not resolved by it"
    inputs: ClassVar[dict[str, Input]] = {
        "tickets": Input(("tickets",), ("created_at", "resolved_at")),
    }

    summary_keys = OPEN_KEYS

    def summarise(self, role: str, records: pa.Table, context: MeasureContext) -> pa.Table:
        return open_summary(records, context)

    def figures(self, summaries: Mapping[str, pa.Table], grid: PeriodGrid,
                context: MeasureContext) -> PeriodFigures:
        value, sample = open_at_end(summaries["tickets"], grid)
        return PeriodFigures(value=value, sample_size=sample)

    def records_behind(self, role: str, records: pa.Table, grid: PeriodGrid,
                       context: MeasureContext) -> list[np.ndarray]:
        return open_tickets(records, grid, context)


@hookimpl
def register_metrics() -> list[Metric]:
    return [Backlog()]
