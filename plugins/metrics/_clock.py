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
from slaengine.clocks.zendesk import Reconciliation, measure_zendesk, reconcile
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
    is unmeasured. ``where`` and ``by`` read the events' fields as they stood at the record's
    first event.

    On Zendesk's metric events (record kind ``metric_events``) the records are Zendesk's own
    clocks of that name (:func:`slaengine.clocks.zendesk.measure_zendesk`), measured again
    under the level's calendar, with Zendesk's ``zendesk_breached``; they carry no other field
    and have no spans or audit flags, and the level reconciles Zendesk's breaches with its own.
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
        return METRIC_EVENT_COLUMNS if is_metric_events(available) else COLUMNS

    def derive(self, records: pa.Table, context: MeasureContext) -> pa.Table:
        return self.derive_with_spans(records, context)[0]

    def derive_with_spans(self, records: pa.Table,
                          context: MeasureContext) -> tuple[pa.Table, pa.Table | None]:
        """The clock's records and their running and paused spans (measured once)."""
        if is_metric_events(records.column_names):
            found = measure_zendesk(records, context.calendar, context.as_of)[self.clock]
            return found, None
        found = self.measure_clock(records, context)
        derived = found.records
        spans = found.intervals.drop_columns(["row"])
        carried = [c for c in records.column_names
                   if c not in ("ticket_id", "at") and c not in derived.column_names]
        if not carried:
            return derived, spans
        starts = _first_rows(found.intervals)
        key = "clocks:event_order"
        if key not in context.shared:  # the same for every clock level on these records
            context.shared[key] = event_order(records)
        values_at = at_start(records, starts, carried, context.shared[key])
        for name, values in zip(carried, values_at, strict=True):
            derived = derived.append_column(name, values)
        return derived, spans

    def measure_clock(self, records: pa.Table, context: MeasureContext) -> ClockTables:
        """The clock's records and spans on a ticket's history (:func:`measure`)."""
        return measure(records, [self.clock], calendar=context.calendar, as_of=context.as_of,
                       history=clock_history(records, context))[self.clock]

    def audit(self, records: pa.Table, derived: pa.Table, spans: pa.Table | None,
              context: MeasureContext, target: float | None) -> pa.Table | None:
        """Flags of the clock itself: pending while the requester waits for an answer, a
        reopen by the requester within a day (both from the history), and with a per-record
        target a pause within ``grace`` of it (:mod:`slaengine.clocks.audit`). Zendesk's
        metric events hold no ticket history: no flags."""
        if is_metric_events(records.column_names):
            return None
        key = f"clocks:ticket_flags:{context.as_of}"
        if key not in context.shared:  # the same for every clock level on these records
            context.shared[key] = ticket_flags(records, context.as_of,
                                               clock_history(records, context))
        found = [context.shared[key]]
        if target is not None and spans is not None:
            grace = float(parse_duration(context.options.get("grace", DEFAULT_GRACE)))
            found.append(paused_near_target(derived, spans, target, grace))
        return pa.concat_tables(found)

    def reconcile(self, derived: pa.Table, target: float | None) -> Reconciliation | None:
        """Zendesk's breaches against the contract's (``target`` seconds per record), for
        records measured on Zendesk's metric events; None for others or without a target."""
        if target is None or "zendesk_breached" not in derived.column_names:
            return None
        return reconcile(derived, target)

    def measure(self, table: pa.Table, context: MeasureContext) -> pa.Array:
        """The seconds the clock counted; null while it runs."""
        return pc.if_else(table["running"], pa.scalar(None, pa.float64()), table["seconds"])


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


def event_order(records: pa.Table) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The events by ticket, instant and file order: ``order`` (rows in that order), ``place``
    (each row's place in it) and ``run_start`` (per place, the place of its ticket's first
    event)."""
    n = records.num_rows
    ids = pc.cast(records["ticket_id"], pa.string())
    ids = ids.combine_chunks() if isinstance(ids, pa.ChunkedArray) else ids
    ticket = pc.dictionary_encode(ids)
    ticket_codes = np.asarray(ticket.indices.to_numpy(), dtype=np.int64)
    at = micros(as_array(records["at"]))[0]
    positions = np.arange(n, dtype=np.int64)
    order = np.lexsort((positions, at, ticket_codes))
    place = np.empty(n, dtype=np.int64)
    place[order] = positions
    sorted_ticket = ticket_codes[order]
    first = np.r_[True, sorted_ticket[1:] != sorted_ticket[:-1]] if n else np.zeros(0, bool)
    run_start = np.maximum.accumulate(np.where(first, positions, 0)) if n else positions
    return order, place, run_start


def at_start(records: pa.Table, rows: np.ndarray, names: list[str],
             ordered: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
             ) -> list[pa.Array]:
    """Per field of ``names``, its value at each of ``rows`` (rows of ``records``): the row's
    own value for the fields of :data:`OWN`, else the latest non-empty value among the same
    ticket's events up to and including that row (by instant, then file order). ``ordered``:
    :func:`event_order` of ``records``, when already known."""
    n = records.num_rows
    order, place, run_start = event_order(records) if ordered is None else ordered
    positions = np.arange(n, dtype=np.int64)
    wanted = place[rows]
    found = []
    for name in names:
        column = records[name]
        column = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
        if name in OWN:
            found.append(column.take(pa.array(rows, pa.int64())))
            continue
        ordered_values = column.take(pa.array(order))
        valid = np.asarray(pc.is_valid(ordered_values).to_numpy(zero_copy_only=False),
                           dtype=bool)
        latest = np.maximum.accumulate(np.where(valid, positions, -1)) if n else positions
        latest = np.where(latest >= run_start, latest, -1)[wanted]
        found.append(ordered_values.take(pa.array(latest, pa.int64(), mask=latest < 0)))
    return found
