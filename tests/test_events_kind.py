"""The ``events`` record kind: a ticket's history read through any source, values outside a
field's closed set rejected with reasons, a source's own names mapped by ``values``, and the
contract checks of that mapping."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from slaengine.cli import main
from slaengine.coerce import coerce
from slaengine.contract import load_contract
from slaengine.engine.read import read_source
from slaengine.errors import ContractError
from slaengine.fields import AUTHORS, EVENT_TYPES, EVENTS, RECORD_KINDS, STATUSES, TICKETS
from slaengine.pluginmanager import build_registry

FIELDS = ["ticket_id", "at", "event", "status", "author", "public", "priority"]

# Line 1 is the header, so the rows below are lines 2..11.
HISTORY = """\
ticket_id,at,event,status,author,public,priority
4711,2026-03-02T09:00:00Z,created,new,,,normal
4711,2026-03-02T09:00:00Z,comment,,requester,true,
4711,2026-03-02T09:40:00Z,comment,,agent,false,
4711,2026-03-02T10:00:00Z,comment,,agent,yes,
4711,2026-03-02T10:00:00Z,status,pending,,,
4712,2026-03-02T11:00:00Z,created,,,,high
4711,2026-03-02T12:00:00Z,status,waiting,,,
4712,2026-03-02T12:30:00Z,deleted,,,,
4712,2026-03-02T13:00:00Z,comment,,bot,true,
4711,2026-03-02T14:00:00Z,status,Solved,,,
"""

# A Jira-like export: its own column names and status names. Lines 2..7.
JIRA = """\
Issue key,Timestamp,Change,To Status,By,Visible
SUP-1,2026-03-02 09:00:00,created,,,
SUP-1,2026-03-02 09:05:00,status,In Progress,,
SUP-1,2026-03-02 09:30:00,status,Waiting for customer,,
SUP-1,2026-03-02 11:00:00,status,Resolved,,
SUP-2,2026-03-02 12:00:00,status,Waiting for support,,
SUP-2,2026-03-02 12:10:00,status,pending,,
"""

JIRA_VALUES = ('{ status = { "Waiting for customer" = "pending", "Resolved" = "solved", '
               '"In Progress" = "open" } }')

JIRA_FIELDS = ('{ ticket_id = "Issue key", at = "Timestamp", event = "Change", '
               'status = "To Status", author = "By", public = "Visible" }')


def contract(tmp_path: Path, events: str, **source: str) -> Path:
    """A contract with a tickets source and a level on it, and an events source ``events``
    with the given extra keys (TOML values as text)."""
    (tmp_path / "tickets.csv").write_text(
        "ticket_id,created_at,first_response_at\n4711,2026-03-02T09:00:00Z,"
        "2026-03-02T10:00:00Z\n")
    (tmp_path / "events.csv").write_text(events)
    extra = "".join(f"{key} = {value}\n" for key, value in source.items())
    text = f"""\
[contract]
id = "events-test"
client = "Client"
vendor = "Vendor"

[sources.tickets]
adapter = "csv"
path = "tickets.csv"

[sources.events]
adapter = "csv"
kind = "events"
path = "events.csv"
{extra}
[[service_levels]]
id = "frt"
source = "tickets"
metric = "first_response_time"
target = "90% within 4h"
"""
    path = tmp_path / "contract.toml"
    path.write_text(text)
    return path


def read_events(path: Path, fields: list[str] = FIELDS, source: str = "events"):
    registry = build_registry()
    loaded = load_contract(path, registry)
    return read_source(loaded, loaded.sources[source], fields, registry)


def plain(table: pa.Table) -> list[dict]:
    """Rows with categories decoded, so tables typed alike compare by value."""
    return table.to_pylist()


def test_the_kind_declares_its_fields_and_closed_sets():
    assert RECORD_KINDS["events"] is EVENTS
    assert EVENTS.required == ("ticket_id", "at")
    assert EVENTS.type_name("public") == "bool"
    assert [EVENTS.type_name(f) for f in ("priority", "group", "agent")] == ["category"] * 3
    assert EVENTS.values == {"event": EVENT_TYPES, "status": STATUSES, "author": AUTHORS}
    assert EVENT_TYPES == ("created", "status", "comment", "priority", "group", "assignee")
    assert STATUSES == ("new", "open", "pending", "hold", "solved", "closed")
    assert AUTHORS == ("requester", "agent", "system")
    assert not EVENTS.unique_ids  # a ticket's events share its id
    assert TICKETS.values == {} and TICKETS.unique_ids


def test_events_through_csv_accepted_rejected_and_counted(tmp_path):
    data = read_events(contract(tmp_path, HISTORY))
    account = data.account
    # 10 rows: 6 accepted (lines 2-6 and 7), 4 rejected (lines 8, 9, 10, 11), none a duplicate
    # although ticket 4711 appears on seven lines.
    assert (account.read, account.accepted, account.rejected, account.duplicates) == (10, 6, 4, 0)
    assert account.reconciles
    rows = plain(data.records)
    assert [r["ticket_id"] for r in rows] == ["4711"] * 5 + ["4712"]
    assert [r["event"] for r in rows] == ["created", "comment", "comment", "comment", "status",
                                          "created"]
    assert [r["public"] for r in rows] == [None, True, False, True, None, None]
    assert rows[0]["at"] == datetime(2026, 3, 2, 9, tzinfo=UTC)
    assert rows[4]["status"] == "pending" and rows[5]["priority"] == "high"

    rejects = {r["row"]: r for r in data.rejected.to_pylist()}
    assert sorted(rejects) == [8, 9, 10, 11]
    statuses = "new, open, pending, hold, solved, closed"
    assert rejects[8]["field"] == "status" and rejects[8]["value"] == "waiting"
    assert rejects[8]["reason"] == f"status: 'waiting' is not one of {statuses}"
    assert rejects[9]["reason"] == ("event: 'deleted' is not one of created, status, comment, "
                                    "priority, group, assignee")
    assert rejects[10]["reason"] == "author: 'bot' is not one of requester, agent, system"
    # Exact and case-sensitive: "Solved" is no canonical name.
    assert rejects[11]["reason"] == f"status: 'Solved' is not one of {statuses}"
    # Counted by reason with the value left out, so equal problems group.
    assert data.account.rejected_by_reason[f"status: … is not one of {statuses}"] == 2


def test_rejected_values_leave_no_trace_in_the_accepted_categories(tmp_path):
    data = read_events(contract(tmp_path, HISTORY))
    for name in ("event", "status", "author"):
        column = data.records[name].combine_chunks()
        assert set(column.dictionary.to_pylist()) <= set(EVENTS.values[name])


def test_a_row_with_several_unknown_values_is_rejected_once_with_every_reason(tmp_path):
    text = "ticket_id,at,event,status,author\n1,2026-03-02T09:00:00Z,moved,gone,bot\n"
    data = read_events(contract(tmp_path, text), ["ticket_id", "at", "event", "status",
                                                  "author"])
    assert (data.account.read, data.account.accepted, data.account.rejected) == (1, 0, 1)
    (reject,) = data.rejected.to_pylist()
    assert reject["field"] == "event" and reject["value"] == "moved"
    assert reject["reason"].split("; ") == [
        "event: 'moved' is not one of created, status, comment, priority, group, assignee",
        "status: 'gone' is not one of new, open, pending, hold, solved, closed",
        "author: 'bot' is not one of requester, agent, system",
    ]


def test_values_turn_a_jira_export_into_canonical_statuses(tmp_path):
    path = contract(tmp_path, JIRA, values=JIRA_VALUES, fields=JIRA_FIELDS)
    data = read_events(path, ["ticket_id", "at", "event", "status"])
    # 6 rows: SUP-1's four and the canonical "pending" of SUP-2 accepted; "Waiting for
    # support" is mapped by nothing and is rejected (never guessed).
    assert (data.account.read, data.account.accepted, data.account.rejected) == (6, 5, 1)
    rows = plain(data.records)
    assert [r["status"] for r in rows] == [None, "open", "pending", "solved", "pending"]
    assert [r["ticket_id"] for r in rows] == ["SUP-1"] * 4 + ["SUP-2"]
    (reject,) = data.rejected.to_pylist()
    assert reject["row"] == 6 and reject["value"] == "Waiting for support"
    assert reject["reason"] == (
        "status: 'Waiting for support' is not one of new, open, pending, hold, solved, closed, "
        "nor a name values.status maps (In Progress, Resolved, Waiting for customer)")
    statuses = data.records["status"].combine_chunks().dictionary.to_pylist()
    assert set(statuses) <= set(STATUSES)


def test_values_are_matched_exactly(tmp_path):
    text = ("ticket_id,at,status\n1,2026-03-02T09:00:00Z,resolved\n"
            "1,2026-03-02T09:01:00Z,Resolved\n1,2026-03-02T09:02:00Z,  Resolved  \n")
    path = contract(tmp_path, text, values='{ status = { "Resolved" = "solved" } }')
    data = read_events(path, ["ticket_id", "at", "status"])
    # "resolved" (lower case) is not the mapped name; the padded one is trimmed like any value.
    assert [r["status"] for r in plain(data.records)] == ["solved", "solved"]
    assert [r["row"] for r in data.rejected.to_pylist()] == [2]


def test_a_mapping_may_rename_a_canonical_name(tmp_path):
    # A help desk whose "closed" means what the canonical "solved" does.
    text = "ticket_id,at,status\n1,2026-03-02T09:00:00Z,closed\n1,2026-03-02T09:01:00Z,open\n"
    path = contract(tmp_path, text, values='{ status = { closed = "solved" } }')
    data = read_events(path, ["ticket_id", "at", "status"])
    assert [r["status"] for r in plain(data.records)] == ["solved", "open"]


def test_the_same_history_through_parquet_gives_the_same_records(tmp_path):
    csv_path = contract(tmp_path, HISTORY)
    from_csv = read_events(csv_path)
    table = pacsv.read_csv(csv_path.parent / "events.csv", convert_options=pacsv.ConvertOptions(
        column_types={"ticket_id": pa.string(), "public": pa.string()}))
    pq.write_table(table, tmp_path / "events.parquet")
    text = csv_path.read_text().replace(
        '[[service_levels]]',
        '[sources.parquet]\nadapter = "arrow"\nkind = "events"\npath = "events.parquet"\n\n'
        '[[service_levels]]')
    csv_path.write_text(text)
    from_parquet = read_events(csv_path, source="parquet")
    assert plain(from_parquet.records) == plain(from_csv.records)
    assert from_parquet.records.schema == from_csv.records.schema
    assert from_parquet.rejected["reason"].to_pylist() == from_csv.rejected["reason"].to_pylist()
    # Parquet rows are numbered from 1, CSV rows by their line (the header is line 1).
    assert [r + 1 for r in from_parquet.rejected["row"].to_pylist()] == \
        from_csv.rejected["row"].to_pylist()


def test_values_apply_to_typed_dictionary_input_too(tmp_path):
    status = pa.array(["Resolved", "open", "Blocked", None]).dictionary_encode()
    raw = pa.table({"id": ["1", "1", "1", "1"],
                    "at": pa.array([datetime(2026, 3, 2, h, tzinfo=UTC) for h in range(4)]),
                    "status": status})
    kind = EVENTS.with_aliases({"status": {"Resolved": "solved"}})
    records, rejected = coerce(raw, kind=kind, columns={"ticket_id": "id", "at": "at",
                                                        "status": "status"},
                               timezone="UTC", rows=np.arange(1, 5), source="events")
    assert records["status"].to_pylist() == ["solved", "open", None]
    assert rejected["row"].to_pylist() == [3]
    assert rejected["value"].to_pylist() == ["Blocked"]


def test_a_kind_rejects_aliases_it_cannot_take():
    with pytest.raises(ValueError, match="no closed set"):
        EVENTS.with_aliases({"priority": {"P1": "urgent"}})
    with pytest.raises(ValueError, match="not among"):
        EVENTS.with_aliases({"status": {"Done": "finished"}})


BAD_MAPPINGS = [
    # (values key, the key path named, words the message holds)
    ('{ status = { "Done" = "finished" } }', "sources.events.values.status.Done",
     ['"finished" is not a status value', "solved"]),
    ('{ status = { "Done" = "Solved" } }', "sources.events.values.status.Done",
     ['"Solved" is not a status value', "did you mean", "solved"]),
    ('{ priority = { "P1" = "urgent" } }', "sources.events.values.priority",
     ["takes any value", "event, status, author"]),
    ('{ colour = { "red" = "open" } }', "sources.events.values.colour",
     ["not a canonical events field"]),
    ('{ stauts = { "Done" = "solved" } }', "sources.events.values.stauts",
     ["not a canonical events field", "status"]),
    ('{ status = "solved" }', "sources.events.values.status", ["expected a table"]),
    ('{ status = { "Done" = 4 } }', "sources.events.values.status.Done", ["expected a string"]),
    ('{ status = { " Done" = "solved" } }', "sources.events.values.status", ["never match"]),
    ('{ status = { "" = "solved" } }', "sources.events.values.status", ["never match"]),
    ('"status"', "sources.events.values", ["expected a table"]),
]


@pytest.mark.parametrize(("values", "key", "words"), BAD_MAPPINGS)
def test_a_bad_mapping_is_exit_2_naming_the_key_and_line(tmp_path, values, key, words):
    path = contract(tmp_path, HISTORY, values=values)
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert key in result.output
    assert "line 14" in result.output  # the values line
    for word in words:
        assert word in result.output
    with pytest.raises(ContractError):
        load_contract(path, build_registry())


def test_values_on_a_tickets_source_are_refused(tmp_path):
    path = contract(tmp_path, HISTORY)
    text = path.read_text().replace('path = "tickets.csv"\n',
                                    'path = "tickets.csv"\nvalues = { status = { a = "open" } }\n')
    path.write_text(text)
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == 2
    assert "sources.tickets.values.status" in result.output
    assert "takes any value" in result.output


def test_a_good_mapping_validates(tmp_path):
    path = contract(tmp_path, JIRA, values=JIRA_VALUES, fields=JIRA_FIELDS)
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == 0, result.output
    loaded = load_contract(path, build_registry())
    assert loaded.sources["events"].values == {"status": {
        "Waiting for customer": "pending", "Resolved": "solved", "In Progress": "open"}}


def test_the_example_events_read_without_a_reject(tmp_path):
    examples = Path(__file__).resolve().parents[1] / "examples" / "data"
    path = contract(tmp_path, (examples / "events.csv").read_text())
    data = read_events(path, list(EVENTS.fields))
    assert data.account.rejected == 0 and data.account.duplicates == 0
    assert data.account.accepted == data.account.read > 1000
