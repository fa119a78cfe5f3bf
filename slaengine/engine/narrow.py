"""Which records a service level counts: the contract's window, the level's ``where`` and
the exclusions agreed in the contract.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from slaengine.contract import Contract, ServiceLevel
from slaengine.periods import period_bounds, period_range


def spanned_periods(contract: Contract, periods: np.ndarray,
                    more: Iterable[np.ndarray]) -> np.ndarray:
    """``periods`` and every period from the first to the last of them and of ``more``."""
    keys = np.concatenate([periods, *more])
    if not len(keys):
        return periods
    return period_range(int(keys.min()), int(keys.max()), contract.period)


def window_periods(contract: Contract, periods: np.ndarray) -> np.ndarray:
    """The periods that overlap the contract's ``start``..``end`` window (dates, inclusive)."""
    starts, ends = period_bounds(periods, contract.period, contract.timezone)
    first, last = contract.window
    keep = np.ones(len(periods), dtype=bool)
    if first is not None:
        keep &= ends > _local_midnight(first, contract.timezone)
    if last is not None:
        keep &= starts < _local_midnight(last + timedelta(days=1), contract.timezone)
    return periods[keep]


def _local_midnight(day: date, timezone: str) -> int:
    moment = datetime.combine(day, datetime.min.time(), ZoneInfo(timezone))
    return int(moment.timestamp()) * 1_000_000


def agreed_exclusions(contract: Contract, level: ServiceLevel, table: pa.Table,
                      time_field: str, among: np.ndarray | None = None,
                      ) -> tuple[np.ndarray, dict[str, int]]:
    """Records the contract excludes by agreement for ``level`` (only ``among`` those, when
    given), and how many per reason (a record in two exclusions counts once, for the first)."""
    excluded = np.zeros(table.num_rows, dtype=bool)
    counts: dict[str, int] = {}
    for exclusion in contract.exclusions:
        if not exclusion.applies_to(level.id) or table.num_rows == 0:
            continue
        time = table[time_field]
        start, end = (pa.scalar(t, time.type) for t in (exclusion.start, exclusion.end))
        during = pc.and_(pc.greater_equal(time, start), pc.less(time, end))
        hit = np.asarray(pc.fill_null(during, False).to_numpy(zero_copy_only=False), dtype=bool)
        hit &= where_mask(table, exclusion.where)
        if among is not None:
            hit &= among
        new = hit & ~excluded
        if new.any():
            counts[exclusion.reason] = counts.get(exclusion.reason, 0) + int(new.sum())
        excluded |= hit
    return excluded, counts


def where_mask(table: pa.Table, where: dict[str, tuple[str, ...]]) -> np.ndarray:
    """Records whose fields hold one of the listed values (fields the table lacks are skipped:
    a period-level metric's record sets need not all carry them)."""
    mask = np.ones(table.num_rows, dtype=bool)
    for name, values in where.items():
        if name not in table.column_names:
            continue
        column = pc.cast(table[name], pa.string())
        hit = pc.fill_null(pc.is_in(column, value_set=pa.array(values, pa.string())), False)
        mask &= np.asarray(hit.to_numpy(zero_copy_only=False), dtype=bool)
    return mask
