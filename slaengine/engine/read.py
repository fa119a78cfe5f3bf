"""Reading a source once: its adapter's batches (read one step ahead), the accounting of
every row, and the accepted records a later step needs whole.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from slaengine.contract import Contract, SourceSpec
from slaengine.engine.batch import BatchPeriods, batch_periods, shown_ids
from slaengine.engine.spill import Held
from slaengine.errors import DataError
from slaengine.lazy import np, pa, pc
from slaengine.periods import period_keys
from slaengine.plugin import SourceBatch, SourceConfig, reject_schema
from slaengine.pluginmanager import Registry, guarded
from slaengine.readahead import read_ahead
from slaengine.verdicts import SourceAccount

DUPLICATE_REASON = "duplicate"
"""Reasons of superseded rows start with this word (``duplicate of ...``)."""


@dataclass
class SourceData:
    """A source's accepted records (only the needed fields) and its accounting.

    The records are held in memory, or for a source read part by part (its records split by a
    key into parts on disk, :mod:`slaengine.engine.spill`) one part at a time through
    :meth:`parts`. ``latest`` is the latest instant among them (None: no records). The period
    of each record is computed once per source and shared by its service levels.
    """

    held: Held
    account: SourceAccount
    rejected: pa.Table
    latest: datetime | None = None
    _keys: np.ndarray | None = None
    _placed: BatchPeriods | None = None

    @property
    def records(self) -> pa.Table:
        """Every record in one table (a source held in memory)."""
        return self.held.whole()

    def parts(self) -> Iterator[pa.Table]:
        """The records, one table per part (one table when held in memory)."""
        return self.held.tables()

    @property
    def split(self) -> bool:
        """Whether the records went to parts on disk."""
        return self.held.spilled

    def period_keys(self, time_field: str, contract: Contract) -> np.ndarray:
        if self._keys is None:
            self._keys = period_keys(self.records[time_field], contract.period,
                                     contract.timezone)
        return self._keys

    def placed(self, time_field: str, contract: Contract) -> BatchPeriods:
        """The records placed in their periods by ``time_field`` (placed once)."""
        if self._placed is None:
            self._placed = batch_periods(self.period_keys(time_field, contract))
        return self._placed


def contract_folder(contract: Contract) -> Path:
    """The folder a contract's paths are relative to (the working directory for a text)."""
    return contract.path.parent if contract.path is not None else Path.cwd()


def source_files(contract: Contract, registry: Registry) -> dict[str, list[Path]]:
    """The files each source reads, as its adapter names them (what the manifest hashes)."""
    with naming_contract(contract):
        return {name: guarded(registry, "source", spec.adapter, "files")(
            source_config(contract, spec)) for name, spec in sorted(contract.sources.items())}


@contextmanager
def naming_contract(contract: Contract) -> Iterator[None]:
    """A source's DataError names the contract whose keys it speaks of."""
    try:
        yield
    except DataError as exc:
        if contract.path is None or str(contract.path) in exc.message:
            raise
        raise DataError(f"{exc.message} (in contract {contract.path})", file=exc.file,
                        where=exc.where, suggestion=exc.suggestion,
                        accepted=exc.accepted) from exc


def source_config(contract: Contract, spec: SourceSpec) -> SourceConfig:
    return SourceConfig(name=spec.name, adapter=spec.adapter, path=spec.path,
                        fields=spec.fields, options=spec.options, timezone=contract.timezone,
                        kind=spec.record_kind, values=spec.values)


def join(records: pa.Table, linked: pa.Table, key: str, fields: list[str]) -> tuple[pa.Table, int]:
    """``records`` with ``fields`` taken from the ``linked`` record whose id equals their
    ``key``; null where there is none (also returned: how many had none)."""
    values, ids = records[key], linked[key]
    if values.type != ids.type:  # an integer id (Parquet) against text: compared as text
        values, ids = shown_ids(values), shown_ids(ids)
    index = pc.index_in(values, value_set=ids.combine_chunks()
                        if isinstance(ids, pa.ChunkedArray) else ids)
    for name in fields:
        records = records.append_column(name, pc.take(linked[name], index))
    return records, int(pc.sum(pc.is_null(index)).as_py() or 0)


def read_source(
    contract: Contract, spec: SourceSpec, fields: list[str], registry: Registry,
    as_of: datetime | None = None, *,
    on_batch: Callable[[pa.Table, np.ndarray], None] | None = None,
    on_position: Callable[[int | None], None] | None = None,
    keep: list[str] | None = None, split_by: str | None = None,
) -> SourceData:
    """Read ``spec`` once through its adapter, keeping every rejected row and the counts.

    Each batch of accepted records goes to ``on_batch`` with its records' period keys, as it
    arrives, then ``on_position`` gets the batch's :attr:`~SourceBatch.position` (for the
    progress shown); only the ``keep`` fields (all ``fields`` when None) are held for later,
    so a source evaluated batch by batch is never in memory whole. With ``split_by`` (a kept
    field) the kept records go to parts on disk by that field once they pass the memory budget
    (:class:`~slaengine.engine.spill.Held`). With ``as_of``, records whose time lies after it
    are counted as ``after_as_of`` and left out (a source may skip them early through
    ``time_range``).
    """
    config = source_config(contract, spec)
    if as_of is not None:
        config = replace(config, time_range=(None, as_of))
    kind = spec.record_kind
    keep = list(fields) if keep is None else keep
    read = guarded(registry, "source", spec.adapter, "read")
    account = SourceAccount(source=spec.name, adapter=spec.adapter, path=str(spec.path))
    held = Held(split_by, kind.schema([f for f in keep if f in kind.fields]))
    latest = None
    kept_keys: list[np.ndarray] = []
    rejected: list[pa.Table] = []
    # Closed here, on every path out: the read-ahead thread is joined before an error leaves
    # (the cycle collector may be off, see slaengine.runtime: nothing else would close it).
    with (naming_contract(contract), closing(read_ahead(read(config, fields))) as batches,
          _closed_on_error(held)):
        for batch in batches:
            _count(account, batch, rejected)
            table = batch.records
            if as_of is not None and table.num_rows:
                table = _until(table, kind.time_field, as_of, account)
            keys = None
            if table.num_rows and (on_batch is not None or keep):
                keys = period_keys(table[kind.time_field], contract.period, contract.timezone)
            if on_batch is not None and keys is not None:
                on_batch(table, keys)
            if keep and table.num_rows:
                held.add(table.select(keep))
                latest = _later(latest, pc.max(table[kind.time_field]).as_py())
                if keys is not None and split_by is None:  # the whole set need not be placed again
                    kept_keys.append(keys.astype(np.int32))
            if on_position is not None:
                on_position(batch.position)
    if not account.reconciles:
        held.close()
        raise DataError(
            f"source adapter {spec.adapter!r} reported {account.read} rows read but "
            f"{account.accepted} accepted, {account.rejected} rejected and "
            f"{account.duplicates} duplicates",
            file=spec.path,
        )
    held.finish()
    rejects = pa.concat_tables(rejected) if rejected else reject_schema().empty_table()
    account.rejected_by_reason = reason_counts(_only_rejected(rejects))
    keys = np.concatenate(kept_keys).astype(np.int64) if kept_keys else None
    return SourceData(held=held, account=account, rejected=rejects, latest=latest, _keys=keys)


@contextmanager
def _closed_on_error(held: Held) -> Iterator[None]:
    """Parts on disk are removed when reading fails (the caller closes them otherwise)."""
    try:
        yield
    except BaseException:
        held.close()
        raise


def _later(latest: datetime | None, found: datetime | None) -> datetime | None:
    if found is None:
        return latest
    return found if latest is None or found > latest else latest


def _count(account: SourceAccount, batch: SourceBatch, rejected: list[pa.Table]) -> None:
    """Count one batch of the adapter's rows into ``account``; its rejected and superseded
    rows go to ``rejected``."""
    account.read += batch.read
    account.accepted += batch.records.num_rows
    account.rejected += batch.rejected.num_rows
    account.duplicates += batch.duplicates.num_rows
    for note, count in batch.notes.items():
        account.notes[note] = account.notes.get(note, 0) + count
    rejected.append(batch.rejected)
    if batch.duplicates.num_rows:
        rejected.append(batch.duplicates)


def _until(table: pa.Table, time_field: str, as_of: datetime,
           account: SourceAccount) -> pa.Table:
    """The records whose time is not after ``as_of`` (those after it counted as left out)."""
    time = table[time_field]
    early = pc.fill_null(pc.less_equal(time, pa.scalar(as_of, time.type)), True)
    account.after_as_of += table.num_rows - pc.sum(early).as_py()
    return table.filter(early)


def _only_rejected(rejects: pa.Table) -> pa.Table:
    return rejects.filter(pc.invert(pc.starts_with(rejects["reason"], DUPLICATE_REASON)))


def reason_counts(rejects: pa.Table) -> dict[str, int]:
    """Rejected rows counted by reason, with the offending value left out so they group."""
    if rejects.num_rows == 0:
        return {}
    general = pc.replace_substring_regex(
        rejects["reason"], r"(^|; )([A-Za-z_]+): ('[^']*'|[^ ;']+) is ", r"\1\2: … is "
    )
    counts = pc.value_counts(general)
    pairs = zip(counts.field("values").to_pylist(), counts.field("counts").to_pylist(),
                strict=True)
    return dict(sorted(pairs, key=lambda p: (-p[1], p[0])))
