"""From a clock's records (where each starts and ends in a :class:`History`) to its spans, the
business seconds each counted, and the two Arrow tables a clock gives: records and intervals."""

from __future__ import annotations

from dataclasses import dataclass

from slaengine.calendars.always import Calendar
from slaengine.clocks.history import History
from slaengine.lazy import np, pa, pc

_US = 1_000_000


def timestamp_type() -> pa.DataType:
    """The type of every instant a clock writes: ``timestamp[us, tz=UTC]``."""
    return pa.timestamp("us", tz="UTC")


def record_schema() -> pa.Schema:
    """One clock record: a reply instance, an update interval or a ticket's clock."""
    ts = timestamp_type()
    return pa.schema([("id", pa.string()), ("ticket_id", pa.string()),
                      ("instance", pa.int64()), ("started_at", ts), ("ended_at", ts),
                      ("seconds", pa.float64()), ("running", pa.bool_())])


def interval_schema() -> pa.Schema:
    """One span of a record: running or paused, the event (and its row) that began it."""
    ts = timestamp_type()
    return pa.schema([("id", pa.string()), ("start", ts), ("end", ts), ("state", pa.string()),
                      ("event", pa.string()), ("row", pa.int64()), ("seconds", pa.float64())])


@dataclass(frozen=True)
class ClockTables:
    """What a clock measured: ``records`` (one row per record) and ``intervals`` (its spans,
    in order, for evidence; the seconds of a record are the sum of its spans' seconds)."""

    records: pa.Table
    intervals: pa.Table


def instances(ticket: np.ndarray) -> np.ndarray:
    """1, 2, 3... within each run of equal ``ticket`` values (records sorted by ticket)."""
    if not len(ticket):
        return np.zeros(0, dtype=np.int64)
    places = np.arange(len(ticket), dtype=np.int64)
    first = np.r_[True, ticket[1:] != ticket[:-1]]
    return places - np.maximum.accumulate(np.where(first, places, 0)) + 1


def next_after(mask: np.ndarray) -> np.ndarray:
    """Per position, the first position after it where ``mask`` holds (``len(mask)``: none)."""
    size = len(mask)
    marked = np.where(mask, np.arange(size, dtype=np.int64), size)
    following = np.minimum.accumulate(marked[::-1])[::-1]
    return np.r_[following[1:], size].astype(np.int64)


def measure_records(history: History, starts: np.ndarray, ends: np.ndarray, counts: np.ndarray,
                    calendar: Calendar, numbered: bool) -> ClockTables:
    """Cut records into spans and count them.

    ``starts`` and ``ends`` are positions in ``history`` (sorted by position; ``ends`` is -1 for
    a record still running at the end of the data, which is then counted to ``history.as_of``).
    ``counts`` says per position whether the clock runs after that event. A record's spans
    begin at its start and at every event inside it where ``counts`` changes. ``numbered``
    gives the records ``TICKET#N`` ids (instance clocks) instead of the ticket id.
    """
    h = history
    running = ends < 0
    ticket = h.ticket[starts]
    instance = instances(ticket) if numbered else np.ones(len(starts), dtype=np.int64)
    return _tables(h, starts, ends, running, ticket, instance, counts, calendar, numbered)


def select(tables: ClockTables, keep: pa.Array) -> ClockTables:
    """The records where ``keep`` holds and their intervals."""
    records = tables.records.filter(keep)
    wanted = pc.is_in(tables.intervals["id"], value_set=records["id"])
    return ClockTables(records, tables.intervals.filter(wanted))


def _tables(h: History, starts: np.ndarray, ends: np.ndarray, running: np.ndarray,
            ticket: np.ndarray, instance: np.ndarray, counts: np.ndarray, calendar: Calendar,
            numbered: bool) -> ClockTables:
    n = len(starts)
    ts = timestamp_type()
    if n == 0:
        return ClockTables(record_schema().empty_table(), interval_schema().empty_table())
    limit = np.where(running, h.last[ticket] + 1, ends)
    change = np.flatnonzero(np.r_[True, counts[1:] != counts[:-1]])
    lo = np.searchsorted(change, starts, side="right")
    hi = np.searchsorted(change, limit, side="left")
    pieces = 1 + hi - lo
    record = np.repeat(np.arange(n), pieces)
    head = np.cumsum(pieces) - pieces  # each record's first span
    k = np.arange(len(record)) - head[record]
    inner = change[np.clip(lo[record] + k - 1, 0, len(change) - 1)]
    cut = np.where(k == 0, starts[record], inner)

    end_at = np.where(running, h.as_of, h.at[np.maximum(ends, 0)])
    span_start = h.at[cut]
    span_end = np.empty_like(span_start)
    span_end[:-1] = span_start[1:]
    tail = head + pieces - 1
    span_end[tail] = end_at
    state = counts[cut].astype(bool)
    business = calendar.elapsed(pa.array(span_start, ts), pa.array(span_end, ts))
    counted = np.where(state, np.asarray(business.to_numpy(zero_copy_only=False)), 0.0)
    exact = np.rint(counted * _US)  # whole microseconds: sums without float drift
    seconds = np.bincount(record, weights=exact, minlength=n) / _US

    ticket_id = h.ticket_ids.take(pa.array(ticket))
    if numbered:
        ids = pc.binary_join_element_wise(ticket_id, pc.cast(pa.array(instance), pa.string()),
                                          "#")
    else:
        ids = ticket_id
    records = pa.table([
        ids, ticket_id, pa.array(instance, pa.int64()),
        pa.array(h.at[starts], ts), pa.array(end_at, ts, mask=running),
        pa.array(seconds, pa.float64()), pa.array(running, pa.bool_()),
    ], schema=record_schema())
    open_end = np.zeros(len(cut), dtype=bool)
    open_end[tail] = running
    intervals = pa.table([
        ids.take(pa.array(record)), pa.array(span_start, ts),
        pa.array(span_end, ts, mask=open_end),
        pa.array(["paused", "running"]).take(pa.array(state.view(np.int8))),
        h.labels.take(pa.array(cut)), pa.array(h.row[cut], pa.int64()),
        pa.array(exact / _US, pa.float64()),
    ], schema=interval_schema())
    return ClockTables(records, intervals)
