"""``customer_lifetime_value``: average purchase value × purchases per year × lifespan."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from slaengine import hookimpl
from slaengine.lazy import np, pa, pc
from slaengine.money import parse_amount
from slaengine.plugin import Input, MeasureContext, Metric, PeriodFigures, PeriodGrid, PeriodMetric
from slaengine.plugins.metrics._period import micros, quantize


def _check_years(field: str, value: Any, error: Any) -> None:
    try:
        years = parse_amount(value)
    except ValueError as exc:
        error(field, str(exc))
        return
    if years <= 0:
        error(field, f"{value!r} must be more than 0 years")


def year_before(ends: np.ndarray, period: str, timezone: str) -> np.ndarray:
    """The start of the trailing year that ends with each period: the same local date one year
    earlier (52 weeks for ISO weeks), as UTC microseconds. A period ends at local midnight on
    the first day of the next one, so the date always exists a year earlier."""
    zone = ZoneInfo(timezone)
    starts = []
    for end in ends.tolist():
        day = datetime.fromtimestamp(end // 1_000_000, zone).date()
        first = day - timedelta(weeks=52) if period == "week" else day.replace(year=day.year - 1)
        starts.append(int(datetime.combine(first, time(), zone).timestamp()) * 1_000_000)
    return np.array(starts, dtype=np.int64)


class CustomerLifetimeValue(PeriodMetric):
    """Average purchase value × purchases per customer per year × expected lifespan in years.

    Definition (reference article 001, section Customer Lifetime Value): the average purchase
    value times the purchases a year times the customer lifespan in years; its Standard
    customer, 50 × 4 a year × 5 years, is worth 1,000. Per period, over the sales of the
    trailing year that ends with the period (the twelve months to the end of a month, the four
    quarters to the end of a quarter, 52 weeks, the year itself) that name a customer:
    average purchase value = Σ ``amount`` ÷ purchases; purchases per customer per year =
    purchases ÷ distinct customers; CLV = their product × ``lifespan_years`` (which simplifies
    to Σ amount ÷ customers × lifespan). A year with less history than a full year counts the
    purchases it has. Exact decimals, quantized to 4
    places with ROUND_HALF_UP. A sale without ``customer_id`` is left out. The sample size is
    the number of distinct customers of the trailing year; a period without any has no
    figure. Unit: money. Direction: higher is better. Fields: ``sold_at``, ``customer_id``,
    ``amount`` (sales). Option ``lifespan_years`` (required, a decimal string such as
    ``"3.5"``). A period-level metric: the target has no statistic.

    Example::

        [[service_levels]]
        id = "clv"
        source = "sales"
        metric = "customer_lifetime_value"
        target = ">= 1200"
        options = { lifespan_years = "3" }
    """

    name = "customer_lifetime_value"
    unit = "money"
    better = "higher"
    formula = ("Σ amount ÷ purchases × purchases ÷ customers over the trailing year"
               " × lifespan_years")
    schema: ClassVar[dict[str, Any]] = {
        "lifespan_years": {"required": True, "check_with": _check_years},
    }
    inputs: ClassVar[dict[str, Input]] = {
        "sales": Input(("sales",), ("sold_at", "customer_id", "amount")),
    }

    def aggregate(
        self, inputs: Mapping[str, pa.Table], grid: PeriodGrid, context: MeasureContext
    ) -> PeriodFigures:
        lifespan = parse_amount(context.options["lifespan_years"])
        sales = inputs["sales"]
        sales = sales.filter(pc.is_valid(sales["customer_id"]))
        sold = micros(sales["sold_at"])
        starts = year_before(grid.ends, context.period, context.timezone)
        value: list[float | Decimal | None] = []
        customers = np.zeros(len(grid), dtype=np.int64)
        for p, (start, end) in enumerate(zip(starts.tolist(), grid.ends.tolist(), strict=True)):
            chosen = pa.array((sold >= start) & (sold < end))
            customers[p] = pc.count_distinct(sales["customer_id"].filter(chosen)).as_py()
            revenue = pc.sum(sales["amount"].filter(chosen)).as_py() or Decimal(0)
            value.append(quantize(revenue / customers[p] * lifespan) if customers[p] else None)
        return PeriodFigures(value=value, sample_size=customers)

    def records_behind(self, role: str, records: pa.Table, grid: PeriodGrid,
                       context: MeasureContext) -> list[np.ndarray]:
        """The sales naming a customer in the trailing year that ends with the period."""
        named = np.asarray(pc.is_valid(records["customer_id"]).to_numpy(zero_copy_only=False),
                           dtype=bool)
        sold = micros(records["sold_at"])
        starts = year_before(grid.ends, context.period, context.timezone)
        return [named & (sold >= start) & (sold < end)
                for start, end in zip(starts.tolist(), grid.ends.tolist(), strict=True)]


@hookimpl
def register_metrics() -> list[Metric]:
    return [CustomerLifetimeValue()]
