"""The ledger under faults: two evaluations appending at once, a run killed mid-append, and
``ledger verify`` staying light (no numpy or pyarrow imported).

Each writer is a real process (``slaengine evaluate --ledger``); to hold it inside its append,
the child wraps the ledger's insert so that, once the ``entries`` row is in (its verdicts not
yet), it writes a signal file and sleeps.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from ledger_kit import ROOT, cli, contract_folder

from slaengine.ledger import verify_ledger

CHILD = """
import pathlib, sys, time
from slaengine.ledger import record
insert = record._insert
def held(connection, table, rows):
    insert(connection, table, rows)
    if table == "entries":
        pathlib.Path(sys.argv[1]).write_text(repr(time.time()))
        time.sleep(float(sys.argv[2]))
record._insert = held
from slaengine.cli import main
main(sys.argv[3:])
"""


def writer(signal_file: Path, hold: float, *args: str | Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", CHILD, str(signal_file), str(hold),
                             *map(str, args)], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def wait_for(path: Path, process: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the writer never reached its append"
        time.sleep(0.02)


def entries(ledger: Path) -> list[tuple]:
    connection = sqlite3.connect(f"{ledger.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return connection.execute("SELECT seq, options, previous_hash, entry_hash FROM entries "
                                  "ORDER BY seq").fetchall()
    finally:
        connection.close()


def test_two_evaluations_appending_at_once_both_land_in_order(tmp_path: Path) -> None:
    contract = contract_folder(tmp_path)
    ledger = tmp_path / "ledger.db"
    # The first holds its append open longer than the second takes to start and evaluate.
    first = writer(tmp_path / "first", 6, "evaluate", contract, "--ledger", ledger,
                   "--format", "json", "-o", tmp_path / "a.json")
    wait_for(tmp_path / "first", first)
    # The first holds the write lock; the second evaluates, then waits for it to commit.
    second = writer(tmp_path / "second", 0, "evaluate", contract, "--ledger", ledger,
                    "--format", "csv", "-o", tmp_path / "b.csv")
    for process in (first, second):
        _, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
    # The second was started at once, yet got into its append only after the first's 6 s.
    inside = [float((tmp_path / name).read_text()) for name in ("first", "second")]
    assert inside[1] - inside[0] >= 6
    found = entries(ledger)
    assert [seq for seq, *_ in found] == [1, 2]
    assert [json.loads(options)["formats"] for _, options, *_ in found] == [["json"], ["csv"]]
    assert found[1][2] == found[0][3]  # the second is chained to the first
    assert verify_ledger(ledger).line().startswith(f"{ledger}: intact, 2 entries")


def test_a_run_killed_mid_append_leaves_the_ledger_verifiable(tmp_path: Path) -> None:
    contract = contract_folder(tmp_path)
    ledger = tmp_path / "ledger.db"
    assert cli("evaluate", contract, "--ledger", ledger, "-o", tmp_path / "r.json"
               ).exit_code == 0
    killed = writer(tmp_path / "inside", 600, "evaluate", contract, "--ledger", ledger,
                    "-o", tmp_path / "r2.json")
    wait_for(tmp_path / "inside", killed)
    os.kill(killed.pid, signal.SIGKILL)
    killed.communicate(timeout=60)
    assert killed.returncode == -signal.SIGKILL
    # Its entries row had been inserted: the whole entry is absent, no verdict row of it left.
    done = cli("ledger", "verify", ledger)
    assert done.exit_code == 0, done.output
    assert "intact, 1 entry chained" in done.output
    connection = sqlite3.connect(ledger)
    assert connection.execute("SELECT count(*) FROM verdicts WHERE entry = 2").fetchone() == (0,)
    connection.close()
    # The lock died with it: the next append lands as entry 2.
    assert cli("evaluate", contract, "--ledger", ledger, "-o", tmp_path / "r3.json"
               ).exit_code == 0
    assert [seq for seq, *_ in entries(ledger)] == [1, 2]
    assert verify_ledger(ledger).intact


PROBE = """
import json, sys
from slaengine.cli import main
try:
    main(sys.argv[1:])
except SystemExit as stop:
    code = stop.code
print(json.dumps({"code": code, "heavy": sorted(m for m in sys.modules
                  if m.split(".")[0] in ("numpy", "pyarrow", "jinja2"))}))
"""


def test_verify_and_close_import_no_arrow(tmp_path: Path) -> None:
    contract = contract_folder(tmp_path)
    ledger = tmp_path / "ledger.db"
    assert cli("evaluate", contract, "--ledger", ledger, "-o", tmp_path / "r.json"
               ).exit_code == 0
    for args in (["ledger", "verify", ledger],
                 ["ledger", "close", ledger, "--contract", "small", "--period", "2026-03"]):
        done = subprocess.run([sys.executable, "-c", PROBE, *map(str, args)], cwd=ROOT,
                              capture_output=True, text=True, check=True)
        found = json.loads(done.stdout.splitlines()[-1])
        assert found == {"code": 0, "heavy": []}, args
