"""Which records a service level counts: the contract's window, the level's ``where`` and
the exclusions agreed in the contract.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from slaengine.bits import extremes, numbers, true_mask, valid_mask
from slaengine.contract import Contract, ServiceLevel
from slaengine.engine.batch import Batch, BatchPeriods
from slaengine.lazy import np, pa, pc
from slaengine.periods import period_bounds, period_range
from slaengine.verdicts import LevelAccount


@dataclass
class Narrowing:
    """Which of some records a service level counts, and why the others are left out.

    ``chosen``: the records its ``where`` (and its metric's own selection) keeps and no agreed
    exclusion removes, whatever their period; ``mask``: those of them inside the window, the
    records that count. ``present``: the periods present, spanned and then cut to the window;
    ``excluded``: per period key, the records inside the window left out by ``where`` or by
    agreement; ``agreed``: per reason, the records excluded by agreement; ``outside``: records
    whose period lies outside the window; ``without``: records with no period (their period
    field is empty).
    """

    accepted: int
    present: np.ndarray
    chosen: np.ndarray
    mask: np.ndarray
    included: int
    excluded: dict[int, int]
    agreed: dict[str, int]
    outside: int
    without: int


def narrow(contract: Contract, level: ServiceLevel, table: pa.Table, periods: BatchPeriods,
           time_field: str, *, selected: np.ndarray | None = None,
           spans: Sequence[np.ndarray] = (), batch: Batch | None = None) -> Narrowing:
    """Window, then ``where`` (and ``selected``, the metric's own choice), then the exclusions
    agreed for ``level``, then the accounting: the one narrowing every evaluation path uses.

    ``periods`` places each record by the level's period field; ``time_field`` is the time the
    agreed exclusions speak of; ``spans``: further periods a period-level metric covers;
    ``batch``: the batch ``table`` is, when it is one: what every level of it asks alike (the
    records a ``where`` keeps, the span of its times) is then computed once for them all.
    """
    keys, present, inside = periods.keys, periods.present, periods.valid
    without = 0 if inside is None else int(np.count_nonzero(~inside))
    if len(spans):
        present = spanned_periods(contract, present, spans)
    if contract.window != (None, None):
        present = window_periods(contract, present)
        within = np.isin(keys, present)
        inside = within if inside is None else inside & within
    chosen = where_mask(table, level.where) if batch is None else batch.where(level.where).copy()
    if selected is not None:
        chosen &= selected
    agreed: dict[str, int] = {}
    if contract.exclusions:
        # Excluded whatever their period (a period-level metric also sees earlier periods'
        # records), counted where they would otherwise count.
        counting = None if inside is None else chosen & inside
        span = None if batch is None else (lambda: batch.span(time_field))
        out, agreed = agreed_exclusions(contract, level, table, time_field, among=chosen,
                                        counted=counting, span=span)
        chosen &= ~out
    left_out = ~chosen if inside is None else inside & ~chosen
    mask = chosen if inside is None else chosen & inside
    outside = 0 if inside is None else int(np.count_nonzero(~inside)) - without
    return Narrowing(accepted=table.num_rows, present=present, chosen=chosen, mask=mask,
                     included=int(np.count_nonzero(mask)), excluded=_left_out(periods, left_out),
                     agreed=agreed, outside=outside, without=without)


def _left_out(periods: BatchPeriods, left_out: np.ndarray) -> dict[int, int]:
    """How many of the records ``left_out`` (all with a period) fall in each period: by their
    position among the batch's few periods (a count per period, no copy of the keys)."""
    known = periods.present
    if len(known) == 1:
        count = int(np.count_nonzero(left_out))
        return {int(known[0]): count} if count else {}
    if len(known) <= 8:
        found = {}
        for place, key in enumerate(known.tolist()):
            count = int(np.count_nonzero(left_out & (periods.position == place)))
            if count:
                found[key] = count
        return found
    return per_period(periods.keys[left_out])


def per_period(keys: np.ndarray) -> dict[int, int]:
    """How many of ``keys`` fall in each period (the keys span a few hundred values)."""
    if not len(keys):
        return {}
    low = int(keys.min())
    counts = np.bincount(keys - low)
    return {int(o) + low: int(counts[o]) for o in np.flatnonzero(counts)}


@dataclass
class Counted:
    """What a level has counted over its narrowings: the accounting, the periods present and,
    per period key, the records left out."""

    account: LevelAccount
    periods: set[int] = field(default_factory=set)
    excluded: dict[int, int] = field(default_factory=dict)

    def add(self, narrowing: Narrowing) -> None:
        account = self.account
        account.accepted += narrowing.accepted
        account.included += narrowing.included
        account.outside_window += narrowing.outside
        account.without_period += narrowing.without
        for reason, count in narrowing.agreed.items():
            account.agreed[reason] = account.agreed.get(reason, 0) + count
        for key, count in narrowing.excluded.items():
            self.excluded[key] = self.excluded.get(key, 0) + count
            account.excluded += count
        self.periods.update(int(k) for k in narrowing.present)

    def merge(self, other: Counted) -> None:
        """Add what ``other`` counted (another partition's narrowings of the same level)."""
        mine, theirs = self.account, other.account
        mine.accepted += theirs.accepted
        mine.included += theirs.included
        mine.excluded += theirs.excluded
        mine.outside_window += theirs.outside_window
        mine.without_period += theirs.without_period
        for reason, count in theirs.agreed.items():
            mine.agreed[reason] = mine.agreed.get(reason, 0) + count
        for key, count in other.excluded.items():
            self.excluded[key] = self.excluded.get(key, 0) + count
        self.periods |= other.periods

    def sorted_periods(self) -> np.ndarray:
        return np.array(sorted(self.periods), dtype=np.int64)


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
                      counted: np.ndarray | None = None,
                      span: Callable[[], tuple[int, int]] | None = None,
                      ) -> tuple[np.ndarray, dict[str, int]]:
    """Records the contract excludes by agreement for ``level`` (only ``among`` those, when
    given), and how many per reason (a record in two exclusions counts once, for the first;
    only the ``counted`` ones, when given). ``span`` gives the first and last of the records'
    times (:func:`time_span`), when something keeps it."""
    excluded = np.zeros(table.num_rows, dtype=bool)
    counts: dict[str, int] = {}
    found: tuple[int, int] | None = None  # the records' first and last time, once asked
    for exclusion in contract.exclusions:
        if not exclusion.applies_to(level.id) or table.num_rows == 0:
            continue
        time = table[time_field]
        if pa.types.is_timestamp(time.type):
            # an exclusion lasts hours or days: most batches hold no record in it
            found = found or (span() if span is not None else time_span(time))
            if (found[1] < _in_unit(exclusion.start, time.type)
                    or found[0] >= _in_unit(exclusion.end, time.type)):
                continue
        start, end = (pa.scalar(t, time.type) for t in (exclusion.start, exclusion.end))
        during = pc.and_(pc.greater_equal(time, start), pc.less(time, end))
        hit = true_mask(during)
        hit &= where_mask(table, exclusion.where)
        if among is not None:
            hit &= among
        new = hit & ~excluded
        if counted is not None:
            new &= counted
        if new.any():
            counts[exclusion.reason] = counts.get(exclusion.reason, 0) + int(new.sum())
        excluded |= hit
    return excluded, counts


@functools.lru_cache(maxsize=256)
def _in_unit(moment: datetime, type_: pa.DataType) -> int:
    """``moment`` as a number of ``type_``'s (a timestamp type's) units since the epoch."""
    return pa.scalar(moment, type_).value


def time_span(time: pa.ChunkedArray | pa.Array) -> tuple[int, int]:
    """The first and last time of a timestamp column, in its unit (an empty span, first after
    last, when every value is missing)."""
    found = extremes(time)
    return (1, 0) if found is None else found


def where_mask(table: pa.Table, where: dict[str, tuple[str, ...]]) -> np.ndarray:
    """Records whose fields hold one of the listed values (fields the table lacks are skipped:
    a period-level metric's record sets need not all carry them)."""
    mask = np.ones(table.num_rows, dtype=bool)
    for name, values in where.items():
        if name not in table.column_names:
            continue
        column = table[name]
        chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
        wanted = pa.array(values, pa.string())
        hits = [_one_of(chunk, wanted) for chunk in chunks]
        mask &= hits[0] if len(hits) == 1 else np.concatenate(hits or [np.zeros(0, bool)])
    return mask


def _one_of(values: pa.Array, wanted: pa.Array) -> np.ndarray:
    """Which of ``values`` (compared as text) are among ``wanted``; a null is not. A category
    column (a dictionary) is looked up entry by entry, then per record by its index: no text
    per record."""
    if pa.types.is_dictionary(values.type):
        entries = pc.is_in(pc.cast(values.dictionary, pa.string()), value_set=wanted)
        known = true_mask(entries)
        indices = values.indices
        if not len(known):  # no entry: every record is missing
            return np.zeros(len(values), dtype=bool)
        # a null's slot holds anything: clipped, then dropped
        hit = np.take(known, numbers(indices), mode="clip")
        valid = valid_mask(indices)
        if valid is not None:
            hit &= valid
        return hit
    hit = pc.is_in(pc.cast(values, pa.string()), value_set=wanted)
    return true_mask(hit)
