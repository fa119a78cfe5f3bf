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
        result.account.audit = audit_flags(contract, flags)
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
            period=self.contract.period, as_of=self.as_of)

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
    the first :data:`~slaengine.verdicts.MISSED_LIMIT` tickets of each."""
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
    place = np.minimum(np.searchsorted(present, keys), len(present) - 1)
    inside = (present[place] == keys) & (which >= 0)
    groups = np.maximum(which, 0) * len(present) + place
    found = group_missed(flags["ticket_id"], inside, np.where(inside, groups, 0),
                         len(names) * len(present))
    labels = period_labels(contract, present)
    return tuple(AuditFlag(names[g // len(present)], labels[g % len(present)], count, tickets)
                 for g, (tickets, count) in enumerate(found) if count)
