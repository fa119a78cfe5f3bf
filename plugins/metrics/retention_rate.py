"""``retention_rate``: customers retained ÷ customers at the start of the period."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from slaengine import hookimpl
from slaengine.lazy import np, pa
from slaengine.plugin import Input, MeasureContext, Metric, PeriodFigures, PeriodGrid, PeriodMetric
from slaengine.plugins.metrics._period import micros


class RetentionRate(PeriodMetric):
    """Customers still customers at the end of the period ÷ customers at its start.

    Definition (reference article 001, section Customer Retention Rate): the percentage of the
    customers at the start of a period still retained at its end (its Q4: 825 of 850 =
    97.1%).
    Formula: at start = customers with ``started_at`` before the period start and ``ended_at``
    empty or at/after it; retained = those of them whose ``ended_at`` is empty or at/after the
    period end. Customers won during the period count in neither. The sample size is the
    number at start; a period without any has no figure. Unit: rate. Direction: higher is
    better. Fields: ``started_at``, ``ended_at`` (customers). A period-level metric: the target
    has no statistic. The periods evaluated run without a gap from the first in which a
    customer started to the last in which one started or ended, so a month with churn and no
    new customer gets its figure.

    Example::

        [[service_levels]]
        id = "retention"
        source = "customers"
        metric = "retention_rate"
        target = ">= 95%"
    """

    name = "retention_rate"
    unit = "rate"
    better = "higher"
    formula = "customers at the start still customers at the end ÷ customers at the start"
    inputs: ClassVar[dict[str, Input]] = {
        "customers": Input(("customers",), ("started_at", "ended_at")),
    }
    spans = ("started_at", "ended_at")

    def aggregate(
        self, inputs: Mapping[str, pa.Table], grid: PeriodGrid, context: MeasureContext
    ) -> PeriodFigures:
        customers = inputs["customers"]
        started = micros(customers["started_at"])
        ended = micros(customers["ended_at"])  # still a customer: later than every bound
        value: list[float | None] = []
        sample = np.zeros(len(grid), dtype=np.int64)
        for p, (start, end) in enumerate(zip(grid.starts, grid.ends, strict=True)):
            at_start = (started < start) & (ended >= start)
            sample[p] = int(at_start.sum())
            retained = int((at_start & (ended >= end)).sum())
            value.append(float(retained / sample[p]) if sample[p] else None)
        return PeriodFigures(value=value, sample_size=sample)

    def records_behind(self, role: str, records: pa.Table, grid: PeriodGrid,
                       context: MeasureContext) -> list[np.ndarray]:
        """The customers at the start of the period (whether retained shows in ``ended_at``)."""
        started = micros(records["started_at"])
        ended = micros(records["ended_at"])
        return [(started < start) & (ended >= start) for start in grid.starts.tolist()]


@hookimpl
def register_metrics() -> list[Metric]:
    return [RetentionRate()]
