"""The built-in clocks, each a function of a :class:`History` giving where its records start
and end and when it runs (the definitions in words are in the package docstring)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from slaengine.calendars.always import ALWAYS, Calendar
from slaengine.clocks.history import CREATION, HOLD, NEW, OPEN, PENDING, History, read_history
from slaengine.clocks.spans import ClockTables, measure_records, next_after, select
from slaengine.lazy import np, pa, pc


def reply_time(h: History, calendar: Calendar) -> ClockTables:
    """Reply instances: from the oldest unanswered public requester comment (instance 1: the
    creation of a ticket the requester opened) to the next public agent comment or solve."""
    positions = np.arange(h.size, dtype=np.int64)
    starter = h.requester | ((h.event == CREATION) & ~h.outbound[h.ticket])
    closer = h.agent | h.solve
    candidates = np.flatnonzero(starter)
    # A starter opens an instance when no other starter came since the last closer.
    since = np.maximum.accumulate(np.where(closer, positions, -1))[candidates]
    ticket = h.ticket[candidates]
    since = np.where(since >= h.first[ticket], since, -1 - ticket)  # per ticket, none yet
    opens = np.r_[True, since[1:] != since[:-1]] if len(since) else np.zeros(0, dtype=bool)
    starts = candidates[opens]
    ends = next_after(closer)[starts]
    ends = np.where(ends <= h.last[h.ticket[starts]], ends, -1)
    return measure_records(h, starts, ends, np.ones(h.size, dtype=bool), calendar, True)


def next_reply_time(h: History, calendar: Calendar) -> ClockTables:
    """Reply instances 2 and later."""
    replies = reply_time(h, calendar)
    return select(replies, pc.greater_equal(replies.records["instance"], 2))


def _update(h: History, calendar: Calendar, counts: np.ndarray) -> ClockTables:
    """Intervals from creation, each public agent comment of an unsolved ticket and each reopen
    to the next public agent comment or solve."""
    boundary = ((h.event == CREATION) | (h.agent & ~h.stopped) | h.solve | h.reopen)
    starts = np.flatnonzero(boundary & ~h.stopped)
    ends = next_after(boundary)[starts]
    ends = np.where(ends <= h.last[h.ticket[starts]], ends, -1)
    return measure_records(h, starts, ends, counts, calendar, True)


def periodic_update_time(h: History, calendar: Calendar) -> ClockTables:
    """Update intervals, never paused."""
    return _update(h, calendar, np.ones(h.size, dtype=bool))


def pausable_update_time(h: History, calendar: Calendar) -> ClockTables:
    """Update intervals, paused while the ticket is pending."""
    return _update(h, calendar, h.status != PENDING)


def _ticket(h: History, calendar: Calendar, counts: np.ndarray) -> ClockTables:
    """One record per ticket from its creation to its last solve (running if it ends unsolved)."""
    positions = np.arange(h.size, dtype=np.int64)
    last_solve = np.maximum.accumulate(np.where(h.solve, positions, -1))[h.last]
    ends = np.where(h.stopped[h.last], last_solve, -1)
    return measure_records(h, h.first, ends, counts, calendar, False)


def requester_wait_time(h: History, calendar: Calendar) -> ClockTables:
    """Runs in new, open and hold; paused in pending (and while solved before a reopen)."""
    return _ticket(h, calendar, np.isin(h.status, (NEW, OPEN, HOLD)))


def agent_work_time(h: History, calendar: Calendar) -> ClockTables:
    """Runs in new and open; paused in pending and hold (and while solved before a reopen)."""
    return _ticket(h, calendar, np.isin(h.status, (NEW, OPEN)))


def total_resolution_time(h: History, calendar: Calendar) -> ClockTables:
    """Creation to the last solve, never paused."""
    return _ticket(h, calendar, np.ones(h.size, dtype=bool))


CLOCKS: dict[str, Callable[[History, Calendar], ClockTables]] = {
    "reply_time": reply_time,
    "next_reply_time": next_reply_time,
    "requester_wait_time": requester_wait_time,
    "agent_work_time": agent_work_time,
    "periodic_update_time": periodic_update_time,
    "pausable_update_time": pausable_update_time,
    "total_resolution_time": total_resolution_time,
}
"""The built-in clocks by name."""


def measure(events: pa.Table, clocks: Iterable[str] = tuple(CLOCKS),
            calendar: Calendar = ALWAYS, as_of: datetime | None = None,
            history: History | None = None) -> dict[str, ClockTables]:
    """Measure the named clocks on an events table, under ``calendar``.

    The table is checked and sorted once for all clocks (``history``: already done, by
    :func:`read_history` of the same table and ``as_of``). Clocks still running are counted to
    ``as_of`` (default: the latest event). Raises ValueError for an unknown clock name and
    :class:`~slaengine.errors.DataError` for an events table the clocks cannot read.
    """
    names = list(clocks)
    unknown = [name for name in names if name not in CLOCKS]
    if unknown:
        raise ValueError(f"unknown clock {unknown[0]!r}; built-in: {', '.join(CLOCKS)}")
    if history is None:
        history = read_history(events, as_of)
    found = {name: CLOCKS[name](history, calendar) for name in names if name != "next_reply_time"}
    if "next_reply_time" in names:  # the later instances of reply_time, measured once
        replies = found.get("reply_time") or reply_time(history, calendar)
        found["next_reply_time"] = select(replies, pc.greater_equal(replies.records["instance"], 2))
    return {name: found[name] for name in names}
