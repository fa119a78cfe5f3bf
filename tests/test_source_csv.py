"""The csv source: header checks, vendor column names, line numbers, ragged rows, gzip."""

from __future__ import annotations

import gzip
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from slaengine.errors import DataError
from slaengine.fields import TICKETS
from slaengine.plugin import REJECT_SCHEMA, SourceBatch, SourceConfig
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
        assert b.read == b.records.num_rows + b.rejected.num_rows + b.duplicates.num_rows
        assert b.duplicates.schema == REJECT_SCHEMA
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


# --------------------------------------------------------------------------- long lines


def duplicates_of(batches: list[SourceBatch]) -> list[tuple[int, str, str]]:
    table = pa.concat_tables([b.duplicates for b in batches])
    return [(r["row"], r["value"], r["reason"]) for r in table.to_pylist()]


def test_a_header_wider_than_the_block_is_read(tmp_path: Path) -> None:
    # 5,000 columns, the mapped ones last: the header alone is about 50 KB, the block 8 KB.
    filler = [f"column number {i}" for i in range(4_998)]
    header = ",".join([*filler, "Ticket ID", "Created"])
    rows = [",".join(["x"] * 4_998 + [f"T{i}", "2026-03-01T09:00:00Z"]) for i in range(3)]
    path = write(tmp_path, "\n".join([header, *rows]) + "\n")
    source = CsvSource()
    with _small_blocks(8 << 10):
        records, rejected, read, _ = read_all(config(path), ["ticket_id", "created_at"], source)
        assert len(source.columns(config(path)) or []) == 5_000
    assert records.column("ticket_id").to_pylist() == ["T0", "T1", "T2"]
    assert rejected.num_rows == 0 and read == 3


def test_a_huge_quoted_value_among_normal_rows_is_read(tmp_path: Path) -> None:
    # A 5 MB description (with newlines and quotes) on line 3, ahead of 1,000 normal rows: the
    # block (2 MB) grows; every row is read once and the lines after it stay right.
    big = ('"' + ("lorem ipsum, \"dolor\"\n" * 250_000).replace('"dolor"', '""dolor""') + '"')
    assert len(big) > 5_000_000
    rows = ["Ticket ID,Subject,Created", "T0,short,2026-03-01T09:00:00Z",
            f"T1,{big},2026-03-01T09:00:00Z"]
    rows += [f"T{i},s,2026-03-01T09:00:00Z" for i in range(2, 1_002)]
    rows.append("T9999,s,not a date")
    path = write(tmp_path, "\n".join(rows) + "\n")
    fields = {"ticket_id": "Ticket ID", "created_at": "Created", "tags": "Subject"}
    records, rejected, read, _ = read_all(config(path, fields), ["ticket_id", "tags"])
    assert read == 1_003 and records.num_rows == 1_003  # T0, T1, T2..T1001, T9999
    assert len(records.column("tags")[1].as_py()) > 4_900_000
    records, rejected, read, _ = read_all(config(path, fields), ["ticket_id", "created_at"])
    # The quoted value spans 250,001 lines but counts as one row: T9999 is data row 1,003,
    # so line 1,004.
    assert [(r["row"], r["field"]) for r in rejected.to_pylist()] == [(1_004, "created_at")]
    assert read == 1_003 == records.num_rows + 1


def test_a_first_data_line_longer_than_the_block_is_read(tmp_path: Path) -> None:
    long_text = "y" * 300_000
    path = write(tmp_path, f"Ticket ID,Note,Created\nT1,{long_text},2026-03-01\nT2,n,2026-03-01\n")
    fields = {"ticket_id": "Ticket ID", "created_at": "Created", "tags": "Note"}
    with _small_blocks(64 << 10):
        records, _, read, _ = read_all(config(path, fields), ["ticket_id", "tags"])
    assert read == 2 and records.column("tags").to_pylist() == [long_text, "n"]


def test_a_long_row_late_in_the_careful_read_is_read_once(tmp_path: Path) -> None:
    # A ragged row sends the read to the careful stage; a 200 KB row later outgrows its block:
    # the careful stage reads again from the first row not yet delivered, no row twice.
    rows = ["Ticket ID,Note,Created", "T1,a,2026-03-01", "T2,ragged", "T3,b,2026-03-01",
            f"T4,{'z' * 200_000},2026-03-01", "T5,c,2026-03-01"]
    path = write(tmp_path, "\n".join(rows) + "\n")
    fields = {"ticket_id": "Ticket ID", "created_at": "Created"}
    with _small_blocks(16 << 10):
        records, rejected, read, _ = read_all(config(path, fields), ["ticket_id"], _small(2))
    assert records.column("ticket_id").to_pylist() == ["T1", "T3", "T4", "T5"]
    assert [(r["row"], r["reason"]) for r in rejected.to_pylist()] == [
        (3, "expected 3 columns, found 2")]
    assert read == 5


# --------------------------------------------------------------------------- options


@pytest.mark.parametrize("delimiter", ["§", "€", "😀", ";;", "\\t", '"', "'", "\n", "\r", "\x00",
                                       ""])
def test_a_delimiter_that_is_not_one_ascii_character_is_refused(tmp_path, delimiter) -> None:
    path = write(tmp_path, "Ticket ID\nT1\n")
    with pytest.raises(DataError, match=r"sources\.tickets\.delimiter .*one ASCII character"):
        list(CsvSource().read(config(path, delimiter=delimiter), ["ticket_id"]))


@pytest.mark.parametrize("delimiter", [";", "|", "\t"])
def test_ascii_delimiters_are_read(tmp_path, delimiter) -> None:
    path = write(tmp_path, f"Ticket ID{delimiter}Created\nT1{delimiter}2026-03-01\n")
    records, _, read, _ = read_all(config(path, delimiter=delimiter),
                                   ["ticket_id", "created_at"])
    assert records.column("ticket_id").to_pylist() == ["T1"] and read == 1


@pytest.mark.parametrize("encoding", ["base64", "rot13", "zlib", "hex", "bz2_codec", "uu",
                                      "no-such-codec", "quopri"])
def test_an_encoding_that_is_not_a_text_encoding_is_refused(tmp_path, encoding) -> None:
    path = write(tmp_path, "Ticket ID\nT1\n")
    with pytest.raises(DataError, match=rf'sources\.tickets\.encoding = "{encoding}"'):
        list(CsvSource().read(config(path, encoding=encoding), ["ticket_id"]))


def test_undecodable_bytes_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes(b"Ticket ID,Created\nT1,2026-03-01\nT2,2026-03-01\nT\xff3,2026-03-01\n")
    for encoding in ("utf-8", "ascii"):
        cfg = config(path, encoding=encoding)
        with pytest.raises(DataError, match=r"line 4: text is not valid .*sources\.tickets\."
                                            r"encoding"):
            read_all(cfg, ["ticket_id", "created_at"])


# --------------------------------------------------------------------------- duplicates


def test_a_repeated_id_is_a_duplicate_of_its_first_accepted_row(tmp_path: Path) -> None:
    path = write(tmp_path, """\
Ticket ID,Created,Priority
T1,2026-03-01T09:00:00Z,High
T2,2026-03-01T09:00:00Z,Low
T1,2026-03-02T09:00:00Z,Low
 T2 ,2026-03-03T09:00:00Z,Low
T3,not a date,Low
T3,2026-03-04T09:00:00Z,Low
T3,2026-03-05T09:00:00Z,Low
,2026-03-05T09:00:00Z,Low
""")
    records, rejected, read, batches = read_all(config(path),
                                                ["ticket_id", "created_at", "priority"])
    # T1 line 2 kept, line 4 its duplicate; " T2 " trims to T2 (line 3); T3 on line 6 is
    # rejected, so it takes no part: line 7 is kept and line 8 is its duplicate.
    assert records.column("ticket_id").to_pylist() == ["T1", "T2", "T3"]
    assert records.column("priority").to_pylist() == ["High", "Low", "Low"]
    assert duplicates_of(batches) == [(4, "T1", "duplicate of line 2"),
                                      (5, "T2", "duplicate of line 3"),
                                      (8, "T3", "duplicate of line 7")]
    # A row without an id is rejected (ticket_id requested) and the T3 line 6 date is rejected.
    assert [r["row"] for r in rejected.to_pylist()] == [6, 9]
    assert read == 8 == 3 + 2 + 3


def test_duplicates_are_found_across_batches_and_when_ids_are_not_requested(tmp_path) -> None:
    ids = [f"T{i % 7}" for i in range(30)]  # T0..T6, then repeats
    lines = "\n".join(f"{t},2026-03-01T09:00:00Z" for t in ids)
    path = write(tmp_path, f"Ticket ID,Created\n{lines}\n")
    records, rejected, read, batches = read_all(config(path), ["created_at"], _small(4))
    assert records.num_rows == 7 and rejected.num_rows == 0 and read == 30
    dup = duplicates_of(batches)
    assert len(dup) == 23
    # Data row i is on line i + 2; T0 first on line 2, again on rows 7, 14, ... (line 9, 16).
    assert dup[0] == (9, "T0", "duplicate of line 2")
    assert dup[-1] == (31, "T1", "duplicate of line 3")  # row 29 = T1


def test_without_an_id_column_nothing_is_a_duplicate(tmp_path: Path) -> None:
    path = write(tmp_path, "Created\n2026-03-01\n2026-03-01\n")
    records, _, read, batches = read_all(config(path, {"created_at": "Created"}),
                                         ["created_at"])
    assert records.num_rows == 2 == read and duplicates_of(batches) == []


def test_first_seen_agrees_with_an_exact_count_on_many_ids() -> None:
    from slaengine.plugins.sources.csv import _FirstSeen

    rng = __import__("random").Random(3)
    seen = _FirstSeen()
    every: list[str] = []
    for _ in range(5):
        batch = [rng.choice(["", "ü", "a", "ab", "ba", "a\x00", "x" * 40]) + str(rng.randrange(500))
                 for _ in range(2_000)]
        start = len(every) + 2
        repeat, first = seen.check(pa.array(batch), np.arange(start, start + 2_000))
        for j, text in enumerate(batch):
            earlier = every.index(text) if text in every else (
                batch.index(text) + len(every) if batch.index(text) < j else None)
            assert repeat[j] == (earlier is not None)
            if earlier is not None:
                assert first[j] == earlier + 2
        every += batch
    # The exact path (used on a hash collision) gives the same answer.
    other = _FirstSeen()
    other.check(pa.array(every[:4_000]), np.arange(2, 4_002))
    exact = other._exactly(pa.array(every[4_000:6_000]), np.arange(4_002, 6_002))
    fast = _FirstSeen()
    fast.check(pa.array(every[:4_000]), np.arange(2, 4_002))
    assert (fast.check(pa.array(every[4_000:6_000]),
                       np.arange(4_002, 6_002))[0] == exact[0]).all()


# --------------------------------------------------------------------------- columns, files


def test_a_used_column_repeated_in_the_header_is_ambiguous(tmp_path: Path) -> None:
    path = write(tmp_path, "Ticket ID,Created,Priority,Created\nT1,2026-03-01,High,2026-03-02\n")
    with pytest.raises(DataError) as caught:
        list(CsvSource().read(config(path), ["ticket_id", "created_at"]))
    message = str(caught.value)
    assert "ambiguous" in message and '"Created"' in message and "columns 2 and 4" in message
    assert "sources.tickets.fields.created_at" in message and str(path) in message
    # Repeated but unused: fine.
    path = write(tmp_path, "Ticket ID,Note,Note\nT1,a,b\n")
    records, _, read, _ = read_all(config(path), ["ticket_id"])
    assert records.num_rows == 1 == read


def test_path_names_one_file(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("Ticket ID\nT1\n")
    (tmp_path / "b.csv").write_text("Ticket ID\nT2\n")
    with pytest.raises(DataError, match=r"is a folder.*sources\.tickets\.path"):
        list(CsvSource().read(config(tmp_path), ["ticket_id"]))
    with pytest.raises(DataError, match=r"matches 2 files.*sources\.tickets\.path"):
        list(CsvSource().read(config(tmp_path / "*.csv"), ["ticket_id"]))
    literal = tmp_path / "data[1].csv"
    literal.write_text("Ticket ID\nT9\n")
    (tmp_path / "data1.csv").write_text("Ticket ID\nT1\n")
    assert CsvSource().files(config(literal)) == [literal]
    records, _, _, _ = read_all(config(literal), ["ticket_id"])
    assert records.column("ticket_id").to_pylist() == ["T9"]


# --------------------------------------------------------------------------- hostile content


def test_hostile_values_are_rejected_with_their_line(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes(
        b"Ticket ID,Created,Contacts,Handle\n"
        b"T1,2026-03-01,1,1e309\n"          # 2: an infinite number
        b"T2,2026-03-01,1,nan\n"            # 3
        b"T3,2026-03-01,1,-inf\n"           # 4
        b"T4,2026-03-01,-0,-0\n"            # 5: -0 is zero; fine
        b"T5,2026-03-01," + b"9" * 400 + b",1\n"  # 6: a count beyond int64
        b"T6,9999-12-31T23:59:59Z,1,1\n"    # 7: after 2199-12-31, out of range
        b"T7,0001-01-01T00:00:00Z,1,1\n"    # 8: before 1900-01-01, out of range
        b"T\x008,2026-03-01,1,1\n"          # 9: an id with a NUL in it is kept as it is
        b"T9,2026-03-01\xef\xbb\xbf,1,1\n"  # 10: a BOM inside a value
    )
    fields = {"ticket_id": "Ticket ID", "created_at": "Created", "contacts": "Contacts",
              "handle_seconds": "Handle"}
    records, rejected, read, _ = read_all(config(path, fields, timezone="UTC"),
                                          ["ticket_id", "created_at", "contacts",
                                           "handle_seconds"])
    rows = {r["row"]: r["reason"] for r in rejected.to_pylist()}
    assert {2, 3, 4, 6, 7, 8} <= set(rows) and 5 not in rows
    assert "out of range (1900-01-01 to 2199-12-31)" in rows[7] and "out of range" in rows[8]
    assert all(rows[r] for r in rows)
    assert read == 9 == records.num_rows + rejected.num_rows


def test_cr_line_endings_and_a_header_only_file(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes(b"Ticket ID,Created\r1,2026-03-01\r2,2026-03-01\r")
    records, _, read, _ = read_all(config(path), ["ticket_id"])
    assert records.column("ticket_id").to_pylist() == ["1", "2"] and read == 2
    path.write_bytes(b"Ticket ID,Created")
    records, _, read, _ = read_all(config(path), ["ticket_id"])
    assert records.num_rows == 0 == read


def test_a_file_that_is_not_what_its_extension_says(tmp_path: Path) -> None:
    fake = tmp_path / "t.csv.gz"
    fake.write_text("Ticket ID\nT1\n")
    with pytest.raises(DataError, match=str(fake)):
        list(CsvSource().read(config(fake), ["ticket_id"]))
    hidden = tmp_path / "t.csv"
    hidden.write_bytes(gzip.compress(b"Ticket ID\nT1\n"))
    with pytest.raises(DataError, match=str(hidden)):
        list(CsvSource().read(config(hidden), ["ticket_id"]))


# --------------------------------------------------------------------------- through the CLI


def cli_contract(tmp_path: Path, data: str | bytes, **options: str) -> Path:
    data_path = tmp_path / "t.csv"
    if isinstance(data, bytes):
        data_path.write_bytes(data)
    else:
        data_path.write_text(data)
    extra = "".join(f'{k} = "{v}"\n' for k, v in options.items())
    contract = tmp_path / "c.toml"
    contract.write_text(f"""\
[contract]
id = "c"
client = "A"
vendor = "B"
monthly_fee = "100.00"
period = "month"
timezone = "UTC"

[sources.tickets]
adapter = "csv"
path = "t.csv"
{extra}fields = {{ ticket_id = "Ticket ID", created_at = "Created", resolved_at = "Resolved" }}

[[service_levels]]
id = "resolution"
metric = "resolution_time"
target = "90% within 4h"
""")
    return contract


def evaluate(contract: Path):
    from click.testing import CliRunner

    from slaengine.cli import main
    return CliRunner().invoke(main, ["evaluate", str(contract), "--format", "json"])


def test_cli_counts_duplicates_and_reconciles(tmp_path: Path) -> None:
    contract = cli_contract(tmp_path, """\
Ticket ID,Created,Resolved
T1,2026-03-01T09:00:00Z,2026-03-01T10:00:00Z
T1,2026-03-01T09:00:00Z,2026-03-01T20:00:00Z
T2,2026-03-01T09:00:00Z,2026-03-01T10:00:00Z
""")
    result = evaluate(contract)
    assert result.exit_code == 0, result.output
    tickets = __import__("json").loads(result.output)["sources"]["tickets"]
    assert (tickets["read"], tickets["accepted"], tickets["rejected"],
            tickets["duplicates"]) == (3, 2, 0, 1)


@pytest.mark.parametrize(("options", "needle"), [
    ({"delimiter": "§"}, "sources.tickets.delimiter"),
    ({"encoding": "base64"}, "sources.tickets.encoding"),
])
def test_cli_bad_options_exit_2(tmp_path: Path, options, needle) -> None:
    result = evaluate(cli_contract(tmp_path, "Ticket ID,Created,Resolved\n", **options))
    assert result.exit_code == 2, result.output
    assert needle in result.output and "Traceback" not in result.output


def test_cli_missing_file_names_the_contract(tmp_path: Path) -> None:
    contract = cli_contract(tmp_path, "")
    (tmp_path / "t.csv").unlink()
    result = evaluate(contract)
    assert result.exit_code == 2
    assert "file not found" in result.output and "sources.tickets.path" in result.output
    assert str(contract) in result.output


def test_cli_ambiguous_header_exit_2(tmp_path: Path) -> None:
    result = evaluate(cli_contract(tmp_path, "Ticket ID,Created,Resolved,Ticket ID\n"))
    assert result.exit_code == 2 and "ambiguous" in result.output


class _small_blocks:
    """Parse with a smaller first block, so that short test files outgrow it."""

    def __init__(self, size: int) -> None:
        self.size = size

    def __enter__(self) -> None:
        import slaengine.plugins.sources.csv as module
        self.module, self.saved = module, module._BLOCK_BYTES
        module._BLOCK_BYTES = self.size

    def __exit__(self, *exc: object) -> None:
        self.module._BLOCK_BYTES = self.saved


def _small(rows: int) -> CsvSource:
    source = CsvSource()
    source.batch_rows = rows  # type: ignore[misc]
    return source


def test_a_row_handler_is_let_go_before_the_read_goes_on():
    # Arrow's CSV reader can drop its last reference (and so the Python row handler) on one
    # of its I/O threads a moment after it is closed; freed there while the interpreter shuts
    # down, the process aborts. Closing a _CsvReader waits until the handler is freed: here
    # by a thread that lets go of it a little later.
    import threading
    import time
    import weakref

    import pyarrow as pa

    from slaengine.plugins.sources.csv import _CsvReader, _row_skipper

    made = []

    def ragged():
        made.append(_row_skipper())
        return made[-1]

    reader = _CsvReader(pa.BufferReader(b"a,b\n1,2\n1\n"), ",", ragged=ragged)
    assert reader.schema.names == ["a", "b"]
    alive = weakref.ref(made[0])
    holding, started = [made.pop()], threading.Event()

    def let_go() -> None:
        started.set()
        time.sleep(0.2)
        holding.clear()

    other = threading.Thread(target=let_go)
    other.start()
    started.wait()
    reader.close()
    assert alive() is None
    other.join()
