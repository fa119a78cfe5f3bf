"""``resolution_rate``: share of the tickets received in the period that are resolved."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from slaengine import hookimpl
from slaengine.bits import validity
from slaengine.lazy import np, pa
from slaengine.plugin import (
    Input,
    MeasureContext,
    Metric,
    PeriodFigures,
    PeriodGrid,
    PeriodMetric,
    count_by,
)
from slaengine.plugins.metrics._period import per_period

BASES = ("received", "throughput")
RESOLVED = 1
"""``resolved`` summary key of a ticket with ``resolved_at`` (in the ``received`` basis)."""


class ResolutionRate(PeriodMetric):
    """The share of the tickets received in the period that are resolved.

    Definition (reference article 002, section Resolution rate): the percentage of the
    customers' issues that the support team resolved. Received counts the tickets whose
    ``created_at`` lies in ``[start, end)`` of the period; resolved counts those of them with
    a ``resolved_at`` (in the data as read, whenever it falls), so the figure lies between 0
    and 100%.

    Option ``basis = "throughput"``: tickets resolved in the period (``resolved_at`` in it,
    whenever they were created) ÷ tickets received in it; it can exceed 100% when the team
    works off an older backlog. The sample size is the number received; a period without any
    has no figure. Unit: rate. Direction: higher is better. Fields: ``created_at``,
    ``resolved_at`` (tickets). A period-level metric: the target has no statistic. It is
    summed batch by batch (its records are never held whole).

    Example::

        [[service_levels]]
        id = "resolution-rate"
        metric = "resolution_rate"
        target = ">= 95%"
    """

    name = "resolution_rate"
    unit = "rate"
    better = "higher"
    formula = "received in the period and resolved ÷ received (or resolved in it ÷ received)"
    schema: ClassVar[dict[str, Any]] = {
        "basis": {"type": "string", "allowed": list(BASES), "default": "received"},
    }
    inputs: ClassVar[dict[str, Input]] = {
        "tickets": Input(("tickets",), ("created_at", "resolved_at")),
    }

    summary_keys = ("created", "resolved")

    def summarise(self, role: str, records: pa.Table, context: MeasureContext) -> pa.Table:
        if context.options.get("basis", "received") == "throughput":
            resolved = context.period_keys(records["resolved_at"])
        else:
            resolved = validity(records["resolved_at"]).astype(np.int64) * RESOLVED
        return count_by({"created": context.period_keys(records["created_at"]),
                         "resolved": resolved})

    def figures(self, summaries: Mapping[str, pa.Table], grid: PeriodGrid,
                context: MeasureContext) -> PeriodFigures:
        summary = summaries["tickets"]
        n = summary["n"].to_numpy()
        created = summary["created"].to_numpy()
        received = per_period(created, n, grid).astype(np.int64)
        if context.options.get("basis", "received") == "throughput":
            resolved = per_period(summary["resolved"].to_numpy(), n, grid).astype(np.int64)
        else:
            done = summary["resolved"].to_numpy() == RESOLVED
            resolved = per_period(created, np.where(done, n, 0), grid).astype(np.int64)
        value: list[float | None] = [
            float(s / r) if r > 0 else None for s, r in zip(resolved, received, strict=True)
        ]
        return PeriodFigures(value=value, sample_size=received)

    def records_behind(self, role: str, records: pa.Table, grid: PeriodGrid,
                       context: MeasureContext) -> list[np.ndarray] | None:
        """The tickets received in the period (and, by throughput, those resolved in it)."""
        if context.options.get("basis", "received") != "throughput":
            return None
        created = grid.index(records["created_at"])
        resolved = grid.index(records["resolved_at"])
        return [(created == p) | (resolved == p) for p in range(len(grid))]


@hookimpl
def register_metrics() -> list[Metric]:
    return [ResolutionRate()]
