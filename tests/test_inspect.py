"""``slaengine inspect``: columns, mapping, types, row counts, time range and samples, for a
contract's sources and for bare files."""

from __future__ import annotations

import gzip
import os
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from slaengine.cli import main
from slaengine.errors import UsageError
from slaengine.inspect import guess_adapter, inspect_target

DATA = Path(__file__).parent / "data"
NEW_YORK = ZoneInfo("America/New_York")


def test_contract_source_shows_mapping_columns_counts_and_range() -> None:
    [found] = inspect_target(DATA / "small.toml", rows=2)
    assert (found.source, found.adapter) == ("tickets", "csv")
    assert ("ticket_id", "Ticket", "text") in found.mapping
    assert ("created_at", "Opened", "timestamp") in found.mapping
    assert ("contacts", "Contacts", "count") in found.mapping
    assert ("csat", "CSAT", "score") in found.mapping
    assert found.columns is not None
    assert ("Opened", "text") in found.columns  # CSV values are text until typed
    account = found.account
    assert account is not None
    # the same accounting as evaluate (tests/test_engine.py): 12 = 9 + 3 + 0
    assert (account.read, account.accepted, account.rejected, account.duplicates) == (12, 9, 3, 0)
    assert found.first is not None and found.first.tzinfo == NEW_YORK
    assert found.first.date() <= found.last.date()  # type: ignore[union-attr]
    assert found.sample is not None and found.sample.num_rows == 2


def test_unknown_source_name_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match='no source called "ticket"'):
        inspect_target(DATA / "small.toml", source="ticket")


def test_bare_zendesk_folder_reads_every_field_it_provides() -> None:
    [found] = inspect_target(DATA / "zendesk" / "pages")
    assert found.adapter == "zendesk"
    assert ("channel", "via.channel", "category") in found.mapping
    assert ("satisfaction", "satisfaction_rating.score", "category") in found.mapping
    account = found.account
    assert account is not None
    # tests/test_source_zendesk.py: 8 = 3 accepted + 3 rejected + 2 duplicates
    assert (account.read, account.accepted, account.rejected, account.duplicates) == (8, 3, 3, 2)
    # UTC for a bare file: 101 at 03-02 09:00 is the first, 103 at 03-03 08:00 the last
    assert found.first == datetime(2026, 3, 2, 9, tzinfo=ZoneInfo("UTC"))
    assert found.last == datetime(2026, 3, 3, 8, tzinfo=ZoneInfo("UTC"))


def test_bare_parquet_with_canonical_and_vendor_columns(tmp_path: Path) -> None:
    canonical = tmp_path / "canonical.parquet"
    pq.write_table(pa.table({"ticket_id": ["a", "b", None], "created_at": [
        "2026-01-01T10:00:00Z", "2026-01-02T10:00:00Z", "2026-01-03T10:00:00Z"],
        "Other": [1, 2, 3]}), canonical)
    [found] = inspect_target(canonical)
    assert found.adapter == "arrow"
    assert [m[0] for m in found.mapping] == ["ticket_id", "created_at"]
    assert found.account is not None
    # 3 read = 2 accepted + 1 rejected (no ticket id)
    assert (found.account.read, found.account.accepted, found.account.rejected) == (3, 2, 1)

    vendor = tmp_path / "vendor.parquet"
    pq.write_table(pa.table({"Ticket ID": ["a"], "Created": ["2026-01-01"]}), vendor)
    [found] = inspect_target(vendor)
    assert found.account is None
    assert found.columns == [("Ticket ID", "string"), ("Created", "string")]
    assert "fields = {" in found.notes[0]


def test_adapter_guesses() -> None:
    assert guess_adapter(Path("x/tickets.csv.gz")) == "csv"
    assert guess_adapter(Path("x/t.feather")) == "arrow"
    assert guess_adapter(Path("x/page-001.json.gz")) == "zendesk"
    with pytest.raises(UsageError, match="--adapter"):
        guess_adapter(Path("x/tickets.xlsx"))


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def test_cli_prints_every_section() -> None:
    result = run("inspect", str(DATA / "small.toml"), "--rows", "2")
    assert result.exit_code == 0, result.output
    for text in ("source tickets", "columns in the data", "canonical fields",
                 "rows: 12 read = 9 accepted + 3 rejected + 0 duplicates", "rejected by reason",
                 "first 2 records"):
        assert text in result.output, text


def test_cli_usage_errors_exit_2(tmp_path: Path) -> None:
    odd = tmp_path / "tickets.xlsx"
    odd.write_text("x")
    result = run("inspect", str(odd))
    assert result.exit_code == 2
    assert "cannot tell the adapter" in result.output
    result = run("inspect", str(DATA / "small.toml"), "--source", "nope")
    assert result.exit_code == 2
    assert 'no source called "nope"' in result.output


def test_missing_empty_corrupt_truncated_or_looping_data_exits_2(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    corrupt = tmp_path / "corrupt.parquet"
    corrupt.write_bytes(bytes(range(256)) * 4)
    page = (DATA / "zendesk" / "pages" / "page-001.json").read_bytes()
    truncated = tmp_path / "page.json.gz"
    truncated.write_bytes(gzip.compress(page)[:60])
    only_link = tmp_path / "loop"
    only_link.mkdir()
    os.symlink(only_link, only_link / "again")  # a folder holding only a link to itself
    cases = {
        tmp_path / "missing.parquet": "no such file or folder",
        tmp_path / "empty": "no Parquet, Arrow or JSON files",
        corrupt: "cannot be read as Parquet",
        truncated: "cannot be read",
        only_link: "no Parquet, Arrow or JSON files",
    }
    for target, said in cases.items():
        result = run("inspect", str(target))
        assert result.exit_code == 2, (target, result.output)
        assert said in result.output, (target, result.output)
        assert not isinstance(result.exception, Exception) or isinstance(
            result.exception, SystemExit), result.exception


def test_a_source_that_fails_is_shown_then_exits_2(tmp_path: Path) -> None:
    # vendor columns are shown (to fix the mapping), then the missing column ends the run
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"Ticket": ["a"], "created_at": ["2026-01-01T10:00:00Z"],
                             "ticket_id": pa.array([[1]])}), path)
    result = run("inspect", str(path))
    assert result.exit_code == 2
    assert "columns in the data" in result.output
    assert "list<element: int64>" in result.output and "expects text" in result.output


def test_a_looping_folder_is_inspected_once(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    pq.write_table(pa.table({"ticket_id": ["a", "b"], "created_at": [
        "2026-01-01T10:00:00Z", "2026-01-02T10:00:00Z"]}), folder / "t.parquet")
    os.symlink(folder, folder / "loop")
    [found] = inspect_target(folder)
    assert found.account is not None
    assert (found.account.read, found.account.accepted) == (2, 2)
