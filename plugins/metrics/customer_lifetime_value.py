"""``customer_lifetime_value``: average purchase value × purchases per year × lifespan."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, ClassVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from slaengine import hookimpl
from slaengine.kinds import Input, MeasureContext, Metric, PeriodFigures, PeriodGrid, PeriodMetric
from slaengine.money import parse_amount
from slaengine.plugins.metrics._period import money_sums, quantize

DAY_US = 86_400 * 1_000_000


def _check_years(field: str, value: Any, error: Any) -> None:
    try:
        years = parse_amount(value)
    except ValueError as exc:
        error(field, str(exc))
        return
    if years <= 0:
        error(field, f"{value!r} must be more than 0 years")


def periods_per_year(grid: PeriodGrid) -> np.ndarray:
    """52 for a week, 12 for a month, 4 for a quarter, 1 for a year, from each period's length
    in days (its UTC bounds: 7 ± DST, 28-31, 90-92, 365-366)."""
    days = (grid.ends - grid.starts) / DAY_US
    return np.select([days < 8, days < 32, days < 93], [52, 12, 4], default=1).astype(np.int64)


class CustomerLifetimeValue(PeriodMetric):
    """Average purchase value × purchases per customer per year × expected lifespan in years.

    Formula, per period, over the sales made in it (``sold_at``) that name a customer:
    average purchase value = Σ ``amount`` ÷ purchases; purchases per year = purchases ÷
    distinct customers × periods per year (week 52, month 12, quarter 4, year 1); CLV = their
    product × ``lifespan_years`` (which simplifies to Σ amount ÷ customers × periods per year ×
    lifespan). The period kind is derived from the grid's bounds (each period's length in
    days), not from the contract. Exact decimals, quantized to 4 places with ROUND_HALF_UP. A
    sale without ``customer_id`` is left out. The sample size is the number of distinct
    customers; a period without any has no figure. Unit: money. Direction: higher is better.
    Fields: ``sold_at``, ``customer_id``, ``amount`` (sales). Option ``lifespan_years``
    (required, a decimal string such as ``"3.5"``). A period-level metric: the target has no
    statistic.

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
    formula = "Σ amount ÷ purchases × purchases ÷ customers × periods per year × lifespan_years"
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
        known = np.asarray(pc.is_valid(sales["customer_id"]).to_numpy(zero_copy_only=False),
                           dtype=bool)
        index = np.where(known, grid.index(sales["sold_at"]), -1)
        revenue = money_sums(sales["amount"], index, grid)
        customers = np.zeros(len(grid), dtype=np.int64)
        for p in range(len(grid)):
            ids = sales["customer_id"].filter(pa.array(index == p))
            customers[p] = pc.count_distinct(ids).as_py()
        per_year = periods_per_year(grid)
        value: list[float | Decimal | None] = [
            quantize(r / c * int(k) * lifespan) if c > 0 else None
            for r, c, k in zip(revenue, customers, per_year, strict=True)
        ]
        return PeriodFigures(value=value, sample_size=customers)


@hookimpl
def register_metrics() -> list[Metric]:
    return [CustomerLifetimeValue()]
