"""No thread of slaengine outlives an evaluation, whichever way it ends.

An evaluation runs threads of its own: the input digests, the read-ahead of each source and the
order-statistic selection. One left running while the interpreter shuts down (after an error
message, say) can be inside Arrow when Arrow's thread pools are torn down, and the process then
dies with SIGABRT after a correct message. The error cases here fail part-way through a read:
in the source (its third batch), in the evaluation of a batch (a metric failing on its third;
on a CSV file and on a Parquet file, decoded on a thread of its own),
in a later page of a Zendesk export, in a second source's header while the first is still being
hashed, and in the penalty model after every source was read.
"""

from __future__ import annotations

import importlib.util
import os
import queue
import shutil
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from slaengine.contract import load_contract
from slaengine.engine import evaluate
from slaengine.errors import SlaError
from slaengine.pluginmanager import build_registry

DATA = Path(__file__).parent / "data"

PLUGINS = '''
from slaengine import hookimpl
from slaengine.errors import DataError
from slaengine.plugin import PenaltyModel
from slaengine.plugins.metrics.first_response_time import FirstResponseTime
from slaengine.plugins.sources.arrow import ArrowSource
from slaengine.plugins.sources.csv import CsvSource


class BatchedSource(CsvSource):
    """The csv source in batches of 500 rows."""

    name = "batched-csv"
    batch_rows = 500


class BatchedArrow(ArrowSource):
    """The arrow source in batches of 500 rows (a Parquet file: decoded on a thread too)."""

    name = "batched-arrow"
    batch_rows = 500


class FailingSource(BatchedSource):
    """The batched csv source whose third batch cannot be read."""

    name = "failing-csv"

    def read(self, config, fields):
        for number, batch in enumerate(super().read(config, fields), 1):
            if number == 3:
                raise DataError("the third batch cannot be read", file=config.path)
            yield batch


class FailingMetric(FirstResponseTime):
    """First response time, failing on the third batch it measures."""

    name = "failing_first_response"
    measured = 0

    def measure(self, table, context):
        FailingMetric.measured += 1
        if FailingMetric.measured == 3:
            raise DataError("the third batch cannot be measured")
        return super().measure(table, context)


class FailingModel(PenaltyModel):
    name = "failing-model"

    def assess(self, period):
        raise DataError("the credits cannot be assessed")


@hookimpl
def register_sources():
    return [BatchedSource(), FailingSource(), BatchedArrow()]


@hookimpl
def register_metrics():
    return [FailingMetric()]


@hookimpl
def register_penalty_models():
    return [FailingModel()]
'''

DRIVER = '''
import atexit, os, sys, threading

# One whole command in a fresh interpreter pinned to one CPU, ending with its own shutdown.
os.sched_setaffinity(0, {int(sys.argv[2])})
sys.path.insert(0, sys.argv[1])
import failing_plugins
import slaengine.pluginmanager as manager

build = manager.build_registry
manager.build_registry = lambda *args, **kwargs: build([failing_plugins])
import slaengine.cli


def left_running():  # at exit, before the interpreter is torn down
    names = [t.name for t in threading.enumerate() if t.name.startswith("slaengine-")]
    if names:
        os.write(2, f"left running: {names}\\n".encode())


atexit.register(left_running)
sys.argv = ["slaengine", *sys.argv[3:]]
slaengine.cli.main()
'''

HEAD = '[contract]\nid = "c"\nclient = "C"\nvendor = "V"\nmonthly_fee = "1000.00"\n'
LEVEL = ('[[service_levels]]\nid = "{id}"\nmetric = "{metric}"\nsource = "{source}"\n'
         'target = "90% within 1h"\n')


def _tickets(path: Path, rows: int, columns: str = "ticket_id,created_at,first_response_at"
             ) -> None:
    lines = [columns]
    for i in range(rows):  # March and April, alternately
        month, day, hour = 3 + i % 2, 1 + i % 28, i % 24
        lines.append(f"T{i},2026-{month:02d}-{day:02d}T{hour:02d}:00:00Z,"
                     f"2026-{month:02d}-{day:02d}T{hour:02d}:{i % 60:02d}:00Z")
    path.write_text("\n".join(lines) + "\n")


def _source(name: str, adapter: str, path: str) -> str:
    return f'[sources.{name}]\nadapter = "{adapter}"\npath = "{path}"\nkind = "tickets"\n'


CASES = {
    "source": (_source("t", "failing-csv", "tickets.csv")
               + LEVEL.format(id="frt", metric="first_response_time", source="t"),
               "the third batch cannot be read"),
    "measure": (_source("t", "batched-csv", "tickets.csv")
                + LEVEL.format(id="frt", metric="failing_first_response", source="t"),
                "the third batch cannot be measured"),
    "parquet": (_source("t", "batched-arrow", "tickets.parquet")
                + LEVEL.format(id="frt", metric="failing_first_response", source="t"),
                "the third batch cannot be measured"),
    "page": ('[sources.zd]\nadapter = "zendesk"\npath = "pages"\n'
             + LEVEL.format(id="frt", metric="first_response_time", source="zd"),
             "page-003.json"),
    "column": (_source("a", "csv", "big.csv") + _source("b", "csv", "short.csv")
               + LEVEL.format(id="one", metric="first_response_time", source="a")
               + LEVEL.format(id="two", metric="first_response_time", source="b"),
               "short.csv"),
    "credits": (_source("t", "csv", "tickets.csv")
                + LEVEL.format(id="frt", metric="first_response_time", source="t")
                + '[penalties]\nmodel = "failing-model"\n',
                "the credits cannot be assessed"),
}
"""Contracts that fail part-way through, each with what its error message must show."""


def _case(folder: Path, name: str) -> Path:
    """Write the contract of case ``name`` and the data it reads into ``folder``."""
    if name in ("source", "measure", "credits"):
        _tickets(folder / "tickets.csv", 3_000)
    elif name == "parquet":
        _tickets(folder / "tickets.csv", 3_000)
        pq.write_table(pacsv.read_csv(folder / "tickets.csv"), folder / "tickets.parquet")
    elif name == "page":  # two good pages, then a broken one
        shutil.copytree(DATA / "zendesk" / "pages", folder / "pages")
        (folder / "pages" / "page-003.json").write_text('{"tickets": [{"id": 1,')
    else:  # big.csv is still being hashed when short.csv is found to lack a column
        _tickets(folder / "big.csv", 20_000)
        _tickets(folder / "short.csv", 10, "ticket_id,created_at")
    (folder / f"{name}.toml").write_text(HEAD + CASES[name][0])
    return folder / f"{name}.toml"


def _plugins(folder: Path):
    (folder / "failing_plugins.py").write_text(PLUGINS)
    spec = importlib.util.spec_from_file_location("failing_plugins", folder / "failing_plugins.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _our_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("slaengine-")]


def _lingering(before: set[threading.Thread]) -> list[str]:
    """slaengine's threads, and any other thread started since ``before`` that still runs."""
    return sorted({t.name for t in threading.enumerate()
                   if t.name.startswith("slaengine-") or (t not in before and not t.daemon)})


@pytest.mark.parametrize("case", sorted(CASES))
def test_an_evaluation_that_fails_leaves_no_thread_running(case, tmp_path):
    plugins = _plugins(tmp_path)
    contract_path, message = _case(tmp_path, case), CASES[case][1]
    plugins.FailingMetric.measured = 0
    registry = build_registry([plugins])
    before = set(threading.enumerate())
    with pytest.raises(SlaError, match=message.replace(".", r"\.")):
        evaluate(load_contract(contract_path, registry), registry)
    assert _lingering(before) == []


def test_an_evaluation_that_succeeds_leaves_no_thread_running(tmp_path, monkeypatch):
    # Every thread starts: the digests, the read-ahead (500-row batches), and the selection of
    # order statistics, shared with a second thread (from 1,000 values here, not a million).
    import slaengine.statistics

    monkeypatch.setattr(slaengine.statistics, "_SPLIT_SELECTION", 1_000)
    started = []
    original = threading.Thread.start
    monkeypatch.setattr(threading.Thread, "start",
                        lambda thread: (started.append(thread.name), original(thread))[1])
    plugins = _plugins(tmp_path)
    _tickets(tmp_path / "tickets.csv", 3_000)
    (tmp_path / "c.toml").write_text(
        HEAD + _source("t", "batched-csv", "tickets.csv")
        + LEVEL.format(id="frt", metric="first_response_time", source="t").replace(
            "90% within 1h", "p90 <= 1h"))
    registry = build_registry([plugins])
    before = set(threading.enumerate())
    evaluation = evaluate(load_contract(tmp_path / "c.toml", registry), registry)
    assert evaluation.sources["t"].accepted == 3_000
    assert {"slaengine-digests", "slaengine-read-ahead", "slaengine-select"} <= set(started)
    assert _lingering(before) == []


def test_the_command_leaves_no_thread_running():
    from click.testing import CliRunner

    from slaengine.cli import main

    before = set(threading.enumerate())
    result = CliRunner().invoke(main, ["evaluate", str(DATA / "small.toml"), "--format", "json"])
    assert result.exit_code == 0, result.output
    assert _lingering(before) == []


@pytest.mark.skipif(not hasattr(os, "fork") or not hasattr(os, "sched_setaffinity"),
                    reason="forks runs pinned to one CPU")
def test_errors_end_the_process_with_exit_code_2_never_an_abort(tmp_path):
    # Every case runs several times, each in a fresh interpreter pinned to one CPU, where a
    # thread left behind is most likely to be caught inside Arrow at shutdown; each run also
    # says, at exit, whether any thread of ours still runs (the cause, seen even when the abort
    # does not happen). (Runs are not forked from one process: forking a process that already
    # runs Arrow's threads is itself unsafe.) The cases share out the CPUs there are.
    runs = {"source": 6, "measure": 6, "parquet": 4, "page": 4, "column": 4, "credits": 4}
    free: queue.Queue[int] = queue.Queue()
    for cpu in sorted(os.sched_getaffinity(0)):
        free.put(cpu)
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER)

    def run(name: str) -> list:
        folder = tmp_path / name
        folder.mkdir()
        _plugins(folder)
        contract = _case(folder, name)
        found = []
        for _ in range(runs[name]):
            cpu = free.get()
            try:
                done = subprocess.run(
                    [sys.executable, str(driver), str(folder), str(cpu), "evaluate",
                     str(contract)], capture_output=True, text=True, timeout=120, check=False)
            finally:
                free.put(cpu)
            found.append((done.returncode, done.stderr))
        return found

    with ThreadPoolExecutor(free.qsize()) as pool:
        results = dict(zip(runs, pool.map(run, runs), strict=True))
    for name, found in results.items():
        assert len(found) == runs[name]
        for code, stderr in found:
            assert code == 2, f"{name}: exit {code}\n{stderr}"
            assert stderr.startswith("error: ") and CASES[name][1] in stderr, stderr
            assert "Traceback" not in stderr and "terminate called" not in stderr, stderr
            assert "left running" not in stderr, stderr
