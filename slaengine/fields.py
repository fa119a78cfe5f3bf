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

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from functools import cache
from typing import Any

from slaengine.lazy import pa

TYPE_NAMES = ("timestamp", "category", "text", "seconds", "count", "score", "bool", "money")
"""The canonical types by name, as :meth:`RecordKind.type_name` gives them; the module's
``TIMESTAMP`` .. ``MONEY`` are their Arrow types (:func:`arrow_type`)."""


@cache
def arrow_type(type_name: str) -> pa.DataType:
    """The Arrow type of a canonical type name (``"timestamp"``: ``timestamp[us, tz=UTC]``)."""
    return {
        "timestamp": lambda: pa.timestamp("us", tz="UTC"),
        "category": lambda: pa.dictionary(pa.int32(), pa.string()),
        "text": pa.string,
        "seconds": pa.float64,
        "count": pa.int64,
        "score": pa.float64,
        "bool": pa.bool_,
        "money": lambda: pa.decimal128(18, 4),
    }[type_name]()


def __getattr__(name: str) -> Any:
    """``TIMESTAMP``, ``CATEGORY``, ``TEXT``, ``SECONDS``, ``COUNT``, ``SCORE``, ``BOOL`` and
    ``MONEY``: the Arrow types, made when first asked for (so that loading the vocabulary does
    not import pyarrow)."""
    if name.isupper() and name.lower() in TYPE_NAMES:
        return arrow_type(name.lower())
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class FieldTypes(Mapping[str, "pa.DataType"]):
    """The Arrow type of each field, given by type name: the names and the membership tests
    need no pyarrow, the types are made when first looked up."""

    def __init__(self, type_names: Mapping[str, str]) -> None:
        self.type_names = dict(type_names)

    def __getitem__(self, name: str) -> pa.DataType:
        return arrow_type(self.type_names[name])

    def __iter__(self) -> Iterator[str]:
        return iter(self.type_names)

    def __len__(self) -> int:
        return len(self.type_names)

    def __contains__(self, name: object) -> bool:
        return name in self.type_names

    def __repr__(self) -> str:
        return f"FieldTypes({self.type_names!r})"


Bound = tuple[float | None, float | None]
"""An inclusive ``(low, high)`` range for a numeric field; ``None`` leaves that side open."""


@dataclass(frozen=True)
class RecordKind:
    """One kind of record: its canonical fields, their Arrow types and the values they may take.

    ``bounds`` maps a numeric field to its inclusive ``(low, high)`` range; ``None`` leaves that
    side open (``(0, None)``: never negative). ``not_before`` lists ``(field, earlier)`` pairs: a
    record whose ``field`` lies before its ``earlier`` field is impossible (a ticket answered
    before it was opened). ``values`` gives the closed set of values of a category field (an
    event is ``created``, ``status``, ...); ``aliases`` the names one source uses for them
    (:meth:`with_aliases`). Sources reject records that break any of these rules, with the
    reason, so that no metric ever sees a negative duration, a CSAT of 7 or a status it cannot
    place. ``unique_ids`` is false when many records share an id (a ticket's events): a repeated
    id is then no duplicate.
    """

    name: str
    fields: Mapping[str, pa.DataType]
    id_field: str
    time_field: str
    descriptions: dict[str, str]
    bounds: dict[str, Bound] = field(default_factory=dict)
    not_before: tuple[tuple[str, str], ...] = ()
    values: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    aliases: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    unique_ids: bool = True

    def with_aliases(self, aliases: Mapping[str, Mapping[str, str]]) -> RecordKind:
        """This kind as one source reads it: each field of ``aliases`` also accepts the
        source's own names for its values (``{"status": {"Resolved": "solved"}}``), read as the
        canonical value they map onto.

        :raises ValueError: a field without a closed set of values, or a mapping onto a value
            that is not canonical (the contract's checks say so first, naming the key).
        """
        for name, mapping in aliases.items():
            allowed = self.values.get(name)
            if allowed is None:
                raise ValueError(f"field {name!r} of {self.name} has no closed set of values")
            wrong = sorted(v for v in mapping.values() if v not in allowed)
            if wrong:
                raise ValueError(f"{name}: {wrong} are not among {list(allowed)}")
        merged = {**self.aliases, **{n: dict(m) for n, m in aliases.items() if m}}
        return replace(self, aliases=merged)

    @property
    def required(self) -> tuple[str, str]:
        """Fields without which a record is rejected: its id and its period time."""
        return (self.id_field, self.time_field)

    def type_name(self, name: str) -> str:
        """The canonical type of field ``name`` as a word of :data:`TYPE_NAMES`
        (``"timestamp"``, ``"category"``, ...), known without importing pyarrow."""
        if isinstance(self.fields, FieldTypes):
            return self.fields.type_names[name]
        type_ = self.fields[name]
        return next((word for word in TYPE_NAMES if arrow_type(word) == type_), str(type_))

    def schema(self, names: list[str] | tuple[str, ...] | None = None) -> pa.Schema:
        chosen = self.fields if names is None else {n: self.fields[n] for n in names}
        return pa.schema([pa.field(n, t) for n, t in chosen.items()])


_TICKET_FIELDS: list[tuple[str, str, str]] = [
    ("ticket_id", "text", "identifier of the ticket or interaction"),
    ("created_at", "timestamp", "when the customer's request arrived (decides the period)"),
    ("first_response_at", "timestamp", "first reply by an agent; empty when never answered"),
    ("resolved_at", "timestamp", "when the ticket was resolved; empty while unresolved"),
    ("updated_at", "timestamp", "last change of the record in the source system"),
    ("status", "category", "state in the source system (new, open, pending, solved, closed)"),
    ("priority", "category", "priority as the contract names it (urgent, high, normal, low)"),
    ("channel", "category", "channel of the first contact (email, phone, chat, web)"),
    ("group", "category", "team or queue that owns the ticket"),
    ("agent", "category", "agent who handled the ticket"),
    ("contacts", "count", "customer contacts needed to resolve the ticket"),
    ("reopens", "count", "times the ticket was reopened after resolution"),
    ("handle_seconds", "seconds", "agent handling time (talk + hold + after-contact work)"),
    ("on_hold_seconds", "seconds", "time the ticket waited on the customer or a third party"),
    ("organization", "category", "customer organization the ticket belongs to"),
    ("tags", "text", "the ticket's tags, separated by single spaces"),
    ("replies", "count", "public replies an agent added to the ticket"),
    ("response_seconds", "seconds", "total time customers waited for all agent replies"),
    ("escalated", "bool", "whether the ticket was escalated (to a second line or the client)"),
    ("assigned_at", "timestamp", "when the ticket was first assigned to an agent"),
    ("first_response_business_seconds", "seconds",
     "time to the first reply within the help desk's business hours (its own figure)"),
    ("first_resolution_business_seconds", "seconds",
     "time to the first resolution within the help desk's business hours (its own figure)"),
    ("resolution_business_seconds", "seconds",
     "time to the final resolution within the help desk's business hours (its own figure)"),
    ("agent_wait_seconds", "seconds", "time the ticket waited on the agent (new or open)"),
    ("agent_wait_business_seconds", "seconds", "agent_wait_seconds within business hours"),
    ("requester_wait_seconds", "seconds",
     "time the requester waited for a solution (new, open or on hold)"),
    ("requester_wait_business_seconds", "seconds", "requester_wait_seconds within business hours"),
    ("on_hold_business_seconds", "seconds", "on_hold_seconds within business hours"),
    ("csat", "score", "customer satisfaction score, 1-5"),
    ("satisfaction", "category",
     "satisfaction rating: good or bad (answered), offered (not answered) or unoffered"),
    ("nps", "score", "likelihood to recommend, 0-10"),
    ("ces", "score", "customer effort score, 1-7 (lower is better)"),
]

TICKETS = RecordKind(
    name="tickets",
    fields=FieldTypes({name: type_ for name, type_, _ in _TICKET_FIELDS}),
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
    rows: list[tuple[str, str, str]],
    *,
    bounds: dict[str, Bound] | None = None,
    not_before: tuple[tuple[str, str], ...] = (),
    values: dict[str, tuple[str, ...]] | None = None,
    unique_ids: bool = True,
) -> RecordKind:
    """A record kind whose first field is its id and second its period time."""
    return RecordKind(
        name=name,
        fields=FieldTypes({n: t for n, t, _ in rows}),
        id_field=rows[0][0],
        time_field=rows[1][0],
        descriptions={n: d for n, _, d in rows},
        bounds=bounds or {},
        not_before=not_before,
        values=values or {},
        unique_ids=unique_ids,
    )


_SURVEY_BOUNDS: dict[str, Bound] = {"csat": (1, 5), "nps": (0, 10), "ces": (1, 7)}

SURVEYS = _kind("surveys", [
    ("survey_id", "text", "identifier of the survey response"),
    ("responded_at", "timestamp", "when the customer answered (decides the period)"),
    ("ticket_id", "text", "the ticket the survey is about (see a source's `link`)"),
    ("channel", "category", "channel of the surveyed contact"),
    ("agent", "category", "agent of the surveyed contact"),
    ("organization", "category", "customer organization the ticket belongs to"),
    ("tags", "text", "the ticket's tags, separated by single spaces"),
    ("replies", "count", "public replies an agent added to the ticket"),
    ("assigned_at", "timestamp", "when the ticket was first assigned to an agent"),
    ("first_response_business_seconds", "seconds",
     "time to the first reply within the help desk's business hours (its own figure)"),
    ("first_resolution_business_seconds", "seconds",
     "time to the first resolution within the help desk's business hours (its own figure)"),
    ("resolution_business_seconds", "seconds",
     "time to the final resolution within the help desk's business hours (its own figure)"),
    ("agent_wait_seconds", "seconds", "time the ticket waited on the agent (new or open)"),
    ("agent_wait_business_seconds", "seconds", "agent_wait_seconds within business hours"),
    ("requester_wait_seconds", "seconds",
     "time the requester waited for a solution (new, open or on hold)"),
    ("requester_wait_business_seconds", "seconds", "requester_wait_seconds within business hours"),
    ("on_hold_business_seconds", "seconds", "on_hold_seconds within business hours"),
    ("csat", "score", "customer satisfaction score, 1-5"),
    ("satisfaction", "category",
     "satisfaction rating: good or bad (answered), offered (not answered) or unoffered"),
    ("nps", "score", "likelihood to recommend, 0-10"),
    ("ces", "score", "customer effort score, 1-7 (lower is better)"),
], bounds=_SURVEY_BOUNDS)

CALLS = _kind("calls", [
    ("call_id", "text", "identifier of the call"),
    ("started_at", "timestamp", "when the call entered the queue (decides the period)"),
    ("answered_at", "timestamp", "when an agent answered; empty for an abandoned call"),
    ("ended_at", "timestamp", "when the call ended (or the caller hung up)"),
    ("queue", "category", "queue or skill the call was routed to"),
    ("agent", "category", "agent who answered"),
    ("ticket_id", "text", "the ticket the call belongs to, if any"),
    ("talk_seconds", "seconds", "talk time"),
    ("hold_seconds", "seconds", "time the caller was on hold during the call"),
    ("wrap_seconds", "seconds", "after-call work"),
    ("resolved", "bool", "whether the call resolved the caller's issue"),
], bounds={"talk_seconds": (0, None), "hold_seconds": (0, None), "wrap_seconds": (0, None)},
   not_before=(("answered_at", "started_at"), ("ended_at", "started_at")))

COSTS = _kind("costs", [
    ("cost_id", "text", "identifier of the cost line (invoice line, payroll entry)"),
    ("incurred_at", "timestamp", "when the cost was incurred (decides the period)"),
    ("amount", "money", "amount in the contract's currency (exact decimal)"),
    ("category", "category", "kind of cost (staff, tooling, telephony, fee)"),
], bounds={})

CUSTOMERS = _kind("customers", [
    ("customer_id", "text", "identifier of the customer"),
    ("started_at", "timestamp", "when the customer relationship started"),
    ("ended_at", "timestamp", "when the customer left; empty while still a customer"),
    ("plan", "category", "plan, product or segment of the customer"),
], not_before=(("ended_at", "started_at"),))

SALES = _kind("sales", [
    ("sale_id", "text", "identifier of the sale"),
    ("sold_at", "timestamp", "when the sale was made (decides the period)"),
    ("customer_id", "text", "the customer who bought"),
    ("ticket_id", "text", "the support contact that led to the sale, if any"),
    ("sale_type", "category", "upsell, cross_sell or new"),
    ("agent", "category", "agent credited with the sale"),
    ("amount", "money", "revenue in the contract's currency (exact decimal)"),
])

EVENT_TYPES = ("created", "status", "comment", "priority", "group", "assignee")
"""What an event records: the ticket's creation, a change of its status, a comment, a change of
its priority, group or assignee."""

STATUSES = ("new", "open", "pending", "hold", "solved", "closed")
"""A ticket's statuses, in the help desks' common vocabulary; a source maps its own names onto
them with ``values``."""

AUTHORS = ("requester", "agent", "system")
"""Who wrote a comment: the customer, the vendor's agent, or an automation."""

EVENTS = _kind("events", [
    ("ticket_id", "text", "the ticket whose history the event belongs to"),
    ("at", "timestamp", "when the event happened (decides the period)"),
    ("event", "category", "what happened: " + ", ".join(EVENT_TYPES)),
    ("status", "category", "the status after a status change: " + ", ".join(STATUSES)),
    ("author", "category", "who wrote a comment: " + ", ".join(AUTHORS)),
    ("public", "bool", "whether a comment is visible to the customer"),
    ("priority", "category", "the priority after a priority change"),
    ("group", "category", "the group after a group change"),
    ("agent", "category", "the assignee after an assignee change"),
], values={"event": EVENT_TYPES, "status": STATUSES, "author": AUTHORS}, unique_ids=False)
"""A ticket's history, one record per change; many records share a ``ticket_id``."""

METRICS = ("reply_time", "agent_work_time", "requester_wait_time", "periodic_update_time",
           "pausable_update_time", "resolution_time", "group_ownership_time")
"""The clocks Zendesk keeps on a ticket, by the names its metric events give them."""

METRIC_EVENT_TYPES = ("activate", "pause", "fulfill", "apply_sla", "apply_group_sla", "breach",
                      "update_status")
"""What a Zendesk metric event records: the clock started or resumed, paused, was fulfilled
(stopped); an SLA policy (or group SLA policy) was applied; its target was breached; the
clock's figure was updated."""

METRIC_EVENTS = _kind("metric_events", [
    ("ticket_id", "text", "the ticket whose clock the event belongs to"),
    ("time", "timestamp", "when the event happened (decides the period)"),
    ("metric", "category", "the clock: " + ", ".join(METRICS)),
    ("instance_id", "count", "the clock's instance on the ticket (reply_time: 1, 2, ...)"),
    ("type", "category", "what happened: " + ", ".join(METRIC_EVENT_TYPES)),
    ("deleted", "bool", "a breach event that no longer holds (Zendesk withdrew it)"),
    ("event_id", "text", "the metric event's own id in Zendesk"),
    ("sla_target_seconds", "seconds",
     "an apply_sla event: the target the SLA policy set for the clock (Zendesk's minutes)"),
    ("sla_business_hours", "bool",
     "an apply_sla event: whether that target counts business hours only"),
    ("sla_policy", "text", "an apply_sla event: the title of the SLA policy applied"),
], bounds={"instance_id": (1, None), "sla_target_seconds": (0, None)},
   values={"metric": METRICS, "type": METRIC_EVENT_TYPES}, unique_ids=False)
"""Zendesk's own clocks, one record per metric event (its ``ticket_metric_events`` export);
many records share a ``ticket_id``."""

RECORD_KINDS: dict[str, RecordKind] = {
    kind.name: kind
    for kind in (TICKETS, SURVEYS, CALLS, COSTS, CUSTOMERS, SALES, EVENTS, METRIC_EVENTS)
}


def is_category(type_: pa.DataType) -> bool:
    return pa.types.is_dictionary(type_)
