"""A contract's own clocks (``[clocks.NAME]``): start, pause, resume, stop, reset and cancel
conditions on a ticket's events, measured over whole arrays like the built-in clocks.

The rules in words are in the package docstring (*Custom clocks*). In short, per ticket and in
the order of :class:`~slaengine.clocks.history.History`: an event first ends the running cycle
(cancel, else stop, else reset), then starts one (start, or the reset that ended a cycle), then
pauses or resumes it. Whether a cycle runs after an event is decided by the latest event that
matched start, stop or cancel (reset leaves it as it was), so every cycle boundary is found with
cumulative operations, never a loop per event.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from slaengine.calendars.always import Calendar
from slaengine.clocks.audit import flag_schema
from slaengine.clocks.history import (
    AUTHORS,
    COMMENT,
    CREATED,
    CREATION,
    EVENTS,
    REQUESTER,
    STATUSES,
    History,
    _codes,
    read_history,
)
from slaengine.clocks.spans import (
    ClockTables,
    measure_records,
    next_after,
    record_schema,
    select,
    timestamp_type,
)
from slaengine.lazy import np, pa, pc

CONDITIONS = ("start", "pause", "resume", "stop", "reset", "cancel")
"""The conditions of a clock, in the order the contract reference lists them."""

CONDITION_KEYS = ("event", "status", "author", "public")
"""What a condition may test of an event."""

CYCLES = ("each", "first", "last", "total")
"""Which cycles of a ticket are records: each one, the first, the last, or their total."""

RETROACTIVE = ("created_at",)
"""Where ``retroactive_start`` may move a ticket's first cycle start."""

DISCARDED = {"reset": "cycle_reset", "cancel": "cycle_cancelled"}
"""The audit flag of a cycle discarded by each condition."""

_US = 1_000_000


@dataclass(frozen=True)
class Condition:
    """One table of a condition: every key given must hold (an empty tuple tests nothing).

    ``events`` are event names (``created`` is the ticket's creation); ``statuses`` match an
    event by which the ticket *enters* one of them; ``authors`` the author of a comment or of
    the creation; ``public`` whether a comment is public."""

    events: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    authors: tuple[str, ...] = ()
    public: bool | None = None

    @classmethod
    def of(cls, table: Mapping[str, Any]) -> Condition:
        """A checked condition table (``{ event = "comment", author = "agent" }``)."""
        def names(key: str) -> tuple[str, ...]:
            value = table.get(key, ())
            return (value,) if isinstance(value, str) else tuple(value)
        return cls(names("event"), names("status"), names("author"), table.get("public"))

    def only_status(self) -> bool:
        """Whether the table names statuses and nothing else (a state, as a pause)."""
        return bool(self.statuses) and not (self.events or self.authors) and self.public is None


@dataclass(frozen=True)
class ClockDefinition:
    """A checked ``[clocks.NAME]`` table. Each condition is a tuple of :class:`Condition`, any
    of which matches (empty: never). ``retroactive_start``: a ticket's first cycle starts at its
    creation. ``cycles``: one of :data:`CYCLES`."""

    start: tuple[Condition, ...]
    stop: tuple[Condition, ...]
    pause: tuple[Condition, ...] = ()
    resume: tuple[Condition, ...] = ()
    reset: tuple[Condition, ...] = ()
    cancel: tuple[Condition, ...] = ()
    retroactive_start: bool = False
    cycles: str = "each"
    description: str = ""

    @classmethod
    def of(cls, table: Mapping[str, Any]) -> ClockDefinition:
        """A checked clock table (see :mod:`slaengine.contract.clocks`)."""
        def conditions(key: str) -> tuple[Condition, ...]:
            value = table.get(key, ())
            tables = [value] if isinstance(value, Mapping) else list(value)
            return tuple(Condition.of(t) for t in tables)
        found: dict[str, Any] = {key: conditions(key) for key in CONDITIONS}
        return cls(**found, retroactive_start=table.get("retroactive_start") == "created_at",
                   cycles=table.get("cycles", "each"), description=table.get("description", ""))

    @property
    def paused_statuses(self) -> tuple[str, ...]:
        """The statuses in which the clock is paused when ``pause`` is a state (it names only
        statuses and no ``resume`` is given); empty when pause and resume are events."""
        if not self.pause or self.resume or not all(c.only_status() for c in self.pause):
            return ()
        return tuple(s for s in STATUSES if any(s in c.statuses for c in self.pause))

    def summary(self) -> str:
        """The definition in one line, for ``validate`` and ``metrics``."""
        parts = []
        for key in CONDITIONS:
            conditions = getattr(self, key)
            if conditions:
                shown = " or ".join(_shown(c) for c in conditions)
                if key == "pause" and self.paused_statuses:
                    shown = "while " + "/".join(self.paused_statuses)
                parts.append(f"{key} {shown}")
        if self.retroactive_start:
            parts.append("first cycle from the creation")
        parts.append(f"cycles {self.cycles}")
        return "; ".join(parts)


def _shown(condition: Condition) -> str:
    words = []
    if condition.public is not None:
        words.append("public" if condition.public else "private")
    if condition.authors:
        words.append("/".join(condition.authors))
    if condition.events:
        words.append("/".join(condition.events))
    else:
        words.append("status" if condition.statuses else "event")
    if condition.statuses:
        words.append("to " + "/".join(condition.statuses))
    return " ".join(words)


@dataclass(frozen=True)
class _Facts:
    """What a condition can test at each position of a History, beside the History itself."""

    author: np.ndarray  # the comment's or creation's author code; -1 for other events
    public: np.ndarray  # a public comment
    before: np.ndarray  # the status before the event; -1 at the creation


def _facts(events: pa.Table, h: History) -> _Facts:
    """Author, public and the status before the event, per position. The creation's author is its
    ``created`` event's; without one (or without an author) the requester's, by the rule that
    makes a ticket outbound only when an agent or the system created it."""
    raw_event = _codes(events, "event", EVENTS)[h.row]
    raw_author = _codes(events, "author", AUTHORS)[h.row]
    if "public" in events.column_names:
        public = np.asarray(pc.fill_null(events["public"], False).to_numpy(), dtype=bool)[h.row]
    else:
        public = np.zeros(h.size, dtype=bool)
    creation = h.event == CREATION
    comment = h.event == COMMENT
    own = creation & (raw_event == CREATED) & (raw_author >= 0)
    author = np.where(comment | own, raw_author, -1)
    author = np.where(creation & ~own, REQUESTER, author).astype(np.int8)
    before = np.r_[-1, h.status[:-1]].astype(np.int8)
    before[h.first] = -1
    return _Facts(author=author, public=public & comment, before=before)


def _matches(h: History, facts: _Facts, conditions: tuple[Condition, ...]) -> np.ndarray:
    """Positions where any of ``conditions`` holds."""
    found = np.zeros(h.size, dtype=bool)
    for condition in conditions:
        hit = np.ones(h.size, dtype=bool)
        if condition.events:
            codes = [CREATION if e == "created" else EVENTS.index(e) for e in condition.events]
            hit &= np.isin(h.event, codes)
        if condition.statuses:
            listed = [STATUSES.index(s) for s in condition.statuses]
            hit &= np.isin(h.status, listed) & ~np.isin(facts.before, listed)
        if condition.authors:
            hit &= np.isin(facts.author, [AUTHORS.index(a) for a in condition.authors])
        if condition.public is not None:
            hit &= (h.event == COMMENT) & (facts.public == condition.public)
        found |= hit
    return found


@dataclass(frozen=True)
class Cycles:
    """Every cycle of a clock on a History: ``starts`` and ``ends`` (positions, ``ends`` -1
    while running, sorted by start), how each ended (``stopped``, ``reset``, ``cancelled``;
    none of the three: still running) and ``counts``, per position whether the clock runs."""

    starts: np.ndarray
    ends: np.ndarray
    stopped: np.ndarray
    reset: np.ndarray
    cancelled: np.ndarray
    counts: np.ndarray

    @property
    def kept(self) -> np.ndarray:
        """Cycles that are records: stopped or still running (not discarded)."""
        return ~(self.reset | self.cancelled)


def cycles(events: pa.Table, h: History, definition: ClockDefinition) -> Cycles:
    """Find every cycle of ``definition`` in ``h`` (read from ``events``)."""
    facts = _facts(events, h)
    start = _matches(h, facts, definition.start)
    stop = _matches(h, facts, definition.stop)
    cancel = _matches(h, facts, definition.cancel)
    reset = _matches(h, facts, definition.reset)
    ender = stop | cancel | reset
    positions = np.arange(h.size, dtype=np.int64)
    first = h.first[h.ticket] if h.size else positions

    # Running after an event: the latest start, stop or cancel of the ticket was a start.
    setter = np.maximum.accumulate(np.where(start | stop | cancel, positions, -1))
    running = (setter >= first) & start[np.maximum(setter, 0)]
    before = np.r_[False, running[:-1]] if h.size else running
    before[h.first] = False
    begins = running & (~before | ender)
    starts = np.flatnonzero(begins)
    ends = next_after(ender)[starts]
    ends = np.where(ends <= h.last[h.ticket[starts]], ends, -1)
    at_end = np.maximum(ends, 0)
    done = ends >= 0
    cancelled = done & cancel[at_end]
    stopped = done & ~cancelled & stop[at_end]
    was_reset = done & ~cancelled & ~stopped

    if definition.retroactive_start and len(starts):
        ticket = h.ticket[starts]
        opening = np.r_[True, ticket[1:] != ticket[:-1]]
        starts = np.where(opening, h.first[ticket], starts)

    counts = ~np.isin(h.status, [STATUSES.index(s) for s in definition.paused_statuses])
    if definition.pause and not definition.paused_statuses:
        pause = _matches(h, facts, definition.pause)
        resume = _matches(h, facts, definition.resume)
        toggle = np.maximum.accumulate(np.where(pause | resume, positions, -1))
        began = np.zeros(h.size, dtype=bool)
        began[starts] = True
        cycle = np.maximum.accumulate(np.where(began, positions, -1))
        at = np.maximum(toggle, 0)
        counts &= ~((toggle >= cycle) & (toggle >= 0) & pause[at] & ~resume[at])
    return Cycles(starts, ends, stopped, was_reset, cancelled, counts)


def measure_custom(events: pa.Table, definition: ClockDefinition, calendar: Calendar,
                   as_of: datetime | None = None,
                   history: History | None = None) -> tuple[ClockTables, pa.Table]:
    """The records and intervals of a custom clock, and its discarded cycles.

    Records by ``definition.cycles``: ``each`` cycle not discarded, id ``TICKET#N`` (cycles
    numbered in order, discarded ones too, so a gap in the numbers is a discarded cycle); the
    ``first`` or ``last`` of them per ticket, id the ticket id; or their ``total`` per ticket,
    id the ticket id, running when its last cycle runs. The discarded cycles (reset or
    cancelled) come as an audit-flag table (:func:`~slaengine.clocks.audit.flag_schema`), one
    row per cycle at its start, flag ``cycle_reset`` or ``cycle_cancelled``. ``history``:
    :func:`read_history` of ``events`` with the same ``as_of``, when already read.
    """
    h = read_history(events, as_of) if history is None else history
    found = cycles(events, h, definition)
    kept = found.kept
    if definition.cycles == "each":
        every = measure_records(h, found.starts, found.ends, found.counts, calendar, True)
        tables = select(every, pa.array(kept))
    elif definition.cycles in ("first", "last"):
        ticket = h.ticket[found.starts[kept]]
        if definition.cycles == "first":
            chosen = np.r_[True, ticket[1:] != ticket[:-1]] if len(ticket) else ticket > 0
        else:
            chosen = np.r_[ticket[1:] != ticket[:-1], True] if len(ticket) else ticket > 0
        tables = measure_records(h, found.starts[kept][chosen], found.ends[kept][chosen],
                                 found.counts, calendar, False)
    else:
        tables = _total(h, measure_records(h, found.starts[kept], found.ends[kept],
                                           found.counts, calendar, True))
    return tables, _discarded(h, found)


def _total(h: History, each: ClockTables) -> ClockTables:
    """Each ticket's cycles as one record: their seconds summed, from the first cycle's start
    to the last one's end (running while the last one runs); the spans of all of them."""
    records = each.records
    if records.num_rows == 0:
        return each
    ids = records["ticket_id"].combine_chunks()
    encoded = pc.dictionary_encode(ids)
    group = np.asarray(encoded.indices.to_numpy(), dtype=np.int64)  # records come by ticket
    groups = len(encoded.dictionary)
    opening = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
    closing = np.r_[opening[1:] - 1, len(group) - 1]
    exact = np.rint(np.asarray(records["seconds"].to_numpy(), dtype=np.float64) * _US)
    seconds = np.bincount(group, weights=exact, minlength=groups) / _US
    running = np.asarray(records["running"].to_numpy(zero_copy_only=False), dtype=bool)[closing]
    ticket_id = ids.take(pa.array(opening))
    total = pa.table([
        ticket_id, ticket_id, pa.array(np.ones(groups, dtype=np.int64)),
        records["started_at"].take(pa.array(opening)),
        records["ended_at"].take(pa.array(closing)),
        pa.array(seconds, pa.float64()), pa.array(running, pa.bool_()),
    ], schema=record_schema())
    owner = pc.index_in(each.intervals["id"], value_set=records["id"])
    intervals = each.intervals.set_column(0, "id", ids.take(owner))
    return ClockTables(total, intervals)


def _discarded(h: History, found: Cycles) -> pa.Table:
    """The reset and cancelled cycles as audit flags at their starts, in cycle order."""
    which = np.flatnonzero(found.reset | found.cancelled)
    names = pa.array([DISCARDED["reset"], DISCARDED["cancel"]])
    flag = names.take(pa.array(found.cancelled[which].astype(np.int8)))
    starts = found.starts[which]
    return pa.table([flag, h.ticket_ids.take(pa.array(h.ticket[starts], pa.int64())),
                     pa.array(h.at[starts], timestamp_type()),
                     pa.nulls(len(starts), pa.string())],  # a discarded cycle is no record
                    schema=flag_schema())


def discarded_cycles(events: pa.Table, definition: ClockDefinition,
                     as_of: datetime | None = None, history: History | None = None) -> pa.Table:
    """The reset and cancelled cycles of ``definition`` on ``events``, as audit flags (the
    same as :func:`measure_custom` gives, without measuring the records)."""
    h = read_history(events, as_of) if history is None else history
    return _discarded(h, cycles(events, h, definition))
