"""``roi``: return on the support investment, (gain − investment) ÷ investment."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import ClassVar

from slaengine import hookimpl
from slaengine.lazy import pa
from slaengine.plugin import Input, MeasureContext, Metric, PeriodFigures, PeriodGrid, PeriodMetric
from slaengine.plugins.metrics._period import counts, money_sums


class ReturnOnInvestment(PeriodMetric):
    """(Σ sales − Σ costs) ÷ Σ costs in the period.

    Formula: gain is Σ ``amount`` of the sales made in the period (``sold_at``; narrow them
    with ``where``, e.g. ``sale_type = ["upsell", "cross_sell"]`` for support-driven revenue),
    investment is Σ ``amount`` of the cost lines incurred in it. Sums and the ratio are exact
    decimals; the ratio becomes a float at the end. The sample size is the number of sales and
    cost lines in the period; a period without costs (or with costs summing to 0) has no
    figure. Unit: rate (``">= 150%"``). Direction: higher is better. Inputs: ``sales`` (the
    service level's ``source``) and ``costs`` (named in ``inputs`` or the contract's only costs
    source). A period-level metric: the target has no statistic.

    Example::

        [[service_levels]]
        id = "roi"
        source = "sales"
        metric = "roi"
        target = ">= 100%"
    """

    name = "roi"
    unit = "rate"
    better = "higher"
    formula = "(Σ sales − Σ costs) ÷ Σ costs in the period"
    inputs: ClassVar[dict[str, Input]] = {
        "sales": Input(("sales",), ("sold_at", "amount")),
        "costs": Input(("costs",), ("incurred_at", "amount")),
    }

    def aggregate(
        self, inputs: Mapping[str, pa.Table], grid: PeriodGrid, context: MeasureContext
    ) -> PeriodFigures:
        sales, costs = inputs["sales"], inputs["costs"]
        sales_index = grid.index(sales["sold_at"])
        cost_index = grid.index(costs["incurred_at"])
        gain = money_sums(sales["amount"], sales_index, grid)
        spent = money_sums(costs["amount"], cost_index, grid)
        value: list[float | Decimal | None] = [
            float((g - c) / c) if c != 0 else None for g, c in zip(gain, spent, strict=True)
        ]
        sample = counts(sales_index, grid) + counts(cost_index, grid)
        return PeriodFigures(value=value, sample_size=sample)


@hookimpl
def register_metrics() -> list[Metric]:
    return [ReturnOnInvestment()]
