"""Per-record service levels on records a metric derives from its source's records: clock
records (reply instances, update intervals, a ticket's requester wait) from a ticket's history
of events.

A clock cannot be measured before its ticket's history is complete, and a ticket's events are
spread over the file, so the source's records are held until every source is read: in memory,
or past a budget in parts on disk split by the metric's ``partition_by`` (a ticket's events all
in one part; :mod:`slaengine.engine.spill`). Then the metric derives its records part by part
under the level's calendar, measured to ``--as-of`` or else to the latest instant of the whole
source, and they are evaluated exactly as the batches of any per-record level: window and
period by the record's start (a clock record belongs to the period in which it started),
``where`` and ``by`` on the fields the metric carries, unmeasured records (clocks still
running), missed ids (the derived ids, ``4711#2``) and evidence rows. Audit flags and
reconciliations are gathered per part and joined.

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
from slaengine.clocks.zendesk import Reconciliation, ZendeskTarget
from slaengine.contract import Contract, ServiceLevel
from slaengine.engine.batch import Batch, segment_groups
from slaengine.engine.levels import LevelResult
from slaengine.engine.missed import group_missed
from slaengine.engine.narrow import agreed_exclusions, where_mask, window_periods
from slaengine.engine.read import SourceData
from slaengine.engine.record import RecordLevel
from slaengine.engine.spill import part_of
from slaengine.engine.verdict import period_labels
from slaengine.errors import ContractError, DataError
from slaengine.fields import RecordKind
from slaengine.lazy import np, pa, pc
from slaengine.periods import period_keys
from slaengine.plugin import DerivedMetric, MeasureContext
from slaengine.pluginmanager import Registry, guarded
from slaengine.verdicts import AuditFlag


def derive_parts(levels: list[DerivedLevel], source: SourceData) -> None:
    """Hand each part of ``source`` (the whole of it when held in memory) to every level that
    derives from it, in turn: a part is read once for all of them, and what their metrics
    share on it (a ticket history read once) lives only while it is handed round."""
    count = source.held.parts if source.split else 1
    for index, part in enumerate(source.parts()):
        shared: dict[str, object] = {}
        for level in levels:
            level.add(part, shared, (index, count))


@dataclass
class DerivedLevel:
    """A per-record service level whose metric derives its records (:class:`DerivedMetric`)
    from the source's records, handed over whole or in parts (:meth:`add`) once every source
    is read, then evaluated (:meth:`finish`)."""

    contract: Contract
    level: ServiceLevel
    registry: Registry
    data: dict[str, SourceData]
    evidence: bool = False
    as_of: datetime | None = None

    def __post_init__(self) -> None:
        metric = self.registry.metrics[self.level.metric]
        assert isinstance(metric, DerivedMetric)
        self.metric = metric
        source_time = self.contract.sources[self.level.source].record_kind.time_field
        if self.level.period_by == source_time:  # the source's time: a record's is its start
            self.level = replace(self.level, period_by=None)
        self.target = _target_seconds(self.level)
        self.counting: RecordLevel | None = None
        self.place = (0, 1)
        self._link_cache: tuple | None = None
        self.flags: list[pa.Table] = []
        self.reconciled: list[Reconciliation] = []
        self.shown: list[pa.Table] = []

    def add(self, part: pa.Table, shared: dict[str, object] | None = None,
            place: tuple[int, int] = (0, 1)) -> None:
        """Derive the records of one part of the source (or the whole source) and count
        them; ``shared`` is the scratch space of the metrics deriving from this part, ``place``
        which part it is of how many (split by the hash of the ticket id: the linked records
        of its tickets are in the same part of the linked source)."""
        self.place = place
        contract, level, metric = self.contract, self.level, self.metric
        context = self._context(shared)
        derived, spans = self._derive(part, context)
        if self.counting is None:
            self.counting = self._counting(derived)
        if derived.num_rows:
            keys = period_keys(derived[metric.time_field], contract.period, contract.timezone)
            self.counting.add(Batch(derived, keys, contract, metric.time_field,
                                    self.counting.indexes))
        audit = guarded(self.registry, "metric", level.metric, "audit")
        found = audit(part, derived, spans, context, self.target)
        if found is not None:
            self.flags.append(self._selected(self._linked(found)[0]))
        reconciliation = self._reconcile(derived)
        if reconciliation is not None:
            self.reconciled.append(reconciliation)
        if self.evidence and spans is not None:
            self.shown.append(self._spans_of_misses(derived, spans, context))

    def finish(self) -> LevelResult:
        """The verdicts of every record derived (the whole source is derived here when no
        part was handed over)."""
        if self.counting is None:
            derive_parts([self], self.data[self.level.source])
        assert self.counting is not None  # parts() gives at least one table
        metric, contract = self.metric, self.contract
        result = self.counting.finish()
        flags = pa.concat_tables(self.flags) if self.flags else None
        result.account.audit = audit_flags(contract, flags, self.level.by)
        if self.evidence and flags is not None:
            result.audit = flag_rows(contract, flags, self.level.by)
        result.account.reconciliation = merge_reconciliations(self.reconciled)
        if result.evidence is not None:  # earliest first, however the parts came
            result.evidence = result.evidence.sort_by(
                [(metric.time_field, "ascending"), (metric.id_field, "ascending")])
            if self.shown:
                spans = pa.concat_tables(self.shown)
                result.intervals = spans.filter(
                    pc.is_in(spans["id"], value_set=result.evidence[metric.id_field]))
        return result

    def _spans_of_misses(self, derived: pa.Table, spans: pa.Table,
                         context: MeasureContext) -> pa.Table:
        """The spans evidence may show: those of records past the per-record target or not
        measured (all without a target); the level's missed ids choose among them."""
        if self.target is None or not derived.num_rows:
            return spans
        measure = guarded(self.registry, "metric", self.level.metric, "measure")
        past = pc.fill_null(pc.greater(measure(derived, context), self.target), True)
        return spans.filter(pc.is_in(spans["id"],
                                     value_set=derived[self.metric.id_field].filter(past)))

    def _counting(self, derived: pa.Table) -> RecordLevel:
        """The per-record level that counts the derived records (their fields: the first
        part's)."""
        metric, level = self.metric, self.level
        kind = RecordKind(name=f"{level.metric} records",
                          fields={f.name: f.type for f in derived.schema},
                          id_field=metric.id_field, time_field=metric.time_field,
                          descriptions={}, unique_ids=False)
        return RecordLevel(self.contract, level, self.registry, self.evidence, derived=kind)

    def _reconcile(self, derived: pa.Table) -> Reconciliation | None:
        """The metric's reconciliation of the records in the contract's window (a record's
        period is its start's, as for its verdicts)."""
        if derived.num_rows and self.contract.window != (None, None):
            keys = period_keys(derived[self.metric.time_field], self.contract.period,
                               self.contract.timezone)
            inside = window_periods(self.contract, np.unique(keys))
            derived = derived.filter(pa.array(np.isin(keys, inside)))
        reconcile = guarded(self.registry, "metric", self.level.metric, "reconcile")
        return reconcile(derived, self.target)

    def _context(self, shared: dict[str, object] | None = None) -> MeasureContext:
        level = self.level
        return MeasureContext(
            calendar=self.contract.calendars[level.calendar] if level.calendar else ALWAYS,
            timezone=self.contract.timezone, service_level=level.id, options=level.options,
            period=self.contract.period, as_of=self.as_of or self.data[level.source].latest,
            fields_at=level.as_of or "start", limit=self.target,
            shared={} if shared is None else shared)

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
        linked, ids = self._linked_part(linked, key)
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

    def _linked_part(self, linked: pa.Table, key: str) -> tuple[pa.Table, pa.Array]:
        """The linked records (and their ids as text) that the current part's tickets can
        match: all of them for a source held whole; for a source in parts, those whose id
        falls in the same part (the same hash), so that each part is joined against its own
        share, not against every linked record again."""
        index, count = self.place
        cached = self._link_cache
        if cached is None or cached[0] != count:
            ids = pc.cast(linked[key], pa.string())
            ids = ids.combine_chunks() if isinstance(ids, pa.ChunkedArray) else ids
            order = bounds = None
            if count > 1:  # the linked records ordered by part, once
                parts = part_of(ids, count)
                order = np.argsort(parts.astype(np.uint16), kind="stable")
                bounds = np.searchsorted(parts[order], np.arange(count + 1))
            cached = self._link_cache = (count, ids, order, bounds)
        _, ids, order, bounds = cached
        if order is None:
            return linked, ids
        rows = pa.array(order[bounds[index]:bounds[index + 1]])
        return linked.take(rows), ids.take(rows)

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

    def _derive(self, records: pa.Table,
                context: MeasureContext) -> tuple[pa.Table, pa.Table | None]:
        """The metric's records of ``records`` (the source or a part of it), checked to carry
        its id and time fields, and their spans."""
        level, spec, metric = self.level, self.contract.sources[self.level.source], self.metric
        derive = guarded(self.registry, "metric", level.metric, "derive_with_spans")
        try:
            derived, spans = derive(records, context)
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
            note = f"{level.metric} records without a matching {spec.link} record"
            notes[note] = notes.get(note, 0) + unmatched
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
    each (the earliest flagged, then by ticket id: the same however the source was read); in
    flag, period, segment order."""
    if flags is None or flags.num_rows == 0:
        return ()
    flags = flags.sort_by([("at", "ascending"), ("ticket_id", "ascending")])  # first: earliest
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


def merge_reconciliations(found: list[Reconciliation]) -> Reconciliation | None:
    """One reconciliation of the parts' (counts added, ids merged in order, Zendesk's targets
    counted together per policy, target and business hours)."""
    if not found:
        return None
    if len(found) == 1:
        return found[0]
    targets: dict[tuple, int] = {}
    for reconciliation in found:
        for t in reconciliation.zendesk_targets:
            key = (t.policy, t.target_seconds, t.business_hours)
            targets[key] = targets.get(key, 0) + t.records

    def order(key: tuple) -> tuple:  # as the parts list them: by policy, target, hours; nulls last
        return tuple((value is None, value if value is not None else 0) for value in key)

    return Reconciliation(
        zendesk_breached=sum(r.zendesk_breached for r in found),
        contract_breached=sum(r.contract_breached for r in found),
        only_zendesk=tuple(sorted(i for r in found for i in r.only_zendesk)),
        only_contract=tuple(sorted(i for r in found for i in r.only_contract)),
        target_seconds=found[0].target_seconds,
        zendesk_targets=tuple(ZendeskTarget(*key, targets[key])
                              for key in sorted(targets, key=order)),
        other_target=tuple(sorted(i for r in found for i in r.other_target)))


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
