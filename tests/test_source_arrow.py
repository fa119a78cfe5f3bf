"""The arrow source: Parquet and Arrow IPC, typed columns, mapping errors, the time window pushed
down, hive partitions, batches, and an end-to-end evaluation with hand-checked numbers."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.feather as feather
import pyarrow.parquet as pq
import pytest

from slaengine.contract import load_contract
from slaengine.engine import evaluate
from slaengine.errors import DataError
from slaengine.fields import TICKETS
from slaengine.plugin import REJECT_SCHEMA, SourceConfig
from slaengine.plugins.sources.arrow import ArrowSource

VENDOR = {"ticket_id": "Ticket", "created_at": "Opened", "first_response_at": "First reply",
          "priority": "Priority", "contacts": "Contacts", "csat": "CSAT"}
FIELDS = list(VENDOR)
BERLIN = pa.timestamp("ms", tz="Europe/Berlin")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def tickets() -> pa.Table:
    """Six rows, three of them unusable (hand-checked below)."""
    opened = [utc(2026, 3, 2, 8), utc(2026, 3, 2, 9), utc(2026, 3, 3, 10), utc(2026, 4, 1, 7),
              utc(2026, 4, 2, 8), None]
    first = [utc(2026, 3, 2, 8, 30), utc(2026, 3, 2, 11), None, utc(2026, 4, 1, 7, 20),
             utc(2026, 4, 2, 7), None]
    return pa.table({
        "Ticket": ["A1", "A2", None, "A4", "A5", "A6"],
        "Opened": pa.array(opened, BERLIN),
        "First reply": pa.array(first, BERLIN),
        "Priority": pa.array(["urgent", "high", "low", "urgent", "urgent", "low"])
        .dictionary_encode(),
        "Contacts": pa.array([1, 2, 1, None, 1, 1], pa.int32()),
        "CSAT": pa.array([5.0, None, 4.0, 7.0, 3.0, 4.0]),
        "Notes": ["x", "y", "z", "w", "v", "u"],
    })
# row 1 A1: fine; row 2 A2: CSAT null = missing, fine; row 3: no ticket id -> rejected;
# row 4 A4: CSAT 7 outside 1-5 -> rejected; row 5 A5: reply before opening -> rejected;
# row 6 A6: no Opened -> rejected ("created_at: missing").
# read 6 = accepted 2 + rejected 4.


def config(path: Path, fields: Mapping[str, str] | None = None, **options: Any) -> SourceConfig:
    return SourceConfig(name="tickets", adapter="arrow", path=path,
                        fields=dict(VENDOR if fields is None else fields), options=options,
                        timezone="America/New_York")


def read_all(
    cfg: SourceConfig, fields: Sequence[str] = FIELDS, source: ArrowSource | None = None
) -> tuple[pa.Table, pa.Table, int, int]:
    batches = list((source or ArrowSource()).read(cfg, fields))
    for b in batches:
        assert b.read == b.records.num_rows + b.rejected.num_rows + b.duplicates.num_rows
        assert b.rejected.schema == REJECT_SCHEMA
        assert b.records.schema == TICKETS.schema(list(fields))
    return (pa.concat_tables([b.records for b in batches]),
            pa.concat_tables([b.rejected for b in batches]), sum(b.read for b in batches),
            len(batches))


@pytest.fixture
def parquet(tmp_path: Path) -> Path:
    path = tmp_path / "tickets.parquet"
    pq.write_table(tickets(), path)
    return path


def test_parquet_reconciles_with_coerce_reasons(parquet: Path) -> None:
    records, rejected, read, _ = read_all(config(parquet))
    assert (read, records.num_rows, rejected.num_rows) == (6, 2, 4)
    assert records["ticket_id"].to_pylist() == ["A1", "A2"]
    assert records["csat"].to_pylist() == [5.0, None]  # a null is a missing value
    assert records["created_at"].to_pylist() == [utc(2026, 3, 2, 8), utc(2026, 3, 2, 9)]
    assert [(r["row"], r["reason"]) for r in rejected.to_pylist()] == [
        (3, "ticket_id: missing"),
        (4, "csat: 7 is outside 1-5"),
        (5, "first_response_at: before created_at"),
        (6, "created_at: missing"),
    ]


def test_missing_column_error_matches_csv(parquet: Path) -> None:
    fields = {**VENDOR, "priority": "priority"}
    with pytest.raises(DataError) as caught:
        read_all(config(parquet, fields))
    message = str(caught.value)
    assert str(parquet) in message
    assert 'sources.tickets.fields.priority = "priority": no column "priority" ' \
           '(did you mean "Priority"?)' in message
    assert '"Notes"' in message  # every column the file has is listed
    with pytest.raises(DataError, match=r"fields.group \(not set, so its canonical name\)"):
        read_all(config(parquet), [*FIELDS, "group"])


def test_time_range_is_pushed_down(parquet: Path) -> None:
    window = (utc(2026, 3, 1), utc(2026, 4, 1, 7, 30))
    cfg = dataclasses.replace(config(parquet), time_range=window)
    records, rejected, read, _ = read_all(cfg)
    # Inside [03-01, 04-01 07:30): rows 1, 2, 3, 4, plus row 6 whose time is missing
    # (kept so it is rejected, not dropped); row 5 (04-02) is filtered: read 5 = 2 + 3.
    assert (read, records.num_rows, rejected.num_rows) == (5, 2, 3)
    assert [r["reason"] for r in rejected.to_pylist()] == [
        "ticket_id: missing", "csat: 7 is outside 1-5", "created_at: missing"]


def test_row_groups_outside_the_window_are_skipped_but_missing_times_still_count(
        tmp_path: Path) -> None:
    # Six row groups of two tickets, one month each from January; the February group also
    # holds a ticket without a time. A window on April reads April's two tickets, plus the
    # February one without a time (rejected, never dropped), and no other row group.
    path = tmp_path / "groups.parquet"
    times = [datetime(2026, m, d, 12, tzinfo=UTC) for m in range(1, 7) for d in (3, 4)]
    times[3] = None
    table = pa.table({"ticket_id": [f"G{i}" for i in range(12)],
                      "created_at": pa.array(times, pa.timestamp("us", tz="UTC"))})
    pq.write_table(table, path, row_group_size=2)
    cfg = dataclasses.replace(config(path, {}),
                              time_range=(utc(2026, 4, 1), utc(2026, 5, 1)))
    small = ArrowSource()
    small.batch_rows = 1  # type: ignore[misc]
    records, rejected, read, _ = read_all(cfg, ["ticket_id", "created_at"], small)
    assert read == 3
    assert records["ticket_id"].to_pylist() == ["G6", "G7"]
    assert [r["reason"] for r in rejected.to_pylist()] == ["created_at: missing"]


def test_naive_timestamps_are_wall_clock_in_the_contract_timezone(tmp_path: Path) -> None:
    path = tmp_path / "naive.parquet"
    naive = pa.array([datetime(2026, 3, 2, 9), datetime(2026, 7, 1, 9)], pa.timestamp("us"))
    pq.write_table(pa.table({"ticket_id": ["N1", "N2"], "created_at": naive}), path)
    cfg = config(path, {})
    records, _, _, _ = read_all(cfg, ["ticket_id", "created_at"])
    # 09:00 in New York: EST (-5) in March before the 8th, EDT (-4) in July
    assert records["created_at"].to_pylist() == [utc(2026, 3, 2, 14), utc(2026, 7, 1, 13)]
    # A window on a naive column is widened by a day: July is outside, March inside.
    windowed = dataclasses.replace(cfg, time_range=(utc(2026, 3, 1), utc(2026, 4, 1)))
    _, _, read, _ = read_all(windowed, ["ticket_id", "created_at"])
    assert read == 1


def test_batches_number_rows_across_the_dataset(parquet: Path) -> None:
    small = ArrowSource()
    small.batch_rows = 2  # type: ignore[misc]
    records, rejected, read, batches = read_all(config(parquet), source=small)
    assert batches == 3  # 6 rows in batches of 2
    assert (read, records.num_rows) == (6, 2)
    assert rejected["row"].to_pylist() == [3, 4, 5, 6]


def test_a_parquet_read_stopped_early_leaves_no_decoding_thread(parquet: Path) -> None:
    # A Parquet file is decoded a batch ahead on a thread of its own: stopping the read
    # after its first batch (as an error elsewhere does) ends that thread too.
    import gc
    import threading

    def decoding() -> list[threading.Thread]:
        return [t for t in threading.enumerate() if t.name == "slaengine-decode"]

    small = ArrowSource()
    small.batch_rows = 2  # type: ignore[misc]
    was_collecting = gc.isenabled()
    gc.disable()  # as the command runs: nothing may depend on the cycle collector
    try:
        reading = small.read(config(parquet), FIELDS)
        assert next(reading).read == 2
        assert len(decoding()) == 1
        reading.close()
        assert decoding() == []
    finally:
        if was_collecting:
            gc.enable()


def test_feather_and_ipc_stream(tmp_path: Path) -> None:
    feather_path = tmp_path / "tickets.feather"
    feather.write_feather(tickets(), feather_path)
    stream_path = tmp_path / "tickets.arrow"
    table = tickets()
    with pa.OSFile(str(stream_path), "wb") as sink, pa.ipc.new_stream(sink, table.schema) as w:
        w.write_table(table)
    for path in (feather_path, stream_path):
        records, rejected, read, _ = read_all(config(path))
        assert (read, records.num_rows, rejected.num_rows) == (6, 2, 4), path


def test_hive_partitioned_folder(tmp_path: Path) -> None:
    folder = tmp_path / "tickets"
    table = tickets().append_column("team", pa.array(["t1", "t1", "t2", "t2", "t2", "t1"]))
    ds.write_dataset(table, folder, format="parquet", partitioning=["team"],
                     partitioning_flavor="hive")
    fields = {**VENDOR, "group": "team"}
    records, rejected, read, _ = read_all(config(folder, fields), [*FIELDS, "group"])
    # Same six rows, two partitions: team=t1 holds A1, A2 (kept) and A6 (rejected).
    assert (read, records.num_rows, rejected.num_rows) == (6, 2, 4)
    assert sorted(zip(records["ticket_id"].to_pylist(), records["group"].to_pylist(),
                      strict=True)) == [("A1", "t1"), ("A2", "t1")]
    columns = dict(ArrowSource().columns(config(folder)) or [])
    assert "team" in columns


def test_format_errors(tmp_path: Path) -> None:
    odd = tmp_path / "tickets.dat"
    pq.write_table(tickets(), odd)
    with pytest.raises(DataError, match=r"sources\.tickets\.format"):
        read_all(config(odd))
    records, _, read, _ = read_all(config(odd, format="parquet"))
    assert (read, records.num_rows) == (6, 2)
    not_parquet = tmp_path / "broken.parquet"
    not_parquet.write_text("Ticket,Opened\n")
    with pytest.raises(DataError, match="cannot be read as Parquet"):
        read_all(config(not_parquet))
    with pytest.raises(DataError, match="not found"):
        read_all(config(tmp_path / "missing.parquet"))


CONTRACT = """
[contract]
id = "pq"
client = "Client Ltd"
vendor = "Vendor Inc"
period = "month"
timezone = "America/New_York"

[sources.tickets]
adapter = "arrow"
path = "tickets.parquet"

[sources.tickets.fields]
ticket_id = "Ticket"
created_at = "Opened"
first_response_at = "First reply"
priority = "Priority"

[[service_levels]]
id = "urgent-first-response"
metric = "first_response_time"
where = { priority = ["urgent"] }
target = "75% within 1h"

[[service_levels]]
id = "volume"
metric = "ticket_volume"
target = "count <= 1"
"""


def test_evaluate_end_to_end(parquet: Path) -> None:
    contract = parquet.parent / "pq.toml"
    contract.write_text(CONTRACT)
    evaluation = evaluate(load_contract(contract))
    account = evaluation.sources["tickets"]
    # CSAT is not needed, so A4 (CSAT 7) is accepted: 6 = 3 (A1, A2, A4) + 3 (rows 3, 5, 6)
    assert (account.read, account.accepted, account.rejected, account.duplicates) == (6, 3, 3, 0)
    by_key = {(v.service_level, v.period): v for v in evaluation.verdicts}
    # March: A1 urgent, answered in 30 min (hit); A2 is high, left out by where: 1/1 = 100%
    urgent = by_key[("urgent-first-response", "2026-03")]
    assert (urgent.value, urgent.status, urgent.excluded) == (1.0, "met", 1)
    # April: A4 urgent, opened 03:00 New York time, answered in 20 min: 1/1 = 100%
    assert by_key[("urgent-first-response", "2026-04")].status == "met"
    # 2 accepted tickets in March > 1 (breached); 1 in April <= 1 (met)
    assert (by_key[("volume", "2026-03")].value, by_key[("volume", "2026-03")].status) == (
        2, "breached")
    assert (by_key[("volume", "2026-04")].value, by_key[("volume", "2026-04")].status) == (
        1, "met")


# --------------------------------------------------------------------------- files read once


def _twenty(start: int = 0) -> pa.Table:
    """Twenty good rows, ids start..start+19, all opened 2026-03-02 08:00Z."""
    return pa.table({"Ticket": [f"T{i}" for i in range(start, start + 20)],
                     "Opened": pa.array([utc(2026, 3, 2, 8)] * 20, BERLIN)})


OPENED = {"ticket_id": "Ticket", "created_at": "Opened"}


def _evaluate(folder: Path, path: str) -> tuple[int, list[str]]:
    """Rows read by a whole evaluation of ``path``, and the files its manifest lists."""
    contract = folder / "c.toml"
    contract.write_text(
        '[contract]\nid = "x"\nclient = "C"\nvendor = "V"\n'
        f'[sources.tickets]\nadapter = "arrow"\npath = "{path}"\n'
        'fields = { ticket_id = "Ticket", created_at = "Opened" }\n'
        '[[service_levels]]\nid = "volume"\nmetric = "ticket_volume"\ntarget = "count <= 5"\n')
    evaluation = evaluate(load_contract(contract))
    files = evaluation.manifest["inputs"]["tickets"]["files"]
    return evaluation.sources["tickets"].read, sorted(e["path"] for e in files)


def test_a_symlink_loop_in_a_folder_is_read_once(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    pq.write_table(_twenty(), data / "a.parquet")
    os.symlink(data, data / "loop")  # data/loop/loop/... would be walked forever
    cfg = config(data, OPENED)
    assert ArrowSource().files(cfg) == [data / "a.parquet"]
    records, rejected, read, _ = read_all(cfg, ["ticket_id", "created_at"])
    assert (read, records.num_rows, rejected.num_rows) == (20, 20, 0)
    assert _evaluate(tmp_path, "data") == (20, ["data/a.parquet"])


def test_two_links_to_one_file_and_a_hidden_file_are_read_once(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    pq.write_table(_twenty(), data / "a.parquet")
    pq.write_table(_twenty(100), data / "b.parquet")
    os.symlink(data / "a.parquet", data / "c.parquet")
    os.link(data / "b.parquet", data / "d.parquet")  # a hard link: same inode
    pq.write_table(_twenty(200), data / "_metadata.parquet")  # bookkeeping: not data
    (data / "notes.txt").write_text("not data")
    records, _, read, _ = read_all(config(data, OPENED), ["ticket_id", "created_at"])
    # a and b once each: 20 + 20
    assert (read, records.num_rows) == (40, 40)
    assert sorted(records["ticket_id"].to_pylist()) == sorted(
        [f"T{i}" for i in range(20)] + [f"T{i}" for i in range(100, 120)])
    assert _evaluate(tmp_path, "data") == (40, ["data/a.parquet", "data/b.parquet"])


def test_a_pattern_overlapping_links_and_a_literal_bracket_name(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    pq.write_table(_twenty(), data / "a.parquet")
    os.symlink(data / "a.parquet", data / "z-link.parquet")
    pq.write_table(_twenty(100), data / "b.parquet")
    # the pattern matches a, its link and b: a is read once, 20 + 20
    assert _evaluate(tmp_path, "data/*.parquet") == (40, ["data/a.parquet", "data/b.parquet"])
    # an existing file whose name holds glob characters is that file, not a pattern
    literal = data / "data[1].parquet"
    pq.write_table(_twenty(300), literal)
    assert ArrowSource().files(config(literal, OPENED)) == [literal]
    records, _, read, _ = read_all(config(literal, OPENED), ["ticket_id", "created_at"])
    assert (read, records["ticket_id"][0].as_py()) == (20, "T300")
    assert _evaluate(tmp_path, "data/data[1].parquet") == (20, ["data/data[1].parquet"])


def test_hive_partitions_survive_a_folder_with_a_loop(tmp_path: Path) -> None:
    folder = tmp_path / "by-team"
    for team, start in (("t1", 0), ("t2", 100)):
        (folder / f"team={team}").mkdir(parents=True)
        pq.write_table(_twenty(start), folder / f"team={team}" / "part-0.parquet")
    os.symlink(folder, folder / "team=t1" / "back")
    fields = {**OPENED, "group": "team"}
    records, _, read, _ = read_all(config(folder, fields), ["ticket_id", "created_at", "group"])
    assert read == 40
    assert sorted(set(records["group"].to_pylist())) == ["t1", "t2"]


# --------------------------------------------------------------------------- same rules as CSV


def test_non_finite_and_out_of_range_values_get_the_csv_reasons(tmp_path: Path) -> None:
    # The same values through CSV text and typed Parquet: CSAT 5 fine, nan/inf/-inf not
    # numbers, 7 outside 1-5; contacts 1, nan, inf, -1 (below 0), 2.5 (not whole), 3.
    csat = [5.0, float("nan"), float("inf"), float("-inf"), 7.0, 4.0]
    contacts = [1.0, float("nan"), 1.0, float("inf"), -1.0, 2.5]
    texts = {"Ticket": [f"R{i}" for i in range(6)],
             "Opened": ["2026-03-02T08:00:00Z"] * 6,
             "CSAT": ["5", "nan", "inf", "-inf", "7", "4"],
             "Contacts": ["1", "nan", "1", "inf", "-1", "2.5"]}
    csv_path = tmp_path / "t.csv"
    csv_path.write_text("\n".join(",".join(row) for row in
                                  zip(*([k, *v] for k, v in texts.items()), strict=True)) + "\n")
    pq.write_table(pa.table({"Ticket": texts["Ticket"],
                             "Opened": pa.array([utc(2026, 3, 2, 8)] * 6, BERLIN),
                             "CSAT": csat, "Contacts": contacts}), tmp_path / "t.parquet")
    fields = {**OPENED, "csat": "CSAT", "contacts": "Contacts"}
    wanted = ["ticket_id", "created_at", "csat", "contacts"]
    from slaengine.plugins.sources.csv import CsvSource

    csv_cfg = dataclasses.replace(config(csv_path, fields), adapter="csv")
    csv_batches = list(CsvSource().read(csv_cfg, wanted))
    csv_rejected = pa.concat_tables([b.rejected for b in csv_batches])
    _, pq_rejected, read, _ = read_all(config(tmp_path / "t.parquet", fields), wanted)
    reasons = sorted(pq_rejected["reason"].to_pylist())
    assert reasons == sorted(csv_rejected["reason"].to_pylist())
    # rows 2-6 rejected, row 1 (5, 1) kept: read 6 = 1 + 5
    assert (read, pq_rejected.num_rows) == (6, 5)
    assert reasons == sorted([
        "csat: 'nan' is not a number; contacts: 'nan' is not a number",
        "csat: 'inf' is not a number",
        "csat: '-inf' is not a number; contacts: 'inf' is not a number",
        "csat: 7 is outside 1-5; contacts: -1 is below 0",
        "contacts: '2.5' is not a whole number",
    ])
    assert sorted(pq_rejected["value"].to_pylist()) == sorted(
        csv_rejected["value"].to_pylist())


# --------------------------------------------------------------------------- column types


@pytest.mark.parametrize(("field", "values", "expected"), [
    ("priority", pa.array([{"x": 1}]), "expects text"),
    ("priority", pa.array([[1]]), "expects text"),
    ("priority", pa.array([[("k", 1)]], pa.map_(pa.string(), pa.int64())), "expects text"),
    ("created_at", pa.array([{"x": 1}]), "expects timestamps"),
    ("created_at", pa.array([1.5]), "expects timestamps"),
    ("created_at", pa.array([1]).dictionary_encode(), "expects timestamps"),
    ("csat", pa.array([[1]]), "expects numbers"),
    ("csat", pa.array([True]), "expects numbers"),
    ("contacts", pa.array([{"x": 1}]), "expects numbers"),
])
def test_a_column_type_the_field_cannot_take_names_file_column_and_types(
    tmp_path: Path, field: str, values: pa.Array, expected: str
) -> None:
    path = tmp_path / "t.parquet"
    columns = {"Ticket": ["A"], "Opened": pa.array([utc(2026, 3, 2, 8)], BERLIN), "X": values}
    if field == "created_at":
        columns.pop("Opened")
    pq.write_table(pa.table(columns), path)
    fields = {**OPENED, field: "X"}
    with pytest.raises(DataError) as error:
        read_all(config(path, fields), list(dict.fromkeys(["ticket_id", "created_at", field])))
    message = str(error.value)
    assert str(path) in message and 'column "X"' in message and expected in message
    assert str(pq.read_schema(path).field("X").type) in message


def test_large_binary_decimal_and_dictionary_columns_are_read(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({
        "Ticket": pa.array(["A", "B", "C"], pa.large_string()),
        "Opened": pa.array([utc(2026, 3, 2, 8)] * 3, BERLIN),
        "Priority": pa.array([b"urgent", b"\xff\xfe", b"low"]),  # row 2 is not UTF-8
        "CSAT": pa.array([Decimal("4.50"), Decimal("5"), Decimal("3")], pa.decimal128(5, 2)),
        "Contacts": pa.array([2, 1, 3]).dictionary_encode(),
    }), path)
    fields = {**OPENED, "priority": "Priority", "csat": "CSAT", "contacts": "Contacts"}
    records, rejected, read, _ = read_all(config(path, fields), list(fields))
    assert (read, records.num_rows) == (3, 2)
    assert records["ticket_id"].to_pylist() == ["A", "C"]
    assert records["priority"].to_pylist() == ["urgent", "low"]
    assert records["csat"].to_pylist() == [4.5, 3.0]
    assert records["contacts"].to_pylist() == [2, 3]
    assert rejected["reason"].to_pylist() == ["priority: not UTF-8 text"]
    assert rejected["row"].to_pylist() == [2]


# --------------------------------------------------------------------------- hostile files


def test_timestamps_at_the_edges_of_time_are_rejected_not_crashing(tmp_path: Path) -> None:
    far = [utc(9999, 12, 31, 23), utc(1, 1, 1), utc(2026, 3, 2, 8), utc(2199, 12, 31, 1)]
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"Ticket": ["A", "B", "C", "D"],
                             "Opened": pa.array(far, pa.timestamp("us", tz="UTC"))}), path)
    records, rejected, read, _ = read_all(config(path, OPENED), ["ticket_id", "created_at"])
    # 9999 and year 1 are outside 1900-01-01..2199-12-31; 2026 and 2199 are kept: 4 = 2 + 2
    assert (read, records["ticket_id"].to_pylist()) == (4, ["C", "D"])
    assert rejected["row"].to_pylist() == [1, 2]
    assert all("is out of range (1900-01-01 to 2199-12-31)" in r
               for r in rejected["reason"].to_pylist())
    # the same wall times without a timezone are placed in New York: no overflow either
    pq.write_table(pa.table({"Ticket": ["A", "B", "C", "D"],
                             "Opened": pa.array([d.replace(tzinfo=None) for d in far],
                                                pa.timestamp("us"))}), path)
    records, rejected, read, _ = read_all(config(path, OPENED), ["ticket_id", "created_at"])
    assert (read, records["ticket_id"].to_pylist(), rejected.num_rows) == (4, ["C", "D"], 2)
    # 2026-03-02 08:00 in New York (EST, -05:00) is 13:00Z
    assert records["created_at"][0].as_py() == utc(2026, 3, 2, 13)


def test_seconds_past_the_microsecond_range_and_int96_are_rejected(tmp_path: Path) -> None:
    path = tmp_path / "t.arrow"
    feather.write_feather(pa.table({
        "Ticket": ["A", "B"],
        "Opened": pa.array([2**50, 1772438400], pa.timestamp("s", tz="UTC"))}), path)
    records, rejected, read, _ = read_all(config(path, OPENED), ["ticket_id", "created_at"])
    # 2**50 s is beyond what microseconds hold; 1772438400 s is 2026-03-02T08:00Z
    assert (read, records["ticket_id"].to_pylist()) == (2, ["B"])
    assert records["created_at"][0].as_py() == utc(2026, 3, 2, 8)
    assert "out of range" in rejected["reason"][0].as_py()
    int96 = tmp_path / "int96.parquet"
    pq.write_table(pa.table({"Ticket": ["A", "B"],
                             "Opened": pa.array([utc(9999, 6, 1), utc(2026, 3, 2, 8)])}),
                   int96, use_deprecated_int96_timestamps=True)
    records, rejected, read, _ = read_all(config(int96, OPENED), ["ticket_id", "created_at"])
    assert (read, records["ticket_id"].to_pylist(), rejected.num_rows) == (2, ["B"], 1)


def test_empty_shapes_read_zero_rows_or_name_the_missing_columns(tmp_path: Path) -> None:
    schema = _twenty().schema
    no_groups = tmp_path / "no-groups.parquet"
    pq.ParquetWriter(no_groups, schema).close()
    assert pq.ParquetFile(no_groups).num_row_groups == 0
    records, rejected, read, batches = read_all(config(no_groups, OPENED),
                                                ["ticket_id", "created_at"])
    assert (read, records.num_rows, rejected.num_rows, batches) == (0, 0, 0, 1)
    no_columns = tmp_path / "no-columns.parquet"
    pq.write_table(pa.table({}), no_columns)
    with pytest.raises(DataError, match='no column "Ticket"'):
        read_all(config(no_columns, OPENED), ["ticket_id", "created_at"])
    nulls = tmp_path / "nulls.parquet"
    pq.write_table(pa.table({"Ticket": ["A", "B"], "Opened": pa.nulls(2),
                             "CSAT": pa.nulls(2)}), nulls)
    fields = {**OPENED, "csat": "CSAT"}
    records, rejected, read, _ = read_all(config(nulls, fields), list(fields))
    assert (read, records.num_rows, rejected["reason"].to_pylist()) == (
        2, 0, ["created_at: missing", "created_at: missing"])


def test_duplicate_names_corrupt_and_truncated_files_are_data_errors(tmp_path: Path) -> None:
    dup = tmp_path / "dup.parquet"
    pq.write_table(pa.Table.from_arrays(
        [pa.array(["A"]), pa.array([utc(2026, 3, 2)]), pa.array(["x"])],
        names=["Ticket", "Opened", "Opened"]), dup)
    with pytest.raises(DataError, match=r"dup\.parquet"):
        read_all(config(dup, OPENED), ["ticket_id", "created_at"])
    corrupt = tmp_path / "corrupt.parquet"
    corrupt.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(DataError, match=r"corrupt\.parquet: cannot be read as Parquet"):
        read_all(config(corrupt, OPENED), ["ticket_id", "created_at"])
    # an IPC stream cut in the middle of its third batch: the file is named, no traceback
    table = pa.concat_tables([_twenty()] * 5)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        for batch in table.to_batches(max_chunksize=20):
            writer.write_batch(batch)
    data = sink.getvalue().to_pybytes()
    cut = tmp_path / "cut.arrow"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match=r"cut\.arrow: cannot be read as Arrow IPC"):
        read_all(config(cut, OPENED), ["ticket_id", "created_at"])


def test_cli_evaluate_on_a_loop_folder_and_a_bad_column_type(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from slaengine.cli import main

    data = tmp_path / "data"
    data.mkdir()
    pq.write_table(_twenty(), data / "a.parquet")
    os.symlink(data, data / "loop")
    _evaluate(tmp_path, "data")  # writes c.toml
    result = CliRunner().invoke(main, ["evaluate", str(tmp_path / "c.toml"), "--format", "json"])
    assert result.exit_code == 0, result.output
    assert '"read": 20' in result.output
    pq.write_table(pa.table({"Ticket": pa.array([[1]] * 2),
                             "Opened": pa.array([utc(2026, 3, 2)] * 2)}), data / "a.parquet")
    result = CliRunner().invoke(main, ["evaluate", str(tmp_path / "c.toml")])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert 'column "Ticket"' in result.output and "list<element: int64>" in result.output


# --------------------------------------------------------------------------- integer ids

INT_ID_CONTRACT = """
[contract]
id = "int-ids"
client = "Client Ltd"
vendor = "Vendor Inc"
period = "month"
timezone = "UTC"

[sources.tickets]
adapter = "arrow"
path = "tickets.parquet"
fields = { ticket_id = "id", created_at = "created", first_response_at = "replied" }

[[service_levels]]
id = "answered-within-1h"
metric = "first_response_time"
target = "90% within 1h"

[[service_levels]]
id = "volume"
metric = "ticket_volume"
target = "count <= 2"
"""


@pytest.mark.parametrize("id_type", [pa.int64(), pa.int32(), pa.uint64(), pa.int8()])
def test_integer_ids_stay_integers_until_shown(tmp_path: Path, id_type: pa.DataType) -> None:
    """Integer ticket ids are not made text for every record: the records keep the source's
    type; the ids a verdict names and the evidence shows are their decimal text, as when every
    id was made text on reading (the same report, byte for byte)."""
    import csv

    from slaengine.engine.read import join
    from slaengine.evidence import write_evidence_files
    from slaengine.present import evaluation_to_dict

    t = lambda h, m=0: datetime(2026, 3, 2, h, m, tzinfo=UTC)  # noqa: E731
    ids = [7, 100, 3, 42, 5] if id_type != pa.int8() else [7, 100, 3, 42, -5]
    pq.write_table(pa.table({
        "id": pa.array(ids, id_type),
        "created": pa.array([t(8), t(9), t(10), t(11), t(12)], pa.timestamp("us", tz="UTC")),
        # 7 within 1h; 100 after 2h; 3 never answered; 42 within; the last after 90 min
        "replied": pa.array([t(8, 30), t(11), None, t(11, 10), t(13, 30)],
                            pa.timestamp("us", tz="UTC")),
    }), tmp_path / "tickets.parquet")
    (tmp_path / "c.toml").write_text(INT_ID_CONTRACT)
    config = SourceConfig(name="tickets", adapter="arrow", path=tmp_path / "tickets.parquet",
                          fields={"ticket_id": "id", "created_at": "created"}, options={},
                          timezone="UTC")
    (batch,) = list(ArrowSource().read(config, ["ticket_id", "created_at"]))
    assert batch.records["ticket_id"].type == id_type  # as the file has them
    assert batch.records["ticket_id"].to_pylist() == ids
    evaluation = evaluate(load_contract(tmp_path / "c.toml"), evidence=True)
    (within,) = [v for v in evaluation.verdicts if v.service_level == "answered-within-1h"]
    # missed: 100 (2h), 3 (never answered), the last (90 min), in record order
    assert within.missed == ("100", "3", str(ids[4])) and within.missed_count == 3
    assert evaluation_to_dict(evaluation)["verdicts"][0]["missed"] == ["100", "3", str(ids[4])]
    assert evaluation.evidence["answered-within-1h"]["ticket_id"].type == pa.string()
    (tmp_path / "evidence").mkdir()
    written = write_evidence_files(evaluation, tmp_path / "evidence")
    files = [p for p in written if p.parent.name == "answered-within-1h"]
    with (tmp_path / "evidence" / files[0]).open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    # text, as before: a negative id is neutralised like any text starting with "-"
    last = f"'{ids[4]}" if ids[4] < 0 else str(ids[4])
    assert sorted(r["ticket_id"] for r in rows) == sorted(["100", "3", last])
    volume = [v for v in evaluation.verdicts if v.service_level == "volume"]
    assert evaluation.evidence["volume"]["ticket_id"].type == pa.string()
    assert volume[0].status == "breached"  # 5 tickets against at most 2

    # a link between integer ids and text ids (a survey export in CSV) compares them as text
    records = pa.table({"ticket_id": pa.array(["42", "8", "100"])})
    linked = pa.table({"ticket_id": pa.array(ids, id_type), "n": pa.array([1, 2, 3, 4, 5])})
    joined, missing = join(records, linked, "ticket_id", ["n"])
    assert joined["n"].to_pylist() == [4, None, 2] and missing == 1
