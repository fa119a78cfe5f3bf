"""The event-clock benchmark's SQL computes what slaengine's clocks compute.

``examples/bench_clocks.py`` checks DuckDB's window-function SQL against
``slaengine.clocks.measure``; these tests keep the two in agreement on generated histories, on
hand-worked edge histories (ties, reopen, closing a solved ticket, outbound tickets, events
before the creation) and on random histories full of simultaneous events in shuffled file order.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

pytest.importorskip("duckdb", reason="the clock benchmark compares with DuckDB (the bench extra)")

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
H = 3600 * 1_000_000  # an hour in microseconds
TS = pa.timestamp("us", tz="UTC")
SCHEMA = pa.schema([("ticket_id", pa.int64()), ("at", TS), ("event", pa.string()),
                    ("status", pa.string()), ("author", pa.string()), ("public", pa.bool_())])


def load(name: str):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


bench = load("bench_clocks")


def write(rows: list[tuple], path: Path) -> Path:
    """Rows ``(ticket, at, event, status, author, public)`` in file order, as Parquet."""
    columns = list(zip(*rows, strict=True))
    pq.write_table(pa.table([pa.array(list(c), f.type) for c, f in zip(columns, SCHEMA,
                                                                        strict=True)],
                            schema=SCHEMA), path)
    return path


def both(path: Path) -> tuple[dict, dict]:
    return bench.run_slaengine(path), bench.run_duckdb(path)


def test_generated_histories_agree(tmp_path):
    generator = load("generate_events")
    path = tmp_path / "events.parquet"
    generator.generate(path, tickets=300, seed=11, fmt="parquet")
    ours, theirs = both(path)
    assert bench.compare(ours, theirs) == []
    total = bench.totals(ours)
    # one ticket clock record per ticket, measured or still running
    assert total["requester_wait_time"][0] + total["requester_wait_time"][1] == 300
    assert total["agent_work_time"][:2] == total["requester_wait_time"][:2]
    # agent work never exceeds requester wait (it runs in a subset of their statuses)
    assert total["agent_work_time"][2] <= total["requester_wait_time"][2]
    # every ticket has at least one reply instance; some answered within 4h, some not
    measured, running, _, within = total["reply_time"]
    assert measured + running >= 300
    assert 0 < within < measured
    assert {k.split("|")[1] for k in ours} == {"2026-01", "2026-02", "2026-03"}


def at(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def test_edge_histories_hand_worked(tmp_path):
    """One ticket per month, so each month's figures are one ticket's, worked by hand."""
    rows = [
        # 1 (January): answer and pending in the same second (pending first), requester back
        # with open, answer and solve in the same second (the solve ends the instance), closed
        # an hour later (no new solve), then a requester message on the closed ticket opens a
        # reply instance that is never answered.
        (1, at(1, 1, 0), "created", "new", None, None),
        (1, at(1, 1, 0), "comment", None, "requester", True),
        (1, at(1, 1, 1), "comment", None, "agent", True),
        (1, at(1, 1, 1), "status", "pending", None, None),
        (1, at(1, 1, 3), "comment", None, "requester", True),
        (1, at(1, 1, 3), "status", "open", None, None),
        (1, at(1, 1, 5), "comment", None, "agent", True),
        (1, at(1, 1, 5), "status", "solved", None, None),
        (1, at(1, 1, 6), "status", "closed", None, None),
        (1, at(1, 1, 7), "comment", None, "requester", True),
        # 2 (February): no created event (created at its first event, a requester message,
        # which opens no second instance); hold runs the requester's clock, not the agent's;
        # solved, reopened, solved again: the clock continues.
        (2, at(2, 1, 10), "comment", None, "requester", True),
        (2, at(2, 1, 11), "status", "hold", None, None),
        (2, at(2, 1, 13), "status", "open", None, None),
        (2, at(2, 1, 14), "status", "solved", None, None),
        (2, at(2, 1, 20), "status", "open", None, None),
        (2, at(2, 1, 21), "status", "solved", None, None),
        # 3 (March): outbound (created by an agent); events recorded before the creation are
        # taken at it; private and system comments answer nothing.
        (3, at(3, 1, 7), "priority", None, None, None),
        (3, at(3, 1, 7, 30), "status", "open", None, None),
        (3, at(3, 1, 8), "created", None, "agent", None),
        (3, at(3, 1, 8), "comment", None, "agent", True),
        (3, at(3, 1, 9), "comment", None, "requester", True),
        (3, at(3, 1, 9, 30), "comment", None, "requester", True),
        (3, at(3, 1, 10), "comment", None, "agent", False),
        (3, at(3, 1, 10, 30), "comment", None, "system", True),
        (3, at(3, 1, 15), "comment", None, "agent", True),
        (3, at(3, 1, 15), "status", "pending", None, None),
        (3, at(3, 1, 20), "status", "solved", None, None),
    ]
    ours, theirs = both(write(rows, tmp_path / "edge.parquet"))
    assert bench.compare(ours, theirs) == []
    # [measured, running, microseconds, within 4h]
    assert ours == {
        # 1: running 0-1h and 3-5h (paused pending 1-3h): 3h. Replies 0-1h and 3-5h (ended by
        # the solve): 1h + 2h; the 7h message is still waiting.
        "requester_wait_time|2026-01": [1, 0, 3 * H, 1],
        "agent_work_time|2026-01": [1, 0, 3 * H, 1],
        "reply_time|2026-01": [2, 1, 3 * H, 2],
        # 2: new 10-11 (1h), hold 11-13 (2h, requester only), open 13-14 (1h), solved until
        # the reopen at 20, open 20-21 (1h): requester 5h, agent 3h. Reply 10-14h, ended by
        # the solve: 4h, within 4h (at most).
        "requester_wait_time|2026-02": [1, 0, 5 * H, 0],
        "agent_work_time|2026-02": [1, 0, 3 * H, 1],
        "reply_time|2026-02": [1, 0, 4 * H, 1],
        # 3: created 08:00 (not 07:00), open until the pending at 15:00: 7h. The reply runs
        # from the requester's first message (09:00) to the public answer at 15:00: 6h.
        "requester_wait_time|2026-03": [1, 0, 7 * H, 0],
        "agent_work_time|2026-03": [1, 0, 7 * H, 0],
        "reply_time|2026-03": [1, 0, 6 * H, 0],
    }


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_histories_agree(tmp_path, seed):
    """Random histories: few distinct instants per ticket (many simultaneous events of every
    kind), created events missing, late or repeated, statuses in any order, file shuffled."""
    rng = np.random.default_rng(seed)
    statuses = ["new", "open", "pending", "hold", "solved", "closed"]
    authors = ["requester", "agent", "system"]
    kinds = ["created", "status", "comment", "priority"]
    rows = []
    start = at(1, 1, 0)
    for ticket in range(1, 401):
        base = start + timedelta(days=int(rng.integers(0, 85)))
        for _ in range(int(rng.integers(1, 14))):
            kind = kinds[rng.choice(4, p=[0.1, 0.4, 0.45, 0.05])]
            when = base + timedelta(minutes=30 * int(rng.integers(0, 6)))
            status = statuses[rng.integers(0, 6)]  # also on other events: ignored there
            author = authors[rng.choice(3, p=[0.45, 0.45, 0.1])]
            public = bool(rng.random() < 0.8)
            if kind == "comment":
                rows.append((ticket, when, kind, None, author, public))
            elif kind == "created":
                rows.append((ticket, when, kind, status, author if rng.random() < 0.5 else None,
                             None))
            else:
                rows.append((ticket, when, kind, status, None, None))
    order = rng.permutation(len(rows))
    path = write([rows[i] for i in order], tmp_path / "random.parquet")
    ours, theirs = both(path)
    assert bench.compare(ours, theirs) == []
    total = bench.totals(ours)
    # 400 tickets, one ticket clock record each; both measured and running ones occur
    assert sum(total["requester_wait_time"][:2]) == 400
    assert total["requester_wait_time"][0] > 0 and total["requester_wait_time"][1] > 0
    assert total["reply_time"][0] > 0 and total["reply_time"][1] > 0


def test_compare_names_the_first_difference():
    ours = {"reply_time|2026-02": [5, 1, 10 * H, 3], "agent_work_time|2026-03": [2, 0, H, 2],
            "agent_work_time|2026-01": [2, 0, H, 2]}
    theirs = {"reply_time|2026-02": [5, 1, 10 * H + 1, 3],
              "agent_work_time|2026-03": [2, 0, H, 1],
              "agent_work_time|2026-01": [2, 0, H, 2]}
    assert bench.compare(ours, ours) == []
    problems = bench.compare(ours, theirs)
    # clocks in their benchmark order (agent work before reply), then by month
    assert problems == [
        "agent_work_time|2026-03: within_4h: duckdb 1 vs slaengine 2",
        f"reply_time|2026-02: sum_us: duckdb {10 * H + 1} vs slaengine {10 * H}",
    ]
    # a month one side lacks counts as zeros
    assert bench.compare(ours, {})[0] == (
        "agent_work_time|2026-01: measured: duckdb 0 vs slaengine 2")


def test_script_exits_zero_when_the_engines_agree(tmp_path, capsys):
    assert bench.main(["--tickets", "200", "--data-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "agree: yes" in out
    assert (tmp_path / "events-200-seed7.parquet").is_file()


def test_script_exits_nonzero_when_they_differ(tmp_path, capsys, monkeypatch):
    """A child that computes a different figure makes the run fail and names where."""
    results = {"slaengine": {"reply_time|2026-01": [3, 0, H, 3]},
               "duckdb": {"reply_time|2026-01": [3, 0, H, 2]},
               "contract": {"reply_time|2026-01": [3, 2]}}  # agrees with duckdb
    monkeypatch.setattr(bench, "data_file", lambda folder, n: write(
        [(1, at(1, 1, 0), "created", None, None, None)], tmp_path / "one.parquet"))
    monkeypatch.setattr(bench, "run_once", lambda engine, path, work: {
        "wall": 1.0, "peak_mib": 10.0, "base_mib": 5.0, "figures": results[engine]})
    assert bench.main(["--tickets", "1"]) == 1
    out = capsys.readouterr().out
    assert "agree: no" in out
    assert "first difference: 1 tickets: reply_time|2026-01: within_4h: duckdb 2 vs slaengine 3" \
        in out


def test_a_contract_that_disagrees_with_the_clocks_fails_the_run(tmp_path, capsys, monkeypatch):
    """The contract's verdicts are checked against the reference: records (measured +
    running) and hits within 4h per clock and month."""
    results = {"slaengine": {"reply_time|2026-01": [3, 1, H, 2]},
               "duckdb": {"reply_time|2026-01": [3, 1, H, 2]},
               "contract": {"reply_time|2026-01": [3, 2]}}  # 3 records, not 3 + 1 = 4
    monkeypatch.setattr(bench, "data_file", lambda folder, n: write(
        [(1, at(1, 1, 0), "created", None, None, None)], tmp_path / "one.parquet"))
    monkeypatch.setattr(bench, "run_once", lambda engine, path, work: {
        "wall": 1.0, "peak_mib": 10.0, "base_mib": 5.0, "figures": results[engine]})
    assert bench.main(["--tickets", "1"]) == 1
    out = capsys.readouterr().out
    assert "records and within 4h: contract [3, 2] vs [4, 2]" in out


def test_the_contract_engine_agrees_with_the_clocks_on_a_small_history(tmp_path):
    """The whole engine (a contract through slaengine.evaluate) on generated histories gives
    the clocks' records and hits per clock and month."""
    path = tmp_path / "events.parquet"
    generate = Path(bench.__file__).with_name("generate_events.py")
    subprocess.run([sys.executable, str(generate), "--tickets", "400", "--seed", "3",
                    "--format", "parquet", "--out", str(path)], check=True)
    reference = bench.run_slaengine(path)
    assert not bench.compare_contract(reference, bench.run_contract(path))
