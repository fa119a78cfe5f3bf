"""Order statistics on Spark: selected inside Spark at the local engine's nearest ranks, the
driver receiving one value per group and statistic, never one per record."""

from __future__ import annotations

import re
from fractions import Fraction
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from test_spark import PARQUET, TICKETS, _identical

from slaengine.contract import load_contract
from slaengine.spark import orders, run
from slaengine.statistics import group_statistic

ORDERS_CONTRACT = """
[contract]
id = "orders-on-spark"
client = "Northwind Broadband"
vendor = "Contoso Support Services"
currency = "USD"
monthly_fee = "1000.00"
period = "month"
timezone = "America/New_York"

[sources.tickets]
adapter = "arrow"
path = "{path}"

[sources.tickets.fields]
ticket_id = "Ticket ID"
created_at = "Created"
first_response_at = "First Reply"
resolved_at = "Solved"
priority = "Priority"
channel = "Channel"

[[service_levels]]
id = "median-first-response"
metric = "first_response_time"
by = ["priority"]
target = "median <= 1h"

[[service_levels]]
id = "p90-first-response"
metric = "first_response_time"
by = ["priority"]
target = "p90 <= 4h"

[[service_levels]]
id = "p99.9-first-response"
metric = "first_response_time"
by = ["priority"]
target = "p99.9 <= 8h"

[[service_levels]]
id = "slowest-resolution"
metric = "resolution_time"
by = ["channel"]
target = "max <= 10d"

[[service_levels]]
id = "fastest-resolution"
metric = "resolution_time"
by = ["channel"]
target = "min <= 1h"

[[service_levels]]
id = "p33.3-resolution"
metric = "resolution_time"
target = "p33.3 <= 1d"
"""


def _orders_contract(tmp_path: Path, data: Path, name: str = "orders.toml", *,
                     lenient: bool = False) -> Path:
    """The contract above on ``data``; ``lenient``: every target 10 years, so no record
    misses one (the ids of missed records, up to 1000 a group, are not sent)."""
    text = ORDERS_CONTRACT.format(path=data.as_posix())
    if lenient:
        text = re.sub(r'<= \d+[hd]"', '<= 3650d"', text)
    contract = tmp_path / name
    contract.write_text(text, encoding="utf-8")
    return contract


def _copies(tmp_path: Path, times: int) -> Path:
    """The example tickets ``times`` over (ids made distinct: no duplicate is superseded) in
    8 hive-style files, each one batch of the local engine: the same groups, ``times`` the
    rows."""
    table = pq.read_table(TICKETS)
    folder = tmp_path / f"x{times}"
    for part in range(8):
        copies = []
        for copy in range(times):
            chunk = table.slice(part * 501, 501)
            ids = pc.binary_join_element_wise(chunk["Ticket ID"], pa.scalar(f"-{copy}"), "")
            copies.append(chunk.set_column(0, "Ticket ID", ids))
        (folder / f"part={part}").mkdir(parents=True)
        pq.write_table(pa.concat_tables(copies), folder / f"part={part}" / "data.parquet")
    return folder


@pytest.mark.spark
def test_order_statistics_are_identical_on_spark(spark, tmp_path):
    report = _identical(_orders_contract(tmp_path, TICKETS), spark)
    values = [v["value"] for v in report["verdicts"]]
    assert any(v is not None for v in values)
    # 4 priorities x months for three percentiles, channels for min and max: many groups
    assert len(report["verdicts"]) > 20


@pytest.mark.spark
def test_the_driver_receives_per_group_data_not_per_row(spark, tmp_path):
    """10x the rows in the same groups: the same values picked, states no larger."""
    once, tenfold = _copies(tmp_path, 1), _copies(tmp_path, 10)
    found = {}
    packing = spark.conf.get("spark.sql.files.openCostInBytes")
    spark.conf.set("spark.sql.files.openCostInBytes", str(2**30))  # one file a partition
    try:
        for times, folder in ((1, once), (10, tenfold)):
            contract = load_contract(_orders_contract(tmp_path, folder, f"x{times}.toml",
                                                      lenient=True))
            costs: list[run.PartitionCost] = []
            evaluation = run.evaluate(contract, spark, costs=costs)
            assert sum(c.rows for c in costs) == 4006 * times  # every row read, once
            measured = [v for v in evaluation.verdicts if v.sample_size]
            found[times] = run.collect(spark, contract, _registry(), "tickets",
                                       _fields(contract), _files(contract), None,
                                       _ordered(contract))
            # at most one pick per measured verdict (a level's group): one value per group
            # and statistic, fewer where two statistics take the same rank (n = 1: min = max)
            assert 0 < len(found[times].picks) <= len(measured)
            assert all(p.n >= p.rank >= 1 for p in found[times].picks)
    finally:
        spark.conf.set("spark.sql.files.openCostInBytes", packing)
    once_, tenfold_ = found[1], found[10]
    assert len(tenfold_.picks) == len(once_.picks)  # the same groups, the same values sent
    assert {(p.tally, p.group) for p in tenfold_.picks} == {
        (p.tally, p.group) for p in once_.picks}
    assert {p.n for p in tenfold_.picks} == {10 * p.n for p in once_.picks}  # 10x the values
    # one state per file (one file a partition), holding counters per group (and the first
    # missed ids, up to 1000 a group: none here): with 10x the rows of the same groups each
    # is as large, but for a few bytes of wider pickled integers
    assert len(once_.states) == len(tenfold_.states) == 8
    def by_file(c: run.Collected) -> list[int]:
        return [size for _, size in sorted(
            zip([s.read for s in c.states], c.sizes, strict=True))]

    for small, large in zip(by_file(once_), by_file(tenfold_), strict=True):
        assert large <= small + 64, (by_file(once_), by_file(tenfold_))


def _registry():
    from slaengine.pluginmanager import build_registry

    return build_registry()


def _fields(contract) -> list[str]:
    from slaengine.engine.plan import needed_fields

    return needed_fields(contract, _registry())["tickets"]


def _files(contract) -> list:
    from slaengine.engine.read import source_files

    return source_files(contract, _registry())["tickets"]


def _ordered(contract) -> list:
    from slaengine.engine.plan import plan
    from slaengine.engine.record import RecordLevel

    streamed, _ = plan(contract, _registry(), False)
    return orders.ordered_tallies(lv for lv in streamed["tickets"]
                                  if isinstance(lv, RecordLevel))


STATISTICS = ["min", "max", "median", "p90", "p99.9", "p33.3", "p1", "p99", "p12.5"]


@pytest.mark.spark
def test_spark_picks_the_nearest_rank_of_every_size(spark):
    """Ranks computed by Spark equal the local engine's for group sizes 1..60 and every
    percentile kind (p99.9 of 1000 values is rank 999: 99.9/100*1000 = 999 exactly; p33.3 of
    10 values is rank 4: ceil(3.33)), with ties and values out of order."""
    rng = np.random.default_rng(5)
    sizes = [*range(1, 61), 1000]
    values, groups = [], []
    for g, n in enumerate(sizes):
        values.append(rng.integers(0, max(n // 3, 2), n).astype(np.float64))  # ties
        groups.append(np.full(n, g))
    x, gid = np.concatenate(values), np.concatenate(groups)
    table = pa.table({"state": pa.nulls(len(x), pa.binary()),
                      "tally": pa.array(np.zeros(len(x), dtype=np.int32)),
                      "grp": pa.array([f"g{g}" for g in gid]), "value": pa.array(x),
                      "part": pa.nulls(len(x), pa.int32()),
                      "records": pa.nulls(len(x), pa.binary())})
    frame = spark.createDataFrame(table.to_pandas(), schema=orders.OUTPUT)
    picks = orders.ranked(frame, {0: STATISTICS}).collect()
    by_group: dict[int, dict[int, float]] = {}
    for row in picks:
        by_group.setdefault(int(row["grp"][1:]), {})[row["rank"]] = row["value"]
        assert row["n"] == sizes[int(row["grp"][1:])]
    for statistic in STATISTICS:
        local = group_statistic(statistic, x, gid, len(sizes)).value
        for g, n in enumerate(sizes):
            rank = orders.rank_of(statistic, n)
            assert by_group[g][rank] == local[g], (statistic, n, rank)
    # at most one row per group and statistic reaches the driver
    assert len(picks) <= len(sizes) * len(STATISTICS)
    assert orders.rank_of("p99.9", 1000) == 999 and orders.rank_of("p33.3", 10) == 4
    assert orders.rank_of("p1", 5) == 1  # ceil(0.05) = 1
    assert Fraction(999, 10) * 1000 / 100 == 999


def test_group_keys_are_equal_exactly_for_equal_groups():
    key = orders.group_key
    assert key((3, ("urgent", None))) == key((3, ("urgent", None)))
    assert key((3, ("urgent",))) != key((4, ("urgent",)))
    assert key((3, ("a,b",))) != key((3, ("a", "b")))  # a comma inside a value is no split
    assert key((3, (None,))) != key((3, ("None",)))
    assert key((3, (0.0,))) == key((3, (-0.0,)))  # equal as the driver's groups
    assert key((3, (1,))) != key((3, ("1",)))


@pytest.mark.spark
def test_the_parquet_contract_picks_its_p90_in_spark(spark):
    contract = load_contract(PARQUET)
    found = run.collect(spark, contract, _registry(), "tickets", _fields(contract),
                        _files(contract), None, _ordered(contract))
    # two p90 levels: first response by priority (3 priorities) and resolution, per month
    months = {p.group.split(",")[0] for p in found.picks}
    assert found.picks and len(found.picks) <= 4 * len(months) * 2
    assert {p.tally for p in found.picks} == {0, 1}
