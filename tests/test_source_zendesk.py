"""The zendesk source: export pages with metric sets, duplicates, deleted tickets, JSON Lines,
malformed JSON, and an end-to-end evaluation with hand-checked numbers.

The fixtures in tests/data/zendesk/ are hand-written in the documented shapes:

pages/page-001.json (incremental export page with metric_sets)
  row 1  101 solved, updated 03-02 12:00, reply 30 min (business 30), solved 11:00, good
  row 2  102 open,   updated 03-02 11:00   (superseded by page 2 row 1)
  row 3  103 new,    no reply yet, priority null, satisfaction offered
  row 4  104 deleted
pages/page-002.json
  row 1  102 solved, updated 03-04 09:00, reply 45 min, solved 03-04 09:00, bad
  row 2  105 no metric set in the side-load
  row 3  106 reply_time_in_minutes -5 (calendar and business)
  row 4  101 older version, updated 03-02 10:00 (superseded by page 1 row 1)
  metric sets: 102 (newer), 106, and an older 101 (reply 999) that must not win.

read 8 = accepted 3 (101, 103, 102) + rejected 3 (104, 105, 106) + duplicates 2.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from slaengine.contract import load_contract
from slaengine.engine import evaluate
from slaengine.errors import DataError
from slaengine.fields import TICKETS
from slaengine.plugin import REJECT_SCHEMA, SourceConfig
from slaengine.plugins.sources.zendesk import PROVIDES, ZendeskSource

DATA = Path(__file__).parent / "data" / "zendesk"
PAGES = DATA / "pages"
FIELDS = [
    "ticket_id", "created_at", "first_response_at", "resolved_at", "status", "priority",
    "channel", "group", "agent", "organization", "tags", "satisfaction", "replies", "reopens",
    "assigned_at", "first_response_business_seconds", "resolution_business_seconds",
    "agent_wait_seconds", "agent_wait_business_seconds", "requester_wait_seconds",
    "on_hold_seconds",
]  # fmt: skip


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def config(
    path: Path | str, fields: Mapping[str, str] | None = None, **options: Any
) -> SourceConfig:
    return SourceConfig(name="tickets", adapter="zendesk", path=Path(path),
                        fields=dict(fields or {}), options=options, timezone="UTC")


def read_all(
    cfg: SourceConfig, fields: Sequence[str] = FIELDS
) -> tuple[pa.Table, pa.Table, pa.Table, int]:
    batches = list(ZendeskSource().read(cfg, fields))
    for b in batches:
        assert b.read == b.records.num_rows + b.rejected.num_rows + b.duplicates.num_rows
        assert b.rejected.schema == REJECT_SCHEMA
        assert b.duplicates.schema == REJECT_SCHEMA
        assert b.records.schema == TICKETS.schema(list(fields))
    return (pa.concat_tables([b.records for b in batches]),
            pa.concat_tables([b.rejected for b in batches]),
            pa.concat_tables([b.duplicates for b in batches]),
            sum(b.read for b in batches))


def by_id(records: pa.Table) -> dict[str, dict[str, Any]]:
    return {r["ticket_id"]: r for r in records.to_pylist()}


def test_pages_reconcile_with_duplicates_deleted_and_missing_metric_sets() -> None:
    records, rejected, duplicates, read = read_all(config(PAGES))
    # 8 tickets on two pages = 3 accepted + 3 rejected + 2 duplicates
    assert (read, records.num_rows, rejected.num_rows, duplicates.num_rows) == (8, 3, 3, 2)
    # Records keep reading order: page 1 rows 1 and 3, then page 2 row 1.
    assert records["ticket_id"].to_pylist() == ["101", "103", "102"]
    assert rejected.to_pylist() == [
        {"source": "tickets", "row": 4, "field": "ticket_id", "value": "104",
         "reason": "deleted ticket"},
        {"source": "tickets", "row": 2, "field": "ticket_id", "value": "105",
         "reason": "no metric set"},
        # 11:00 - 5 min = 10:55, before created_at; -5 min x 60 = -300 s, below 0
        {"source": "tickets", "row": 3, "field": "first_response_at",
         "value": "2026-03-04 10:55:00.000000Z",
         "reason": "first_response_at: before created_at; "
                   "first_response_business_seconds: -300 is below 0"},
    ]
    assert duplicates.to_pylist() == [
        {"source": "tickets", "row": 2, "field": "ticket_id", "value": "102",
         "reason": "duplicate of a later version (updated_at 2026-03-04T09:00:00Z)"},
        {"source": "tickets", "row": 4, "field": "ticket_id", "value": "101",
         "reason": "duplicate of a later version (updated_at 2026-03-02T12:00:00Z)"},
    ]


def test_ticket_and_metric_set_fields_are_mapped() -> None:
    records, _, _, _ = read_all(config(PAGES))
    t = by_id(records)
    first = t["101"]
    # created 09:00 + reply_time_in_minutes.calendar 30 = 09:30 (the page-1 metric set, updated
    # 12:00, wins over page 2's older one with 999 minutes)
    assert first["first_response_at"] == utc(2026, 3, 2, 9, 30)
    assert first["resolved_at"] == utc(2026, 3, 2, 11)
    assert first["assigned_at"] == utc(2026, 3, 2, 9, 10)
    assert first["first_response_business_seconds"] == 30 * 60  # 1800
    assert first["resolution_business_seconds"] == 120 * 60  # 7200
    assert first["agent_wait_seconds"] == 60 * 60  # 3600
    assert first["agent_wait_business_seconds"] == 45 * 60  # 2700
    assert first["requester_wait_seconds"] == 90 * 60  # 5400
    assert first["on_hold_seconds"] == 0
    assert (first["channel"], first["group"], first["agent"], first["organization"]) == (
        "email", "11", "21", "31")
    assert first["tags"] == "shipping refund"
    assert (first["satisfaction"], first["replies"], first["reopens"]) == ("good", 2, 0)
    # 102: the page-2 version and its newer metric set: 10:00 + 45 min
    second = t["102"]
    assert second["first_response_at"] == utc(2026, 3, 2, 10, 45)
    assert (second["status"], second["satisfaction"], second["reopens"]) == ("solved", "bad", 1)
    assert second["tags"] == "damaged"
    assert second["organization"] is None
    # 103: not answered yet, no priority, rating offered but not answered
    third = t["103"]
    assert third["first_response_at"] is None
    assert third["priority"] is None
    assert third["satisfaction"] == "offered"
    assert third["tags"] == "returns"


def test_only_requested_fields_are_delivered() -> None:
    records, rejected, duplicates, read = read_all(config(PAGES), ["ticket_id", "created_at"])
    assert records.column_names == ["ticket_id", "created_at"]
    # 106's bad reply time is not read, so it is accepted: 8 = 4 + 2 + 2
    assert (read, records.num_rows, rejected.num_rows, duplicates.num_rows) == (8, 4, 2, 2)


def test_gzip_pages_through_a_glob(tmp_path: Path) -> None:
    for page in sorted(PAGES.iterdir()):
        (tmp_path / f"{page.name}.gz").write_bytes(gzip.compress(page.read_bytes()))
    (tmp_path / "notes.txt").write_text("not a page")
    records, rejected, duplicates, read = read_all(config(tmp_path / "page-*.json.gz"))
    assert (read, records.num_rows, rejected.num_rows, duplicates.num_rows) == (8, 3, 3, 2)


def test_json_lines_with_a_malformed_line() -> None:
    records, rejected, duplicates, read = read_all(config(DATA / "tickets.jsonl"))
    # lines 1, 3, 4, 5 hold tickets (line 2 is blank): 4 read = 2 accepted + 2 rejected
    assert (read, records.num_rows, rejected.num_rows, duplicates.num_rows) == (4, 2, 2, 0)
    assert [r["row"] for r in rejected.to_pylist()] == [3, 4]
    assert rejected["reason"][0].as_py().startswith("malformed JSON line: Expecting ','")
    assert rejected["reason"][1].as_py() == "created_at: 'yesterday' is not an ISO 8601 timestamp"
    t = by_id(records)
    assert t["204"]["created_at"] == utc(2026, 3, 5, 11)  # 12:00+01:00
    assert t["204"]["tags"] == "vip returns"
    # No metric sets in JSON Lines: metric-derived fields are null, nothing is rejected for it.
    assert t["201"]["first_response_at"] is None and t["201"]["replies"] is None


def test_plain_ticket_list_and_array_have_no_metric_sets(tmp_path: Path) -> None:
    ticket = {"id": 7, "created_at": "2026-03-01T10:00:00Z", "updated_at": "2026-03-01T10:00:00Z",
              "status": "open", "priority": None, "via": {"channel": "chat"}, "tags": ["a"]}
    (tmp_path / "a.json").write_text(json.dumps({"tickets": [ticket]}))
    (tmp_path / "b.json").write_text(json.dumps([{**ticket, "id": 8}]))
    records, rejected, _, read = read_all(config(tmp_path))
    assert (read, records.num_rows, rejected.num_rows) == (2, 2, 0)
    assert records["channel"].to_pylist() == ["chat", "chat"]
    assert records["first_response_at"].null_count == 2


def test_malformed_page_names_file_line_column_and_byte_offset(tmp_path: Path) -> None:
    page = tmp_path / "page-001.json"
    # "é" is two bytes in UTF-8: the error at character 24 is at byte offset 25.
    page.write_text('{"tickets": [{"x": "é"},, ]}', encoding="utf-8")
    with pytest.raises(DataError) as caught:
        read_all(config(page))
    message = str(caught.value)
    assert str(page) in message
    assert "line 1, column 25 (byte offset 25)" in message
    assert "on_malformed" in message


def test_malformed_page_is_one_reject_when_skipped(tmp_path: Path) -> None:
    shutil.copy(PAGES / "page-001.json", tmp_path / "page-001.json")
    (tmp_path / "page-002.json").write_text('{"tickets": [\n  {"id": 1}\n  {"id": 2}\n]}')
    records, rejected, duplicates, read = read_all(config(tmp_path, on_malformed="skip"))
    # page 1: 4 tickets (104 deleted) + the broken page as one row: 5 = 3 + 2 + 0
    assert (read, records.num_rows, rejected.num_rows, duplicates.num_rows) == (5, 3, 2, 0)
    skipped = rejected.to_pylist()[0]
    assert skipped["value"] == "page-002.json"
    assert skipped["row"] == 3
    # line 1 '{"tickets": [' + newline = 14 bytes, line 2 '  {"id": 1}' + newline = 12,
    # then 2 spaces: the second object starts at byte 14 + 12 + 2 = 28, column 3 of line 3
    assert skipped["reason"] == ("malformed JSON page: Expecting ',' delimiter at line 3, "
                                 "column 3 (byte offset 28)")


def test_fields_mapping_is_an_error() -> None:
    with pytest.raises(DataError, match=r"sources\.tickets\.fields"):
        read_all(config(PAGES, fields={"ticket_id": "id"}))


def test_field_a_zendesk_export_lacks_is_an_error() -> None:
    with pytest.raises(DataError, match=r"does not provide the field.* csat"):
        read_all(config(PAGES), ["ticket_id", "csat"])


def test_wrong_type_names_ticket_and_key(tmp_path: Path) -> None:
    page = tmp_path / "p.json"
    page.write_text(json.dumps({"tickets": [{"id": 1}, {"id": "abc"}]}))
    with pytest.raises(DataError, match=r'ticket 2: key "id" holds "abc", expected a whole number'):
        read_all(config(page))


def test_unexpected_document_shape(tmp_path: Path) -> None:
    page = tmp_path / "p.json"
    page.write_text(json.dumps({"users": []}))
    with pytest.raises(DataError, match='found an object with the keys users'):
        read_all(config(page))


def test_available_and_columns() -> None:
    source = ZendeskSource()
    assert source.available(config(PAGES)) == PROVIDES
    assert {"satisfaction", "first_response_at", "on_hold_business_seconds"} <= PROVIDES
    columns = dict(source.columns(config(PAGES)) or [])
    assert columns["id"] == "int64"
    assert columns["via.channel"] == "string"
    assert "metric_sets.reply_time_in_minutes.calendar" in columns


CONTRACT = """
[contract]
id = "zd"
client = "Fabrikam Outdoor"
vendor = "Contoso Support Services"
period = "month"
timezone = "UTC"

[sources.zendesk]
adapter = "zendesk"
path = "pages"

[[service_levels]]
id = "first-response"
metric = "first_response_time"
target = "50% within 40min"

[[service_levels]]
id = "volume"
metric = "ticket_volume"
target = "count <= 2"

[[service_levels]]
id = "csat"
metric = "csat"
target = "share >= 50%"
"""


def test_evaluate_end_to_end(tmp_path: Path) -> None:
    shutil.copytree(PAGES, tmp_path / "pages")
    (tmp_path / "zd.toml").write_text(CONTRACT)
    evaluation = evaluate(load_contract(tmp_path / "zd.toml"))
    account = evaluation.sources["zendesk"]
    assert (account.read, account.accepted, account.rejected, account.duplicates) == (8, 3, 3, 2)
    # Only the fields the metrics need are read: 106 fails on first_response_at alone.
    assert account.rejected_by_reason == {
        "deleted ticket": 1,
        "first_response_at: before created_at": 1,
        "no metric set": 1,
    }
    verdicts = {v.service_level: v for v in evaluation.verdicts}
    response = verdicts["first-response"]
    # 101 answered in 30 min (hit), 102 in 45 min (miss), 103 never (miss): 1/3 = 33.3% < 50%
    assert response.period == "2026-03"
    assert response.value == pytest.approx(1 / 3)
    assert response.status == "breached"
    assert response.sample_size == 3
    # 3 accepted tickets created in March > 2
    assert verdicts["volume"].value == 3
    assert verdicts["volume"].status == "breached"
    # satisfaction: 101 good, 102 bad, 103 offered (not answered): good / (good + bad) = 1/2
    csat = verdicts["csat"]
    assert (csat.value, csat.sample_size, csat.unmeasured, csat.status) == (0.5, 2, 1, "met")
    # The report says how many ratings were offered but not answered: 103 only.
    assert account.notes == {"satisfaction ratings offered but not answered": 1,
                             "satisfaction ratings not offered": 0}


# --------------------------------------------------------------------------- hostile exports

TICKET = '{"id": 1, "created_at": "2026-03-02T09:00:00Z", "updated_at": "2026-03-02T10:00:00Z"}'


@pytest.mark.parametrize(("ticket", "said"), [
    ('{"id": 123456789012345678901234567890}', 'key "id" holds 123456789012345678901234567890'),
    ('{"id": 1e400}', 'key "id" holds Infinity'),
    ('{"id": 1.5}', 'key "id" holds 1.5'),  # Arrow would truncate it to ticket 1
    ('{"id": true}', 'key "id" holds true'),
    ('{"id": {"a": 1}}', 'key "id" holds {"a": 1}'),
    ('{"id": "12"}', 'key "id" holds "12"'),
    ('{"id": 2, "created_at": 5}', 'key "created_at" holds 5, expected a string'),
    ('{"id": 2, "group_id": 7.25}', 'key "group_id" holds 7.25'),
    ('[1, 2]', "expected a JSON object, found [1, 2]"),
    ('"x"', 'expected a JSON object, found "x"'),
])
def test_a_value_of_the_wrong_type_names_file_ticket_and_key(
    tmp_path: Path, ticket: str, said: str
) -> None:
    page = tmp_path / "p.json"
    page.write_text(f'{{"tickets": [{TICKET}, {ticket}]}}')
    with pytest.raises(DataError) as error:
        read_all(config(page), ["ticket_id", "created_at"])
    assert str(page) in str(error.value)
    assert f"ticket 2: {said}" in str(error.value)


def test_a_negative_id_is_an_id_and_a_metric_set_number_past_64_bits_is_named(
    tmp_path: Path
) -> None:
    page = tmp_path / "p.json"
    page.write_text('{"tickets": [{"id": -1, "created_at": "2026-03-02T09:00:00Z"}]}')
    records, _, _, read = read_all(config(page), ["ticket_id", "created_at"])
    assert (read, records["ticket_id"].to_pylist()) == (1, ["-1"])
    page.write_text(f'{{"tickets": [{TICKET}], "metric_sets": [{{"ticket_id": 1, '
                    '"reopens": 99999999999999999999999}]}')
    with pytest.raises(DataError, match='metric set 1: key "reopens" holds 9999'):
        read_all(config(page), ["ticket_id", "created_at"])


def test_infinite_or_huge_minutes_are_rejected_not_placed(tmp_path: Path) -> None:
    tickets = ", ".join(TICKET.replace('"id": 1', f'"id": {i}') for i in (1, 2, 3))
    page = tmp_path / "p.json"
    page.write_text(
        f'{{"tickets": [{tickets}], "metric_sets": ['
        '{"ticket_id": 1, "reply_time_in_minutes": {"calendar": 30, "business": 30}},'
        '{"ticket_id": 2, "reply_time_in_minutes": {"calendar": 1e400, "business": 1e400}},'
        '{"ticket_id": 3, "reply_time_in_minutes": {"calendar": 1e300, "business": 5}},'
        '{"ticket_id": 99, "reply_time_in_minutes": {"calendar": 1, "business": 1}}]}')
    wanted = ["ticket_id", "created_at", "first_response_at", "first_response_business_seconds"]
    records, rejected, _, read = read_all(config(page), wanted)
    # 3 read = 1 accepted (ticket 1: replied 09:30) + 2 rejected; set 99 has no ticket
    assert (read, records["ticket_id"].to_pylist()) == (3, ["1"])
    assert records["first_response_at"].to_pylist() == [utc(2026, 3, 2, 9, 30)]
    assert rejected["reason"].to_pylist() == [
        "first_response_at: metric_sets.reply_time_in_minutes.calendar 'inf' is not a number",
        "first_response_at: metric_sets.reply_time_in_minutes.calendar '1e+300' is out of range",
    ]
    # without first_response_at, the business figure decides: inf*60 is not a number (as in CSV)
    records, rejected, _, read = read_all(config(page), wanted[:2] + wanted[3:])
    assert (read, records["ticket_id"].to_pylist()) == (3, ["1", "3"])
    assert rejected["reason"].to_pylist() == [
        "first_response_business_seconds: 'inf' is not a number"]


def test_deep_nesting_null_tickets_and_a_large_page_are_data_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000)
    with pytest.raises(DataError, match=r"deep\.json: JSON nested too deeply"):
        read_all(config(deep), ["ticket_id", "created_at"])
    lines = tmp_path / "deep.jsonl"
    lines.write_text(TICKET + "\n" + "[" * 100_000 + "\n")
    with pytest.raises(DataError, match=r"deep\.jsonl: JSON nested too deeply"):
        read_all(config(lines), ["ticket_id", "created_at"])
    empty = tmp_path / "null.json"
    empty.write_text('{"tickets": null}')
    with pytest.raises(DataError, match='"tickets" holds null, expected a list'):
        read_all(config(empty), ["ticket_id", "created_at"])
    from slaengine.plugins.sources import zendesk

    page = tmp_path / "big.json"
    page.write_text(f'{{"tickets": [{TICKET}]}}' + " " * 2000)
    monkeypatch.setattr(zendesk, "MAX_PAGE_BYTES", 500)
    with pytest.raises(DataError, match=r"big\.json: larger than 500 bytes"):
        read_all(config(page), ["ticket_id", "created_at"])
    zipped = tmp_path / "big.json.gz"
    zipped.write_bytes(gzip.compress(page.read_bytes()))  # under 500 bytes, over once gunzipped
    assert zipped.stat().st_size <= 500
    with pytest.raises(DataError, match="larger than 500 bytes once gunzipped"):
        read_all(config(zipped), ["ticket_id", "created_at"])


def test_a_fifo_or_device_is_not_read(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    for path in (fifo, Path("/dev/zero")):
        with pytest.raises(DataError, match="not a regular file"):
            read_all(config(path), ["ticket_id", "created_at"])


def test_a_folder_is_read_once_its_own_pages_only(tmp_path: Path) -> None:
    folder = tmp_path / "pages"
    shutil.copytree(PAGES, folder)
    os.symlink(folder, folder / "loop")  # a sub-folder (here a loop) is not part of the export
    os.symlink(folder / "page-001.json", folder / "zz-again.json")
    files = ZendeskSource().files(config(folder))
    assert [p.name for p in files] == ["page-001.json", "page-002.json"]
    _, _, _, read = read_all(config(folder), ["ticket_id", "created_at"])
    assert read == 8  # as the two pages alone (see the module docstring)
