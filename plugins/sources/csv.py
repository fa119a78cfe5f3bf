"""The ``csv`` source: records from a delimited text file, plain or compressed."""

from __future__ import annotations

import codecs
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from slaengine import hookimpl
from slaengine.coerce import coerce
from slaengine.errors import DataError
from slaengine.fields import TIMESTAMP
from slaengine.kinds import REJECT_SCHEMA, Source, SourceBatch, SourceConfig
from slaengine.plugins.sources._columns import check_columns, requested_columns

# A ragged row's text is quoted in the reject's ``value`` up to this many characters.
_TEXT_MAX = 200
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
    - Batches hold up to ``batch_rows`` (1,000,000) input rows; the file itself is read whole
      (only the needed columns), with several threads. A file with ragged rows is read twice:
      the second, single-threaded pass finds their line numbers.
    """

    name = "csv"
    schema: ClassVar[dict[str, Any]] = {
        "delimiter": {"type": "string", "minlength": 1, "maxlength": 1},
        "encoding": {"type": "string"},
    }
    batch_rows: ClassVar[int] = 1_000_000

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
        typed = _typed_columns(config, columns)
        try:
            # Optimistic: let the CSV parser type every column (multi-threaded C++). A single
            # value it cannot parse fails the whole read, and the careful path takes over.
            table, ragged = self._read(path, config.name, delimiter, encoding, names,
                                       types=typed)
            if _has_non_finite(table):
                raise DataError("nan or inf: the text path rejects them by row")
        except (DataError, pa.ArrowInvalid):
            table, ragged = self._read(path, config.name, delimiter, encoding, names)
        if ragged and any(r.number is None for r in ragged):
            # Multi-threaded parsing does not know where a bad row was; find out, on this
            # error path only, with a single-threaded text pass.
            table, ragged = self._read(
                path, config.name, delimiter, encoding, names, use_threads=False
            )
        lines = _line_numbers(table.num_rows, ragged)
        ragged_rejects = _ragged_rejects(config.name, ragged)

        first = True
        for start in range(0, max(table.num_rows, 1), self.batch_rows):
            chunk = table.slice(start, self.batch_rows)
            records, rejected = coerce(
                chunk,
                kind=config.kind,
                columns=columns,
                timezone=config.timezone,
                rows=lines.slice(start, chunk.num_rows),
                source=config.name,
            )
            read = chunk.num_rows
            if first and ragged:
                rejected = pa.concat_tables([ragged_rejects, rejected]).sort_by("row")
                read += len(ragged)
            first = False
            yield SourceBatch(records=records, rejected=rejected, read=read)

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

    @staticmethod
    def _read(
        path: Path,
        source: str,
        delimiter: str,
        encoding: str,
        names: list[str],
        *,
        use_threads: bool = True,
        types: dict[str, pa.DataType] | None = None,
    ) -> tuple[pa.Table, list[_Ragged]]:
        """Read ``names`` as text (or as ``types``), collecting the rows with the wrong number
        of columns."""
        ragged: list[_Ragged] = []

        def on_invalid(row: Any) -> str:
            # Error path only: called once per ragged row.
            text = row.text if len(row.text) <= _TEXT_MAX else row.text[:_TEXT_MAX] + "..."
            ragged.append(_Ragged(row.number, row.expected_columns, row.actual_columns, text))
            return "skip"

        try:
            table = pcsv.read_csv(
                pa.input_stream(str(path), compression="detect"),
                read_options=pcsv.ReadOptions(encoding=encoding, use_threads=use_threads),
                parse_options=_parse_options(delimiter, on_invalid),
                convert_options=pcsv.ConvertOptions(
                    include_columns=names,
                    column_types=types or {n: pa.string() for n in names},
                    strings_can_be_null=types is not None,
                    null_values=[""],  # "NA", "null", "nan" are values to judge, not gaps
                ),
            )
        except pa.ArrowInvalid as exc:
            if "invalid UTF8" in str(exc):
                raise DataError(
                    f"text is not valid UTF-8: {exc}; if the file uses another encoding, set "
                    f'sources.{source}.encoding (e.g. "latin-1" or "cp1252")',
                    file=path,
                ) from exc
            raise _unreadable(path, exc) from exc
        except (LookupError, OSError, UnicodeError) as exc:
            raise _unreadable(path, exc) from exc
        return table, ragged


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


def _has_non_finite(table: pa.Table) -> bool:
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


def _line_numbers(kept: int, ragged: list[_Ragged]) -> pa.Array:
    """The line of each parsed row: header line + its 1-based index among all data rows.

    Ragged rows were skipped by the parser but still occupy a data row, so the rows after them
    move down. Vectorised: number every data row, then remove the ragged ones.
    """
    total = kept + len(ragged)
    if total == 0:
        return pa.array([], pa.int64())
    every = pc.add(pc.cumulative_sum(pa.repeat(pa.scalar(1, pa.int64()), total)), _HEADER_LINE)
    skipped = pa.array([r.number for r in ragged if r.number is not None], pa.int64())
    lines = every.filter(pc.invert(pc.is_in(every, value_set=skipped)))
    # Should pyarrow ever not place a ragged row, keep the places of the rows before it right.
    return lines.slice(0, kept)


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
