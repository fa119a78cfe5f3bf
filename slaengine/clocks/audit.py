"""Audit of the clock itself: where a vendor may have stopped a clock without serving the
customer. These are flags with counts and ticket ids, not verdicts.

* ``paused_unanswered``: a ticket set to ``pending`` (from any other status) while the last
  public message was the requester's: a public requester comment, or the creation of a ticket
  the requester opened, with no public agent comment after it. Comments in the same second as
  the status change count as before it (a help desk saves an answer and the new status in one
  update). Flagged at the instant of the change.
* ``paused_near_target``: a pause of a clock record that began when the record had counted at
  least ``target - grace`` but less than ``target`` business seconds (``grace``: 15 minutes
  unless the service level's option says otherwise). It needs the service level's target, so
  it is read from a clock's intervals table (:func:`paused_near_target`). Flagged at the
  record's start.
* ``quick_reopen``: a solved ticket reopened by the requester (in the same second as a public
  requester comment) within 24 hours of the solve. Flagged at the instant of the reopen.

* ``cycle_reset`` and ``cycle_cancelled``: a cycle of a contract's own clock ended by its
  ``reset`` or ``cancel`` condition, so not a record (:mod:`slaengine.clocks.custom`). Flagged
  at the cycle's start.

Each finder returns a table ``flag``, ``ticket_id``, ``at`` (the instant that decides the
flag's period) and ``record`` (the clock record flagged: ``paused_near_target`` only), one row
per flag, computed over whole arrays.
"""

from __future__ import annotations

from datetime import datetime

from slaengine.clocks.history import CREATION, PENDING, STATUS, History, read_history
from slaengine.clocks.spans import timestamp_type
from slaengine.lazy import np, pa, pc

FLAGS = ("paused_unanswered", "paused_near_target", "quick_reopen", "cycle_reset",
         "cycle_cancelled")
"""The audit flags, in the order reports list them."""

REOPEN_WITHIN_US = 24 * 3600 * 1_000_000
DEFAULT_GRACE = "15min"


def flag_schema() -> pa.Schema:
    """One flag: which, the ticket, the instant that decides its period, the clock record
    (empty for a flag of the ticket's history)."""
    return pa.schema([("flag", pa.string()), ("ticket_id", pa.string()),
                      ("at", timestamp_type()), ("record", pa.string())])


def ticket_flags(events: pa.Table, as_of: datetime | None = None,
                 history: History | None = None) -> pa.Table:
    """The flags read from a ticket's history alone: ``paused_unanswered`` and
    ``quick_reopen``, in ticket and time order (``history``: the table already read by
    :func:`~slaengine.clocks.history.read_history` with the same ``as_of``)."""
    h = read_history(events, as_of) if history is None else history
    parts = [_flags(h, "paused_unanswered", _paused_unanswered(h)),
             _flags(h, "quick_reopen", _quick_reopen(h))]
    return pa.concat_tables(parts)


def _flags(h: History, name: str, where: np.ndarray) -> pa.Table:
    places = np.flatnonzero(where)
    return pa.table([pa.array([name] * len(places), pa.string()),
                     h.ticket_ids.take(pa.array(h.ticket[places], pa.int64())),
                     pa.array(h.at[places], timestamp_type()),
                     pa.nulls(len(places), pa.string())], schema=flag_schema())


def _instant_end(h: History) -> np.ndarray:
    """Per position, the last position of the same ticket at the same instant."""
    if not h.size:
        return np.zeros(0, dtype=np.int64)
    last = np.r_[(h.ticket[1:] != h.ticket[:-1]) | (h.at[1:] != h.at[:-1]), True]
    return _first_at_or_after(last)


def _first_at_or_after(mask: np.ndarray) -> np.ndarray:
    size = len(mask)
    marked = np.where(mask, np.arange(size, dtype=np.int64), size)
    return np.minimum.accumulate(marked[::-1])[::-1]


def _paused_unanswered(h: History) -> np.ndarray:
    positions = np.arange(h.size, dtype=np.int64)
    asked = h.requester | ((h.event == CREATION) & ~h.outbound[h.ticket])
    said = asked | h.agent
    latest = np.maximum.accumulate(np.where(said, positions, -1))[_instant_end(h)]
    mine = latest >= h.first[h.ticket]
    before = np.r_[-1, h.status[:-1]]
    before[h.first] = -1
    to_pending = (h.event == STATUS) & (h.status == PENDING) & (before != PENDING)
    return to_pending & mine & asked[np.maximum(latest, 0)]


def _quick_reopen(h: History) -> np.ndarray:
    positions = np.arange(h.size, dtype=np.int64)
    solved = np.maximum.accumulate(np.where(h.solve, positions, -1))
    end = _instant_end(h)
    start = np.maximum.accumulate(np.where(_first_of_instant(h), positions, 0))
    asked = np.cumsum(h.requester)
    by_requester = asked[end] - np.where(start > 0, asked[start - 1], 0) > 0
    soon = h.at - h.at[np.maximum(solved, 0)] <= REOPEN_WITHIN_US
    return h.reopen & by_requester & soon & (solved >= 0)


def _first_of_instant(h: History) -> np.ndarray:
    if not h.size:
        return np.zeros(0, dtype=bool)
    return np.r_[True, (h.ticket[1:] != h.ticket[:-1]) | (h.at[1:] != h.at[:-1])]


def paused_near_target(records: pa.Table, intervals: pa.Table, target: float,
                       grace: float) -> pa.Table:
    """``paused_near_target`` flags of a clock's records: a paused span that follows a
    running one and began when the record had counted ``[target - grace, target)`` business
    seconds. ``records`` and ``intervals`` are a clock's (:class:`ClockTables`, spans record by
    record); ``target`` and ``grace`` are seconds."""
    n = intervals.num_rows
    if n == 0 or records.num_rows == 0:
        return flag_schema().empty_table()
    ids = intervals["id"]
    first = np.r_[True, np.asarray(pc.not_equal(ids.slice(1), ids.slice(0, n - 1))
                                   .to_numpy(zero_copy_only=False), dtype=bool)]
    exact = np.rint(np.asarray(intervals["seconds"].to_numpy(), dtype=np.float64) * 1e6)
    total = np.cumsum(exact)
    head = np.maximum.accumulate(np.where(first, np.arange(n), 0))
    before = (total - exact - np.where(head > 0, total[head - 1], 0)) / 1e6
    paused = np.asarray(pc.equal(intervals["state"], "paused").to_numpy(zero_copy_only=False),
                        dtype=bool)
    near = paused & ~first & (before >= target - grace) & (before < target)
    record = pc.index_in(ids.filter(pa.array(near)), value_set=records["id"])
    chosen = records.take(record)
    flagged = pa.table([pa.array(["paused_near_target"] * chosen.num_rows, pa.string()),
                        chosen["ticket_id"], chosen["started_at"], chosen["id"]],
                       schema=flag_schema())
    return flagged
