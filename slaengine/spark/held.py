"""Period-level metrics without summaries on Spark (cost per contact, retention, ROI ...):
each evaluated in one task on its inputs' records, held there whole, by the local engine's
:class:`~slaengine.engine.levels.HeldLevel`.

The records of a level's input sources (:mod:`slaengine.spark.records`) are grouped by the
level (``groupBy(level).applyInArrow``): its task puts each source's records back in file
order and finishes the level; only the :class:`~slaengine.engine.levels.LevelResult` (the
verdicts, the account, the periods' keys) reaches the driver. A level whose sources kept no
record is finished on the driver on empty record sets, as locally.
"""

from __future__ import annotations

import pickle
import time
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from slaengine.contract import Contract
from slaengine.engine.levels import HeldLevel, LevelResult
from slaengine.errors import SlaError
from slaengine.lazy import pa
from slaengine.pluginmanager import Registry
from slaengine.spark.records import (
    Keeping,
    Shipped,
    blobs_by_source,
    error_of,
    held_levels,
    in_order,
    labelled,
    raise_error,
    source_data,
)

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

OUTPUT = "level string, result binary, error binary, rows long, seconds double"


@dataclass
class HeldJob(Shipped):
    """What each level's group runs (pickled to the executors)."""

    contract: Contract
    keeping: dict[str, Keeping]
    latest: dict[str, datetime | None]

    def __call__(self, key: tuple, table: pa.Table) -> pa.Table:
        level_id = str(key[0].as_py())
        result = error = None
        started = time.perf_counter()
        blobs = blobs_by_source(table)
        try:
            result = pickle.dumps(self.finish(level_id, blobs), protocol=5)
        except SlaError as exc:
            error = pickle.dumps(error_of(exc), protocol=5)
        rows = sum(pa.ipc.open_stream(pa.py_buffer(b)).read_all().num_rows
                   for found in blobs.values() for b in found)
        return pa.table({"level": pa.array([level_id]),
                         "result": pa.array([result], pa.binary()),
                         "error": pa.array([error], pa.binary()),
                         "rows": pa.array([rows], pa.int64()),
                         "seconds": pa.array([time.perf_counter() - started])})

    def finish(self, level_id: str, blobs: dict[str, list[bytes]]) -> LevelResult:
        return finish_held(self.contract, self.registry(), level_id, blobs, self.keeping,
                           self.latest)


def finish_held(contract: Contract, registry: Registry, level_id: str,
                blobs: dict[str, list[bytes]], keeping: dict[str, Keeping],
                latest: dict[str, datetime | None]) -> LevelResult:
    """Level ``level_id`` finished on its inputs' records (``blobs``: per source)."""
    level = next(lv for lv in contract.service_levels if lv.id == level_id)
    data = {name: source_data(contract, name, in_order(blobs.get(name, [])),
                              latest.get(name), keeping[name])
            for name in dict.fromkeys(level.inputs.values())}
    return HeldLevel(contract, level, registry, data).finish()


def evaluate_held(contract: Contract, registry: Registry,
                  frames: dict[str, DataFrame], keeping: dict[str, Keeping],
                  latest: dict[str, datetime | None],
                  costs: list[tuple[str, int, float, int]] | None = None,
                  ) -> dict[str, LevelResult]:
    """Every period-level result of a metric without summaries, each from one task.
    ``costs`` receives each level's ``(level, records, seconds, bytes of its result)``."""
    levels = held_levels(contract, registry)
    if not levels:
        return {}
    pairs = [(level.id, name) for level in levels for name in dict.fromkeys(level.inputs.values())]
    job = HeldJob(contract=contract, keeping=keeping, latest=latest)

    def run(key: tuple, table: pa.Table) -> pa.Table:
        return job(key, table)

    rows = labelled(frames, pairs, "level").groupBy("level").applyInArrow(run, OUTPUT).collect()
    results: dict[str, LevelResult] = {}
    place = {level.id: i for i, level in enumerate(levels)}
    for row in sorted(rows, key=lambda r: place[r["level"]]):  # a failure: the first level's
        if row["error"] is not None:
            raise_error(pickle.loads(row["error"]))  # written by HeldJob above
        results[row["level"]] = pickle.loads(row["result"])
        if costs is not None:
            costs.append((row["level"], row["rows"], row["seconds"], len(row["result"])))
    for level in levels:  # no record kept in any of its sources
        if level.id not in results:
            results[level.id] = finish_held(contract, registry, level.id, {}, keeping, latest)
    return results
