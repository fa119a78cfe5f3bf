"""The rejected and superseded rows of every source, written by Spark (``--rejects``).

The rows the local engine's ``--rejects`` writes (:func:`slaengine.plugin.reject_schema`:
source, row, field, value, reason; a duplicate's reason starts with ``duplicate``), made
inside Spark by a second job over the same input and written by ``DataFrame.write``: they
never pass through the driver. A source read whole by its adapter
(:mod:`slaengine.spark.whole`) gives its batches' rejected and duplicate rows as they are; a
source Spark splits is typed again by :func:`slaengine.coerce.coerce`, each rejected row
numbered as the ``arrow`` adapter numbers it (its 1-based place in the rows read, in file
order): each row group's rows read are counted first (one number per row group reaches the
driver), and a row's place is the rows of the row groups before its own plus its place in
its row group (:data:`Run`).

The location is a folder of part files, CSV with a header (formulas neutralised, as the
local file) or Parquet when its name ends in ``.parquet``; a location that exists is refused,
never replaced. What was written is counted back and must equal the report's rejected and
duplicate rows (the input read twice must not have changed in between).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from slaengine.contract import Contract
from slaengine.engine.plan import needed_fields
from slaengine.engine.read import source_config, source_files
from slaengine.errors import DataError, UsageError
from slaengine.lazy import np, pa
from slaengine.outputs import neutralise_table
from slaengine.plugin import reject_schema
from slaengine.pluginmanager import Registry
from slaengine.spark import catalog
from slaengine.spark.partition import PartitionJob
from slaengine.spark.read import file_batches, schema_of, spark_frame
from slaengine.spark.whole import adapter_batches, is_whole, whole_frame
from slaengine.verdicts import Evaluation

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def is_uri(location: str) -> bool:
    """Whether ``location`` is a URI (``s3a://``, ``hdfs://``, ``file://``) rather than a path."""
    return bool(_URI.match(location))


def is_parquet(location: str) -> bool:
    """Parquet when the location's name ends in ``.parquet``; CSV otherwise."""
    return location.rstrip("/").lower().endswith(".parquet")


def check_location(location: str) -> None:
    """Refuse (exit 2) a local location that exists or whose folder does not: Spark writes a
    new folder there, and nothing is overwritten. A URI's existence is checked by Spark when
    it writes."""
    if is_uri(location) and not location.startswith("file:"):
        return
    path = Path(location[len("file://"):] if location.startswith("file://") else location)
    if path.exists() or path.is_symlink():
        raise UsageError(f"--rejects {location} exists: Spark writes the rejected rows as a new "
                         "folder and replaces nothing; remove it or give another location")
    if not path.absolute().parent.is_dir():
        raise UsageError(f"--rejects {location}: no such folder {path.absolute().parent}; "
                         "create it first")


def write_rejects(spark: SparkSession, contract: Contract, registry: Registry,
                  evaluation: Evaluation, location: str, *,
                  as_of: datetime | None = None) -> int:
    """Write every rejected and duplicate row of ``contract``'s sources to ``location`` (see
    the module) and return how many; ``evaluation`` is the report they must reconcile with
    (evaluated with the same ``as_of``)."""
    check_location(location)
    registry = registry.with_clocks(contract.clocks)
    local = replace(contract, sources={name: spec for name, spec in contract.sources.items()
                                       if not catalog.is_catalog(contract, name)})
    files = source_files(local, registry)
    frames = [_rejects_of(spark, contract, registry, name, fields, files.get(name, []),
                          as_of, csv=not is_parquet(location))
              for name, fields in needed_fields(contract, registry).items()]
    found = frames[0]
    for frame in frames[1:]:
        found = found.unionByName(frame)
    writer = found.write.mode("errorifexists")
    try:
        if is_parquet(location):
            writer.parquet(location)
        else:
            _csv(writer).csv(location)
    except Exception as exc:  # Spark's error (an existing location, a refused write)
        if type(exc).__name__ not in ("AnalysisException", "Py4JJavaError",
                                      "IllegalArgumentException", "PythonException"):
            raise
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UsageError(f"--rejects {location}: Spark could not write it: {first}") from None
    written = _written(spark, location)
    expected = sum(a.rejected + a.duplicates for a in evaluation.sources.values())
    if written != expected:
        raise DataError(f"--rejects {location}: {written} rows written, but the report counts "
                        f"{expected} rejected and duplicate rows (did the input change while "
                        "it was read?): what was written there does not match the report; "
                        "remove it and evaluate again")
    return written


def _csv(handle: Any) -> Any:
    """CSV as the local file: a header, quotes doubled inside a quoted value, spaces kept
    (Spark trims them when writing, unless told not to)."""
    return (handle.option("header", True).option("quote", '"').option("escape", '"')
            .option("multiLine", True).option("ignoreLeadingWhiteSpace", False)
            .option("ignoreTrailingWhiteSpace", False))


def _written(spark: SparkSession, location: str) -> int:
    reader = spark.read.schema(_spark_schema())
    frame = (reader.parquet(location) if is_parquet(location)
             else _csv(reader).csv(location))
    return int(frame.count())


def _spark_schema() -> Any:
    from pyspark.sql.types import LongType, StringType, StructField, StructType

    return StructType([StructField(f.name, LongType() if f.name == "row" else StringType())
                       for f in reject_schema()])


def _rejects_of(spark: SparkSession, contract: Contract, registry: Registry, name: str,
                fields: list[str], files: list[Path], as_of: datetime | None, *,
                csv: bool) -> DataFrame:
    """Source ``name``'s rejected and duplicate rows, as a Spark DataFrame."""
    schema = _spark_schema()
    if is_whole(contract, name, files):
        job: Any = WholeRejects(contract, name, list(fields), as_of, csv)
        return whole_frame(spark).mapInArrow(job, schema)
    spec = contract.sources[name]
    config = source_config(contract, spec)
    columns = {f: config.fields.get(f, f) for f in fields}
    time_range = (None, as_of)
    batch_rows = int(registry.sources[spec.adapter].batch_rows)
    types: dict[str, pa.DataType] = {}
    if catalog.is_catalog(contract, name):
        frame, layouts = catalog.catalog_frame(spark, contract, name, columns, time_range,
                                               batch_rows)
    else:
        frame = spark_frame(spark, contract, spec, files, columns, time_range)
        layouts = file_batches(files, spec, columns, time_range, contract.timezone, batch_rows)
        # Spark gives timestamps in its session's zone: a reject's value is written in the
        # file's own, as the arrow adapter writes it
        types = {f.name: f.type for f in schema_of(files, spec)
                 if f.name in columns.values() and pa.types.is_timestamp(f.type)}
    places = PartitionJob(contract=contract, source=name, columns=columns, files=layouts,
                          batch_rows=batch_rows)
    counted = (frame.mapInArrow(RunCounts(places), "rank long, grp long, first long, n long")
               .groupBy("rank", "grp", "first").sum("n"))
    before = _runs_before(counted.collect())
    return frame.mapInArrow(SplitRejects(places, before, types, csv), schema)


Run = tuple[int, int, int]
"""A run of rows one Spark task reads: (file rank, row group, the first row the task reads of
it). A Parquet row group is never split between tasks: a run is a row group; a file read
without its row groups (or a view's rows) is split at Spark's boundaries, one run a task."""


def _runs_before(counts: list[Any]) -> dict[Run, int]:
    """Per run: the rows read in the runs before it (one number per run, whatever the
    rows)."""
    found, total = {}, 0
    for rank, group, first, n in sorted(tuple(int(v) for v in r) for r in counts):
        found[(rank, group, first)] = total
        total += n
    return found


@dataclass
class _Runs:
    """The runs one task meets, batch by batch: each row's run and place in it (1-based)."""

    job: PartitionJob
    firsts: dict[int, int] = field(default_factory=dict)  # per row group: its first row
    seen: dict[int, int] = field(default_factory=dict)  # per row group: its rows met so far

    def of(self, batch: pa.RecordBatch) -> Iterator[tuple[Run, np.ndarray, np.ndarray]]:
        """Per run of ``batch``: the run, its rows in the batch, their places in the run."""
        from slaengine.spark.partition import RANK_BITS

        order, _ = self.job._keys(batch)
        rank = order >> RANK_BITS
        rows = order & ((np.int64(1) << RANK_BITS) - 1)
        groups = np.empty(len(order), dtype=np.int64)
        layouts = {layout.rank: layout for layout in self.job.files.values()}
        for value in np.unique(rank).tolist():  # once per file of the batch
            mine = rank == value
            groups[mine] = np.searchsorted(layouts[value].starts, rows[mine], side="right") - 1
        keys = (rank << 32) | groups
        for value in np.unique(keys).tolist():  # once per row group of the batch
            mine = np.flatnonzero(keys == value)
            first = self.firsts.setdefault(value, int(rows[mine[0]]))
            start = self.seen.get(value, 0)
            self.seen[value] = start + len(mine)
            yield ((value >> 32, value & 0xFFFFFFFF, first), mine,
                   start + np.arange(1, len(mine) + 1, dtype=np.int64))


@dataclass
class RunCounts:
    """The rows of each run a task reads (see :data:`Run`)."""

    job: PartitionJob

    def __call__(self, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        runs = _Runs(self.job)
        for batch in batches:
            if not batch.num_rows:
                continue
            found = [(run, len(rows)) for run, rows, _ in runs.of(batch)]
            yield pa.RecordBatch.from_arrays(
                [pa.array([run[i] for run, _ in found], pa.int64()) for i in range(3)]
                + [pa.array([n for _, n in found], pa.int64())],
                names=["rank", "grp", "first", "n"])


@dataclass
class SplitRejects:
    """A partition's rows typed as the local engine types them; the rejected rows out, each
    with its place in the rows read (1-based, as the ``arrow`` adapter numbers them)."""

    job: PartitionJob
    before: dict[Run, int]
    types: dict[str, pa.DataType]  # the file's types of its timestamp columns
    csv: bool

    def __call__(self, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        from slaengine.coerce import coerce
        from slaengine.spark.partition import FILE_COLUMN, ROW_COLUMN

        job = self.job
        contract = job.contract
        kind = contract.sources[job.source].record_kind
        runs = _Runs(job)
        for batch in batches:
            if not batch.num_rows:
                continue
            places = np.empty(batch.num_rows, dtype=np.int64)
            for run, rows, within in runs.of(batch):
                places[rows] = self.before[run] + within
            raw = pa.Table.from_batches([batch]).drop_columns([FILE_COLUMN, ROW_COLUMN])
            for name, type_ in self.types.items():
                at = raw.schema.get_field_index(name)
                if at >= 0 and raw.schema.field(at).type != type_:
                    raw = raw.set_column(at, name, raw.column(at).cast(type_))
            _, rejected = coerce(raw, kind=kind, columns=job.columns,
                                 timezone=contract.timezone, rows=places, source=job.source)
            if rejected.num_rows:
                yield from _out(rejected, self.csv)


@dataclass
class WholeRejects:
    """The one task that reads a source whole through its adapter: its batches' rejected
    and duplicate rows, in its order."""

    contract: Contract
    source: str
    fields: list[str]
    as_of: datetime | None
    csv: bool

    def __getstate__(self) -> dict[str, Any]:
        job = PartitionJob(contract=self.contract, source=self.source, columns={}, files={},
                           batch_rows=0)
        return {**vars(self), "contract": job.__getstate__()["contract"]}

    def __setstate__(self, state: dict[str, Any]) -> None:
        import pickle

        vars(self).update({**state, "contract": pickle.loads(state["contract"])})

    def __call__(self, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for _ in batches:  # the one row that starts the task
            pass
        for batch in adapter_batches(self.contract, self.source, self.fields, self.as_of):
            for table in (batch.rejected, batch.duplicates):
                if table.num_rows:
                    yield from _out(table, self.csv)


def _out(table: pa.Table, csv: bool) -> Iterator[pa.RecordBatch]:
    """Rows of the reject schema (formulas neutralised for CSV, as the local file)."""
    table = table.select(reject_schema().names).cast(reject_schema())
    if csv:
        table = neutralise_table(table).cast(reject_schema())
    yield from table.to_batches()
