#!/usr/bin/env python
"""Benchmark: the benchmark contract on Spark (``local[1]``, ``local[2]``) beside the local engine.

Not a test (nothing here asserts a time). From a fresh clone::

    pip install -e ".[spark]" && python examples/bench_spark.py --rows 1000000

The data and the contract are examples/benchmark.py's (its ``reference`` variant as Parquet,
generated once into ``--data-dir``, default ``slaengine-bench`` in the system's temporary
folder; the contract examples/benchmark/reference.toml pointed at it). ``--files 8`` cuts the
file into 8 files of a folder first (rows in order; Spark reads a file's row groups as its
partitions, and the reference file has few). For each engine:

- ``local``: ``slaengine.evaluate(contract)``;
- ``spark local[N]``: a new SparkSession with that master (started before the clock runs),
  then ``slaengine.spark.run.evaluate`` on it, recording each partition's cost.

The wall time is taken around the evaluation alone (Spark's start excluded). Every Spark
report is compared with the local engine's, field by field but for ``manifest.engine`` and
``manifest.evaluated_at``: "identical" or the first differences. Per Spark run it shows the
partitions, their rows, the seconds each spent in the local engine's functions inside
``mapInArrow`` (mean and largest), the bytes of the state each sent the driver, and the values
of the order statistics the driver received (one per group and statistic). ``--json FILE``
keeps the figures.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import benchmark  # noqa: E402  (examples/benchmark.py: its data and its contract)

from slaengine.testing import report_differences, without_run_facts  # noqa: E402


def run_local(contract: Path) -> tuple[dict, float]:
    import slaengine

    start = time.perf_counter()
    report = slaengine.evaluate(contract).to_dict()
    return report, time.perf_counter() - start


def run_spark(contract: Path, master: str) -> tuple[dict, float, list, int]:
    """The report, the seconds, the partitions' costs and the order statistics' values the
    driver received, on a new session with ``master``."""
    from pyspark.sql import SparkSession

    from slaengine.api import Result
    from slaengine.contract import load_contract
    from slaengine.spark import run

    session = (SparkSession.builder.master(master).appName("slaengine-bench")
               .config("spark.ui.enabled", "false")
               .config("spark.ui.showConsoleProgress", "false")
               .config("spark.sql.session.timeZone", "UTC")
               .config("spark.sql.shuffle.partitions", "2")
               .config("spark.driver.memory", "2g")
               .getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    try:
        loaded = load_contract(contract)
        costs: list[run.PartitionCost] = []
        picks: list[int] = []
        original = run.collect

        def counting(*args: Any, **kwargs: Any) -> Any:
            found = original(*args, **kwargs)
            picks.append(len(found.picks))
            return found

        run.collect = counting
        try:
            start = time.perf_counter()
            evaluation = run.evaluate(loaded, session, costs=costs)
            seconds = time.perf_counter() - start
        finally:
            run.collect = original
        return Result.of(evaluation).to_dict(), seconds, costs, sum(picks)
    finally:
        session.stop()


def split(data: Path, files: int, folder: Path) -> Path:
    """``data`` cut into ``files`` Parquet files of ``folder`` (``part-00.parquet`` ...), rows in
    order, each file's row groups as large as a file can hold."""
    import pyarrow.parquet as pq

    table = pq.read_table(data)
    folder.mkdir(parents=True)
    step = -(-table.num_rows // files)
    for i in range(files):
        pq.write_table(table.slice(i * step, step), folder / f"part-{i:02d}.parquet",
                       row_group_size=step)
    return folder


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--master", action="append", default=None,
                        help='Spark masters to run (default "local[1]" and "local[2]")')
    parser.add_argument("--data-dir", type=Path,
                        default=Path(tempfile.gettempdir()) / "slaengine-bench")
    parser.add_argument("--files", type=int, default=1,
                        help="cut the data into this many Parquet files of a folder (rows in "
                             "order), which Spark reads as as many partitions")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    masters = args.master or ["local[1]", "local[2]"]
    variant = benchmark.VARIANTS["reference"]
    data = benchmark.data_file(args.data_dir, args.rows, "parquet", variant)
    rows: list[dict] = []
    with tempfile.TemporaryDirectory() as work:
        if args.files > 1:
            data = split(data, args.files, Path(work) / "tickets")
        contract = benchmark.contract_copy(data, "parquet", variant, Path(work))
        local, seconds = run_local(contract)
        rows.append({"engine": "local", "seconds": round(seconds, 2)})
        print(f"local: {seconds:.2f} s, {local['sources']['tickets']['read']} rows read",
              flush=True)
        for master in masters:
            report, seconds, costs, picks = run_spark(contract, master)
            found = report_differences(without_run_facts(local), without_run_facts(report))
            busy = [c.seconds for c in costs]
            row = {
                "engine": f"spark {master}", "seconds": round(seconds, 2),
                "identical": not found, "partitions": len(costs),
                "rows per partition": [c.rows for c in costs],
                "mapInArrow s per partition (mean, max)": [
                    round(sum(busy) / len(busy), 2), round(max(busy), 2)],
                "state bytes per partition": [c.state_bytes for c in costs],
                "order statistic values to the driver": picks,
            }
            rows.append(row)
            print(json.dumps(row), flush=True)
            if found:
                print("  differences: " + "; ".join(found[:5]), flush=True)
    if args.json is not None:
        args.json.write_text(json.dumps({"rows": args.rows, "data": str(data),
                                         "results": rows}, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
