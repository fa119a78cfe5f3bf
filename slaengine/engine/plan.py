"""What to read and how: per source, the levels folded as it is read and the fields to hold
whole (and the key that may split them into parts); the canonical fields each source delivers;
the fields a linking source takes from the source it links to.
"""

from __future__ import annotations

from slaengine.contract import Contract, MeasureSpec
from slaengine.engine.batch import GroupIndex
from slaengine.engine.columns import deliverable, evidence_fields, level_fields
from slaengine.engine.levels import PeriodLevel, StreamedLevel
from slaengine.engine.read import source_config
from slaengine.engine.record import RecordLevel
from slaengine.plugin import DerivedMetric, PeriodMetric
from slaengine.pluginmanager import Registry
from slaengine.statistics import Tally


def plan(contract: Contract, registry: Registry, evidence: bool,
         ) -> tuple[dict[str, list[StreamedLevel]], dict[str, list[str]]]:
    """Per source: the levels folded as it is read (per-record levels, and period-level ones
    whose metric summarises batch by batch), and the fields to keep whole (for the other
    period-level metrics, for metrics that derive their records from the whole source, for
    sources other sources link to, and with ``evidence`` for every period-level metric, with
    the records' ids: the records behind a failed figure)."""
    streamed: dict[str, list[StreamedLevel]] = {}
    keep: dict[str, list[str]] = {}
    tallies: dict[MeasureSpec, Tally] = {}
    indexes: dict[tuple, GroupIndex] = {}
    for level in contract.service_levels:
        metric = registry.metrics[level.metric]
        if isinstance(metric, DerivedMetric):  # its records come from the whole source
            own = contract.sources[level.source].record_kind.fields
            fields = keep.setdefault(level.source, [])
            fields += [f for f in level_fields(contract, level, registry)
                       if f in own and f not in fields]
            continue
        if not isinstance(metric, PeriodMetric):
            streamed.setdefault(level.source, []).append(
                RecordLevel(contract, level, registry, evidence, tallies, indexes))
            continue
        if metric.summary_keys:
            summarised = PeriodLevel(contract, level, registry)
            for role, name in level.inputs.items():
                streamed.setdefault(name, []).append(summarised.role(role))
        if evidence or not metric.summary_keys:
            wanted = evidence_fields if evidence else level_fields
            for role, name in level.inputs.items():
                fields = keep.setdefault(name, [])
                fields += [f for f in wanted(contract, level, registry, role)
                           if f not in fields]
    for name, fields in _linked_plan(contract, registry).items():
        target = contract.sources[contract.sources[name].link]
        wanted = keep.setdefault(target.name, [])
        wanted += [f for f in (target.record_kind.id_field, *fields) if f not in wanted]
    return streamed, keep


def needed_fields(contract: Contract, registry: Registry) -> dict[str, list[str]]:
    """The canonical fields each source must deliver, in a stable order (read once each).

    A linked-to source comes first, delivering its id and the fields the linking source's
    service levels take from it."""
    needed: dict[str, list[str]] = {}
    for level in contract.service_levels:
        for role, name in level.inputs.items():
            spec = contract.sources[name]
            fields = needed.setdefault(name, [])
            for field_name in level_fields(contract, level, registry, role):
                if field_name in spec.record_kind.fields and field_name not in fields:
                    fields.append(field_name)
    for name, fields in _linked_plan(contract, registry).items():
        target = contract.sources[contract.sources[name].link]
        wanted = needed.setdefault(target.name, [])
        kind = target.record_kind
        for field_name in (kind.id_field, kind.time_field, *fields):
            if field_name not in wanted:
                wanted.append(field_name)
    linked = {contract.sources[n].link for n in needed if contract.sources[n].link}
    return dict(sorted(needed.items(), key=lambda item: item[0] not in linked))


def join_plan(contract: Contract, registry: Registry) -> dict[str, list[str]]:
    """Per linking source, the fields its service levels take from the linked source, joined
    to its records as they are read (derived levels join theirs to the records they derive:
    :func:`derived_links`)."""
    plan: dict[str, list[str]] = {}
    for level in contract.service_levels:
        if isinstance(registry.metrics[level.metric], DerivedMetric):
            continue
        for role, name in level.inputs.items():
            spec = contract.sources[name]
            joined = [f for f in level_fields(contract, level, registry, role)
                      if f not in spec.record_kind.fields]
            if joined:
                fields = plan.setdefault(name, [])
                fields += [f for f in joined if f not in fields]
    return plan


def split_keys(contract: Contract, registry: Registry, keep: dict[str, list[str]],
               evidence: bool) -> dict[str, str]:
    """Per source held whole, the key its records may be split by into parts (on disk, past a
    memory budget): when every level that needs it whole derives its records part by part by
    the same key (:attr:`~slaengine.plugin.DerivedMetric.partition_by`) and no other source
    links to it."""
    wanted: dict[str, set[str | None]] = {}
    for level in contract.service_levels:
        metric = registry.metrics[level.metric]
        if isinstance(metric, DerivedMetric):
            wanted.setdefault(level.source, set()).add(metric.partition_by)
        elif isinstance(metric, PeriodMetric) and (evidence or not metric.summary_keys):
            for name in level.inputs.values():
                wanted.setdefault(name, set()).add(None)
    for name in join_plan(contract, registry):
        wanted.setdefault(str(contract.sources[name].link), set()).add(None)
    return {name: next(iter(keys)) for name, keys in wanted.items()
            if name in keep and len(keys) == 1 and None not in keys
            and next(iter(keys)) in keep[name]}


def derived_links(contract: Contract, registry: Registry) -> dict[str, list[str]]:
    """Per linking source, the fields its derived levels (clocks) take from the linked source:
    every ``where``, ``by`` and agreed-exclusion field the linked kind has, those the linking
    source has too when the linked source delivers them (a clock record falls back on the
    linked record's value where its own history never set one). They are joined to the
    derived records, not to the source's."""
    plan: dict[str, list[str]] = {}
    for level in contract.service_levels:
        spec = contract.sources[level.source]
        if spec.link is None or not isinstance(registry.metrics[level.metric], DerivedMetric):
            continue
        target = contract.sources[spec.link]
        kind = target.record_kind
        delivered = deliverable(registry.sources[target.adapter], source_config(contract, target))
        agreed = [f for e in contract.exclusions if e.applies_to(level.id) for f in e.where]
        fields = plan.setdefault(spec.name, [])
        fields += [f for f in dict.fromkeys((*level.where, *level.by, *agreed))
                   if f in kind.fields and f != kind.id_field and f not in fields
                   and (f not in spec.record_kind.fields or f in delivered)]
    return plan


def _linked_plan(contract: Contract, registry: Registry) -> dict[str, list[str]]:
    """Per linking source, every field taken from its linked source (joined to its records
    as they are read, or to the records its derived levels derive)."""
    merged = {name: list(fields) for name, fields in join_plan(contract, registry).items()}
    for name, fields in derived_links(contract, registry).items():
        known = merged.setdefault(name, [])
        known += [f for f in fields if f not in known]
    return merged
