"""``cross_sell_count``: the number of cross-sells."""

from __future__ import annotations

from slaengine import hookimpl
from slaengine.plugin import Metric
from slaengine.plugins.metrics._period import SalesOfType


class CrossSellCount(SalesOfType):
    """Cross-sells made in the period.

    Formula: the number of sales with ``sale_type = "cross_sell"``. Sales come from a sales
    source (``sold_at``, ``sale_type``, ``amount``); ``where`` narrows them (e.g. by ``agent``).
    The sample size is the number of sales of any type in the period, so a period with sales but
    none of this type scores 0. Unit: count. Direction: higher is better. A period-level metric:
    the target has no statistic.

    Example::

        [[service_levels]]
        id = "cross-sell-count"
        source = "sales"
        metric = "cross_sell_count"
        target = ">= 25"
    """

    name = "cross_sell_count"
    sale_type = "cross_sell"
    unit = "count"
    formula = "number of cross_sell sales in the period"


@hookimpl
def register_metrics() -> list[Metric]:
    return [CrossSellCount()]
