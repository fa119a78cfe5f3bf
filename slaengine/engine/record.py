"""Per-record service levels (response time, CSAT ...), evaluated batch by batch.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, replace

from slaengine.bits import one_array, true_mask
from slaengine.calendars import ALWAYS
from slaengine.contract import Contract, MeasureSpec, ServiceLevel, measure_spec
from slaengine.engine.batch import Batch, GroupIndex
from slaengine.engine.columns import level_fields
from slaengine.engine.levels import LevelResult
from slaengine.engine.missed import (
    COMPARISONS,
    FAILS,
    concentration,
    evidence_of,
    evidence_table,
    group_missed,
    miss_rule,
    missed_count,
    missed_mask,
    segment_order,
    worst_first,
)
from slaengine.engine.narrow import Counted, Narrowing, narrow
from slaengine.engine.verdict import Figures, closed_periods, period_labels, verdict
from slaengine.errors import DataError
from slaengine.fields import RecordKind
from slaengine.lazy import np, pa, pc
from slaengine.plugin import MeasureContext, Metric
from slaengine.pluginmanager import Registry, guarded
from slaengine.statistics import Layout, Tally, as_float
from slaengine.targets import percentile_of
from slaengine.verdicts import MISSED_LIMIT, LevelAccount


@dataclass
class Measured:
    """One batch as a per-record service level sees it: its narrowing, and the kept records
    with their measures (``mask``: which rows were kept, None for all).

    ``numbers`` are the measures as float64 (NaN: not measured); ``outcomes`` (made on first
    use, for ``share``) each record's success as 1.0, 0.0 or NaN (unknown); ``layout`` (once
    counted) how the kept records fall into groups.
    """

    narrowing: Narrowing
    mask: np.ndarray | None = None
    kept: pa.Table | None = None
    source: pa.Table | None = None
    values: pa.Array | None = None
    numbers: np.ndarray | None = None
    paused: np.ndarray | None = None
    layout: Layout | None = None
    _outcomes: np.ndarray | None = None

    def ids(self, id_field: str, picked: np.ndarray) -> pa.Array:
        """The ids of the kept records at ``picked`` (their places among the kept). Records
        left out are not copied for their ids: a kept table may lack them, and they are then
        taken from the batch, only for the records named."""
        assert self.kept is not None
        if id_field in self.kept.column_names:
            return self.kept[id_field].take(pa.array(picked))
        assert self.source is not None and self.mask is not None
        return self.source[id_field].take(pa.array(np.flatnonzero(self.mask)[picked]))

    def outcomes(self, metric: Metric) -> np.ndarray:
        if self._outcomes is None:
            assert self.values is not None
            if pa.types.is_boolean(self.values.type) and type(metric).success is Metric.success:
                self._outcomes = self.numbers  # a yes/no measure is its own outcome: 1, 0, NaN
            else:
                self._outcomes = as_float(metric.success(self.values))
        return self._outcomes


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

    few_groups = 16
    """Up to this many groups in a batch, missed ids are picked a group at a time."""

    missed_limit = MISSED_LIMIT
    """How many missed ids a verdict names (every missed record is still counted)."""

    def __init__(self, contract: Contract, level: ServiceLevel, registry: Registry,
                 evidence: bool, tallies: dict[MeasureSpec, Tally] | None = None,
                 indexes: dict[tuple, GroupIndex] | None = None, *,
                 derived: RecordKind | None = None) -> None:
        self.contract = contract
        self.level = level
        self.metric: Metric = registry.metrics[level.metric]
        # ``derived``: the records counted are those the metric derives (clock records), of
        # this kind, and every field they carry is read; else the source's own records.
        self.kind = derived or contract.sources[level.source].record_kind
        self.period_field = level.period_by or self.kind.time_field
        self.fields = list(derived.fields) if derived else level_fields(contract, level,
                                                                        registry)
        self.measure = guarded(registry, "metric", level.metric, "measure")
        self.selects = guarded(registry, "metric", level.metric, "selects")
        self.calendar = contract.calendars[level.calendar] if level.calendar else ALWAYS
        self.evidence = evidence
        self.paused = np.zeros(0)
        self.missed: list[tuple[np.ndarray, pa.Array, pa.Array | None]] = []
        # Derived records arrive part by part, in no order that means anything: a verdict then
        # names its earliest missed records (by their time, then id); every missed id is kept
        # and, as they pile up, only the earliest MISSED_LIMIT of each group (_compact_missed).
        self.earliest_missed = derived is not None
        self.missed_held = 0
        if self.earliest_missed:
            self.missed_limit = sys.maxsize
        self.missed_seen = np.zeros(0, dtype=np.int64)
        self.evidence_parts: list[tuple[pa.Table, np.ndarray]] = []
        self.counted = Counted(LevelAccount(service_level=level.id, source=level.source,
                                            accepted=0, included=0, excluded=0))
        # Levels that read the same records with the same metric and clock share one
        # narrowing and one measure per batch (mean, median and p90 of one response time),
        # and, grouped the same way, one tally.
        self.share_key = measure_spec(contract, level)
        self.grouping = (level.by, self.period_field)
        self.indexes = {} if indexes is None else indexes
        tallies = {} if tallies is None else tallies
        self.tally = tallies.setdefault(self.share_key, Tally())
        target = level.target
        self.within = float(target.within) if target.within is not None else None
        self.tally.want(level.statistic, self.within)
        self.miss = miss_rule(target, level.statistic)
        if self.miss is not None and self.miss[0] in COMPARISONS:
            self.tally.count_where(self.miss[0], self.miss[1])
        # With evidence: the records behind a failed mean or count too (beyond the target, or
        # every record counted), and every measure of a mean or an order statistic, for the
        # figure without the worst 1%.
        self.behind = self.miss if evidence else None
        if evidence and level.statistic == "mean":
            self.behind = (FAILS[target.op], float(target.threshold))
        elif evidence and level.statistic == "count":
            self.behind = ("every", None)
        # Whether the records kept from a batch may go without their ids: not with evidence
        # (every missed record is written out), nor for a metric that reads them.
        self.lean = (not evidence and derived is None
                     and self.kind.id_field not in self.metric.requires)
        self.concentrates = evidence and (level.statistic in ("mean", "min", "max")
                                          or percentile_of(level.statistic) is not None)
        self.measured: list[tuple[np.ndarray, np.ndarray]] = []

    def add(self, batch: Batch) -> None:
        """Fold one batch of the source's accepted records."""
        shared: Measured = batch.shared(self.share_key, self._narrow_and_measure)
        self.counted.add(shared.narrowing)
        if shared.kept is None:
            return
        every, present = batch.groups(*self.grouping)
        groups = batch.shared(("tally", self.share_key),
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

    def _count(self, shared: Measured, every: np.ndarray, batch: Batch) -> np.ndarray:
        """Fold the batch's measures into the shared tally (once per batch); its groups."""
        groups = every if shared.mask is None else every[shared.mask]
        assert shared.numbers is not None
        outcomes = shared.outcomes(self.metric) if self.tally.sample is not None else None
        # Tallies of the same records grouped the same way share one layout.
        key = ("layout", self.grouping, None if shared.mask is None else self.share_key)
        layout = shared.layout = batch.shared(key, lambda _: Layout.of(groups))
        self.tally.add(shared.numbers, groups, outcomes, layout)
        return groups

    def _wants_ids(self, present: np.ndarray) -> bool:
        """Whether a group of this batch still has room for missed ids."""
        self._room(present)
        return bool((self.missed_seen[present] < self.missed_limit).any())

    def _room(self, groups: np.ndarray) -> None:
        """Make room to count the missed ids of ``groups``."""
        size = int(groups.max(initial=-1)) + 1
        if len(self.missed_seen) < size:
            self.missed_seen = np.concatenate(
                [self.missed_seen, np.zeros(size - len(self.missed_seen), dtype=np.int64)])

    def _narrow_and_measure(self, batch: Batch) -> Measured:
        """The records this level keeps from ``batch`` (window, where, agreed exclusions) and
        their measures: the same for every level with the same share key, so computed once."""
        table = batch.table
        context = MeasureContext(calendar=self.calendar, timezone=self.contract.timezone,
                                 service_level=self.level.id, options=self.level.options,
                                 pause=self.level.pause, period=self.contract.period)
        selected = self.selects(table, context)
        if selected is not None:
            selected = true_mask(selected)
        narrowing = narrow(self.contract, self.level, table, batch.periods(self.period_field),
                           self.kind.time_field, selected=selected,
                           batch=batch)
        narrowed = Measured(narrowing)
        included, mask = narrowing.included, narrowing.mask
        if not included:
            return narrowed
        fields = self.fields
        if included < len(mask):
            if self.lean:  # ids are text: copied for the records named only (Measured.ids)
                fields = [f for f in fields if f != self.kind.id_field]
            kept = table.select(fields).filter(pa.array(mask))
            narrowed.mask, narrowed.source = mask, table
        else:
            kept = table.select(fields)
        values = self.measure(kept, context)
        values = one_array(values)
        if len(values) != kept.num_rows:
            raise DataError(f'metric "{self.level.metric}" returned {len(values)} measures for '
                            f"{kept.num_rows} records")
        narrowed.kept, narrowed.values = kept, values
        narrowed.numbers = as_float(values)
        if context.paused is not None:
            narrowed.paused = np.asarray(
                pc.fill_null(context.paused, 0.0).to_numpy(zero_copy_only=False))
        return narrowed

    def _note_missed(self, shared: Measured, groups: np.ndarray, present: np.ndarray) -> None:
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
        wanting = present[self.missed_seen[present] < self.missed_limit]
        if len(wanting) > self.few_groups:
            picked = self._first_per_group(missed, groups)
        elif shared.layout is not None:
            picked = self._first_of_runs(missed, shared.layout, wanting)
        else:
            # the missed rows once, then each group's among them (misses are a part of a batch)
            where = np.flatnonzero(missed)
            owners = groups[where] if len(present) > 1 else None
            chosen: list[np.ndarray] = []
            for group in wanting.tolist():
                rows = where if owners is None else where[owners == group]
                left = self.missed_limit - int(self.missed_seen[group])
                chosen.append(rows[:left])
                self.missed_seen[group] += min(len(rows), left)
            picked = np.sort(np.concatenate(chosen)) if chosen else np.zeros(0, dtype=np.intp)
        if len(picked):
            taken = pa.array(picked)
            times = kept[self.kind.time_field].take(taken) if self.earliest_missed else None
            self.missed.append((groups[picked], shared.ids(self.kind.id_field, picked), times))
            self.missed_held += len(picked)
            if self.earliest_missed and self.missed_held > 8 * type(self).missed_limit:
                self._compact_missed()
        if self.evidence and missed.any():
            self.evidence_parts.append((
                evidence_table(kept, shared.values, missed, self.kind.id_field,
                               self.kind.time_field), groups[missed]))

    def _first_of_runs(self, missed: np.ndarray, layout: Layout,
                       wanting: np.ndarray) -> np.ndarray:
        """The first missed rows of each group in ``wanting`` (ascending ids of the batch, few)
        while it has room, read from the group's run in the layout of the kept records: only
        the records of groups with room are looked at (a group whose ids are all taken costs
        nothing; one with no record kept has none)."""
        chosen: list[np.ndarray] = []
        places = np.searchsorted(layout.present, wanting)
        counted = places < len(layout.present)  # a group may have no record kept (where)
        counted[counted] = layout.present[places[counted]] == wanting[counted]
        for group, place in zip(wanting[counted].tolist(), places[counted].tolist(),
                                strict=True):
            start = int(layout.starts[place])
            end = start + int(layout.counts[place])
            left = self.missed_limit - int(self.missed_seen[group])
            if layout.order is None:
                rows = start + np.flatnonzero(missed[start:end])[:left]
            else:
                run = layout.order[start:end]  # the group's rows, in batch order
                rows = run[np.flatnonzero(missed[run])[:left]]
            chosen.append(rows)
            self.missed_seen[group] += len(rows)
        return np.sort(np.concatenate(chosen)) if chosen else np.zeros(0, dtype=np.intp)

    def _compact_missed(self) -> None:
        """Keep only the earliest ``missed_limit`` (class limit) missed ids of each group, by
        time then id: what a verdict names, in bounded memory however many records miss."""
        groups = np.concatenate([g for g, _, _ in self.missed])
        table = pa.table({"g": groups, "t": _joined([t for _, _, t in self.missed]),
                          "id": _joined([i for _, i, _ in self.missed])}).sort_by(
            [("g", "ascending"), ("t", "ascending"), ("id", "ascending")])
        ordered = table["g"].to_numpy()
        heads = np.searchsorted(ordered, ordered, side="left")
        keep = np.arange(len(ordered)) - heads < type(self).missed_limit
        table = table.filter(pa.array(keep))
        self.missed = [(table["g"].to_numpy(), table["id"].combine_chunks(),
                        table["t"].combine_chunks())]
        self.missed_held = table.num_rows

    def _note_behind(self, shared: Measured, groups: np.ndarray) -> None:
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
        room = self.missed_seen[owners] < self.missed_limit
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
            self.missed_seen[:size] + np.bincount(owners, minlength=size), self.missed_limit)
        return where[rank < self.missed_limit]

    def finish(self) -> LevelResult:
        """Every period of the source times every segment seen: the verdicts, in order."""
        level, contract = self.level, self.contract
        periods, segments, remap, occurs = self._order()
        labels = period_labels(contract, np.array(periods, dtype=np.int64))
        closed = closed_periods(contract, self.calendar, np.array(periods, dtype=np.int64))
        verdicts = []
        for g, figures in enumerate(self._figures(periods, len(segments), remap, occurs)):
            p, s = divmod(g, len(segments))
            found = verdict(level, self.metric, labels[p],
                            dict(zip(level.by, segments[s], strict=True)), figures)
            if closed[p]:  # every duration is 0 s there: nothing was measured
                found = replace(found, status="insufficient_data", compliance=None, note=(
                    f"calendar {level.calendar} has no business hours in {labels[p]}, so "
                    "every duration counted in it is 0 s"))
            verdicts.append(found)
        result = LevelResult(verdicts, self.counted.account)
        if self.evidence and self.evidence_parts:
            result.evidence = worst_first(
                evidence_of(self.evidence_parts, remap, labels, len(segments)),
                self.behind, level.target.better)
        if self.measured:
            result.concentration = concentration(level, verdicts, remap, self.measured)
        return result

    def _order(self) -> tuple[list[int], list[tuple], np.ndarray, np.ndarray]:
        """The periods and the segments seen, in order; each group's place among the
        period x segment verdicts (``remap``, -1 for a group never counted) and which groups
        were counted."""
        index = self.indexes.get(self.grouping, GroupIndex())
        occurs = np.zeros(len(index.pairs), dtype=bool)
        counted = min(len(occurs), self.tally.size)
        occurs[:counted] = self.tally.total[:counted] > 0
        periods = sorted(self.counted.periods)
        segments = sorted({index.pairs[g][1] for g in np.flatnonzero(occurs)},
                          key=segment_order)
        if not self.level.by:
            segments = [()]
        period_at = {key: i for i, key in enumerate(periods)}
        segment_at = {segment: i for i, segment in enumerate(segments)}
        remap = np.full(len(index.pairs), -1, dtype=np.int64)
        for g in np.flatnonzero(occurs):
            key, segment = index.pairs[g]
            remap[g] = period_at[key] * len(segments) + segment_at[segment]
        return periods, segments, remap, occurs

    def _figures(self, periods: list[int], n_segments: int, remap: np.ndarray,
                 occurs: np.ndarray) -> list[Figures]:
        """The figures of each period x segment, from the tally, the ids kept and the pauses."""
        level = self.level
        n_groups = len(periods) * n_segments
        result = self.tally.finish(remap, n_groups)
        stats = result.stats(level.statistic, self.within)
        missed_counts = missed_count(self.miss, result, self.within)
        kept_ids: list[tuple[tuple[str, ...], int]] = [((), 0)] * n_groups
        if self.missed:
            if self.earliest_missed:
                self._compact_missed()
            groups = remap[np.concatenate([g for g, _, _ in self.missed])]
            ids = _joined([i for _, i, _ in self.missed])
            if self.earliest_missed:  # groups merged by the remap: in time order again
                times = _joined([t for _, _, t in self.missed])
                order = pa.table({"g": groups, "t": times, "id": ids}).sort_by(
                    [("g", "ascending"), ("t", "ascending"), ("id", "ascending")])
                groups, ids = order["g"].to_numpy(), order["id"].combine_chunks()
            kept_ids = group_missed(ids, np.ones(len(groups), dtype=bool), groups, n_groups,
                                    type(self).missed_limit)
        paused = None
        if level.pause:
            weights = np.zeros(len(remap))
            weights[: min(len(remap), len(self.paused))] = self.paused[: len(remap)]
            paused = np.bincount(remap[occurs], weights=weights[occurs], minlength=n_groups)
        figures = []
        for g in range(n_groups):
            value = float(stats.value[g])
            figures.append(Figures(
                value=None if math.isnan(value) else value,
                sample_size=int(stats.sample_size[g]), unmeasured=int(stats.unmeasured[g]),
                excluded=self.counted.excluded.get(periods[g // n_segments], 0),
                hits=int(stats.hits[g]) if stats.hits is not None else None,
                missed=kept_ids[g][0],
                missed_count=int(missed_counts[g]) if missed_counts is not None else 0,
                paused=float(paused[g]) if paused is not None else None))
        return figures


def _joined(pieces: list[pa.Array | pa.ChunkedArray | None]) -> pa.Array:
    """One array of arrays and chunked arrays (their chunks joined, not read value by
    value)."""
    chunks = [c for p in pieces if p is not None
              for c in (p.chunks if isinstance(p, pa.ChunkedArray) else [p])]
    return pa.chunked_array(chunks, type=next(p for p in pieces if p is not None).type
                            ).combine_chunks()
