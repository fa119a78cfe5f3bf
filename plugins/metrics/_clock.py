"""What the event-clock metrics share (not a plugin: no ``register_metrics``).

Each clock metric names one built-in clock of :mod:`slaengine.clocks`; the records it derives
from a ticket's history are that clock's records, and their measure is the business seconds the
clock counted (none while it still runs: unmeasured).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, ClassVar

from slaengine.calendars.always import as_array, micros
from slaengine.clocks import ClockTables, measure
from slaengine.clocks.audit import DEFAULT_GRACE, paused_near_target, ticket_flags
from slaengine.clocks.history import COLUMNS, History, read_history
from slaengine.clocks.zendesk import (
    SLA_COLUMNS,
    Reconciliation,
    measure_zendesk,
    past_limit,
    reconcile,
)
from slaengine.lazy import np, pa, pc
from slaengine.plugin import DerivedMetric, MeasureContext
from slaengine.targets.grammar import TargetError, parse_duration

OWN = ("event", "author", "public")
"""Fields that describe one event: a record carries its first event's own value. Every other
field (``status``, ``priority``, ``group``, ``agent``) is a state the ticket is in: a record
carries the latest value the ticket's events gave it up to and including its first event."""

METRIC_EVENT_COLUMNS = ("ticket_id", "time", "metric", "instance_id", "type", "deleted")
"""What a clock reads from Zendesk's metric events (record kind ``metric_events``)."""


def is_metric_events(fields: Collection[str]) -> bool:
    """Whether records with these fields are Zendesk's metric events, not a ticket's history."""
    return "metric" in fields and "instance_id" in fields and "at" not in fields


def _check_duration(field: str, value: Any, error: Any) -> None:
    try:
        parse_duration(value)
    except (TargetError, ValueError) as exc:
        error(field, f'{value!r} is not a duration such as "15min" ({exc})')


class ClockMetric(DerivedMetric):
    """Business seconds of one built-in clock, per clock record of a ticket's history.

    The records are the clock's (:func:`slaengine.clocks.measure`), under the service level's
    calendar and up to ``--as-of``: a record belongs to the period in which it started; its id
    is ``TICKET#N`` for instance clocks, the ticket id for ticket clocks. A record still running
    is unmeasured unless it is ``overdue``: already past the level's per-record limit, a miss
    measured with its seconds so far. ``where`` and ``by`` read the events' fields as they
    stood at the record's first event, or with the level's ``as_of = "end"`` (the context's
    ``fields_at``) the state fields as they stood at its end: after every event of the instant
    it ended, or of the end of the data for a record still running (:func:`at_instant`);
    ``event``, ``author`` and ``public`` always describe its first event.

    On Zendesk's metric events (record kind ``metric_events``) the records are Zendesk's own
    clocks of that name (:func:`slaengine.clocks.zendesk.measure_zendesk`), measured again
    under the level's calendar, with Zendesk's ``zendesk_breached`` and the target its last
    ``apply_sla`` set; they carry no other field (a linked tickets source gives them the
    ticket's) and have no spans or audit flags, and the level reconciles Zendesk's breaches and
    targets with its own.
    """

    clock: ClassVar[str]
    requires = COLUMNS
    kinds = ("events", "metric_events")
    partition_by = "ticket_id"  # a ticket's clocks read its own events only
    unit = "duration"
    better = "lower"
    default_statistic = "p90"
    schema: ClassVar[dict[str, Any]] = {
        "grace": {"type": "string", "check_with": _check_duration, "default": DEFAULT_GRACE},
    }

    def required_fields(self, available: Collection[str]) -> tuple[str, ...]:
        """A ticket's history, or Zendesk's metric events when that is what the source has."""
        if is_metric_events(available):
            return (*METRIC_EVENT_COLUMNS, *(f for f in SLA_COLUMNS if f in available))
        return COLUMNS

    def derive(self, records: pa.Table, context: MeasureContext) -> pa.Table:
        return self.derive_with_spans(records, context)[0]

    def derive_with_spans(self, records: pa.Table,
                          context: MeasureContext) -> tuple[pa.Table, pa.Table | None]:
        """The clock's records and their running and paused spans (measured once). With a
        per-record limit (``context.limit``) each record says whether it is ``overdue``: still
        running and already past the limit."""
        if is_metric_events(records.column_names):
            found = measure_zendesk(records, context.calendar, context.as_of)[self.clock]
            return _overdue(found, context.limit), None
        found = self.measure_clock(records, context)
        derived = _overdue(found.records, context.limit)
        spans = found.intervals.drop_columns(["row"])
        carried = [c for c in records.column_names
                   if c not in ("ticket_id", "at") and c not in derived.column_names]
        if not carried:
            return derived, spans
        values = dict(zip(carried, at_start(records, _first_rows(found.intervals), carried,
                                                 ordering(records, context)),
                          strict=True))
        if context.fields_at == "end":
            states = [c for c in carried if c not in OWN]
            ends = micros(as_array(derived["ended_at"]))[0]
            ends = np.where(pc.is_null(derived["ended_at"]).to_numpy(zero_copy_only=False),
                            np.iinfo(np.int64).max, ends)
            values.update(zip(states, at_instant(records, derived["ticket_id"], ends, states,
                                                      ordering(records, context)),
                              strict=True))
        for name in carried:
            derived = derived.append_column(name, values[name])
        return derived, spans

    def measure_clock(self, records: pa.Table, context: MeasureContext) -> ClockTables:
        """The clock's records and spans on a ticket's history (:func:`measure`)."""
        return measure(records, [self.clock], calendar=context.calendar, as_of=context.as_of,
                       history=clock_history(records, context))[self.clock]

    def audit(self, records: pa.Table, derived: pa.Table, spans: pa.Table | None,
              context: MeasureContext, target: float | None) -> pa.Table | None:
        """Flags of the clock itself: pending while the requester waits for an answer, a
        reopen by the requester within a day (both from the history), and with a per-record
        target a pause within ``grace`` of it (:mod:`slaengine.clocks.audit`). Each flag
        carries the fields the records carry, for ``where`` and ``by``: a flag of the history
        as the ticket stood at the flag's instant (after every event of that instant), a
        ``paused_near_target`` flag its record's. Zendesk's metric events hold no ticket
        history: no flags."""
        if is_metric_events(records.column_names):
            return None
        carried = [c for c in derived.column_names
                   if c in records.column_names and c not in ("ticket_id", "at")]
        key = f"clocks:ticket_flags:{context.as_of}"
        if key not in context.shared:  # the same for every clock level on these records
            context.shared[key] = ticket_flags(records, context.as_of,
                                               clock_history(records, context))
        found = [history_flags(context.shared[key], records, derived, context)]
        if target is not None and spans is not None:
            grace = float(parse_duration(context.options.get("grace", DEFAULT_GRACE)))
            near = paused_near_target(derived, spans, target, grace)
            which = pc.index_in(near["record"], value_set=derived["id"])
            found.append(_with(near, carried, [derived[c].take(which) for c in carried]))
        return pa.concat_tables(found)

    def reconcile(self, derived: pa.Table, target: float | None) -> Reconciliation | None:
        """Zendesk's breaches against the contract's (``target`` seconds per record), for
        records measured on Zendesk's metric events; None for others or without a target."""
        if target is None or "zendesk_breached" not in derived.column_names:
            return None
        return reconcile(derived, target)

    def measure(self, table: pa.Table, context: MeasureContext) -> pa.Array:
        """The seconds the clock counted; null while it runs, unless it is already past the
        level's per-record limit (``overdue``: a miss whatever happens next, measured with its
        seconds so far)."""
        undecided = table["running"]
        if "overdue" in table.column_names:
            undecided = pc.and_(undecided, pc.invert(table["overdue"]))
        return pc.if_else(undecided, pa.scalar(None, pa.float64()), table["seconds"])


def _overdue(found: pa.Table, limit: float | None) -> pa.Table:
    """The records with ``overdue``: still running and past ``limit`` (never without one)."""
    if limit is None:
        late = pa.array(np.zeros(found.num_rows, dtype=bool))
    else:
        late = pc.and_(pc.fill_null(found["running"], False), past_limit(found, limit))
    return found.append_column("overdue", late)


def history_flags(flags: pa.Table, records: pa.Table, derived: pa.Table,
                  context: MeasureContext) -> pa.Table:
    """Flags read from the ticket's history with the fields the derived records carry, as the
    ticket stood at each flag's instant (for the level's ``where`` and ``by``)."""
    carried = [c for c in derived.column_names
               if c in records.column_names and c not in ("ticket_id", "at")]
    instants = micros(as_array(flags["at"]))[0] if flags.num_rows else np.zeros(0, np.int64)
    return _with(flags, carried, at_instant(records, flags["ticket_id"], instants, carried,
                                            ordering(records, context)))


def _with(flags: pa.Table, names: list[str], values: list[pa.Array]) -> pa.Table:
    for name, column in zip(names, values, strict=True):
        flags = flags.append_column(name, column)
    return flags


def clock_history(records: pa.Table, context: MeasureContext) -> History:
    """The ticket history of ``records``, read once for every clock level deriving from them
    (kept in the context's shared space, which lives as long as the records are handed
    round)."""
    key = f"clocks:history:{context.as_of}"
    found = context.shared.get(key)
    if found is None:
        found = context.shared[key] = read_history(records, context.as_of)
    return found


def _first_rows(intervals: pa.Table) -> np.ndarray:
    """The row of each record's first event: its first span's (spans come record by record)."""
    ids = intervals["id"]
    n = len(ids)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    changed = pc.not_equal(ids.slice(1), ids.slice(0, n - 1))
    first = np.r_[True, np.asarray(pc.fill_null(changed, True).to_numpy(zero_copy_only=False),
                                   dtype=bool)]
    return np.asarray(intervals["row"].to_numpy(), dtype=np.int64)[first]


Ordering = tuple[tuple["np.ndarray", "np.ndarray"], "np.ndarray", "np.ndarray"]
"""What :func:`_ordering` gives: the events sorted by ticket, instant and file order."""


def ordering(records: pa.Table, context: MeasureContext) -> Ordering:
    """:func:`_ordering` of ``records``, sorted once for every clock level deriving from them
    (kept in the context's shared space)."""
    key = "clocks:ordering"
    found = context.shared.get(key)
    if found is None:
        found = context.shared[key] = _ordering(records)
    return found


def at_instant(records: pa.Table, tickets: pa.Array | pa.ChunkedArray, instants: np.ndarray,
               names: list[str], sorted_events: Ordering | None = None) -> list[pa.Array]:
    """Per field of ``names``, its value in ticket ``tickets[i]`` as it stood at
    ``instants[i]`` (UTC microseconds; the int64 maximum: after the ticket's last event):
    after every event of the ticket at or before that instant, the latest non-empty value
    among them (by instant, then file order); for the fields of :data:`OWN`, the last such
    event's own value. Empty where the ticket had no event by then. ``sorted_events``:
    :func:`_ordering` of ``records``, when already known."""
    if not names:
        return []
    ordered, order, run_start = sorted_events or _ordering(records)
    codes_sorted, at_sorted = ordered
    tickets = tickets.combine_chunks() if isinstance(tickets, pa.ChunkedArray) else tickets
    ids = pc.cast(records["ticket_id"], pa.string())
    ids = ids.combine_chunks() if isinstance(ids, pa.ChunkedArray) else ids
    dictionary = pc.dictionary_encode(ids).dictionary
    wanted = np.asarray(pc.fill_null(pc.index_in(pc.cast(tickets, pa.string()),
                                                 value_set=dictionary), -1), dtype=np.int64)
    distinct = np.unique(at_sorted)
    width = len(distinct) + 1
    keys = codes_sorted * width + np.searchsorted(distinct, at_sorted) + 1
    asked = wanted * width + np.searchsorted(distinct, instants, side="right")
    place = np.searchsorted(keys, asked, side="right") - 1
    n = len(keys)
    found_place = (wanted >= 0) & (place >= 0)
    safe = np.clip(place, 0, max(n - 1, 0))
    if n:
        found_place &= codes_sorted[safe] == wanted
    return _latest_values(records, order, run_start, np.where(found_place, safe, -1), names,
                          own_latest=True)


def _ordering(records: pa.Table) -> tuple[tuple[np.ndarray, np.ndarray], np.ndarray, np.ndarray]:
    """The events sorted by ticket, instant and file order: (ticket codes, instants) in that
    order, the order itself, and each position's first position of its ticket."""
    n = records.num_rows
    ids = pc.cast(records["ticket_id"], pa.string())
    ids = ids.combine_chunks() if isinstance(ids, pa.ChunkedArray) else ids
    ticket_codes = np.asarray(pc.dictionary_encode(ids).indices.to_numpy(), dtype=np.int64)
    at = micros(as_array(records["at"]))[0]
    positions = np.arange(n, dtype=np.int64)
    order = np.lexsort((positions, at, ticket_codes))
    sorted_ticket = ticket_codes[order]
    first = np.r_[True, sorted_ticket[1:] != sorted_ticket[:-1]] if n else np.zeros(0, bool)
    run_start = np.maximum.accumulate(np.where(first, positions, 0)) if n else positions
    return (sorted_ticket, at[order]), order, run_start


def _latest_values(records: pa.Table, order: np.ndarray, run_start: np.ndarray,
                   wanted: np.ndarray, names: list[str], own_latest: bool) -> list[pa.Array]:
    """Per name, the latest non-empty value of the ticket up to each sorted position of
    ``wanted`` (-1: none); with ``own_latest`` the fields of :data:`OWN` are the position's
    own value."""
    n = records.num_rows
    positions = np.arange(n, dtype=np.int64)
    found = []
    for name in names:
        if not n:
            found.append(pa.nulls(len(wanted), records.schema.field(name).type))
            continue
        column = records[name]
        column = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
        ordered = column.take(pa.array(order, pa.int64()))
        if own_latest and name in OWN:
            found.append(ordered.take(pa.array(wanted, pa.int64(), mask=wanted < 0)))
            continue
        valid = np.asarray(pc.is_valid(ordered).to_numpy(zero_copy_only=False), dtype=bool)
        latest = np.maximum.accumulate(np.where(valid, positions, -1)) if n else positions
        safe = np.maximum(wanted, 0)
        chosen = np.where((wanted >= 0) & (latest[safe] >= run_start[safe]), latest[safe], -1)
        found.append(ordered.take(pa.array(chosen, pa.int64(), mask=chosen < 0)))
    return found


def at_start(records: pa.Table, rows: np.ndarray, names: list[str],
             sorted_events: Ordering | None = None) -> list[pa.Array]:
    """Per field of ``names``, its value at each of ``rows`` (rows of ``records``): the row's
    own value for the fields of :data:`OWN`, else the latest non-empty value among the same
    ticket's events up to and including that row (by instant, then file order).
    ``sorted_events``: :func:`_ordering` of ``records``, when already known."""
    if not names:
        return []
    _, order, run_start = sorted_events or _ordering(records)
    place = np.empty(records.num_rows, dtype=np.int64)
    place[order] = np.arange(records.num_rows, dtype=np.int64)
    return _latest_values(records, order, run_start, place[np.asarray(rows, dtype=np.int64)],
                          names, own_latest=True)
