"""One batch of accepted records as every service level of its source sees it: its
records' periods, segments and (period, segment) groups, computed once per batch.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from slaengine.bits import valid_mask
from slaengine.contract import Contract
from slaengine.lazy import np, pa, pc
from slaengine.periods import KeysMemo


@dataclass
class BatchPeriods:
    """The periods of one batch's records by one time field: each record's key, whether it
    has one (``valid``: None when all do), the keys present and each record's position."""

    keys: np.ndarray
    valid: np.ndarray | None
    present: np.ndarray
    position: np.ndarray


def batch_periods(keys: np.ndarray, valid: np.ndarray | None = None) -> BatchPeriods:
    chosen = keys if valid is None else keys[valid]
    position = np.zeros(len(keys), dtype=np.int64)
    if len(chosen) == 0:
        return BatchPeriods(keys, valid, chosen, position)
    low, high = int(chosen.min()), int(chosen.max())
    if low == high:  # one period (records come in time order): every position is 0
        return BatchPeriods(keys, valid, np.array([low], dtype=np.int64), position)
    seen = np.bincount(chosen - low) > 0  # keys span a few hundred values: counted
    at = (np.cumsum(seen) - 1)[chosen - low]
    if valid is None:
        position = at
    else:
        position[valid] = at
    return BatchPeriods(keys, valid, np.flatnonzero(seen) + low, position)


_NONE = object()


class GroupIndex:
    """The (period, segment) groups of one way of grouping (a ``by`` list and a period field),
    numbered as first seen across all batches and shared by every level grouping that way."""

    def __init__(self) -> None:
        self.ids: dict[tuple[int, tuple], int] = {}
        self.pairs: list[tuple[int, tuple]] = []
        self._lock = threading.Lock()  # two lanes may number new groups at once

    def ids_of(self, pairs: list[tuple[int, tuple]]) -> np.ndarray:
        """The id of each pair, numbering the new ones."""
        out = np.empty(len(pairs), dtype=np.intp)
        with self._lock:
            for i, pair in enumerate(pairs):  # once per (period, segment) of a batch
                found = self.ids.get(pair)
                if found is None:
                    found = self.ids[pair] = len(self.pairs)
                    self.pairs.append(pair)
                out[i] = found
        return out


class Batch:
    """One batch of accepted records as every service level of its source sees it.

    The period keys (by the kind's time field, or another one a level names in
    ``period_by``), the segments of each ``by`` list and each record's group are computed once
    per batch and shared by the service levels, which each take the rows their ``where`` keeps.
    """

    def __init__(self, table: pa.Table, keys: np.ndarray, contract: Contract,
                 time_field: str, indexes: dict[tuple, GroupIndex] | None = None) -> None:
        self.table = table
        self.contract = contract
        self.indexes = {} if indexes is None else indexes
        self.memo = KeysMemo(contract.period, contract.timezone)
        if table.num_rows:
            self.memo.know(table[time_field], keys)
        self._shared: dict[tuple, Any] = {("periods", time_field): batch_periods(keys)}
        self._lock = threading.Lock()
        self._locks: dict[tuple, threading.Lock] = {}

    def periods(self, field_name: str) -> BatchPeriods:
        """The records' periods by ``field_name``, placed once per batch."""
        def place(batch: Batch) -> BatchPeriods:
            column = batch.table[field_name]
            return batch_periods(batch.memo.keys(column), valid_mask(column))

        return self.shared(("periods", field_name), place)

    def span(self, field_name: str) -> tuple[int, int]:
        """The first and last time of ``field_name`` (see :func:`~slaengine.engine.narrow.
        time_span`), once per batch."""
        from slaengine.engine.narrow import time_span

        return self.shared(("span", field_name), lambda batch: time_span(batch.table[field_name]))

    def where(self, where: Mapping[str, tuple[str, ...]]) -> np.ndarray:
        """The records ``where`` keeps (see :func:`~slaengine.engine.narrow.where_mask`), once
        per batch for all the levels that name the same values; not to be changed."""
        from slaengine.engine.narrow import where_mask

        key = ("where", tuple(sorted((name, tuple(values)) for name, values in where.items())))
        return self.shared(key, lambda batch: where_mask(batch.table, dict(where)))

    def shared(self, key: tuple, compute: Callable[[Batch], Any]) -> Any:
        """What ``compute`` gives for this batch, computed once per ``key``, also when two
        lanes ask at once (:mod:`slaengine.engine.lanes`: one lock per key, so different
        keys are computed side by side)."""
        found = self._shared.get(key, _NONE)
        if found is not _NONE:
            return found
        with self._lock:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            if key not in self._shared:
                self._shared[key] = compute(self)
        return self._shared[key]

    def groups(self, by: tuple[str, ...], field_name: str) -> tuple[np.ndarray, np.ndarray]:
        """Each record's group (its (period, segment) pair's id in the grouping's
        :class:`GroupIndex`), and the ids present in the batch."""
        return self.shared(("groups", by, field_name), lambda b: b._grouped(by, field_name))

    def _grouped(self, by: tuple[str, ...], field_name: str) -> tuple[np.ndarray, np.ndarray]:
        periods = self.periods(field_name)
        segment_index, segments = segment_groups(self.table, by)
        width = max(len(segments), 1)
        if len(periods.present) == 1:  # one period: the segment is the code
            codes = segment_index if segments else periods.position
        else:
            codes = periods.position * width + segment_index
        pairs = [(int(periods.present[c // width]),
                  tuple(segments[c % width].values()) if segments else ())
                 for c in range(len(periods.present) * width)]
        ids = self.indexes.setdefault((by, field_name), GroupIndex()).ids_of(pairs)
        chosen = codes if periods.valid is None else codes[periods.valid]
        if len(ids) == 1:
            present = ids[: min(len(chosen), 1)]
        else:
            present = ids[np.flatnonzero(np.bincount(chosen, minlength=len(pairs)))]
        if len(ids) == 1:
            every = np.full(len(codes), ids[0], dtype=np.intp)
        elif (ids == np.arange(len(ids))).all():
            every = codes.astype(np.intp, copy=False)
        else:
            every = ids[codes]
        return every, present


def segment_groups(table: pa.Table, by: Iterable[str]) -> tuple[np.ndarray, list[dict]]:
    """A segment index per record and the segments (``{"priority": "urgent"}``) in order.

    Segments are the value combinations present (or, when there are few combinations, all of
    them), sorted by value; a missing value is its own segment, after the others. Works on
    dictionary indices: no string is compared per record.
    """
    by = list(by)
    if not by:
        return np.zeros(table.num_rows, dtype=np.int64), []
    codes: np.ndarray | None = None
    vocabularies: list[list[str | None]] = []
    for name in by:
        indices, dictionary = _dictionary(table[name])
        order = sorted(range(len(dictionary)), key=lambda i: dictionary[i])
        rank = np.empty(len(dictionary) + 1, dtype=np.intp)
        rank[order] = np.arange(len(dictionary))
        rank[len(dictionary)] = len(dictionary)  # the null segment sorts last
        part = rank[indices]
        codes = part if codes is None else codes * (len(dictionary) + 1) + part
        vocabularies.append([dictionary[i] for i in order] + [None])
    assert codes is not None
    combinations = math.prod(len(v) for v in vocabularies)
    if combinations <= _SMALL_PRODUCT:
        # Few combinations: every one is a segment, those absent simply have no records
        # (callers drop empty groups), which saves compacting the codes.
        present, inverse = np.ones(combinations, dtype=bool), codes
    else:
        present = np.bincount(codes) > 0
        inverse = (np.cumsum(present) - 1)[codes]
    segments = []
    for code in np.flatnonzero(present):
        parts = []
        for vocabulary in reversed(vocabularies):
            code, index = divmod(int(code), len(vocabulary))
            parts.append(vocabulary[index])
        segments.append(dict(zip(by, reversed(parts), strict=True)))
    return inverse, segments


_SMALL_PRODUCT = 4096


def _dictionary(column: pa.ChunkedArray | pa.Array) -> tuple[np.ndarray, list[str]]:
    """Index per record (nulls get ``len(dictionary)``) and the distinct values as text."""
    if isinstance(column, pa.ChunkedArray):
        column = column.unify_dictionaries() if pa.types.is_dictionary(column.type) else column
        column = column.combine_chunks() if column.num_chunks else pa.array([], column.type)
    if not pa.types.is_dictionary(column.type):
        column = pc.dictionary_encode(pc.cast(column, pa.string()))
    dictionary = [str(v) for v in column.dictionary.to_pylist()]
    indices = column.indices
    if indices.null_count:
        indices = pc.fill_null(indices, len(dictionary))
    return indices.to_numpy(zero_copy_only=False), dictionary


def shown_ids(ids: pa.ChunkedArray | pa.Array) -> pa.Array:
    """Record ids as the text reports show them: text stays as it is, a number (an integer
    id) becomes its decimal text. Only the ids shown are converted, never every record's."""
    if isinstance(ids, pa.ChunkedArray):
        ids = ids.combine_chunks()
    if pa.types.is_dictionary(ids.type):
        ids = ids.dictionary_decode()
    return ids if pa.types.is_string(ids.type) else pc.cast(ids, pa.string())
