"""A contract's own clocks (``[clocks.NAME]``): hand-worked histories for each rule (start,
stop, pause as a state and as events, reset, cancel, retroactive start, the four ``cycles``),
a property test against the built-in clocks a custom definition can express exactly, the
contract's checks of every part of a definition, and a level measuring one end to end."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_clock_levels import HEAD, contract, created, figures, level, prioritised, run, said
from test_clock_levels import status as set_status
from test_clocks import (
    BUSINESS,
    EXAMPLES,
    HISTORY,
    START,
    comment,
    status,
    table,
    utc,
)
from test_clocks import created as made

from slaengine.calendars import ALWAYS, Calendar
from slaengine.cli import main
from slaengine.clocks import measure
from slaengine.clocks.custom import ClockDefinition, measure_custom

H = 3600.0


def event(ticket: str, at: datetime, kind: str) -> tuple:
    return (ticket, at, kind, None, None, None)


def clock(rows: list[tuple], definition: dict, cal: Calendar = ALWAYS,
          as_of: datetime | None = None) -> tuple[list[tuple], list[tuple]]:
    """``(id, hours, running)`` of every record, and ``(flag, ticket, start)`` of every
    discarded cycle."""
    found, discarded = measure_custom(table(rows), ClockDefinition.of(definition), cal, as_of)
    records = [(r["id"], r["seconds"] / H, r["running"]) for r in found.records.to_pylist()]
    return records, [(d["flag"], d["ticket_id"], d["at"]) for d in discarded.to_pylist()]


# --------------------------------------------------------------------------- hand-worked cases

# Jira Service Management's "Time to first response": from the creation to the first public
# comment of an agent.
FIRST_RESPONSE = {"start": {"event": "created"},
                  "stop": {"event": "comment", "author": "agent", "public": True}}


def test_time_to_first_response_in_the_manner_of_jira() -> None:
    rows = [made("J1", utc(2, 9)), comment("J1", utc(2, 9), "requester"),
            comment("J1", utc(2, 9, 30), "agent", public=False),  # a private note: no stop
            comment("J1", utc(2, 9, 45), "system"),  # public, but not an agent's
            comment("J1", utc(2, 10, 30), "agent"),  # the first response
            comment("J1", utc(2, 11), "requester"), comment("J1", utc(2, 12), "agent"),
            made("J2", utc(2, 11)), comment("J2", utc(2, 11), "requester")]
    records, discarded = clock(rows, FIRST_RESPONSE, as_of=utc(2, 13))
    # J1: 09:00 -> 10:30 = 1.5 h; the 11:00 message starts nothing (start is the creation
    # only). J2: never answered, running from 11:00 to as_of 13:00 = 2 h.
    assert records == [("J1#1", 1.5, False), ("J2#1", 2, True)]
    assert discarded == []


def test_retroactive_start_and_a_reset_on_a_priority_change_in_the_manner_of_servicenow() -> None:
    # A P1 resolution SLA attached when the priority is set, counted from the creation; a
    # later priority change cancels it and attaches a new one from that moment.
    definition = {"start": {"event": "priority"}, "reset": {"event": "priority"},
                  "stop": {"status": ["solved", "closed"]}, "retroactive_start": "created_at"}
    rows = [made("S1", utc(2, 9)), event("S1", utc(2, 10), "priority"),
            event("S1", utc(2, 12), "priority"), status("S1", utc(2, 15), "solved"),
            made("S2", utc(2, 9)), event("S2", utc(2, 11), "priority"),
            status("S2", utc(2, 14), "solved")]
    records, discarded = clock(rows, definition)
    # S1: cycle 1 starts at the 10:00 priority event, measured from the creation 09:00; the
    # 12:00 change resets it (discarded, flagged at its start 09:00) and cycle 2 runs
    # 12:00 -> 15:00 = 3 h (not retroactive: only the first cycle is). S2: 09:00 -> 14:00 = 5 h.
    assert records == [("S1#2", 3, False), ("S2#1", 5, False)]
    assert discarded == [("cycle_reset", "S1", utc(2, 9))]
    without = {k: v for k, v in definition.items() if k != "retroactive_start"}
    # Without the retroactive start S2 counts from its 11:00 priority event: 3 h.
    assert clock(rows, without)[0] == [("S1#2", 3, False), ("S2#1", 3, False)]


def test_pause_as_a_state_and_pause_resume_as_events() -> None:
    rows = [made("P", utc(2, 9)), status("P", utc(2, 10), "pending"),
            comment("P", utc(2, 10), "agent"), status("P", utc(2, 11), "hold"),
            comment("P", utc(2, 12), "requester"), status("P", utc(2, 13), "open"),
            status("P", utc(2, 14), "solved")]
    state = {"start": {"event": "created"}, "stop": {"status": "solved"},
             "pause": {"status": ["pending", "hold"]}}
    # Paused while pending or hold, 10:00 -> 13:00: 09-10 (1 h) + 13-14 (1 h) = 2 h.
    assert clock(rows, state)[0] == [("P#1", 2, False)]
    pending = {**state, "pause": {"status": "pending"}}
    # Only pending pauses: 09-10, hold 11-13, open 13-14 = 4 h.
    assert clock(rows, pending)[0] == [("P#1", 4, False)]
    toggles = {**state, "pause": {"event": "comment", "author": "agent", "public": True},
               "resume": {"event": "comment", "author": "requester", "public": True}}
    # Paused from the agent's 10:00 comment to the requester's 12:00 one, whatever the status:
    # 09-10 + 12-14 = 3 h.
    assert clock(rows, toggles)[0] == [("P#1", 3, False)]
    # A pause given with a resume is an event: entering pending (10:00) pauses, entering open
    # (13:00) resumes; hold (11:00) is no entry into pending: 09-10 + 13-14 = 2 h.
    entered = {**state, "pause": {"status": "pending"}, "resume": {"status": "open"}}
    assert clock(rows, entered)[0] == [("P#1", 2, False)]


# R: the requester writes at 09:00 and 09:30 (one cycle, from the oldest), answered 10:00;
# writes 11:00, answered 13:00; writes 14:00, unanswered when the data ends at 14:30.
REPLIES = [made("R", utc(2, 9), "agent"), comment("R", utc(2, 9), "requester"),
           comment("R", utc(2, 9, 30), "requester"), comment("R", utc(2, 10), "agent"),
           comment("R", utc(2, 11), "requester"), comment("R", utc(2, 13), "agent"),
           comment("R", utc(2, 14), "requester"), event("R", utc(2, 14, 30), "group")]
EVERY_MESSAGE = {"start": {"event": "comment", "author": "requester", "public": True},
                 "stop": {"event": "comment", "author": "agent", "public": True}}


@pytest.mark.parametrize(("cycles", "expected", "started", "ended"), [
    # 09:00 -> 10:00 = 1 h; 11:00 -> 13:00 = 2 h; 14:00 -> 14:30 running = 0.5 h.
    ("each", [("R#1", 1, False), ("R#2", 2, False), ("R#3", 0.5, True)],
     [utc(2, 9), utc(2, 11), utc(2, 14)], [utc(2, 10), utc(2, 13), None]),
    ("first", [("R", 1, False)], [utc(2, 9)], [utc(2, 10)]),
    ("last", [("R", 0.5, True)], [utc(2, 14)], [None]),
    # 1 + 2 + 0.5 = 3.5 h, from the first start; running, as its last cycle runs.
    ("total", [("R", 3.5, True)], [utc(2, 9)], [None]),
])
def test_cycles_each_first_last_total(cycles: str, expected: list, started: list,
                                      ended: list) -> None:
    definition = {**EVERY_MESSAGE, "cycles": cycles}
    assert clock(REPLIES, definition)[0] == expected
    found, _ = measure_custom(table(REPLIES), ClockDefinition.of(definition), ALWAYS)
    assert found.records["started_at"].to_pylist() == started
    assert found.records["ended_at"].to_pylist() == ended
    spans = found.intervals.to_pylist()
    for record in found.records.to_pylist():  # a record's spans add up to its seconds
        assert sum(s["seconds"] for s in spans if s["id"] == record["id"]) == record["seconds"]


def test_total_leaves_the_time_between_cycles_out() -> None:
    definition = {**EVERY_MESSAGE, "cycles": "total"}
    rows = REPLIES[:6]  # the data ends with the 13:00 answer
    found, _ = measure_custom(table(rows), ClockDefinition.of(definition), ALWAYS)
    # 1 h + 2 h (10:00-11:00 lies between the cycles) = 3 h, ended at the last stop.
    assert clock(rows, definition)[0] == [("R", 3, False)]
    assert found.records["ended_at"].to_pylist() == [utc(2, 13)]
    assert [(s["start"], s["end"]) for s in found.intervals.to_pylist()] == [
        (utc(2, 9), utc(2, 10)), (utc(2, 11), utc(2, 13))]


def test_cancel_discards_the_cycle_and_a_later_start_begins_another() -> None:
    definition = {"start": [{"event": "created"}, {"event": "assignee"}],
                  "stop": {"status": "solved"}, "cancel": {"event": "group"}}
    rows = [made("C", utc(2, 9)), event("C", utc(2, 10), "group"),  # cancels cycle 1
            event("C", utc(2, 11), "assignee"),  # starts cycle 2
            status("C", utc(2, 13), "solved"),
            made("D", utc(2, 9)), event("D", utc(2, 10), "group")]  # cancelled, no other
    records, discarded = clock(rows, definition)
    # C#2 11:00 -> 13:00 = 2 h; C#1 and D#1 cancelled, each counted at its start.
    assert records == [("C#2", 2, False)]
    assert discarded == [("cycle_cancelled", "C", utc(2, 9)), ("cycle_cancelled", "D", utc(2, 9))]
    for cycles in ("first", "last", "total"):  # the same cycles are lost, and counted
        got, lost = clock(rows, {**definition, "cycles": cycles})
        assert got == [("C", 2, False)] and lost == discarded


def test_one_event_ends_before_it_starts_and_cancel_beats_stop_beats_reset() -> None:
    rows = [made("E", utc(2, 9)), status("E", utc(2, 10), "open"),
            status("E", utc(2, 12), "pending"), status("E", utc(2, 15), "solved")]
    every_status = {"start": {"event": "status"}, "stop": {"event": "status"}}
    # Each status change stops the cycle and starts the next: 10-12 (2 h), 12-15 (3 h); the
    # last one, started by the solve, runs to the end of the data (15:00): 0 h.
    assert clock(rows, every_status)[0] == [("E#1", 2, False), ("E#2", 3, False),
                                            ("E#3", 0, True)]
    both = {"start": {"event": "created"}, "stop": {"status": "solved"},
            "cancel": {"status": "solved"}}
    records, discarded = clock(rows, both)  # the solve cancels: no record
    assert records == [] and discarded == [("cycle_cancelled", "E", utc(2, 9))]
    reset = {"start": {"event": "created"}, "stop": {"status": "solved"},
             "reset": {"status": ["pending", "solved"]}}
    # Pending resets (09:00-12:00 discarded, a new cycle from 12:00); the solve is a stop and
    # a reset: it stops, 12:00 -> 15:00 = 3 h, and starts nothing.
    assert clock(rows, reset) == ([("E#2", 3, False)], [("cycle_reset", "E", utc(2, 9))])


def test_a_status_condition_is_an_entry_into_the_status() -> None:
    rows = [made("N", utc(2, 9)), status("N", utc(2, 10), "solved"),
            status("N", utc(2, 11), "closed"),  # solved -> closed: no entry into the pair
            status("N", utc(2, 12), "open"), status("N", utc(2, 14), "closed")]
    definition = {"start": {"status": ["new", "open"]}, "stop": {"status": ["solved", "closed"]}}
    # The creation enters new: 09-10 (1 h); the close at 11:00 is no new stop; the reopen at
    # 12:00 enters open: 12-14 (2 h).
    assert clock(rows, definition)[0] == [("N#1", 1, False), ("N#2", 2, False)]


def test_the_creations_author_is_the_requester_unless_an_agent_created_it() -> None:
    rows = [made("A", utc(2, 9), "agent"), comment("A", utc(2, 10), "agent"),
            made("B", utc(2, 9)), comment("B", utc(2, 11), "agent"),
            comment("C", utc(2, 9), "requester"), comment("C", utc(2, 12), "agent")]
    definition = {"start": {"event": "created", "author": "requester"},
                  "stop": {"event": "comment", "author": "agent"}}
    # A: created by an agent, no cycle. B: a created event without author (09-11, 2 h). C: no
    # created event, created at its first event 09:00 (09-12, 3 h).
    assert clock(rows, definition)[0] == [("B#1", 2, False), ("C#1", 3, False)]


def test_business_hours_count_only_while_the_custom_clock_runs() -> None:
    # Friday 2026-03-06 16:00 New York -> Monday 2026-03-09 10:00, office 09-17 Mon-Fri.
    def ny(day: int, hour: int) -> datetime:
        from zoneinfo import ZoneInfo
        return datetime(2026, 3, day, hour, tzinfo=ZoneInfo("America/New_York")).astimezone(UTC)
    rows = [made("W", ny(6, 16)), comment("W", ny(9, 10), "agent")]
    # Friday 16-17 (1 h) + Monday 09-10 (1 h) = 2 h.
    assert clock(rows, FIRST_RESPONSE, BUSINESS)[0] == [("W#1", 2, False)]


@pytest.mark.parametrize("cycles", ["each", "first", "last", "total"])
def test_no_events_no_records(cycles: str) -> None:
    definition = {**EVERY_MESSAGE, "pause": {"event": "status"}, "cycles": cycles}
    found, discarded = measure_custom(table([]), ClockDefinition.of(definition), ALWAYS)
    assert (found.records.num_rows, found.intervals.num_rows, discarded.num_rows) == (0, 0, 0)


# --------------------------------------------------------------------------- the built-ins

UNSOLVED = ["new", "open", "pending", "hold"]
SOLVED = ["solved", "closed"]
EXPRESSIBLE = {
    # Started at the creation and at every reopen, stopped at every solve: the time solved
    # lies between cycles, as the built-in pauses it; total: one record per ticket.
    "requester_wait_time": {"start": {"status": UNSOLVED}, "stop": {"status": SOLVED},
                            "pause": {"status": "pending"}, "cycles": "total"},
    "agent_work_time": {"start": {"status": UNSOLVED}, "stop": {"status": SOLVED},
                        "pause": {"status": ["pending", "hold"]}, "cycles": "total"},
    "reply_time": {"start": [{"event": "created", "author": "requester"},
                             {"event": "comment", "author": "requester", "public": True}],
                   "stop": [{"event": "comment", "author": "agent", "public": True},
                            {"status": SOLVED}]},
}


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(history=HISTORY, which=st.sampled_from(["24x7", "business"]))
def test_custom_definitions_of_built_in_clocks_give_the_built_ins_records(history: list,
                                                                          which: str) -> None:
    events = table([(t, START + timedelta(minutes=m), *rest) for t, m, rest in history])
    cal = ALWAYS if which == "24x7" else BUSINESS
    builtin = measure(events, list(EXPRESSIBLE), calendar=cal)
    for name, definition in EXPRESSIBLE.items():
        custom, discarded = measure_custom(events, ClockDefinition.of(definition), cal)
        # The same spans counted, so the same whole microseconds: exactly equal.
        assert custom.records.to_pylist() == builtin[name].records.to_pylist(), name
        assert discarded.num_rows == 0


# --------------------------------------------------------------------------- the contract

CLOCK = """
[clocks.p1]
start = { event = "created" }
stop = [{ event = "comment", author = "agent", public = true }, { status = ["solved", "closed"] }]
{extra}
"""


def write(tmp_path: Path, extra: str, metric: str = "p1", clock: str = CLOCK) -> Path:
    path = contract(tmp_path, level(metric, "p90 <= 4h"))
    text = path.read_text(encoding="utf-8").replace("[[service_levels]]",
                                                    clock.replace("{extra}", extra)
                                                    + "\n[[service_levels]]", 1)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(("extra", "place", "words"), [
    ('pause = { status = "pendng" }', "clocks.p1.pause.status",
     ['"pendng" is not a status', 'did you mean "pending"']),
    ('pause = { status = ["pending", "waiting"] }', "clocks.p1.pause.status",
     ['"waiting" is not a status', "accepted: closed, hold, new, open, pending, solved"]),
    ('reset = { event = "priorty" }', "clocks.p1.reset.event",
     ['"priorty" is not an event', 'did you mean "priority"']),
    ('cancel = [{ event = "status" }, { event = "comment", author = "customer" }]',
     "clocks.p1.cancel[1].author", ['"customer" is not an author']),
    ('reset = { evnt = "priority" }', "clocks.p1.reset.evnt",
     ["unknown key", 'did you mean "event"']),
    ('strat = { event = "created" }', "clocks.p1.strat", ["unknown key", 'did you mean "start"']),
    ('cycles = "every"', "clocks.p1.cycles", ['"every" is not accepted', "each, first, last"]),
    ('retroactive_start = "resolved_at"', "clocks.p1.retroactive_start",
     ['"resolved_at" is not accepted', "created_at"]),
    ("pause = {}", "clocks.p1.pause", ["an empty condition would match every event"]),
    ("pause = []", "clocks.p1.pause", ["the list is empty"]),
    ('pause = ["pending"]', "clocks.p1.pause[0]", ['expected a table', '"pending"']),
    ('pause = "pending"', "clocks.p1.pause", ["expected a table or a list"]),
    ('pause = { status = [] }', "clocks.p1.pause.status", ["found an empty list"]),
    ("pause = { status = 3 }", "clocks.p1.pause.status", ["expected a status or a list"]),
    ('pause = { event = "comment", public = "yes" }', "clocks.p1.pause.public",
     ['expected true or false, found "yes"']),
    ('pause = { event = "status", author = "agent" }', "clocks.p1.pause",
     ["no event can match event and author together"]),
    ('reset = { event = "priority", status = "open" }', "clocks.p1.reset",
     ["no event can match event and status together"]),
    ('cancel = { status = "open", public = true }', "clocks.p1.cancel",
     ["no event can match status and public together"]),
    ('resume = { event = "comment" }', "clocks.p1.resume", ["never pauses never resumes"]),
])
def test_a_bad_clock_is_a_contract_error_naming_its_key(tmp_path, extra, place, words):
    path = write(tmp_path, extra)
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert place in result.output, result.output
    for word in words:
        assert word in result.output, result.output
    # Only the clock is named: the level measuring it raises no second problem.
    assert "no metric called" not in result.output


@pytest.mark.parametrize(("clock", "place", "words"), [
    ('[clocks.p1]\nstop = { event = "comment" }\n{extra}', "clocks.p1.start",
     ["required key is missing"]),
    ('[clocks.p1]\nstart = { event = "created" }\n{extra}', "clocks.p1.stop",
     ["required key is missing"]),
    ('[clocks.p1]\nstart = { event = "created" }\nstop = { event = "comment" }\n{extra}\n'
     '[clocks.reply_time]\nstart = { event = "created" }\nstop = { event = "comment" }\n',
     "clocks.reply_time", ['the name of the metric "reply_time"']),
    ('[clocks."p 1"]\nstart = { event = "created" }\nstop = { event = "comment" }\n{extra}',
     "clocks", ['"p 1" is not a name']),
    ('[clocks]\np1 = 3\n{extra}', "clocks.p1", ["expected a table"]),
])
def test_a_clock_missing_a_part_or_misnamed_is_a_contract_error(tmp_path, clock, place, words):
    path = write(tmp_path, "", clock=clock)
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    assert place in result.output, result.output
    for word in words:
        assert word in result.output, result.output


def test_a_level_naming_no_metric_and_no_clock_is_told_of_the_clocks_too(tmp_path):
    result = CliRunner().invoke(main, ["validate", str(write(tmp_path, "", metric="p1x"))])
    assert result.exit_code == 2
    assert 'no metric called "p1x"' in result.output and 'did you mean "p1"' in result.output


def test_a_clock_on_a_source_of_tickets_is_refused(tmp_path):
    path = write(tmp_path, "")
    text = path.read_text(encoding="utf-8").replace('kind = "events"\n', "")
    path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == 2 and "p1 reads events records" in result.output, result.output


def test_validate_shows_the_clocks_and_warns_of_one_no_level_measures(tmp_path):
    extra = ('pause = { status = ["pending", "hold"] }\ncycles = "total"\n\n[clocks.unused]\n'
             'start = { event = "created" }\nstop = { status = "solved" }\n')
    result = CliRunner().invoke(main, ["validate", str(write(tmp_path, extra))])
    assert result.exit_code == 0, result.output
    assert ("clock p1: start created; pause while pending/hold; stop public agent comment or "
            "status to solved/closed; cycles total") in result.output
    assert "clocks.unused is declared but no service level measures it" in result.output


def test_two_contracts_may_define_a_clock_of_the_same_name_differently(tmp_path):
    from slaengine.contract import load_contract
    from slaengine.engine import evaluate
    from slaengine.pluginmanager import build_registry

    registry = build_registry()
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = load_contract(write(tmp_path / "a", ""), registry)
    every = CLOCK.replace('start = { event = "created" }', 'start = [{ event = "created" }, '
                          '{ event = "comment", author = "requester", public = true }]')
    second = load_contract(write(tmp_path / "b", "", clock=every), registry)
    assert "p1" not in registry.metrics  # the shared registry is left as it was
    # From the creation only: one cycle per ticket (A1, A2). From every requester message
    # too: A1 09:00-10:00 and 11:00-14:00, A2 20:00-22:00 and 23:00-01:00.
    assert evaluate(first, registry).levels["x"].accepted == 2
    assert evaluate(second, registry).levels["x"].accepted == 4


# --------------------------------------------------------------------------- end to end

def test_a_level_measures_a_custom_clock_with_where_audit_and_evidence(tmp_path):
    history = [
        # K1, normal: created 09:00, raised to urgent 09:30 (resets: a new cycle from 09:30),
        # answered 12:30 = 3 h. K2, urgent from the start: answered 10:00 = 1 h.
        created("K1", "2026-01-05T09:00:00Z", "normal"),
        prioritised("K1", "2026-01-05T09:30:00Z", "urgent"),
        said("K1", "2026-01-05T12:30:00Z", "agent"),
        created("K2", "2026-01-05T09:00:00Z", "urgent"),
        said("K2", "2026-01-05T10:00:00Z", "agent"),
        set_status("K2", "2026-01-05T10:00:00Z", "solved"),
    ]
    clock_table = ('\n[clocks.urgent-response]\nstart = { event = "created" }\n'
                   'stop = { event = "comment", author = "agent", public = true }\n'
                   'reset = { event = "priority" }\ncycles = "last"\n\n')
    path = tmp_path / "contract.toml"
    contract(tmp_path, "", history)
    path.write_text(HEAD.format(window="") + clock_table
                    + level("urgent-response", "100% within 2h",
                            'where = { priority = "urgent" }\n'), encoding="utf-8")
    found = run(path, evidence=True)
    # Both records started urgent (K1's at the 09:30 change): 1 of 2 within 2 h = 50%;
    # K1 missed.
    assert figures(found) == [("2026-01", {}, 0.5, 2, 0, ("K1",))]
    # K1's discarded cycle started at 09:00 while K1 was normal: like a record, a flag is
    # selected by the ticket's fields at its instant, and `where` leaves this one out.
    assert found.levels["x"].audit == ()
    assert [(s["id"], s["state"], s["seconds"]) for s in found.intervals["x"].to_pylist()] == [
        ("K1", "running", 3 * H)]
    # Without the `where`, the reset cycle is flagged (K2's only cycle met: no flag).
    path.write_text(HEAD.format(window="") + clock_table
                    + level("urgent-response", "100% within 2h"), encoding="utf-8")
    every = run(path, evidence=True)
    assert [(a.flag, a.period, a.count, a.tickets) for a in every.levels["x"].audit] == [
        ("cycle_reset", "2026-01", 1, ("K1",))]
    shown = CliRunner().invoke(main, ["evaluate", str(path)]).output
    assert "audit x: 1 cycles of the clock ended by its reset condition" in shown


def test_the_json_schema_accepts_a_clock_as_metric_only_where_clocks_are_declared(tmp_path):
    import tomllib

    import jsonschema

    from slaengine.jsonschema import contract_schema
    from slaengine.pluginmanager import build_registry

    schema = contract_schema(build_registry())
    document = tomllib.loads(write(tmp_path, "").read_text(encoding="utf-8"))
    jsonschema.validate(document, schema)
    del document["clocks"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(document, schema)  # "p1" is no metric without the clock
