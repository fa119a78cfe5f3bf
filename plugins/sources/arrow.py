"""The ``arrow`` source: records from Parquet or Arrow IPC files, or a partitioned folder."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from slaengine import hookimpl
from slaengine.coerce import coerce
from slaengine.errors import DataError
from slaengine.fields import is_category
from slaengine.kinds import REJECT_SCHEMA, Source, SourceBatch, SourceConfig
from slaengine.plugins.sources._columns import check_columns, requested_columns

_BUFFER_BYTES = 1 << 20  # columns are read through 1 MiB buffers, not whole column chunks
SUFFIXES = {".parquet": "parquet", ".pq": "parquet", ".arrow": "ipc", ".feather": "ipc",
            ".ipc": "ipc"}
FORMAT_NAMES = {"parquet": "Parquet", "ipc": "Arrow IPC"}
# Per unit of a timestamp column: how many of it make a microsecond (ns) or a unit (s, ms).
_PER_US = {"s": (1, 1_000_000), "ms": (1, 1_000), "us": (1, 1), "ns": (1_000, 1)}
# A column without a timezone holds wall-clock times; the pushed-down window is widened by this
# much on each side so no DST or offset subtlety can drop a row the engine would keep.
_NAIVE_MARGIN = timedelta(days=1)


class ArrowSource(Source):
    """Read records from Parquet or Arrow IPC (Feather) data (``adapter = "arrow"``).

    Contract keys, besides ``adapter``, ``path`` and ``fields``:

    - ``format`` (``"parquet"`` or ``"ipc"``): by default taken from the file's suffix
      (``.parquet``/``.pq``: Parquet; ``.arrow``/``.feather``/``.ipc``: Arrow IPC) or, for a
      folder, from the suffixes of the files in it;
    - ``partitioning`` (``"hive"``, the default, or ``"none"``): how a folder's sub-folders name
      partition columns (``year=2026/month=03/part-0.parquet`` adds the columns ``year`` and
      ``month``, usable in ``fields`` like any other column).

    Example::

        [sources.tickets]
        adapter = "arrow"
        path = "data/tickets.parquet"          # or a folder: "data/tickets/"
        fields = { ticket_id = "Ticket ID", created_at = "Created", priority = "Priority" }

    Behaviour:

    - ``fields`` works as for CSV: it maps canonical names to column names; a field not in
      ``fields`` is looked up under its canonical name. The schema is checked before any data is
      read: a missing column stops the run with an error naming the file, the contract key, the
      closest column and every column the data has.
    - Only the needed columns are read (projection). Values are typed by
      :func:`slaengine.coerce.coerce`, exactly as CSV values are: typed timestamps with a
      timezone are exact instants, those without one are wall-clock times in the contract's
      timezone; integers, floats and decimals become counts or seconds (a float ``NaN`` is a
      missing value); text columns are parsed as CSV text is. Rows that break a rule are rejected
      with the same reasons as in CSV.
    - The evaluated window (``time_range``) is pushed down as a filter on the time field's
      column when that column is a timestamp, so Parquet row groups outside it are skipped.
      ``read`` then counts only rows inside the window (for a column without a timezone, inside
      the window widened by a day each side), plus rows whose time is missing (those are
      rejected, never silently dropped). Without a timestamp column nothing is pushed down.
    - Data streams in batches of up to ``batch_rows`` rows; each batch is typed and yielded on
      its own, so only the projected columns of a few batches are in memory at once. A single
      Parquet file is decoded a batch at a time (its row groups outside the window skipped by
      their statistics); folders and Arrow IPC go through ``pyarrow.dataset``. ``row`` in a
      reject is the row's 1-based index in the data read (in file order, after the window
      filter).
    - An Arrow IPC *stream* (rather than an IPC file) is read too, as a single file.
    """

    name = "arrow"
    schema: ClassVar[dict[str, Any]] = {
        "format": {"type": "string", "allowed": ["parquet", "ipc"]},
        "partitioning": {"type": "string", "allowed": ["hive", "none"]},
    }
    batch_rows: ClassVar[int] = 131_072

    def columns(self, config: SourceConfig) -> list[tuple[str, str]] | None:
        """The data's columns (partition columns included) and their Arrow types."""
        data = _open(config)
        return [(f.name, str(f.type)) for f in data.schema]

    def read(self, config: SourceConfig, fields: Sequence[str]) -> Iterator[SourceBatch]:
        """Yield the requested canonical ``fields`` batch by batch, in file order."""
        columns = requested_columns(config, fields)
        # Category columns are decoded as dictionaries: coerce then trims the dictionary only.
        data = _open(config, [columns[f] for f in fields if is_category(config.kind.fields[f])])
        check_columns(Path(config.path), config, columns, data.schema.names)
        names = sorted(set(columns.values()))
        time_column = columns.get(config.kind.time_field)
        where = _window(data.schema, time_column, config) if time_column else None

        offset = 0
        try:
            for batch in data.batches(names, where, self.batch_rows):
                table = pa.Table.from_batches([batch])
                n = table.num_rows
                rows = np.arange(offset + 1, offset + n + 1, dtype=np.int64)
                offset += n
                records, rejected = coerce(
                    table,
                    kind=config.kind,
                    columns=columns,
                    timezone=config.timezone,
                    rows=rows,
                    source=config.name,
                )
                yield SourceBatch(records=records, rejected=rejected, read=n)
        except (pa.ArrowInvalid, OSError) as exc:
            raise _unreadable(config, data.format, exc) from exc
        if offset == 0:
            yield SourceBatch(
                records=config.kind.schema(list(fields)).empty_table(),
                rejected=REJECT_SCHEMA.empty_table(),
                read=0,
            )


class _Data:
    """A dataset (files) or a single IPC stream, with one way to scan either."""

    def __init__(
        self,
        format_: str,
        dataset: ds.Dataset | None = None,
        stream: Path | None = None,
        schema: pa.Schema | None = None,
        parquet: pq.ParquetFile | None = None,
    ) -> None:
        self.format = format_
        self.dataset = dataset
        self.stream = stream
        self.parquet = parquet
        self.schema: pa.Schema = dataset.schema if dataset is not None else schema

    def batches(
        self, names: list[str], where: ds.Expression | None, batch_rows: int
    ) -> Iterator[pa.RecordBatch]:
        if self.parquet is not None:
            yield from _parquet_batches(self, names, where, batch_rows)
            return
        if self.dataset is not None:
            # Little read-ahead: the engine keeps the typed records; raw batches should not pile up.
            yield from self.dataset.to_batches(
                columns=names, filter=where, batch_size=batch_rows,
                batch_readahead=1, fragment_readahead=1,
            )
            return
        assert self.stream is not None
        with pa.OSFile(str(self.stream), "rb") as handle:
            reader = pa.ipc.open_stream(handle)
            scanner = ds.Scanner.from_batches(
                reader, columns=names, filter=where, batch_size=batch_rows
            )
            yield from scanner.to_batches()


def _parquet_batches(
    data: _Data, names: list[str], where: ds.Expression | None, batch_rows: int
) -> Iterator[pa.RecordBatch]:
    """One Parquet file, decoded a batch at a time (the dataset scanner decodes whole row
    groups ahead: several times the memory). Row groups whose statistics put every row outside
    ``where``'s window are skipped (Arrow's own pruning), the rest filtered batch by batch."""
    assert data.parquet is not None and data.dataset is not None
    groups = list(range(data.parquet.num_row_groups))
    if where is not None:
        groups = sorted(group.id for fragment in data.dataset.get_fragments()
                        for part in fragment.split_by_row_group(where)
                        for group in part.row_groups)
    if not groups:
        return
    for batch in data.parquet.iter_batches(batch_size=batch_rows, columns=names,
                                           row_groups=groups, use_threads=True):
        if where is None:
            yield batch
        else:
            yield from pa.Table.from_batches([batch]).filter(where).combine_chunks().to_batches()


def _open(config: SourceConfig, dictionary_columns: Sequence[str] = ()) -> _Data:
    """The dataset at ``config.path``, or a clear DataError saying why it cannot be opened."""
    path = Path(config.path)
    if not path.exists():
        raise DataError(f"file or folder not found (sources.{config.name}.path)", file=path)
    format_ = _format(path, config)
    partitioning = str(config.options.get("partitioning", "hive"))
    try:
        if path.is_dir():
            dataset = ds.dataset(
                str(path), format=_file_format(format_, dictionary_columns),
                partitioning="hive" if partitioning == "hive" else None,
            )
            if not dataset.files:
                raise DataError(f"the folder holds no {FORMAT_NAMES[format_]} files", file=path)
            return _Data(format_, dataset=dataset)
        if format_ == "ipc" and _is_stream(path):
            with pa.OSFile(str(path), "rb") as handle:
                schema = pa.ipc.open_stream(handle).schema
            return _Data(format_, stream=path, schema=schema)
        dataset = ds.dataset(str(path), format=_file_format(format_, dictionary_columns))
        if format_ == "parquet":
            present = [c for c in dictionary_columns if c in dataset.schema.names]
            parquet = pq.ParquetFile(str(path), read_dictionary=present,
                                     pre_buffer=False, buffer_size=_BUFFER_BYTES)
            return _Data(format_, dataset=dataset, parquet=parquet)
        return _Data(format_, dataset=dataset)
    except (pa.ArrowInvalid, OSError) as exc:
        raise _unreadable(config, format_, exc) from exc


def _file_format(format_: str, dictionary_columns: Sequence[str] = ()) -> ds.FileFormat | str:
    """Parquet without pre-buffering (whole row groups' bytes are not held ahead of decoding),
    reading ``dictionary_columns`` as dictionaries."""
    if format_ == "parquet":
        options = ds.ParquetFragmentScanOptions(pre_buffer=False, use_buffered_stream=True,
                                                buffer_size=1 << 20)
        read = ds.ParquetReadOptions(dictionary_columns=list(dictionary_columns))
        return ds.ParquetFileFormat(read_options=read, default_fragment_scan_options=options)
    return format_


def _format(path: Path, config: SourceConfig) -> str:
    """``parquet`` or ``ipc``: the ``format`` key, else the suffix, else the folder's files."""
    chosen = config.options.get("format")
    if chosen:
        return str(chosen)
    key = f"sources.{config.name}.format"
    if path.is_file():
        found = SUFFIXES.get(path.suffix.lower())
        if found is None:
            raise DataError(
                f'cannot tell the format from the suffix "{path.suffix}"; set {key} to '
                f'"parquet" or "ipc" (suffixes known: {", ".join(sorted(SUFFIXES))})',
                file=path,
            )
        return found
    kinds = {
        SUFFIXES[p.suffix.lower()]
        for p in path.rglob("*")
        if p.is_file() and p.suffix.lower() in SUFFIXES
        and not any(part.startswith((".", "_")) for part in p.relative_to(path).parts)
    }
    if len(kinds) == 1:
        return kinds.pop()
    if not kinds:
        raise DataError(
            f"the folder holds no Parquet or Arrow files (suffixes known: "
            f"{', '.join(sorted(SUFFIXES))}); set {key} if its files have other names",
            file=path,
        )
    raise DataError(f'the folder holds both Parquet and Arrow files; set {key}', file=path)


def _is_stream(path: Path) -> bool:
    """True for an Arrow IPC stream (no ``ARROW1`` file magic at the start)."""
    with path.open("rb") as handle:
        return handle.read(6) != b"ARROW1"


def _window(
    schema: pa.Schema, column: str, config: SourceConfig
) -> ds.Expression | None:
    """``start <= column < end`` (or missing) when ``column`` is a timestamp; else None."""
    start, end = config.time_range
    if start is None and end is None:
        return None
    type_ = schema.field(column).type
    if not pa.types.is_timestamp(type_):
        return None
    field = ds.field(column)
    where = field.is_null()
    inside: ds.Expression | None = None
    if start is not None:
        inside = field >= _bound(start, type_, config.timezone, -_NAIVE_MARGIN, ceil=False)
    if end is not None:
        below = field < _bound(end, type_, config.timezone, _NAIVE_MARGIN, ceil=True)
        inside = below if inside is None else inside & below
    assert inside is not None
    return where | inside


def _bound(
    moment: datetime, type_: pa.TimestampType, timezone: str, margin: timedelta, *, ceil: bool
) -> pa.Scalar:
    """A UTC instant as a scalar of the column's timestamp type.

    A column with a timezone stores UTC instants: exact, rounded outwards to its unit. A column
    without one stores wall-clock times (read in the contract's timezone): the local wall time,
    widened by ``margin``.
    """
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if type_.tz is None:
        wall = moment.astimezone(ZoneInfo(timezone)).replace(tzinfo=None) + margin
        moment = wall.replace(tzinfo=UTC)
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    times, per = _PER_US[type_.unit]
    value = micros * times
    value = -(-value // per) if ceil else value // per
    return pa.scalar(value, type=type_)


def _unreadable(config: SourceConfig, format_: str, exc: BaseException) -> DataError:
    return DataError(
        f"cannot be read as {FORMAT_NAMES.get(format_, format_)}: {exc} "
        f"(sources.{config.name}.path; set sources.{config.name}.format if the format is wrong)",
        file=config.path,
    )


@hookimpl
def register_sources() -> list[Source]:
    """Offer the ``arrow`` adapter."""
    return [ArrowSource()]
