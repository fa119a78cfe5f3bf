"""The records some service levels need whole, leaving Spark's partitions for the tasks that
evaluate those levels — never for the driver.

Event clocks (:class:`~slaengine.engine.derived.DerivedLevel`) need every event of a ticket at
once, and the period-level metrics without summaries
(:class:`~slaengine.engine.levels.HeldLevel`) every record of their inputs. The partition job
that coerces a source's batches (:class:`~slaengine.spark.partition.PartitionJob`) also emits,
for such a source, each batch's kept records (the fields the local engine holds: ``keep`` of
:func:`~slaengine.engine.plan.plan`) as Arrow IPC bytes, one row per batch and part with each
record's order key in :data:`ORDER_COLUMN` (records are put back in the local engine's file
order with it). The part is the one the local engine spills a record to:
:func:`~slaengine.engine.spill.part_of` of the clock metric's ``partition_by`` field (a
ticket's events whole in one part) or, for a source that clock records link to, of its id as
text (the hash :meth:`~slaengine.engine.derived.DerivedLevel._linked_part` finds the linked
records of a part by). Records held for period-level metrics alone are all of part 0.
"""

from __future__ import annotations

import io
import pickle
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from slaengine.contract import Contract
from slaengine.engine.plan import plan
from slaengine.engine.read import SourceData
from slaengine.engine.spill import Held, part_of
from slaengine.errors import ContractError, DataError, SlaError, UsageError
from slaengine.lazy import np, pa, pc
from slaengine.plugin import DerivedMetric, PeriodMetric, reject_schema
from slaengine.pluginmanager import Registry
from slaengine.verdicts import SourceAccount

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

PARTS = 64
"""Parts a source held for clocks is split into (as the local engine spills it)."""

ORDER_COLUMN = "_slaengine_order"
"""Each kept record's order key (file rank and row: the local engine's order)."""


@dataclass(frozen=True)
class Keeping:
    """How one source's records leave its partitions: the ``fields`` kept, and the field
    ``by`` whose hash is a record's part (``as_text``: hashed as text; None: all in part 0)."""

    fields: tuple[str, ...]
    by: str | None = None
    as_text: bool = False

    def parts(self, records: pa.Table) -> np.ndarray:
        """The part of each record."""
        if self.by is None:
            return np.zeros(records.num_rows, dtype=np.int64)
        keys = records[self.by]
        if self.as_text:
            keys = pc.cast(keys, pa.string())
        return part_of(keys, PARTS)


def clock_levels(contract: Contract, registry: Registry) -> list:
    """The contract's service levels measured on event clocks, in contract order."""
    return [level for level in contract.service_levels
            if isinstance(registry.metrics[level.metric], DerivedMetric)]


def held_levels(contract: Contract, registry: Registry) -> list:
    """The contract's period-level service levels that need their records whole."""
    return [level for level in contract.service_levels
            if isinstance(metric := registry.metrics[level.metric], PeriodMetric)
            and not metric.summary_keys]


def keeping_of(contract: Contract, registry: Registry) -> dict[str, Keeping]:
    """Per source whose records some level needs whole, how they leave its partitions."""
    _, keep = plan(contract, registry, False)
    found: dict[str, Keeping] = {}
    for level in held_levels(contract, registry):
        for name in level.inputs.values():
            found[name] = Keeping(tuple(keep[name]))
    for level in clock_levels(contract, registry):
        spec = contract.sources[level.source]
        metric = registry.metrics[level.metric]
        found[level.source] = Keeping(tuple(keep[level.source]), metric.partition_by)
        if spec.link is not None:
            linked = contract.sources[spec.link]
            found[spec.link] = Keeping(tuple(keep[spec.link]), linked.record_kind.id_field,
                                       as_text=True)
    return found


def refusals(contract: Contract, registry: Registry) -> list[str]:
    """What Spark does not evaluate among the levels needing records whole: clock records
    derived from a whole source (no ``partition_by``), one source's clocks split by two
    fields, a source both linked to and measured on clocks."""
    found: list[str] = []
    keys: dict[str, set[str | None]] = {}
    linked = {str(contract.sources[level.source].link)
              for level in clock_levels(contract, registry)
              if contract.sources[level.source].link is not None}
    for level in clock_levels(contract, registry):
        metric = registry.metrics[level.metric]
        keys.setdefault(level.source, set()).add(metric.partition_by)
        if metric.partition_by is None:
            found.append(f'service level {level.id}: metric "{level.metric}" derives its '
                         "records from the whole source at once (no partition_by)")
    for name, by in sorted(keys.items()):
        if len(by) > 1:
            found.append(f"source {name}: clock metrics split by different fields "
                         f"({', '.join(sorted(str(b) for b in by))})")
        if name in linked:
            found.append(f"source {name}: measured on clocks and linked to by another source")
    return found


def records_rows(records: pa.Table, order: np.ndarray, how: Keeping) -> pa.RecordBatch | None:
    """One batch's kept records as rows of :data:`~slaengine.spark.orders.OUTPUT`: per part
    present, its records (with their order keys) as Arrow IPC bytes."""
    from slaengine.spark.orders import output_batch

    if not records.num_rows:
        return None
    table = records.select([f for f in how.fields if f in records.column_names])
    table = table.append_column(ORDER_COLUMN, pa.array(np.asarray(order, dtype=np.int64)))
    parts = how.parts(records)
    ordered = np.argsort(parts.astype(np.uint8), kind="stable")
    bounds = np.searchsorted(parts[ordered], np.arange(PARTS + 1))
    table = table.take(pa.array(ordered))
    present = np.flatnonzero(np.diff(bounds))
    blobs = [ipc_bytes(table.slice(int(bounds[p]), int(bounds[p + 1] - bounds[p])))
             for p in present]
    return output_batch(len(blobs), part=pa.array(present.astype(np.int32)),
                        records=pa.array(blobs, pa.binary()))


def ipc_bytes(table: pa.Table) -> bytes:
    """``table`` as one Arrow IPC stream."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def in_order(blobs: list[bytes]) -> pa.Table | None:
    """The records of ``blobs`` (see :func:`records_rows`) in one table, in the local
    engine's order, without their order keys (None: no blob)."""
    tables = [pa.ipc.open_stream(pa.py_buffer(blob)).read_all() for blob in blobs]
    if not tables:
        return None
    schema = tables[0].schema
    table = pa.concat_tables([t if t.schema == schema else t.cast(schema) for t in tables])
    table = table.unify_dictionaries().combine_chunks()
    order = np.argsort(table[ORDER_COLUMN].to_numpy(), kind="stable")
    table = table.take(pa.array(order))
    return table.drop_columns([ORDER_COLUMN])


def source_data(contract: Contract, name: str, records: pa.Table | None, latest: Any,
                how: Keeping) -> SourceData:
    """Source ``name``'s records as the local engine holds them for the levels that need
    them (its accounting is the driver's: only notes are counted here)."""
    spec = contract.sources[name]
    keep = [f for f in how.fields if f in spec.record_kind.fields]
    held = Held(None, spec.record_kind.schema(keep))
    if records is not None:
        held.add(records)
    held.finish()
    account = SourceAccount(source=name, adapter=spec.adapter, path=str(spec.path))
    return SourceData(held=held, account=account, rejected=reject_schema().empty_table(),
                      latest=latest)


def blobs_by_source(table: pa.Table) -> dict[str, list[bytes]]:
    """The record blobs of one group of rows (``source``, ``records``), per source."""
    found: dict[str, list[bytes]] = {}
    sources = table["source"].to_pylist()
    blobs = table["records"].to_pylist()
    for name, blob in zip(sources, blobs, strict=True):  # one per batch and part, not record
        found.setdefault(name, []).append(blob)
    return found


def labelled(frames: dict[str, DataFrame], pairs: list[tuple[str, str]], column: str,
             ) -> DataFrame:
    """The record rows of each ``(label, source)`` pair's source (of its partitions' rows,
    ``frames``), with the label in ``column`` and the source's name in ``source``, as one
    frame."""
    from pyspark.sql import functions as F

    found = None
    for label, name in pairs:
        frame = frames[name].where(F.col("records").isNotNull()).select(
            F.lit(label).alias(column), F.lit(name).alias("source"), "part", "records")
        found = frame if found is None else found.unionByName(frame)
    assert found is not None
    return found


def error_of(exc: SlaError) -> tuple:
    """An error raised in a task, as the driver raises it again (:func:`raise_error`)."""
    return (type(exc).__name__, exc.message, exc.file, exc.where, exc.suggestion, exc.accepted,
            getattr(exc, "key_path", ()), getattr(exc, "line", None))


def raise_error(error: tuple) -> None:
    """Raise the error a task met (:func:`error_of`) as it was raised there: its class, its
    message, file, place and hints."""
    kind, message, file, where, suggestion, accepted, key_path, line = error
    cls = {"DataError": DataError, "ContractError": ContractError,
           "UsageError": UsageError}.get(kind, DataError)
    found = cls.__new__(cls)
    if isinstance(found, ContractError):
        found.key_path, found.line = tuple(key_path), line
    SlaError.__init__(found, message, file=file, where=where, suggestion=suggestion,
                      accepted=accepted)
    raise found


class Shipped:
    """A job pickled to the executors with its ``contract`` (a calendar's lock, which guards
    its cached tables, is sent as a new lock)."""

    contract: Contract

    def __getstate__(self) -> dict[str, Any]:
        found = dict(vars(self))
        found.pop("_registry", None)
        buffer = io.BytesIO()
        _LockPickler(buffer, protocol=5).dump(self.contract)
        found["contract"] = buffer.getvalue()
        return found

    def __setstate__(self, state: dict[str, Any]) -> None:
        state = dict(state)
        state["contract"] = pickle.loads(state["contract"])  # pickled by __getstate__
        vars(self).update(state)

    def registry(self) -> Registry:
        """The contract's registry, built once per job in a task."""
        from slaengine.pluginmanager import build_registry

        found = vars(self).get("_registry")
        if found is None:
            found = self._registry = build_registry().with_clocks(self.contract.clocks)
        return found


_LOCK = type(threading.Lock())


class _LockPickler(pickle.Pickler):
    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, _LOCK):
            return threading.Lock, ()
        return NotImplemented
