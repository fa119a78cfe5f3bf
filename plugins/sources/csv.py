"""The ``csv`` source: records from a delimited text file, plain or compressed."""

from __future__ import annotations

import codecs
import threading
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, ClassVar

from slaengine import hookimpl
from slaengine.errors import DataError
from slaengine.fields import arrow_type
from slaengine.inputs import source_files
from slaengine.lazy import np, pa, pacsv, pc
from slaengine.plugin import Source, SourceBatch, SourceConfig, reject_schema
from slaengine.plugins.sources._columns import check_columns, requested_columns
from slaengine.readahead import read_ahead

# A ragged row's text is quoted in the reject's ``value`` up to this many characters.
_TEXT_MAX = 200
# Bytes of the file parsed at a time: small blocks keep memory flat; batches gather blocks.
_BLOCK_BYTES = 2 << 20
# A header or row longer than a block is parsed by reading again with a block twice as large,
# up to this size; a longer one stops the run.
_BLOCK_LIMIT = 1 << 30
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
    """Read records from one CSV file (``adapter = "csv"``).

    Contract keys, besides ``adapter``, ``path`` and ``fields``:

    - ``delimiter`` (default ``","``): one ASCII character other than a quote or a line break,
      e.g. ``";"`` for European spreadsheets, ``"|"``, or ``"\\t"`` for tab-separated files;
    - ``encoding`` (default ``"utf-8"``): a Python text codec name, e.g. ``"latin-1"`` or
      ``"cp1252"`` for older exports (byte codecs such as ``"base64"`` are not text encodings).

    Example::

        [sources.tickets]
        adapter = "csv"
        path = "data/tickets.csv.gz"
        delimiter = ";"
        fields = { ticket_id = "Ticket ID", created_at = "Created", priority = "Priority" }

    Behaviour:

    - ``path`` names one regular file (its name may hold glob characters: ``data[1].csv`` is
      that file); a folder, or a pattern matching several files, stops the run.
    - The first line is the header. ``fields`` maps canonical names to header names; a field
      not in ``fields`` is looked up under its canonical name. The header is checked before the
      data is read: a missing column stops the run with an error naming the file, the contract
      key, the closest column and every column the file has; a column that is used and appears
      twice in the header is ambiguous and stops the run too (unused repeated columns are fine).
    - Only the columns needed are read, all as text, then typed by :func:`slaengine.coerce.coerce`
      (ISO 8601 timestamps, offsets honoured, naive times read in the contract's timezone;
      strict numbers; bounds and order checked). Quoted values may contain the delimiter,
      quotes (doubled) and newlines. A leading UTF-8 byte-order mark is ignored. A header or
      row of any length up to 1 GiB is read (the parser's block grows to hold it).
    - A compressed file (``.gz``, ``.bz2``, ``.zst``, ``.lz4``, by its extension) is read
      transparently.
    - Rows that cannot be used are rejected, never dropped: bad values with the field and
      reason, and rows with the wrong number of columns with ``expected N columns, found M``.
      ``row`` is the line number: header line 1, then one per data row. Caveats: a quoted value
      spanning several lines, and a blank line (skipped, not a record), shift the numbers of
      the rows after it. Text that does not decode in ``encoding`` stops the run, naming the
      line.
    - Repeated ids: when the file has the kind's id column (``ticket_id``, mapped or under its
      own name), the **first** accepted row with an id is the one evaluated; a later accepted
      row with the same id (compared after trimming) is counted as a duplicate, reason
      ``duplicate of line N``, not evaluated again. Only accepted rows take part: a rejected
      row neither hides nor is hidden by another. (The file streams, so a row is handed on
      before the rest of the file is read: keeping the last version instead would need a
      second full parse of the file.)
    - An empty file, or one with a header only, gives zero records.
    - The file streams: blocks of a few megabytes are parsed (typed by the C++ parser while
      every value allows it, then as text from the first block that does not) and handed on in
      batches of up to ``batch_rows`` (131,072) rows, so memory does not grow with the file
      (beyond the ids, kept to find repeats). Ragged rows are rejected in the batch where they
      occur.
    """

    name = "csv"
    schema: ClassVar[dict[str, Any]] = {
        "delimiter": {"type": "string"},
        "encoding": {"type": "string"},
    }
    batch_rows: ClassVar[int] = 131_072

    def files(self, config: SourceConfig) -> list[Path]:
        """The one regular file ``path`` names."""
        key = f"sources.{config.name}.path"
        path = Path(config.path)
        if path.is_dir():
            raise DataError(f"is a folder, not a CSV file: the csv source reads one file ({key})",
                            file=path)
        found = source_files(path, key)
        if len(found) > 1:
            shown = ", ".join(str(p) for p in found[:3]) + (", ..." if len(found) > 3 else "")
            raise DataError(
                f"the pattern matches {len(found)} files ({shown}): the csv source reads one "
                f"file ({key})", file=path)
        return found

    def read(self, config: SourceConfig, fields: Sequence[str]) -> Iterator[SourceBatch]:
        """Yield the requested canonical ``fields`` of the file in batches, in order."""
        path = self.files(config)[0]
        options = _options(path, config)
        columns = requested_columns(config, fields)

        _check_quotes_close(path, options)
        header = _header(path, options)
        if header is None:
            yield _empty(config, fields)
            return
        names, block = header
        if block == _HEADER_ONLY:
            check_columns(path, config, dict(columns), names)
            yield _empty(config, fields)
            return
        id_column = config.fields.get(config.kind.id_field, config.kind.id_field)
        checked = dict(columns)
        if id_column in names and config.kind.unique_ids:  # events share their ticket's id
            checked.setdefault(config.kind.id_field, id_column)
        else:
            id_column = None
        check_columns(path, config, checked, names)

        read = sorted(set(columns.values()) | ({id_column} if id_column else set()))
        reading = _Reading(self, path, config, options, read, columns, id_column, block)
        yield from reading.batches()
        if reading.rows == 0:
            yield _empty(config, fields)

    def columns(self, config: SourceConfig) -> list[tuple[str, str]] | None:
        """The header's column names; every CSV value is text until it is typed."""
        path = Path(config.path)
        if not path.is_file():
            return None
        header = _header(path, _options(path, config))
        return [(name, "text") for name in (header[0] if header else [])]


@dataclass(frozen=True)
class _Options:
    source: str
    delimiter: str
    encoding: str  # as pyarrow takes it: "utf8" keeps its fast path (no transcoding)


def _options(path: Path, config: SourceConfig) -> _Options:
    """The ``delimiter`` and ``encoding`` keys, checked: a DataError names the key and what it
    accepts."""
    delimiter = config.options.get("delimiter", ",")
    key = f"sources.{config.name}.delimiter"
    if not (isinstance(delimiter, str) and len(delimiter) == 1 and delimiter.isascii()
            and (delimiter == "\t" or delimiter.isprintable()) and delimiter not in "\"'"):
        raise DataError(
            f"{key} = {delimiter!r} is not accepted: a delimiter is one ASCII character other "
            'than a quote or a line break (e.g. ",", ";", "|"), or "\\t" for a tab', file=path)
    encoding = _encoding(path, config, config.options.get("encoding", "utf-8"))
    return _Options(config.name, delimiter, encoding)


def _encoding(path: Path, config: SourceConfig, name: Any) -> str:
    """The codec name pyarrow should use; "utf8" keeps its fast path (no transcoding)."""
    key = f"sources.{config.name}.encoding"
    accepted = 'a text encoding such as "utf-8", "latin-1" or "cp1252"'
    try:
        info = codecs.lookup(str(name))
    except LookupError as exc:
        raise DataError(f'{key} = "{name}" is not a known text encoding: expected {accepted}',
                        file=path) from exc
    if not getattr(info, "_is_text_encoding", True):
        raise DataError(f'{key} = "{name}" is a codec for bytes, not a text encoding: expected '
                        f"{accepted}", file=path)
    if not _reads_csv(info.name):
        raise DataError(f'{key} = "{name}" cannot read a CSV file (its decoder does not take '
                        f"the file's bytes in blocks, or changes commas, quotes or line "
                        f"breaks): expected {accepted}", file=path)
    return "utf8" if info.name == "utf-8" else info.name


_PROBE = 'Ticket,"a ""b"""\r\n1;2|3\t4\n'


def _reads_csv(encoding: str) -> bool:
    """Whether ``encoding``'s incremental decoder, handed blocks as the CSV reader hands them
    (Arrow buffers), gives back what it encoded, delimiters, quotes and line breaks included.
    Any codec can be named, so any failure of its own means no."""
    try:
        decoder = codecs.getincrementaldecoder(encoding)()
        return decoder.decode(pa.py_buffer(_PROBE.encode(encoding)), final=True) == _PROBE
    except Exception:  # a codec of any package may fail in any way
        return False


def _header(path: Path, options: _Options) -> tuple[list[str], int] | None:
    """The file's column names and the block size that holds the header; None for a file
    without even a header. The block grows until the first line fits in it."""
    block = _BLOCK_BYTES
    while True:
        try:
            return _names(path, options, block), block
        except pa.ArrowInvalid as exc:
            if "Empty CSV file" in str(exc) and _holds_less_than(path, block):
                return _single_line(path, options)
            if not _block_too_small(exc):
                raise _unreadable(path, options, exc, 1) from exc
            block = _bigger(path, block, 1)
        except (LookupError, OSError, UnicodeError) as exc:
            raise _unreadable(path, options, exc, 1) from exc


def _names(path: Path, options: _Options, block: int) -> list[str]:
    """The header's names as Arrow's CSV reader reads them in blocks of ``block`` bytes (a
    ragged row in the first block is skipped, not an error)."""
    with _CsvReader(pa.input_stream(str(path), compression="detect"), options.delimiter,
                    ragged=_row_skipper,
                    read_options=pacsv.ReadOptions(encoding=options.encoding,
                                                   block_size=block)) as reader:
        return reader.schema.names


def _row_skipper() -> Callable[[Any], str]:
    """A handler that skips a ragged row."""
    def skip(_row: Any) -> str:
        return "skip"
    return skip


_LET_GO_SECONDS = 5.0


class _CsvReader:
    """Arrow's streaming CSV reader of ``source`` (quoted line breaks allowed, blank lines
    skipped; ``ragged`` makes the handler of ragged rows, None: a ragged row is an error),
    which on closing also waits, for at most a few seconds, until Arrow has let go of the
    handler.

    Arrow's reader reads its first block on one of Arrow's I/O threads, and the callback that
    does so holds the reader: closing it in Python does not wait for that. The reader's last
    reference may then be dropped on that thread a moment later, freeing the Python handler
    there under the interpreter lock. If the interpreter is shutting down by then (a source
    error is reported and the command exits at once), that thread cannot take the lock and
    the process aborts ("terminate called without an active exception") after a correct
    error message. So only this object refers to Arrow's reader and to the handler it makes
    (a new one per reader)."""

    def __init__(self, source: Any, delimiter: str, *,
                 ragged: Callable[[], Callable[[Any], str]] | None,
                 read_options: pacsv.ReadOptions | None = None,
                 convert_options: pacsv.ConvertOptions | None = None) -> None:
        self._gone: threading.Event | None = None
        handler = ragged() if ragged is not None else None
        if handler is not None:
            self._gone = threading.Event()
            weakref.finalize(handler, self._gone.set)
        parse = pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True,
                                   invalid_row_handler=handler)
        del handler
        try:
            self._reader: pacsv.CSVStreamingReader | None = pacsv.open_csv(
                source, read_options=read_options, parse_options=parse,
                convert_options=convert_options)
        except BaseException:
            del parse
            self._let_go()
            raise

    @property
    def schema(self) -> pa.Schema:
        assert self._reader is not None
        return self._reader.schema

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        assert self._reader is not None
        return iter(self._reader)

    def close(self) -> None:
        """Close Arrow's reader and wait until it has let go of the handler."""
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        self._let_go()

    def _let_go(self) -> None:
        if self._gone is not None:
            self._gone.wait(_LET_GO_SECONDS)

    def __enter__(self) -> _CsvReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_QUOTE = 0x22
# Bytes read at a time when looking for a quoted value that never closes.
_QUOTE_CHUNK = 1 << 20


@dataclass(frozen=True)
class _Quotes:
    """What the quote characters of a stretch of the file do to the parser's state.

    The parser is inside a quoted value or outside one. A run of quote characters at the start
    of a value (after a delimiter, a line break or the start of the file) opens a value and
    leaves it open when its length is odd (``"`` opens, ``""`` is an empty value, ``\"\"\"``
    opens one starting with a quote); inside a value a run of odd length closes it (``""`` is an
    escaped quote); in the middle of an unquoted value quotes are plain characters. So a run
    either flips the state (``toggle``: odd, at the start of a value), forces it outside
    (``reset``: odd, anywhere else) or leaves it as it was (even).
    """

    reset: bool  # the stretch holds a reset: its end state does not depend on its start state
    odd: bool  # an odd number of toggles after the last reset (or from the start)
    opened: int | None  # the offset of the last toggle after the last reset

    def then(self, later: _Quotes) -> _Quotes:
        """This stretch followed by ``later``."""
        if later.reset:
            return later
        return _Quotes(self.reset, self.odd != later.odd,
                       later.opened if later.opened is not None else self.opened)


_NO_QUOTES = _Quotes(False, False, None)


def _quotes(chunk: bytes, before: int | None, at: int, separators: bytes) -> _Quotes:
    """The effect of the quote runs of ``chunk`` (which starts at offset ``at`` of the file and
    does not split a run); ``before`` is the byte preceding it, None at the start of the
    file. Vectorised: only the quote characters are looked at."""
    if b'"' not in chunk:
        return _NO_QUOTES
    data = np.frombuffer(chunk, dtype=np.uint8)
    quotes = np.flatnonzero(data == _QUOTE)
    if not len(quotes):
        return _NO_QUOTES
    starts = np.ones(len(quotes), dtype=bool)
    starts[1:] = np.diff(quotes) != 1
    first = quotes[starts]
    odd = np.diff(np.append(np.flatnonzero(starts), len(quotes))) % 2 == 1
    previous = np.where(first > 0, data[first - 1].astype(np.int16),
                        -1 if before is None else before)
    at_start = np.isin(previous, np.frombuffer(separators, dtype=np.uint8)) | (previous < 0)
    resets = np.flatnonzero(odd & ~at_start)
    after = resets[-1] + 1 if len(resets) else 0
    toggles = np.flatnonzero(odd[after:] & at_start[after:])
    return _Quotes(bool(len(resets)), len(toggles) % 2 == 1,
                   at + int(first[after + toggles[-1]]) if len(toggles) else None)


def _check_quotes_close(path: Path, options: _Options) -> None:
    """Stop with a DataError naming the line when a quoted value is never closed.

    The parser takes such a value to run to the end of the file, so every row after its quote
    would silently become part of one value. Only the end of a plain file is usually read: the
    state there is known from the last quote that closes a value. A compressed file, or one in
    an encoding where a quote is not the byte ``0x22``, is read through once.
    """
    separators = b"\n\r" + options.delimiter.encode("ascii")
    try:
        summary = _quote_summary(path, options.encoding, separators)
        line = (_line_at(path, options.encoding, summary.opened)
                if summary.odd and summary.opened is not None else None)
    except (LookupError, OSError, UnicodeError, pa.ArrowInvalid) as exc:
        raise _unreadable(path, options, exc, 1) from exc
    if line is not None:
        raise DataError(
            f"line {line}: a quoted value opened there is never closed: every line after it "
            "would be read as part of that value (a quote inside a value is written twice, "
            '"")', file=path)


def _quote_summary(path: Path, encoding: str, separators: bytes) -> _Quotes:
    """The effect of all the file's quotes: read from the end for a plain file, stopping at
    the last reset; read through otherwise."""
    if _suffix_codec(path) or not _ascii_compatible(encoding):
        summary = _NO_QUOTES
        for at, before, chunk in _chunks_forward(path, encoding):
            summary = summary.then(_quotes(chunk, before, at, separators))
        return summary
    summary = _NO_QUOTES
    for at, before, chunk in _chunks_backward(path):
        summary = _quotes(chunk, before, at, separators).then(summary)
        if summary.reset:
            break
    return summary


def _ascii_compatible(encoding: str) -> bool:
    """Whether ``encoding`` writes quotes, delimiters and line breaks as their ASCII bytes and
    uses no byte below 0x80 for anything else."""
    return encoding == "utf8" or codecs.lookup(encoding).name in _ASCII_COMPATIBLE


_ASCII_COMPATIBLE = {codecs.lookup(n).name for n in (
    "latin-1", "cp1252", "cp1250", "cp1251", "cp1253", "cp1254", "cp1257", "iso8859-2",
    "iso8859-15", "ascii", "utf-8-sig", "mac-roman", "koi8-r", "gb18030", "gbk", "big5",
    "shift_jis", "cp932", "euc-jp", "euc-kr", "cp949")}


def _text_stream(path: Path, encoding: str) -> Iterator[bytes]:
    """The file's (decompressed) content as UTF-8 or ASCII-compatible bytes, in chunks; a
    leading byte-order mark left out."""
    with pa.input_stream(str(path), compression="detect") as stream:
        decoder = (None if _ascii_compatible(encoding)
                   else codecs.getincrementaldecoder(encoding)(errors="replace"))
        head = True
        while chunk := stream.read(_QUOTE_CHUNK):
            if decoder is not None:
                chunk = decoder.decode(chunk).encode("utf-8")
            if head and chunk.startswith(codecs.BOM_UTF8):
                chunk = chunk[len(codecs.BOM_UTF8):]
            head = head and not chunk
            yield chunk


def _chunks_forward(path: Path, encoding: str) -> Iterator[tuple[int, int | None, bytes]]:
    """(offset, preceding byte, chunk) over the whole text, no run of quotes split."""
    at, before, carry = 0, None, b""
    for chunk in _text_stream(path, encoding):
        chunk = carry + chunk
        keep = len(chunk) - len(chunk.rstrip(b'"'))
        carry, chunk = chunk[len(chunk) - keep:], chunk[:len(chunk) - keep]
        if chunk:
            yield at, before, chunk
            at, before = at + len(chunk), chunk[-1]
    if carry:
        yield at, before, carry


def _chunks_backward(path: Path) -> Iterator[tuple[int, int | None, bytes]]:
    """(offset, preceding byte, chunk) from the end of a plain file backwards, no run of quotes
    split; the leading byte-order mark, if any, left out."""
    bom = len(codecs.BOM_UTF8)
    with path.open("rb") as file:
        lead = 0 if file.read(bom) != codecs.BOM_UTF8 else bom
        end = file.seek(0, 2)
        while end > lead:
            start = max(lead, end - _QUOTE_CHUNK)
            file.seek(start)
            chunk = file.read(end - start)
            before = None
            while start > lead:
                file.seek(start - 1)
                before = file.read(1)[0]
                if before != _QUOTE:
                    break
                start -= 1
                chunk = b'"' + chunk
                before = None
            yield start - lead, before, chunk
            end = start


def _line_at(path: Path, encoding: str, offset: int) -> int:
    """The line (counted from 1; a line break is \\n, \\r\\n or \\r) holding ``offset`` of the
    text (error path only: the file is read again)."""
    text = b"".join(_head(path, encoding, offset))
    return text.count(b"\n") + text.count(b"\r") - text.count(b"\r\n") + 1


def _head(path: Path, encoding: str, size: int) -> Iterator[bytes]:
    """The text's first ``size`` bytes, in chunks."""
    for chunk in _text_stream(path, encoding):
        if size <= 0:
            return
        yield chunk[:size]
        size -= len(chunk)


# The block size given with a header that is the whole file: there are no rows to read.
_HEADER_ONLY = 0


def _single_line(path: Path, options: _Options) -> tuple[list[str], int] | None:
    """The header of a file too short for the parser to find a line break in (one line without
    one, or text of another encoding misread as one line): its columns still have to be checked;
    None when it holds nothing but blanks."""
    codec = "utf-8" if options.encoding == "utf8" else options.encoding
    try:
        with pa.input_stream(str(path), compression="detect") as stream:
            text = stream.read().decode(codec).removeprefix("\ufeff")
    except (LookupError, OSError, UnicodeError, pa.ArrowInvalid) as exc:
        raise _unreadable(path, options, exc, 1) from exc
    if not text.strip():
        return None
    try:
        reader = _CsvReader(pa.BufferReader((text + "\n").encode()), options.delimiter,
                            ragged=None)
    except pa.ArrowInvalid as exc:
        _check_quotes_close(path, options)
        raise _unreadable(path, options, exc, 1) from exc
    with reader:
        return reader.schema.names, _HEADER_ONLY


class _Reading:
    """One streaming read of a CSV file, typed by the parser while it can be.

    The file streams in blocks. First the C++ parser types every column (fast); the first
    block it cannot type (a bad value, ``nan`` or ``inf``, an offset where the parser expects
    none) or split (a ragged row) ends that stage, and the careful stage carries on from the
    first row not yet delivered: text columns typed by :func:`slaengine.coerce.coerce`, ragged
    rows rejected with their line numbers. A row longer than the block makes either stage start
    again from the first row not yet delivered with a block twice as large. Either way each row
    is delivered once.
    """

    def __init__(self, source: CsvSource, path: Path, config: SourceConfig, options: _Options,
                 names: list[str], columns: dict[str, str], id_column: str | None,
                 block: int) -> None:
        self.source, self.path, self.config, self.options = source, path, config, options
        self.names, self.columns, self.id_column = names, columns, id_column
        self.block = max(block, _BLOCK_BYTES)
        self.rows = 0  # data rows delivered (ragged ones included)
        self.next_line = _HEADER_LINE + 1
        self.ragged: list[_Ragged] = []
        self.seen = _FirstSeen() if id_column is not None else None
        self.size = path.stat().st_size
        self.stored: Any = None  # the file as stored, and the text the parser reads from it
        self.stream: Any = None
        self.position = 0  # bytes of the stored file parsed so far (never going back)

    def batches(self) -> Iterator[SourceBatch]:
        typed = _typed_columns(self.config, self.columns)
        if self.id_column is not None and self.id_column not in typed:
            typed[self.id_column] = pa.string()
        try:
            yield from self._stage(typed, careful=False)
        except (pa.ArrowInvalid, _Fallback):
            yield from self._stage({n: pa.string() for n in self.names}, careful=True)

    def _stage(self, types: dict[str, pa.DataType], *, careful: bool) -> Iterator[SourceBatch]:
        """Deliver the rows from the first one not yet delivered on, parsed with ``types``."""
        while True:
            pending = _Pending(self.source.batch_rows)
            self.ragged = []  # any left were met after the last row delivered: met again
            blocks = self._open(types, careful=careful)
            try:
                with closing(blocks):  # stops the parsing thread when the careful read takes over
                    for number, block in enumerate(blocks, 1):
                        if not careful and _has_non_finite(block):
                            raise _Fallback
                        self._parsed(number * self.block)
                        for table in pending.add(block):
                            yield self._deliver(table)
                self.position = self.size  # read to its end
            except pa.ArrowInvalid as exc:
                if _block_too_small(exc):
                    self.block = _bigger(self.path, self.block, self.next_line)
                    continue
                if careful:
                    raise _unreadable(self.path, self.options, exc, self.next_line) from exc
                yield from (self._deliver(t) for t in pending.rest())  # good rows, parsed
                raise
            except _Fallback:
                yield from (self._deliver(t) for t in pending.rest())
                raise
            except (LookupError, OSError, UnicodeError) as exc:
                raise _unreadable(self.path, self.options, exc, self.next_line) from exc
            rest = list(pending.rest())
            for i, table in enumerate(rest):
                yield self._deliver(table, last=careful and i == len(rest) - 1)
            if careful and not rest and self.ragged:
                yield self._deliver(None, last=True)
            return

    def _open(self, types: dict[str, pa.DataType], *, careful: bool) -> Iterator[pa.RecordBatch]:
        """The file's blocks from the first data row not yet delivered on; the careful read
        (one thread, so pyarrow knows the line of a ragged row) records ragged rows instead of
        failing."""
        self.stored, self.stream = _open_input(self.path)
        reader = _CsvReader(
            self.stream, self.options.delimiter,
            ragged=self._ragged_rows if careful else None,
            read_options=pacsv.ReadOptions(encoding=self.options.encoding,
                                           use_threads=not careful, block_size=self.block,
                                           skip_rows_after_names=self.rows),
            convert_options=pacsv.ConvertOptions(
                include_columns=self.names,
                column_types=types,
                strings_can_be_null=not careful,
                null_values=[""],  # "NA", "null", "nan" are values to judge, not gaps
            ),
        )
        # Arrow's streaming reader parses a block only when asked: the fast read parses on
        # a thread of its own, so typing the records overlaps with parsing the next blocks.
        with reader:
            yield from (reader if careful else read_ahead(reader, depth=_BLOCKS_AHEAD))

    def _ragged_rows(self) -> Callable[[Any], str]:
        """A handler noting each ragged row and skipping it."""
        def note(row: Any) -> str:
            # Error path only: called once per ragged row.
            text = row.text if len(row.text) <= _TEXT_MAX else row.text[:_TEXT_MAX] + "..."
            self.ragged.append(_Ragged(row.number, row.expected_columns, row.actual_columns,
                                       text))
            return "skip"
        return note

    def _deliver(self, table: pa.Table | None, last: bool = False) -> SourceBatch:
        """Type one batch; with it go the ragged rows met up to its last line."""
        from slaengine.coerce import coerce

        n = table.num_rows if table is not None else 0
        lines = self._lines(n)
        cut = int(lines[-1].as_py()) if n else None
        due_now = [last or cut is None or r.number is None or r.number <= cut
                   for r in self.ragged]
        due = [r for r, now in zip(self.ragged, due_now, strict=True) if now]
        self.ragged = [r for r, now in zip(self.ragged, due_now, strict=True) if not now]
        self.rows += n + len(due)
        duplicates = reject_schema().empty_table()
        if table is None:
            records = self.config.kind.schema(list(self.columns)).empty_table()
            rejected = reject_schema().empty_table()
        else:
            table = table.combine_chunks()
            records, rejected = coerce(
                table, kind=self.config.kind, columns=self.columns,
                timezone=self.config.timezone, rows=lines, source=self.config.name,
            )
            if self.seen is not None and records.num_rows:
                records, duplicates = self._first_seen(table, lines, records, rejected)
        if due:
            rejected = pa.concat_tables([_ragged_rejects(self.config.name, due),
                                         rejected]).sort_by("row")
        return SourceBatch(records=records, rejected=rejected, read=n + len(due),
                           duplicates=duplicates, position=self.position)

    def _parsed(self, text: int) -> None:
        """Note that the parser's blocks reach ``text`` bytes into the text, which are as many
        bytes of the file; of a compressed file, the bytes read from it so far count instead.

        Counted by the blocks taken from the parser, not by what it has read: it reads
        several blocks ahead (of a compressed file, fewer bytes as stored). A read started
        again (a longer block, or the careful read) counts from its own first block, so the
        position waits until that passes it.
        """
        if self.stream is not self.stored:
            try:
                text = self.stored.tell()
            except (OSError, ValueError):  # closed: the end of the file is noted after
                return
        self.position = max(self.position, min(text, self.size))

    def _first_seen(self, table: pa.Table, lines: pa.Array, records: pa.Table,
                    rejected: pa.Table) -> tuple[pa.Table, pa.Table]:
        """``records`` less the rows whose id an earlier accepted row has, and those rows."""
        line_numbers = lines.to_numpy()
        if rejected.num_rows:
            accepted = ~np.isin(line_numbers, rejected["row"].to_numpy())
            line_numbers = line_numbers[accepted]
        id_field = self.config.kind.id_field
        if id_field in self.columns:
            ids = records[id_field].combine_chunks()
        else:
            raw = table[str(self.id_column)].combine_chunks()
            if rejected.num_rows:
                raw = raw.filter(pa.array(accepted))
            ids = _trimmed_text(raw)
        if pa.types.is_dictionary(ids.type):
            ids = ids.dictionary_decode()
        assert self.seen is not None
        repeat, first = self.seen.check(ids, line_numbers)
        if not repeat.any():
            return records, reject_schema().empty_table()
        where = pa.array(repeat)
        n = int(repeat.sum())
        duplicates = pa.Table.from_arrays([
            pa.repeat(pa.scalar(self.config.name, pa.string()), n),
            pa.array(line_numbers[repeat], pa.int64()),
            pa.repeat(pa.scalar(id_field, pa.string()), n),
            ids.filter(where).cast(pa.string()),
            pc.binary_join_element_wise("duplicate of line ",
                                        pa.array(first[repeat]).cast(pa.string()), ""),
        ], schema=reject_schema())
        return records.filter(pc.invert(where)), duplicates

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


class _FirstSeen:
    """The ids of the rows accepted so far, to tell a later row that repeats one.

    Ids are hashed to 64 bits (vectorised over the text's bytes) and the hashes kept sorted, so
    each batch is checked with a binary search instead of against every id again. A hash
    match is confirmed by comparing the texts; were two different ids ever to share a hash,
    the batch is checked exactly against every id kept.
    """

    def __init__(self) -> None:
        self.hashes = np.empty(0, np.uint64)  # sorted
        self.slots = np.empty(0, np.int64)  # for each hash, its id's place in ids/lines
        self.ids: list[pa.Array] = []
        self.lines: list[np.ndarray] = []
        self.count = 0

    def check(self, ids: pa.Array, lines: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Which of ``ids`` (on ``lines``) repeat an earlier id, and the earlier id's line."""
        n = len(ids)
        repeat = np.zeros(n, dtype=bool)
        first = np.zeros(n, dtype=np.int64)
        present = np.flatnonzero(np.asarray(ids.is_valid(), dtype=bool))
        hashes = _hash_text(ids)[present]
        order = np.argsort(hashes, kind="stable")
        hs, pos = hashes[order], present[order]
        kept = len(self.hashes)
        at = np.minimum(np.searchsorted(self.hashes, hs), max(kept - 1, 0))
        old = (self.hashes[at] == hs) if kept else np.zeros(len(hs), dtype=bool)
        after_equal = np.zeros(len(hs), dtype=bool)
        after_equal[1:] = hs[1:] == hs[:-1]
        leader = np.flatnonzero(~after_equal)[np.cumsum(~after_equal) - 1]
        new_repeat = after_equal & ~old
        kept_ids = pa.chunked_array(self.ids, pa.string()) if old.any() else None
        old_slots = self.slots[at[old]]
        confirmed = (kept_ids is None or not old.any() or pc.all(pc.equal(
            ids.take(pa.array(pos[old])), kept_ids.take(pa.array(old_slots)))).as_py())
        confirmed = confirmed and (not new_repeat.any() or pc.all(pc.equal(
            ids.take(pa.array(pos[new_repeat])),
            ids.take(pa.array(pos[leader[new_repeat]])))).as_py())
        if confirmed:
            kept_lines = np.concatenate(self.lines) if old.any() else None
            repeat[pos[old]] = True
            if kept_lines is not None:
                first[pos[old]] = kept_lines[old_slots]
            repeat[pos[new_repeat]] = True
            first[pos[new_repeat]] = lines[pos[leader[new_repeat]]]
            fresh = ~old & ~after_equal
            fresh_hashes, fresh_slots = hs[fresh], self.count + pos[fresh]
        else:
            repeat, first = self._exactly(ids, lines)
            fresh_hashes = _hash_text(ids)[~repeat & np.asarray(ids.is_valid(), dtype=bool)]
            fresh_slots = self.count + np.flatnonzero(
                ~repeat & np.asarray(ids.is_valid(), dtype=bool))
        order = np.argsort(fresh_hashes, kind="stable")
        fresh_hashes, fresh_slots = fresh_hashes[order], fresh_slots[order]
        at = np.searchsorted(self.hashes, fresh_hashes)
        self.hashes = np.insert(self.hashes, at, fresh_hashes)
        self.slots = np.insert(self.slots, at, fresh_slots)
        self.ids.append(ids.cast(pa.string()))
        self.lines.append(np.asarray(lines, dtype=np.int64))
        self.count += n
        return repeat, first

    def _exactly(self, ids: pa.Array, lines: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The same answer as :meth:`check`, comparing texts against every id kept."""
        every = pa.chunked_array([*self.ids, ids.cast(pa.string())]).combine_chunks()
        codes = pc.dictionary_encode(every).indices.to_numpy(zero_copy_only=False)
        valid = np.asarray(every.is_valid(), dtype=bool)
        codes = np.where(valid, codes, -1)
        order = np.argsort(codes, kind="stable")
        starts = np.ones(len(codes), dtype=bool)
        starts[1:] = codes[order][1:] != codes[order][:-1]
        firsts = np.empty(len(codes), dtype=np.int64)
        firsts[order] = order[np.flatnonzero(starts)[np.cumsum(starts) - 1]]
        mine = np.arange(self.count, self.count + len(ids))
        earlier = firsts[mine]
        repeat = (earlier < mine) & valid[mine]
        all_lines = np.concatenate([*self.lines, np.asarray(lines, dtype=np.int64)])
        return repeat, np.where(repeat, all_lines[earlier], 0)


@cache
def _weights() -> np.ndarray:
    """Random 64-bit weights, one per byte position (modulo 256) within a value."""
    return np.random.default_rng(20260301).integers(0, 2**63, 256, dtype=np.uint64) | np.uint64(1)


def _hash_text(text: pa.Array) -> np.ndarray:
    """A 64-bit hash of each value's UTF-8 bytes (nulls hash as empty text), vectorised: each
    byte weighted by its position in the value, summed from prefix sums, mixed with the
    length. Equal hashes are only candidates: :class:`_FirstSeen` compares the texts."""
    text = text.cast(pa.string())
    n = len(text)
    if n == 0:
        return np.empty(0, np.uint64)
    offsets = np.frombuffer(text.buffers()[1], dtype=np.int32,
                            count=text.offset + n + 1)[text.offset:].astype(np.int64)
    start = int(offsets[0])
    offsets = offsets - start
    lengths = np.diff(offsets)
    size = int(offsets[-1])
    data = text.buffers()[2]
    raw = (np.frombuffer(data, dtype=np.uint8, count=start + size)[start:]
           if data is not None and size else np.empty(0, np.uint8))
    place = np.arange(size, dtype=np.int64)
    place -= np.repeat(offsets[:-1], lengths)
    with np.errstate(over="ignore"):
        weighted = (raw.astype(np.uint64) + np.uint64(1)) * _weights()[place & 255]
        sums = np.zeros(size + 1, np.uint64)
        np.cumsum(weighted, out=sums[1:])
        h = sums[offsets[1:]] - sums[offsets[:-1]]
        h ^= lengths.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
        h ^= h >> np.uint64(30)
        h *= np.uint64(0xBF58476D1CE4E5B9)
        h ^= h >> np.uint64(27)
        h *= np.uint64(0x94D049BB133111EB)
        h ^= h >> np.uint64(31)
    return h


def _trimmed_text(arr: pa.Array) -> pa.Array:
    """Text values, whitespace trimmed, an empty one as null (as ids are typed)."""
    text = pc.utf8_trim_whitespace(arr.cast(pa.string()))
    return pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)


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
        if type_ == arrow_type("timestamp"):
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
        schema=reject_schema(),
    )


def _empty(config: SourceConfig, fields: Sequence[str]) -> SourceBatch:
    """The single batch of a file without even a header."""
    return SourceBatch(
        records=config.kind.schema(list(fields)).empty_table(),
        rejected=reject_schema().empty_table(),
        read=0,
    )


def _block_too_small(exc: BaseException) -> bool:
    """Whether pyarrow failed because a line (the header, a row, a quoted value) is longer
    than its block."""
    text = str(exc)
    return "straddl" in text or "Empty CSV file or block" in text


def _holds_less_than(path: Path, size: int) -> bool:
    """Whether the (decompressed) file is shorter than ``size`` bytes."""
    with pa.input_stream(str(path), compression="detect") as stream:
        return len(stream.read(size)) < size


def _bigger(path: Path, block: int, line: int) -> int:
    """The next block size to try, or a DataError when no block can hold the line."""
    if block >= _BLOCK_LIMIT or (not _suffix_codec(path) and block > path.stat().st_size):
        raise DataError(
            f"line {line} (or a quoted value that starts there) cannot be parsed: it is longer "
            f"than {_BLOCK_LIMIT >> 20} MiB, or a quote opened there is never closed",
            file=path)
    return min(block * 2, _BLOCK_LIMIT)


def _open_input(path: Path) -> tuple[pa.NativeFile, pa.NativeFile]:
    """The file as stored and the stream the parser reads: decompressed when its extension
    names a codec, as ``pa.input_stream(path, compression="detect")`` would. The position of
    the first is how far the reading has come."""
    stored = pa.OSFile(str(path))
    if not _suffix_codec(path):
        return stored, stored
    return stored, pa.CompressedInputStream(stored, pa.Codec.detect(str(path)).name)


def _suffix_codec(path: Path) -> bool:
    """Whether pyarrow decompresses ``path`` (chosen by its extension)."""
    try:
        pa.Codec.detect(str(path))
    except (TypeError, ValueError, pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return False
    return True


def _unreadable(path: Path, options: _Options, exc: BaseException, line: int) -> DataError:
    """A DataError for a file pyarrow cannot parse or decode, naming the line at fault."""
    text = str(exc)
    if isinstance(exc, UnicodeError) or "invalid UTF8" in text or "UTF8" in text:
        bad = _undecodable_line(path, options.encoding)
        where = f"line {bad}: " if bad is not None else ""
        name = "UTF-8" if options.encoding == "utf8" else options.encoding
        return DataError(
            f"{where}text is not valid {name}; if the file uses another encoding, set "
            f'sources.{options.source}.encoding (e.g. "latin-1" or "cp1252")', file=path)
    if isinstance(exc, OSError) and ("gzip" in text.lower() or "compress" in text.lower()
                                     or "zstd" in text.lower() or "bz2" in text.lower()
                                     or "lz4" in text.lower()):
        return DataError(f"cannot be decompressed (the file's extension says it is "
                         f"compressed): {exc}", file=path)
    return DataError(f"cannot be read as CSV at or after line {line}: {exc}", file=path)


def _undecodable_line(path: Path, encoding: str) -> int | None:
    """The line holding the first bytes that do not decode in ``encoding`` (error path only:
    the file is decoded again in chunks by Python's codec)."""
    decoder = codecs.getincrementaldecoder("utf-8" if encoding == "utf8" else encoding)()
    newlines = 0
    try:
        with pa.input_stream(str(path), compression="detect") as stream:
            while chunk := stream.read(1 << 20):
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError as exc:
                    return newlines + chunk.count(b"\n", 0, max(exc.start, 0)) + 1
                newlines += chunk.count(b"\n")
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return newlines + 1
    except (OSError, UnicodeError, pa.ArrowInvalid):
        return None
    return None


@hookimpl
def register_sources() -> list[Source]:
    """Offer the ``csv`` adapter."""
    return [CsvSource()]
