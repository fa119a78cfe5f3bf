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
- counts are ``int64``; survey scores are ``float64``; yes/no outcomes are ``bool``;
- money is an exact ``decimal128(18, 4)`` in the contract's currency, never a float.
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
BOOL = pa.bool_()
MONEY = pa.decimal128(18, 4)


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
    ("organization", CATEGORY, "customer organization the ticket belongs to"),
    ("tags", TEXT, "the ticket's tags, separated by single spaces"),
    ("replies", COUNT, "public replies an agent added to the ticket"),
    ("response_seconds", SECONDS, "total time customers waited for all agent replies"),
    ("escalated", BOOL, "whether the ticket was escalated (to a second line or the client)"),
    ("assigned_at", TIMESTAMP, "when the ticket was first assigned to an agent"),
    ("first_response_business_seconds", SECONDS,
     "time to the first reply within the help desk's business hours (its own figure)"),
    ("first_resolution_business_seconds", SECONDS,
     "time to the first resolution within the help desk's business hours (its own figure)"),
    ("resolution_business_seconds", SECONDS,
     "time to the final resolution within the help desk's business hours (its own figure)"),
    ("agent_wait_seconds", SECONDS, "time the ticket waited on the agent (new or open)"),
    ("agent_wait_business_seconds", SECONDS, "agent_wait_seconds within business hours"),
    ("requester_wait_seconds", SECONDS,
     "time the requester waited for a solution (new, open or on hold)"),
    ("requester_wait_business_seconds", SECONDS, "requester_wait_seconds within business hours"),
    ("on_hold_business_seconds", SECONDS, "on_hold_seconds within business hours"),
    ("csat", SCORE, "customer satisfaction score, 1-5"),
    ("satisfaction", CATEGORY,
     "satisfaction rating: good or bad (answered), offered (not answered) or unoffered"),
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
        "replies": (0, None),
        "response_seconds": (0, None),
        "first_response_business_seconds": (0, None),
        "first_resolution_business_seconds": (0, None),
        "resolution_business_seconds": (0, None),
        "agent_wait_seconds": (0, None),
        "agent_wait_business_seconds": (0, None),
        "requester_wait_seconds": (0, None),
        "requester_wait_business_seconds": (0, None),
        "on_hold_business_seconds": (0, None),
        "csat": (1, 5),
        "nps": (0, 10),
        "ces": (1, 7),
    },
    not_before=(("first_response_at", "created_at"), ("resolved_at", "created_at")),
)

def _kind(
    name: str,
    rows: list[tuple[str, pa.DataType, str]],
    *,
    bounds: dict[str, Bound] | None = None,
    not_before: tuple[tuple[str, str], ...] = (),
) -> RecordKind:
    """A record kind whose first field is its id and second its period time."""
    return RecordKind(
        name=name,
        fields={n: t for n, t, _ in rows},
        id_field=rows[0][0],
        time_field=rows[1][0],
        descriptions={n: d for n, _, d in rows},
        bounds=bounds or {},
        not_before=not_before,
    )


_SURVEY_BOUNDS: dict[str, Bound] = {"csat": (1, 5), "nps": (0, 10), "ces": (1, 7)}

SURVEYS = _kind("surveys", [
    ("survey_id", TEXT, "identifier of the survey response"),
    ("responded_at", TIMESTAMP, "when the customer answered (decides the period)"),
    ("ticket_id", TEXT, "the ticket the survey is about (see a source's `link`)"),
    ("channel", CATEGORY, "channel of the surveyed contact"),
    ("agent", CATEGORY, "agent of the surveyed contact"),
    ("organization", CATEGORY, "customer organization the ticket belongs to"),
    ("tags", TEXT, "the ticket's tags, separated by single spaces"),
    ("replies", COUNT, "public replies an agent added to the ticket"),
    ("assigned_at", TIMESTAMP, "when the ticket was first assigned to an agent"),
    ("first_response_business_seconds", SECONDS,
     "time to the first reply within the help desk's business hours (its own figure)"),
    ("first_resolution_business_seconds", SECONDS,
     "time to the first resolution within the help desk's business hours (its own figure)"),
    ("resolution_business_seconds", SECONDS,
     "time to the final resolution within the help desk's business hours (its own figure)"),
    ("agent_wait_seconds", SECONDS, "time the ticket waited on the agent (new or open)"),
    ("agent_wait_business_seconds", SECONDS, "agent_wait_seconds within business hours"),
    ("requester_wait_seconds", SECONDS,
     "time the requester waited for a solution (new, open or on hold)"),
    ("requester_wait_business_seconds", SECONDS, "requester_wait_seconds within business hours"),
    ("on_hold_business_seconds", SECONDS, "on_hold_seconds within business hours"),
    ("csat", SCORE, "customer satisfaction score, 1-5"),
    ("satisfaction", CATEGORY,
     "satisfaction rating: good or bad (answered), offered (not answered) or unoffered"),
    ("nps", SCORE, "likelihood to recommend, 0-10"),
    ("ces", SCORE, "customer effort score, 1-7 (lower is better)"),
], bounds=_SURVEY_BOUNDS)

CALLS = _kind("calls", [
    ("call_id", TEXT, "identifier of the call"),
    ("started_at", TIMESTAMP, "when the call entered the queue (decides the period)"),
    ("answered_at", TIMESTAMP, "when an agent answered; empty for an abandoned call"),
    ("ended_at", TIMESTAMP, "when the call ended (or the caller hung up)"),
    ("queue", CATEGORY, "queue or skill the call was routed to"),
    ("agent", CATEGORY, "agent who answered"),
    ("ticket_id", TEXT, "the ticket the call belongs to, if any"),
    ("talk_seconds", SECONDS, "talk time"),
    ("hold_seconds", SECONDS, "time the caller was on hold during the call"),
    ("wrap_seconds", SECONDS, "after-call work"),
    ("resolved", BOOL, "whether the call resolved the caller's issue"),
], bounds={"talk_seconds": (0, None), "hold_seconds": (0, None), "wrap_seconds": (0, None)},
   not_before=(("answered_at", "started_at"), ("ended_at", "started_at")))

COSTS = _kind("costs", [
    ("cost_id", TEXT, "identifier of the cost line (invoice line, payroll entry)"),
    ("incurred_at", TIMESTAMP, "when the cost was incurred (decides the period)"),
    ("amount", MONEY, "amount in the contract's currency (exact decimal)"),
    ("category", CATEGORY, "kind of cost (staff, tooling, telephony, fee)"),
], bounds={})

CUSTOMERS = _kind("customers", [
    ("customer_id", TEXT, "identifier of the customer"),
    ("started_at", TIMESTAMP, "when the customer relationship started"),
    ("ended_at", TIMESTAMP, "when the customer left; empty while still a customer"),
    ("plan", CATEGORY, "plan, product or segment of the customer"),
], not_before=(("ended_at", "started_at"),))

SALES = _kind("sales", [
    ("sale_id", TEXT, "identifier of the sale"),
    ("sold_at", TIMESTAMP, "when the sale was made (decides the period)"),
    ("customer_id", TEXT, "the customer who bought"),
    ("ticket_id", TEXT, "the support contact that led to the sale, if any"),
    ("sale_type", CATEGORY, "upsell, cross_sell or new"),
    ("agent", CATEGORY, "agent credited with the sale"),
    ("amount", MONEY, "revenue in the contract's currency (exact decimal)"),
])

RECORD_KINDS: dict[str, RecordKind] = {
    kind.name: kind for kind in (TICKETS, SURVEYS, CALLS, COSTS, CUSTOMERS, SALES)
}


def is_category(type_: pa.DataType) -> bool:
    return pa.types.is_dictionary(type_)
