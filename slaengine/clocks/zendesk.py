"""Zendesk's own clocks, measured again under the contract's calendar.

Input is a table of Zendesk metric events (record kind ``metric_events``): ``ticket_id``,
``time``, ``metric``, ``instance_id``, ``type`` and ``deleted``. Each (ticket, metric, instance)
is one clock:

* it **runs** after an ``activate`` event and is **stopped** after a ``pause`` or ``fulfill``
  event; before its first ``activate`` it does not run. An ``activate`` after a ``fulfill``
  (Zendesk reactivates a requester wait when a solved ticket is reopened) continues the same
  clock;
* it **starts** at its first ``activate`` and **ends** at its last event when that is a
  ``fulfill``. A clock whose last transition is an ``activate`` or a ``pause`` is *unmeasured*:
  ``running`` is true, ``ended_at`` is empty and ``seconds`` counts up to ``as_of`` (default:
  the latest event of the table) while it runs;
* it is **breached by Zendesk** (``zendesk_breached``) when it has a ``breach`` event that is
  not ``deleted``;
* ``apply_group_sla`` and ``update_status`` events change nothing, nor does ``apply_sla`` to
  the clock's time; a clock without any ``activate`` gives no record;
* its **Zendesk target** is that of its last ``apply_sla`` event (by time, then table order):
  ``zendesk_target_seconds``, ``zendesk_business_hours`` and ``zendesk_policy`` (the policy's
  title), from the table's ``sla_target_seconds``, ``sla_business_hours`` and ``sla_policy``;
  empty without one.

Events of one clock are taken in time order; events at the same instant keep the table's order
(Zendesk writes them in the order they happened, so a ticket created as ``pending`` reads
``activate`` then ``pause``).

The clock's seconds are the business seconds of the given calendar while it runs, so a record
is Zendesk's interval measured under the contract's terms, not Zendesk's own figure.

Zendesk's metrics map onto the built-in clock names: ``reply_time`` (every instance) and
``next_reply_time`` (instances 2 and later), ``requester_wait_time``, ``agent_work_time``,
``periodic_update_time``, ``pausable_update_time``, and ``resolution_time`` as
``total_resolution_time``. ``group_ownership_time`` has no built-in counterpart and is not
measured. Ids follow :func:`slaengine.clocks.measure`: ``TICKET#N`` for the instance clocks
(reply and update), the ticket id for the ticket clocks (``TICKET#N`` too for an instance above
1 of a ticket clock, so that ids stay unique).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from slaengine.calendars.always import ALWAYS, Calendar
from slaengine.clocks.spans import record_schema, timestamp_type
from slaengine.errors import DataError
from slaengine.lazy import np, pa, pc

METRIC_NAMES: dict[str, str] = {
    "reply_time": "reply_time",
    "requester_wait_time": "requester_wait_time",
    "agent_work_time": "agent_work_time",
    "periodic_update_time": "periodic_update_time",
    "pausable_update_time": "pausable_update_time",
    "resolution_time": "total_resolution_time",
}
"""Zendesk's metric -> the built-in clock it is measured as (``next_reply_time``: the
``reply_time`` instances 2 and later)."""

CLOCK_NAMES = (*METRIC_NAMES.values(), "next_reply_time")
_INSTANCE_CLOCKS = frozenset({"reply_time", "periodic_update_time", "pausable_update_time"})
_NEEDS = ("ticket_id", "time", "metric", "instance_id", "type", "deleted")
_US = 1_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


SLA_COLUMNS = ("sla_target_seconds", "sla_business_hours", "sla_policy")
"""What an ``apply_sla`` event says of the target Zendesk set (read when the table has them)."""


def zendesk_schema() -> pa.Schema:
    """A clock record (:func:`slaengine.clocks.record_schema`) with ``zendesk_breached`` and
    the target of the clock's last ``apply_sla`` event: ``zendesk_target_seconds``,
    ``zendesk_business_hours``, ``zendesk_policy`` (empty without one)."""
    return record_schema().append(pa.field("zendesk_breached", pa.bool_())).append(
        pa.field("zendesk_target_seconds", pa.float64())).append(
        pa.field("zendesk_business_hours", pa.bool_())).append(
        pa.field("zendesk_policy", pa.string()))


def measure_zendesk(
    events: pa.Table, calendar: Calendar = ALWAYS, as_of: datetime | None = None
) -> dict[str, pa.Table]:
    """The records of every built-in clock Zendesk's metric events give, by clock name.

    Every name of :data:`CLOCK_NAMES` is present (an empty table when no event gives it).
    Raises :class:`~slaengine.errors.DataError` for a table without the needed columns.
    """
    missing = [name for name in _NEEDS if name not in events.column_names]
    if missing:
        raise DataError(f"metric events lack the column(s) {', '.join(missing)}",
                        accepted=_NEEDS)
    clocks = _clocks(events, calendar, as_of)
    out: dict[str, pa.Table] = {}
    for metric, name in METRIC_NAMES.items():
        out[name] = clocks.filter(pc.equal(clocks["metric"], metric)).drop_columns(["metric"])
    replies = out["reply_time"]
    out["next_reply_time"] = replies.filter(pc.greater_equal(replies["instance"], 2))
    return {name: out[name] for name in CLOCK_NAMES}


def _clocks(events: pa.Table, calendar: Calendar, as_of: datetime | None) -> pa.Table:
    """One row per clock with an ``activate``: the record columns plus its ``metric``."""
    ts = timestamp_type()
    metric = pc.cast(events["metric"], pa.string())
    kind = pc.cast(events["type"], pa.string())
    time = pc.cast(events["time"], ts)
    latest = pc.max(pc.cast(time, pa.int64())).as_py()
    keep = pc.and_(pc.is_in(metric, pa.array(list(METRIC_NAMES))),
                   pc.is_in(kind, pa.array(["activate", "pause", "fulfill", "breach",
                                            "apply_sla"])))
    keep = pc.and_(keep, pc.and_(pc.is_valid(events["ticket_id"]), pc.is_valid(time)))
    keep = pc.fill_null(pc.and_(keep, pc.is_valid(events["instance_id"])), False)
    table = pa.table({
        "ticket": pc.cast(events["ticket_id"], pa.string()), "metric": metric,
        "instance": pc.cast(events["instance_id"], pa.int64()), "time": time, "type": kind,
        "deleted": pc.fill_null(events["deleted"], False),
        "row": pa.array(np.arange(events.num_rows, dtype=np.int64)),
        **_sla(events),
    }).filter(keep)
    if table.num_rows == 0:
        return _empty()
    order = pc.sort_indices(table, sort_keys=[
        ("ticket", "ascending"), ("metric", "ascending"), ("instance", "ascending"),
        ("time", "ascending"), ("row", "ascending")])
    table = table.take(order)
    group = _groups(table)
    kind = np.asarray(table["type"].to_numpy(zero_copy_only=False))
    at = table["time"].cast(pa.int64()).to_numpy()
    n_groups = int(group[-1]) + 1

    breach = (kind == "breach") & ~np.asarray(table["deleted"], dtype=bool)
    breached = np.bincount(group, weights=breach, minlength=n_groups) > 0

    applied = np.flatnonzero(kind == "apply_sla")
    last_sla = np.full(n_groups, -1, dtype=np.int64)
    if len(applied):  # the last apply_sla of each clock (sorted by time, then row)
        closing = np.r_[group[applied][1:] != group[applied][:-1], True]
        last_sla[group[applied][closing]] = applied[closing]
    sla = pa.array(last_sla, pa.int64(), mask=last_sla < 0)
    targets = [table[name].take(sla) for name in SLA_COLUMNS]

    moves = (kind != "breach") & (kind != "apply_sla")  # activate, pause, fulfill
    g, at, kind = group[moves], at[moves], kind[moves]
    runs = kind == "activate"
    head = np.flatnonzero(runs)
    first_activate = head[np.r_[True, g[head][1:] != g[head][:-1]]] if len(head) else head
    measured = np.zeros(n_groups, dtype=bool)
    measured[g[first_activate]] = True

    last = np.flatnonzero(np.r_[g[1:] != g[:-1], True])
    fulfilled = kind[last] == "fulfill"
    horizon = _micros(as_of) if as_of is not None else latest
    span_end = np.r_[at[1:], 0]
    span_end[last] = np.maximum(horizon, at[last])  # an activate runs on to the horizon
    counted = runs  # each activate begins a running span, to the clock's next transition
    starts, ends = at[counted], span_end[counted]
    business = calendar.elapsed(pa.array(starts, pa.int64()).cast(ts),
                                pa.array(ends, pa.int64()).cast(ts))
    exact = np.rint(np.asarray(business.to_numpy(zero_copy_only=False)) * _US)
    seconds = np.bincount(g[counted], weights=exact, minlength=n_groups) / _US

    ended = np.zeros(n_groups, dtype=np.int64)
    done = np.zeros(n_groups, dtype=bool)
    ended[g[last]] = at[last]
    done[g[last]] = fulfilled
    started = np.zeros(n_groups, dtype=np.int64)
    started[g[first_activate]] = at[first_activate]

    firsts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
    ticket = table["ticket"].take(pa.array(firsts))
    metric = table["metric"].take(pa.array(firsts))
    instance = table["instance"].take(pa.array(firsts))
    numbered = pc.or_(pc.is_in(metric, pa.array(sorted(_INSTANCE_CLOCKS))),
                      pc.not_equal(instance, 1))
    numbered_id = pc.binary_join_element_wise(ticket, pc.cast(instance, pa.string()), "#")
    ids = pc.if_else(numbered, numbered_id, ticket)
    out = pa.table([
        ids, ticket, instance, pa.array(started, pa.int64()).cast(ts),
        pa.array(ended, pa.int64(), mask=~done).cast(ts), pa.array(seconds, pa.float64()),
        pa.array(~done, pa.bool_()), pa.array(breached, pa.bool_()), *targets, metric,
    ], schema=zendesk_schema().append(pa.field("metric", pa.string())))
    return out.filter(pa.array(measured))


def _sla(events: pa.Table) -> dict[str, pa.Array]:
    """The ``apply_sla`` columns of the events, typed (empty where the table lacks one)."""
    n = events.num_rows
    types = {"sla_target_seconds": pa.float64(), "sla_business_hours": pa.bool_(),
             "sla_policy": pa.string()}
    return {name: (pc.cast(events[name], type_) if name in events.column_names
                   else pa.nulls(n, type_)) for name, type_ in types.items()}


@dataclass(frozen=True)
class ZendeskTarget:
    """A target Zendesk set on a clock's records (their last ``apply_sla``): the policy's
    title, the target in seconds, whether it counts business hours only, and how many records
    had it. All three empty: records no SLA policy applied to."""

    policy: str | None
    target_seconds: float | None
    business_hours: bool | None
    records: int


@dataclass(frozen=True)
class Reconciliation:
    """Zendesk's own breaches of one clock against the contract's: how many records Zendesk
    marked breached, how many the contract's terms breach (seconds under the contract's
    calendar above ``target_seconds``), and the ids only one side breaches (sorted, all of
    them). ``zendesk_targets``: the targets Zendesk's policies set on the records, per policy
    and target; ``other_target``: the records whose Zendesk target is not the contract's
    (sorted, all of them), so that a difference in the target itself shows, not only in the
    clock."""

    zendesk_breached: int
    contract_breached: int
    only_zendesk: tuple[str, ...]
    only_contract: tuple[str, ...]
    target_seconds: float | None = None
    zendesk_targets: tuple[ZendeskTarget, ...] = ()
    other_target: tuple[str, ...] = ()


def reconcile(records: pa.Table, target_seconds: float) -> Reconciliation:
    """Compare the records Zendesk marked breached with those the contract's terms breach.

    ``records`` is one clock's table from :func:`measure_zendesk`. Under the contract a record
    is breached when its seconds (under the contract's calendar) exceed ``target_seconds``:
    exactly the target meets it. A record still running is breached once it has already
    counted more than the target (its time can only grow) and not before: the rule of
    :func:`past_limit`, by which the service level counts it missed too.
    """
    ids = records["id"]
    zendesk = pc.fill_null(records["zendesk_breached"], False)
    contract = past_limit(records, target_seconds)
    only_zendesk = ids.filter(pc.and_(zendesk, pc.invert(contract)))
    only_contract = ids.filter(pc.and_(contract, pc.invert(zendesk)))
    theirs = _column(records, "zendesk_target_seconds", pa.float64())
    other = pc.fill_null(pc.not_equal(theirs, float(target_seconds)), False)
    return Reconciliation(
        zendesk_breached=int(pc.sum(pc.cast(zendesk, pa.int64())).as_py() or 0),
        contract_breached=int(pc.sum(pc.cast(contract, pa.int64())).as_py() or 0),
        only_zendesk=tuple(sorted(only_zendesk.to_pylist())),
        only_contract=tuple(sorted(only_contract.to_pylist())),
        target_seconds=float(target_seconds),
        zendesk_targets=_targets(records),
        other_target=tuple(sorted(ids.filter(other).to_pylist())),
    )


def _column(records: pa.Table, name: str, type_: pa.DataType) -> pa.Array:
    if name in records.column_names:
        return records[name]
    return pa.nulls(records.num_rows, type_)


def _targets(records: pa.Table) -> tuple[ZendeskTarget, ...]:
    """The records counted per (policy, target, business hours), policies by title; records
    without a policy last."""
    if records.num_rows == 0:
        return ()
    keys = pa.table({
        "policy": _column(records, "zendesk_policy", pa.string()),
        "target": _column(records, "zendesk_target_seconds", pa.float64()),
        "hours": _column(records, "zendesk_business_hours", pa.bool_()),
        "one": pa.array(np.ones(records.num_rows, dtype=np.int64)),
    })
    counted = keys.group_by(["policy", "target", "hours"]).aggregate([("one", "sum")])
    counted = counted.sort_by([("policy", "ascending"), ("target", "ascending"),
                               ("hours", "ascending")])
    return tuple(ZendeskTarget(row["policy"], row["target"], row["hours"], row["one_sum"])
                 for row in counted.to_pylist())


def past_limit(records: pa.Table, limit: float) -> pa.Array:
    """Per clock record: whether its seconds exceed ``limit`` (exactly the limit meets it).

    This is the one rule by which a clock record misses a per-record limit, measured or still
    running: a running record's seconds (counted up to the end of the data or ``as_of``) can
    only grow, so one already past the limit is a miss whatever happens next, and one not yet
    past it is undecided."""
    return pc.fill_null(pc.greater(records["seconds"], float(limit)), False)


def _micros(instant: datetime) -> int:
    """An aware instant as microseconds since the epoch (UTC)."""
    if instant.tzinfo is None:
        raise ValueError("as_of must be timezone-aware")
    delta = instant - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * _US + delta.microseconds


def _groups(table: pa.Table) -> np.ndarray:
    """0, 1, 2... per run of equal (ticket, metric, instance) in a sorted table."""
    n = table.num_rows
    new = np.zeros(n, dtype=bool)
    new[0] = True
    for name in ("ticket", "metric", "instance"):
        column = table[name].combine_chunks()
        differs = pc.not_equal(column.slice(1), column.slice(0, n - 1))
        new[1:] |= np.asarray(differs, dtype=bool)
    return np.cumsum(new) - 1


def _empty() -> pa.Table:
    return zendesk_schema().append(pa.field("metric", pa.string())).empty_table()
