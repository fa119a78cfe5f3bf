"""Zendesk's metric events as clocks under the contract's calendar: hand-worked cases."""

from __future__ import annotations

from datetime import UTC, datetime

import pyarrow as pa
import pytest

from slaengine.calendars import build_calendars
from slaengine.clocks.zendesk import CLOCK_NAMES, measure_zendesk, zendesk_schema
from slaengine.errors import DataError

TS = pa.timestamp("us", tz="UTC")
SCHEMA = pa.schema([("ticket_id", pa.string()), ("time", TS), ("metric", pa.string()),
                    ("instance_id", pa.int64()), ("type", pa.string()),
                    ("deleted", pa.bool_())])
H = 3600.0


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


def table(rows: list[tuple]) -> pa.Table:
    """Rows ``(ticket, time, metric, instance, type[, deleted])``."""
    rows = [(*r, False) if len(r) == 5 else r for r in rows]
    columns = list(zip(*rows, strict=True))
    return pa.table([pa.array(list(c), f.type) for c, f in zip(columns, SCHEMA, strict=True)],
                    schema=SCHEMA)


def by_id(found: pa.Table) -> dict[str, dict]:
    return {r["id"]: r for r in found.to_pylist()}


# Ticket 7, Monday 2 March 2026 (UTC, 24x7):
TICKET_7 = [
    ("7", at(2, 9), "reply_time", 1, "activate"),
    ("7", at(2, 9, 20), "reply_time", 1, "breach", True),  # withdrawn by Zendesk
    ("7", at(2, 9, 30), "reply_time", 1, "fulfill"),
    ("7", at(2, 10), "reply_time", 2, "activate"),
    ("7", at(2, 10, 45), "reply_time", 2, "breach"),
    ("7", at(2, 11), "reply_time", 2, "fulfill"),
    ("7", at(2, 9), "requester_wait_time", 1, "activate"),
    ("7", at(2, 9), "requester_wait_time", 1, "apply_sla"),
    ("7", at(2, 9, 30), "requester_wait_time", 1, "pause"),
    ("7", at(2, 10), "requester_wait_time", 1, "activate"),
    ("7", at(2, 11), "requester_wait_time", 1, "fulfill"),
    ("7", at(2, 12), "requester_wait_time", 1, "activate"),  # reopened
    ("7", at(2, 12, 15), "requester_wait_time", 1, "fulfill"),
    ("7", at(2, 9), "agent_work_time", 1, "activate"),
    ("7", at(2, 9, 10), "agent_work_time", 1, "pause"),
    ("7", at(2, 9), "resolution_time", 1, "activate"),
    ("7", at(2, 9), "group_ownership_time", 1, "activate"),
    ("7", at(2, 9), "periodic_update_time", 1, "activate"),
    ("7", at(2, 9, 30), "periodic_update_time", 1, "update_status"),
]


def test_hand_worked_ticket_24x7() -> None:
    found = measure_zendesk(table(TICKET_7))
    assert set(found) == set(CLOCK_NAMES)
    for records in found.values():
        assert records.schema == zendesk_schema()

    replies = by_id(found["reply_time"])
    # 09:00 -> 09:30 = 1800 s; its only breach is deleted.
    assert replies["7#1"]["seconds"] == 1800.0
    assert replies["7#1"]["zendesk_breached"] is False
    assert replies["7#1"]["ended_at"] == at(2, 9, 30)
    # 10:00 -> 11:00 = 3600 s, breached at 10:45.
    assert (replies["7#2"]["seconds"], replies["7#2"]["zendesk_breached"]) == (3600.0, True)
    assert list(by_id(found["next_reply_time"])) == ["7#2"]

    # 09:00-09:30 (30 min) + 10:00-11:00 (60) + reopened 12:00-12:15 (15) = 105 min = 6300 s.
    wait = by_id(found["requester_wait_time"])["7"]
    assert (wait["seconds"], wait["started_at"], wait["ended_at"]) == (6300.0, at(2, 9),
                                                                       at(2, 12, 15))
    assert wait["running"] is False and wait["instance"] == 1

    # Ends paused: unmeasured, 600 s counted before the pause.
    work = by_id(found["agent_work_time"])["7"]
    assert (work["running"], work["ended_at"], work["seconds"]) == (True, None, 600.0)

    # Never fulfilled: runs to the latest event, 12:15; 09:00 -> 12:15 = 11700 s.
    total = by_id(found["total_resolution_time"])["7"]
    assert (total["running"], total["seconds"]) == (True, 11700.0)

    # update_status changes nothing: still running from 09:00 to 12:15.
    update = by_id(found["periodic_update_time"])["7#1"]
    assert (update["running"], update["seconds"]) == (True, 11700.0)
    assert found["pausable_update_time"].num_rows == 0


def test_as_of_sets_the_horizon_of_running_clocks() -> None:
    found = measure_zendesk(table(TICKET_7), as_of=at(2, 13))
    # 09:00 -> 13:00 = 4 h.
    assert by_id(found["total_resolution_time"])["7"]["seconds"] == 4 * H
    # A paused clock counts nothing after its pause.
    assert by_id(found["agent_work_time"])["7"]["seconds"] == 600.0


def test_file_order_decides_simultaneous_events() -> None:
    # Created as pending: activate then pause at the same second; resumes at 10:00 and is
    # fulfilled at 10:30: 1800 s.
    rows = [("8", at(2, 9), "agent_work_time", 1, "activate"),
            ("8", at(2, 9), "agent_work_time", 1, "pause"),
            ("8", at(2, 10, 30), "agent_work_time", 1, "fulfill"),
            ("8", at(2, 10), "agent_work_time", 1, "activate")]  # out of time order in the file
    record = by_id(measure_zendesk(table(rows))["agent_work_time"])["8"]
    assert (record["seconds"], record["running"]) == (1800.0, False)


def test_the_contracts_calendar_counts_business_time() -> None:
    cal = build_calendars({"c": {"timezone": "UTC", "hours": {"mon-fri": "09:00-17:00"}}})["c"]
    # Fri 6 March 16:00 -> Mon 9 March 10:00: Friday 16-17 (1 h) + Monday 9-10 (1 h) = 7200 s.
    rows = [("9", at(6, 16), "reply_time", 1, "activate"),
            ("9", at(9, 10), "reply_time", 1, "fulfill")]
    assert by_id(measure_zendesk(table(rows), cal)["reply_time"])["9#1"]["seconds"] == 2 * H


def test_clocks_without_activate_and_other_instances() -> None:
    rows = [("5", at(2, 9), "reply_time", 1, "breach"),  # no activate: no record
            ("5", at(2, 9), "requester_wait_time", 2, "activate"),
            ("5", at(2, 10), "requester_wait_time", 2, "fulfill")]
    found = measure_zendesk(table(rows))
    assert found["reply_time"].num_rows == 0
    # A ticket clock's second instance keeps a unique id.
    assert by_id(found["requester_wait_time"])["5#2"]["seconds"] == H


def test_empty_and_wrong_tables() -> None:
    empty = measure_zendesk(SCHEMA.empty_table())
    assert all(t.num_rows == 0 and t.schema == zendesk_schema() for t in empty.values())
    with pytest.raises(DataError, match="deleted"):
        measure_zendesk(SCHEMA.empty_table().drop_columns(["deleted"]))


def test_the_sources_records_measure(tmp_path) -> None:
    from test_zendesk_metric_events import read, write_pages
    records = read(write_pages(tmp_path)).records  # categories arrive dictionary-encoded
    replies = by_id(measure_zendesk(records)["reply_time"])
    # Ticket 7, reply instance 1: 09:00 -> 09:30 = 1800 s; the breach is deleted.
    assert (replies["7#1"]["seconds"], replies["7#1"]["zendesk_breached"]) == (1800.0, False)


def test_reconciliation_names_the_ids_that_differ() -> None:
    from slaengine.clocks.zendesk import reconcile
    rows = [
        # 1#1: 30 min, Zendesk breached (its own, shorter target): only Zendesk.
        ("1", at(2, 9), "reply_time", 1, "activate"),
        ("1", at(2, 9, 20), "reply_time", 1, "breach"),
        ("1", at(2, 9, 30), "reply_time", 1, "fulfill"),
        # 2#1: 2 h, not breached by Zendesk (paused on its schedule): only the contract.
        ("2", at(2, 9), "reply_time", 1, "activate"),
        ("2", at(2, 11), "reply_time", 1, "fulfill"),
        # 3#1: 2 h and breached by both.
        ("3", at(2, 9), "reply_time", 1, "activate"),
        ("3", at(2, 10), "reply_time", 1, "breach"),
        ("3", at(2, 11), "reply_time", 1, "fulfill"),
        # 4#1: exactly 1 h meets a 1 h target; its breach was deleted: neither.
        ("4", at(2, 9), "reply_time", 1, "activate"),
        ("4", at(2, 9, 50), "reply_time", 1, "breach", True),
        ("4", at(2, 10), "reply_time", 1, "fulfill"),
        # 5#1: still running, 09:00 -> as_of 12:00 = 3 h already past 1 h: the contract.
        ("5", at(2, 9), "reply_time", 1, "activate"),
        # 6#1: still running, 11:30 -> 12:00 = 30 min: not yet.
        ("6", at(2, 11, 30), "reply_time", 1, "activate"),
    ]
    records = measure_zendesk(table(rows), as_of=at(2, 12))["reply_time"]
    found = reconcile(records, 1 * H)
    assert (found.zendesk_breached, found.contract_breached) == (2, 3)  # {1,3} and {2,3,5}
    assert found.only_zendesk == ("1#1",)
    assert found.only_contract == ("2#1", "5#1")
    empty = reconcile(measure_zendesk(SCHEMA.empty_table())["reply_time"], H)
    assert (empty.zendesk_breached, empty.contract_breached, empty.only_zendesk) == (0, 0, ())
