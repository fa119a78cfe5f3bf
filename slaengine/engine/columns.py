"""The canonical fields one service level reads from each of its sources, and those a
source can deliver.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable
from pathlib import Path

from slaengine.contract import Contract, ServiceLevel, SourceSpec
from slaengine.engine.read import source_config
from slaengine.plugin import PAUSE_FIELDS, Metric, PeriodMetric, Source, SourceConfig
from slaengine.pluginmanager import Registry


def deliverable(source: Source, config: SourceConfig) -> Collection[str]:
    """The canonical fields ``source`` can deliver: those it declares; else, when it can tell
    its columns cheaply (a single file's header), the fields found among them (through
    ``fields`` or under their own name); else every field of the kind. A metric with an
    optional field (``reopens`` for first-contact resolution) reads it only where it exists."""
    declared = source.available(config)
    if declared:
        return declared
    names = _column_names(source, config)
    if names is None:
        return config.kind.fields
    return [f for f in config.kind.fields if config.fields.get(f, f) in names]


_COLUMNS: dict[tuple, frozenset[str] | None] = {}


def _column_names(source: Source, config: SourceConfig) -> frozenset[str] | None:
    """The column names ``source.columns`` gives for ``config``, asked once per version of the
    file or folder (a header costs a few milliseconds and every level asks)."""
    try:
        stat = Path(config.path).stat()
    except (OSError, ValueError):
        return None  # a pattern, or nothing there: the read says what is wrong
    key = (source.name, str(config.path), stat.st_mtime_ns, stat.st_size,
           json.dumps(dict(config.options), sort_keys=True, default=str))
    if key not in _COLUMNS:
        if len(_COLUMNS) > 256:
            _COLUMNS.clear()
        columns = source.columns(config)
        _COLUMNS[key] = frozenset(name for name, _ in columns) if columns else None
    return _COLUMNS[key]


def level_fields(contract: Contract, level: ServiceLevel, registry: Registry,
                 role: str = "records") -> list[str]:
    """The canonical fields one service level reads from the source playing ``role``."""
    metric: Metric = registry.metrics[level.metric]
    spec = contract.sources[level.inputs[role]]
    kind = spec.record_kind
    if isinstance(metric, PeriodMetric):
        wanted: tuple[str, ...] = metric.inputs[role].fields
    else:
        source = registry.sources[spec.adapter]
        if type(metric).required_fields is Metric.required_fields:
            wanted = metric.requires  # no choice to make: the source's fields are not asked
        else:
            wanted = metric.required_fields(
                set(deliverable(source, source_config(contract, spec))))
        wanted += tuple(PAUSE_FIELDS[p] for p in level.pause)
    # A period-level metric never names single records, so it needs no ids: a long text column
    # fewer to hold whole.
    fields = [kind.time_field] if isinstance(metric, PeriodMetric) else [kind.id_field,
                                                                          kind.time_field]
    agreed = [f for e in contract.exclusions if e.applies_to(level.id) for f in e.where]
    joined = linked_fields(contract, spec, (*level.where, *level.by, *agreed))
    key = contract.sources[spec.link].record_kind.id_field if spec.link else None
    if joined and key not in fields:  # the key that finds each record's linked record
        fields.append(str(key))
    period = (level.period_by,) if level.period_by else ()
    for name in (*wanted, *level.where, *level.by, *agreed, *period):
        if (name in kind.fields or name in joined) and name not in fields:
            fields.append(name)
    return fields


def evidence_fields(contract: Contract, level: ServiceLevel, registry: Registry,
                    role: str = "records") -> list[str]:
    """The fields shown for a record behind a period-level figure: its id, then the fields
    the level reads."""
    kind = contract.sources[level.inputs[role]].record_kind
    fields = level_fields(contract, level, registry, role)
    return [kind.id_field, *(f for f in fields if f != kind.id_field)]


def linked_fields(contract: Contract, spec: SourceSpec, names: Iterable[str]) -> list[str]:
    """Of ``names``, the fields ``spec`` takes from the source it links to (``link``)."""
    if spec.link is None:
        return []
    other = contract.sources[spec.link].record_kind
    return [n for n in dict.fromkeys(names)
            if n not in spec.record_kind.fields and n in other.fields]
