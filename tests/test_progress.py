"""Progress on long reads: bytes read of a known total, per batch, and how the CLI shows it."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from slaengine.cli.evaluation import _progress
from slaengine.contract import parse_contract
from slaengine.engine import evaluate
from slaengine.plugins.sources import csv as csv_source
from slaengine.plugins.sources.csv import CsvSource

ROWS = 20_000

CONTRACT = """
[contract]
id = "progress"
client = "c"
vendor = "v"
timezone = "UTC"
period = "month"
start = 2026-01-01
end = 2026-03-01

[sources.tickets]
adapter = "csv"
path = "{path}"

[[service_levels]]
id = "frt"
metric = "first_response_time"
source = "tickets"
target = "p90 <= 8h"
"""


def write_tickets(path: Path, rows: int = ROWS) -> None:
    """``rows`` tickets over January and February 2026, answered after 1 to 9 hours."""
    with path.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["ticket_id", "created_at", "first_response_at"])
        for i in range(rows):
            month, day, hour, minute = 1 + i % 2, 1 + i % 28, i % 14, i % 60
            answered = hour + 1 + i % 9  # 1 to 9 hours later, the same day
            out.writerow([f"T{i:06d}", f"2026-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:00Z",
                          f"2026-{month:02d}-{day:02d}T{answered:02d}:{minute:02d}:00Z"])


@pytest.fixture
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Blocks of 16 KiB and batches of 500 rows: a file of ~1 MB is read in many steps."""
    monkeypatch.setattr(csv_source, "_BLOCK_BYTES", 16 << 10)
    monkeypatch.setattr(CsvSource, "batch_rows", 500)


def contract_for(path: Path):
    return parse_contract(CONTRACT.format(path=path.as_posix()))


def reading(calls: list[tuple[str, int | None, int | None]]) -> list[tuple[int, int]]:
    return [(done, total) for text, done, total in calls
            if text.startswith("reading tickets") and total is not None]


@pytest.mark.parametrize("compressed", [False, True])
def test_bytes_read_rise_to_the_file_size_batch_by_batch(tmp_path: Path, small_blocks: None,
                                                         compressed: bool) -> None:
    path = tmp_path / "tickets.csv"
    write_tickets(path)
    if compressed:
        import gzip

        packed = tmp_path / "tickets.csv.gz"
        packed.write_bytes(gzip.compress(path.read_bytes()))
        path.unlink()
        path = packed
    size = path.stat().st_size
    calls: list[tuple[str, int | None, int | None]] = []

    def record(description: str, done: int | None = None, total: int | None = None) -> None:
        calls.append((description, done, total))

    evaluation = evaluate(contract_for(path), progress=record)
    assert evaluation.sources["tickets"].accepted == ROWS
    steps = reading(calls)
    assert steps[0] == (0, size)  # announced before the first byte
    assert all(total == size for _, total in steps)
    done = [d for d, _ in steps]
    assert done == sorted(done)  # never goes back
    assert done[-1] == size  # and ends at the size
    # 20,000 rows in batches of 500: one report per batch (40), not per record.
    assert len(steps) == 1 + ROWS // 500
    if not compressed:  # ~1 MB of text in 16 KiB blocks: the share grows many times
        assert len(set(done)) > 10
    # Once the reading is over, nothing is reported as bytes.
    after = calls[calls.index(next(c for c in calls if c[0].startswith("evaluating"))):]
    assert all(total is None for _, _, total in after)


def test_a_parquet_read_reports_its_share_of_the_rows_in_bytes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    from slaengine.plugins.sources.arrow import ArrowSource

    text = tmp_path / "tickets.csv"
    write_tickets(text)
    path = tmp_path / "tickets.parquet"
    pq.write_table(pacsv.read_csv(text), path, row_group_size=2_000)
    monkeypatch.setattr(ArrowSource, "batch_rows", 1_000)
    size = path.stat().st_size
    calls: list[tuple[str, int | None, int | None]] = []

    def record(description: str, done: int | None = None, total: int | None = None) -> None:
        calls.append((description, done, total))

    contract = parse_contract(CONTRACT.format(path=path.as_posix())
                              .replace('adapter = "csv"', 'adapter = "arrow"'))
    assert evaluate(contract, progress=record).sources["tickets"].accepted == ROWS
    steps = reading(calls)
    done = [d for d, _ in steps]
    assert all(total == size for _, total in steps)
    assert done == sorted(done)
    # 20 batches of 1,000 rows: the n-th has read n/20 of the rows, so n/20 of the bytes.
    assert done[1:] == [size * n // 20 for n in range(1, 21)]


def test_a_callback_taking_only_the_description_gets_only_it(tmp_path: Path,
                                                              small_blocks: None) -> None:
    path = tmp_path / "tickets.csv"
    write_tickets(path, 2_000)
    seen: list[str] = []
    evaluate(contract_for(path), progress=seen.append)
    assert seen[0] == "reading tickets"
    assert "reading tickets: 2,000 records" in seen
    assert all(isinstance(s, str) for s in seen)


def test_a_size_is_known_only_when_every_file_is_a_regular_file(tmp_path: Path) -> None:
    """A FIFO (or standard input) has no size: no total, so the spinner stays."""
    from slaengine.progress import known_size

    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    plain = tmp_path / "plain.csv"
    write_tickets(plain, 10)
    assert known_size([fifo]) is None
    assert known_size([plain]) == plain.stat().st_size
    assert known_size([plain, fifo]) is None
    assert known_size([tmp_path / "missing.csv"]) is None


def render(shown: _progress) -> str:
    console = Console(width=120, record=True, file=open(os.devnull, "w"))  # noqa: SIM115
    console.print(shown.bar.make_tasks_table(shown.bar.tasks))
    return console.export_text()


def test_the_terminal_shows_a_share_and_time_left_only_when_the_size_is_known(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    shown = _progress()
    step = shown.__enter__()
    try:
        step("reading tickets", 0, 4000)
        step("reading tickets: 100 records", 1000, 4000)
        text = render(shown)
        assert "reading tickets: 100 records" in text
        assert "25%" in text  # 1000 of 4000 bytes
        assert "-:--:--" in text or ":" in text.split("25%")[1]  # time left, once estimated
        assert "━" in text  # the bar
        step("evaluating frt")
        text = render(shown)
        assert "evaluating frt" in text
        assert "%" not in text and "━" not in text  # unknown size: the spinner only
        step("reading surveys", 0, 10)  # another read: the share starts again
        step("reading surveys: 5 records", 10, 10)
        assert "100%" in render(shown)
    finally:
        shown.__exit__(None, None, None)


def test_stderr_that_is_not_a_terminal_shows_no_progress(tmp_path: Path) -> None:
    path = tmp_path / "tickets.csv"
    write_tickets(path, 3_000)
    contract = tmp_path / "contract.toml"
    contract.write_text(CONTRACT.format(path=path.as_posix()))
    done = subprocess.run([sys.executable, "-m", "slaengine.cli", "evaluate", str(contract),
                           "-o", str(tmp_path / "report.json")],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert (tmp_path / "report.json").stat().st_size > 0
