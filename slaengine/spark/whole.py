"""A source Spark cannot split, read inside Spark by its own adapter, whole, in one task.

A ``csv`` or ``zendesk`` source, an ``arrow`` source of Arrow IPC files, a third-party
adapter: Spark has no reader that gives the rows the adapter gives (its parsing, its rejects,
its duplicates, its order). One Spark task runs the adapter's own ``read(config, fields)``
(``mapInArrow`` over a one-row DataFrame) and feeds each batch it yields to the levels as
:class:`~slaengine.spark.partition.PartitionJob` feeds a partition's batch (the ``as_of``
cut, the period keys, every streamed level's ``add``): the batches and their order are the
local engine's, and what reaches the driver is the same small state as from a partition.
A source that links to another reads the linked one in the same task and joins each batch to
it, as the local engine's feeding does.

The executor running the task reads the source's files: local paths in ``local`` mode, a
filesystem every executor mounts at the same path on a cluster.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from slaengine.contract import Contract
from slaengine.engine.plan import join_plan, needed_fields, plan
from slaengine.engine.read import (
    DUPLICATE_REASON,
    join,
    naming_contract,
    reason_counts,
    source_config,
    source_files,
)
from slaengine.errors import DataError
from slaengine.lazy import np, pa, pc
from slaengine.plugin import SourceBatch
from slaengine.pluginmanager import Registry, build_registry, guarded
from slaengine.spark.partition import RANK_BITS, PartitionJob, PartitionState

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

SPLIT_ADAPTERS = ("arrow", "spark-table")
IPC_SUFFIXES = (".arrow", ".feather", ".ipc")


def is_whole(contract: Contract, name: str, files: list[Path]) -> bool:
    """Whether source ``name`` is read whole by its adapter in one Spark task: any adapter
    but ``arrow`` and ``spark-table``, and an ``arrow`` source of Arrow IPC files (local:
    ``files``, what the manifest hashes)."""
    spec = contract.sources[name]
    if spec.adapter not in SPLIT_ADAPTERS:
        return True
    if spec.adapter != "arrow" or not files:
        return False
    return (spec.options.get("format") == "ipc"
            or any(Path(f).suffix.lower() in IPC_SUFFIXES for f in files))


def reads_whole(contract: Contract, registry: Registry, name: str) -> bool:
    """:func:`is_whole` for source ``name`` with its local files listed here (files that
    cannot be listed, judged by the path's name: reading them names what is wrong)."""
    from slaengine.spark.catalog import is_catalog

    spec = contract.sources[name]
    if spec.adapter != "arrow" or is_catalog(contract, name):
        return is_whole(contract, name, [])
    one = replace(contract, sources={name: spec})
    try:
        files = source_files(one, registry)[name]
    except DataError:
        files = [Path(spec.path)]
    return is_whole(contract, name, files)


@dataclass(frozen=True)
class Link:
    """What a source read whole takes from the source it links to, as the local engine
    joins each batch: the linked source read through its adapter (``read``: the fields it
    delivers), its records up to ``as_of`` with the ``keep`` fields, ``fields`` of them
    joined by the linked kind's id."""

    source: str
    read: list[str]
    keep: list[str]
    fields: list[str]

    @property
    def note(self) -> str:
        return f"records without a matching {self.source} record"


def link_of(contract: Contract, registry: Registry, name: str) -> Link | None:
    """The :class:`Link` of source ``name`` when its levels take fields from the source it
    links to (None otherwise)."""
    registry = registry.with_clocks(contract.clocks)
    joined = join_plan(contract, registry).get(name)
    if not joined:
        return None
    linked = str(contract.sources[name].link)
    _, keep = plan(contract, registry, False)
    return Link(linked, needed_fields(contract, registry)[linked], keep[linked], joined)


def adapter_batches(contract: Contract, name: str, fields: list[str],
                    as_of: datetime | None) -> Iterator[SourceBatch]:
    """The adapter's batches of source ``name``, as :func:`slaengine.engine.read.read_source`
    asks for them (the window up to ``as_of``); its errors name the contract."""
    spec = contract.sources[name]
    config = source_config(contract, spec)
    if as_of is not None:
        config = replace(config, time_range=(None, as_of))
    registry = build_registry().with_clocks(contract.clocks)
    read = guarded(registry, "source", spec.adapter, "read")
    with naming_contract(contract):
        batches = read(config, fields)
        try:
            yield from batches
        finally:  # an adapter's generator is closed on every way out
            close = getattr(batches, "close", None)
            if close is not None:
                close()


@dataclass
class WholeJob(PartitionJob):
    """The one task that reads a source whole through its adapter (pickled to an executor).

    A batch's key is its ordinal in the adapter's order, a record's order key
    ``ordinal << 40 | its index in the batch``."""

    fields: list[str] = field(default_factory=list)
    link: Link | None = None
    linked: Any = None  # the linked source's records, read in the task

    def batches(self, incoming: Iterator[pa.RecordBatch],
                ) -> Iterator[tuple[Any, np.ndarray, int]]:
        for _ in incoming:  # the one row that starts the task
            pass
        if self.link is not None:
            self.linked = self._linked_records(self.link)
        totals = [0, 0]  # rows read; rows accounted for
        for ordinal, batch in enumerate(adapter_batches(self.contract, self.source,
                                                        self.fields, self.as_of)):
            totals[0] += batch.read
            totals[1] += (batch.records.num_rows + batch.rejected.num_rows
                          + batch.duplicates.num_rows)
            order = ((np.int64(ordinal) << RANK_BITS)
                     | np.arange(batch.records.num_rows, dtype=np.int64))
            yield batch, order, ordinal
        if totals[0] != totals[1]:
            spec = self.contract.sources[self.source]
            raise DataError(f"source adapter {spec.adapter!r} reported {totals[0]} rows read "
                            f"but {totals[1]} accepted, rejected or duplicates",
                            file=spec.path)

    def feed(self, raw: Any, order: np.ndarray, key: int, levels: list,
             tallies: dict[str, Any], indexes: dict, state: PartitionState,
             ) -> pa.RecordBatch | None:
        """One batch of the adapter (``raw``: a :class:`SourceBatch`, its records typed),
        counted as :func:`slaengine.engine.read.read_source` counts it; the records it keeps
        whole for clocks and whole-record levels, as a partition's
        (:mod:`slaengine.spark.records`: a linked source's by the part of its id, for the
        clock parts of the source linking to it)."""
        batch: SourceBatch = raw
        state.read += batch.read
        state.accepted += batch.records.num_rows
        state.rejected += batch.rejected.num_rows
        state.duplicates += batch.duplicates.num_rows
        for note, count in batch.notes.items():
            state.notes[note] = state.notes.get(note, 0) + count
        rejected = batch.rejected
        if rejected.num_rows:
            rejected = rejected.filter(pc.invert(pc.starts_with(rejected["reason"],
                                                                DUPLICATE_REASON)))
        for reason, count in reason_counts(rejected).items():
            state.reasons[reason] = state.reasons.get(reason, 0) + count
        records = batch.records
        if self.link is not None:  # as the local engine's feeding: cut, then joined
            state.notes.setdefault(self.link.note, 0)
            records, order = self._until(records, order, state)
            linked = self.contract.sources[self.link.source].record_kind
            records, missing = join(records, self.linked, linked.id_field, self.link.fields)
            state.notes[self.link.note] += missing
        return self.take(records, order, key, levels, tallies, indexes, state)

    def _until(self, records: pa.Table, order: np.ndarray, state: PartitionState,
               ) -> tuple[pa.Table, np.ndarray]:
        """The records not after ``as_of`` (those after it counted)."""
        if self.as_of is None or not records.num_rows:
            return records, order
        time = records[self.contract.sources[self.source].record_kind.time_field]
        early = pc.fill_null(pc.less_equal(time, pa.scalar(self.as_of, time.type)), True)
        kept = np.asarray(early.to_numpy(zero_copy_only=False), dtype=bool)
        state.after_as_of += int(len(kept) - kept.sum())
        return records.filter(pa.array(kept)), order[kept]

    def _linked_records(self, link: Link) -> pa.Table:
        """The linked source's accepted records up to ``as_of``, its ``keep`` fields, as the
        local engine holds them."""
        kind = self.contract.sources[link.source].record_kind
        found = []
        for batch in adapter_batches(self.contract, link.source, link.read, self.as_of):
            records = batch.records
            if self.as_of is not None and records.num_rows:
                time = records[kind.time_field]
                records = records.filter(pc.fill_null(
                    pc.less_equal(time, pa.scalar(self.as_of, time.type)), True))
            if records.num_rows:
                found.append(records.select(link.keep))
        if not found:
            return kind.schema([f for f in link.keep if f in kind.fields]).empty_table()
        return pa.concat_tables(found)


def whole_frame(spark: SparkSession) -> DataFrame:
    """One row in one partition: what starts the one task that reads a source whole."""
    return spark.range(0, 1, 1, 1)
