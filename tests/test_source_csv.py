"""The csv source: header checks, vendor column names, line numbers, ragged rows, gzip."""

from __future__ import annotations

import gzip
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from slaengine.errors import DataError
from slaengine.fields import TICKETS
from slaengine.kinds import REJECT_SCHEMA, SourceBatch, SourceConfig
from slaengine.plugins.sources.csv import CsvSource, register_sources

VENDOR = {
    "ticket_id": "Ticket ID",
    "created_at": "Created",
    "first_response_at": "First Reply",
    "priority": "Priority",
    "csat": "Satisfaction",
}


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def config(
    path: Path,
    fields: Mapping[str, str] | None = None,
    timezone: str = "America/New_York",
    **options: Any,
) -> SourceConfig:
    return SourceConfig(
        name="tickets",
        adapter="csv",
        path=path,
        fields=dict(VENDOR if fields is None else fields),
        options=options,
        timezone=timezone,
    )


def read_all(
    cfg: SourceConfig, fields: Sequence[str], source: CsvSource | None = None
) -> tuple[pa.Table, pa.Table, int, list[SourceBatch]]:
    batches = list((source or CsvSource()).read(cfg, fields))
    for b in batches:
        assert b.read == b.records.num_rows + b.rejected.num_rows
        assert b.rejected.schema == REJECT_SCHEMA
        assert b.records.schema == TICKETS.schema(list(fields))
    records = pa.concat_tables([b.records for b in batches])
    rejected = pa.concat_tables([b.rejected for b in batches])
    return records, rejected, sum(b.read for b in batches), batches


def write(tmp_path: Path, text: str, name: str = "tickets.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


TICKETS_CSV = """\
Ticket ID,Subject,Created,First Reply,Priority,Satisfaction
T1,"Printer, on fire",2026-03-01 09:00,2026-03-01 09:30,High,5
T2,Refund,2026-07-01T09:00:00,,Low,
T3,Login,yesterday,,Low,4
T4,Bill,2026-07-01T09:00:00Z,2026-07-01T08:00:00Z,Normal,7
,Spam,2026-07-02,,Low,abc
"""


def test_vendor_columns_are_mapped_and_typed(tmp_path: Path) -> None:
    path = write(tmp_path, TICKETS_CSV)
    fields = ["ticket_id", "created_at", "first_response_at", "priority", "csat"]
    records, rejected, read, batches = read_all(config(path), fields)
    assert len(batches) == 1
    assert records.to_pylist() == [
        {
            "ticket_id": "T1",
            "created_at": utc(2026, 3, 1, 14),  # 09:00 EST
            "first_response_at": utc(2026, 3, 1, 14, 30),
            "priority": "High",
            "csat": 5.0,
        },
        {
            "ticket_id": "T2",
            "created_at": utc(2026, 7, 1, 13),  # 09:00 EDT
            "first_response_at": None,
            "priority": "Low",
            "csat": None,
        },
    ]
    # Header is line 1, so T3 is on line 4, T4 on line 5, the id-less row on line 6.
    assert [(r["row"], r["field"], r["value"], r["reason"]) for r in rejected.to_pylist()] == [
        (4, "created_at", "yesterday", "created_at: 'yesterday' is not an ISO 8601 timestamp"),
        (
            5,
            "first_response_at",
            "2026-07-01T08:00:00Z",
            "first_response_at: before created_at; csat: 7 is outside 1-5",
        ),
        (6, "ticket_id", None, "ticket_id: missing; csat: 'abc' is not a number"),
    ]
    assert set(rejected.column("source").to_pylist()) == {"tickets"}
    assert read == 5 == records.num_rows + rejected.num_rows


def test_only_requested_fields_in_requested_order(tmp_path: Path) -> None:
    path = write(tmp_path, TICKETS_CSV)
    records, rejected, read, _ = read_all(config(path), ["priority", "ticket_id"])
    assert records.column_names == ["priority", "ticket_id"]
    assert records.column("ticket_id").to_pylist() == ["T1", "T2", "T3", "T4"]
    assert rejected.column("reason").to_pylist() == ["ticket_id: missing"]
    assert read == 5


def test_unmapped_field_uses_its_canonical_name(tmp_path: Path) -> None:
    path = write(tmp_path, "ticket_id;created_at;channel\n1;2026-03-01;email\n")
    records, _, _, _ = read_all(
        config(path, fields={}, timezone="UTC", delimiter=";"),
        ["ticket_id", "created_at", "channel"],
    )
    assert records.to_pylist() == [
        {"ticket_id": "1", "created_at": utc(2026, 3, 1), "channel": "email"}
    ]


def test_missing_column_names_file_key_suggestion_and_columns(tmp_path: Path) -> None:
    path = write(tmp_path, TICKETS_CSV)
    cfg = config(path, fields={**VENDOR, "created_at": "Start", "resolved_at": "Solved"})
    with pytest.raises(DataError) as caught:
        list(CsvSource().read(cfg, ["ticket_id", "created_at", "priority"]))
    text = str(caught.value)
    assert str(path) in text
    assert 'sources.tickets.fields.created_at = "Start": no column "Start"' in text
    assert "Solved" not in text  # not requested, so not checked
    assert (
        'the file\'s columns are: "Ticket ID", "Subject", "Created", "First Reply", '
        '"Priority", "Satisfaction"'
    ) in text

    cfg = config(path, fields={"ticket_id": "ticket id"})
    with pytest.raises(DataError, match=r'no column "ticket id" \(did you mean "Ticket ID"\?\)'):
        list(CsvSource().read(cfg, ["ticket_id"]))
    with pytest.raises(DataError, match=r"fields.group \(not set, so its canonical name\)"):
        list(CsvSource().read(config(path), ["ticket_id", "group"]))


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.csv"
    with pytest.raises(DataError, match="file not found") as caught:
        list(CsvSource().read(config(path), ["ticket_id"]))
    assert str(path) in str(caught.value)


def test_ragged_rows_are_rejected_and_later_lines_stay_right(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "id,created\n"  # line 1
        "a,2026-03-01T10:00Z\n"  # 2
        "b\n"  # 3: too few
        "c,2026-03-01T10:00Z,extra\n"  # 4: too many
        "d,never\n"  # 5: bad date
        "e,2026-03-01T10:00Z\n",  # 6
    )
    cfg = config(path, fields={"ticket_id": "id", "created_at": "created"})
    records, rejected, read, batches = read_all(cfg, ["ticket_id", "created_at"])
    assert records.column("ticket_id").to_pylist() == ["a", "e"]
    assert [(r["row"], r["field"], r["value"], r["reason"]) for r in rejected.to_pylist()] == [
        (3, None, "b", "expected 2 columns, found 1"),
        (4, None, "c,2026-03-01T10:00Z,extra", "expected 2 columns, found 3"),
        (5, "created_at", "never", "created_at: 'never' is not an ISO 8601 timestamp"),
    ]
    assert read == 5
    assert batches[0].read == 5


def test_batches_split_the_file_and_ragged_rows_land_where_they_occur(tmp_path: Path) -> None:
    lines = ["id,created"]
    for i in range(10):
        lines.append("x" if i == 7 else f"{i},2026-03-0{1 + i % 3}")
    path = write(tmp_path, "\n".join(lines) + "\n")
    source = CsvSource()
    source.batch_rows = 4
    cfg = config(path, fields={"ticket_id": "id", "created_at": "created"})
    records, rejected, read, batches = read_all(cfg, ["ticket_id", "created_at"], source)
    # 9 parsed rows in batches of 4, 4, 1. The second holds ids 4, 5, 6, 8 (lines 6, 7, 8, 10),
    # so the ragged row on line 9 goes with it.
    assert [b.read for b in batches] == [4, 5, 1]
    assert batches[1].rejected.column("row").to_pylist() == [9]
    assert batches[1].records.column("ticket_id").to_pylist() == ["4", "5", "6", "8"]
    assert records.column("ticket_id").to_pylist() == ["0", "1", "2", "3", "4", "5", "6", "8", "9"]
    assert read == 10
    assert rejected.num_rows == 1


@pytest.mark.parametrize("bad", ["never", "2026-03-01T10:00Z", "x"])
def test_a_late_surprise_switches_to_the_careful_read_without_losing_a_row(
        tmp_path: Path, bad: str) -> None:
    # 60,000 clean rows (several blocks of the typed read), then one the parser cannot type or
    # split (a bad date, an offset, a ragged row), then more clean rows: every row is delivered
    # once, the bad one (line 30,002) is rejected when it cannot be used, and lines stay right.
    head = [f"T{i},2026-03-01 10:00:00,{'x' * 40}" for i in range(30_000)]
    tail = [f"U{i},2026-03-02 10:00:00,{'y' * 40}" for i in range(30_000)]
    row = f"B,{bad},z" if bad != "x" else "B"
    path = write(tmp_path, "id,created,note\n" + "\n".join([*head, row, *tail]) + "\n")
    source = CsvSource()
    source.batch_rows = 7_000
    cfg = config(path, fields={"ticket_id": "id", "created_at": "created"}, timezone="UTC")
    records, rejected, read, _ = read_all(cfg, ["ticket_id", "created_at"], source)
    assert read == 60_001
    ids = records.column("ticket_id").to_pylist()
    assert ids[:30_000] == [f"T{i}" for i in range(30_000)]
    assert ids[-30_000:] == [f"U{i}" for i in range(30_000)]
    if bad == "2026-03-01T10:00Z":  # an offset is fine, only not for the typed read
        assert ids[30_000] == "B" and rejected.num_rows == 0
        assert records.column("created_at")[30_000].as_py() == utc(2026, 3, 1, 10)
    else:
        assert len(ids) == 60_000
        assert rejected.column("row").to_pylist() == [30_002]
    # the careful read also numbers the lines after the surprise right
    late = path.read_text().replace("U29999,2026-03-02", "U29999,2026-13-02")
    path.write_text(late)
    records, rejected, read, _ = read_all(cfg, ["ticket_id", "created_at"], source)
    assert read == 60_001
    assert rejected.column("row").to_pylist()[-1] == 60_002


def test_quoted_values_and_line_numbers(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        'id,created,note\n"a,1",2026-03-01,"say ""hi"""\nb,bad,x\n',
    )
    cfg = config(path, fields={"ticket_id": "id", "created_at": "created"}, timezone="UTC")
    records, rejected, _, _ = read_all(cfg, ["ticket_id"])
    assert records.column("ticket_id").to_pylist() == ["a,1", "b"]
    records, rejected, _, _ = read_all(cfg, ["ticket_id", "created_at"])
    assert rejected.column("row").to_pylist() == [3]


def test_gzip_is_read_transparently(tmp_path: Path) -> None:
    path = tmp_path / "tickets.csv.gz"
    path.write_bytes(gzip.compress(TICKETS_CSV.encode()))
    records, rejected, read, _ = read_all(config(path), ["ticket_id", "created_at"])
    assert records.column("ticket_id").to_pylist() == ["T1", "T2", "T4"]
    assert rejected.column("row").to_pylist() == [4, 6]
    assert read == 5


def test_encoding_option(tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes("id,created,agent\n1,2026-03-01,José\n".encode("latin-1"))
    fields = ["ticket_id", "created_at", "agent"]
    cfg = config(path, fields={"ticket_id": "id", "created_at": "created"}, encoding="latin-1")
    records, _, _, _ = read_all(cfg, fields)
    assert records.column("agent").to_pylist() == ["José"]

    cfg = config(path, fields={"ticket_id": "id", "created_at": "created"})
    with pytest.raises(DataError, match=r"not valid UTF-8.*sources.tickets.encoding"):
        list(CsvSource().read(cfg, fields))
    cfg = config(path, fields={"ticket_id": "id"}, encoding="klingon")
    with pytest.raises(DataError, match='encoding = "klingon" is not a known text encoding'):
        list(CsvSource().read(cfg, ["ticket_id"]))


def test_empty_file_and_header_only(tmp_path: Path) -> None:
    for text in ("", "Ticket ID,Created\n"):
        path = write(tmp_path, text)
        records, rejected, read, batches = read_all(config(path), ["ticket_id", "created_at"])
        assert len(batches) == 1
        assert (records.num_rows, rejected.num_rows, read) == (0, 0, 0)


def test_hook_offers_the_source() -> None:
    (source,) = register_sources()
    assert isinstance(source, CsvSource)
    assert source.name == "csv"


@pytest.mark.parametrize("bad", ["nan", "inf", "-inf"])
def test_clean_looking_numbers_the_parser_accepts_are_still_rejected(tmp_path, bad):
    # The fast typed read accepts nan and inf as floats; they must still be rejected by row,
    # with the same reason as on the text path.
    path = tmp_path / "t.csv"
    path.write_text("ticket_id,created_at,handle_seconds\n"
                    f"T1,2026-03-01 10:00:00,60\nT2,2026-03-01 11:00:00,{bad}\n")
    config = SourceConfig(name="t", adapter="csv", path=path, fields={}, options={},
                          timezone="UTC")
    batches = list(CsvSource().read(config, ["ticket_id", "created_at", "handle_seconds"]))
    rejected = pa.concat_tables([b.rejected for b in batches])
    assert rejected["reason"].to_pylist() == [f"handle_seconds: '{bad}' is not a number"]
    assert rejected["row"].to_pylist() == [3]
