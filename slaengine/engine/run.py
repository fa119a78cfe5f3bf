"""The evaluation: plan, read every source once, finish every level, assess the credits.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from slaengine import outlook
from slaengine.contract import Contract
from slaengine.credits.schedule import assess_credits
from slaengine.engine.batch import Batch
from slaengine.engine.derived import DerivedLevel, derive_parts
from slaengine.engine.lanes import Lanes
from slaengine.engine.levels import HeldLevel, Level, LevelResult, StreamedLevel, period_evidence
from slaengine.engine.manifest import manifest
from slaengine.engine.plan import join_plan, needed_fields, plan, split_keys
from slaengine.engine.read import SourceData, contract_folder, join, read_source, source_files
from slaengine.engine.record import RecordLevel
from slaengine.lazy import np, pa
from slaengine.manifest import Digests
from slaengine.plugin import DerivedMetric, reject_schema
from slaengine.pluginmanager import Registry, build_registry
from slaengine.progress import Progress, known_size, reporter
from slaengine.verdicts import Evaluation


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

    The process is left as it was found: for a long evaluation, a program may enter
    :func:`slaengine.runtime.tuned` around it (as the command line does).
    """
    registry = (registry or build_registry()).with_clocks(contract.clocks)
    step = reporter(progress)
    files = source_files(contract, registry)
    digests = Digests({name: spec.path for name, spec in contract.sources.items()}, files,
                      contract_folder(contract))
    sizes = {name: known_size(found) for name, found in files.items()}
    try:
        return _evaluate_sources(contract, registry, digests, options=options,
                                 evidence=evidence, as_of=as_of, step=step, sizes=sizes)
    finally:
        digests.close()


def _evaluate_sources(
    contract: Contract, registry: Registry, digests: Digests, *,
    options: dict[str, Any] | None, evidence: bool, as_of: datetime | None,
    step: Progress, sizes: dict[str, int | None],
) -> Evaluation:
    streamed, keep = plan(contract, registry, evidence)
    data: dict[str, SourceData] = {}
    try:
        _read_sources(contract, registry, streamed, keep, data, evidence=evidence, as_of=as_of,
                      step=step, sizes=sizes)
        results = _finish_levels(contract, registry, streamed, data, evidence=evidence,
                                 as_of=as_of, step=step)
    finally:  # parts on disk are removed however the evaluation ends
        for held in data.values():
            held.held.close()
    order = [results[level.id] for level in contract.service_levels]
    verdicts = [v for result in order for v in result.verdicts]
    if as_of is not None:
        verdicts = outlook.apply(contract, verdicts, as_of)
    rejected = pa.concat_tables([d.rejected for d in data.values()] or
                                [reject_schema().empty_table()])
    manifest_options = dict(options or {})
    if as_of is not None:
        manifest_options["as_of"] = as_of.isoformat()
    evaluation = Evaluation(
        contract=contract, verdicts=verdicts,
        sources={name: d.account for name, d in data.items()},
        levels={level_id: result.account for level_id, result in results.items()},
        manifest=manifest(contract, registry, manifest_options, digests), rejected=rejected,
        evidence={level_id: result.evidence for level_id, result in results.items()
                  if result.evidence is not None},
        intervals={level_id: result.intervals for level_id, result in results.items()
                   if result.intervals is not None},
        audit={level_id: result.audit for level_id, result in results.items()
               if result.audit is not None},
        concentration={key: found for result in order
                       for key, found in result.concentration.items()},
    )
    if contract.penalties is not None:
        step("assessing service credits")
        model = registry.penalty_models[contract.penalties["model"]]
        evaluation.credits = assess_credits(evaluation, model, contract.credit_terms)
    return evaluation


def _read_sources(
    contract: Contract, registry: Registry, streamed: dict[str, list[StreamedLevel]],
    keep: dict[str, list[str]], data: dict[str, SourceData], *, evidence: bool,
    as_of: datetime | None, step: Progress, sizes: dict[str, int | None],
) -> None:
    """Read every source once into ``data``, linked-to sources first, feeding each batch to
    its levels."""
    joins = join_plan(contract, registry)
    splits = split_keys(contract, registry, keep, evidence)
    needed = needed_fields(contract, registry)
    if evidence:  # the ids of the records behind period-level figures are read too
        for name, fields in keep.items():
            needed[name] += [f for f in fields if f not in needed[name]]
    for name, fields in needed.items():
        total = sizes.get(name)
        step(f"reading {name}", *((0, total) if total is not None else ()))
        feed, unmatched, lanes = _feeder(contract, name, streamed, joins, data)
        seen = _Counter()

        def counted(records: pa.Table, keys: np.ndarray, feed=feed, seen=seen) -> None:
            feed(records, keys)
            seen.count += records.num_rows

        def advanced(position: int | None, name=name, seen=seen, total=total) -> None:
            sized = total is not None and position is not None
            step(f"reading {name}: {seen.count:,} records",
                 *((min(position, total), total) if sized else ()))

        try:
            data[name] = read_source(contract, contract.sources[name], fields, registry, as_of,
                                     on_batch=counted, on_position=advanced,
                                     keep=keep.get(name, []), split_by=splits.get(name))
            lanes.finish()  # the second lane done with every batch (its error raised here)
        finally:
            lanes.close()
        if name in joins:
            link = contract.sources[name].link
            data[name].account.notes[f"records without a matching {link} record"] = (
                unmatched.count)


def _finish_levels(
    contract: Contract, registry: Registry, streamed: dict[str, list[StreamedLevel]],
    data: dict[str, SourceData], *, evidence: bool, as_of: datetime | None, step: Progress,
) -> dict[str, LevelResult]:
    """Every level's result: the streamed ones finished, the others evaluated on the records
    held (period-level ones, and those whose records are derived, measured to ``as_of``);
    with ``evidence``, the records behind each failed period-level figure."""
    levels: dict[str, Level] = {}
    for streaming_levels in streamed.values():
        for streaming in streaming_levels:  # a period level fed by several sources: once
            levels.setdefault(streaming.level.id, streaming)
    for level in contract.service_levels:
        if level.id in levels:
            continue
        if isinstance(registry.metrics[level.metric], DerivedMetric):
            levels[level.id] = DerivedLevel(contract, level, registry, data, evidence, as_of)
        else:
            levels[level.id] = HeldLevel(contract, level, registry, data)
    deriving: dict[str, list[DerivedLevel]] = {}
    for level in levels.values():
        if isinstance(level, DerivedLevel):
            deriving.setdefault(level.level.source, []).append(level)
    for name, derived in deriving.items():  # each part read once for all its levels
        step(f"deriving from {name}")
        derive_parts(derived, data[name])
    results: dict[str, LevelResult] = {}
    for level_id, level in levels.items():
        step(f"evaluating {level_id}")
        results[level_id] = result = level.finish()
        if evidence and result.periods is not None:
            result.evidence = period_evidence(contract, level.level, data, registry,
                                              result.periods, result.verdicts)
    return results


@dataclass
class _Counter:
    count: int = 0


def _feeder(contract: Contract, name: str,
            streamed: dict[str, list[StreamedLevel]],
            joins: dict[str, list[str]], data: dict[str, SourceData],
            ) -> tuple[Callable[[pa.Table, np.ndarray], None], _Counter, Lanes]:
    """What happens to each batch of source ``name``: joined to its linked source (already
    read, in ``data``; the counter counts records without a match), then folded into each of
    its per-record levels, on two lanes when they are many (closed by the caller)."""
    levels = streamed.get(name, [])
    lanes = Lanes(levels)
    spec = contract.sources[name]
    unmatched = _Counter()
    indexes = next((lv.indexes for lv in levels if isinstance(lv, RecordLevel)), None)

    def feed(records: pa.Table, keys: np.ndarray) -> None:
        if name in joins:
            linked = contract.sources[str(spec.link)]
            records, missing = join(records, data[linked.name].records,
                                    linked.record_kind.id_field, joins[name])
            unmatched.count += missing
        lanes.add(Batch(records, keys, contract, spec.record_kind.time_field, indexes))

    return feed, unmatched, lanes
