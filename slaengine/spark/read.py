"""An ``arrow`` source read by Spark: exactly the files the local engine reads (the manifest
hashes them), only the needed columns, the evaluated window pushed down as a filter, and how
the local engine cuts each file into batches.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from slaengine.contract import Contract, SourceSpec
from slaengine.errors import DataError, UsageError
from slaengine.lazy import ds, np, pa, pq
from slaengine.spark.partition import FILE_COLUMN, ROW_COLUMN, FileBatches

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

# Per unit of a timestamp column: how many microseconds one unit is.
_MICROS = {"s": 1_000_000, "ms": 1_000, "us": 1}
# A column without a timezone holds wall-clock times: the window is widened by a day each side
# (as the arrow adapter pushes it down).
_NAIVE_MARGIN = timedelta(days=1)
_IPC_SUFFIXES = (".arrow", ".feather", ".ipc")


def spark_frame(spark: SparkSession, contract: Contract, spec: SourceSpec, files: list[Path],
                columns: dict[str, str], time_range: tuple[datetime | None, datetime | None],
                ) -> DataFrame:
    """``files`` of ``spec`` as a Spark DataFrame of the needed ``columns`` (and each row's file
    and row index), rows outside ``time_range`` left out as the arrow adapter leaves them out."""
    ipc = [f for f in files if f.suffix.lower() in _IPC_SUFFIXES]
    if ipc:
        raise UsageError(f"--engine spark reads Parquet files; {ipc[0]} is Arrow IPC "
                         f"(sources.{spec.name}): --engine local evaluates it")
    reader = spark.read
    folder = Path(spec.path)
    if folder.is_dir() and str(spec.options.get("partitioning", "hive")) == "hive":
        reader = reader.option("basePath", os.path.abspath(folder))
    frame = reader.parquet(*[os.path.abspath(f) for f in files])
    names = sorted(set(columns.values()))
    missing = [(f, c) for f, c in columns.items() if c not in frame.columns]
    if missing:
        listed = ", ".join(f'"{c}"' for c in frame.columns)
        problems = "\n".join(f'sources.{spec.name}.fields.{f}: no column "{c}"'
                             for f, c in missing)
        raise DataError(f"{problems}\nthe data's columns are: {listed}", file=spec.path)
    from pyspark.sql import functions as F

    frame = frame.select(*[F.col(quoted(n)) for n in names],
                         F.col("_metadata.file_path").alias(FILE_COLUMN),
                         F.col("_metadata.row_index").alias(ROW_COLUMN))
    time_column = columns.get(spec.record_kind.time_field)
    if time_column is not None:
        where = spark_window(schema_of(files, spec), time_column, time_range,
                             contract.timezone)
        if where is not None:
            frame = frame.filter(where)
    return frame


def quoted(name: str) -> str:
    """``name`` as a Spark column reference (backticks, doubled inside)."""
    return "`" + name.replace("`", "``") + "`"


def schema_of(files: list[Path], spec: SourceSpec) -> pa.Schema:
    """The Arrow schema the local engine sees (a folder's hive columns too)."""
    folder = Path(spec.path)
    hive = folder.is_dir() and str(spec.options.get("partitioning", "hive")) == "hive"
    return ds.dataset([str(f) for f in files], format="parquet",
                      partitioning=ds.partitioning(flavor="hive") if hive else None,
                      partition_base_dir=str(folder) if hive else None).schema


def window_bounds(type_: pa.DataType, time_range: tuple[datetime | None, datetime | None],
                  timezone: str) -> tuple[int | None, int | None] | None:
    """``[start, end)`` in the column's own unit, as the arrow adapter pushes it down (a
    column without a timezone: wall time widened by a day each side); None when nothing is
    pushed down (no window, not a timestamp, a bound the unit cannot hold)."""
    start, end = time_range
    if (start is None and end is None) or not pa.types.is_timestamp(type_):
        return None
    per = {"s": 1_000_000, "ms": 1_000, "us": 1, "ns": 1}[type_.unit]
    times = 1_000 if type_.unit == "ns" else 1

    def bound(moment: datetime, margin: timedelta, ceil: bool) -> int:
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        if type_.tz is None:
            wall = moment.astimezone(ZoneInfo(timezone)).replace(tzinfo=None) + margin
            moment = wall.replace(tzinfo=UTC)
        delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
        value = ((delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds) * times
        return -(-value // per) if ceil else value // per

    try:
        low = bound(start, -_NAIVE_MARGIN, False) if start is not None else None
        high = bound(end, _NAIVE_MARGIN, True) if end is not None else None
        for value in (low, high):
            if value is not None:
                pa.scalar(value, type=type_)
    except (OverflowError, pa.ArrowException):
        return None
    return low, high


def arrow_window(schema: pa.Schema, column: str,
                 time_range: tuple[datetime | None, datetime | None], timezone: str,
                 ) -> ds.Expression | None:
    """The arrow adapter's filter: ``column`` missing, or inside the window."""
    type_ = schema.field(column).type
    bounds = window_bounds(type_, time_range, timezone)
    if bounds is None:
        return None
    field = ds.field(column)
    inside: Any = None
    if bounds[0] is not None:
        inside = field >= pa.scalar(bounds[0], type=type_)
    if bounds[1] is not None:
        below = field < pa.scalar(bounds[1], type=type_)
        inside = below if inside is None else inside & below
    return field.is_null() | inside


def spark_window(schema: pa.Schema, column: str,
                 time_range: tuple[datetime | None, datetime | None], timezone: str,
                 ) -> Column | None:
    """The same filter on Spark's column (a plain comparison with a literal, which Spark
    pushes down into the Parquet reader)."""
    type_ = schema.field(column).type
    bounds = window_bounds(type_, time_range, timezone)
    if bounds is None:
        return None
    if type_.unit == "ns":
        raise UsageError(f'--engine spark does not read nanosecond timestamps (column "{column}")'
                         ": --engine local evaluates it")
    from pyspark.sql import functions as F

    field = F.col(quoted(column))

    def literal(value: int) -> Column:
        micros = value * _MICROS[type_.unit]
        if type_.tz is not None:
            return F.timestamp_micros(F.lit(micros))
        wall = datetime(1970, 1, 1) + timedelta(microseconds=micros)
        return F.expr(f"TIMESTAMP_NTZ '{wall.isoformat(sep=' ', timespec='microseconds')}'")

    inside: Any = None
    if bounds[0] is not None:
        inside = field >= literal(bounds[0])
    if bounds[1] is not None:
        below = field < literal(bounds[1])
        inside = below if inside is None else inside & below
    return field.isNull() | inside


def file_batches(files: list[Path], spec: SourceSpec, columns: dict[str, str],
                 time_range: tuple[datetime | None, datetime | None], timezone: str,
                 batch_rows: int) -> dict[str, FileBatches]:
    """How the local engine cuts each file into batches, by its local path as Spark names it.

    A single Parquet file is read over the row groups the window leaves (Arrow's own pruning
    by statistics, as the arrow adapter prunes them); the files of a folder row group by row
    group."""
    single = len(files) == 1 and not Path(spec.path).is_dir()
    found = {}
    for rank, file in enumerate(files):
        meta = pq.ParquetFile(file).metadata
        sizes = np.array([meta.row_group(i).num_rows for i in range(meta.num_row_groups)],
                         dtype=np.int64)
        starts = np.concatenate(([0], np.cumsum(sizes)[:-1])).astype(np.int64)
        if single:
            read = np.ones(len(sizes), dtype=bool)
            time_column = columns.get(spec.record_kind.time_field)
            where = (arrow_window(schema_of(files, spec), time_column, time_range, timezone)
                     if time_column is not None else None)
            if where is not None:
                read[:] = False
                fragment = next(ds.dataset([str(file)], format="parquet").get_fragments())
                for part in fragment.split_by_row_group(where):
                    for group in part.row_groups:
                        read[group.id] = True
            skipped = np.cumsum(np.where(read, 0, sizes)) - np.where(read, 0, sizes)
            found[os.path.abspath(file)] = FileBatches(rank, starts[read], skipped[read], True)
        else:
            batches = -(-sizes // batch_rows)  # a dataset reads each row group in batches
            first = np.concatenate(([0], np.cumsum(batches)[:-1])).astype(np.int64)
            found[os.path.abspath(file)] = FileBatches(rank, starts, first, False)
    return found

