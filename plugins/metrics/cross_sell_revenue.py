"""``cross_sell_revenue``: revenue from cross-sells."""

from __future__ import annotations

from slaengine import hookimpl
from slaengine.plugin import Metric
from slaengine.plugins.metrics._period import SalesOfType


class CrossSellRevenue(SalesOfType):
    """Revenue from cross-sells made in the period, in the contract's currency.

    Formula: Σ ``amount`` of the sales with ``sale_type = "cross_sell"`` (exact decimals). Sales
    come from a sales source (``sold_at``, ``sale_type``, ``amount``); ``where`` narrows them
    (e.g. by ``agent``). The sample size is the number of sales of any type in the period, so a
    period with sales but none of this type scores 0. Unit: money. Direction: higher is better.
    A period-level metric: the target has no statistic.

    Example::

        [[service_levels]]
        id = "cross-sell-revenue"
        source = "sales"
        metric = "cross_sell_revenue"
        target = ">= 3000"
    """

    name = "cross_sell_revenue"
    sale_type = "cross_sell"
    unit = "money"
    formula = "Σ amount of cross_sell sales in the period"


@hookimpl
def register_metrics() -> list[Metric]:
    return [CrossSellRevenue()]
