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
        """Derive the records part by part (the whole source when it is held in memory),
        then evaluate them as the batches of one per-record level."""
        contract, level = self.contract, self.level
        metric = self.registry.metrics[level.metric]
        assert isinstance(metric, DerivedMetric)
        source_time = contract.sources[level.source].record_kind.time_field
        if level.period_by == source_time:  # the source's time: a record's is its start
            level = replace(level, period_by=None)
        target = _target_seconds(level)
        audit = guarded(self.registry, "metric", level.metric, "audit")
        counting: RecordLevel | None = None
        flags: list[pa.Table] = []
        reconciled: list[Reconciliation] = []
        shown: list[pa.Table] = []
        for part in self.data[level.source].parts():
            derived, spans = self._derive(metric, part)
            if counting is None:
                counting = self._counting(metric, level, derived)
            if derived.num_rows:
                keys = period_keys(derived[metric.time_field], contract.period,
                                   contract.timezone)
                counting.add(Batch(derived, keys, contract, metric.time_field,
                                   counting.indexes))
            found = audit(part, derived, spans, self._context(), target)
            if found is not None:
                flags.append(found)
            reconciliation = self._reconcile(metric, derived, target)
            if reconciliation is not None:
                reconciled.append(reconciliation)
            if self.evidence and spans is not None:
                shown.append(self._spans_of_misses(metric, derived, spans, target))
        assert counting is not None  # parts() gives at least one table
        result = counting.finish()
        result.account.audit = audit_flags(contract, pa.concat_tables(flags) if flags else None)
        result.account.reconciliation = merge_reconciliations(reconciled)
        if result.evidence is not None:  # earliest first, however the parts came
            result.evidence = result.evidence.sort_by(
                [(metric.time_field, "ascending"), (metric.id_field, "ascending")])
        if result.evidence is not None and shown:
            spans = pa.concat_tables(shown)
            result.intervals = spans.filter(
                pc.is_in(spans["id"], value_set=result.evidence[metric.id_field]))
        return result

    def _spans_of_misses(self, metric: DerivedMetric, derived: pa.Table, spans: pa.Table,
                         target: float | None) -> pa.Table:
        """The spans evidence may show: those of records past the per-record ``target`` or
        not measured (all without a target); the level's missed ids choose among them."""
        if target is None or not derived.num_rows:
            return spans
        measure = guarded(self.registry, "metric", self.level.metric, "measure")
        past = pc.fill_null(pc.greater(measure(derived, self._context()), target), True)
        return spans.filter(pc.is_in(spans["id"],
                                     value_set=derived[metric.id_field].filter(past)))

    def _counting(self, metric: DerivedMetric, level: ServiceLevel,
                  derived: pa.Table) -> RecordLevel:
        """The per-record level that counts the derived records (their fields: the first
        part's)."""
        kind = RecordKind(name=f"{level.metric} records",
                          fields={f.name: f.type for f in derived.schema},
                          id_field=metric.id_field, time_field=metric.time_field,
                          descriptions={}, unique_ids=False)
        return RecordLevel(self.contract, level, self.registry, self.evidence, derived=kind)

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
            period=self.contract.period, as_of=self.as_of or self.data[level.source].latest)

    def _derive(self, metric: DerivedMetric,
                records: pa.Table) -> tuple[pa.Table, pa.Table | None]:
        """The metric's records of ``records`` (the source or a part of it), checked to carry
        its id and time fields, and their spans."""
        level, spec = self.level, self.contract.sources[self.level.source]
        context = self._context()
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
