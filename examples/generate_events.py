#!/usr/bin/env python
"""Generate realistic, seeded help-desk ticket histories (records of kind ``events``).

Each ticket lives through one or more *rounds*: the requester writes (the ticket's creation, a
follow-up, an answer to the agent's question, or a reopen after a solve), an agent may leave an
internal note, change the priority or pass the ticket to another group, then answers publicly
and sets the status in the same second: ``pending`` (asking the requester), ``hold`` (waiting
on a third party, back to ``open`` later), ``open`` (the requester follows up) or ``solved``.
Some solved tickets are reopened by the requester; most are closed by the system days later;
some wait on the requester forever, and tickets created near the end are still open when the
data ends. Creation follows office hours (fewer tickets at night and at weekends); answers take
minutes to days (log-normal).

Columns carry the canonical names and values (``ticket_id``, ``at``, ``event``, ``status``,
``author``, ``public``, ``priority``, ``group``, ``agent``); times are UTC (``...Z`` in CSV,
``timestamp[us, tz=UTC]`` in Parquet). Events are written in time order across tickets, as an
export arrives (a ticket's events are spread over the file); events of the same second keep
their order within a ticket.

Everything is vectorised with numpy, in chunks of tickets: events not yet due wait in a buffer
until no later chunk can come before them, so memory follows the tickets open at a time, not
the size of the output. Five million tickets (about 37 million events) take a few minutes.
The same arguments always produce a byte-identical file.

    python examples/generate_events.py --tickets 400 --seed 7 --out examples/data/events.csv \
        --tickets-out examples/data/events-tickets.csv

``--tickets-out`` also writes one row per ticket (its organization and channel) for a tickets
source the events ``link`` to.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

DEFAULT_OUT = Path(__file__).resolve().parent / "data" / "events.csv"
CHUNK_TICKETS = 250_000
COLUMNS = ["ticket_id", "at", "event", "status", "author", "public", "priority", "group",
           "agent"]

EVENTS = ["created", "status", "comment", "priority", "group", "assignee"]
STATUSES = ["new", "open", "pending", "hold", "solved", "closed"]
AUTHORS = ["requester", "agent", "system"]
PRIORITIES = ["low", "normal", "high", "urgent"]
GROUPS = ["billing", "network", "devices", "accounts"]
AGENTS = [f"agent{i:02d}" for i in range(1, 41)]

CREATED, STATUS, COMMENT, PRIORITY, GROUP, ASSIGNEE = range(6)
NEW, OPEN, PENDING, HOLD, SOLVED, CLOSED = range(6)
REQUESTER, AGENT, SYSTEM = range(3)

HOUR = 3600
DAY = 86400
MAX_ROUNDS = 12
SLOTS = 10  # event places within a round: keep a round's events of one second in order

# Hour-of-day weights of new tickets (UTC, for a customer base around UTC-5) and day-of-week
# weights (Monday first).
_HOURS = np.array([3, 2, 1, 1, 1, 1, 1, 1, 2, 3, 4, 5, 8, 10, 11, 11, 10, 10, 10, 9, 8, 7, 5, 4],
                  dtype=float)
_WEEKDAYS = np.array([1.15, 1.1, 1.05, 1.0, 0.95, 0.4, 0.35])


def _epoch(d: date) -> int:
    return int(datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp())


def _add_months(d: date, months: int) -> date:
    y, m = divmod(d.month - 1 + months, 12)
    return date(d.year + y, m + 1, 1)


def creation_times(rng: np.random.Generator, tickets: int, start: int, end: int) -> np.ndarray:
    """``tickets`` creation times (epoch seconds, sorted) over ``[start, end)``, weighted by
    the hour of the day and the day of the week."""
    hours = np.arange(start, end, HOUR, dtype=np.int64)
    weekday = ((hours // DAY) + 3) % 7  # 1970-01-01 was a Thursday
    weight = _HOURS[(hours % DAY) // HOUR] * _WEEKDAYS[weekday]
    counts = rng.multinomial(tickets, weight / weight.sum())
    created = np.repeat(hours, counts) + rng.integers(0, HOUR, tickets)
    return np.sort(created)


def _delay(rng: np.random.Generator, n: int, median: float, sigma: float, low: int = 1,
           high: int = 30 * DAY) -> np.ndarray:
    """Log-normal waits in whole seconds, clipped to ``[low, high]``."""
    return np.clip(rng.lognormal(np.log(median), sigma, n), low, high).astype(np.int64)


class _Events:
    """Event columns as numpy arrays, appended slot by slot (-1: no value)."""

    NAMES = ("at", "ticket", "seq", "event", "status", "author", "public", "priority", "group",
             "agent")

    def __init__(self) -> None:
        self.parts: dict[str, list[np.ndarray]] = {n: [] for n in self.NAMES}

    def add(self, mask: np.ndarray, at: np.ndarray, ticket: np.ndarray, seq: np.ndarray,
            event: int, **values: np.ndarray | int) -> None:
        n = int(mask.sum())
        self.parts["at"].append(at[mask])
        self.parts["ticket"].append(ticket[mask])
        self.parts["seq"].append(seq[mask])
        self.parts["event"].append(np.full(n, event, dtype=np.int8))
        for name in ("status", "author", "public", "priority", "group", "agent"):
            value = values.get(name, -1)
            if isinstance(value, np.ndarray):
                self.parts[name].append(value[mask].astype(np.int16))
            else:
                self.parts[name].append(np.full(n, value, dtype=np.int16))

    def arrays(self) -> dict[str, np.ndarray]:
        return {n: np.concatenate(p) for n, p in self.parts.items()}


def simulate(rng: np.random.Generator, first_id: int, created: np.ndarray,
             agent_weight: np.ndarray) -> dict[str, np.ndarray]:
    """The events of the tickets created at ``created`` (ids from ``first_id``), unsorted."""
    n = len(created)
    ids = np.arange(first_id, first_id + n, dtype=np.int64)
    rounds = np.minimum(rng.geometric(0.7, n), MAX_ROUNDS)
    m = int(rounds.sum())
    ticket = np.repeat(np.arange(n), rounds)
    first = np.repeat(np.cumsum(rounds) - rounds, rounds)
    number = np.arange(m) - first  # round number within the ticket
    last = number == rounds[ticket] - 1

    # How a round ends: before the last, the ticket goes on; the last is solved, or waits on
    # the requester for good. A solve before the last round is followed by a reopen.
    going_on = rng.choice([PENDING, HOLD, OPEN, SOLVED], size=m, p=[0.6, 0.12, 0.1, 0.18])
    final = np.where(rng.random(m) < 0.93, SOLVED, PENDING)
    outcome = np.where(last, final, going_on)
    before = np.full(m, -1)
    before[1:] = outcome[:-1]
    before[number == 0] = -1

    priority = rng.choice(4, size=n, p=[0.2, 0.55, 0.2, 0.05])
    group = rng.choice(4, size=n, p=[0.35, 0.3, 0.2, 0.15])
    agent = rng.choice(len(AGENTS), size=n, p=agent_weight)
    urgency = np.array([1.6, 1.0, 0.6, 0.3])[priority][ticket]  # urgent tickets move faster

    note = rng.random(m) < 0.2
    change_priority = rng.random(m) < 0.05
    new_priority = np.minimum(priority[ticket] + 1, 3)
    regroup = (number > 0) & (rng.random(m) < 0.06)
    new_group = (group[ticket] + 1 + rng.integers(0, 3, m)) % 4
    new_agent = rng.choice(len(AGENTS), size=m, p=agent_weight)
    assign_after = _delay(rng, m, 10 * 60 * urgency, 1.0, high=DAY)
    reply_after = assign_after + _delay(rng, m, 2 * HOUR * urgency, 1.3, low=60)
    note_after = (assign_after + (reply_after - assign_after) // 2).astype(np.int64)
    # The wait before the next round, by how this one ended.
    wait = np.select(
        [outcome == PENDING, outcome == HOLD, outcome == OPEN, outcome == SOLVED],
        [_delay(rng, m, 20 * HOUR, 1.2, low=120), _delay(rng, m, 2 * DAY, 0.8, low=HOUR),
         _delay(rng, m, 3 * HOUR, 1.0, low=60), _delay(rng, m, 10 * HOUR, 1.0, low=600)])
    length = reply_after + wait
    start = created[ticket] + _within_ticket(length, rounds)
    reply = start + reply_after

    tid = ids[ticket]
    seq = number.astype(np.int64) * SLOTS
    everyone = np.ones(m, dtype=bool)
    out = _Events()
    opening = number == 0
    out.add(opening, start, tid, seq, CREATED, status=NEW, priority=priority[ticket],
            group=group[ticket])
    asks = opening | np.isin(before, [PENDING, OPEN, SOLVED])
    out.add(asks, start, tid, seq + 1, COMMENT, author=REQUESTER, public=1)
    out.add(np.isin(before, [PENDING, HOLD, SOLVED]), start, tid, seq + 2, STATUS,
            status=OPEN)
    out.add(opening, start + assign_after, tid, seq + 3, ASSIGNEE, agent=agent[ticket])
    out.add(regroup, start + assign_after, tid, seq + 4, GROUP, group=new_group)
    out.add(regroup, start + assign_after, tid, seq + 5, ASSIGNEE, agent=new_agent)
    out.add(change_priority, start + note_after, tid, seq + 6, PRIORITY, priority=new_priority)
    out.add(note, start + note_after, tid, seq + 7, COMMENT, author=AGENT, public=0)
    out.add(everyone, reply, tid, seq + 8, COMMENT, author=AGENT, public=1)
    sets_status = (outcome != OPEN) | opening
    status = np.where(outcome == OPEN, OPEN, outcome)
    out.add(sets_status, reply, tid, seq + 9, STATUS, status=status)
    # Most finally solved tickets are closed by the system four days later.
    closes = last & (outcome == SOLVED) & (rng.random(m) < 0.6)
    out.add(closes, reply + 4 * DAY, tid, seq + SLOTS * MAX_ROUNDS, STATUS, status=CLOSED)
    return out.arrays()


def _within_ticket(length: np.ndarray, rounds: np.ndarray) -> np.ndarray:
    """For each round, the summed length of the rounds before it in its ticket."""
    total = np.cumsum(length) - length  # before this round, over all tickets
    first = np.cumsum(rounds) - rounds
    return total - np.repeat(total[first], rounds)


def _order(events: dict[str, np.ndarray]) -> np.ndarray:
    """Time order across tickets; a ticket's events of one second in their round order."""
    return np.lexsort((events["seq"], events["ticket"], events["at"]))


def _take(events: dict[str, np.ndarray], index: np.ndarray) -> dict[str, np.ndarray]:
    return {k: v[index] for k, v in events.items()}


def _category(codes: np.ndarray, names: list[str]) -> pa.DictionaryArray:
    indices = pa.array(codes.astype(np.int32), mask=codes < 0)
    return pa.DictionaryArray.from_arrays(indices, pa.array(names))


def to_table(events: dict[str, np.ndarray], fmt: str) -> pa.Table:
    """The events as the file's columns: categories as dictionaries (text in CSV)."""
    at = pa.array(events["at"] * 1_000_000, pa.timestamp("us", tz="UTC"))
    public = events["public"]
    columns = {
        "ticket_id": pa.array(events["ticket"]),
        "at": at,
        "event": _category(events["event"], EVENTS),
        "status": _category(events["status"], STATUSES),
        "author": _category(events["author"], AUTHORS),
        "public": pa.array(public == 1, mask=public < 0),
        "priority": _category(events["priority"], PRIORITIES),
        "group": _category(events["group"], GROUPS),
        "agent": _category(events["agent"], AGENTS),
    }
    if fmt == "csv":
        columns["at"] = pc.strftime(at.cast(pa.timestamp("s", tz="UTC")),
                                    format="%Y-%m-%dT%H:%M:%SZ")
        for name in ("event", "status", "author", "priority", "group", "agent"):
            columns[name] = columns[name].cast(pa.string())
    return pa.table(columns)


def generate(out: Path, tickets: int = 400, seed: int = 7, start: date = date(2026, 1, 1),
             months: int = 3, fmt: str = "csv", chunk_tickets: int = CHUNK_TICKETS) -> int:
    """Write the histories of ``tickets`` tickets created over ``months`` months from
    ``start`` to ``out``, in time order; events after the end are not written (those tickets
    are still open). Return the number of events written."""
    begin, end = _epoch(start), _epoch(_add_months(start, months))
    created = creation_times(np.random.default_rng([seed, 1]), tickets, begin, end)
    agent_weight = np.random.default_rng([seed, 2]).dirichlet(np.full(len(AGENTS), 15.0))
    out.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    waiting: dict[str, np.ndarray] | None = None
    writer: pacsv.CSVWriter | pq.ParquetWriter | None = None
    with open(out, "wb") as fh:
        try:
            for chunk, lo in enumerate(range(0, max(tickets, 1), chunk_tickets)):
                hi = min(lo + chunk_tickets, tickets)
                rng = np.random.default_rng([seed, 3, chunk])
                fresh = simulate(rng, lo + 1, created[lo:hi], agent_weight)
                events = fresh if waiting is None else {
                    k: np.concatenate([waiting[k], fresh[k]]) for k in fresh}
                # Later chunks' tickets are created no earlier than this: what comes before
                # it is due now, in order; the rest waits.
                due_before = created[hi] if hi < tickets else end
                due = events["at"] < due_before
                waiting = _take(events, np.flatnonzero(~due)) if hi < tickets else None
                now = _take(events, np.flatnonzero(due))
                table = to_table(_take(now, _order(now)), fmt)
                if writer is None:
                    writer = _writer(fh, table.schema, fmt)
                if table.num_rows or fmt == "csv":
                    writer.write_table(table)
                written += table.num_rows
            if writer is None:
                writer = _writer(fh, to_table(_empty(), fmt).schema, fmt)
        finally:
            if writer is not None:
                writer.close()
    return written


ORGANIZATIONS = ["acme", "globex", "initech", "umbrella", "hooli"]
CHANNELS = ["email", "web", "phone"]


def write_tickets(out: Path, tickets: int = 400, seed: int = 7, start: date = date(2026, 1, 1),
                  months: int = 3) -> int:
    """Write one row per ticket of the same histories (``ticket_id``, ``created_at``,
    ``organization``, ``channel``) as CSV: a tickets source the events can ``link`` to. Its
    random stream is its own, so the events are the same with or without it."""
    begin, end = _epoch(start), _epoch(_add_months(start, months))
    created = creation_times(np.random.default_rng([seed, 1]), tickets, begin, end)
    rng = np.random.default_rng([seed, 4])
    organization = rng.choice(len(ORGANIZATIONS), size=tickets, p=[0.35, 0.25, 0.2, 0.15, 0.05])
    channel = rng.choice(len(CHANNELS), size=tickets, p=[0.6, 0.3, 0.1])
    table = pa.table({
        "ticket_id": pa.array(np.arange(1, tickets + 1, dtype=np.int64)),
        "created_at": pc.strftime(pa.array(created.astype("datetime64[s]"), pa.timestamp("s",
                                                                                     tz="UTC")),
                                  format="%Y-%m-%dT%H:%M:%SZ"),
        "organization": pa.array(ORGANIZATIONS).take(pa.array(organization)),
        "channel": pa.array(CHANNELS).take(pa.array(channel)),
    })
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "wb") as fh:
        fh.write((",".join(table.column_names) + "\n").encode())
        pacsv.write_csv(table, fh, write_options=pacsv.WriteOptions(include_header=False,
                                                                    quoting_style="none"))
    return tickets


def _empty() -> dict[str, np.ndarray]:
    return {name: np.zeros(0, dtype=np.int64) for name in _Events.NAMES}


def _writer(fh, schema: pa.Schema, fmt: str) -> pacsv.CSVWriter | pq.ParquetWriter:
    if fmt == "csv":
        fh.write((",".join(schema.names) + "\n").encode())
        return pacsv.CSVWriter(fh, schema, write_options=pacsv.WriteOptions(
            include_header=False, quoting_style="none"))
    return pq.ParquetWriter(fh, schema, compression="zstd")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="Generate seeded help-desk ticket histories (events) for slaengine.",
    )
    p.add_argument("--tickets", type=int, default=400, help="tickets to simulate (400)")
    p.add_argument("--seed", type=int, default=7, help="random seed (7)")
    p.add_argument("--start", type=date.fromisoformat, default=date(2026, 1, 1),
                   help="first day tickets are created (2026-01-01)")
    p.add_argument("--months", type=int, default=3, help="months tickets are created in (3)")
    p.add_argument("--format", choices=["csv", "parquet"], default=None,
                   help="output format (from the file name's suffix, else csv)")
    p.add_argument("--out", type=Path, default=None, help=f"output file ({DEFAULT_OUT})")
    p.add_argument("--tickets-out", type=Path, default=None,
                   help="also write one row per ticket (organization, channel) to this CSV")
    args = p.parse_args(argv)
    if args.tickets < 0 or args.months < 1:
        p.error("--tickets must be 0 or more and --months 1 or more")
    if args.format is None:
        suffix = args.out.suffix.lower() if args.out else ""
        args.format = "parquet" if suffix in (".parquet", ".pq") else "csv"
    if args.out is None:
        args.out = DEFAULT_OUT.with_suffix(".parquet" if args.format == "parquet" else ".csv")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    t0 = time.perf_counter()
    written = generate(args.out, args.tickets, args.seed, args.start, args.months, args.format)
    if args.tickets_out is not None:
        write_tickets(args.tickets_out, args.tickets, args.seed, args.start, args.months)
    print(f"generate_events.py: wrote {written} events of {args.tickets} tickets (seed "
          f"{args.seed}, {args.months} months from {args.start}, {args.format}) to {args.out} "
          f"in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
