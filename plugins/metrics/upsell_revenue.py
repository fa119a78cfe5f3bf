"""``upsell_revenue``: revenue from upsells."""

from __future__ import annotations

from slaengine import hookimpl
from slaengine.plugin import Metric
from slaengine.plugins.metrics._period import SalesOfType


class UpsellRevenue(SalesOfType):
    """Revenue from upsells made in the period, in the contract's currency.

    Formula: Σ ``amount`` of the sales with ``sale_type = "upsell"`` (exact decimals). Sales
    come from a sales source (``sold_at``, ``sale_type``, ``amount``); ``where`` narrows them
    (e.g. by ``agent``). The sample size is the number of sales of any type in the period, so a
    period with sales but none of this type scores 0. Unit: money. Direction: higher is better.
    A period-level metric: the target has no statistic.

    Example::

        [[service_levels]]
        id = "upsell-revenue"
        source = "sales"
        metric = "upsell_revenue"
        target = ">= 5000"
    """

    name = "upsell_revenue"
    sale_type = "upsell"
    unit = "money"
    formula = "Σ amount of upsell sales in the period"


@hookimpl
def register_metrics() -> list[Metric]:
    return [UpsellRevenue()]
