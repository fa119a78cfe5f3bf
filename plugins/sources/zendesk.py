"""The ``zendesk`` source: tickets from a Zendesk Support export (incremental export pages,
ticket lists or JSON Lines), with their ticket metrics."""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any, ClassVar

from slaengine import hookimpl
from slaengine.errors import DataError
from slaengine.fields import METRIC_EVENTS, arrow_type
from slaengine.inputs import is_pattern, source_files
from slaengine.lazy import np, pa, pc
from slaengine.plugin import Source, SourceBatch, SourceConfig, reject_schema


@cache
def export_types() -> tuple[pa.DataType, pa.DataType]:
    """The Arrow types of a ticket and of a metric set: the documented keys this adapter reads
    (Zendesk Support API: Tickets, Ticket Metrics, Satisfaction Ratings). Every other key of a
    ticket or a metric set is ignored."""
    minutes = pa.struct([("calendar", pa.float64()), ("business", pa.float64())])
    ticket = pa.struct(
        [
            ("id", pa.int64()),
            ("created_at", pa.string()),
            ("updated_at", pa.string()),
            ("status", pa.string()),
            ("priority", pa.string()),
            ("via", pa.struct([("channel", pa.string())])),
            ("group_id", pa.int64()),
            ("assignee_id", pa.int64()),
            ("organization_id", pa.int64()),
            ("tags", pa.list_(pa.string())),
            ("satisfaction_rating", pa.struct([("score", pa.string())])),
        ]
    )
    metric_set = pa.struct(
        [
            ("ticket_id", pa.int64()),
            ("updated_at", pa.string()),
            ("reopens", pa.int64()),
            ("replies", pa.int64()),
            ("solved_at", pa.string()),
            ("initially_assigned_at", pa.string()),
            ("reply_time_in_minutes", minutes),
            ("first_resolution_time_in_minutes", minutes),
            ("full_resolution_time_in_minutes", minutes),
            ("agent_wait_time_in_minutes", minutes),
            ("requester_wait_time_in_minutes", minutes),
            ("on_hold_time_in_minutes", minutes),
        ]
    )
    return ticket, metric_set


# canonical field <- key path in a ticket
_TICKET_KEYS: dict[str, tuple[str, ...]] = {
    "ticket_id": ("id",),
    "created_at": ("created_at",),
    "updated_at": ("updated_at",),
    "status": ("status",),
    "priority": ("priority",),
    "channel": ("via", "channel"),
    "group": ("group_id",),
    "agent": ("assignee_id",),
    "organization": ("organization_id",),
    "satisfaction": ("satisfaction_rating", "score"),
}
# canonical field <- key path in the ticket's metric set (minutes become seconds)
_METRIC_KEYS: dict[str, tuple[str, ...]] = {
    "resolved_at": ("solved_at",),
    "assigned_at": ("initially_assigned_at",),
    "reopens": ("reopens",),
    "replies": ("replies",),
}
_METRIC_MINUTES: dict[str, tuple[str, str]] = {
    "first_response_business_seconds": ("reply_time_in_minutes", "business"),
    "first_resolution_business_seconds": ("first_resolution_time_in_minutes", "business"),
    "resolution_business_seconds": ("full_resolution_time_in_minutes", "business"),
    "agent_wait_seconds": ("agent_wait_time_in_minutes", "calendar"),
    "agent_wait_business_seconds": ("agent_wait_time_in_minutes", "business"),
    "requester_wait_seconds": ("requester_wait_time_in_minutes", "calendar"),
    "requester_wait_business_seconds": ("requester_wait_time_in_minutes", "business"),
    "on_hold_seconds": ("on_hold_time_in_minutes", "calendar"),
    "on_hold_business_seconds": ("on_hold_time_in_minutes", "business"),
}
PROVIDES: frozenset[str] = frozenset(
    [*_TICKET_KEYS, "tags", "first_response_at", *_METRIC_KEYS, *_METRIC_MINUTES]
)
_JSON_SUFFIXES = (".json", ".jsonl", ".ndjson")
_LINES_SUFFIXES = (".jsonl", ".ndjson")
_TEXT_MAX = 200
MAX_PAGE_BYTES = 1 << 30
"""The largest file (after gunzipping) read into memory as one page: 1 GiB. A larger one is
a DataError naming the file and this limit (an export is many pages of a few MB)."""
# Reply minutes whose microseconds stay far inside int64 when added to any instant.
_MAX_REPLY_MINUTES = 1e11
DELETED = "deleted ticket"
NO_METRIC_SET = "no metric set"


@dataclass
class _Page:
    """One file's tickets (and metric sets), with each ticket's place and the unusable rows."""

    tickets: pa.StructArray
    places: np.ndarray
    metric_sets: pa.StructArray | None = None
    rejects: list[dict[str, Any]] = field(default_factory=list)


class ZendeskSource(Source):
    """Read tickets from a Zendesk Support export (``adapter = "zendesk"``).

    Shapes read (``path`` is one file, a glob such as ``"export/page-*.json.gz"``, or a folder
    whose ``.json``/``.jsonl``/``.ndjson`` files, gzipped or not, are read in name order; the
    folder's sub-folders are not read, nor hidden ``.x``/``_x`` files; a file reached twice,
    through a link or an overlapping pattern, is read once; see :meth:`files`):

    - pages of the incremental ticket export with the ``metric_sets`` side-load
      (``GET /api/v2/incremental/tickets.json?include=metric_sets``):
      ``{"tickets": [...], "metric_sets": [...], "end_time": ..., "next_page": ...,
      "end_of_stream": ...}``; a metric set belongs to the ticket whose ``id`` is its
      ``ticket_id``;
    - plain ticket lists: ``{"tickets": [...]}`` or a JSON array of tickets;
    - JSON Lines: one ticket object per line (``.jsonl``/``.ndjson``, or a ``.json`` file that
      holds more than one JSON value).

    Contract keys, besides ``adapter`` and ``path``:

    - ``on_malformed`` (``"error"``, the default, or ``"skip"``): what a file that is not valid
      JSON does. ``"error"`` stops the run naming the file, line, column and byte offset;
      ``"skip"`` records the page as one rejected row (``value``: the file name; ``reason``:
      where and what) and reads on.

    ``fields`` is not used: the adapter reads Zendesk's documented keys and a ``fields`` table
    is an error. Example::

        [sources.tickets]
        adapter = "zendesk"
        path = "data/zendesk/"              # page-001.json.gz, page-002.json.gz, ...
        on_malformed = "skip"

    Canonical fields delivered (see ``available``): from the ticket ``id`` (as text)
    → ``ticket_id``, ``created_at``, ``updated_at``, ``status``, ``priority`` (may be null),
    ``via.channel`` → ``channel``, ``group_id`` → ``group``, ``assignee_id`` → ``agent``,
    ``organization_id`` → ``organization``, ``tags`` → ``tags`` (joined by spaces),
    ``satisfaction_rating.score`` → ``satisfaction`` (``good``/``bad`` are answers,
    ``offered`` was asked but not answered, ``unoffered`` was never asked). From the ticket's
    metric set: ``created_at + reply_time_in_minutes.calendar`` → ``first_response_at``;
    ``reply_time_in_minutes.business`` → ``first_response_business_seconds``,
    ``first_resolution_time_in_minutes.business`` → ``first_resolution_business_seconds``,
    ``full_resolution_time_in_minutes.business`` → ``resolution_business_seconds``;
    ``agent_wait_time_in_minutes``, ``requester_wait_time_in_minutes`` and
    ``on_hold_time_in_minutes`` → ``agent_wait_seconds``, ``requester_wait_seconds``,
    ``on_hold_seconds`` (calendar) and the matching ``*_business_seconds``; ``reopens``,
    ``replies``, ``solved_at`` → ``resolved_at``, ``initially_assigned_at`` → ``assigned_at``.
    Minutes become seconds (× 60). Business figures are Zendesk's own, on the account's
    schedule.

    Behaviour:

    - A ticket repeated across pages (the incremental export repeats a ticket each time it
      changes) is kept once, in its latest ``updated_at`` version (the later one in reading
      order on a tie); the others are counted as duplicates (reason
      ``duplicate of a later version (updated_at ...)``), not as rejects.
    - Rejected, with the reason: a ticket whose (latest) status is ``deleted``
      (``deleted ticket``); when the export carries metric sets (any page has a
      ``metric_sets`` key), a ticket without one (``no metric set``); values that
      :func:`slaengine.coerce.coerce` cannot use, with the same reasons as CSV (e.g.
      ``first_response_at: before created_at`` for a negative reply time). An export without
      metric sets at all (plain lists, JSON Lines) simply has null metric-derived fields.
    - A malformed JSON Lines line is one rejected row (``row``: its line number). A malformed
      page: see ``on_malformed``. A document of another shape, a key holding a value of the
      wrong type (a text ``id``, a ``1.5`` or a 30-digit number where an integer belongs, an
      object where a number belongs), JSON nested too deeply to decode, or a file larger than
      :data:`MAX_PAGE_BYTES` (gunzipped) stops the run naming the file, ticket and key.
    - A minutes figure that is not a finite number (``1e400`` decodes as infinity) is rejected
      as not a number, as in CSV; a reply time too large to place in time rejects the ticket's
      ``first_response_at`` as out of range. A metric set whose ticket is not in the export is
      not a row and is ignored.
    - ``row`` is the ticket's position (1-based) in its file's ``tickets`` list, or its line
      number in JSON Lines. ``value``/``field`` name the value at fault; for duplicates,
      deleted tickets and missing metric sets they are ``ticket_id`` and the ticket's id.
    - All pages are read before anything is yielded (a later page can supersede a ticket), so
      the export's needed columns are held in memory as Arrow arrays, one page of parsed JSON
      at a time. Everything after JSON decoding is vectorised.
    """

    name = "zendesk"
    origins: ClassVar[dict[str, str]] = {
        **{f: ".".join(path) for f, path in _TICKET_KEYS.items()},
        "tags": "tags",
        "first_response_at": "created_at + metric_sets.reply_time_in_minutes.calendar",
        **{f: "metric_sets." + ".".join(path) for f, path in _METRIC_KEYS.items()},
        **{f: f"metric_sets.{key}.{clock}" for f, (key, clock) in _METRIC_MINUTES.items()},
    }
    """Where each canonical field comes from, for ``slaengine inspect``."""
    schema: ClassVar[dict[str, Any]] = {
        "on_malformed": {"type": "string", "allowed": ["error", "skip"]},
    }

    def available(self, config: SourceConfig) -> frozenset[str]:
        """The fixed set of canonical fields a Zendesk export provides (of its metric events,
        for a source of kind ``events`` or ``metric_events``)."""
        return EVENT_PROVIDES if reads_metric_events(config) else PROVIDES

    def files(self, config: SourceConfig) -> list[Path]:
        """The export's files: the file, the pattern's matches (whatever their names), or the
        folder's JSON files (not its sub-folders'), each once, by path."""
        accept = None if is_pattern(config.path) and not Path(config.path).exists() else _top_json
        return source_files(config.path, f"sources.{config.name}.path", accept,
                            what=".json, .jsonl or .ndjson files (gzipped or not)")

    def columns(self, config: SourceConfig) -> list[tuple[str, str]] | None:
        """The keys of the first page's tickets (and metric sets), nested keys dotted."""
        files = self.files(config)
        page = _read_file(files[0], config, *export_types(), infer=True)
        out = _flat_types("", page.tickets.type)
        if page.metric_sets is not None:
            out += _flat_types("metric_sets.", page.metric_sets.type)
        return out

    def read(self, config: SourceConfig, fields: Sequence[str]) -> Iterator[SourceBatch]:
        """Yield the requested canonical ``fields`` of every ticket of the export, in one batch."""
        from slaengine.coerce import coerce
        if reads_metric_events(config):
            yield read_metric_events(config, fields, self.files(config))
            return
        _check_request(config, fields)
        ticket_type, metric_set_type = export_types()
        pages = [
            _read_file(path, config, ticket_type, metric_set_type) for path in self.files(config)
        ]
        tickets = _concat([p.tickets for p in pages], ticket_type)
        places = np.concatenate([p.places for p in pages] or [np.empty(0, np.int64)])
        page_rejects = [r for p in pages for r in p.rejects]
        carries = any(p.metric_sets is not None for p in pages)
        metric_sets = _concat(
            [p.metric_sets for p in pages if p.metric_sets is not None], metric_set_type
        )
        read = len(tickets) + len(page_rejects)

        ids = pc.struct_field(tickets, "id").cast(pa.string())
        updated = _typed_times(pc.struct_field(tickets, "updated_at"), config)
        keep, winner = _latest(ids, updated)
        duplicates = _duplicate_rejects(config.name, ids, places, tickets, keep, winner)

        tickets, ids, places = tickets.filter(keep), ids.filter(keep), places[keep]
        status = pc.utf8_lower(pc.utf8_trim_whitespace(pc.struct_field(tickets, "status")))
        unusable: list[tuple[pa.Array, str | pa.Array]] = [
            (pc.fill_null(pc.equal(status, "deleted"), False), DELETED)]
        metrics = pa.nulls(len(tickets), metric_set_type)
        if carries:
            metric_keep, _ = _latest(
                pc.struct_field(metric_sets, "ticket_id").cast(pa.string()),
                _typed_times(pc.struct_field(metric_sets, "updated_at"), config),
            )
            metric_sets = metric_sets.filter(metric_keep)
            metric_ids = pc.struct_field(metric_sets, "ticket_id").cast(pa.string())
            where = pc.index_in(ids, value_set=metric_ids, skip_nulls=True)
            metrics = pc.take(metric_sets, where)
            unusable.append((pc.is_null(where), NO_METRIC_SET))
        if "first_response_at" in fields:
            unusable.append(_unplaceable_replies(metrics))

        bad = np.zeros(len(tickets), dtype=bool)
        adapter_rejects = []
        for mask, reason in unusable:
            hit = np.asarray(mask, dtype=bool) & ~bad
            bad |= hit
            if isinstance(reason, pa.Array):
                reason = reason.filter(pa.array(hit))
            adapter_rejects.append(_rejects(config.name, places[hit], ids.filter(hit), reason))

        good = pa.array(~bad)
        raw = _raw_columns(tickets.filter(good), metrics.filter(good), config)
        records, rejected = coerce(
            raw,
            kind=config.kind,
            columns={f: f for f in fields},
            timezone=config.timezone,
            rows=places[~bad],
            source=config.name,
        )
        malformed = pa.Table.from_pylist(page_rejects, schema=reject_schema())
        yield SourceBatch(
            records=records,
            rejected=pa.concat_tables([malformed, *adapter_rejects, rejected]),
            read=read,
            duplicates=duplicates,
            notes=_rating_notes(records),
        )


def _rating_notes(records: pa.Table) -> dict[str, int]:
    """How many satisfaction ratings were offered but not answered, and not offered at all:
    Zendesk's ``offered`` and ``unoffered`` are not answers, so CSAT leaves them out."""
    if "satisfaction" not in records.column_names or records.num_rows == 0:
        return {}
    counts = pc.value_counts(pc.cast(records["satisfaction"], pa.string()))
    seen = dict(zip(counts.field("values").to_pylist(), counts.field("counts").to_pylist(),
                    strict=True))
    return {"satisfaction ratings offered but not answered": seen.get("offered", 0),
            "satisfaction ratings not offered": seen.get("unoffered", 0)}


# --------------------------------------------------------------------------- files


def _check_request(
    config: SourceConfig, fields: Sequence[str], provides: frozenset[str] = PROVIDES,
    what: str = "a Zendesk export",
) -> None:
    if config.fields:
        raise DataError(
            f"sources.{config.name}.fields: the zendesk adapter reads Zendesk's documented keys "
            "and takes no fields mapping; remove the fields table",
            file=config.path,
        )
    missing = [f for f in fields if f not in provides]
    if missing:
        raise DataError(
            f"{what} does not provide the field(s) {', '.join(missing)}",
            where=f"source {config.name!r}",
            accepted=provides,
        )


def _top_json(relative: Path) -> bool:
    """A JSON file directly in the folder (its sub-folders are not part of the export)."""
    return len(relative.parts) == 1 and _is_json_name(relative)


def _is_json_name(path: Path) -> bool:
    name = path.name.lower().removesuffix(".gz")
    return name.endswith(_JSON_SUFFIXES) and not name.startswith((".", "_"))


def _text(path: Path) -> str:
    """The file's text: gunzipped when it is gzip (by suffix or magic bytes), UTF-8; a DataError
    when it is larger than :data:`MAX_PAGE_BYTES`, before more than that is held."""
    try:
        if path.stat().st_size > MAX_PAGE_BYTES:
            raise _too_big(path, "")
        with path.open("rb") as handle:
            data = handle.read(MAX_PAGE_BYTES + 1)
        if path.suffix.lower() == ".gz" or data[:2] == b"\x1f\x8b":
            with gzip.GzipFile(fileobj=io.BytesIO(data)) as unzipped:
                data = unzipped.read(MAX_PAGE_BYTES + 1)
            if len(data) > MAX_PAGE_BYTES:
                raise _too_big(path, " once gunzipped")
    except (OSError, EOFError) as exc:  # gzip.BadGzipFile is an OSError
        raise DataError(f"cannot be read: {exc}", file=path) from exc
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(
            f"text is not valid UTF-8 at byte offset {exc.start}: Zendesk exports are UTF-8",
            file=path,
        ) from exc


def _too_big(path: Path, how: str) -> DataError:
    return DataError(f"larger than {MAX_PAGE_BYTES:,} bytes{how} (the limit for one page, "
                     "which is read whole): split the export into smaller pages", file=path)


def _read_file(
    path: Path,
    config: SourceConfig,
    ticket_type: pa.DataType,
    metric_type: pa.DataType,
    *,
    infer: bool = False,
) -> _Page:
    """One file as Arrow arrays of the documented keys; the JSON objects are dropped at once."""
    text = _text(path)
    lines = path.name.lower().removesuffix(".gz").endswith(_LINES_SUFFIXES)
    if not lines:
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            if exc.msg != "Extra data":
                return _malformed_page(path, text, exc, config)
            lines = True  # several JSON values: JSON Lines under a .json name
        except RecursionError as exc:
            raise _too_deep(path) from exc
    if lines:
        try:
            objects, places, rejects = _json_lines(text)
        except RecursionError as exc:
            raise _too_deep(path) from exc
        tickets = _struct_array(objects, ticket_type, path, "line", places, infer)
        return _Page(tickets=tickets, places=places, rejects=_named(rejects, config))

    if isinstance(document, list):
        ticket_list, metric_list = document, None
    elif isinstance(document, dict) and isinstance(document.get("tickets"), list):
        ticket_list, metric_list = document["tickets"], document.get("metric_sets")
        if metric_list is not None and not isinstance(metric_list, list):
            raise DataError('"metric_sets" is not a list of metric sets', file=path)
    elif isinstance(document, dict) and "tickets" in document:
        raise DataError(f'"tickets" holds {_shown(document["tickets"])}, expected a list of '
                        "tickets", file=path)
    else:
        found = (f"an object with the keys {', '.join(sorted(document)[:12])}"
                 if isinstance(document, dict) else _shown(document))
        raise DataError(
            'expected an export page ({"tickets": [...], "metric_sets": [...], ...}), a JSON '
            f"array of tickets, or JSON Lines; found {found}",
            file=path,
        )
    places = np.arange(1, len(ticket_list) + 1, dtype=np.int64)
    tickets = _struct_array(ticket_list, ticket_type, path, "ticket", places, infer)
    metrics = None
    if metric_list is not None:
        where = np.arange(1, len(metric_list) + 1, dtype=np.int64)
        metrics = _struct_array(metric_list, metric_type, path, "metric set", where, infer)
    return _Page(tickets=tickets, places=places, metric_sets=metrics)


def _too_deep(path: Path) -> DataError:
    return DataError("JSON nested too deeply to decode (arrays or objects inside one another "
                     "thousands of times): not a Zendesk export", file=path)


def _shown(value: Any) -> str:
    """A JSON value as it is written, cut short for a message."""
    try:
        text = json.dumps(value)
    except (RecursionError, ValueError):
        text = f"a deeply nested {type(value).__name__}"
    return text if len(text) <= 80 else text[:80] + "..."


def _malformed_page(
    path: Path, text: str, exc: json.JSONDecodeError, config: SourceConfig
) -> _Page:
    """A page that is not JSON: an error naming the place, or one reject row (``skip``)."""
    offset = len(text[: exc.pos].encode("utf-8"))
    where = f"line {exc.lineno}, column {exc.colno} (byte offset {offset})"
    if config.options.get("on_malformed", "error") != "skip":
        raise DataError(
            f"malformed JSON at {where}: {exc.msg}; set sources.{config.name}.on_malformed = "
            '"skip" to count the page as rejected and read on',
            file=path,
        )
    reject = {"source": config.name, "row": exc.lineno, "field": None, "value": path.name,
              "reason": f"malformed JSON page: {exc.msg} at {where}"}
    return _Page(tickets=pa.array([], export_types()[0]), places=np.empty(0, np.int64),
                 rejects=[reject])


def _json_lines(text: str) -> tuple[list[Any], np.ndarray, list[dict[str, Any]]]:
    """Decode JSON Lines with one ``json.loads`` over all lines joined into an array.

    Blank lines are skipped. A line that does not decode is cut out (found from the error's
    position, on the error path only) and becomes a reject with its line number.
    """
    split = pc.split_pattern(pa.array([text]), "\n")[0].values
    present = pc.not_equal(pc.utf8_trim_whitespace(split), "")
    numbers = np.flatnonzero(np.asarray(present, dtype=bool)) + 1
    kept = split.filter(present)
    rejects: list[dict[str, Any]] = []
    while True:
        joined = "[" + pc.binary_join(pa.array([kept], pa.list_(pa.string())), ",")[0].as_py() + "]"
        try:
            return json.loads(joined), numbers, rejects
        except json.JSONDecodeError as exc:
            bad, reason = _bad_line(kept, exc)
        line = kept[bad].as_py()
        shown = line if len(line) <= _TEXT_MAX else line[:_TEXT_MAX] + "..."
        rejects.append({"row": int(numbers[bad]), "field": None, "value": shown.strip(),
                        "reason": f"malformed JSON line: {reason}"})
        drop = np.ones(len(kept), dtype=bool)
        drop[bad] = False
        kept, numbers = kept.filter(pa.array(drop)), numbers[drop]


def _bad_line(lines: pa.Array, exc: json.JSONDecodeError) -> tuple[int, str]:
    """The index of the line the joined array's decoding error belongs to, and the reason.

    The error's position falls in line k (or the comma after it); an unfinished line k-1 can
    make line k look wrong, so earlier lines are checked until one fails on its own.
    """
    ends = np.cumsum(np.asarray(pc.utf8_length(lines), dtype=np.int64) + 1)  # "[" or ","
    k = min(int(np.searchsorted(ends, exc.pos, side="left")), len(lines) - 1)
    for i in range(k, -1, -1):
        try:
            json.loads(lines[i].as_py())
        except json.JSONDecodeError as own:
            return i, f"{own.msg} at column {own.colno}"
    return k, f"{exc.msg}"


def _named(rejects: list[dict[str, Any]], config: SourceConfig) -> list[dict[str, Any]]:
    return [{"source": config.name, **r} for r in rejects]


def _conversion_errors() -> tuple[type[Exception], ...]:
    """What a failed conversion of JSON items to Arrow raises."""
    return (pa.ArrowException, TypeError, ValueError, OverflowError, RecursionError)


def _struct_array(
    items: list[Any], type_: pa.DataType, path: Path, what: str, places: np.ndarray, infer: bool
) -> pa.StructArray:
    """``items`` as Arrow structs of the documented keys (converted in C++, no Python loop).

    On failure (an item that is not an object, a key of the wrong type, a number past 64 bits)
    the first culprit is found, on this error path only, and named. Arrow truncates a float
    such as ``1.5`` given for an integer key; :func:`_check_whole` catches those.
    """
    if infer:
        try:
            return pa.array(items[:1000]) if items else pa.array([], type_)
        except _conversion_errors():
            pass
    try:
        array = pa.array(items, type=type_)
    except _conversion_errors() as exc:
        raise _type_problem(items, type_, path, what, places, exc) from exc
    if not infer:
        _check_whole(items, array, type_, path, what, places)
    return array


def _integer_paths(type_: pa.DataType, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Key paths of the integer keys of a struct type."""
    out: list[tuple[str, ...]] = []
    for f in type_:
        if pa.types.is_struct(f.type):
            out += _integer_paths(f.type, (*prefix, f.name))
        elif pa.types.is_integer(f.type):
            out.append((*prefix, f.name))
    return out


def _as_floats(type_: pa.DataType) -> pa.DataType:
    """``type_`` with only its integer keys, as float64 (to see what the JSON held)."""
    fields = []
    for f in type_:
        if pa.types.is_struct(f.type):
            inner = _as_floats(f.type)
            if inner.num_fields:
                fields.append(pa.field(f.name, inner))
        elif pa.types.is_integer(f.type):
            fields.append(pa.field(f.name, pa.float64()))
    return pa.struct(fields)


def _check_whole(items: list[Any], array: pa.StructArray, type_: pa.DataType, path: Path,
                 what: str, places: np.ndarray) -> None:
    """A DataError naming the first item whose integer key held a fraction (``1.5``), which
    the conversion truncated. The integer keys are converted again as floats and compared."""
    paths = _integer_paths(type_)
    if not paths or not len(array):
        return
    floats = pa.array(items, type=_as_floats(type_))
    for key in paths:
        values = pc.struct_field(floats, list(key))
        fraction = pc.fill_null(pc.not_equal(pc.floor(values), values), False)
        if pc.any(fraction).as_py():
            i = int(np.flatnonzero(np.asarray(fraction, dtype=bool))[0])
            raise DataError(
                f'{what} {int(places[i])}: key "{".".join(key)}" holds {values[i].as_py()!r}, '
                f"expected {_describe(pa.int64())}", file=path)


def _type_problem(
    items: list[Any], type_: pa.DataType, path: Path, what: str, places: np.ndarray,
    exc: BaseException,
) -> DataError:
    for i, item in enumerate(items):
        place = f"{what} {int(places[i])}"
        if not isinstance(item, dict):
            return DataError(f"{place}: expected a JSON object, found {_shown(item)}", file=path)
        for f in type_:
            try:
                pa.array([item.get(f.name)], type=f.type)
            except _conversion_errors():
                return DataError(
                    f'{place}: key "{f.name}" holds {_shown(item.get(f.name))}, expected '
                    f"{_describe(f.type)}",
                    file=path,
                )
    return DataError(f"cannot be converted: {exc}", file=path)


def _describe(type_: pa.DataType) -> str:
    if pa.types.is_integer(type_):
        return "a whole number within 64 bits (or null)"
    if pa.types.is_string(type_):
        return "a string (or null)"
    if pa.types.is_floating(type_):
        return "a number (or null)"
    if pa.types.is_list(type_):
        return "a list of strings"
    if pa.types.is_struct(type_):
        keys = ", ".join(f'"{f.name}": {_describe(f.type)}' for f in type_)
        return f"an object {{{keys}}}"
    return f"a {type_}"


def _flat_types(prefix: str, type_: pa.DataType) -> list[tuple[str, str]]:
    """Struct fields as dotted names with their types."""
    out: list[tuple[str, str]] = []
    for f in type_:
        if pa.types.is_struct(f.type) and f.type.num_fields:
            out += _flat_types(f"{prefix}{f.name}.", f.type)
        else:
            out.append((f"{prefix}{f.name}", str(f.type)))
    return out


def _concat(arrays: list[pa.Array], type_: pa.DataType) -> pa.StructArray:
    return pa.concat_arrays(arrays) if arrays else pa.array([], type_)


# --------------------------------------------------------------------------- records


def _typed_times(text: pa.Array, config: SourceConfig) -> pa.Array:
    """ISO 8601 text as UTC timestamps, typed by the shared coercion; unusable values are null."""
    from slaengine.coerce import coerce
    n = len(text)
    index = np.arange(n, dtype=np.int64)
    records, rejected = coerce(
        pa.table({"t": text}),
        kind=config.kind,
        columns={"created_at": "t"},
        timezone=config.timezone,
        rows=index,
        source=config.name,
    )
    good = pc.invert(pc.is_in(pa.array(index), value_set=rejected["row"].combine_chunks()))
    typed = records["created_at"].combine_chunks()
    return pc.replace_with_mask(pa.nulls(n, arrow_type("timestamp")), good, typed)


def _latest(ids: pa.Array, updated: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Per row: is it the latest version of its id, and the index of that latest version.

    Sorts by (id, updated_at, reading order); the last row of each id wins. A missing
    updated_at counts as the oldest; rows without an id are all kept.
    """
    n = len(ids)
    if n == 0:
        return np.zeros(0, dtype=bool), np.zeros(0, dtype=np.int64)
    order = np.arange(n, dtype=np.int64)
    stamp = pc.fill_null(updated.cast(pa.int64()), np.iinfo(np.int64).min)
    table = pa.table({"id": ids, "u": stamp, "i": order})
    by = [("id", "ascending", "at_end"), ("u", "ascending", "at_end"), ("i", "ascending", "at_end")]
    sorted_index = np.asarray(pc.sort_indices(table, sort_keys=by))
    sorted_ids = ids.take(pa.array(sorted_index))
    following = pa.concat_arrays([sorted_ids.slice(1), pa.nulls(1, pa.string())])
    same = np.asarray(pc.fill_null(pc.equal(sorted_ids, following), False), dtype=bool)
    last = ~same
    lasts = np.flatnonzero(last)
    winner_sorted = lasts[np.searchsorted(lasts, np.arange(n), side="left")]
    keep = np.empty(n, dtype=bool)
    keep[sorted_index] = last
    winner = np.empty(n, dtype=np.int64)
    winner[sorted_index] = sorted_index[winner_sorted]
    return keep, winner


def _duplicate_rejects(
    source: str, ids: pa.Array, places: np.ndarray, tickets: pa.StructArray, keep: np.ndarray,
    winner: np.ndarray,
) -> pa.Table:
    """One row per superseded version, naming the updated_at of the version kept."""
    gone = ~keep
    kept_updated = pc.struct_field(tickets, "updated_at").take(pa.array(winner[gone]))
    said = pc.binary_join_element_wise("duplicate of a later version (updated_at ",
                                       kept_updated, ")", "")
    reason = pc.fill_null(said, "duplicate of a later version (later in the export)")
    return _rejects(source, places[gone], ids.filter(pa.array(gone)), reason)


def _rejects(source: str, places: np.ndarray, ids: pa.Array, reason: str | pa.Array) -> pa.Table:
    n = len(places)
    if isinstance(reason, str):
        reason = pa.repeat(pa.scalar(reason, pa.string()), n)
    arrays = [
        pa.repeat(pa.scalar(source, pa.string()), n),
        pa.array(places, pa.int64()),
        pa.repeat(pa.scalar("ticket_id", pa.string()), n),
        ids,
        reason,
    ]
    return pa.Table.from_arrays(arrays, schema=reject_schema())


def _raw_columns(
    tickets: pa.StructArray, metrics: pa.StructArray, config: SourceConfig
) -> pa.Table:
    """Every provided field as a raw column under its canonical name, ready for coerce."""
    columns: dict[str, pa.Array] = {
        name: pc.struct_field(tickets, list(path)) for name, path in _TICKET_KEYS.items()
    }
    columns["tags"] = pc.binary_join(pc.struct_field(tickets, "tags"), " ")
    for name, path in _METRIC_KEYS.items():
        columns[name] = pc.struct_field(metrics, list(path))
    for name, (key, clock) in _METRIC_MINUTES.items():
        columns[name] = pc.multiply(pc.struct_field(metrics, [key, clock]), 60.0)
    reply = pc.struct_field(metrics, ["reply_time_in_minutes", "calendar"])
    # Replies too large to place are rejected beforehand when first_response_at is read.
    reply = pc.if_else(_placeable(reply), reply, pa.scalar(None, pa.float64()))
    micros = pc.round(pc.multiply(reply, 60_000_000.0)).cast(pa.int64()).cast(pa.duration("us"))
    created = _typed_times(columns["created_at"], config)
    columns["first_response_at"] = pc.add(created, micros)
    return pa.table(columns)


def _placeable(minutes: pa.Array) -> pa.Array:
    """Minutes that, as microseconds added to any instant, stay within a timestamp."""
    return pc.fill_null(pc.less_equal(pc.abs(minutes), _MAX_REPLY_MINUTES), False)


def _unplaceable_replies(metrics: pa.StructArray) -> tuple[pa.Array, pa.Array]:
    """The tickets whose reply time cannot give a ``first_response_at`` (infinite, or beyond
    any date), and the reason for each."""
    reply = pc.struct_field(metrics, ["reply_time_in_minutes", "calendar"])
    mask = pc.and_(pc.is_valid(reply), pc.invert(_placeable(reply)))
    what = pc.if_else(pc.is_finite(reply), "' is out of range", "' is not a number")
    reason = pc.binary_join_element_wise(
        "first_response_at: metric_sets.reply_time_in_minutes.calendar '",
        reply.cast(pa.string()), what, "")
    return mask, reason


# --------------------------------------------------------------------------- metric events

EVENT_PROVIDES: frozenset[str] = frozenset(METRIC_EVENTS.fields)
EVENT_KINDS = ("events", "metric_events")
"""The source kinds for which the adapter reads ``ticket_metric_events`` pages."""


def reads_metric_events(config: SourceConfig) -> bool:
    """Whether the source reads Zendesk's metric events rather than tickets."""
    return config.kind.name in EVENT_KINDS


@cache
def metric_event_type() -> pa.DataType:
    """The Arrow type of a metric event: the documented keys this adapter reads (Zendesk
    Support API: Ticket Metric Events). An ``apply_sla`` event's ``sla`` object gives the
    target in minutes, whether it counts business hours, and the policy (its ``title`` is
    read); ``status`` and other keys are ignored."""
    return pa.struct([
        ("id", pa.int64()),
        ("ticket_id", pa.int64()),
        ("metric", pa.string()),
        ("instance_id", pa.int64()),
        ("type", pa.string()),
        ("time", pa.string()),
        ("deleted", pa.bool_()),
        ("sla", pa.struct([
            ("target", pa.float64()),
            ("business_hours", pa.bool_()),
            ("policy", pa.struct([("title", pa.string())])),
        ])),
    ])


def read_metric_events(
    config: SourceConfig, fields: Sequence[str], files: Sequence[Path]
) -> SourceBatch:
    """Every metric event of the pages as :data:`~slaengine.fields.METRIC_EVENTS` records.

    An event whose ``id`` was read before (overlapping exports) is a duplicate of the first;
    a row without a ``metric``, ``instance_id`` or ``type`` is rejected (``metric: missing``);
    one without a ``ticket_id`` or ``time``, with a ``metric`` or ``type`` Zendesk does not
    document (exact names), or with an ``instance_id`` below 1 is rejected with the reason by
    the shared coercion. ``deleted`` is false unless the event says ``true``. An ``apply_sla``
    event's ``sla`` object gives ``sla_target_seconds`` (its ``target`` minutes times 60; a
    negative target is rejected), ``sla_business_hours`` and ``sla_policy`` (the policy's
    title). ``row`` is the event's position (1-based) in its page's ``ticket_metric_events``
    list, or its line in JSON Lines.
    """
    from slaengine.coerce import coerce
    _check_request(config, fields, EVENT_PROVIDES, "a Zendesk metric-event export")
    type_ = metric_event_type()
    pages = [_read_events_file(path, config, type_) for path in files]
    events = _concat([p.tickets for p in pages], type_)
    places = np.concatenate([p.places for p in pages] or [np.empty(0, np.int64)])
    page_rejects = [r for p in pages for r in p.rejects]

    event_ids = pc.struct_field(events, "id").cast(pa.string())
    first = _first_seen(event_ids)
    gone = ~first
    duplicates = _rejects(config.name, places[gone], event_ids.filter(pa.array(gone)),
                          "duplicate of an earlier metric event with the same id")
    duplicates = duplicates.set_column(2, "field", pa.repeat(pa.scalar("id"), int(gone.sum())))
    events, places = events.filter(pa.array(first)), places[first]

    raw = pa.table({
        "ticket_id": pc.struct_field(events, "ticket_id").cast(pa.string()),
        "time": pc.struct_field(events, "time"),
        "metric": pc.struct_field(events, "metric"),
        "instance_id": pc.struct_field(events, "instance_id"),
        "type": pc.struct_field(events, "type"),
        "deleted": pc.fill_null(pc.struct_field(events, "deleted"), False),
        "event_id": pc.struct_field(events, "id").cast(pa.string()),
        "sla_target_seconds": pc.multiply(pc.struct_field(events, ["sla", "target"]), 60.0),
        "sla_business_hours": pc.struct_field(events, ["sla", "business_hours"]),
        "sla_policy": pc.struct_field(events, ["sla", "policy", "title"]),
    })
    incomplete, missing = _incomplete(raw, config.name, places)
    complete = pa.array(~incomplete)
    records, rejected = coerce(
        raw.filter(complete), kind=METRIC_EVENTS, columns={f: f for f in fields},
        timezone=config.timezone, rows=places[~incomplete], source=config.name,
    )
    malformed = pa.Table.from_pylist(page_rejects, schema=reject_schema())
    return SourceBatch(
        records=records,
        rejected=pa.concat_tables([malformed, missing, rejected]),
        read=len(events) + int(gone.sum()) + len(page_rejects),
        duplicates=duplicates,
    )


_EVENT_NEEDS = ("metric", "instance_id", "type")
"""Keys without which a metric event places nothing, whether or not they are requested."""


def _incomplete(raw: pa.Table, source: str, places: np.ndarray) -> tuple[np.ndarray, pa.Table]:
    """The rows missing a key of :data:`_EVENT_NEEDS`, and one reject per row naming the first."""
    bad = np.zeros(raw.num_rows, dtype=bool)
    rejects = []
    for name in _EVENT_NEEDS:
        hit = np.asarray(pc.is_null(raw[name]), dtype=bool) & ~bad
        bad |= hit
        n = int(hit.sum())
        rejects.append(pa.Table.from_arrays([
            pa.repeat(pa.scalar(source, pa.string()), n), pa.array(places[hit], pa.int64()),
            pa.repeat(pa.scalar(name, pa.string()), n), pa.nulls(n, pa.string()),
            pa.repeat(pa.scalar(f"{name}: missing", pa.string()), n),
        ], schema=reject_schema()))
    return bad, pa.concat_tables(rejects)


def _first_seen(ids: pa.Array) -> np.ndarray:
    """Per row: whether no earlier row has the same id (rows without an id are all kept):
    :func:`_latest` with the reading order reversed as the version stamp."""
    return _latest(ids, pa.array(-np.arange(len(ids), dtype=np.int64)))[0]


def _read_events_file(path: Path, config: SourceConfig, type_: pa.DataType) -> _Page:
    """One file of metric events as Arrow structs (in ``_Page.tickets``), with its places."""
    text = _text(path)
    lines = path.name.lower().removesuffix(".gz").endswith(_LINES_SUFFIXES)
    if not lines:
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            if exc.msg != "Extra data":
                return replace(_malformed_page(path, text, exc, config),
                               tickets=pa.array([], type_))
            lines = True
        except RecursionError as exc:
            raise _too_deep(path) from exc
    if lines:
        try:
            objects, places, rejects = _json_lines(text)
        except RecursionError as exc:
            raise _too_deep(path) from exc
        return _Page(tickets=_struct_array(objects, type_, path, "line", places, False),
                     places=places, rejects=_named(rejects, config))
    if isinstance(document, list):
        items = document
    elif isinstance(document, dict) and isinstance(document.get("ticket_metric_events"), list):
        items = document["ticket_metric_events"]
    else:
        found = (f"an object with the keys {', '.join(sorted(document)[:12])}"
                 if isinstance(document, dict) else _shown(document))
        raise DataError(
            'expected a metric-event export page ({"ticket_metric_events": [...], '
            '"next_page": ..., "end_of_stream": ...}), a JSON array of metric events, or JSON '
            f"Lines; found {found}",
            file=path,
        )
    places = np.arange(1, len(items) + 1, dtype=np.int64)
    return _Page(tickets=_struct_array(items, type_, path, "metric event", places, False),
                 places=places)


@hookimpl
def register_sources() -> list[Source]:
    """Offer the ``zendesk`` adapter."""
    return [ZendeskSource()]
