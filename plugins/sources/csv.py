"""The ``csv`` source: records from a delimited text file, plain or compressed."""

from __future__ import annotations

import codecs
from collections.abc import Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from slaengine import hookimpl
from slaengine.coerce import coerce
from slaengine.errors import DataError
from slaengine.fields import TIMESTAMP
from slaengine.kinds import REJECT_SCHEMA, Source, SourceBatch, SourceConfig
from slaengine.plugins.sources._columns import check_columns, requested_columns
from slaengine.readahead import read_ahead

# A ragged row's text is quoted in the reject's ``value`` up to this many characters.
_TEXT_MAX = 200
# Bytes of the file parsed at a time: small blocks keep memory flat; batches gather blocks.
_BLOCK_BYTES = 2 << 20
_BLOCKS_AHEAD = 8
_HEADER_LINE = 1


@dataclass(frozen=True)
class _Ragged:
    """A row pyarrow could not split into the header's number of columns."""

    number: int | None
    expected: int
    actual: int
    text: str


class CsvSource(Source):
    """Read records from a CSV file (``adapter = "csv"``).

    Contract keys, besides ``adapter``, ``path`` and ``fields``:

    - ``delimiter`` (one character, default ``","``): ``";"`` for European spreadsheets,
      ``"\\t"`` for tab-separated files;
    - ``encoding`` (default ``"utf-8"``): any Python codec name, e.g. ``"latin-1"`` or
      ``"cp1252"`` for older exports.

    Example::

        [sources.tickets]
        adapter = "csv"
        path = "data/tickets.csv.gz"
        delimiter = ";"
        fields = { ticket_id = "Ticket ID", created_at = "Created", priority = "Priority" }

    Behaviour:

    - The first line is the header. ``fields`` maps canonical names to header names; a field
      not in ``fields`` is looked up under its canonical name. The header is checked before the
      data is read: a missing column stops the run with an error naming the file, the contract
      key, the closest column and every column the file has.
    - Only the columns needed are read, all as text, then typed by :func:`slaengine.coerce.coerce`
      (ISO 8601 timestamps, offsets honoured, naive times read in the contract's timezone;
      strict numbers; bounds and order checked). Quoted values may contain the delimiter,
      quotes (doubled) and newlines. A leading UTF-8 byte-order mark is ignored.
    - A compressed file (``.gz``, ``.bz2``, ``.zst``, ``.lz4``, by its extension) is read
      transparently.
    - Rows that cannot be used are rejected, never dropped: bad values with the field and
      reason, and rows with the wrong number of columns with ``expected N columns, found M``
      (those come in the first batch). ``row`` is the line number: header line 1, then one per
      data row. Caveats: a quoted value spanning several lines, and a blank line (skipped, not
      a record), shift the numbers of the rows after it.
    - An empty file, or one with a header only, gives zero records.
    - The file streams: blocks of a few megabytes are parsed (typed by the C++ parser while
      every value allows it, then as text from the first block that does not) and handed on in
      batches of up to ``batch_rows`` (131,072) rows, so memory does not grow with the file.
      Ragged rows are rejected in the batch where they occur.
    """

    name = "csv"
    schema: ClassVar[dict[str, Any]] = {
        "delimiter": {"type": "string", "minlength": 1, "maxlength": 1},
        "encoding": {"type": "string"},
    }
    batch_rows: ClassVar[int] = 131_072

    def read(self, config: SourceConfig, fields: Sequence[str]) -> Iterator[SourceBatch]:
        """Yield the requested canonical ``fields`` of ``config.path`` in batches, in order."""
        path = Path(config.path)
        if not path.is_file():
            what = "is a directory, not a CSV file" if path.is_dir() else "file not found"
            raise DataError(f"{what} (sources.{config.name}.path)", file=path)
        delimiter = str(config.options.get("delimiter", ","))
        encoding = _encoding(path, config, str(config.options.get("encoding", "utf-8")))
        columns = requested_columns(config, fields)

        header = self._header(path, delimiter, encoding)
        if header is None:
            yield _empty(config, fields)
            return
        check_columns(path, config, columns, header)

        names = sorted(set(columns.values()))
        reading = _Reading(self, path, config, delimiter, encoding, names, columns)
        yield from reading.batches()
        if reading.rows == 0:
            yield _empty(config, fields)

    def columns(self, config: SourceConfig) -> list[tuple[str, str]] | None:
        """The header's column names; every CSV value is text until it is typed."""
        path = Path(config.path)
        if not path.is_file():
            return None
        delimiter = str(config.options.get("delimiter", ","))
        encoding = _encoding(path, config, str(config.options.get("encoding", "utf-8")))
        header = self._header(path, delimiter, encoding)
        return [(name, "text") for name in header or []]

    # ----------------------------------------------------------------------- helpers

    @staticmethod
    def _header(path: Path, delimiter: str, encoding: str) -> list[str] | None:
        """The file's column names, read from its first block; None for an empty file."""
        try:
            reader = pcsv.open_csv(
                pa.input_stream(str(path), compression="detect"),
                read_options=pcsv.ReadOptions(encoding=encoding),
                parse_options=_parse_options(delimiter, lambda _row: "skip"),
            )
        except pa.ArrowInvalid as exc:
            if "Empty CSV file" in str(exc):
                return None
            raise _unreadable(path, exc) from exc
        except (LookupError, OSError, UnicodeError) as exc:
            raise _unreadable(path, exc) from exc
        try:
            return reader.schema.names
        finally:
            reader.close()


class _Reading:
    """One streaming read of a CSV file, typed by the parser while it can be.

    The file streams in blocks. First the C++ parser types every column (fast); the first
    block it cannot type (a bad value, ``nan`` or ``inf``, an offset where the parser expects
    none) or split (a ragged row) ends that stage, and the careful stage carries on from the
    first row not yet delivered: text columns typed by :func:`slaengine.coerce.coerce`, ragged
    rows rejected with their line numbers. Either way each row is delivered once.
    """

    def __init__(self, source: CsvSource, path: Path, config: SourceConfig, delimiter: str,
                 encoding: str, names: list[str], columns: dict[str, str]) -> None:
        self.source, self.path, self.config = source, path, config
        self.delimiter, self.encoding, self.names, self.columns = (
            delimiter, encoding, names, columns)
        self.rows = 0  # data rows delivered (ragged ones included)
        self.next_line = _HEADER_LINE + 1
        self.ragged: list[_Ragged] = []

    def batches(self) -> Iterator[SourceBatch]:
        pending = _Pending(self.source.batch_rows)
        blocks = self._open(_typed_columns(self.config, self.columns), careful=False)
        try:
            with closing(blocks):  # stops the parsing thread when the careful read takes over
                for block in blocks:
                    if _has_non_finite(block):
                        raise _Fallback
                    for table in pending.add(block):
                        yield self._deliver(table)
        except (pa.ArrowInvalid, _Fallback):
            # The rows parsed before the block that failed are good; the careful stage takes
            # the rest.
            for table in pending.rest():
                yield self._deliver(table)
            yield from self._careful()
            return
        for table in pending.rest():
            yield self._deliver(table)

    def _careful(self) -> Iterator[SourceBatch]:
        text = {n: pa.string() for n in self.names}
        pending = _Pending(self.source.batch_rows)
        for block in self._open(text, careful=True, skip=self.rows):
            for table in pending.add(block):
                yield self._deliver(table)
        rest = list(pending.rest())
        for i, table in enumerate(rest):
            yield self._deliver(table, last=i == len(rest) - 1)
        if not rest and self.ragged:
            yield self._deliver(None, last=True)

    def _open(self, types: dict[str, pa.DataType], *, careful: bool,
              skip: int = 0) -> Iterator[pa.RecordBatch]:
        """The file's blocks from data row ``skip`` on; the careful read (one thread, so
        pyarrow knows the line of a ragged row) records ragged rows instead of failing."""

        def on_invalid(row: Any) -> str:
            # Error path only: called once per ragged row.
            text = row.text if len(row.text) <= _TEXT_MAX else row.text[:_TEXT_MAX] + "..."
            self.ragged.append(_Ragged(row.number, row.expected_columns, row.actual_columns,
                                       text))
            return "skip"

        try:
            reader = pcsv.open_csv(
                pa.input_stream(str(self.path), compression="detect"),
                read_options=pcsv.ReadOptions(encoding=self.encoding, use_threads=not careful,
                                              block_size=_BLOCK_BYTES,
                                              skip_rows_after_names=skip),
                parse_options=_parse_options(self.delimiter, on_invalid if careful else None),
                convert_options=pcsv.ConvertOptions(
                    include_columns=self.names,
                    column_types=types,
                    strings_can_be_null=not careful,
                    null_values=[""],  # "NA", "null", "nan" are values to judge, not gaps
                ),
            )
            # Arrow's streaming reader parses a block only when asked: the fast read parses on
            # a thread of its own, so typing the records overlaps with parsing the next blocks.
            yield from (reader if careful else read_ahead(reader, depth=_BLOCKS_AHEAD))
        except pa.ArrowInvalid as exc:
            if not careful:
                raise
            if "invalid UTF8" in str(exc):
                raise DataError(
                    f"text is not valid UTF-8: {exc}; if the file uses another encoding, set "
                    f'sources.{self.config.name}.encoding (e.g. "latin-1" or "cp1252")',
                    file=self.path,
                ) from exc
            raise _unreadable(self.path, exc) from exc
        except (LookupError, OSError, UnicodeError) as exc:
            raise _unreadable(self.path, exc) from exc

    def _deliver(self, table: pa.Table | None, last: bool = False) -> SourceBatch:
        """Type one batch; with it go the ragged rows met up to its last line."""
        n = table.num_rows if table is not None else 0
        lines = self._lines(n)
        cut = int(lines[-1].as_py()) if n else None
        due_now = [last or cut is None or r.number is None or r.number <= cut
                   for r in self.ragged]
        due = [r for r, now in zip(self.ragged, due_now, strict=True) if now]
        self.ragged = [r for r, now in zip(self.ragged, due_now, strict=True) if not now]
        self.rows += n + len(due)
        if table is None:
            records = self.config.kind.schema(list(self.columns)).empty_table()
            rejected = REJECT_SCHEMA.empty_table()
        else:
            records, rejected = coerce(
                table.combine_chunks(), kind=self.config.kind, columns=self.columns,
                timezone=self.config.timezone, rows=lines, source=self.config.name,
            )
        if due:
            rejected = pa.concat_tables([_ragged_rejects(self.config.name, due),
                                         rejected]).sort_by("row")
        return SourceBatch(records=records, rejected=rejected, read=n + len(due))

    def _lines(self, n: int) -> pa.Array:
        """The lines of the next ``n`` parsed rows: one per data row after the header,
        stepping over the lines of ragged rows (which the parser skipped)."""
        skipped = sorted({r.number for r in self.ragged
                          if r.number is not None and r.number >= self.next_line})
        every = np.arange(self.next_line, self.next_line + n + len(skipped), dtype=np.int64)
        if skipped:
            every = every[~np.isin(every, skipped)]
        lines = every[:n]
        if n:
            self.next_line = int(lines[-1]) + 1
        return pa.array(lines, pa.int64())


class _Pending:
    """Blocks gathered into batches of ``size`` rows."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.blocks: list[pa.RecordBatch] = []
        self.count = 0

    def add(self, block: pa.RecordBatch) -> Iterator[pa.Table]:
        """The full batches ready once ``block`` is added."""
        self.blocks.append(block)
        self.count += block.num_rows
        if self.count < self.size:
            return
        table = pa.Table.from_batches(self.blocks)
        start = 0
        while table.num_rows - start >= self.size:
            yield table.slice(start, self.size)
            start += self.size
        rest = table.slice(start)
        self.blocks, self.count = rest.to_batches(), rest.num_rows

    def rest(self) -> Iterator[pa.Table]:
        """What is left, in batches of at most ``size`` rows."""
        if self.count:
            table = pa.Table.from_batches(self.blocks)
            for start in range(0, table.num_rows, self.size):
                yield table.slice(start, self.size)
        self.blocks, self.count = [], 0


class _Fallback(Exception):
    """The typed stage cannot take a block: the careful stage reads it."""


def _typed_columns(config: SourceConfig, columns: dict[str, str]) -> dict[str, pa.DataType]:
    """The types the CSV parser may try for each column on the optimistic path.

    Timestamps are tried as wall times without an offset (coerce then reads them in the
    contract's timezone); a column with offsets, a bad value or a number in the wrong shape
    makes the parser fail, and the text path decides row by row. Yes/no columns stay text.
    """
    wanted: dict[str, set[pa.DataType]] = {}
    for field_name, column in columns.items():
        type_ = config.kind.fields[field_name]
        if type_ == TIMESTAMP:
            type_ = pa.timestamp("us")
        elif pa.types.is_boolean(type_):
            type_ = pa.string()
        wanted.setdefault(column, set()).add(type_)
    return {c: t.pop() if len(t) == 1 else pa.string() for c, t in wanted.items()}


def _has_non_finite(table: pa.Table | pa.RecordBatch) -> bool:
    """Whether a float column holds nan or inf, which the parser accepts but slaengine does not
    take for a number (the text path rejects those rows with their reason)."""
    return any(
        pc.any(pc.invert(pc.is_finite(column))).as_py()
        for column in table.columns if pa.types.is_floating(column.type)
    )


def _parse_options(delimiter: str, handler: Any) -> pcsv.ParseOptions:
    """Parsing shared by the header and data reads: quoted newlines allowed, blank lines skipped."""
    return pcsv.ParseOptions(
        delimiter=delimiter, newlines_in_values=True, invalid_row_handler=handler
    )


def _ragged_rejects(source: str, ragged: list[_Ragged]) -> pa.Table:
    """One reject per ragged row: its line, its text and the column counts."""
    return pa.Table.from_pylist(
        [
            {
                "source": source,
                "row": r.number,
                "field": None,
                "value": r.text,
                "reason": f"expected {r.expected} columns, found {r.actual}",
            }
            for r in ragged
        ],
        schema=REJECT_SCHEMA,
    )


def _empty(config: SourceConfig, fields: Sequence[str]) -> SourceBatch:
    """The single batch of a file without even a header."""
    return SourceBatch(
        records=config.kind.schema(list(fields)).empty_table(),
        rejected=REJECT_SCHEMA.empty_table(),
        read=0,
    )


def _encoding(path: Path, config: SourceConfig, name: str) -> str:
    """The codec name pyarrow should use; "utf8" keeps its fast path (no transcoding)."""
    try:
        canonical = codecs.lookup(name).name
    except LookupError as exc:
        raise DataError(
            f'sources.{config.name}.encoding = "{name}" is not a known text encoding',
            file=path,
        ) from exc
    return "utf8" if canonical == "utf-8" else canonical


def _unreadable(path: Path, exc: BaseException) -> DataError:
    return DataError(f"cannot be read as CSV: {exc}", file=path)


@hookimpl
def register_sources() -> list[Source]:
    """Offer the ``csv`` adapter."""
    return [CsvSource()]
