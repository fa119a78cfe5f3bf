"""The evaluation loop: read each source once, measure, group, compare, give verdicts.

For each service level: keep the records its ``where`` selects, let the metric measure each
record (vectorised), group the measures by period and segment, compute the statistic per group
and compare it with the target. Every period present in the source gets a verdict for every
segment seen, so an empty segment shows up as ``insufficient_data`` instead of vanishing.
"""

from __future__ import annotations

import gc
import json
import math
import operator
import os
import platform
from collections.abc import Callable, Collection, Iterable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import slaengine
from slaengine import outlook, penalties
from slaengine.allocator import choose_arrow_pool, keep_freed_memory
from slaengine.calendars import ALWAYS, Calendar, package_versions
from slaengine.contract import Contract, ServiceLevel, SourceSpec, statistic_unit
from slaengine.errors import DataError
from slaengine.kinds import (
    PAUSE_FIELDS,
    MeasureContext,
    Metric,
    PeriodFigures,
    PeriodGrid,
    PeriodMetric,
    Source,
    SourceConfig,
    combine_summaries,
    reject_schema,
)
from slaengine.lazy import np, pa, pc
from slaengine.manifest import Digests
from slaengine.periods import period_bounds, period_keys, period_label, period_range
from slaengine.pluginmanager import Registry, build_registry, guarded
from slaengine.progress import Progress, known_size, reporter
from slaengine.readahead import read_ahead
from slaengine.statistics import Layout, Tally, TallyResult, as_float, group_statistic
from slaengine.targets import Target, exact_figure, percentile_of
from slaengine.verdicts import (
    FAILED,
    MISSED_LIMIT,
    Concentration,
    Evaluation,
    LevelAccount,
    SourceAccount,
    Verdict,
    verdict_key,
)

DUPLICATE_REASON = "duplicate"
"""Reasons of superseded rows start with this word (``duplicate of ...``)."""


@dataclass
class SourceData:
    """A source's accepted records (only the needed fields) and its accounting.

    The period of each record is computed once per source and shared by its service levels.
    """

    records: pa.Table
    account: SourceAccount
    rejected: pa.Table
    _keys: np.ndarray | None = None
    _periods: np.ndarray | None = None
    _positions: np.ndarray | None = None

    def period_keys(self, time_field: str, contract: Contract) -> np.ndarray:
        if self._keys is None:
            self._keys = period_keys(self.records[time_field], contract.period,
                                     contract.timezone)
        return self._keys

    def periods(self, time_field: str, contract: Contract) -> np.ndarray:
        """The sorted periods present in the records."""
        self._index(time_field, contract)
        assert self._periods is not None
        return self._periods

    def positions(self, time_field: str, contract: Contract) -> np.ndarray:
        """Each record's position in :meth:`periods`."""
        self._index(time_field, contract)
        assert self._positions is not None
        return self._positions

    def _index(self, time_field: str, contract: Contract) -> None:
        if self._periods is not None:
            return
        found = batch_periods(self.period_keys(time_field, contract))
        self._periods, self._positions = found.present, found.position


def evaluate(
    contract: Contract,
    registry: Registry | None = None,
    *,
    options: dict[str, Any] | None = None,
    evidence: bool = False,
    as_of: datetime | None = None,
    progress: Progress | Callable[[str], None] | None = None,
) -> Evaluation:
    """Evaluate every service level of ``contract`` on its sources.

    ``evidence`` keeps, per service level, the records behind each failed verdict with the
    fields that decided it (see :mod:`slaengine.evidence`), and for a mean or order-statistic
    target the figure without its worst 1% of measures. ``as_of`` evaluates the data as it
    stood at that instant: records created later are left out (counted), and the running
    period gets an outlook.
    ``progress`` is called with a short description of what is being done, as it changes
    (several times a second at most: once per batch); while a source of known size is read,
    with the bytes read and the total too, if it takes them (:mod:`slaengine.progress`).
    """
    # The evaluation makes few Python objects that could form cycles, but many arrays: the
    # cycle collector, triggered by allocation counts, would only walk the heap again and again.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _evaluate(contract, registry, options=options, evidence=evidence, as_of=as_of,
                         progress=progress)
    finally:
        if collecting:
            gc.enable()


def _evaluate(
    contract: Contract,
    registry: Registry | None,
    *,
    options: dict[str, Any] | None,
    evidence: bool,
    as_of: datetime | None,
    progress: Progress | Callable[[str], None] | None,
) -> Evaluation:
    registry = registry or build_registry()
    step = reporter(progress)
    keep_freed_memory()
    choose_arrow_pool()
    files = source_files(contract, registry)
    digests = Digests({name: spec.path for name, spec in contract.sources.items()}, files,
                      contract_folder(contract))
    sizes = {name: known_size(found) for name, found in files.items()}
    try:
        return _evaluate_sources(contract, registry, digests, options=options,
                                 evidence=evidence, as_of=as_of, step=step, sizes=sizes)
    finally:
        digests.close()


def contract_folder(contract: Contract) -> Path:
    """The folder a contract's paths are relative to (the working directory for a text)."""
    return contract.path.parent if contract.path is not None else Path.cwd()


def _evaluate_sources(
    contract: Contract, registry: Registry, digests: Digests, *,
    options: dict[str, Any] | None, evidence: bool, as_of: datetime | None,
    step: Progress, sizes: dict[str, int | None],
) -> Evaluation:
    streamed, keep = plan(contract, registry, evidence)
    joins = join_plan(contract, registry)
    data: dict[str, SourceData] = {}
    needed = needed_fields(contract, registry)
    if evidence:  # the ids of the records behind period-level figures are read too
        for name, fields in keep.items():
            needed[name] += [f for f in fields if f not in needed[name]]
    for name, fields in needed.items():
        total = sizes.get(name)
        step(f"reading {name}", *((0, total) if total is not None else ()))
        feed, unmatched = _feeder(contract, name, streamed, joins, data)
        seen = _Counter()

        def counted(records: pa.Table, keys: np.ndarray, feed=feed, seen=seen) -> None:
            feed(records, keys)
            seen.count += records.num_rows

        def advanced(position: int | None, name=name, seen=seen, total=total) -> None:
            sized = total is not None and position is not None
            step(f"reading {name}: {seen.count:,} records",
                 *((min(position, total), total) if sized else ()))

        data[name] = read_source(contract, contract.sources[name], fields, registry, as_of,
                                 on_batch=counted, on_position=advanced,
                                 keep=keep.get(name, []))
        if name in joins:
            link = contract.sources[name].link
            data[name].account.notes[f"records without a matching {link} record"] = (
                unmatched.count)
    found: dict[str, tuple[list[Verdict], LevelAccount]] = {}
    kept: dict[str, pa.Table] = {}
    concentration: dict[tuple[str, str, tuple], Concentration] = {}
    period_grids: dict[str, np.ndarray] = {}  # a period level's keys, one per verdict
    for streaming_levels in streamed.values():
        for streaming in streaming_levels:
            if streaming.level.id in found:  # a period level fed by several sources
                continue
            step(f"evaluating {streaming.level.id}")
            if isinstance(streaming, PeriodInput):
                verdicts_of, account, period_grids[streaming.level.id] = streaming.finish()
            else:
                verdicts_of, account, missed = streaming.finish()
                concentration.update(streaming.concentration)
                if missed is not None:
                    kept[streaming.level.id] = missed
            found[streaming.level.id] = (verdicts_of, account)
    for level in contract.service_levels:
        if level.id not in found:
            step(f"evaluating {level.id}")
            verdicts_of, account, period_grids[level.id] = evaluate_level(contract, level, data,
                                                                          registry)
            found[level.id] = (verdicts_of, account)
    if evidence:
        for level in contract.service_levels:
            if level.id in period_grids:
                behind = period_evidence(contract, level, data, registry,
                                         period_grids[level.id], found[level.id][0])
                if behind is not None:
                    kept[level.id] = behind
    verdicts = [v for level in contract.service_levels for v in found[level.id][0]]
    levels = {level.id: found[level.id][1] for level in contract.service_levels}
    if as_of is not None:
        verdicts = outlook.apply(contract, verdicts, as_of)
    rejected = pa.concat_tables([d.rejected for d in data.values()] or
                                [reject_schema().empty_table()])
    manifest_options = dict(options or {})
    if as_of is not None:
        manifest_options["as_of"] = as_of.isoformat()
    evaluation = Evaluation(
        contract=contract, verdicts=verdicts,
        sources={name: d.account for name, d in data.items()}, levels=levels,
        manifest=manifest(contract, registry, manifest_options, digests), rejected=rejected,
        evidence=kept, concentration=concentration,
    )
    if contract.penalties is not None:
        step("assessing service credits")
        model = registry.penalty_models[contract.penalties["model"]]
        evaluation.credits = penalties.assess(evaluation, model, contract.penalties)
    return evaluation


def plan(contract: Contract, registry: Registry, evidence: bool,
         ) -> tuple[dict[str, list[RecordLevel | PeriodInput]], dict[str, list[str]]]:
    """Per source: the levels folded as it is read (per-record levels, and period-level ones
    whose metric summarises batch by batch), and the fields to keep whole (for the other
    period-level metrics, for sources other sources link to, and with ``evidence`` for every
    period-level metric, with the records' ids: the records behind a failed figure)."""
    streamed: dict[str, list[RecordLevel | PeriodInput]] = {}
    keep: dict[str, list[str]] = {}
    tallies: dict[tuple, Tally] = {}
    indexes: dict[tuple, GroupIndex] = {}
    for level in contract.service_levels:
        metric = registry.metrics[level.metric]
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
    for name, fields in join_plan(contract, registry).items():
        target = contract.sources[contract.sources[name].link]
        wanted = keep.setdefault(target.name, [])
        wanted += [f for f in (target.record_kind.id_field, *fields) if f not in wanted]
    return streamed, keep


@dataclass
class _Counter:
    count: int = 0


def _feeder(contract: Contract, name: str,
            streamed: dict[str, list[RecordLevel | PeriodInput]],
            joins: dict[str, list[str]], data: dict[str, SourceData],
            ) -> tuple[Callable[[pa.Table, np.ndarray], None], _Counter]:
    """What happens to each batch of source ``name``: joined to its linked source (already
    read, in ``data``; the counter counts records without a match), then folded into each of
    its per-record levels."""
    levels = streamed.get(name, [])
    spec = contract.sources[name]
    unmatched = _Counter()
    indexes = next((lv.indexes for lv in levels if isinstance(lv, RecordLevel)), None)

    def feed(records: pa.Table, keys: np.ndarray) -> None:
        if name in joins:
            linked = contract.sources[str(spec.link)]
            records, missing = join(records, data[linked.name].records,
                                    linked.record_kind.id_field, joins[name])
            unmatched.count += missing
        batch = Batch(records, keys, contract, spec.record_kind.time_field, indexes)
        for level in levels:
            level.add(batch)

    return feed, unmatched


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
                        kind=spec.record_kind)


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
    for name, fields in join_plan(contract, registry).items():
        target = contract.sources[contract.sources[name].link]
        wanted = needed.setdefault(target.name, [])
        kind = target.record_kind
        for field_name in (kind.id_field, kind.time_field, *fields):
            if field_name not in wanted:
                wanted.append(field_name)
    linked = {contract.sources[n].link for n in needed if contract.sources[n].link}
    return dict(sorted(needed.items(), key=lambda item: item[0] not in linked))


def join_plan(contract: Contract, registry: Registry) -> dict[str, list[str]]:
    """Per linking source, the fields its service levels take from the linked source."""
    plan: dict[str, list[str]] = {}
    for level in contract.service_levels:
        for role, name in level.inputs.items():
            spec = contract.sources[name]
            joined = [f for f in level_fields(contract, level, registry, role)
                      if f not in spec.record_kind.fields]
            if joined:
                fields = plan.setdefault(name, [])
                fields += [f for f in joined if f not in fields]
    return plan


def join(records: pa.Table, linked: pa.Table, key: str, fields: list[str]) -> tuple[pa.Table, int]:
    """``records`` with ``fields`` taken from the ``linked`` record whose id equals their
    ``key``; null where there is none (also returned: how many had none)."""
    index = pc.index_in(records[key], value_set=linked[key].combine_chunks()
                        if isinstance(linked[key], pa.ChunkedArray) else linked[key])
    for name in fields:
        records = records.append_column(name, pc.take(linked[name], index))
    return records, int(pc.sum(pc.is_null(index)).as_py() or 0)


def read_source(
    contract: Contract, spec: SourceSpec, fields: list[str], registry: Registry,
    as_of: datetime | None = None, *,
    on_batch: Callable[[pa.Table, np.ndarray], None] | None = None,
    on_position: Callable[[int | None], None] | None = None,
    keep: list[str] | None = None,
) -> SourceData:
    """Read ``spec`` once through its adapter, keeping every rejected row and the counts.

    Each batch of accepted records goes to ``on_batch`` with its records' period keys, as it
    arrives, then ``on_position`` gets the batch's :attr:`~SourceBatch.position` (for the
    progress shown); only the ``keep`` fields (all ``fields`` when None) are held for later,
    so a source evaluated batch by batch is never in memory whole. With ``as_of``, records whose
    time lies after it are counted as ``after_as_of`` and left out (a source may skip them early
    through ``time_range``).
    """
    config = source_config(contract, spec)
    if as_of is not None:
        config = replace(config, time_range=(None, as_of))
    kind = spec.record_kind
    keep = list(fields) if keep is None else keep
    read = guarded(registry, "source", spec.adapter, "read")
    account = SourceAccount(source=spec.name, adapter=spec.adapter, path=str(spec.path))
    records: list[pa.Table] = []
    kept_keys: list[np.ndarray] = []
    rejected: list[pa.Table] = []
    # Closed here, on every path out: the read-ahead thread is joined before an error leaves
    # (the cycle collector is off during an evaluation, so nothing else would close it).
    with naming_contract(contract), closing(read_ahead(read(config, fields))) as batches:
        for batch in batches:
            account.read += batch.read
            account.accepted += batch.records.num_rows
            account.rejected += batch.rejected.num_rows
            account.duplicates += batch.duplicates.num_rows
            for note, count in batch.notes.items():
                account.notes[note] = account.notes.get(note, 0) + count
            rejected.append(batch.rejected)
            if batch.duplicates.num_rows:
                rejected.append(batch.duplicates)
            table = batch.records
            if as_of is not None and table.num_rows:
                time = table[kind.time_field]
                early = pc.fill_null(pc.less_equal(time, pa.scalar(as_of, time.type)), True)
                account.after_as_of += table.num_rows - pc.sum(early).as_py()
                table = table.filter(early)
            keys = None
            if table.num_rows and (on_batch is not None or keep):
                keys = period_keys(table[kind.time_field], contract.period, contract.timezone)
            if on_batch is not None and keys is not None:
                on_batch(table, keys)
            if keep:
                records.append(table.select(keep))
                if keys is not None:  # kept too: the whole record set need not be placed again
                    kept_keys.append(keys.astype(np.int32))
            if on_position is not None:
                on_position(batch.position)
    if not account.reconciles:
        raise DataError(
            f"source adapter {spec.adapter!r} reported {account.read} rows read but "
            f"{account.accepted} accepted, {account.rejected} rejected and "
            f"{account.duplicates} duplicates",
            file=spec.path,
        )
    table = pa.concat_tables(records) if records else kind.schema(keep).empty_table()
    rejects = pa.concat_tables(rejected) if rejected else reject_schema().empty_table()
    account.rejected_by_reason = reason_counts(_only_rejected(rejects))
    keys = np.concatenate(kept_keys).astype(np.int64) if kept_keys else None
    return SourceData(records=table, account=account, rejected=rejects, _keys=keys)


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


def evaluate_level(
    contract: Contract, level: ServiceLevel, data: dict[str, SourceData], registry: Registry,
) -> tuple[list[Verdict], LevelAccount, np.ndarray]:
    """All verdicts of a period-level service level (backlog, cost per contact ...): one per
    period, from its record sets held whole (they are needed whole: a backlog looks back);
    and the periods' keys, one per verdict."""
    metric = registry.metrics[level.metric]
    assert isinstance(metric, PeriodMetric)
    source = data[level.source]
    table = source.records
    kind = contract.sources[level.source].record_kind
    periods = source.periods(kind.time_field, contract)
    positions = source.positions(kind.time_field, contract)
    if metric.spans:
        spanned = spanned_periods(contract, periods, [
            period_keys(table[f], contract.period, contract.timezone)[
                np.asarray(pc.is_valid(table[f]).to_numpy(zero_copy_only=False), dtype=bool)]
            for f in metric.spans])
        positions = np.searchsorted(spanned, periods)[positions]
        periods = spanned
    inside = np.ones(table.num_rows, dtype=bool)
    if contract.window != (None, None):
        kept_periods = window_periods(contract, periods)
        lookup = np.full(len(periods), -1, dtype=np.int64)
        lookup[np.isin(periods, kept_periods)] = np.arange(len(kept_periods))
        periods, positions = kept_periods, lookup[positions]
        inside = positions >= 0
    mask = where_mask(table, level.where)
    agreed, counts = agreed_exclusions(contract, level, table, kind.time_field,
                                       among=mask & inside)
    mask &= ~agreed
    excluded = np.bincount(positions[inside & ~mask], minlength=len(periods))
    mask &= inside
    account = LevelAccount(service_level=level.id, source=level.source,
                           accepted=table.num_rows, included=int(mask.sum()),
                           excluded=int((inside & ~mask).sum()),
                           outside_window=int((~inside).sum()), agreed=counts)
    context = MeasureContext(calendar=ALWAYS, timezone=contract.timezone,
                             service_level=level.id, options=level.options,
                             period=contract.period)
    figures = period_figures(contract, level, data, periods, registry, context, ~agreed)
    verdicts = [
        verdict(level, metric, label, {}, figures.value[p], int(figures.sample_size[p]), 0,
                int(excluded[p]), None, ((), 0), None)
        for p, label in enumerate(_labels(contract, periods))
    ]
    return verdicts, account, periods


def period_evidence(
    contract: Contract, level: ServiceLevel, data: dict[str, SourceData], registry: Registry,
    periods: np.ndarray, verdicts: list[Verdict],
) -> pa.Table | None:
    """The records behind each failed figure of a period-level service level (``periods``:
    the key of each verdict's period), as the metric's ``records_behind`` names them: per
    input, narrowed by ``where`` (and, for the level's own records, agreed exclusions) exactly
    as the figure was; with ``period`` and, when the metric reads several record sets,
    ``input`` (the role). None when no figure failed."""
    failed = [p for p, v in enumerate(verdicts) if v.status in FAILED]
    if not failed:
        return None
    keys = periods[failed]
    starts, ends = period_bounds(keys, contract.period, contract.timezone)
    grid = PeriodGrid(keys=keys, labels=tuple(verdicts[p].period for p in failed),
                      starts=starts, ends=ends)
    context = MeasureContext(calendar=ALWAYS, timezone=contract.timezone,
                             service_level=level.id, options=level.options,
                             period=contract.period)
    behind = guarded(registry, "metric", level.metric, "records_behind")
    parts = []
    for role, name in level.inputs.items():
        kind = contract.sources[name].record_kind
        records = data[name].records
        mask = where_mask(records, level.where)
        if name == level.source:
            mask &= ~agreed_exclusions(contract, level, records, kind.time_field)[0]
        fields = [f for f in evidence_fields(contract, level, registry, role)
                  if f in records.column_names]
        records = records.select(fields)
        records = records if mask.all() else records.filter(pa.array(mask))
        masks = behind(role, records, grid, context)
        if masks is None:
            index = grid.index(records[kind.time_field])
            masks = [index == p for p in range(len(grid))]
        if len(masks) != len(grid) or any(len(m) != records.num_rows for m in masks):
            raise DataError(f'metric "{level.metric}" named the records behind {len(masks)} '
                            f"figures for {len(grid)} periods of {records.num_rows} records")
        for label, chosen in zip(grid.labels, masks, strict=True):
            if isinstance(chosen, pa.Array | pa.ChunkedArray):  # a null names no record
                chosen = pc.fill_null(chosen, False).to_numpy(zero_copy_only=False)
            rows = records.filter(pa.array(np.asarray(chosen, dtype=bool)))
            rows = rows.add_column(1, "period", pa.repeat(pa.scalar(label), rows.num_rows))
            if len(level.inputs) > 1:
                rows = rows.add_column(2, "input", pa.repeat(pa.scalar(role), rows.num_rows))
            parts.append(rows)
    return pa.concat_tables(parts, promote_options="permissive")


class PeriodLevel:
    """A period-level service level whose metric summarises batch by batch (``summary_keys``).

    Each batch of each input is narrowed by ``where`` and summarised by the metric into a few
    rows (counts and sums by period keys); the records themselves are never held, so a backlog
    over tens of millions of tickets takes the memory of its summary. The batches of the
    level's own source also give the periods and the accounting, exactly as
    :func:`evaluate_level` finds them on the whole record set.
    """

    def __init__(self, contract: Contract, level: ServiceLevel, registry: Registry) -> None:
        self.contract = contract
        self.level = level
        self.metric: PeriodMetric = registry.metrics[level.metric]
        self.summarise = guarded(registry, "metric", level.metric, "summarise")
        self.figures = guarded(registry, "metric", level.metric, "figures")
        self.kind = contract.sources[level.source].record_kind
        self.main_role = next(role for role, name in level.inputs.items()
                              if name == level.source)
        self.empty = {role: contract.sources[name].record_kind.schema(
            [f for f in level_fields(contract, level, registry, role)
             if f in contract.sources[name].record_kind.fields]).empty_table()
            for role, name in level.inputs.items()}
        self.context = MeasureContext(calendar=ALWAYS, timezone=contract.timezone,
                                      service_level=level.id, options=level.options,
                                      period=contract.period)
        self.parts: dict[str, list[pa.Table]] = {role: [] for role in level.inputs}
        self.periods: set[int] = set()
        self.excluded: dict[int, int] = {}
        self.account = LevelAccount(service_level=level.id, source=level.source, accepted=0,
                                    included=0, excluded=0)

    def role(self, role: str) -> PeriodInput:
        return PeriodInput(self, role)

    def add(self, batch: Batch, role: str) -> None:
        table = batch.table
        where = where_mask(table, self.level.where)
        if role == self.main_role:
            where &= ~self._count(batch, where)  # agreed exclusions are left out like where
        records = table if where.all() else table.filter(pa.array(where))
        if records.num_rows:
            parts = self.parts[role]
            parts.append(self.summarise(role, records, self.context))
            if len(parts) >= _SUMMARY_PARTS:  # keep the summaries few and small
                self.parts[role] = [combine_summaries(parts, self.metric.summary_keys)]

    def _count(self, batch: Batch, where: np.ndarray) -> np.ndarray:
        """The periods present and the accounting of one batch of the level's own source;
        which of its records are excluded by agreement."""
        table, contract, level = batch.table, self.contract, self.level
        periods = batch.periods(self.kind.time_field)
        keys, present = periods.keys, periods.present
        if self.metric.spans:
            present = spanned_periods(contract, present,
                                      [batch.periods(f).present for f in self.metric.spans])
        inside = np.ones(table.num_rows, dtype=bool)
        if contract.window != (None, None):
            present = window_periods(contract, present)
            inside = np.isin(keys, present)
        self.periods.update(int(k) for k in present)
        mask = where.copy()
        agreed, counts = agreed_exclusions(contract, level, table, self.kind.time_field,
                                           among=mask & inside)
        mask &= ~agreed
        left_out = inside & ~mask
        for key, count in zip(*np.unique(keys[left_out], return_counts=True), strict=True):
            self.excluded[int(key)] = self.excluded.get(int(key), 0) + int(count)
        account = self.account
        account.accepted += table.num_rows
        account.included += int(np.count_nonzero(mask & inside))
        account.excluded += int(np.count_nonzero(left_out))
        account.outside_window += int(np.count_nonzero(~inside))
        for reason, count in counts.items():
            account.agreed[reason] = account.agreed.get(reason, 0) + count
        return agreed

    def finish(self) -> tuple[list[Verdict], LevelAccount, np.ndarray]:
        """The verdicts, one per period, the accounting and the periods' keys."""
        contract, level = self.contract, self.level
        periods = np.array(sorted(self.periods), dtype=np.int64)
        if self.metric.spans and len(periods):
            periods = spanned_periods(contract, periods, [])
        starts, ends = period_bounds(periods, contract.period, contract.timezone)
        grid = PeriodGrid(keys=periods, labels=tuple(_labels(contract, periods)),
                          starts=starts, ends=ends)
        keys = self.metric.summary_keys
        summaries = {
            role: combine_summaries(parts or [self.summarise(role, self.empty[role],
                                                             self.context)], keys)
            for role, parts in self.parts.items()
        }
        figures: PeriodFigures = self.figures(summaries, grid, self.context)
        if len(figures.value) != len(periods):
            raise DataError(f'metric "{level.metric}" returned {len(figures.value)} figures '
                            f"for {len(periods)} periods")
        verdicts = [
            verdict(level, self.metric, label, {}, figures.value[p],
                    int(figures.sample_size[p]), 0, self.excluded.get(int(periods[p]), 0), None,
                    ((), 0), None)
            for p, label in enumerate(grid.labels)
        ]
        return verdicts, self.account, periods


_SUMMARY_PARTS = 64


@dataclass
class PeriodInput:
    """One input (role) of a :class:`PeriodLevel`, as the source that feeds it sees it."""

    period_level: PeriodLevel
    name: str

    @property
    def level(self) -> ServiceLevel:
        return self.period_level.level

    def add(self, batch: Batch) -> None:
        self.period_level.add(batch, self.name)

    def finish(self) -> tuple[list[Verdict], LevelAccount, np.ndarray]:
        return self.period_level.finish()


@dataclass
class Narrowed:
    """One batch as a service level sees it: the periods present, what was left out and why,
    and the kept records with their measures (``mask``: which rows were kept, None for all).

    ``numbers`` are the measures as float64 (NaN: not measured); ``outcomes`` (made on first
    use, for ``share``) each record's success as 1.0, 0.0 or NaN (unknown).
    """

    periods: np.ndarray
    outside: int
    agreed: dict[str, int]
    excluded: dict[int, int]
    included: int
    without: int = 0
    mask: np.ndarray | None = None
    kept: pa.Table | None = None
    values: pa.Array | None = None
    numbers: np.ndarray | None = None
    paused: np.ndarray | None = None
    _outcomes: np.ndarray | None = None

    def outcomes(self, metric: Metric) -> np.ndarray:
        if self._outcomes is None:
            assert self.values is not None
            self._outcomes = as_float(metric.success(self.values))
        return self._outcomes


@dataclass
class BatchPeriods:
    """The periods of one batch's records by one time field: each record's key, whether it
    has one (``valid``: None when all do), the keys present and each record's position."""

    keys: np.ndarray
    valid: np.ndarray | None
    present: np.ndarray
    position: np.ndarray


def batch_periods(keys: np.ndarray, valid: np.ndarray | None = None) -> BatchPeriods:
    chosen = keys if valid is None else keys[valid]
    position = np.zeros(len(keys), dtype=np.int64)
    if len(chosen) == 0:
        return BatchPeriods(keys, valid, chosen, position)
    low, high = int(chosen.min()), int(chosen.max())
    if low == high:  # one period (records come in time order): every position is 0
        return BatchPeriods(keys, valid, np.array([low], dtype=np.int64), position)
    seen = np.bincount(chosen - low) > 0  # keys span a few hundred values: counted
    at = (np.cumsum(seen) - 1)[chosen - low]
    if valid is None:
        position = at
    else:
        position[valid] = at
    return BatchPeriods(keys, valid, np.flatnonzero(seen) + low, position)


class GroupIndex:
    """The (period, segment) groups of one way of grouping (a ``by`` list and a period field),
    numbered as first seen across all batches and shared by every level grouping that way."""

    def __init__(self) -> None:
        self.ids: dict[tuple[int, tuple], int] = {}
        self.pairs: list[tuple[int, tuple]] = []

    def ids_of(self, pairs: list[tuple[int, tuple]]) -> np.ndarray:
        """The id of each pair, numbering the new ones."""
        out = np.empty(len(pairs), dtype=np.intp)
        for i, pair in enumerate(pairs):  # once per (period, segment) of a batch, not per record
            found = self.ids.get(pair)
            if found is None:
                found = self.ids[pair] = len(self.pairs)
                self.pairs.append(pair)
            out[i] = found
        return out


class Batch:
    """One batch of accepted records as every service level of its source sees it.

    The period keys (by the kind's time field, or another one a level names in
    ``period_by``), the segments of each ``by`` list and each record's group are computed once
    per batch and shared by the service levels, which each take the rows their ``where`` keeps.
    """

    def __init__(self, table: pa.Table, keys: np.ndarray, contract: Contract,
                 time_field: str, indexes: dict[tuple, GroupIndex] | None = None) -> None:
        self.table = table
        self.contract = contract
        self.indexes = {} if indexes is None else indexes
        self._periods: dict[str, BatchPeriods] = {time_field: batch_periods(keys)}
        self._groups: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}
        self._shared: dict[tuple, Any] = {}

    def periods(self, field_name: str) -> BatchPeriods:
        if field_name not in self._periods:
            column = self.table[field_name]
            valid = np.asarray(pc.is_valid(column).to_numpy(zero_copy_only=False), dtype=bool)
            keys = period_keys(column, self.contract.period, self.contract.timezone)
            self._periods[field_name] = batch_periods(keys, None if valid.all() else valid)
        return self._periods[field_name]

    def shared(self, key: tuple, compute: Callable[[Batch], Any]) -> Any:
        """What ``compute`` gives for this batch, computed once per ``key``."""
        if key not in self._shared:
            self._shared[key] = compute(self)
        return self._shared[key]

    def groups(self, by: tuple[str, ...], field_name: str) -> tuple[np.ndarray, np.ndarray]:
        """Each record's group (its (period, segment) pair's id in the grouping's
        :class:`GroupIndex`), and the ids present in the batch."""
        key = (by, field_name)
        if key not in self._groups:
            periods = self.periods(field_name)
            segment_index, segments = segment_groups(self.table, by)
            width = max(len(segments), 1)
            if len(periods.present) == 1:  # one period: the segment is the code
                codes = segment_index if segments else periods.position
            else:
                codes = periods.position * width + segment_index
            pairs = [(int(periods.present[c // width]),
                      tuple(segments[c % width].values()) if segments else ())
                     for c in range(len(periods.present) * width)]
            ids = self.indexes.setdefault(key, GroupIndex()).ids_of(pairs)
            chosen = codes if periods.valid is None else codes[periods.valid]
            if len(ids) == 1:
                present = ids[: min(len(chosen), 1)]
            else:
                present = ids[np.flatnonzero(np.bincount(chosen, minlength=len(pairs)))]
            if len(ids) == 1:
                every = np.full(len(codes), ids[0], dtype=np.intp)
            elif (ids == np.arange(len(ids))).all():
                every = codes.astype(np.intp, copy=False)
            else:
                every = ids[codes]
            self._groups[key] = (every, present)
        return self._groups[key]


class RecordLevel:
    """One per-record service level, evaluated batch by batch as its source is read.

    Each batch is narrowed (window, ``where``), measured, and folded into per-group counters
    (:class:`~slaengine.statistics.Tally`); a group is a (period, segment) pair. Levels that
    read the same records with the same metric, clock and grouping share the narrowing, the
    measure and the tally, so a batch is measured and counted once for all of them. Only what
    a verdict needs survives a batch: counters, the measured values of order statistics, the
    ids of the first records that missed, and (with evidence) the missed records themselves.
    :meth:`finish` orders the groups and gives the verdicts.
    """

    def __init__(self, contract: Contract, level: ServiceLevel, registry: Registry,
                 evidence: bool, tallies: dict[tuple, Tally] | None = None,
                 indexes: dict[tuple, GroupIndex] | None = None) -> None:
        self.contract = contract
        self.level = level
        self.metric: Metric = registry.metrics[level.metric]
        self.kind = contract.sources[level.source].record_kind
        self.period_field = level.period_by or self.kind.time_field
        self.fields = level_fields(contract, level, registry)
        self.measure = guarded(registry, "metric", level.metric, "measure")
        self.selects = guarded(registry, "metric", level.metric, "selects")
        self.calendar = contract.calendars[level.calendar] if level.calendar else ALWAYS
        self.evidence = evidence
        self.periods: set[int] = set()
        self.excluded: dict[int, int] = {}
        self.paused = np.zeros(0)
        self.missed: list[tuple[np.ndarray, pa.Array]] = []
        self.missed_seen = np.zeros(0, dtype=np.int64)
        self.evidence_parts: list[tuple[pa.Table, np.ndarray]] = []
        self.account = LevelAccount(service_level=level.id, source=level.source, accepted=0,
                                    included=0, excluded=0)
        self.window = contract.window != (None, None)
        # Levels that read the same records with the same metric and clock share one
        # narrowing and one measure per batch (mean, median and p90 of one response time),
        # and, grouped the same way, one tally.
        self.share_key = (
            level.metric, tuple(sorted(level.where.items())), level.calendar, level.pause,
            json.dumps(level.options, sort_keys=True, default=str), tuple(self.fields),
            tuple(i for i, e in enumerate(contract.exclusions) if e.applies_to(level.id)),
            self.period_field,
        )
        self.grouping = (level.by, self.period_field)
        self.indexes = {} if indexes is None else indexes
        tallies = {} if tallies is None else tallies
        self.tally = tallies.setdefault((self.share_key, level.by), Tally())
        target = level.target
        self.within = float(target.within) if target.within is not None else None
        self.tally.want(level.statistic, self.within)
        self.miss = miss_rule(target, level.statistic)
        if self.miss is not None and self.miss[0] in _COMPARISONS:
            self.tally.count_where(self.miss[0], self.miss[1])
        # With evidence: the records behind a failed mean or count too (beyond the target, or
        # every record counted), and every measure of a mean or an order statistic, for the
        # figure without the worst 1%.
        self.behind = self.miss if evidence else None
        if evidence and level.statistic == "mean":
            self.behind = (_FAILS[target.op], float(target.threshold))
        elif evidence and level.statistic == "count":
            self.behind = ("every", None)
        self.concentrates = evidence and (level.statistic in ("mean", "min", "max")
                                          or percentile_of(level.statistic) is not None)
        self.measured: list[tuple[np.ndarray, np.ndarray]] = []
        self.concentration: dict[tuple[str, str, tuple], Concentration] = {}

    def add(self, batch: Batch) -> None:
        """Fold one batch of the source's accepted records."""
        self.account.accepted += batch.table.num_rows
        shared: Narrowed = batch.shared(self.share_key, self._narrow_and_measure)
        self.periods.update(int(k) for k in shared.periods)
        self.account.outside_window += shared.outside
        self.account.without_period += shared.without
        for reason, count in shared.agreed.items():
            self.account.agreed[reason] = self.account.agreed.get(reason, 0) + count
        for key, count in shared.excluded.items():
            self.excluded[key] = self.excluded.get(key, 0) + count
        self.account.excluded += sum(shared.excluded.values())
        self.account.included += shared.included
        if shared.kept is None:
            return
        every, present = batch.groups(*self.grouping)
        groups = batch.shared(("tally", self.share_key, self.level.by),
                              lambda b: self._count(shared, every, b))
        if shared.paused is not None:
            weights = np.bincount(groups, weights=shared.paused)
            if len(weights) > len(self.paused):
                self.paused = np.concatenate([self.paused,
                                              np.zeros(len(weights) - len(self.paused))])
            self.paused[: len(weights)] += weights
        if self.miss is not None and (self.evidence or self._wants_ids(present)):
            self._note_missed(shared, groups, present)
        elif self.behind is not None:
            self._note_behind(shared, groups)
        if self.concentrates:
            assert shared.numbers is not None
            measured = ~np.isnan(shared.numbers)
            self.measured.append((shared.numbers[measured], groups[measured]))

    def _count(self, shared: Narrowed, every: np.ndarray, batch: Batch) -> np.ndarray:
        """Fold the batch's measures into the shared tally (once per batch); its groups."""
        groups = every if shared.mask is None else every[shared.mask]
        assert shared.numbers is not None
        outcomes = shared.outcomes(self.metric) if self.tally.sample is not None else None
        # Tallies of the same records grouped the same way share one layout.
        key = ("layout", self.grouping, None if shared.mask is None else self.share_key)
        layout = batch.shared(key, lambda _: Layout.of(groups))
        self.tally.add(shared.numbers, groups, outcomes, layout)
        return groups

    def _wants_ids(self, present: np.ndarray) -> bool:
        """Whether a group of this batch still has room for missed ids."""
        self._room(present)
        return bool((self.missed_seen[present] < MISSED_LIMIT).any())

    def _room(self, groups: np.ndarray) -> None:
        """Make room to count the missed ids of ``groups``."""
        size = int(groups.max(initial=-1)) + 1
        if len(self.missed_seen) < size:
            self.missed_seen = np.concatenate(
                [self.missed_seen, np.zeros(size - len(self.missed_seen), dtype=np.int64)])

    def _narrow_and_measure(self, batch: Batch) -> Narrowed:
        """The records this level keeps from ``batch`` (window, where, agreed exclusions) and
        their measures: the same for every level with the same share key, so computed once."""
        table = batch.table
        periods = batch.periods(self.period_field)
        keys, present, inside = periods.keys, periods.present, periods.valid
        without = 0 if inside is None else int((~inside).sum())
        if self.window:
            present = window_periods(self.contract, present)
            within = np.isin(keys, present)
            inside = within if inside is None else inside & within
        mask = where_mask(table, self.level.where)
        context = MeasureContext(calendar=self.calendar, timezone=self.contract.timezone,
                                 service_level=self.level.id, options=self.level.options,
                                 pause=self.level.pause, period=self.contract.period)
        selected = self.selects(table, context)
        if selected is not None:
            mask &= np.asarray(pc.fill_null(selected, False).to_numpy(zero_copy_only=False),
                               dtype=bool)
        agreed_counts: dict[str, int] = {}
        if self.contract.exclusions:
            counting = mask if inside is None else mask & inside  # what would otherwise count
            agreed, agreed_counts = agreed_exclusions(self.contract, self.level, table,
                                                      self.kind.time_field, among=counting)
            mask &= ~agreed
        left_out = ~mask if inside is None else inside & ~mask
        if inside is not None:
            mask &= inside
        excluded: dict[int, int] = {}
        if left_out.any():
            low = int(keys[left_out].min())
            counts = np.bincount(keys[left_out] - low)
            excluded = {int(o) + low: int(counts[o]) for o in np.flatnonzero(counts)}
        outside = int((~inside).sum()) - without if inside is not None else 0
        included = int(np.count_nonzero(mask))
        narrowed = Narrowed(periods=present, outside=outside, agreed=agreed_counts,
                            excluded=excluded, included=included, without=without)
        if not included:
            return narrowed
        kept = table.select(self.fields)
        if included < len(mask):
            kept = kept.filter(pa.array(mask))
            narrowed.mask = mask
        values = self.measure(kept, context)
        if isinstance(values, pa.ChunkedArray):
            values = values.chunk(0) if values.num_chunks == 1 else values.combine_chunks()
        if len(values) != kept.num_rows:
            raise DataError(f'metric "{self.level.metric}" returned {len(values)} measures for '
                            f"{kept.num_rows} records")
        narrowed.kept, narrowed.values = kept, values
        narrowed.numbers = as_float(values)
        if context.paused is not None:
            narrowed.paused = np.asarray(
                pc.fill_null(context.paused, 0.0).to_numpy(zero_copy_only=False))
        return narrowed

    def _note_missed(self, shared: Narrowed, groups: np.ndarray, present: np.ndarray) -> None:
        """Keep the ids of the batch's first missed records while their group has room (and,
        with evidence, every missed record).

        Every missed record is still counted (by the tally); only the ids kept for the report
        are capped, so a month with a million misses costs a thousand strings, not a million.
        """
        assert self.miss is not None and shared.numbers is not None
        kept = shared.kept
        assert kept is not None and shared.values is not None
        outcomes = shared.outcomes(self.metric) if self.miss[0] == "share" else None
        missed = missed_mask(self.miss, shared.numbers, outcomes)
        self._room(present)
        wanting = present[self.missed_seen[present] < MISSED_LIMIT]
        if len(wanting) > _FEW_GROUPS:
            picked = self._first_per_group(missed, groups)
        else:
            # a batch usually holds few groups (records come in time order): a pass per group
            chosen: list[np.ndarray] = []
            for group in wanting.tolist():
                mine = missed if len(present) == 1 else missed & (groups == group)
                rows = np.flatnonzero(mine)
                left = MISSED_LIMIT - int(self.missed_seen[group])
                chosen.append(rows[:left])
                self.missed_seen[group] += min(len(rows), left)
            picked = np.sort(np.concatenate(chosen)) if chosen else np.zeros(0, dtype=np.intp)
        if len(picked):
            self.missed.append((groups[picked], kept[self.kind.id_field].take(pa.array(picked))))
        if self.evidence and missed.any():
            self.evidence_parts.append((
                evidence_table(kept, shared.values, missed, self.kind.id_field,
                               self.kind.time_field), groups[missed]))

    def _note_behind(self, shared: Narrowed, groups: np.ndarray) -> None:
        """Evidence of a mean or count target: the batch's records beyond the target, or
        (for a count) every record counted."""
        assert self.behind is not None and shared.numbers is not None
        assert shared.kept is not None and shared.values is not None
        if self.behind[0] == "every":
            chosen = np.ones(len(shared.numbers), dtype=bool)
        else:
            chosen = missed_mask(self.behind, shared.numbers, None)
        if chosen.any():
            self.evidence_parts.append((
                evidence_table(shared.kept, shared.values, chosen, self.kind.id_field,
                               self.kind.time_field), groups[chosen]))

    def _first_per_group(self, missed: np.ndarray, groups: np.ndarray) -> np.ndarray:
        """The missed rows among the first MISSED_LIMIT of their group, for batches of many
        groups: ranks within each group from one stable sort of the missed rows' groups."""
        where = np.flatnonzero(missed)
        owners = groups[where]
        room = self.missed_seen[owners] < MISSED_LIMIT
        where, owners = where[room], owners[room]
        if not len(where):
            return where
        size = int(owners.max()) + 1
        small = np.int16 if size < 2**15 else np.int64  # int16 sorts by radix
        order = np.argsort(owners.astype(small), kind="stable")
        sorted_groups = owners[order]
        first = np.searchsorted(sorted_groups, sorted_groups)  # start of each group's run
        rank = np.empty(len(where), dtype=np.int64)
        rank[order] = np.arange(len(where)) - first + self.missed_seen[sorted_groups]
        self.missed_seen[:size] = np.minimum(
            self.missed_seen[:size] + np.bincount(owners, minlength=size), MISSED_LIMIT)
        return where[rank < MISSED_LIMIT]

    def finish(self) -> tuple[list[Verdict], LevelAccount, pa.Table | None]:
        """Every period of the source times every segment seen: the verdicts, in order."""
        level, contract = self.level, self.contract
        index = self.indexes.get(self.grouping, GroupIndex())
        occurs = np.zeros(len(index.pairs), dtype=bool)
        counted = min(len(occurs), self.tally.size)
        occurs[:counted] = self.tally.total[:counted] > 0
        periods = sorted(self.periods)
        segments = sorted({index.pairs[g][1] for g in np.flatnonzero(occurs)},
                          key=_segment_order)
        if not level.by:
            segments = [()]
        period_at = {key: i for i, key in enumerate(periods)}
        segment_at = {segment: i for i, segment in enumerate(segments)}
        remap = np.full(len(index.pairs), -1, dtype=np.int64)
        for g in np.flatnonzero(occurs):
            key, segment = index.pairs[g]
            remap[g] = period_at[key] * len(segments) + segment_at[segment]
        n_groups = len(periods) * len(segments)
        result = self.tally.finish(remap, n_groups)
        stats = result.stats(level.statistic, self.within)
        missed_counts = missed_count(self.miss, result, self.within)
        kept_ids: list[tuple[tuple[str, ...], int]] = [((), 0)] * n_groups
        if self.missed:
            groups = remap[np.concatenate([g for g, _ in self.missed])]
            ids = pa.chunked_array([i for _, i in self.missed]).combine_chunks()
            kept_ids = group_missed(ids, np.ones(len(groups), dtype=bool), groups, n_groups)
        paused = None
        if level.pause:
            weights = np.zeros(len(remap))
            weights[: min(len(remap), len(self.paused))] = self.paused[: len(remap)]
            paused = np.bincount(remap[occurs], weights=weights[occurs], minlength=n_groups)
        labels = _labels(contract, np.array(periods, dtype=np.int64))
        closed = closed_periods(contract, self.calendar, np.array(periods, dtype=np.int64))
        verdicts = []
        for g in range(n_groups):
            p, s = divmod(g, len(segments))
            value = float(stats.value[g])
            hits = int(stats.hits[g]) if stats.hits is not None else None
            missed = (kept_ids[g][0], int(missed_counts[g]) if missed_counts is not None else 0)
            found = verdict(
                level, self.metric, labels[p], dict(zip(level.by, segments[s], strict=True)),
                None if math.isnan(value) else value, int(stats.sample_size[g]),
                int(stats.unmeasured[g]), self.excluded.get(periods[p], 0), hits,
                missed, float(paused[g]) if paused is not None else None,
            )
            if closed[p]:  # every duration is 0 s there: nothing was measured
                found = replace(found, status="insufficient_data", compliance=None, note=(
                    f"calendar {level.calendar} has no business hours in {labels[p]}, so "
                    "every duration counted in it is 0 s"))
            verdicts.append(found)
        table_of_missed = None
        if self.evidence and self.evidence_parts:
            table_of_missed = worst_first(
                _evidence_of(self.evidence_parts, remap, labels, len(segments)),
                self.behind, level.target.better)
        if self.measured:
            self.concentration = concentration(level, verdicts, remap, self.measured)
        return verdicts, self.account, table_of_missed


_FEW_GROUPS = 16
_COMPARISONS = ("<", "<=", ">", ">=")
_FAILS = {"<=": ">", "<": ">=", ">=": "<", ">": "<="}


def miss_rule(target: Target, statistic: str) -> tuple | None:
    """Which single records count against a per-record target (none for a mean or a count):

    - attainment: ``("attainment", within)``, a record not measured within the limit (a
      record never answered is a miss);
    - share: ``("share", better)``, a record whose outcome counts against the target (lower is
      better, as for a reopen rate: the successes of the measure);
    - a percentile, min or max: ``(op, threshold)``, a measured record on the wrong side of
      the threshold (``p90 <= 4h``: the records over 4h).
    """
    if statistic == "attainment":
        return ("attainment", float(target.within))
    if statistic == "share":
        return ("share", target.better)
    if statistic in ("min", "max") or percentile_of(statistic) is not None:
        return (_FAILS[target.op], float(target.threshold))
    return None


def missed_mask(rule: tuple, numbers: np.ndarray, outcomes: np.ndarray | None) -> np.ndarray:
    """Which records of a batch missed, by :func:`miss_rule` (``numbers``: NaN unmeasured)."""
    kind, limit = rule
    if kind == "attainment":
        return ~(numbers <= limit)  # NaN compares false: unmeasured is a miss
    if kind == "share":
        assert outcomes is not None
        measured = ~np.isnan(numbers)
        return measured & (outcomes == (1.0 if limit == "lower" else 0.0))
    return _COMPARE_NP[kind](numbers, limit)  # NaN compares false: unmeasured is no miss


# On arrays these are numpy's element-wise comparisons (np.less, ...).
_COMPARE_NP = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


def missed_count(rule: tuple | None, result: TallyResult, within: float | None,
                 ) -> np.ndarray | None:
    """How many records missed, per group, from the tally's counters."""
    if rule is None:
        return None
    kind, limit = rule
    if kind == "attainment":
        return result.total - result.thresholds[("<=", float(limit))]
    if kind == "share":
        assert result.sample is not None and result.wins is not None
        return result.wins if limit == "lower" else result.sample - result.wins
    return result.thresholds[(kind, limit)]


def _segment_order(segment: tuple) -> tuple:
    """Segments sort by value; a missing value after the others."""
    return tuple((value is None, value or "") for value in segment)


def _evidence_of(parts: list[tuple[pa.Table, np.ndarray]], remap: np.ndarray,
                 labels: list[str], n_segments: int) -> pa.Table:
    tables = []
    for table, groups in parts:
        periods = np.array(labels)[remap[groups] // n_segments]
        tables.append(table.add_column(1, "period", pa.array(periods, pa.string())))
    return pa.concat_tables(tables, promote_options="permissive")


def worst_first(table: pa.Table, rule: tuple | None, better: str) -> pa.Table:
    """Evidence records sorted worst measure first (stable: record order among equals): the
    largest first when lower is better, the smallest first when higher is; a record never
    measured (never answered, under an attainment target) before all. Yes/no outcomes (a
    share target) keep record order."""
    if rule is None or rule[0] in ("share", "every"):
        return table
    order = "descending" if better == "lower" else "ascending"
    indices = pc.sort_indices(table, sort_keys=[("measure", order)])  # nulls at the end
    nulls = table["measure"].null_count
    if nulls:
        indices = pa.concat_arrays([indices[-nulls:], indices[:-nulls]])
    return table.take(indices)


def concentration(level: ServiceLevel, verdicts: list[Verdict], remap: np.ndarray,
                  measured: list[tuple[np.ndarray, np.ndarray]],
                  ) -> dict[tuple[str, str, tuple], Concentration]:
    """For each failed verdict (``verdicts[g]``, group ``g``): its statistic over the measures
    of its group without the worst ``ceil(n / 100)`` of them (the worst 1%, at least one)."""
    failed = [g for g, v in enumerate(verdicts) if v.status in FAILED]
    if not failed:
        return {}
    values = np.concatenate([v for v, _ in measured])
    owners = remap[np.concatenate([g for _, g in measured])]
    order = np.argsort(owners, kind="stable")
    values, owners = values[order], owners[order]
    found = {}
    for g in failed:  # once per failed verdict, over its own measures
        lo, hi = np.searchsorted(owners, [g, g + 1])
        mine = np.sort(values[lo:hi])
        left_out = -(-len(mine) // 100)
        rest = mine[: len(mine) - left_out] if level.target.better == "lower" else mine[left_out:]
        figure = None
        if len(rest):
            figure = float(group_statistic(level.statistic, rest, np.zeros(len(rest),
                                                                           dtype=np.int64),
                                           1).value[0])
        found[verdict_key(verdicts[g])] = Concentration(left_out, figure)
    return found


def evidence_table(kept: pa.Table, values: pa.Array, missed: np.ndarray,
                   id_field: str, time_field: str) -> pa.Table:
    """The records that missed, with every field the evaluation read and their measure.

    ``measure`` is the record's measure in base units (seconds, yes/no, score); empty when the
    record had none (never answered counts as a miss). The period is added by the caller.
    """
    rows = pa.array(missed)
    table = kept.filter(rows)
    front = [id_field, time_field]
    table = table.select(front + [c for c in table.column_names if c not in front])
    return table.append_column("measure", values.filter(rows))


def verdict(
    level: ServiceLevel, metric: Metric, period: str, segment: dict, value: float | Decimal | None,
    n: int, unmeasured: int, excluded: int, hits: int | None,
    missed: tuple[tuple[str, ...], int], paused: float | None,
) -> Verdict:
    """One verdict: the status, compliance and margin of ``value`` against the targets.

    Status and compliance are decided on the exact figure: ``hits / n`` for a share or an
    attainment, a Decimal as it is, a float as the decimal it prints as (see
    :func:`slaengine.targets.exact_figure`).
    """
    counts = {"hits": hits, "n": n} if hits is not None else {}
    figure = value if value is None or hits is not None else exact_figure(value)
    target = level.target
    return Verdict(
        service_level=level.id, metric=level.metric, period=period, segment=segment,
        statistic=level.statistic, value=value,
        unit=statistic_unit(level.statistic, metric), target=target.text,
        minimum=level.minimum.text if level.minimum else None,
        status=status(level, figure, n, counts),
        compliance=target.compliance(figure, **counts),
        margin=target.margin(_float(value)), sample_size=n, unmeasured=unmeasured,
        excluded=excluded, missed_count=missed[1], missed=missed[0], paused=paused, hits=hits,
    )


def period_figures(
    contract: Contract, level: ServiceLevel, data: dict[str, SourceData], periods: np.ndarray,
    registry: Registry, context: MeasureContext, agreed_out: np.ndarray | None = None,
) -> PeriodFigures:
    """Run a period-level metric on its record sets, each narrowed by ``where``; the level's
    own records also lose those excluded by agreement (``agreed_out`` is False for them)."""
    starts, ends = period_bounds(periods, contract.period, contract.timezone)
    grid = PeriodGrid(keys=periods, labels=tuple(_labels(contract, periods)), starts=starts,
                      ends=ends)
    inputs = {}
    for role, name in level.inputs.items():
        records = data[name].records
        mask = where_mask(records, level.where)
        if name == level.source and agreed_out is not None:
            mask &= agreed_out
        inputs[role] = records if mask.all() else records.filter(pa.array(mask))
    aggregate = guarded(registry, "metric", level.metric, "aggregate")
    figures: PeriodFigures = aggregate(inputs, grid, context)
    if len(figures.value) != len(periods):
        raise DataError(f'metric "{level.metric}" returned {len(figures.value)} figures for '
                        f"{len(periods)} periods")
    return figures


def closed_periods(contract: Contract, calendar: Calendar, periods: np.ndarray) -> np.ndarray:
    """Which periods hold no business time at all in ``calendar`` (all holidays, say)."""
    if calendar is ALWAYS or not len(periods):
        return np.zeros(len(periods), dtype=bool)
    starts, ends = period_bounds(periods, contract.period, contract.timezone)
    instants = pa.timestamp("us", tz="UTC")
    seconds = calendar.elapsed(pa.array(starts, instants), pa.array(ends, instants))
    return np.asarray(seconds.to_numpy(zero_copy_only=False)) == 0


def spanned_periods(contract: Contract, periods: np.ndarray,
                    more: Iterable[np.ndarray]) -> np.ndarray:
    """``periods`` and every period from the first to the last of them and of ``more``."""
    keys = np.concatenate([periods, *more])
    if not len(keys):
        return periods
    return period_range(int(keys.min()), int(keys.max()), contract.period)


def window_periods(contract: Contract, periods: np.ndarray) -> np.ndarray:
    """The periods that overlap the contract's ``start``..``end`` window (dates, inclusive)."""
    starts, ends = period_bounds(periods, contract.period, contract.timezone)
    first, last = contract.window
    keep = np.ones(len(periods), dtype=bool)
    if first is not None:
        keep &= ends > _local_midnight(first, contract.timezone)
    if last is not None:
        keep &= starts < _local_midnight(last + timedelta(days=1), contract.timezone)
    return periods[keep]


def _local_midnight(day: date, timezone: str) -> int:
    moment = datetime.combine(day, datetime.min.time(), ZoneInfo(timezone))
    return int(moment.timestamp()) * 1_000_000


def agreed_exclusions(contract: Contract, level: ServiceLevel, table: pa.Table,
                      time_field: str, among: np.ndarray | None = None,
                      ) -> tuple[np.ndarray, dict[str, int]]:
    """Records the contract excludes by agreement for ``level`` (only ``among`` those, when
    given), and how many per reason (a record in two exclusions counts once, for the first)."""
    excluded = np.zeros(table.num_rows, dtype=bool)
    counts: dict[str, int] = {}
    for exclusion in contract.exclusions:
        if not exclusion.applies_to(level.id) or table.num_rows == 0:
            continue
        time = table[time_field]
        start, end = (pa.scalar(t, time.type) for t in (exclusion.start, exclusion.end))
        during = pc.and_(pc.greater_equal(time, start), pc.less(time, end))
        hit = np.asarray(pc.fill_null(during, False).to_numpy(zero_copy_only=False), dtype=bool)
        hit &= where_mask(table, exclusion.where)
        if among is not None:
            hit &= among
        new = hit & ~excluded
        if new.any():
            counts[exclusion.reason] = counts.get(exclusion.reason, 0) + int(new.sum())
        excluded |= hit
    return excluded, counts


def where_mask(table: pa.Table, where: dict[str, tuple[str, ...]]) -> np.ndarray:
    """Records whose fields hold one of the listed values (fields the table lacks are skipped:
    a period-level metric's record sets need not all carry them)."""
    mask = np.ones(table.num_rows, dtype=bool)
    for name, values in where.items():
        if name not in table.column_names:
            continue
        column = pc.cast(table[name], pa.string())
        hit = pc.fill_null(pc.is_in(column, value_set=pa.array(values, pa.string())), False)
        mask &= np.asarray(hit.to_numpy(zero_copy_only=False), dtype=bool)
    return mask


def _labels(contract: Contract, periods: np.ndarray) -> list[str]:
    label = period_label(contract.period)
    return [label(int(p)) for p in periods]


def _float(value: float | Decimal | None) -> float | None:
    return float(value) if value is not None else None


def status(
    level: ServiceLevel, value: float | Decimal | Fraction | None, n: int,
    counts: dict[str, int],
) -> str:
    """met, breached, critical (below the minimum) or insufficient_data (below min_sample).

    ``counts`` (hits and n) makes share and attainment comparisons exact.
    """
    if value is None or n < level.min_sample:
        return "insufficient_data"
    if level.target.holds(value, **counts):
        return "met"
    if level.minimum is not None and not level.minimum.holds(value, **counts):
        return "critical"
    return "breached"


def segment_groups(table: pa.Table, by: Iterable[str]) -> tuple[np.ndarray, list[dict]]:
    """A segment index per record and the segments (``{"priority": "urgent"}``) in order.

    Segments are the value combinations present (or, when there are few combinations, all of
    them), sorted by value; a missing value is its own segment, after the others. Works on
    dictionary indices: no string is compared per record.
    """
    by = list(by)
    if not by:
        return np.zeros(table.num_rows, dtype=np.int64), []
    codes: np.ndarray | None = None
    vocabularies: list[list[str | None]] = []
    for name in by:
        indices, dictionary = _dictionary(table[name])
        order = sorted(range(len(dictionary)), key=lambda i: dictionary[i])
        rank = np.empty(len(dictionary) + 1, dtype=np.intp)
        rank[order] = np.arange(len(dictionary))
        rank[len(dictionary)] = len(dictionary)  # the null segment sorts last
        part = rank[indices]
        codes = part if codes is None else codes * (len(dictionary) + 1) + part
        vocabularies.append([dictionary[i] for i in order] + [None])
    assert codes is not None
    combinations = math.prod(len(v) for v in vocabularies)
    if combinations <= _SMALL_PRODUCT:
        # Few combinations: every one is a segment, those absent simply have no records
        # (callers drop empty groups), which saves compacting the codes.
        present, inverse = np.ones(combinations, dtype=bool), codes
    else:
        present = np.bincount(codes) > 0
        inverse = (np.cumsum(present) - 1)[codes]
    segments = []
    for code in np.flatnonzero(present):
        parts = []
        for vocabulary in reversed(vocabularies):
            code, index = divmod(int(code), len(vocabulary))
            parts.append(vocabulary[index])
        segments.append(dict(zip(by, reversed(parts), strict=True)))
    return inverse, segments


_SMALL_PRODUCT = 4096


def _dictionary(column: pa.ChunkedArray | pa.Array) -> tuple[np.ndarray, list[str]]:
    """Index per record (nulls get ``len(dictionary)``) and the distinct values as text."""
    if isinstance(column, pa.ChunkedArray):
        column = column.unify_dictionaries() if pa.types.is_dictionary(column.type) else column
        column = column.combine_chunks() if column.num_chunks else pa.array([], column.type)
    if not pa.types.is_dictionary(column.type):
        column = pc.dictionary_encode(pc.cast(column, pa.string()))
    dictionary = [str(v) for v in column.dictionary.to_pylist()]
    indices = column.indices
    if indices.null_count:
        indices = pc.fill_null(indices, len(dictionary))
    return indices.to_numpy(zero_copy_only=False), dictionary


def group_missed(
    ids: pa.ChunkedArray | pa.Array, missed: np.ndarray, group_ids: np.ndarray, n_groups: int
) -> list[tuple[tuple[str, ...], int]]:
    """Per group: the first :data:`MISSED_LIMIT` missed ids (in record order) and their count."""
    where = np.flatnonzero(missed)
    groups = group_ids[where]
    order = np.argsort(groups, kind="stable")
    where, groups = where[order], groups[order]
    counts = np.bincount(groups, minlength=n_groups)
    starts = np.concatenate([[0], np.cumsum(counts)])
    keep = np.arange(len(where)) - starts[groups] < MISSED_LIMIT
    chosen = pc.take(ids, pa.array(where[keep])).to_pylist() if len(where) else []
    chosen_groups = groups[keep]
    bounds = np.searchsorted(chosen_groups, np.arange(n_groups + 1))
    return [(tuple(str(i) for i in chosen[bounds[g]:bounds[g + 1]]), int(counts[g]))
            for g in range(n_groups)]


def manifest(contract: Contract, registry: Registry, options: dict[str, Any],
             digests: Digests) -> dict[str, Any]:
    """Everything needed to rerun the evaluation and get the same verdicts."""
    used = {("source", s.adapter) for s in contract.sources.values()}
    used |= {("metric", lv.metric) for lv in contract.service_levels}
    if contract.penalties is not None:
        used.add(("penalty model", contract.penalties["model"]))
    plugins = {}
    for kind, name in sorted(used):
        origin = registry.origin(kind, name)
        plugins[f"{kind}:{name}"] = {"plugin": origin.plugin,
                                     "distribution": origin.distribution,
                                     "version": origin.version}
    inputs = digests.result()
    return {
        "contract": {"path": os.path.abspath(contract.path) if contract.path else None,
                     "sha256": contract.sha256},
        "inputs": inputs,
        "versions": {"slaengine": slaengine.__version__, "pyarrow": pa.__version__,
                     "python": platform.python_version(),
                     **package_versions(contract.calendars.values())},
        "plugins": plugins,
        "evaluated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "options": options,
    }
