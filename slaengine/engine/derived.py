"""Per-record service levels on records a metric derives from its source's whole record set:
clock records (reply instances, update intervals, a ticket's requester wait) from a ticket's
history of events.

The source's records are held whole, not streamed: a ticket's events are spread over the file,
and a clock cannot be measured before its ticket's history is complete. (Measuring as the
events arrive, in memory bounded by the tickets open at a time, is later work.) Once every
source is read, the metric derives its records under the level's calendar and ``--as-of``,
and they are evaluated exactly as the records of any per-record level, in one batch: window
and period by the record's start (a clock record belongs to the period in which it started),
``where`` and ``by`` on the fields the metric carries, unmeasured records (clocks still
running), missed ids (the derived ids, ``4711#2``) and evidence rows.

A source that links to another (``link = "tickets"``) gives the derived records the linked
record's fields, found by the records' ``ticket_id``: a field the derived records lack is the
linked record's; a field they carry keeps their own value (a clock record's: as the history
set it at its start, or its end with ``as_of = "end"``) and takes the linked record's where
their own is empty (the history never set it), when the linked source delivers that field.
Audit flags take the same fields, are kept only where the level's ``where`` and agreed
exclusions keep them, and are counted per segment of its ``by``. A ``where`` or ``by`` field
the derived records do not have, even so, is a contract error naming the level, the field and
the fields they have.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from slaengine.calendars import ALWAYS
from slaengine.clocks.audit import FLAGS
from slaengine.clocks.zendesk import Reconciliation
from slaengine.contract import Contract, ServiceLevel
from slaengine.engine.batch import Batch, segment_groups
from slaengine.engine.levels import LevelResult
from slaengine.engine.missed import group_missed
from slaengine.engine.narrow import agreed_exclusions, where_mask, window_periods
from slaengine.engine.read import SourceData
from slaengine.engine.record import RecordLevel
from slaengine.engine.verdict import period_labels
from slaengine.errors import ContractError, DataError
from slaengine.fields import RecordKind
from slaengine.lazy import np, pa, pc
from slaengine.periods import period_keys
from slaengine.plugin import DerivedMetric, MeasureContext
from slaengine.pluginmanager import Registry, guarded
from slaengine.verdicts import AuditFlag


@dataclass
class DerivedLevel:
    """A per-record service level whose metric derives its records (:class:`DerivedMetric`)
    from the source's records held whole, evaluated once every source is read."""

    contract: Contract
    level: ServiceLevel
    registry: Registry
    data: dict[str, SourceData]
    evidence: bool = False
    as_of: datetime | None = None

    def finish(self) -> LevelResult:
        """Derive the records, then evaluate them as one batch of a per-record level."""
        contract, level = self.contract, self.level
        metric = self.registry.metrics[level.metric]
        assert isinstance(metric, DerivedMetric)
        derived, spans = self._derive(metric)
        kind = RecordKind(name=f"{level.metric} records",
                          fields={f.name: f.type for f in derived.schema},
                          id_field=metric.id_field, time_field=metric.time_field,
                          descriptions={}, unique_ids=False)
        source_time = contract.sources[level.source].record_kind.time_field
        if level.period_by == source_time:  # the source's time: a record's is its start
            level = replace(level, period_by=None)
        counting = RecordLevel(contract, level, self.registry, self.evidence, derived=kind)
        if derived.num_rows:
            keys = period_keys(derived[kind.time_field], contract.period, contract.timezone)
            counting.add(Batch(derived, keys, contract, kind.time_field, counting.indexes))
        result = counting.finish()
        audit = guarded(self.registry, "metric", level.metric, "audit")
        flags = audit(self.data[level.source].records, derived, spans, self._context(),
                      _target_seconds(level))
        if flags is not None:
            flags = self._selected(self._linked(flags)[0])
        result.account.audit = audit_flags(contract, flags, self.level.by)
        if self.evidence and flags is not None:
            result.audit = flag_rows(contract, flags, self.level.by)
        result.account.reconciliation = self._reconcile(metric, derived, _target_seconds(level))
        if result.evidence is not None and spans is not None:
            shown = pc.is_in(spans["id"], value_set=result.evidence[kind.id_field])
            result.intervals = spans.filter(shown)
        return result

    def _reconcile(self, metric: DerivedMetric, derived: pa.Table,
                   target: float | None) -> Reconciliation | None:
        """The metric's reconciliation of the records in the contract's window (a record's
        period is its start's, as for its verdicts)."""
        if derived.num_rows and self.contract.window != (None, None):
            keys = period_keys(derived[metric.time_field], self.contract.period,
                               self.contract.timezone)
            inside = window_periods(self.contract, np.unique(keys))
            derived = derived.filter(pa.array(np.isin(keys, inside)))
        reconcile = guarded(self.registry, "metric", self.level.metric, "reconcile")
        return reconcile(derived, target)

    def _context(self) -> MeasureContext:
        level = self.level
        return MeasureContext(
            calendar=self.contract.calendars[level.calendar] if level.calendar else ALWAYS,
            timezone=self.contract.timezone, service_level=level.id, options=level.options,
            period=self.contract.period, as_of=self.as_of, fields_at=level.as_of or "start",
            limit=_target_seconds(level))

    def _linked(self, table: pa.Table) -> tuple[pa.Table, int]:
        """``table`` (derived records or audit flags, with ``ticket_id``) with the fields the
        level takes from the source its source links to: the linked record's value where the
        table has none (module docstring). Also how many rows found no linked record."""
        spec = self.contract.sources[self.level.source]
        if spec.link is None:
            return table, 0
        other = self.contract.sources[spec.link]
        key = other.record_kind.id_field
        agreed = [f for e in self.contract.exclusions if e.applies_to(self.level.id)
                  for f in e.where]
        linked = self.data[other.name].records
        names = [f for f in dict.fromkeys((*self.level.where, *self.level.by, *agreed))
                 if f in other.record_kind.fields and f != key and f in linked.column_names]
        if not names or "ticket_id" not in table.column_names:
            return table, 0
        ids = pc.cast(linked[key], pa.string())
        ids = ids.combine_chunks() if isinstance(ids, pa.ChunkedArray) else ids
        index = pc.index_in(pc.cast(table["ticket_id"], pa.string()), value_set=ids)
        for name in names:
            theirs = pc.cast(pc.take(linked[name], index), pa.string())
            if name in table.column_names:
                own = pc.cast(table[name], pa.string())
                merged = pc.dictionary_encode(pc.coalesce(own, theirs))
                table = table.set_column(table.column_names.index(name), name, merged)
            else:
                table = table.append_column(name, pc.dictionary_encode(theirs))
        return table, int(pc.sum(pc.is_null(index)).as_py() or 0)

    def _selected(self, flags: pa.Table) -> pa.Table:
        """The flags the level's ``where`` keeps and no agreed exclusion of it removes (an
        exclusion's time is the flag's instant)."""
        keep = where_mask(flags, self.level.where)
        if self.contract.exclusions and flags.num_rows:
            excluded, _ = agreed_exclusions(self.contract, self.level, flags, "at", keep)
            keep &= ~excluded
        return flags.filter(pa.array(keep))

    def _check_fields(self, derived: pa.Table) -> None:
        """Every ``where`` and ``by`` field, and every field of an agreed exclusion that
        applies to the level, must be one the derived records carry (a field they lack would
        select nothing, or everything)."""
        level = self.level
        spec = self.contract.sources[level.source]
        asked: list[tuple[tuple, str]] = [
            *((("service_levels", level.index, "where"), name) for name in level.where),
            *((("service_levels", level.index, "by"), name) for name in level.by),
            *((("exclusions", i, "where"), name)
              for i, e in enumerate(self.contract.exclusions) if e.applies_to(level.id)
              for name in e.where)]
        for key, name in asked:
            if name in derived.column_names:
                continue
            have = sorted(derived.column_names)
            hint = ("" if spec.link else f'; link source "{spec.name}" to a tickets source '
                    '(link = "tickets") to select and group by the ticket\'s fields')
            raise ContractError(
                self.contract.path, key,
                f'service level "{level.id}": the {level.metric} records of source '
                f'"{spec.name}" have no field "{name}"{hint}', accepted=have)

    def _derive(self, metric: DerivedMetric) -> tuple[pa.Table, pa.Table | None]:
        """The metric's records, checked to carry its id and time fields, and their spans."""
        level, spec = self.level, self.contract.sources[self.level.source]
        context = self._context()
        derive = guarded(self.registry, "metric", level.metric, "derive_with_spans")
        try:
            derived, spans = derive(self.data[level.source].records, context)
        except DataError as exc:
            raise DataError(f"{level.metric} cannot read source {spec.name!r}: {exc.message}",
                            file=spec.path, where=exc.where, accepted=exc.accepted) from exc
        missing = [f for f in (metric.id_field, metric.time_field)
                   if f not in derived.column_names]
        if missing:
            raise DataError(f'metric "{level.metric}" derived records without {missing[0]!r}')
        if spans is not None and "id" not in spans.column_names:
            raise DataError(f'metric "{level.metric}" derived spans without \'id\'')
        derived, unmatched = self._linked(derived)
        if spec.link is not None and unmatched:
            notes = self.data[level.source].account.notes
            notes[f"{level.metric} records without a matching {spec.link} record"] = unmatched
        self._check_fields(derived)
        return derived, spans


def _target_seconds(level: ServiceLevel) -> float | None:
    """The per-record limit of a duration target in seconds (``95% within 4h``: 4h; ``p90 <=
    16h``: 16h); None for a target that sets none (a count, a rate)."""
    target = level.target
    if target.within is not None:
        return float(target.within)
    return float(target.threshold) if target.unit == "duration" else None


def audit_flags(contract: Contract, flags: pa.Table | None,
                by: tuple[str, ...] = ()) -> tuple[AuditFlag, ...]:
    """Audit flags counted per flag, period (periods inside the contract's window) and
    segment of ``by``, with the first :data:`~slaengine.verdicts.MISSED_LIMIT` tickets of
    each; in flag, period, segment order."""
    if flags is None or flags.num_rows == 0:
        return ()
    keys = period_keys(flags["at"], contract.period, contract.timezone)
    present = np.unique(keys)
    if contract.window != (None, None):
        present = window_periods(contract, present)
    if not len(present):
        return ()
    names = list(FLAGS)
    which = pc.fill_null(pc.index_in(flags["flag"], value_set=pa.array(names)), -1)
    which = np.asarray(which.to_numpy(zero_copy_only=False), dtype=np.int64)
    segment, segments = segment_groups(flags, by)
    width = max(len(segments), 1)
    place = np.minimum(np.searchsorted(present, keys), len(present) - 1)
    inside = (present[place] == keys) & (which >= 0)
    groups = (np.maximum(which, 0) * len(present) + place) * width + segment
    found = group_missed(flags["ticket_id"], inside, np.where(inside, groups, 0),
                         len(names) * len(present) * width)
    labels = period_labels(contract, present)
    return tuple(
        AuditFlag(names[g // width // len(present)], labels[g // width % len(present)], count,
                  tickets, dict(segments[g % width]) if segments else {})
        for g, (tickets, count) in enumerate(found) if count)


def flag_rows(contract: Contract, flags: pa.Table, by: tuple[str, ...] = ()) -> pa.Table:
    """Every audit flag of the window, one row each, as the evidence lists them: ``flag``,
    ``period``, ``segment`` (the ``by`` fields as a JSON object; empty without ``by``),
    ``ticket_id``, ``at``, ``record`` (the clock record flagged, if one), in flag, period,
    segment and instant order."""
    import json

    empty = pa.schema([("flag", pa.string()), ("period", pa.string()),
                       ("segment", pa.string()), ("ticket_id", pa.string()),
                       ("at", flags.schema.field("at").type), ("record", pa.string())])
    if flags.num_rows == 0:
        return empty.empty_table()
    keys = period_keys(flags["at"], contract.period, contract.timezone)
    present = np.unique(keys)
    if contract.window != (None, None):
        present = window_periods(contract, present)
    place = np.minimum(np.searchsorted(present, keys), len(present) - 1) if len(present) else keys
    inside = (present[place] == keys) if len(present) else np.zeros(len(keys), bool)
    segment, segments = segment_groups(flags, by)
    labels = period_labels(contract, present) if len(present) else ()
    texts = [json.dumps(s, ensure_ascii=False) for s in segments] or [""]
    which = np.asarray(pc.fill_null(pc.index_in(flags["flag"], value_set=pa.array(FLAGS)), -1)
                       .to_numpy(zero_copy_only=False), dtype=np.int64)
    kept = inside & (which >= 0)
    rows = pa.table([
        flags["flag"], pa.array(list(labels) or [""]).take(pa.array(np.where(kept, place, 0))),
        pa.array(texts).take(pa.array(segment)), pc.cast(flags["ticket_id"], pa.string()),
        flags["at"], flags["record"],
    ], schema=empty).filter(pa.array(kept))
    order = np.lexsort((np.asarray(pc.cast(rows["at"], pa.int64())),
                        segment[kept], place[kept], which[kept]))
    return rows.take(pa.array(order))
