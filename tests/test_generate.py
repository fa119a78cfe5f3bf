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


EVENTS_SCRIPT = SCRIPT.with_name("generate_events.py")
EVENT_COLUMNS = ["ticket_id", "at", "event", "status", "author", "public", "priority", "group",
                 "agent"]


@pytest.fixture(scope="module")
def gen_events():
    spec = importlib.util.spec_from_file_location("slaengine_examples_events", EVENTS_SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop(spec.name, None)


def run_events(gen_events, out: Path, *args: str) -> bytes:
    assert gen_events.main(["--tickets", "300", *args, "--out", str(out)]) == 0
    return out.read_bytes()


def test_events_same_seed_same_bytes_other_seed_differs(gen_events, tmp_path):
    a = run_events(gen_events, tmp_path / "a.csv", "--seed", "11")
    assert run_events(gen_events, tmp_path / "b.csv", "--seed", "11") == a
    assert run_events(gen_events, tmp_path / "c.csv", "--seed", "12") != a
    p = run_events(gen_events, tmp_path / "a.parquet", "--seed", "11")
    assert run_events(gen_events, tmp_path / "b.parquet", "--seed", "11") == p


def test_the_example_events_file_is_what_the_generator_makes(gen_events, tmp_path):
    data = Path(__file__).resolve().parents[1] / "examples" / "data"
    for name in ("events.csv", "events.parquet"):
        made = gen_events.main(["--tickets", "400", "--out", str(tmp_path / name)])
        assert made == 0
        assert (tmp_path / name).read_bytes() == (data / name).read_bytes(), name


def test_events_are_in_time_order_and_every_history_is_plausible(gen_events, tmp_path):
    out = tmp_path / "e.csv"
    # Chunks of 40 tickets: events of earlier chunks wait and are merged in time order.
    written = gen_events.generate(out, tickets=300, seed=3, chunk_tickets=40)
    rows = read_rows(out)
    assert rows[0] == EVENT_COLUMNS
    data = rows[1:]
    assert len(data) == written
    times = [r[1] for r in data]
    assert times == sorted(times)  # ISO text in UTC orders as the instants do
    by_ticket: dict[str, list[list[str]]] = {}
    for r in data:
        by_ticket.setdefault(r[0], []).append(r)
    assert len(by_ticket) == 300
    events = {"created", "status", "comment", "priority", "group", "assignee"}
    assert {r[2] for r in data} == events
    assert {r[3] for r in data} <= {"", "new", "open", "pending", "hold", "solved", "closed"}
    assert {r[4] for r in data} <= {"", "requester", "agent"}
    reopened = unsolved = internal = 0
    for history in by_ticket.values():
        assert history[0][2] == "created" and history[0][3] == "new"
        assert history[1][2:6] == ["comment", "", "requester", "true"]
        statuses = [r[3] for r in history if r[2] == "status"]
        solves = [i for i, s in enumerate(statuses) if s == "solved"]
        reopened += any(s == "open" for s in statuses[solves[0] + 1:]) if solves else 0
        unsolved += statuses[-1] not in ("solved", "closed")
        internal += any(r[2] == "comment" and r[5] == "false" for r in history)
        for r in history:
            assert (r[2] == "comment") == (r[4] != "") == (r[5] != "")
    assert reopened and unsolved and internal  # the histories the clocks must handle occur


def test_events_parquet_holds_the_same_events(gen_events, tmp_path):
    import pyarrow as pa

    run_events(gen_events, tmp_path / "e.csv", "--seed", "5")
    run_events(gen_events, tmp_path / "e.parquet", "--seed", "5")
    table = pq.read_table(tmp_path / "e.parquet")
    assert table.column_names == EVENT_COLUMNS
    assert table.schema.field("at").type == pa.timestamp("us", tz="UTC")
    rows = read_rows(tmp_path / "e.csv")[1:]
    assert table.num_rows == len(rows)
    assert [str(t) for t in table["ticket_id"].to_pylist()] == [r[0] for r in rows]
    assert [t.strftime("%Y-%m-%dT%H:%M:%SZ") for t in table["at"].to_pylist()] == \
        [r[1] for r in rows]
    assert [s or "" for s in table["status"].to_pylist()] == [r[3] for r in rows]
