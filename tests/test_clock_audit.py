"""Audit flags of the clock itself on hand-worked histories: paused without an answer, paused
just before the target, solved and reopened by the requester within a day."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from slaengine.clocks import measure
from slaengine.clocks.audit import paused_near_target, ticket_flags
from slaengine.testing import created, events_table, said, status


def t(hour: int, minute: int = 0, day: int = 5) -> datetime:
    return datetime(2026, 1, day, hour, minute, tzinfo=UTC)


def flags(rows, name):
    return [(f["ticket_id"], f["at"]) for f in ticket_flags(events_table(rows)).to_pylist()
            if f["flag"] == name]


def test_pending_while_the_requester_waits_for_an_answer_is_flagged():
    rows = [
        # A: the requester writes, the agent sets pending without a public answer: flagged.
        created("A", t(9)), said("A", t(9), "requester"), said("A", t(9, 30), "agent", False),
        status("A", t(10), "pending"),
        # B: answered in the same second as the pending (one update): not flagged; then the
        # requester writes again and B is set pending a second time unanswered: flagged; a
        # pending -> pending repeat is no new pause.
        created("B", t(9)), said("B", t(9), "requester"), said("B", t(10), "agent"),
        status("B", t(10), "pending"), said("B", t(11), "requester"), status("B", t(11), "open"),
        status("B", t(12), "pending"), status("B", t(12, 5), "pending"),
        # C: opened by the requester without a comment, pending at once: flagged (creation is
        # the requester's message). D: opened by an agent, pending: nobody waits, not flagged.
        created("C", t(9)), status("C", t(9, 1), "pending"),
        created("D", t(9), author="agent"), status("D", t(9, 1), "pending"),
    ]
    assert flags(rows, "paused_unanswered") == [("A", t(10)), ("B", t(12)), ("C", t(9, 1))]


def test_a_reopen_by_the_requester_within_a_day_of_the_solve_is_flagged():
    rows = [
        # E: solved 10:00, the requester writes and it reopens 09:59 next day (23h59): flagged.
        # Solved again 11:00; reopened 11:00 on the 7th (exactly 24h): flagged (within 24h).
        created("E", t(9)), status("E", t(10), "solved"),
        said("E", t(9, 59, 6), "requester"), status("E", t(9, 59, 6), "open"),
        status("E", t(11, 0, 6), "solved"),
        said("E", t(11, 0, 7), "requester"), status("E", t(11, 0, 7), "open"),
        # F: reopened after 24h and one minute: not flagged. G: reopened by an agent (no
        # requester message at that instant) within an hour: not flagged.
        created("F", t(9)), status("F", t(10), "solved"),
        said("F", t(10, 1, 6), "requester"), status("F", t(10, 1, 6), "open"),
        created("G", t(9)), status("G", t(10), "solved"), said("G", t(10, 30), "agent"),
        status("G", t(11), "open"),
    ]
    assert flags(rows, "quick_reopen") == [("E", t(9, 59, 6)), ("E", t(11, 0, 7))]


RUN = [
    # H: requester wait runs 09:00-09:50 (50 min), pending 09:50-11:00, runs 11:00-12:00,
    # solved. I: runs 09:00-09:30, pending, solved 10:00.
    created("H", t(9)), said("H", t(9), "requester"), status("H", t(9, 50), "pending"),
    status("H", t(11), "open"), status("H", t(12), "solved"),
    created("I", t(9)), status("I", t(9, 30), "pending"), status("I", t(10), "solved"),
]


@pytest.mark.parametrize(("target", "grace", "expected"), [
    # H paused at 50 min counted; I at 30 min.
    (3600.0, 900.0, ["H"]),            # [45, 60) min holds 50: H only
    (3000.0, 900.0, []),               # [35, 50) min: 50 is not below the target
    (3000.0 + 1, 1201.0, ["H", "I"]),  # [30:00, 50:01) holds both
    (2400.0, 900.0, ["I"]),            # [25, 40) min: I only
])
def test_a_pause_that_began_within_grace_of_the_target_is_flagged(target, grace, expected):
    found = measure(events_table(RUN), ["requester_wait_time"])["requester_wait_time"]
    flagged = paused_near_target(found.records, found.intervals, target, grace)
    assert flagged["ticket_id"].to_pylist() == expected
    assert flagged["at"].to_pylist() == [t(9)] * len(expected)  # the record's start


def test_no_events_no_flags():
    empty = events_table([created("Z", t(9))]).slice(0, 0)
    assert ticket_flags(empty).num_rows == 0
