"""The zendesk source reading ``ticket_metric_events`` pages (a source of kind ``events``).

The pages are written by the tests, in the documented shape::

    page-001.json  {"ticket_metric_events": [...], "next_page": ..., "end_of_stream": false}
      1  id 1  ticket 7  reply_time 1         activate  2026-03-02T09:00:00Z
      2  id 2  ticket 7  reply_time 1         fulfill   2026-03-02T09:30:00Z
      3  id 3  ticket 7  requester_wait_time  apply_sla (its sla object: Gold, 480 min)
      4  id 4  ticket 7  reply_time 1         breach    deleted: true
      5  id 5  ticket 7  reply_time 1         teleport  -> reject: unknown type
      6  id 6  (no ticket_id)                 activate  -> reject: missing ticket_id
    page-002.jsonl.gz  (JSON Lines, gzipped)
      1  id 2  (again, overlapping export)              -> duplicate
      2  id 7  ticket 8  agent_work_time 1    pause     2026-03-02T10:00:00
      3  {not json                                      -> reject: malformed line
      4  id 8  ticket 8  happiness_time 1     activate  -> reject: unknown metric

read 10 = accepted 5 (ids 1, 2, 3, 4, 7) + rejected 4 + duplicates 1.
"""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from slaengine.errors import DataError
from slaengine.fields import METRIC_EVENTS, RECORD_KINDS, TICKETS
from slaengine.plugin import SourceConfig
from slaengine.plugins.sources.zendesk import EVENT_PROVIDES, ZendeskSource

FIELDS = ["ticket_id", "time", "metric", "instance_id", "type", "deleted", "event_id"]


def event(id_: int, ticket: int | None, metric: str, type_: str, time: str,
          instance: int = 1, **more: Any) -> dict[str, Any]:
    found = {"id": id_, "ticket_id": ticket, "metric": metric, "instance_id": instance,
             "type": type_, "time": time, **more}
    return {k: v for k, v in found.items() if v is not None}


def write_pages(folder: Path) -> Path:
    page1 = [
        event(1, 7, "reply_time", "activate", "2026-03-02T09:00:00Z"),
        event(2, 7, "reply_time", "fulfill", "2026-03-02T09:30:00Z"),
        event(3, 7, "requester_wait_time", "apply_sla", "2026-03-02T09:00:00Z",
              sla={"target": 480, "business_hours": True,
                   "policy": {"id": 1, "title": "Gold", "description": None}}),
        event(4, 7, "reply_time", "breach", "2026-03-02T09:20:00Z", deleted=True),
        event(5, 7, "reply_time", "teleport", "2026-03-02T09:40:00Z"),
        event(6, None, "reply_time", "activate", "2026-03-02T09:50:00Z"),
    ]
    (folder / "page-001.json").write_text(json.dumps(
        {"ticket_metric_events": page1, "next_page": "https://x/page2", "end_of_stream": False}))
    lines = [
        json.dumps(event(2, 7, "reply_time", "fulfill", "2026-03-02T09:30:00Z")),
        json.dumps(event(7, 8, "agent_work_time", "pause", "2026-03-02T10:00:00")),
        "{not json",
        json.dumps(event(8, 8, "happiness_time", "activate", "2026-03-02T10:05:00Z")),
    ]
    with gzip.open(folder / "page-002.jsonl.gz", "wt", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    return folder


def config(path: Path, kind: str = "events", **options: Any) -> SourceConfig:
    return SourceConfig(name="zd", adapter="zendesk", path=path, fields={}, options=options,
                        timezone="Europe/Berlin", kind=RECORD_KINDS[kind])


def read(path: Path, kind: str = "events", fields: list[str] = FIELDS, **options: Any):
    (batch,) = list(ZendeskSource().read(config(path, kind, **options), fields))
    return batch


def test_the_kind_is_declared_with_closed_values() -> None:
    assert RECORD_KINDS["metric_events"] is METRIC_EVENTS
    assert METRIC_EVENTS.required == ("ticket_id", "time")
    assert "breach" in METRIC_EVENTS.values["type"]
    assert "resolution_time" in METRIC_EVENTS.values["metric"]
    sla = {"sla_target_seconds", "sla_business_hours", "sla_policy"}  # from apply_sla events
    assert frozenset(FIELDS) | sla == EVENT_PROVIDES


@pytest.mark.parametrize("kind", ["events", "metric_events"])
def test_every_row_is_accounted_for(tmp_path: Path, kind: str) -> None:
    batch = read(write_pages(tmp_path), kind)
    assert batch.read == 10
    assert batch.records.num_rows == 5
    assert batch.rejected.num_rows == 4
    assert batch.duplicates.num_rows == 1
    assert batch.read == batch.records.num_rows + batch.rejected.num_rows + \
        batch.duplicates.num_rows
    assert batch.records["event_id"].to_pylist() == ["1", "2", "3", "4", "7"]


def test_records_are_typed_and_the_deleted_breach_is_kept_as_deleted(tmp_path: Path) -> None:
    rows = read(write_pages(tmp_path)).records.to_pylist()
    by_id = {r["event_id"]: r for r in rows}
    assert by_id["4"]["type"] == "breach" and by_id["4"]["deleted"] is True
    assert [by_id[i]["deleted"] for i in ("1", "2", "3", "7")] == [False] * 4
    assert by_id["1"]["ticket_id"] == "7" and by_id["1"]["instance_id"] == 1
    assert by_id["1"]["time"] == datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    # No offset: read in the contract's zone, Berlin is UTC+1 on 2 March: 10:00 -> 09:00 UTC.
    assert by_id["7"]["time"] == datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_rejects_name_place_and_reason(tmp_path: Path) -> None:
    rejected = {(r["row"], r["field"]): r for r in read(write_pages(tmp_path)).rejected.to_pylist()}
    assert set(rejected) == {(5, "type"), (6, "ticket_id"), (3, None), (4, "metric")}
    assert "teleport" in rejected[5, "type"]["value"]
    assert "missing" in rejected[6, "ticket_id"]["reason"]
    assert "malformed JSON line" in rejected[3, None]["reason"]
    assert rejected[4, "metric"]["value"] == "happiness_time"
    duplicate = read(write_pages(tmp_path)).duplicates.to_pylist()[0]
    assert (duplicate["row"], duplicate["field"], duplicate["value"]) == (1, "id", "2")


@pytest.mark.parametrize("bad, reason", [
    ({"time": "yesterday"}, "time"),
    ({"time": None}, "time"),
    ({"instance_id": 0}, "instance_id"),
    ({"metric": "Reply_Time"}, "metric"),  # canonical names are exact
    ({"type": None}, "type"),  # a missing key is not a guess either
    ({"metric": None}, "metric"),
    ({"instance_id": None}, "instance_id"),
])
def test_unusable_rows_are_rejected_not_guessed(tmp_path: Path, bad: dict[str, Any],
                                                reason: str) -> None:
    row = {**event(1, 7, "reply_time", "activate", "2026-03-02T09:00:00Z"), **bad}
    (tmp_path / "p.json").write_text(json.dumps({"ticket_metric_events": [row]}))
    batch = read(tmp_path / "p.json")
    assert (batch.read, batch.records.num_rows, batch.rejected.num_rows) == (1, 0, 1)
    assert batch.rejected["field"][0].as_py() == reason


def test_a_key_of_the_wrong_type_stops_naming_the_event(tmp_path: Path) -> None:
    rows = [event(1, 7, "reply_time", "activate", "2026-03-02T09:00:00Z"),
            event(2, 7, "reply_time", "activate", "2026-03-02T09:00:00Z", instance=1.5)]
    (tmp_path / "p.json").write_text(json.dumps({"ticket_metric_events": rows}))
    with pytest.raises(DataError, match=r'metric event 2: key "instance_id" holds 1.5'):
        read(tmp_path / "p.json")


def test_a_page_of_another_shape_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "p.json").write_text(json.dumps({"tickets": []}))
    with pytest.raises(DataError, match="metric-event export page"):
        read(tmp_path / "p.json")


def test_fields_the_export_lacks_are_an_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="metric-event export does not provide"):
        read(write_pages(tmp_path), fields=["ticket_id", "at"])


def test_available_fields_follow_the_kind(tmp_path: Path) -> None:
    source = ZendeskSource()
    assert source.available(config(tmp_path)) == EVENT_PROVIDES
    tickets = SourceConfig(name="t", adapter="zendesk", path=tmp_path, fields={}, options={},
                           timezone="UTC", kind=TICKETS)
    assert "created_at" in source.available(tickets)


def test_malformed_page_can_be_skipped(tmp_path: Path) -> None:
    write_pages(tmp_path)
    (tmp_path / "page-003.json").write_text('{"ticket_metric_events": [')
    with pytest.raises(DataError, match="malformed JSON"):
        read(tmp_path)
    batch = read(tmp_path, on_malformed="skip")
    assert (batch.read, batch.rejected.num_rows) == (11, 5)
