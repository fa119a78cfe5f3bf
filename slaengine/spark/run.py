"""The evaluation on Spark: every source read by Spark, its partitions' states added up on the
driver in the local engine's order, every level finished as the local engine finishes it.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from slaengine import outlook
from slaengine.contract import Contract
from slaengine.credits.schedule import assess_credits
from slaengine.engine.levels import LevelResult, PeriodInput, PeriodLevel, StreamedLevel
from slaengine.engine.manifest import manifest
from slaengine.engine.plan import needed_fields, plan
from slaengine.engine.read import contract_folder, source_config, source_files
from slaengine.engine.record import RecordLevel
from slaengine.lazy import np
from slaengine.manifest import Digests
from slaengine.plugin import combine_summaries, reject_schema
from slaengine.pluginmanager import Registry, build_registry
from slaengine.progress import Progress, reporter
from slaengine.spark import catalog, orders, support, whole
from slaengine.spark.derived import evaluate_clocks
from slaengine.spark.held import evaluate_held
from slaengine.spark.partition import PartitionJob, PartitionState, first_per_group
from slaengine.spark.read import file_batches, spark_frame
from slaengine.spark.records import Keeping, keeping_of, raise_error
from slaengine.statistics import Tally
from slaengine.verdicts import Evaluation, SourceAccount

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

_SUMMARY_PARTS = 64  # as the local engine's period levels: summaries combined every 64
ENGINE = "spark"


def evaluate(
    contract: Contract, spark: SparkSession, registry: Registry | None = None, *,
    options: dict[str, Any] | None = None, as_of: datetime | None = None,
    progress: Progress | Callable[[str], None] | None = None,
    costs: list[PartitionCost] | None = None,
) -> Evaluation:
    """Evaluate ``contract`` on Spark (``spark``: the session): the local engine's
    :func:`slaengine.engine.evaluate`, with the same result. Features Spark does not
    evaluate yet are refused first (:mod:`slaengine.spark.support`). ``costs``, a list,
    receives what each partition cost and sent the driver (and each part of a clock source,
    each level evaluated on its records whole: :class:`PartitionCost`)."""
    registry = (registry or build_registry()).with_clocks(contract.clocks)
    support.check(contract, registry)
    step = reporter(progress)
    files = _local_files(contract, registry)
    digests = Digests({name: spec.path for name, spec in contract.sources.items()
                       if name in files}, files, contract_folder(contract))
    keeping = keeping_of(contract, registry)
    frames: dict[str, Any] = {}
    try:
        streamed, _ = plan(contract, registry, False)
        accounts: dict[str, SourceAccount] = {}
        latest: dict[str, datetime | None] = {}
        for name, fields in needed_fields(contract, registry).items():
            step(f"reading {name} with Spark")
            levels = streamed.get(name, [])
            ordered = orders.ordered_tallies(lv for lv in levels if isinstance(lv, RecordLevel))
            states, picks = _read(spark, contract, registry, name, fields,
                                  files.get(name, []), as_of, ordered, costs,
                                  keeping.get(name), frames)
            accounts[name] = _account(contract, name, states)
            latest[name] = max((s.latest for s in states if s.latest is not None),
                               default=None)
            _merge(levels, states)
            records = [lv for lv in levels if isinstance(lv, RecordLevel)]
            orders.apply(picks, ordered, records[0].indexes if records else {})
        step("evaluating event clocks with Spark")
        spent: dict[str, list[tuple[str, int, float, int]]] = {"clocks": [], "held": []}
        finished = evaluate_clocks(contract, registry, frames, keeping, latest,
                                   accounts, as_of, spent["clocks"])
        step("evaluating period-level metrics on whole records with Spark")
        finished |= evaluate_held(contract, registry, frames, keeping, latest,
                                  spent["held"])
        if costs is not None:
            costs.extend(PartitionCost(*cost, stage=stage)
                         for stage, found in spent.items() for cost in found)
        engine = {"name": ENGINE, "pyspark": _pyspark_version(),
                  "master": spark.sparkContext.master}
        return _finish(contract, registry, streamed, accounts, digests, options, as_of, step,
                       engine, finished)
    finally:
        for frame in frames.values():
            frame.unpersist()
        digests.close()


@dataclass(frozen=True)
class PartitionCost:
    """One partition of a source: its rows, its time in the local engine's functions inside
    ``mapInArrow``, and the bytes of the state it sent the driver. ``stage``: ``"read"``;
    ``"clocks"`` for one part of a clock source (its records, evaluated by ``applyInArrow``),
    ``"held"`` for one period-level metric evaluated on its records whole."""

    source: str
    rows: int
    seconds: float
    state_bytes: int
    stage: str = "read"


@dataclass(frozen=True)
class Collected:
    """What the driver received for one source: the partitions' states and Spark's picks of
    the order statistics (one value per group and statistic)."""

    states: list[PartitionState]
    picks: list[orders.Pick]
    sizes: list[int]  # each state's pickled bytes
    records: Any = None  # with records kept whole: every row of the partitions, persisted


def collect(spark: SparkSession, contract: Contract, registry: Registry, name: str,
            fields: list[str], files: list, as_of: datetime | None,
            ordered: list[tuple[Tally, tuple]], keeping: Keeping | None = None,
            ) -> Collected:
    """Everything the driver receives for source ``name``: no record, and per group only.
    With ``keeping``, the records kept whole stay in Spark (:attr:`Collected.records`)."""
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    spec = contract.sources[name]
    config = source_config(contract, spec)
    columns = {f: config.fields.get(f, f) for f in fields}
    time_range = (None, as_of)
    job: PartitionJob
    if whole.is_whole(contract, name, files):
        frame = whole.whole_frame(spark)
        job = whole.WholeJob(contract=contract, source=name, columns=columns, files={},
                             batch_rows=0, as_of=as_of, keeping=keeping,
                             fields=list(fields), link=whole.link_of(contract, registry, name))
    else:
        batch_rows = int(registry.sources[spec.adapter].batch_rows)
        if catalog.is_catalog(contract, name):
            frame, layouts = catalog.catalog_frame(spark, contract, name, columns, time_range,
                                                   batch_rows)
        else:
            frame = spark_frame(spark, contract, spec, files, columns, time_range)
            layouts = file_batches(files, spec, columns, time_range, contract.timezone,
                                   batch_rows)
        job = PartitionJob(contract=contract, source=name, columns=columns, files=layouts,
                           batch_rows=batch_rows, as_of=as_of, keeping=keeping)
    wanted = {number: sorted(tally.orders) for number, (tally, _) in enumerate(ordered)}
    out = frame.mapInArrow(job, orders.OUTPUT)
    if keeping is not None:  # one read gives the states, the values ranked and the records
        out = out.persist(StorageLevel.MEMORY_AND_DISK)
    rows = orders.ranked(out.where(F.col("records").isNull()), wanted).collect()
    states, picks, sizes = [], [], []
    for row in rows:
        if row["state"] is not None:
            sizes.append(len(row["state"]))
            states.append(pickle.loads(row["state"]))  # written by PartitionJob above
        else:
            picks.append(orders.Pick(row["tally"], row["grp"], row["rank"], row["n"],
                                     row["value"]))
    return Collected(states, picks, sizes, out if keeping is not None else None)


def _read(spark: SparkSession, contract: Contract, registry: Registry, name: str,
          fields: list[str], files: list, as_of: datetime | None,
          ordered: list[tuple[Tally, tuple]], costs: list[PartitionCost] | None,
          keeping: Keeping | None = None, frames: dict[str, Any] | None = None,
          ) -> tuple[list[PartitionState], list[orders.Pick]]:
    """Every partition's state of source ``name`` and Spark's picks of its order
    statistics; a partition's error raised as the local engine raises it. The rows of the
    records kept whole go to ``frames``."""
    found = collect(spark, contract, registry, name, fields, files, as_of, ordered, keeping)
    if found.records is not None and frames is not None:
        frames[name] = found.records
    for state in found.states:
        if state.error is not None:
            raise_error(state.error)
    if costs is not None:
        costs.extend(PartitionCost(name, state.read, state.seconds, size)
                     for state, size in zip(found.states, found.sizes, strict=True))
    return found.states, found.picks


def _local_files(contract: Contract, registry: Registry) -> dict[str, list]:
    """The local files of every source read from files the contract names (what the manifest
    hashes); a table or a URI has none here."""
    local = replace(contract, sources={name: spec for name, spec in contract.sources.items()
                                       if not catalog.is_catalog(contract, name)})
    return source_files(local, registry)


def _account(contract: Contract, name: str, states: list[PartitionState]) -> SourceAccount:
    spec = contract.sources[name]
    account = SourceAccount(source=name, adapter=spec.adapter,
                            path=catalog.where_of(contract, name))
    reasons: dict[str, int] = {}
    for state in states:
        account.read += state.read
        account.accepted += state.accepted
        account.rejected += state.rejected
        account.after_as_of += state.after_as_of
        account.duplicates += state.duplicates
        for note, count in state.notes.items():
            account.notes[note] = account.notes.get(note, 0) + count
        for reason, count in state.reasons.items():
            reasons[reason] = reasons.get(reason, 0) + count
    account.rejected_by_reason = dict(sorted(reasons.items(), key=lambda p: (-p[1], p[0])))
    return account


def _merge(levels: list[StreamedLevel], states: list[PartitionState]) -> None:
    """Add the partitions' states into the driver's ``levels``: counts as they come; sums,
    paused seconds and summaries batch by batch in the local engine's order; per group the
    missed ids with the smallest order keys."""
    records = {lv.level.id: lv for lv in levels if isinstance(lv, RecordLevel)}
    periods: dict[str, PeriodLevel] = {lv.level.id: lv.period_level for lv in levels
                                       if isinstance(lv, PeriodInput)}
    sums: dict[int, tuple[Tally, list]] = {}
    paused: dict[str, list] = {}
    missed: dict[str, list] = {}
    summaries: dict[tuple[str, str], list] = {}
    for state in states:
        to_driver = {grouping: _index(records, grouping).ids_of(pairs)
                     for grouping, pairs in state.groupings.items()}
        for owner, tally in state.tallies.items():
            level = records[owner]
            groups = to_driver.get(level.grouping, np.zeros(0, dtype=np.intp))
            level.tally.merge(tally, groups)
            steps = sums.setdefault(id(level.tally), (level.tally, []))[1]
            steps += [(key, groups[present], part)
                      for key, present, part in state.sums.get(owner, [])]
        for level_id, found in state.levels.items():
            if level_id in records:
                level = records[level_id]
                groups = to_driver.get(level.grouping, np.zeros(0, dtype=np.intp))
                level.counted.merge(found.counted)
                missed.setdefault(level_id, []).extend(
                    (keys, groups[owners], ids) for keys, owners, ids in found.missed)
                paused.setdefault(level_id, []).extend(
                    (key, groups[: len(weights)], weights) for key, weights in found.paused)
            elif level_id in periods:
                periods[level_id].counted.merge(found.counted)
                for role, parts in found.summaries.items():
                    summaries.setdefault((level_id, role), []).extend(parts)
    for tally, steps in sums.values():
        if tally.sums is not None:
            tally.sums[:] = 0.0
            for _, groups, part in sorted(steps, key=lambda s: s[0]):
                tally.sums[groups] += part
    for level_id, steps in paused.items():
        level = records[level_id]
        size = max([int(g.max(initial=-1)) + 1 for _, g, _ in steps] + [0])
        level.paused = np.zeros(size)
        for _, groups, weights in sorted(steps, key=lambda s: s[0]):
            level.paused[groups] += weights
    for level_id, parts in missed.items():
        level = records[level_id]
        level.missed = [(groups, ids, None) for _, groups, ids in
                        first_per_group(parts, level.missed_limit)]
    for (level_id, role), parts in summaries.items():
        level = periods[level_id]
        held = level.parts[role]
        for _, part in sorted(parts, key=lambda s: s[0]):
            held.append(part)
            if len(held) >= _SUMMARY_PARTS:
                held[:] = [combine_summaries(held, level.metric.summary_keys)]


def _index(records: dict[str, RecordLevel], grouping: tuple) -> Any:
    from slaengine.engine.batch import GroupIndex

    indexes = next(iter(records.values())).indexes
    return indexes.setdefault(grouping, GroupIndex())


def _finish(contract: Contract, registry: Registry, streamed: dict[str, list[StreamedLevel]],
            accounts: dict[str, SourceAccount], digests: Digests,
            options: dict[str, Any] | None, as_of: datetime | None,
            step: Progress, engine: dict[str, str],
            finished: dict[str, LevelResult] | None = None) -> Evaluation:
    """The evaluation from the finished levels (and those ``finished`` in Spark's tasks),
    as the local engine assembles it."""
    levels: dict[str, StreamedLevel] = {}
    for streaming in streamed.values():
        for level in streaming:
            levels.setdefault(level.level.id, level)
    results = {}
    for level_id, level in levels.items():
        step(f"evaluating {level_id}")
        results[level_id] = level.finish()
    results.update(finished or {})
    order = [results[level.id] for level in contract.service_levels]
    verdicts = [v for result in order for v in result.verdicts]
    if as_of is not None:
        verdicts = outlook.apply(contract, verdicts, as_of)
    manifest_options = dict(options or {})
    if as_of is not None:
        manifest_options["as_of"] = as_of.isoformat()
    found = manifest(contract, registry, manifest_options, digests)
    for name in sorted(contract.sources):
        if catalog.is_catalog(contract, name):  # the catalog owns the files: no digest
            found["inputs"][name] = {"path": catalog.where_of(contract, name)}
    found["engine"] = engine
    evaluation = Evaluation(
        contract=contract, verdicts=verdicts, sources=accounts,
        levels={level_id: result.account for level_id, result in results.items()},
        manifest=found, rejected=reject_schema().empty_table(),
        concentration={key: c for result in order for key, c in result.concentration.items()},
    )
    if contract.penalties is not None:
        step("assessing service credits")
        model = registry.penalty_models[contract.penalties["model"]]
        evaluation.credits = assess_credits(evaluation, model, contract.credit_terms)
    return evaluation


def _pyspark_version() -> str:
    import pyspark

    return str(pyspark.__version__)

