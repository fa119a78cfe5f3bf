"""One Spark partition of a source, evaluated by the local engine's own functions.

Inside ``mapInArrow``, the partition's rows are cut into the batches the local engine reads
(:class:`FileBatches`: the same rows, by file, row group and ``batch_rows``), and each batch
goes through what the local engine does with it: :func:`slaengine.coerce.coerce` (rejects
counted by reason), the ``as_of`` cut, the period keys, and every streamed level's ``add``.
What leaves the partition for the driver is one :class:`PartitionState`, pickled into one
cell: counters per (period, segment) group, the per-batch sums (one float per group and
batch), the first missed ids of each group, the period-level summaries — never the records.
The measured values an order statistic (a median, a p90) needs leave the partition batch by
batch as rows for Spark to rank (:mod:`slaengine.spark.orders`), not for the driver."""

from __future__ import annotations

import pickle
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from slaengine.contract import Contract
from slaengine.engine.batch import Batch
from slaengine.engine.levels import PeriodInput
from slaengine.engine.missed import missed_mask
from slaengine.engine.narrow import Counted
from slaengine.engine.plan import plan
from slaengine.engine.read import reason_counts
from slaengine.engine.record import RecordLevel
from slaengine.errors import SlaError
from slaengine.lazy import np, pa, pc
from slaengine.periods import period_keys
from slaengine.spark.orders import ordered_tallies, output_batch, value_rows
from slaengine.spark.records import Keeping, Shipped, error_of, records_rows

FILE_COLUMN = "_slaengine_file"
ROW_COLUMN = "_slaengine_row"
RANK_BITS = 40
"""An order key is ``file rank << 40 | row index``: files in the local engine's order, rows
in file order (up to 2**40 rows a file, 2**23 files)."""


@dataclass(frozen=True)
class FileBatches:
    """How the local engine cuts one file into batches.

    ``starts``: the first row of each row group read. A single Parquet file (``single``) is
    read in batches of ``batch_rows`` over its row groups read, one after the other
    (``before``: the rows of row groups skipped before each); the files of a folder in batches
    of ``batch_rows`` within each row group (``before``: the batches of the earlier ones).
    """

    rank: int
    starts: np.ndarray
    before: np.ndarray
    single: bool

    def batch_keys(self, rows: np.ndarray, batch_rows: int) -> np.ndarray:
        """The key of each row's batch: increasing in the order the local engine reads."""
        group = np.searchsorted(self.starts, rows, side="right") - 1
        if self.single:
            ordinal = (rows - self.before[group]) // batch_rows
        else:
            ordinal = self.before[group] + (rows - self.starts[group]) // batch_rows
        return (np.int64(self.rank) << RANK_BITS) | ordinal


@dataclass
class LevelState:
    """What one streamed level counted in a partition."""

    counted: Counted
    missed: list[tuple[np.ndarray, np.ndarray, pa.Array]] = field(default_factory=list)
    paused: list[tuple[int, np.ndarray]] = field(default_factory=list)
    summaries: dict[str, list[tuple[int, pa.Table]]] = field(default_factory=dict)


@dataclass
class PartitionState:
    """Everything a partition sends the driver (see the module)."""

    read: int = 0
    accepted: int = 0
    rejected: int = 0
    after_as_of: int = 0
    duplicates: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    notes: dict[str, int] = field(default_factory=dict)
    groupings: dict[tuple, list[tuple[int, tuple]]] = field(default_factory=dict)
    tallies: dict[str, Any] = field(default_factory=dict)
    sums: dict[str, list[tuple[int, np.ndarray, np.ndarray]]] = field(default_factory=dict)
    levels: dict[str, LevelState] = field(default_factory=dict)
    error: tuple | None = None  # the error raised (records.error_of)
    seconds: float = 0.0  # the partition's time in the local engine's functions
    latest: datetime | None = None  # the latest record kept whole (when records are)


class OrderedRecordLevel(RecordLevel):
    """A :class:`RecordLevel` that keeps, per group, the missed records with the smallest
    order keys (not the first seen: a partition may read its files in another order), and
    each batch's paused seconds apart, so the driver adds them in the local engine's order."""

    batch: Batch
    candidates: list[tuple[np.ndarray, np.ndarray, pa.Array]]
    paused_steps: list[tuple[int, np.ndarray]]

    @classmethod
    def adopt(cls, level: RecordLevel) -> OrderedRecordLevel:
        level.__class__ = cls
        assert isinstance(level, OrderedRecordLevel)
        level.candidates, level.paused_steps = [], []
        return level

    def add(self, batch: Batch) -> None:
        self.batch = batch
        super().add(batch)
        shared = batch.shared(self.share_key, self._narrow_and_measure)
        if shared.kept is not None and shared.paused is not None:
            groups = batch.shared(("tally", self.share_key), _never)
            self.paused_steps.append((batch.key, np.bincount(groups, weights=shared.paused)))

    def _wants_ids(self, present: np.ndarray) -> bool:
        return True

    def _note_missed(self, shared: Any, groups: np.ndarray, present: np.ndarray) -> None:
        assert self.miss is not None and shared.kept is not None
        outcomes = shared.outcomes(self.metric) if self.miss[0] == "share" else None
        rows = np.flatnonzero(missed_mask(self.miss, shared.numbers, outcomes))
        if not len(rows):
            return
        order = self.batch.order if shared.mask is None else self.batch.order[shared.mask]
        ids = shared.ids(self.kind.id_field, rows)
        self.candidates = first_per_group([*self.candidates, (order[rows], groups[rows], ids)],
                                          self.missed_limit)


def first_per_group(parts: list[tuple[np.ndarray, np.ndarray, pa.Array]], limit: int,
                    ) -> list[tuple[np.ndarray, np.ndarray, pa.Array]]:
    """Of ``(order keys, groups, ids)`` parts, the ``limit`` smallest keys of each group, in
    key order (one part)."""
    if not parts:
        return []
    keys = np.concatenate([k for k, _, _ in parts])
    groups = np.concatenate([g for _, g, _ in parts])
    ids = pa.concat_arrays([i.combine_chunks() if isinstance(i, pa.ChunkedArray) else i
                            for _, _, i in parts])
    order = np.lexsort((keys, groups))
    sorted_groups = groups[order]
    rank = np.arange(len(order)) - np.searchsorted(sorted_groups, sorted_groups)
    chosen = order[rank < limit]
    chosen = chosen[np.argsort(keys[chosen], kind="stable")]
    return [(keys[chosen], groups[chosen], ids.take(pa.array(chosen)))]


def _never(_: Batch) -> Any:
    raise AssertionError("the tally's groups are computed by the level first")


@dataclass
class PartitionJob(Shipped):
    """What every partition of one source runs (pickled to the executors with its contract,
    :class:`~slaengine.spark.records.Shipped`)."""

    contract: Contract
    source: str
    columns: dict[str, str]
    files: dict[str, FileBatches]
    batch_rows: int
    as_of: datetime | None = None
    keeping: Keeping | None = None  # how records needed whole leave the partition

    def __call__(self, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        """The partition's measured values for Spark to rank, batch by batch, then its state
        (rows of :data:`slaengine.spark.orders.OUTPUT`)."""
        state = PartitionState()
        started = time.perf_counter()
        try:
            yield from self.run(batches, state)
        except SlaError as exc:
            state = PartitionState(error=error_of(exc))
        state.seconds = time.perf_counter() - started
        yield output_batch(1, state=pa.array([pickle.dumps(state, protocol=5)], pa.binary()))

    def run(self, batches: Iterator[pa.RecordBatch], state: PartitionState,
            ) -> Iterator[pa.RecordBatch]:
        """Feed the partition's batches to the levels into ``state``; after each batch, the
        values its order statistics kept."""
        contract = self.contract
        registry = self.registry()
        streamed, _ = plan(contract, registry, False)
        levels = streamed.get(self.source, [])
        records_levels = [OrderedRecordLevel.adopt(lv) for lv in levels
                          if isinstance(lv, RecordLevel)]
        tallies: dict[str, Any] = {}
        for level in records_levels:
            if all(level.tally is not t for t in tallies.values()):
                tallies[level.level.id] = level.tally
                level.tally.steps = []
        ordered = ordered_tallies(records_levels)
        indexes = records_levels[0].indexes if records_levels else {}
        for raw, order, key in self.batches(batches):
            kept = self.feed(raw, order, key, levels, tallies, indexes, state)
            if kept is not None:
                yield kept
            rows = value_rows(ordered, indexes)
            if rows is not None:
                yield rows
        state.groupings = {grouping: list(index.pairs) for grouping, index in indexes.items()}
        for owner, tally in tallies.items():
            tally.steps = None
            state.tallies[owner] = tally
        for level in levels:
            if isinstance(level, OrderedRecordLevel):
                found = state.levels.setdefault(level.level.id, LevelState(level.counted))
                found.missed, found.paused = level.candidates, level.paused_steps
            elif isinstance(level, PeriodInput):
                state.levels.setdefault(level.level.id,
                                        LevelState(level.period_level.counted))

    def batches(self, incoming: Iterator[pa.RecordBatch],
                ) -> Iterator[tuple[pa.Table, np.ndarray, int]]:
        """The partition's rows as the local engine's batches: ``(raw columns, each row's
        order key, the batch's key)``."""
        pending: list[tuple[pa.RecordBatch, np.ndarray]] = []
        current: int | None = None
        for batch in incoming:
            if not batch.num_rows:
                continue
            order, keys = self._keys(batch)
            cuts = np.flatnonzero(np.diff(keys)) + 1
            for start, end in zip([0, *cuts.tolist()], [*cuts.tolist(), len(keys)],
                                  strict=True):
                key = int(keys[start])
                if current is not None and key != current:
                    yield self._joined(pending, current)
                    pending = []
                current = key
                pending.append((batch.slice(start, end - start), order[start:end]))
        if pending and current is not None:
            yield self._joined(pending, current)

    def _keys(self, batch: pa.RecordBatch) -> tuple[np.ndarray, np.ndarray]:
        """Each row's order key and batch key."""
        files = pc.dictionary_encode(batch.column(FILE_COLUMN))
        names = [local_path(uri) for uri in files.dictionary.to_pylist()]
        which = files.indices.to_numpy(zero_copy_only=False)
        rows = batch.column(ROW_COLUMN).to_numpy(zero_copy_only=False).astype(np.int64)
        order = np.empty(len(rows), dtype=np.int64)
        keys = np.empty(len(rows), dtype=np.int64)
        for i, name in enumerate(names):  # once per file of the batch, not per row
            mine = which == i
            layout = self.files[name]
            order[mine] = (np.int64(layout.rank) << RANK_BITS) | rows[mine]
            keys[mine] = layout.batch_keys(rows[mine], self.batch_rows)
        return order, keys

    @staticmethod
    def _joined(parts: list[tuple[pa.RecordBatch, np.ndarray]], key: int,
                ) -> tuple[pa.Table, np.ndarray, int]:
        table = pa.Table.from_batches([b for b, _ in parts]).combine_chunks()
        return table, np.concatenate([o for _, o in parts]), key

    def feed(self, raw: pa.Table, order: np.ndarray, key: int, levels: list,
             tallies: dict[str, Any], indexes: dict, state: PartitionState,
             ) -> pa.RecordBatch | None:
        """One batch, as :func:`slaengine.engine.read.read_source` and the feeding of the
        local engine take it; the records it keeps whole (:mod:`slaengine.spark.records`),
        if any."""
        from slaengine.coerce import coerce

        contract = self.contract
        spec = contract.sources[self.source]
        kind = spec.record_kind
        records, rejected = coerce(raw, kind=kind, columns=self.columns,
                                   timezone=contract.timezone, rows=order, source=self.source)
        state.read += raw.num_rows
        state.accepted += records.num_rows
        state.rejected += rejected.num_rows
        for reason, count in reason_counts(rejected).items():
            state.reasons[reason] = state.reasons.get(reason, 0) + count
        if rejected.num_rows:
            order = order[~np.isin(order, rejected["row"].to_numpy())]
        return self.take(records, order, key, levels, tallies, indexes, state)

    def take(self, records: pa.Table, order: np.ndarray, key: int, levels: list,
             tallies: dict[str, Any], indexes: dict, state: PartitionState,
             ) -> pa.RecordBatch | None:
        """One batch's accepted ``records`` (each row's order key in ``order``): the
        ``as_of`` cut, the period keys, every level's ``add``; the records kept whole
        (:mod:`slaengine.spark.records`), if any."""
        contract = self.contract
        kind = contract.sources[self.source].record_kind
        if self.as_of is not None and records.num_rows:
            time = records[kind.time_field]
            early = pc.fill_null(pc.less_equal(time, pa.scalar(self.as_of, time.type)), True)
            kept = np.asarray(early.to_numpy(zero_copy_only=False), dtype=bool)
            state.after_as_of += int(len(kept) - kept.sum())
            records, order = records.filter(pa.array(kept)), order[kept]
        if not records.num_rows:
            return None
        kept = None
        if self.keeping is not None:
            kept = records_rows(records, order, self.keeping)
            newest = pc.max(records[kind.time_field]).as_py()
            if newest is not None and (state.latest is None or newest > state.latest):
                state.latest = newest
        keys = period_keys(records[kind.time_field], contract.period, contract.timezone)
        batch = Batch(records, keys, contract, kind.time_field, indexes)
        batch.order, batch.key = order, key  # type: ignore[attr-defined]
        for level in levels:
            level.add(batch)
        for owner, tally in tallies.items():
            for present, sums in tally.steps:
                state.sums.setdefault(owner, []).append((key, present, sums))
            tally.steps.clear()
        for level in levels:
            if isinstance(level, PeriodInput):
                parts = level.period_level.parts[level.name]
                if parts:
                    found = state.levels.setdefault(level.level.id,
                                                    LevelState(level.period_level.counted))
                    found.summaries.setdefault(level.name, []).extend((key, p) for p in parts)
                    level.period_level.parts[level.name] = []
        return kept


def local_path(uri: str) -> str:
    """The local path of a ``file:`` URI as Spark names it (other URIs as they are)."""
    from urllib.parse import unquote, urlparse

    parsed = urlparse(uri)
    return unquote(parsed.path) if parsed.scheme in ("file", "") else uri
