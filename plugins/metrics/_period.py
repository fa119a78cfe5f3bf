"""Helpers shared by the period-level metrics (not a plugin: no ``register_metrics``).

Each helper works on whole columns with numpy and pyarrow; only a loop per period of the grid
is allowed (a handful of iterations), never one per record. Money stays exact: decimal128
columns are summed by pyarrow and come back as :class:`decimal.Decimal`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import ClassVar

from slaengine.fields import RECORD_KINDS
from slaengine.lazy import np, pa, pc
from slaengine.plugin import Input, MeasureContext, PeriodFigures, PeriodGrid, PeriodMetric

CENT_4 = Decimal("0.0001")
"""Money figures are quantized to the four decimals of :data:`slaengine.fields.MONEY`."""


def quantize(amount: Decimal) -> Decimal:
    """``amount`` rounded to 4 decimal places, halves away from zero (ROUND_HALF_UP)."""
    return amount.quantize(CENT_4, rounding=ROUND_HALF_UP)


def time_field(table: pa.Table, kinds: Iterable[str]) -> str:
    """The period-deciding field of ``table``: the time field of the first of ``kinds`` that
    the table carries (the engine always delivers a kind's time field)."""
    for name in kinds:
        kind = RECORD_KINDS[name]
        if kind.time_field in table.column_names:
            return kind.time_field
    raise ValueError(f"records of none of the kinds {', '.join(kinds)}: {table.column_names}")


def micros(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """Timestamps as int64 microseconds since the epoch (UTC); null becomes int64 max
    (later than any period end, so "not yet" for a resolution or an end date)."""
    never = np.iinfo(np.int64).max
    values = pc.fill_null(pc.cast(column, pa.int64()), never)
    return np.asarray(values.to_numpy(zero_copy_only=False), dtype=np.int64)


def counts(index: np.ndarray, grid: PeriodGrid, mask: np.ndarray | None = None) -> np.ndarray:
    """Records per period: ``index`` is :meth:`PeriodGrid.index` (-1 outside the grid)."""
    keep = index >= 0 if mask is None else (index >= 0) & mask
    bins = np.where(keep, index, len(grid))
    return np.bincount(bins, minlength=len(grid) + 1)[: len(grid)].astype(np.int64)


def per_period(keys: np.ndarray, amounts: np.ndarray, grid: PeriodGrid) -> np.ndarray:
    """Summary rows added up per period of the grid: ``amounts`` of the rows whose period
    ``keys`` is that period's (a loop per period over the few summary rows)."""
    return np.array([amounts[keys == key].sum() for key in grid.keys.tolist()])


def money_sums(
    amounts: pa.ChunkedArray | pa.Array, index: np.ndarray, grid: PeriodGrid,
    mask: np.ndarray | None = None,
) -> list[Decimal]:
    """Exact sums of a decimal128 column per period (nulls add nothing; none: ``0``)."""
    out: list[Decimal] = []
    for p in range(len(grid)):
        chosen = index == p if mask is None else (index == p) & mask
        total = pc.sum(amounts.filter(pa.array(chosen))).as_py()
        out.append(total if total is not None else Decimal(0))
    return out


class SalesOfType(PeriodMetric):
    """Base of ``upsell_revenue``, ``cross_sell_revenue``, ``upsell_count`` and
    ``cross_sell_count``: the sales of one ``sale_type`` made in the period (``sold_at``).

    A subclass sets ``sale_type`` and ``unit``: ``"money"`` gives Σ ``amount`` (exact Decimal,
    ``0`` when there are none), ``"count"`` the number of those sales. The sample size is the
    number of sales of any type in the period (after ``where``), so a period with sales but no
    upsell scores 0 rather than insufficient data.
    """

    sale_type: ClassVar[str]
    better = "higher"
    inputs: ClassVar[dict[str, Input]] = {
        "sales": Input(("sales",), ("sold_at", "sale_type", "amount")),
    }

    def aggregate(
        self, inputs: Mapping[str, pa.Table], grid: PeriodGrid, context: MeasureContext
    ) -> PeriodFigures:
        sales = inputs["sales"]
        index = grid.index(sales["sold_at"])
        kind = pc.fill_null(pc.equal(pc.cast(sales["sale_type"], pa.string()), self.sale_type),
                            False)
        of_type = np.asarray(kind.to_numpy(zero_copy_only=False), dtype=bool)
        sample = counts(index, grid)
        value: list[float | Decimal | None]
        if self.unit == "money":
            value = list(money_sums(sales["amount"], index, grid, of_type))
        else:
            value = [float(n) for n in counts(index, grid, of_type)]
        return PeriodFigures(value=value, sample_size=sample)
