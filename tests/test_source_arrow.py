"""The arrow source: Parquet and Arrow IPC, typed columns, mapping errors, the time window pushed
down, hive partitions, batches, and an end-to-end evaluation with hand-checked numbers."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
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
from slaengine.kinds import REJECT_SCHEMA, SourceConfig
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
