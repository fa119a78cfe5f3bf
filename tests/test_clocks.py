"""Event clocks: hand-worked histories for every built-in clock, bad tables, and a property test.

The property test compares every clock with a reference simulator written below in plain
Python: it walks each ticket one minute at a time, applies the events of that minute in the
documented order, and adds the minute to every clock that runs after them.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from slaengine.calendars import ALWAYS, BusinessCalendar, Calendar, build_calendars
from slaengine.clocks import CLOCKS, STATUSES, measure
from slaengine.errors import DataError

# A longer campaign: SLAENGINE_FUZZ_EXAMPLES=2000 python -m pytest tests/test_clocks.py
EXAMPLES = int(os.environ.get("SLAENGINE_FUZZ_EXAMPLES", "40"))

TS = pa.timestamp("us", tz="UTC")
NY = "America/New_York"
SCHEMA = pa.schema([("ticket_id", pa.string()), ("at", TS), ("event", pa.string()),
                    ("status", pa.string()), ("author", pa.string()), ("public", pa.bool_())])
H = 3600.0


def calendar(hours: dict[str, str]) -> BusinessCalendar:
    cal = build_calendars({"c": {"timezone": NY, "hours": hours}})["c"]
    assert isinstance(cal, BusinessCalendar)
    return cal


def table(rows: list[tuple]) -> pa.Table:
    """Rows ``(ticket, at, event, status, author, public)``; ``at`` a datetime."""
    columns = list(zip(*rows, strict=True)) if rows else [[]] * 6
    return pa.table([pa.array(list(c), f.type) for c, f in zip(columns, SCHEMA, strict=True)],
                    schema=SCHEMA)


def created(ticket: str, at: datetime, author: str | None = None) -> tuple:
    return (ticket, at, "created", None, author, None)


def status(ticket: str, at: datetime, value: str) -> tuple:
    return (ticket, at, "status", value, None, None)


def comment(ticket: str, at: datetime, author: str, public: bool = True) -> tuple:
    return (ticket, at, "comment", None, author, public)


def results(rows: list[tuple], cal: Calendar = ALWAYS,
            as_of: datetime | None = None) -> dict[str, list[tuple]]:
    """Per clock, ``(id, seconds / 3600, running)`` of every record."""
    found = measure(table(rows), calendar=cal, as_of=as_of)
    return {name: [(r["id"], r["seconds"] / H, r["running"])
                   for r in tables.records.to_pylist()] for name, tables in found.items()}


def utc(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


def ny(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=ZoneInfo(NY)).astimezone(UTC)


# --------------------------------------------------------------------------- hand-worked cases


def test_reopen() -> None:
    # Monday 2026-03-02, UTC, 24x7.
    rows = [created("T", utc(2, 9)), comment("T", utc(2, 9), "requester"),
            comment("T", utc(2, 10), "agent"), status("T", utc(2, 11), "solved"),
            comment("T", utc(2, 12), "requester"),  # on the solved ticket: a new reply instance
            status("T", utc(2, 12, 30), "open"),  # the reopen
            comment("T", utc(2, 14), "agent"), status("T", utc(2, 15), "solved")]
    got = results(rows)
    # reply: #1 created 09:00 -> answer 10:00 = 1 h (the 09:00 description is the same message);
    #        #2 requester 12:00 -> answer 14:00 = 2 h.
    assert got["reply_time"] == [("T#1", 1, False), ("T#2", 2, False)]
    assert got["next_reply_time"] == [("T#2", 2, False)]
    # wait / work: 09:00-11:00 new (2 h) + solved 11:00-12:30 paused + open 12:30-15:00 (2.5 h)
    # = 4.5 h, ended at the second solve.
    assert got["requester_wait_time"] == [("T", 4.5, False)]
    assert got["agent_work_time"] == [("T", 4.5, False)]
    # updates: 09-10 (1 h), 10-11 ends at the solve (1 h), the reopen 12:30 -> 14:00 (1.5 h),
    # 14:00 -> solve 15:00 (1 h).
    expected = [("T#1", 1, False), ("T#2", 1, False), ("T#3", 1.5, False), ("T#4", 1, False)]
    assert got["periodic_update_time"] == expected
    assert got["pausable_update_time"] == expected
    # resolution: creation 09:00 -> last solve 15:00 = 6 h, the solved stretch included.
    assert got["total_resolution_time"] == [("T", 6, False)]
    found = measure(table(rows), ["requester_wait_time"])["requester_wait_time"]
    assert found.records["ended_at"].to_pylist() == [utc(2, 15)]


def test_pending_then_hold_then_open() -> None:
    rows = [created("T", utc(2, 9)), comment("T", utc(2, 9, 30), "agent"),
            status("T", utc(2, 10), "pending"), status("T", utc(2, 11), "hold"),
            status("T", utc(2, 12), "open"), comment("T", utc(2, 12, 30), "requester"),
            comment("T", utc(2, 13), "agent"), status("T", utc(2, 14), "solved")]
    got = results(rows)
    # reply: 09:00 -> 09:30 = 0.5 h; 12:30 -> 13:00 = 0.5 h (never paused).
    assert got["reply_time"] == [("T#1", 0.5, False), ("T#2", 0.5, False)]
    assert got["next_reply_time"] == [("T#2", 0.5, False)]
    # wait: new 9-10 (1 h) + pending 10-11 paused + hold 11-12 (1 h) + open 12-14 (2 h) = 4 h.
    assert got["requester_wait_time"] == [("T", 4, False)]
    # work: hold pauses it too: 1 h + 2 h = 3 h.
    assert got["agent_work_time"] == [("T", 3, False)]
    # updates: 9:00-9:30 (0.5), 9:30-13:00 (3.5), 13:00-14:00 (1).
    assert got["periodic_update_time"] == [("T#1", 0.5, False), ("T#2", 3.5, False),
                                           ("T#3", 1, False)]
    # pausable: the second interval less pending 10-11 = 2.5 h; hold does not pause it.
    assert got["pausable_update_time"] == [("T#1", 0.5, False), ("T#2", 2.5, False),
                                           ("T#3", 1, False)]
    assert got["total_resolution_time"] == [("T", 5, False)]  # 09:00 -> 14:00


def test_two_requester_comments_before_one_answer() -> None:
    # An outbound ticket (created by an agent, who writes first); never solved, data end 13:00.
    rows = [created("T", utc(2, 8), "agent"), comment("T", utc(2, 8), "agent"),
            comment("T", utc(2, 9), "requester"), comment("T", utc(2, 10), "requester"),
            comment("T", utc(2, 11), "agent"), comment("T", utc(2, 12), "requester"),
            comment("T", utc(2, 12, 10), "requester", public=False),  # not a message
            comment("T", utc(2, 12, 20), "system"),  # never a reply
            comment("T", utc(2, 12, 30), "agent", public=False),  # not an answer
            comment("T", utc(2, 13), "agent")]
    got = results(rows)
    # reply: #1 starts at the first requester message 09:00 (outbound), the 10:00 one waits with
    # it, answered 11:00 = 2 h; #2 12:00 -> 13:00 = 1 h.
    assert got["reply_time"] == [("T#1", 2, False), ("T#2", 1, False)]
    assert got["next_reply_time"] == [("T#2", 1, False)]
    # ticket clocks: never solved, so running, counted 08:00 -> 13:00 = 5 h.
    for name in ("requester_wait_time", "agent_work_time", "total_resolution_time"):
        assert got[name] == [("T", 5, True)], name
    # updates: creation 08:00 -> agent 08:00 (0), 08:00 -> 11:00 (3 h), 11:00 -> 13:00 (2 h);
    # 13:00 -> running, 0 counted by the data's end.
    expected = [("T#1", 0, False), ("T#2", 3, False), ("T#3", 2, False), ("T#4", 0, True)]
    assert got["periodic_update_time"] == expected
    assert got["pausable_update_time"] == expected


def test_comments_at_the_same_second_as_status_changes() -> None:
    # Each comment is written in the file BEFORE its status change; the status change comes
    # first all the same (status changes before comments at one instant).
    rows = [created("T", utc(2, 9)),
            comment("T", utc(2, 10), "agent"), status("T", utc(2, 10), "pending"),
            comment("T", utc(2, 11), "requester"), status("T", utc(2, 11), "open"),
            comment("T", utc(2, 12), "agent"), status("T", utc(2, 12), "solved"),
            comment("T", utc(2, 13), "requester"), status("T", utc(2, 13), "closed")]
    got = results(rows, as_of=utc(2, 14))
    # reply: #1 9 -> 10 (1 h); #2 11 -> 12: the solve ends it (1 h); #3 the requester's 13:00
    # message after the close (closed first), on a solved ticket: running to as_of 14:00 (1 h).
    assert got["reply_time"] == [("T#1", 1, False), ("T#2", 1, False), ("T#3", 1, True)]
    # wait: 9-10 new (1 h), pending from 10:00 (before the answer), open 11-12 (1 h) = 2 h;
    # the close at 13:00 is not a new solve, so it ended at 12:00.
    assert got["requester_wait_time"] == [("T", 2, False)]
    assert got["agent_work_time"] == [("T", 2, False)]
    # updates: 9-10 (1 h); 10 -> solve 12 (2 h); the 12:00 answer, after the solve, opens none.
    assert got["periodic_update_time"] == [("T#1", 1, False), ("T#2", 2, False)]
    assert got["pausable_update_time"] == [("T#1", 1, False), ("T#2", 1, False)]  # less 10-11
    assert got["total_resolution_time"] == [("T", 3, False)]  # 9 -> 12, not the 13:00 close
    found = measure(table(rows), ["total_resolution_time"])["total_resolution_time"]
    assert found.records["ended_at"].to_pylist() == [utc(2, 12)]


def test_business_hours_across_a_weekend() -> None:
    cal = calendar({"mon-fri": "09:00-17:00"})  # New York; Fri 2026-02-27 .. Mon 2026-03-02
    rows = [created("T", ny(2, 27, 16)), comment("T", ny(2, 27, 16, 30), "agent"),
            status("T", ny(2, 27, 16, 30), "pending"),
            comment("T", ny(2, 28, 10), "requester"), status("T", ny(2, 28, 10), "open"),
            comment("T", ny(3, 2, 10), "agent"), status("T", ny(3, 2, 11), "solved")]
    got = results(rows, cal)
    # reply: Fri 16:00 -> 16:30 = 0.5 h; Sat 10:00 -> Mon 10:00 = Mon 09-10 only = 1 h.
    assert got["reply_time"] == [("T#1", 0.5, False), ("T#2", 1, False)]
    # wait/work: Fri 16:00-16:30 (0.5 h); pending to Sat 10:00; open to Mon 11:00 = Mon 9-11
    # (2 h) = 2.5 h.
    assert got["requester_wait_time"] == [("T", 2.5, False)]
    assert got["agent_work_time"] == [("T", 2.5, False)]
    # updates: Fri 16:00-16:30 (0.5 h); Fri 16:30 -> Mon 10:00 = Fri 16:30-17 + Mon 9-10 = 1.5 h;
    # Mon 10-11 = 1 h. Pausable: the Friday half hour was pending -> 1 h.
    assert got["periodic_update_time"] == [("T#1", 0.5, False), ("T#2", 1.5, False),
                                           ("T#3", 1, False)]
    assert got["pausable_update_time"] == [("T#1", 0.5, False), ("T#2", 1, False),
                                           ("T#3", 1, False)]
    # resolution: Fri 16-17 (1 h) + Mon 9-11 (2 h) = 3 h.
    assert got["total_resolution_time"] == [("T", 3, False)]


def test_a_dst_night() -> None:
    # Night shift 22:00-06:00 New York every day; clocks spring forward Sun 2026-03-08 02:00 ->
    # 03:00, so Saturday's shift (Sat 22:00 EST = 03:00 UTC -> Sun 06:00 EDT = 10:00 UTC) lasts
    # 7 real hours.
    cal = calendar({"mon-sun": "22:00-06:00"})
    rows = [created("T", ny(3, 7, 21)),
            status("T", ny(3, 8, 1, 30), "pending"),  # 06:30 UTC
            status("T", ny(3, 8, 3, 30), "open"),  # 07:30 UTC: one real hour later
            comment("T", ny(3, 8, 7), "agent"), status("T", ny(3, 8, 8), "solved")]
    got = results(rows, cal)
    # reply: Sat 21:00 -> Sun 07:00 counts the whole shift = 7 h.
    assert got["reply_time"] == [("T#1", 7, False)]
    assert got["next_reply_time"] == []
    # wait/work: 7 h of shift less the pending hour 06:30-07:30 UTC = 6 h (wall clock: 22:00 to
    # 01:30 is 3.5 h, 03:30 to 06:00 is 2.5 h).
    assert got["requester_wait_time"] == [("T", 6, False)]
    assert got["agent_work_time"] == [("T", 6, False)]
    # updates: #1 to the 07:00 answer: 7 h (6 h pausable); #2 07:00 -> 08:00 outside the shift.
    assert got["periodic_update_time"] == [("T#1", 7, False), ("T#2", 0, False)]
    assert got["pausable_update_time"] == [("T#1", 6, False), ("T#2", 0, False)]
    assert got["total_resolution_time"] == [("T", 7, False)]
    # 24x7, the same history counts real time: 02:00 UTC -> 11:00 UTC = 9 h to the answer.
    assert results(rows)["reply_time"] == [("T#1", 9, False)]


def test_the_intervals_show_each_span_and_the_event_that_began_it() -> None:
    rows = [created("T", utc(2, 9)), status("T", utc(2, 10), "pending"),
            status("T", utc(2, 11), "hold"), status("T", utc(2, 12), "open"),
            status("T", utc(2, 13), "solved")]
    spans = measure(table(rows), ["agent_work_time"])["agent_work_time"].intervals.to_pylist()
    assert [(s["start"].hour, s["end"].hour, s["state"], s["event"], s["row"], s["seconds"])
            for s in spans] == [
        (9, 10, "running", "created", 0, 1 * H),
        (10, 12, "paused", "status:pending", 1, 0.0),  # pending then hold: one paused span
        (12, 13, "running", "status:open", 3, 1 * H),
    ]


def test_events_in_any_order_give_the_same_records() -> None:
    rows = [created("A", utc(2, 9)), comment("B", utc(2, 9), "requester"),
            comment("A", utc(2, 10), "agent"), status("B", utc(2, 10), "pending"),
            status("A", utc(2, 11), "solved"), comment("B", utc(2, 12), "agent"),
            status("A", utc(2, 12), "open"), status("B", utc(2, 13), "solved")]
    first = measure(table(rows))
    shuffled = rows[:]
    random.Random(7).shuffle(shuffled)
    again = measure(table(shuffled))
    for name in CLOCKS:
        key = ["id", "started_at", "ended_at", "seconds", "running"]
        assert (sorted(map(tuple, first[name].records.select(key).to_pylist()))
                == sorted(map(tuple, again[name].records.select(key).to_pylist()))), name


def test_an_event_before_the_created_event_is_taken_at_the_creation() -> None:
    rows = [comment("T", utc(2, 8), "requester"), created("T", utc(2, 9)),
            comment("T", utc(2, 10), "agent"), status("T", utc(2, 11), "solved")]
    got = results(rows)
    assert got["reply_time"] == [("T#1", 1, False)]  # from the creation 09:00, not 08:00
    assert got["total_resolution_time"] == [("T", 2, False)]


def test_without_a_created_event_the_first_event_creates_the_ticket() -> None:
    rows = [status("T", utc(2, 11), "solved"), comment("T", utc(2, 9, 30), "requester")]
    got = results(rows)
    assert got["reply_time"] == [("T#1", 1.5, False)]  # 09:30 -> solve 11:00
    assert got["requester_wait_time"] == [("T", 1.5, False)]


def test_chunked_input_reads_as_one_table() -> None:
    rows = [created("T", utc(2, 9)), comment("T", utc(2, 10), "agent"),
            status("T", utc(2, 11), "solved")]
    whole = table(rows)
    chunked = pa.concat_tables([whole.slice(0, 1), whole.slice(1)])
    assert chunked["at"].num_chunks == 2
    for name, found in measure(chunked).items():
        assert found.records.equals(measure(whole)[name].records), name


def test_an_empty_table_has_no_records() -> None:
    for name, found in measure(table([])).items():
        assert found.records.num_rows == 0 and found.intervals.num_rows == 0, name


@pytest.mark.parametrize(("row", "column", "words"), [
    (("T", utc(2, 9), "reassigned", None, None, None), "event", "known kinds"),
    (("T", utc(2, 9), None, None, None, None), "event", "known kinds"),
    (("T", utc(2, 9), "status", None, None, None), "status", "status after it"),
    (("T", utc(2, 9), "status", "Resolved", None, None), "status", "status after it"),
    (("T", utc(2, 9), "comment", None, None, True), "author", "names its author"),
    (("T", utc(2, 9), "comment", None, "customer", True), "author", "names its author"),
    (("T", utc(2, 9), "comment", None, "agent", None), "public", "whether it is public"),
    ((None, utc(2, 9), "created", None, None, None), "ticket_id", "needs its ticket_id"),
    (("T", None, "created", None, None, None), "at", "needs its at"),
])
def test_a_row_the_clocks_cannot_read_is_named(row: tuple, column: str, words: str) -> None:
    rows = [created("T", utc(2, 8)), created("U", utc(2, 8)), row]
    with pytest.raises(DataError) as caught:
        measure(table(rows))
    text = str(caught.value)
    assert f"events row 3, {column}" in text and words in text


def test_a_missing_column_is_named() -> None:
    with pytest.raises(DataError, match="'event' column"):
        measure(table([created("T", utc(2, 9))]).drop_columns(["event"]))


def test_times_that_are_not_instants_are_refused() -> None:
    events = table([created("T", utc(2, 9))])
    events = events.set_column(1, "at", pa.array(["2026-03-02T09:00"]))
    with pytest.raises(DataError, match="'at' holds instants"):
        measure(events)


def test_as_of_before_the_data_and_unknown_clocks_are_refused() -> None:
    rows = [created("T", utc(2, 9)), comment("T", utc(2, 10), "agent")]
    with pytest.raises(ValueError, match="precedes the latest event"):
        measure(table(rows), as_of=utc(2, 9, 30))
    with pytest.raises(ValueError, match="unknown clock 'reply'"):
        measure(table(rows), ["reply"])


def test_loading_the_package_imports_neither_numpy_nor_pyarrow() -> None:
    code = ("import sys, slaengine.clocks; "
            "print(sorted(m for m in ('numpy', 'pyarrow') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


# --------------------------------------------------------------------------- reference


START = datetime(2026, 3, 6, tzinfo=UTC)  # Friday; the DST change is Sunday 2026-03-08
WINDOW = 4 * 1440  # minutes
BUSINESS = calendar({"mon-fri": "09:00-17:00"})


def _business_minute(minute: int) -> bool:
    wall = (START + timedelta(minutes=minute)).astimezone(ZoneInfo(NY))
    return wall.weekday() < 5 and 9 * 60 <= wall.hour * 60 + wall.minute < 17 * 60


COUNTS = {"24x7": [True] * (WINDOW + 1),
          "business": [_business_minute(m) for m in range(WINDOW + 1)]}
STOP, PAUSE, START_RANK, OTHER = 1, 2, 3, 4


def _rank(event: str, value: str | None) -> int:
    if event != "status":
        return OTHER
    return {"solved": STOP, "closed": STOP, "pending": PAUSE, "hold": PAUSE}.get(value, START_RANK)


def reference(rows: list[tuple], counts: list[bool]) -> dict[str, list[tuple]]:
    """Every clock's records ``(id, started minute, ended minute or None, minutes, running)``,
    one minute at a time. ``rows`` are ``(ticket, minute, event, status, author, public)``."""
    as_of = max(r[1] for r in rows)
    out: dict[str, list[tuple]] = {name: [] for name in CLOCKS}
    tickets = list(dict.fromkeys(r[0] for r in rows))
    for ticket in tickets:
        mine = [(i, r) for i, r in enumerate(rows) if r[0] == ticket]
        made = [(r[1], i, r) for i, r in mine if r[2] == "created"]
        if made:
            creation, _, first = min(made)
            outbound = first[4] in ("agent", "system")
        else:
            creation, outbound = min(r[1] for _, r in mine), False
        events = sorted(((max(r[1], creation), _rank(r[2], r[3]), i, r) for i, r in mine))
        state, solved_at = "new", None
        reply: list[list] = []  # [start, end, minutes]
        updates: list[list] = []  # [start, end, minutes, pausable minutes]
        ticket_minutes = {"requester_wait_time": 0, "agent_work_time": 0,
                          "total_resolution_time": 0}
        at_solve: dict[str, int] = {}
        waiting = not outbound
        if waiting:
            reply.append([creation, None, 0])
        updates.append([creation, None, 0, 0])
        k = 0
        for minute in range(creation, as_of + 1):
            while k < len(events) and events[k][0] == minute:
                _, _, _, (_, _, event, value, author, public) = events[k]
                k += 1
                stopped = state in ("solved", "closed")
                if event == "status":
                    state = value
                    if not stopped and value in ("solved", "closed"):  # a solve
                        solved_at = minute
                        at_solve = dict(ticket_minutes)
                        if waiting:
                            reply[-1][1], waiting = minute, False
                        updates[-1][1] = minute
                    elif stopped and value not in ("solved", "closed"):  # a reopen
                        updates.append([minute, None, 0, 0])
                elif event == "comment" and public and author == "requester" and not waiting:
                    reply.append([minute, None, 0])
                    waiting = True
                elif event == "comment" and public and author == "agent":
                    if waiting:
                        reply[-1][1], waiting = minute, False
                    if not stopped:
                        updates[-1][1] = minute
                        updates.append([minute, None, 0, 0])
            if minute == as_of or not counts[minute]:
                continue
            if waiting:
                reply[-1][2] += 1
            if state not in ("solved", "closed"):
                updates[-1][2] += 1
                updates[-1][3] += state != "pending"
            ticket_minutes["requester_wait_time"] += state in ("new", "open", "hold")
            ticket_minutes["agent_work_time"] += state in ("new", "open")
            ticket_minutes["total_resolution_time"] += 1
        for n, (start, end, minutes) in enumerate(reply, 1):
            record = (f"{ticket}#{n}", start, end, minutes, end is None)
            out["reply_time"].append(record)
            if n >= 2:
                out["next_reply_time"].append(record)
        for n, (start, end, minutes, pausable) in enumerate(updates, 1):
            out["periodic_update_time"].append((f"{ticket}#{n}", start, end, minutes, end is None))
            out["pausable_update_time"].append((f"{ticket}#{n}", start, end, pausable,
                                                end is None))
        done = state in ("solved", "closed")
        for name, minutes in ticket_minutes.items():
            if done:
                out[name].append((ticket, creation, solved_at, at_solve[name], False))
            else:
                out[name].append((ticket, creation, None, minutes, True))
    return out


def _minute(value: datetime | None) -> int | None:
    return None if value is None else (value - START) // timedelta(minutes=1)


EVENT = st.one_of(
    st.tuples(st.just("created"), st.none(), st.sampled_from([None, "requester", "agent"]),
              st.none()),
    st.tuples(st.just("status"), st.sampled_from(STATUSES), st.none(), st.none()),
    st.tuples(st.just("comment"), st.none(), st.sampled_from(["requester", "agent", "system"]),
              st.booleans()),
    st.tuples(st.sampled_from(["priority", "group", "assignee"]), st.none(), st.none(),
              st.none()),
)
# Whole minutes over four days; the first choice lands events on common instants.
MINUTE = st.one_of(st.integers(0, 16).map(lambda k: k * 360), st.integers(0, WINDOW))
HISTORY = st.lists(st.tuples(st.sampled_from(["T1", "T2", "T3"]), MINUTE, EVENT),
                   min_size=1, max_size=14)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(history=HISTORY, which=st.sampled_from(["24x7", "business"]))
def test_every_clock_matches_a_minute_by_minute_simulation(history: list, which: str) -> None:
    rows = [(ticket, minute, *event) for ticket, minute, event in history]
    cal = ALWAYS if which == "24x7" else BUSINESS
    found = measure(table([(t, START + timedelta(minutes=m), *rest) for t, m, *rest in rows]),
                    calendar=cal)
    expected = reference(rows, COUNTS[which])
    for name in CLOCKS:
        records = found[name].records.to_pylist()
        got = [(r["id"], _minute(r["started_at"]), _minute(r["ended_at"]), r["seconds"] / 60,
                r["running"]) for r in records]
        assert got == expected[name], name
        _check_spans(records, found[name].intervals.to_pylist())


def _check_spans(records: list[dict], spans: list[dict]) -> None:
    """Each record's spans run without gap from its start to its end, alternate between
    running and paused, and add up to its seconds."""
    by_id: dict[str, list[dict]] = {}
    for span in spans:
        by_id.setdefault(span["id"], []).append(span)
    assert list(by_id) == [r["id"] for r in records]
    for record in records:
        mine = by_id[record["id"]]
        assert mine[0]["start"] == record["started_at"]
        assert mine[-1]["end"] == record["ended_at"]
        for a, b in pairwise(mine):
            assert a["end"] == b["start"] and a["state"] != b["state"]
        assert sum(s["seconds"] for s in mine) == record["seconds"]
        assert all(s["seconds"] == 0 for s in mine if s["state"] == "paused")
