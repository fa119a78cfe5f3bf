"""The ``arrow`` source: records from Parquet or Arrow IPC files, or a partitioned folder."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from slaengine import hookimpl
from slaengine.errors import DataError
from slaengine.fields import is_category
from slaengine.inputs import source_files
from slaengine.lazy import ds, np, pa, pq
from slaengine.plugin import Source, SourceBatch, SourceConfig, reject_schema
from slaengine.plugins.sources._columns import check_columns, requested_columns
from slaengine.readahead import read_ahead

_BUFFER_BYTES = 1 << 20  # columns are read through 1 MiB buffers, not whole column chunks
SUFFIXES = {".parquet": "parquet", ".pq": "parquet", ".arrow": "ipc", ".feather": "ipc",
            ".ipc": "ipc"}
FORMAT_NAMES = {"parquet": "Parquet", "ipc": "Arrow IPC"}
# Per unit of a timestamp column: how many of it make a microsecond (ns) or a unit (s, ms).
_PER_US = {"s": (1, 1_000_000), "ms": (1, 1_000), "us": (1, 1), "ns": (1_000, 1)}
# A column without a timezone holds wall-clock times; the pushed-down window is widened by this
# much on each side so no DST or offset subtlety can drop a row the engine would keep.
_NAIVE_MARGIN = timedelta(days=1)
NATIVE_ID_KINDS = ("tickets",)
"""Kinds whose integer ids stay integers in the records (converting ten million ids to text
costs more than reading them; the ids a report shows are made text then). Their id is the
record's own identity, compared only with itself or through a link. Events carry the id of
the ticket whose history they are, which the clocks group as text."""


class ArrowSource(Source):
    """Read records from Parquet or Arrow IPC (Feather) data (``adapter = "arrow"``).

    Contract keys, besides ``adapter``, ``path`` and ``fields``:

    - ``format`` (``"parquet"`` or ``"ipc"``): by default taken from the file's suffix
      (``.parquet``/``.pq``: Parquet; ``.arrow``/``.feather``/``.ipc``: Arrow IPC) or, for a
      folder or a pattern, from the suffixes of its files;
    - ``partitioning`` (``"hive"``, the default, or ``"none"``): how a folder's sub-folders name
      partition columns (``year=2026/month=03/part-0.parquet`` adds the columns ``year`` and
      ``month``, usable in ``fields`` like any other column).

    Example::

        [sources.tickets]
        adapter = "arrow"
        path = "data/tickets.parquet"          # or a folder: "data/tickets/"
        fields = { ticket_id = "Ticket ID", created_at = "Created", priority = "Priority" }

    Behaviour:

    - The files read are exactly :meth:`files`: ``path`` is a file (even one whose name holds
      glob characters), a folder, or a glob pattern (``data/part-*.parquet``), by the one rule
      of :mod:`slaengine.inputs`: a folder is walked once through symbolic links (a link loop
      is not followed again), hidden ``.x``/``_x`` entries are left out, and a file reached
      twice (two links, a pattern overlapping a folder) is read once. In a folder or a pattern
      only files with a known suffix are read, or, when ``format`` is set, every file.
    - ``fields`` works as for CSV: it maps canonical names to column names; a field not in
      ``fields`` is looked up under its canonical name. The schema is checked before any data is
      read: a missing column stops the run with an error naming the file, the contract key, the
      closest column and every column the data has.
    - Only the needed columns are read (projection). Values are typed by
      :func:`slaengine.coerce.coerce`, exactly as CSV values are: typed timestamps with a
      timezone are exact instants, those without one are wall-clock times in the contract's
      timezone; integers, floats and decimals become counts or seconds (a float ``NaN``,
      ``inf`` or ``-inf`` is rejected as not a number, as the text ``nan`` is in CSV); text
      columns (large, binary or dictionary-encoded too) are parsed as CSV text is. Rows that
      break a rule are rejected with the same reasons as in CSV. A column whose type the field
      cannot take (a struct, a list, a map, binary where a number belongs) stops the run
      before any data is read, naming the file, the column, its type and what the field
      expects.
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

    def files(self, config: SourceConfig) -> list[Path]:
        """The Parquet or Arrow files behind ``path`` (see the class), each once, by path."""
        accept = None if config.options.get("format") else _known_suffix
        return source_files(config.path, f"sources.{config.name}.path", accept,
                            what=f"Parquet or Arrow files (suffixes known: {_KNOWN}); set "
                                 f"sources.{config.name}.format if its files have other names")

    def columns(self, config: SourceConfig) -> list[tuple[str, str]] | None:
        """The data's columns (partition columns included) and their Arrow types."""
        data = _open(config, self.files(config))
        return [(f.name, str(f.type)) for f in data.schema]

    def read(self, config: SourceConfig, fields: Sequence[str]) -> Iterator[SourceBatch]:
        """Yield the requested canonical ``fields`` batch by batch, in file order."""
        from slaengine.coerce import coerce
        from slaengine.progress import known_size

        columns = requested_columns(config, fields)
        files = self.files(config)
        # Category columns are decoded as dictionaries: coerce then trims the dictionary only.
        data = _open(config, files,
                     [columns[f] for f in fields if is_category(config.kind.fields[f])])
        check_columns(data.where, config, columns, data.schema.names)
        _check_types(data, config, columns)
        names = sorted(set(columns.values()))
        time_column = columns.get(config.kind.time_field)
        where = _window(data.schema, time_column, config) if time_column else None

        size, rows_in_files = known_size(files), _row_count(data)
        offset = 0
        batches = _scan(data, names, where, self.batch_rows, config)
        if data.parquet is not None:
            # One file decoded a batch ahead on a thread of its own while the batch before is
            # typed here (see _parquet_batches).
            batches = read_ahead(batches, name="slaengine-decode")
        with closing(batches):  # the decoding thread ends with the read, however it ends
            for batch in batches:
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
                    native_id=config.kind.name in NATIVE_ID_KINDS,
                )
                # How far the reading has come, by the share of the files' rows read (rows a time
                # window leaves out are not counted: the share then ends short of the whole).
                position = (min(size, size * offset // rows_in_files)
                            if size is not None and rows_in_files else None)
                yield SourceBatch(records=records, rejected=rejected, read=n, position=position)
        if offset == 0:
            yield SourceBatch(
                records=config.kind.schema(list(fields)).empty_table(),
                rejected=reject_schema().empty_table(),
                read=0,
            )


class _Data:
    """A dataset (files) or a single IPC stream, with one way to scan either."""

    def __init__(
        self,
        format_: str,
        where: Path,
        dataset: ds.Dataset | None = None,
        stream: Path | None = None,
        schema: pa.Schema | None = None,
        parquet: pq.ParquetFile | None = None,
    ) -> None:
        self.format = format_
        self.where = where  # the file, folder or pattern named in errors
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
    ``where``'s window are skipped (Arrow's own pruning), the rest filtered batch by batch.

    The batches are decoded on a thread of their own (:meth:`ArrowSource.read`), typed on the
    engine's reading thread and counted on the evaluating thread: three busy threads. Arrow's
    thread pool decodes a batch's columns side by side too only where there are cores to
    spare (:func:`_decode_threads`)."""
    assert data.parquet is not None
    groups = list(range(data.parquet.num_row_groups))
    if where is not None:
        dataset = data.dataset or ds.dataset([str(data.where)], format=_file_format(data.format))
        groups = sorted(group.id for fragment in dataset.get_fragments()
                        for part in fragment.split_by_row_group(where)
                        for group in part.row_groups)
    if not groups:
        return
    for batch in data.parquet.iter_batches(batch_size=batch_rows, columns=names,
                                           row_groups=groups,
                                           use_threads=_decode_threads()):
        if where is None:
            yield batch
        else:
            yield from pa.Table.from_batches([batch]).filter(where).combine_chunks().to_batches()


def _decode_threads() -> bool:
    """Whether Arrow's thread pool should decode a batch's columns side by side: only with
    more cores than the three threads of a Parquet read (decoding, typing, counting) keep busy.
    On two cores the pool's threads only competed with them: the nine benchmark levels on
    10M tickets took 2.5-2.7 s with them against 2.2-2.3 s without (same machine, alternated)."""
    return pa.cpu_count() > 3


def _scan(
    data: _Data, names: list[str], where: ds.Expression | None, batch_rows: int,
    config: SourceConfig,
) -> Iterator[pa.RecordBatch]:
    """``data``'s batches; a file that turns out unreadable midway (truncated, corrupt) is a
    DataError naming it, not a traceback."""
    batches = data.batches(names, where, batch_rows)
    while True:
        try:
            batch = next(batches)
        except StopIteration:
            return
        except (pa.ArrowException, OSError) as exc:
            raise _unreadable(config, data.format, exc, data.where) from exc
        yield batch


def _check_types(data: _Data, config: SourceConfig, columns: dict[str, str]) -> None:
    """Stop before reading when a requested column's type cannot hold its field."""
    from slaengine.coerce import expects
    problems = []
    for field_name, column in columns.items():
        type_ = data.schema.field(column).type
        expected = expects(config.kind.fields[field_name], type_)
        if expected is not None:
            problems.append(f'column "{column}" (sources.{config.name}.fields.{field_name}) '
                            f"holds {type_} values, but field {field_name!r} expects {expected}")
    if problems:
        raise DataError("\n".join(problems), file=data.where)


def _row_count(data: _Data) -> int | None:
    """The rows in ``data``'s files, from their metadata; None for a stream (or on failure:
    the read itself then says what is wrong)."""
    try:
        if data.parquet is not None:
            return int(data.parquet.metadata.num_rows)
        if data.dataset is not None:
            return int(data.dataset.count_rows())
    except (pa.ArrowException, OSError):
        return None
    return None


def _known_suffix(relative: Path) -> bool:
    return relative.suffix.lower() in SUFFIXES


_KNOWN = ", ".join(sorted(SUFFIXES))


def _open(config: SourceConfig, files: list[Path],
          dictionary_columns: Sequence[str] = ()) -> _Data:
    """The data in ``files`` (exactly those: :meth:`ArrowSource.files`), or a clear DataError
    saying why it cannot be opened."""
    path = Path(config.path)
    format_ = _format(path, files, config)
    try:
        if path.is_dir() or len(files) > 1:
            return _open_many(config, path, files, format_, dictionary_columns)
        [file] = files
        if format_ == "ipc" and _is_stream(file):
            with pa.OSFile(str(file), "rb") as handle:
                schema = pa.ipc.open_stream(handle).schema
            return _Data(format_, file, stream=file, schema=schema)
        if format_ == "parquet":
            return _open_parquet(file, dictionary_columns)
        dataset = ds.dataset([str(file)], format=_file_format(format_))
        dictionary_columns = _text_columns(dataset.schema, dictionary_columns)
        if dictionary_columns:
            dataset = ds.dataset([str(file)], format=_file_format(format_, dictionary_columns))
        return _Data(format_, file, dataset=dataset)
    except (pa.ArrowException, OSError) as exc:
        raise _unreadable(config, format_, exc, path) from exc


def _open_parquet(file: Path, dictionary_columns: Sequence[str]) -> _Data:
    """One Parquet file, read through its own reader: ``pyarrow.dataset`` (whose import also
    imports pandas when it is installed, half a second) is needed only to prune row groups by
    a pushed-down window."""
    options: dict[str, Any] = {"pre_buffer": False, "buffer_size": _BUFFER_BYTES,
                               "coerce_int96_timestamp_unit": "us"}
    parquet = pq.ParquetFile(str(file), **options)
    present = _text_columns(parquet.schema_arrow, dictionary_columns)
    if present:
        parquet = pq.ParquetFile(str(file), read_dictionary=present, **options)
    return _Data("parquet", file, schema=parquet.schema_arrow, parquet=parquet)


def _open_many(config: SourceConfig, path: Path, files: list[Path], format_: str,
               dictionary_columns: Sequence[str]) -> _Data:
    """A dataset of exactly ``files``; a folder's ``key=value`` sub-folders name partition
    columns (hive) relative to the folder."""
    hive = path.is_dir() and str(config.options.get("partitioning", "hive")) == "hive"

    def dataset(columns: Sequence[str]) -> ds.Dataset:
        return ds.dataset(
            [str(f) for f in files], format=_file_format(format_, columns),
            partitioning=ds.partitioning(flavor="hive") if hive else None,
            partition_base_dir=str(path) if path.is_dir() else None,
        )

    data = dataset(())
    dictionary_columns = _text_columns(data.schema, dictionary_columns)
    return _Data(format_, path, dataset=dataset(dictionary_columns) if dictionary_columns else data)


def _text_columns(schema: pa.Schema, names: Sequence[str]) -> list[str]:
    """Those of ``names`` that are text columns of ``schema`` (only those can be read as
    dictionaries; a nested column is refused later, with its type named)."""
    out = []
    for name in names:
        if schema.get_field_index(name) < 0:  # missing, or more than one of that name
            continue
        type_ = schema.field(name).type
        if pa.types.is_dictionary(type_):
            type_ = type_.value_type
        if pa.types.is_string(type_) or pa.types.is_large_string(type_):
            out.append(name)
    return out


def _file_format(format_: str, dictionary_columns: Sequence[str] = ()) -> ds.FileFormat | str:
    """Parquet without pre-buffering (whole row groups' bytes are not held ahead of decoding),
    reading ``dictionary_columns`` as dictionaries."""
    if format_ == "parquet":
        options = ds.ParquetFragmentScanOptions(pre_buffer=False, use_buffered_stream=True,
                                                buffer_size=1 << 20)
        read = ds.ParquetReadOptions(dictionary_columns=list(dictionary_columns),
                                     coerce_int96_timestamp_unit="us")
        return ds.ParquetFileFormat(read_options=read, default_fragment_scan_options=options)
    return format_


def _format(path: Path, files: list[Path], config: SourceConfig) -> str:
    """``parquet`` or ``ipc``: the ``format`` key, else the suffix of the files."""
    chosen = config.options.get("format")
    if chosen:
        return str(chosen)
    key = f"sources.{config.name}.format"
    kinds = {SUFFIXES.get(p.suffix.lower()) for p in files}
    if None in kinds:
        unknown = next(p for p in files if p.suffix.lower() not in SUFFIXES)
        raise DataError(
            f'cannot tell the format from the suffix "{unknown.suffix}"; set {key} to '
            f'"parquet" or "ipc" (suffixes known: {_KNOWN})',
            file=unknown,
        )
    if len(kinds) > 1:
        raise DataError(f"the files hold both Parquet and Arrow data; set {key}", file=path)
    return str(kinds.pop())


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
    try:
        if start is not None:
            inside = field >= _bound(start, type_, config.timezone, -_NAIVE_MARGIN, ceil=False)
        if end is not None:
            below = field < _bound(end, type_, config.timezone, _NAIVE_MARGIN, ceil=True)
            inside = below if inside is None else inside & below
    except (OverflowError, pa.ArrowException):
        return None  # a bound the column's unit cannot hold: the engine applies the window
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


def _unreadable(config: SourceConfig, format_: str, exc: BaseException,
                where: Path) -> DataError:
    return DataError(
        f"cannot be read as {FORMAT_NAMES.get(format_, format_)}: {exc} "
        f"(sources.{config.name}.path; set sources.{config.name}.format if the format is wrong)",
        file=where,
    )


@hookimpl
def register_sources() -> list[Source]:
    """Offer the ``arrow`` adapter."""
    return [ArrowSource()]
