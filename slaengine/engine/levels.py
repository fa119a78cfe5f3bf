"""Service levels behind one protocol, and the period-level ones (backlog, cost per contact
...): summarised batch by batch as their sources are read, or evaluated on their record sets
held whole.

Every level ends in a :class:`LevelResult`; a level fed as its sources are read
(:class:`StreamedLevel`) also takes each :class:`~slaengine.engine.batch.Batch`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Protocol

from slaengine.bits import validity
from slaengine.calendars import ALWAYS
from slaengine.contract import Contract, ServiceLevel
from slaengine.engine.batch import Batch, shown_ids
from slaengine.engine.columns import evidence_fields, level_fields
from slaengine.engine.narrow import Counted, narrow, spanned_periods, where_mask
from slaengine.engine.read import SourceData
from slaengine.engine.verdict import period_labels, period_verdicts
from slaengine.errors import DataError
from slaengine.lazy import np, pa, pc
from slaengine.periods import period_bounds, period_keys
from slaengine.plugin import (
    MeasureContext,
    PeriodFigures,
    PeriodGrid,
    PeriodMetric,
    combine_summaries,
)
from slaengine.pluginmanager import Registry, guarded
from slaengine.verdicts import FAILED, Concentration, LevelAccount, Verdict


@dataclass
class LevelResult:
    """What a finished service level gives: its verdicts, in order, and its accounting.

    ``periods``: for a period-level service level, the key of each verdict's period (the
    records behind a failed figure are found by them); ``evidence``: the records behind the
    failed verdicts, when asked for; ``concentration``: per failed verdict of a mean or an
    order statistic, the figure without the worst 1% (when evidence is asked for);
    ``intervals``: for records a metric derives with spans (clock records), the running and
    paused spans of the records in ``evidence``; ``audit``: for a clock level, every audit
    flag of the window, when evidence is asked for.
    """

    verdicts: list[Verdict]
    account: LevelAccount
    periods: np.ndarray | None = None
    evidence: pa.Table | None = None
    concentration: dict[tuple[str, str, tuple], Concentration] = field(default_factory=dict)
    intervals: pa.Table | None = None
    audit: pa.Table | None = None


class Level(Protocol):
    """A service level being evaluated."""

    @property
    def level(self) -> ServiceLevel: ...

    def finish(self) -> LevelResult:
        """The verdicts and the accounting, once every record has been seen."""
        ...


class StreamedLevel(Level, Protocol):
    """A service level folded batch by batch as its sources are read."""

    def add(self, batch: Batch) -> None:
        """Fold one batch of a source's accepted records."""
        ...


def new_account(level: ServiceLevel) -> Counted:
    """Nothing counted yet for ``level``."""
    return Counted(LevelAccount(service_level=level.id, source=level.source, accepted=0,
                                included=0, excluded=0))


def period_context(contract: Contract, level: ServiceLevel) -> MeasureContext:
    """How a period-level metric measures: 24x7, in the contract's time zone and period."""
    return MeasureContext(calendar=ALWAYS, timezone=contract.timezone, service_level=level.id,
                          options=level.options, period=contract.period)


def period_grid(contract: Contract, periods: np.ndarray,
                labels: tuple[str, ...] | None = None) -> PeriodGrid:
    starts, ends = period_bounds(periods, contract.period, contract.timezone)
    labels = tuple(period_labels(contract, periods)) if labels is None else labels
    return PeriodGrid(keys=periods, labels=labels, starts=starts, ends=ends)


def _checked(level: ServiceLevel, figures: PeriodFigures, periods: np.ndarray) -> PeriodFigures:
    if len(figures.value) != len(periods):
        raise DataError(f'metric "{level.metric}" returned {len(figures.value)} figures for '
                        f"{len(periods)} periods")
    return figures


@dataclass
class HeldLevel:
    """A period-level service level evaluated on its record sets held whole (they are needed
    whole: a backlog looks back), once every source is read."""

    contract: Contract
    level: ServiceLevel
    registry: Registry
    data: dict[str, SourceData]

    def finish(self) -> LevelResult:
        """One verdict per period, the accounting and the periods' keys."""
        contract, level = self.contract, self.level
        metric = self.registry.metrics[level.metric]
        assert isinstance(metric, PeriodMetric)
        source = self.data[level.source]
        table = source.records
        time_field = contract.sources[level.source].record_kind.time_field
        spans = [period_keys(table[f], contract.period, contract.timezone)[validity(table[f])]
                 for f in metric.spans]
        narrowing = narrow(contract, level, table, source.placed(time_field, contract),
                           time_field, spans=spans)
        counted = new_account(level)
        counted.add(narrowing)
        periods = narrowing.present
        figures = period_figures(contract, level, self.data, periods, self.registry,
                                 period_context(contract, level), narrowing.chosen)
        verdicts = period_verdicts(level, metric, periods, period_labels(contract, periods),
                                   figures, counted.excluded)
        return LevelResult(verdicts, counted.account, periods=periods)


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
    grid = period_grid(contract, periods[failed], tuple(verdicts[p].period for p in failed))
    context = period_context(contract, level)
    behind = guarded(registry, "metric", level.metric, "records_behind")
    parts = []
    for role, name in level.inputs.items():
        kind = contract.sources[name].record_kind
        records = data[name].records
        if name == level.source:  # exactly the records the figure counted
            mask = narrow(contract, level, records, data[name].placed(kind.time_field, contract),
                          kind.time_field).chosen
        else:
            mask = where_mask(records, level.where)
        fields = [f for f in evidence_fields(contract, level, registry, role)
                  if f in records.column_names]
        records = records.select(fields)
        records = records if mask.all() else records.filter(pa.array(mask))
        if kind.id_field in fields:  # shown: an integer id as its text
            at = records.column_names.index(kind.id_field)
            records = records.set_column(at, kind.id_field, shown_ids(records[kind.id_field]))
        masks = behind(role, records, grid, context)
        if masks is None:
            index = grid.index(records[kind.time_field])
            masks = [index == p for p in range(len(grid))]
        if len(masks) != len(grid) or any(len(m) != records.num_rows for m in masks):
            raise DataError(f'metric "{level.metric}" named the records behind {len(masks)} '
                            f"figures for {len(grid)} periods of {records.num_rows} records")
        parts += _behind_rows(records, grid.labels, masks, role if len(level.inputs) > 1 else None)
    return pa.concat_tables(parts, promote_options="permissive")


def _behind_rows(records: pa.Table, labels: tuple[str, ...], masks: list, role: str | None,
                 ) -> list[pa.Table]:
    """The records each mask chooses, with their period (and input role, when given)."""
    parts = []
    for label, chosen in zip(labels, masks, strict=True):
        if isinstance(chosen, pa.Array | pa.ChunkedArray):  # a null names no record
            chosen = pc.fill_null(chosen, False).to_numpy(zero_copy_only=False)
        rows = records.filter(pa.array(np.asarray(chosen, dtype=bool)))
        rows = rows.add_column(1, "period", pa.repeat(pa.scalar(label), rows.num_rows))
        if role is not None:
            rows = rows.add_column(2, "input", pa.repeat(pa.scalar(role), rows.num_rows))
        parts.append(rows)
    return parts


class PeriodLevel:
    """A period-level service level whose metric summarises batch by batch (``summary_keys``).

    Each batch of each input is narrowed by ``where`` and summarised by the metric into a few
    rows (counts and sums by period keys); the records themselves are never held, so a backlog
    over tens of millions of tickets takes the memory of its summary. The batches of the
    level's own source also give the periods and the accounting, through the same
    :func:`~slaengine.engine.narrow.narrow` as :class:`HeldLevel` on the whole record set.
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
        self.fields = {role: [f for f in level_fields(contract, level, registry, role)
                              if f in contract.sources[name].record_kind.fields]
                       for role, name in level.inputs.items()}
        self.empty = {role: contract.sources[name].record_kind.schema(fields).empty_table()
                      for (role, name), fields in zip(level.inputs.items(),
                                                      self.fields.values(), strict=True)}
        self.context = period_context(contract, level)
        self.parts: dict[str, list[pa.Table]] = {role: [] for role in level.inputs}
        self.counted = new_account(level)

    def role(self, role: str) -> PeriodInput:
        return PeriodInput(self, role)

    def add(self, batch: Batch, role: str) -> None:
        table = batch.table
        if role == self.main_role:  # the periods present and the accounting come from it
            narrowing = narrow(self.contract, self.level, table,
                               batch.periods(self.kind.time_field), self.kind.time_field,
                               spans=[batch.periods(f).present for f in self.metric.spans],
                               batch=batch)
            self.counted.add(narrowing)
            chosen = narrowing.chosen
        else:
            chosen = batch.where(self.level.where)
        # Only the columns the metric reads (a batch holds many more): what the metric filters
        # or sorts is then only those.
        records = table.select([f for f in self.fields[role] if f in table.column_names])
        if not chosen.all():
            records = records.filter(pa.array(chosen))
        if records.num_rows:
            parts = self.parts[role]
            # the batch's period keys: a time column is placed once for every level
            parts.append(self.summarise(role, records, replace(self.context, memo=batch.memo)))
            if len(parts) >= _SUMMARY_PARTS:  # keep the summaries few and small
                self.parts[role] = [combine_summaries(parts, self.metric.summary_keys)]

    def finish(self) -> LevelResult:
        """The verdicts, one per period, the accounting and the periods' keys."""
        contract, level = self.contract, self.level
        periods = self.counted.sorted_periods()
        if self.metric.spans and len(periods):
            periods = spanned_periods(contract, periods, [])
        grid = period_grid(contract, periods)
        keys = self.metric.summary_keys
        summaries = {
            role: combine_summaries(parts or [self.summarise(role, self.empty[role],
                                                             self.context)], keys)
            for role, parts in self.parts.items()
        }
        figures = _checked(level, self.figures(summaries, grid, self.context), periods)
        verdicts = period_verdicts(level, self.metric, periods, grid.labels, figures,
                                   self.counted.excluded)
        return LevelResult(verdicts, self.counted.account, periods=periods)


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

    def finish(self) -> LevelResult:
        return self.period_level.finish()


def period_figures(
    contract: Contract, level: ServiceLevel, data: dict[str, SourceData], periods: np.ndarray,
    registry: Registry, context: MeasureContext, chosen: np.ndarray | None = None,
) -> PeriodFigures:
    """Run a period-level metric on its record sets, each narrowed by ``where``; of the
    level's own records, those ``chosen`` (by :func:`narrow`: agreed exclusions left out too)
    when given."""
    inputs = {}
    for role, name in level.inputs.items():
        records = data[name].records
        own = name == level.source and chosen is not None
        mask = chosen if own else where_mask(records, level.where)
        inputs[role] = records if mask.all() else records.filter(pa.array(mask))
    aggregate = guarded(registry, "metric", level.metric, "aggregate")
    return _checked(level, aggregate(inputs, period_grid(contract, periods), context), periods)
