"""Event clocks on Spark: each part of a clock source's records (every event of its tickets,
:mod:`slaengine.spark.records`) evaluated in one task by the local engine's
:class:`~slaengine.engine.derived.DerivedLevel`, as :func:`~slaengine.engine.derived.derive_parts`
hands it a part spilled to disk.

``groupBy(source, part).applyInArrow`` gives a task one part's records, with those of the
source its clocks link to in the same part (the same hash of the ticket id): it puts them back
in file order, derives every clock level of the source from them (one ``shared`` scratch
space per part, as locally) and sends the driver one small state per part and level
(:class:`ClockPart`): the counting level's tallies by (period, segment) group, its account,
paused seconds and earliest missed ids (at most :data:`~slaengine.verdicts.MISSED_LIMIT` per
group), the audit flags counted per flag, period and segment with their earliest tickets,
and the reconciliation. The measured values an order statistic needs go to Spark's ranking
(:mod:`slaengine.spark.orders`), never to the driver. The driver adds the parts up in part
order — float sums as the local engine adds its parts — and finishes each level as the local
engine does.
"""

from __future__ import annotations

import pickle
import time
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING

from slaengine.clocks.audit import FLAGS
from slaengine.clocks.zendesk import Reconciliation
from slaengine.contract import Contract
from slaengine.engine.batch import GroupIndex, segment_groups
from slaengine.engine.derived import DerivedLevel, audit_flags
from slaengine.engine.levels import LevelResult
from slaengine.engine.narrow import Counted
from slaengine.engine.verdict import period_labels
from slaengine.errors import SlaError
from slaengine.lazy import np, pa, pc
from slaengine.periods import period_keys
from slaengine.pluginmanager import Registry
from slaengine.spark import orders
from slaengine.spark.records import (
    PARTS,
    Keeping,
    Shipped,
    blobs_by_source,
    clock_levels,
    error_of,
    in_order,
    labelled,
    raise_error,
    source_data,
)
from slaengine.statistics import Tally
from slaengine.verdicts import MISSED_LIMIT, AuditFlag, SourceAccount

if TYPE_CHECKING:
    from pyspark.sql import DataFrame


@dataclass
class ClockPart:
    """What one clock level sends the driver for one part (its size does not grow with the
    part's records: per (period, segment) group, and per flag, period and segment)."""

    schema: pa.Schema  # the derived records' fields
    pairs: list[tuple[int, tuple]]
    tally: Tally
    counted: Counted
    missed: list[tuple[np.ndarray, pa.Array, pa.Array | None]]
    paused: np.ndarray
    flags: pa.Table | None = None  # the earliest of each flag, period and segment
    flag_counts: dict[tuple[str, int, tuple], int] = field(default_factory=dict)
    reconciled: Reconciliation | None = None


@dataclass
class ClockState:
    """One part of one clock source: each level's :class:`ClockPart`, the notes counted on the
    source (records without a linked record), or the error raised."""

    source: str
    part: int
    levels: dict[str, ClockPart] = field(default_factory=dict)
    notes: dict[str, int] = field(default_factory=dict)
    error: tuple | None = None  # the error raised (records.error_of)
    rows: int = 0  # the part's records of the source
    seconds: float = 0.0  # the part's time in the local engine's functions


@dataclass
class ClockJob(Shipped):
    """What each (source, part) group runs (pickled to the executors)."""

    contract: Contract
    keeping: dict[str, Keeping]
    latest: dict[str, datetime | None]
    numbers: dict[str, int]  # each clock level's number among the ordered tallies
    as_of: datetime | None = None

    def __call__(self, key: tuple, table: pa.Table) -> pa.Table:
        source, part = str(key[0].as_py()), int(key[1].as_py())
        state = ClockState(source, part)
        rows: list[pa.RecordBatch] = []
        started = time.perf_counter()
        try:
            rows = self.run(table, state)
        except SlaError as exc:
            state = ClockState(source, part, error=error_of(exc))
            rows = []
        state.seconds = time.perf_counter() - started
        head = orders.output_batch(1, state=pa.array([pickle.dumps(state, protocol=5)],
                                                     pa.binary()))
        return pa.Table.from_batches([head, *rows])

    def run(self, table: pa.Table, state: ClockState) -> list[pa.RecordBatch]:
        """Derive the part's clock records for every clock level of the source into
        ``state``; the values their order statistics need, as rows for Spark to rank."""
        contract, registry = self.contract, self.registry()
        blobs = blobs_by_source(table)
        spec = contract.sources[state.source]
        data = {name: source_data(contract, name, in_order(blobs.get(name, [])),
                                  self.latest.get(name), self.keeping[name])
                for name in {state.source, *([spec.link] if spec.link else [])}}
        part = data[state.source].records
        state.rows = part.num_rows
        levels = [DerivedLevel(contract, level, registry, data, False, self.as_of)
                  for level in clock_levels(contract, registry) if level.source == state.source]
        shared: dict[str, object] = {}
        for level in levels:  # as derive_parts hands over one part
            level.add(part, shared, (state.part, PARTS))
        rows = []
        for level in levels:
            state.levels[level.level.id] = _part_state(contract, level)
            counting = level.counting
            assert counting is not None
            if not counting.tally.values:  # no value kept (or no statistic that keeps any)
                continue
            values = orders.value_rows([(counting.tally, counting.grouping)], counting.indexes)
            if values is not None:
                number = pa.array(np.full(values.num_rows, self.numbers[level.level.id],
                                          dtype=np.int32))
                rows.append(values.set_column(1, "tally", number))
        state.notes = dict(data[state.source].account.notes)
        return rows


def _part_state(contract: Contract, level: DerivedLevel) -> ClockPart:
    counting = level.counting
    assert counting is not None
    if counting.missed:
        counting._compact_missed()  # the earliest MISSED_LIMIT of each group
    index = counting.indexes.get(counting.grouping, GroupIndex())
    flags = pa.concat_tables(level.flags) if level.flags else None
    kept, counts = _earliest_flags(contract, flags, level.level.by)
    reconciled = [r for r in level.reconciled if r is not None]
    assert len(reconciled) <= 1
    return ClockPart(schema=pa.schema([(f, t) for f, t in counting.kind.fields.items()]),
                     pairs=list(index.pairs), tally=counting.tally, counted=counting.counted,
                     missed=counting.missed, paused=counting.paused, flags=kept,
                     flag_counts=counts, reconciled=reconciled[0] if reconciled else None)


def _flag_keys(contract: Contract, flags: pa.Table, by: tuple[str, ...],
               ) -> tuple[np.ndarray, list[tuple[str, int, tuple]]]:
    """Each flag's group (flag, period, segment), numbered, and the groups."""
    keys = period_keys(flags["at"], contract.period, contract.timezone)
    which = pc.fill_null(pc.index_in(flags["flag"], value_set=pa.array(list(FLAGS))), -1)
    which = np.asarray(which.to_numpy(zero_copy_only=False), dtype=np.int64)
    segment, segments = segment_groups(flags, by)
    triples = np.stack([which, keys.astype(np.int64), segment.astype(np.int64)], axis=1)
    found, codes = np.unique(triples, axis=0, return_inverse=True)
    names = list(FLAGS)
    groups = [(names[w] if w >= 0 else "", int(k),
               tuple(sorted(segments[s].items())) if segments else ())
              for w, k, s in found.tolist()]
    return np.asarray(codes, dtype=np.int64).reshape(-1), groups


def _earliest_flags(contract: Contract, flags: pa.Table | None, by: tuple[str, ...],
                    ) -> tuple[pa.Table | None, dict[tuple[str, int, tuple], int]]:
    """Of one part's audit flags, the earliest :data:`MISSED_LIMIT` of each flag, period and
    segment (by instant, then ticket: the tickets a report names) and each one's count."""
    if flags is None or not flags.num_rows:
        return flags, {}
    flags = flags.sort_by([("at", "ascending"), ("ticket_id", "ascending")])
    codes, groups = _flag_keys(contract, flags, by)
    order = np.argsort(codes, kind="stable")
    sorted_codes = codes[order]
    rank = np.empty(len(codes), dtype=np.int64)
    rank[order] = np.arange(len(codes)) - np.searchsorted(sorted_codes, sorted_codes)
    counts = np.bincount(codes, minlength=len(groups))
    kept = flags.filter(pa.array(rank < MISSED_LIMIT))
    return kept, {group: int(count) for group, count in zip(groups, counts, strict=True)}


def evaluate_clocks(contract: Contract, registry: Registry,
                    frames: dict[str, DataFrame], keeping: dict[str, Keeping],
                    latest: dict[str, datetime | None], accounts: dict[str, SourceAccount],
                    as_of: datetime | None,
                    costs: list[tuple[str, int, float, int]] | None = None,
                    ) -> dict[str, LevelResult]:
    """Every clock level's result, from its source's parts evaluated in Spark's tasks; the
    notes counted on a source go to its account in ``accounts``. ``costs`` receives each
    part's ``(source, records, seconds, bytes of its state)``."""
    levels = clock_levels(contract, registry)
    if not levels:
        return {}
    wanted: dict[int, list[str]] = {}
    numbers: dict[str, int] = {}
    for number, level in enumerate(levels):
        numbers[level.id] = number
        probe = Tally()  # the statistics the level's tally will keep values for
        within = level.target.within
        probe.want(level.statistic, None if within is None else float(within))
        if probe.orders:
            wanted[number] = sorted(probe.orders)
    pairs = []
    for name in dict.fromkeys(level.source for level in levels):
        link = contract.sources[name].link
        pairs += [(name, name), *([(name, link)] if link else [])]
    job = ClockJob(contract=contract, keeping=keeping, latest=latest, numbers=numbers,
                   as_of=as_of)

    def run(key: tuple, table: pa.Table) -> pa.Table:
        return job(key, table)

    grouped = labelled(frames, pairs, "owner").groupBy("owner", "part")
    rows = orders.ranked(grouped.applyInArrow(run, orders.OUTPUT), wanted).collect()
    states: list[ClockState] = []
    picks: dict[int, list[orders.Pick]] = {}
    for row in rows:
        if row["state"] is not None:
            states.append(state := pickle.loads(row["state"]))  # written by ClockJob above
            if costs is not None:
                costs.append((state.source, state.rows, state.seconds, len(row["state"])))
        else:
            picks.setdefault(row["tally"], []).append(
                orders.Pick(0, row["grp"], row["rank"], row["n"], row["value"]))
    states.sort(key=lambda s: (s.source, s.part))
    for state in states:
        if state.error is not None:
            raise_error(state.error)
    for state in states:  # notes in the order the local engine counts them: part by part
        notes = accounts[state.source].notes
        for note, count in state.notes.items():
            notes[note] = notes.get(note, 0) + count
    results = {}
    for level in levels:
        data = {name: source_data(contract, name, None, latest.get(name), keeping[name])
                for name in {level.source, *([contract.sources[level.source].link]
                                             if contract.sources[level.source].link else [])}}
        derived = DerivedLevel(contract, level, registry, data, False, as_of)
        parts = [s.levels[level.id] for s in states if level.id in s.levels]
        results[level.id] = _finished(contract, derived, parts, picks.get(numbers[level.id], []))
    return results


def _finished(contract: Contract, level: DerivedLevel, parts: list[ClockPart],
              picks: list[orders.Pick]) -> LevelResult:
    """The level's result from its parts (in part order), as
    :meth:`~slaengine.engine.derived.DerivedLevel.finish` gives it locally."""
    if not parts:  # no record at all: derived from the (empty) source, as locally
        return level.finish()
    counting = level.counting = level._counting(parts[0].schema.empty_table())
    index = counting.indexes.setdefault(counting.grouping, GroupIndex())
    paused = np.zeros(0)
    for part in parts:
        groups = index.ids_of(part.pairs)
        counting.tally.merge(part.tally, groups)
        counting.counted.merge(part.counted)
        counting.missed += [(groups[g], ids, times) for g, ids, times in part.missed]
        weights = part.paused[: len(groups)]
        size = int(groups[: len(weights)].max(initial=-1)) + 1
        if size > len(paused):
            paused = np.concatenate([paused, np.zeros(size - len(paused))])
        paused[groups[: len(weights)]] += weights
    counting.paused = paused
    orders.apply(picks, [(counting.tally, counting.grouping)], counting.indexes)
    kept = [p.flags for p in parts if p.flags is not None and p.flags.num_rows]
    level.flags = [pa.concat_tables(kept, promote_options="permissive")] if kept else []
    level.reconciled = [p.reconciled for p in parts if p.reconciled is not None]
    result = level.finish()
    result.account.audit = merged_audit(contract, [(p.flags, p.flag_counts) for p in parts],
                                        level.level.by)
    return result


def merged_audit(contract: Contract, parts: list[tuple[pa.Table | None, dict]],
                 by: tuple[str, ...] = ()) -> tuple[AuditFlag, ...]:
    """The audit flags of every part, as :func:`~slaengine.engine.derived.audit_flags` counts
    them on all the flags at once, from each part's earliest flags and counts
    (:func:`_earliest_flags`): the earliest of the earliest are the earliest."""
    kept = [flags for flags, _ in parts if flags is not None and flags.num_rows]
    found = audit_flags(contract, pa.concat_tables(kept, promote_options="permissive")
                        if kept else None, by)
    if not found:
        return found
    counts: dict[tuple[str, int, tuple], int] = {}
    for _, part in parts:
        for group, count in part.items():
            counts[group] = counts.get(group, 0) + count
    keys = sorted({k for _, k, _ in counts})
    labels = dict(zip(period_labels(contract, np.array(keys, dtype=np.int64)), keys,
                      strict=True))
    return tuple(replace(flag, count=counts[(flag.flag, labels[flag.period],
                                              tuple(sorted(flag.segment.items())))])
                 for flag in found)
