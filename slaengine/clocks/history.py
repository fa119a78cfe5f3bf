"""A table of ticket events put in the order every clock reads it, with the state at each event.

:class:`History` holds one row per event plus one *creation* row per ticket, sorted by ticket,
instant, the rank of simultaneous events and file order, as plain numpy arrays; every clock is
read from these arrays with cumulative operations, never a loop per event or per ticket.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from slaengine.calendars.always import as_array, micros
from slaengine.errors import DataError
from slaengine.lazy import np, pa, pc

EVENTS = ("created", "status", "comment", "priority", "group", "assignee")
STATUSES = ("new", "open", "pending", "hold", "solved", "closed")
AUTHORS = ("requester", "agent", "system")
COLUMNS = ("ticket_id", "at", "event", "status", "author", "public")

CREATED, STATUS, COMMENT = 0, 1, 2
NEW, OPEN, PENDING, HOLD, SOLVED, CLOSED = range(6)
REQUESTER, AGENT, SYSTEM = range(3)
CREATION = -1  # event code of the row a ticket's creation adds

# Rank of simultaneous events of one ticket: creation, stop, pause, start, everything else.
RANK_CREATION, RANK_STOP, RANK_PAUSE, RANK_START, RANK_OTHER = range(5)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class History:
    """Events sorted for the clocks, one creation row first in each ticket.

    Arrays of length ``n`` (events + tickets): ``ticket`` (index into ``ticket_ids``), ``at``
    (UTC microseconds), ``event`` (code in :data:`EVENTS`, :data:`CREATION` for the creation
    row), ``row`` (the event's row in the table; a creation row carries the row of the
    ``created`` event, or of the ticket's first event), ``status`` (the status *after* the
    event: ``new`` before the first status event), ``stopped`` (that status is solved or
    closed), ``solve`` (the event takes an unsolved ticket to solved or closed), ``reopen`` (the
    reverse), ``requester`` / ``agent`` (a public comment by the requester / an agent).
    ``first`` and ``last`` are each ticket's first and last positions; ``outbound`` marks
    tickets created by an agent or the system. ``as_of`` is the end of the data.
    """

    ticket_ids: pa.Array
    ticket: np.ndarray
    at: np.ndarray
    event: np.ndarray
    row: np.ndarray
    status: np.ndarray
    stopped: np.ndarray
    solve: np.ndarray
    reopen: np.ndarray
    requester: np.ndarray
    agent: np.ndarray
    first: np.ndarray
    last: np.ndarray
    outbound: np.ndarray
    labels: pa.Array
    as_of: int

    @property
    def size(self) -> int:
        """Positions: events plus one creation row per ticket."""
        return len(self.at)


def to_micros(instant: datetime) -> int:
    """An aware datetime as integer UTC microseconds (exact, no float)."""
    if instant.tzinfo is None:
        raise ValueError(f"as_of {instant.isoformat()} needs a timezone")
    return (instant - _EPOCH) // timedelta(microseconds=1)


def _codes(table: pa.Table, column: str, names: tuple[str, ...]) -> np.ndarray:
    """Each value's index in ``names``; -1 for null or a value not in ``names``."""
    if column not in table.column_names:
        return np.full(table.num_rows, -1, dtype=np.int8)
    values = table[column]
    if pa.types.is_dictionary(values.type):  # each chunk's dictionary looked up once
        chunks = values.chunks if isinstance(values, pa.ChunkedArray) else [values]
        return np.concatenate([_dictionary_codes(chunk, names) for chunk in chunks]
                              or [np.zeros(0, dtype=np.int8)])
    if not pa.types.is_string(values.type) and not pa.types.is_large_string(values.type):
        values = pc.cast(values, pa.string())
    found = pc.fill_null(pc.index_in(values, value_set=pa.array(names)), -1)
    return np.asarray(found.to_numpy(), dtype=np.int8)


def _dictionary_codes(chunk: pa.DictionaryArray, names: tuple[str, ...]) -> np.ndarray:
    """:func:`_codes` of one dictionary-encoded chunk: its dictionary's codes, taken by its
    indices (-1 for a null)."""
    dictionary = chunk.dictionary
    if not pa.types.is_string(dictionary.type):
        dictionary = pc.cast(dictionary, pa.string())
    mapped = np.asarray(pc.fill_null(pc.index_in(dictionary, value_set=pa.array(names)), -1)
                        .to_numpy(), dtype=np.int8)
    indices = np.asarray(pc.fill_null(chunk.indices, 0).to_numpy(), dtype=np.int64)
    codes = mapped[indices] if len(mapped) else np.full(len(chunk), -1, dtype=np.int8)
    if chunk.null_count:
        codes[np.asarray(pc.is_null(chunk).to_numpy(zero_copy_only=False))] = -1
    return codes


def _refuse(table: pa.Table, bad: np.ndarray, column: str, what: str,
            accepted: tuple[str, ...]) -> None:
    """Raise a DataError naming the first row where ``bad`` holds."""
    places = np.flatnonzero(bad)
    if not len(places):
        return
    i = int(places[0])
    value = table[column][i].as_py() if column in table.column_names else None
    shown = "nothing" if value is None else repr(value)
    raise DataError(f"{what}, found {shown} ({len(places)} such rows)",
                    where=f"events row {i + 1}, {column}", accepted=accepted)


def _check(table: pa.Table) -> None:
    for name in ("ticket_id", "at", "event"):
        if name not in table.column_names:
            raise DataError(f"events need a {name!r} column", where="events",
                            accepted=COLUMNS)
    if not pa.types.is_timestamp(table["at"].type):
        raise DataError(f"'at' holds instants (timestamps), found {table['at'].type}",
                        where="events, at")
    for name in ("ticket_id", "at"):
        nulls = table[name].null_count
        if nulls:
            bad = np.asarray(pc.is_null(table[name]).to_numpy(zero_copy_only=False))
            _refuse(table, bad, name, f"every event needs its {name}", ())


def read_history(table: pa.Table, as_of: datetime | None = None) -> History:
    """Check an events table and sort it into a :class:`History`.

    Rows are in file order. A ticket's creation is its earliest ``created`` event or, without
    one, its earliest event; events recorded before it are taken at the creation instant.
    ``as_of`` (default: the latest event) is when clocks still running are read; it may not
    precede any event.
    """
    _check(table)
    n = table.num_rows
    event = _codes(table, "event", EVENTS)
    _refuse(table, event < 0, "event", "an event is one of the known kinds", EVENTS)
    status = _codes(table, "status", STATUSES)
    _refuse(table, (event == STATUS) & (status < 0), "status",
            "a status event names the status after it", STATUSES)
    author = _codes(table, "author", AUTHORS)
    comment = event == COMMENT
    _refuse(table, comment & (author < 0), "author", "a comment names its author", AUTHORS)
    if "public" in table.column_names:
        public_col = table["public"]
        public = np.asarray(pc.fill_null(public_col, False).to_numpy(), dtype=bool)
        missing = np.asarray(pc.is_null(public_col).to_numpy(zero_copy_only=False), dtype=bool)
    else:
        public = np.zeros(n, dtype=bool)
        missing = np.ones(n, dtype=bool)
    _refuse(table, comment & missing, "public", "a comment says whether it is public",
            ("true", "false"))

    ids = table["ticket_id"].combine_chunks()
    if not pa.types.is_string(ids.type):
        ids = pc.cast(ids, pa.string())
    encoded = pc.dictionary_encode(ids)
    ticket_ids = encoded.dictionary
    ticket = np.asarray(encoded.indices.to_numpy(), dtype=np.int64)
    at = micros(as_array(table["at"]))[0].copy()
    row = np.arange(n, dtype=np.int64)

    rank = np.full(n, RANK_OTHER, dtype=np.int8)
    is_status = event == STATUS
    rank[is_status & (status >= SOLVED)] = RANK_STOP
    rank[is_status & ((status == PENDING) | (status == HOLD))] = RANK_PAUSE
    rank[is_status & (status <= OPEN)] = RANK_START

    order = np.lexsort((row, rank, at, ticket))
    ticket, at, rank, row = ticket[order], at[order], rank[order], row[order]
    event, status, author, public = event[order], status[order], author[order], public[order]

    # Each ticket's first position, its earliest created event (if any), its creation instant.
    tickets = len(ticket_ids)
    first = np.flatnonzero(np.r_[True, ticket[1:] != ticket[:-1]]) if n else np.zeros(0, int)
    created_at = at[first].copy()
    creation_row = row[first].copy()
    outbound = np.zeros(tickets, dtype=bool)
    created = np.flatnonzero(event == CREATED)
    if len(created):
        owners, where = np.unique(ticket[created], return_index=True)
        chosen = created[where]
        created_at[owners] = at[chosen]
        creation_row[owners] = row[chosen]
        outbound[owners] = (author[chosen] == AGENT) | (author[chosen] == SYSTEM)
        early = at < created_at[ticket]
        if early.any():
            at = np.maximum(at, created_at[ticket])
            resort = np.lexsort((row, rank, at, ticket))
            ticket, at, rank, row = ticket[resort], at[resort], rank[resort], row[resort]
            event, status = event[resort], status[resort]
            author, public = author[resort], public[resort]

    end = int(at.max()) if n else 0
    if as_of is not None:
        wanted = to_micros(as_of)
        if wanted < end:
            raise ValueError(f"as_of {as_of.isoformat()} precedes the latest event")
        end = wanted

    # One creation row before each ticket's first event.
    ticket = np.insert(ticket, first, np.arange(tickets))
    at = np.insert(at, first, created_at)
    row = np.insert(row, first, creation_row)
    event = np.insert(event, first, CREATION).astype(np.int8)
    status = np.insert(status, first, -1).astype(np.int8)
    author = np.insert(author, first, -1).astype(np.int8)
    public = np.insert(public, first, False)
    size = len(at)
    first = first + np.arange(tickets)
    last = np.r_[first[1:] - 1, size - 1].astype(np.int64) if tickets else first

    # Status after each event: the last status event's at or before it, in its own ticket.
    positions = np.arange(size, dtype=np.int64)
    latest = np.maximum.accumulate(np.where(event == STATUS, positions, -1)) if size else positions
    status_after = np.where(latest >= first[ticket], status[np.maximum(latest, 0)], NEW)
    stopped = status_after >= SOLVED
    before = np.r_[False, stopped[:-1]]
    before[first] = False
    kind = (event == COMMENT) & public
    return History(
        ticket_ids=ticket_ids, ticket=ticket, at=at, event=event, row=row,
        status=status_after.astype(np.int8), stopped=stopped,
        solve=stopped & ~before, reopen=~stopped & before,
        requester=kind & (author == REQUESTER), agent=kind & (author == AGENT),
        first=first.astype(np.int64), last=last, outbound=outbound,
        labels=_labels(event, status, author), as_of=end,
    )


def _labels(event: np.ndarray, status: np.ndarray, author: np.ndarray) -> pa.Array:
    """What each event was, as a span's evidence shows it: ``created``, ``status:pending``,
    ``comment:agent``, ``priority``..."""
    kinds = pa.array(["created", *EVENTS[1:], "comment", "comment:requester", "comment:agent",
                      "comment:system", *(f"status:{s}" for s in STATUSES)])
    index = np.where(event == CREATION, 0, event.astype(np.int64))
    comment = event == COMMENT
    index = np.where(comment, len(EVENTS) + 1 + author, index)
    index = np.where(event == STATUS, len(EVENTS) + 4 + status, index)
    return kinds.take(pa.array(index))
