"""The canonical record vocabulary: every source maps onto it, every metric reads only it.

A *record kind* is one kind of record with its own Arrow schema. Tickets are the first; surveys,
calls, costs and other kinds join them as the catalogue grows. Each kind names the field that
identifies a record (reported for records that missed a target) and the field whose time decides
the period a record belongs to.

Types:

- timestamps are ``timestamp[us, tz=UTC]``; a source reading a timestamp without an offset reads
  it in the contract's timezone;
- categories (priority, channel, ...) are dictionary-encoded strings;
- durations that arrive as numbers are seconds (``float64``);
- counts are ``int64``; survey scores are ``float64``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa

TIMESTAMP = pa.timestamp("us", tz="UTC")
CATEGORY = pa.dictionary(pa.int32(), pa.string())
TEXT = pa.string()
SECONDS = pa.float64()
COUNT = pa.int64()
SCORE = pa.float64()


Bound = tuple[float | None, float | None]
"""An inclusive ``(low, high)`` range for a numeric field; ``None`` leaves that side open."""


@dataclass(frozen=True)
class RecordKind:
    """One kind of record: its canonical fields, their Arrow types and the values they may take.

    ``bounds`` maps a numeric field to its inclusive ``(low, high)`` range; ``None`` leaves that
    side open (``(0, None)``: never negative). ``not_before`` lists ``(field, earlier)`` pairs: a
    record whose ``field`` lies before its ``earlier`` field is impossible (a ticket answered
    before it was opened). Sources reject records that break either rule, with the reason, so
    that no metric ever sees a negative duration or a CSAT of 7.
    """

    name: str
    fields: dict[str, pa.DataType]
    id_field: str
    time_field: str
    descriptions: dict[str, str]
    bounds: dict[str, Bound] = field(default_factory=dict)
    not_before: tuple[tuple[str, str], ...] = ()

    @property
    def required(self) -> tuple[str, str]:
        """Fields without which a record is rejected: its id and its period time."""
        return (self.id_field, self.time_field)

    def schema(self, names: list[str] | tuple[str, ...] | None = None) -> pa.Schema:
        chosen = self.fields if names is None else {n: self.fields[n] for n in names}
        return pa.schema([pa.field(n, t) for n, t in chosen.items()])


_TICKET_FIELDS: list[tuple[str, pa.DataType, str]] = [
    ("ticket_id", TEXT, "identifier of the ticket or interaction"),
    ("created_at", TIMESTAMP, "when the customer's request arrived (decides the period)"),
    ("first_response_at", TIMESTAMP, "first reply by an agent; empty when never answered"),
    ("resolved_at", TIMESTAMP, "when the ticket was resolved; empty while unresolved"),
    ("updated_at", TIMESTAMP, "last change of the record in the source system"),
    ("status", CATEGORY, "state in the source system (new, open, pending, solved, closed)"),
    ("priority", CATEGORY, "priority as the contract names it (urgent, high, normal, low)"),
    ("channel", CATEGORY, "channel of the first contact (email, phone, chat, web)"),
    ("group", CATEGORY, "team or queue that owns the ticket"),
    ("agent", CATEGORY, "agent who handled the ticket"),
    ("contacts", COUNT, "customer contacts needed to resolve the ticket"),
    ("reopens", COUNT, "times the ticket was reopened after resolution"),
    ("handle_seconds", SECONDS, "agent handling time (talk + hold + after-contact work)"),
    ("on_hold_seconds", SECONDS, "time the ticket waited on the customer or a third party"),
    ("csat", SCORE, "customer satisfaction score, 1-5"),
    ("nps", SCORE, "likelihood to recommend, 0-10"),
    ("ces", SCORE, "customer effort score, 1-7 (lower is better)"),
]

TICKETS = RecordKind(
    name="tickets",
    fields={name: type_ for name, type_, _ in _TICKET_FIELDS},
    id_field="ticket_id",
    time_field="created_at",
    descriptions={name: text for name, _, text in _TICKET_FIELDS},
    bounds={
        "contacts": (0, None),
        "reopens": (0, None),
        "handle_seconds": (0, None),
        "on_hold_seconds": (0, None),
        "csat": (1, 5),
        "nps": (0, 10),
        "ces": (1, 7),
    },
    not_before=(("first_response_at", "created_at"), ("resolved_at", "created_at")),
)

RECORD_KINDS: dict[str, RecordKind] = {TICKETS.name: TICKETS}


def is_category(type_: pa.DataType) -> bool:
    return pa.types.is_dictionary(type_)
