"""Sources Spark reads that the local engine cannot name as local files: a catalog table
(``adapter = "spark-table"``) and an ``arrow`` source whose ``path`` is a URI (``s3a://``,
``abfss://``, ``hdfs://``, ``file://``), passed to Spark as it is written.

Each row gets an order key as a file's rows do: by file (the table's files Spark lists,
sorted) and row index where Spark knows them, else by Spark's row id. A Parquet file
pyarrow can open (a ``file:`` URI, a local table's files) is cut into the local engine's
batches by its row groups; another into batches of ``batch_rows`` rows.
"""

from __future__ import annotations

import re
import tomllib
from datetime import datetime
from typing import TYPE_CHECKING, Any

from slaengine.contract import Contract
from slaengine.errors import DataError
from slaengine.lazy import np, pa, pq
from slaengine.spark.partition import FILE_COLUMN, ROW_COLUMN, FileBatches, local_path
from slaengine.spark.read import quoted, spark_window

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
NO_FILE = "<table>"
"""The one pseudo-file of a table whose rows Spark cannot place in files."""


def remote_path(contract: Contract, name: str) -> str | None:
    """The ``path`` of an ``arrow`` source ``name`` as the contract writes it, when it is a
    URI (the contract's own reading resolves every path as a local file)."""
    spec = contract.sources[name]
    if spec.adapter != "arrow":
        return None
    try:
        raw = tomllib.loads(contract.text)["sources"][name]["path"]
    except (tomllib.TOMLDecodeError, KeyError, TypeError):
        return None
    return raw if isinstance(raw, str) and URI.match(raw) else None


def is_catalog(contract: Contract, name: str) -> bool:
    """Whether Spark reads source ``name`` without local files (a table, a URI)."""
    return (contract.sources[name].adapter == "spark-table"
            or remote_path(contract, name) is not None)


def where_of(contract: Contract, name: str) -> str:
    """What the report names as the source's place: the table or the URI."""
    spec = contract.sources[name]
    if spec.adapter == "spark-table":
        return f"table {spec.options['table']}"
    return remote_path(contract, name) or str(spec.path)


def catalog_frame(spark: SparkSession, contract: Contract, name: str,
                  columns: dict[str, str],
                  time_range: tuple[datetime | None, datetime | None], batch_rows: int,
                  ) -> tuple[DataFrame, dict[str, FileBatches]]:
    """Source ``name`` as a DataFrame of the needed ``columns`` with each row's file and row
    (or Spark's row id), the window pushed down; and how each file is cut into batches."""
    from pyspark.errors import AnalysisException
    from pyspark.sql import functions as F

    spec = contract.sources[name]
    place = where_of(contract, name)
    try:
        if spec.adapter == "spark-table":
            frame = spark.table(spec.options["table"])
        else:
            reader = spark.read
            if str(spec.options.get("partitioning", "hive")) != "hive":
                reader = reader.option("recursiveFileLookup", "true")
            frame = reader.parquet(place)
    except AnalysisException as exc:
        raise DataError(f"sources.{name}: Spark cannot read {place}: "
                        f"{str(exc).splitlines()[0]}", file=place) from None
    missing = [(f, c) for f, c in columns.items() if c not in frame.columns]
    if missing:
        listed = ", ".join(f'"{c}"' for c in frame.columns)
        problems = "\n".join(f'sources.{name}.fields.{f}: no column "{c}"' for f, c in missing)
        raise DataError(f"{problems}\nthe data's columns are: {listed}", file=place)
    names = [F.col(quoted(n)) for n in sorted(set(columns.values()))]
    files = sorted(frame.inputFiles())  # none for a view over rows, not files
    placed = None
    if files:
        try:
            placed = frame.select(*names, F.col("_metadata.file_path").alias(FILE_COLUMN),
                                  F.col("_metadata.row_index").alias(ROW_COLUMN))
        except AnalysisException:  # a source of files without Spark's file metadata
            placed = None
    if placed is None or not files:
        placed = frame.select(*names, F.lit(NO_FILE).alias(FILE_COLUMN),
                              F.monotonically_increasing_id().alias(ROW_COLUMN))
        layouts = {NO_FILE: _plain(0)}
    else:
        layouts = {local_path(uri): _layout(rank, uri, batch_rows)
                   for rank, uri in enumerate(files)}
    time_column = columns.get(spec.record_kind.time_field)
    if time_column is not None:
        where = spark_window(_arrow_schema(frame, time_column), time_column, time_range,
                             contract.timezone)
        if where is not None:
            placed = placed.filter(where)
    return placed, layouts


def _plain(rank: int) -> FileBatches:
    """Batches of ``batch_rows`` consecutive rows of a file (or of Spark's row ids)."""
    zero = np.zeros(1, dtype=np.int64)
    return FileBatches(rank, zero, zero, False)


def _layout(rank: int, uri: str, batch_rows: int) -> FileBatches:
    """How the local engine cuts Parquet file ``uri`` (row group by row group), when pyarrow
    can open it; else :func:`_plain`."""
    try:
        if URI.match(uri) and not uri.startswith("file:"):
            from pyarrow import fs

            filesystem, path = fs.FileSystem.from_uri(uri)
            with filesystem.open_input_file(path) as handle:
                meta = pq.ParquetFile(handle).metadata
        else:
            meta = pq.ParquetFile(local_path(uri)).metadata
    except (OSError, pa.ArrowException, ValueError):
        return _plain(rank)
    sizes = np.array([meta.row_group(i).num_rows for i in range(meta.num_row_groups)],
                     dtype=np.int64)
    if not len(sizes):
        return _plain(rank)
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1])).astype(np.int64)
    batches = -(-sizes // batch_rows)  # a dataset reads each row group in batches
    first = np.concatenate(([0], np.cumsum(batches)[:-1])).astype(np.int64)
    return FileBatches(rank, starts, first, False)


def _arrow_schema(frame: Any, column: str) -> pa.Schema:
    """The Arrow type of the time ``column`` as Spark holds it (microseconds; with a
    timezone unless it is ``TIMESTAMP_NTZ``)."""
    from pyspark.sql.types import TimestampNTZType, TimestampType

    kind = frame.schema[column].dataType
    if isinstance(kind, TimestampType):
        type_ = pa.timestamp("us", tz="UTC")
    elif isinstance(kind, TimestampNTZType):
        type_ = pa.timestamp("us")
    else:
        type_ = pa.string()
    return pa.schema([(column, type_)])
