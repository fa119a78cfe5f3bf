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
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from slaengine.calendars import ALWAYS
from slaengine.clocks.audit import FLAGS
from slaengine.clocks.zendesk import Reconciliation
from slaengine.contract import Contract, ServiceLevel
from slaengine.engine.batch import Batch
from slaengine.engine.levels import LevelResult
from slaengine.engine.missed import group_missed
from slaengine.engine.narrow import window_periods
from slaengine.engine.read import SourceData
from slaengine.engine.record import RecordLevel
from slaengine.engine.verdict import period_labels
from slaengine.errors import DataError
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
    for part in source.parts():
        shared: dict[str, object] = {}
        for level in levels:
            level.add(part, shared)


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
        self.flags: list[pa.Table] = []
        self.reconciled: list[Reconciliation] = []
        self.shown: list[pa.Table] = []

    def add(self, part: pa.Table, shared: dict[str, object] | None = None) -> None:
        """Derive the records of one part of the source (or the whole source) and count
        them; ``shared`` is the scratch space of the metrics deriving from this part."""
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
            self.flags.append(found)
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
        result.account.audit = audit_flags(contract, flags)
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
            shared={} if shared is None else shared)

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
        return derived, spans


def _target_seconds(level: ServiceLevel) -> float | None:
    """The per-record limit of a duration target in seconds (``95% within 4h``: 4h; ``p90 <=
    16h``: 16h); None for a target that sets none (a count, a rate)."""
    target = level.target
    if target.within is not None:
        return float(target.within)
    return float(target.threshold) if target.unit == "duration" else None


def audit_flags(contract: Contract, flags: pa.Table | None) -> tuple[AuditFlag, ...]:
    """Audit flags counted per flag and period (periods inside the contract's window), with
    the first :data:`~slaengine.verdicts.MISSED_LIMIT` tickets of each (the earliest flagged,
    then by ticket id: the same however the source was read)."""
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
    place = np.minimum(np.searchsorted(present, keys), len(present) - 1)
    inside = (present[place] == keys) & (which >= 0)
    groups = np.maximum(which, 0) * len(present) + place
    found = group_missed(flags["ticket_id"], inside, np.where(inside, groups, 0),
                         len(names) * len(present))
    labels = period_labels(contract, present)
    return tuple(AuditFlag(names[g // len(present)], labels[g % len(present)], count, tickets)
                 for g, (tickets, count) in enumerate(found) if count)


def merge_reconciliations(found: list[Reconciliation]) -> Reconciliation | None:
    """One reconciliation of the parts' (counts added, ids merged in order)."""
    if not found:
        return None
    if len(found) == 1:
        return found[0]
    return Reconciliation(
        zendesk_breached=sum(r.zendesk_breached for r in found),
        contract_breached=sum(r.contract_breached for r in found),
        only_zendesk=tuple(sorted(i for r in found for i in r.only_zendesk)),
        only_contract=tuple(sorted(i for r in found for i in r.only_contract)),
        target_seconds=found[0].target_seconds)
