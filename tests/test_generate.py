"""The example-data generator is seeded, streams the requested rows and writes both formats."""

from __future__ import annotations

import csv
import importlib.util
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "examples" / "generate.py"
HEADER = [
    "Ticket ID",
    "Created",
    "First Reply",
    "Solved",
    "Priority",
    "Channel",
    "Agent",
    "Contacts",
    "Handle (s)",
    "CSAT",
    "NPS",
    "Reopens",
    "Escalated",
    "Replies",
    "Response (s)",
]


@pytest.fixture(scope="module")
def gen():
    spec = importlib.util.spec_from_file_location("slaengine_examples_generate", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop(spec.name, None)


def run(gen, out: Path, *args: str) -> bytes:
    assert gen.main(["--rows", "500", "--months", "2", *args, "--out", str(out)]) == 0
    return out.read_bytes()


def read_rows(path: Path) -> list[list[str]]:
    with open(path, newline="") as fh:
        return list(csv.reader(fh))


def test_same_seed_same_bytes_other_seed_differs(gen, tmp_path):
    a = run(gen, tmp_path / "a.csv", "--seed", "11")
    b = run(gen, tmp_path / "b.csv", "--seed", "11")
    c = run(gen, tmp_path / "c.csv", "--seed", "12")
    assert a == b
    assert a != c


def test_header_and_row_accounting(gen, tmp_path, capsys):
    out = tmp_path / "t.csv"
    run(gen, out, "--seed", "3", "--bad-rows", "6")
    rows = read_rows(out)
    assert rows[0] == HEADER
    data = rows[1:]
    assert len(data) == 500 + 6
    assert all(len(r) == len(HEADER) for r in data)

    # exactly one of each kind of broken row, the rest clean
    created = [r[1] for r in data]
    assert created.count("yesterday") == 1
    assert created.count("2026-02-30 10:00:00") == 1
    assert [r[0] for r in data].count("") == 1
    assert [r[7] for r in data].count("two") == 1
    assert [r[9] for r in data].count("7") == 1
    ok_created = [r for r in data if r[1] not in ("yesterday", "2026-02-30 10:00:00")]
    early = [r for r in ok_created if r[2] and r[2] < r[1]]
    assert len(early) == 1

    # one line on stderr, nothing on stdout
    captured = capsys.readouterr()
    assert captured.out == ""
    assert len(captured.err.strip().splitlines()) == 1


def test_no_bad_rows_and_sorted(gen, tmp_path):
    out = tmp_path / "clean.csv"
    run(gen, out, "--bad-rows", "0")
    data = read_rows(out)[1:]
    assert len(data) == 500
    created = [r[1] for r in data]
    assert created == sorted(created)
    assert {r[4] for r in data} <= {"urgent", "high", "normal", "low"}
    assert {r[5] for r in data} <= {"email", "phone", "chat", "web"}
    assert all(r[9] in ("", "1", "2", "3", "4", "5") for r in data)
    assert all(r[10] == "" or 0 <= int(r[10]) <= 10 for r in data)


def test_parquet_same_rows_and_types(gen, tmp_path):
    import pyarrow as pa

    out = tmp_path / "t.parquet"
    a = run(gen, out, "--seed", "5", "--format", "parquet", "--bad-rows", "6")
    assert run(gen, out, "--seed", "5", "--format", "parquet", "--bad-rows", "6") == a
    table = pq.read_table(out)
    assert table.column_names == HEADER
    assert table.num_rows == 506
    assert table.schema.field("Created").type == pa.timestamp("us", tz="America/New_York")
    assert pa.types.is_integer(table.schema.field("Contacts").type)

    csv_out = tmp_path / "t.csv"
    run(gen, csv_out, "--seed", "5", "--bad-rows", "6")
    assert len(read_rows(csv_out)) - 1 == table.num_rows
