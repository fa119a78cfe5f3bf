"""``upsell_count``: the number of upsells."""

from __future__ import annotations

from slaengine import hookimpl
from slaengine.plugin import Metric
from slaengine.plugins.metrics._period import SalesOfType


class UpsellCount(SalesOfType):
    """Upsells made in the period.

    Formula: the number of sales with ``sale_type = "upsell"``. Sales come from a sales source
    (``sold_at``, ``sale_type``, ``amount``); ``where`` narrows them (e.g. by ``agent``). The
    sample size is the number of sales of any type in the period, so a period with sales but
    none of this type scores 0. Unit: count. Direction: higher is better. A period-level metric:
    the target has no statistic.

    Example::

        [[service_levels]]
        id = "upsell-count"
        source = "sales"
        metric = "upsell_count"
        target = ">= 40"
    """

    name = "upsell_count"
    sale_type = "upsell"
    unit = "count"
    formula = "number of upsell sales in the period"


@hookimpl
def register_metrics() -> list[Metric]:
    return [UpsellCount()]
