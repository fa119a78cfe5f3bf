"""Every example contract and the benchmark contract give the local engine's report on Spark,
field by field (Spark in local[2]): CSV and Zendesk sources read whole by their adapter, event
clocks (custom ones, linked to a tickets source read whole), whole-record period metrics,
Parquet sources Spark splits."""

from __future__ import annotations

import importlib.util
import sys
import tomllib
from pathlib import Path

import pytest
import tomli_w
from test_spark import _identical

ROOT = Path(__file__).resolve().parent.parent
CONTRACTS = sorted((ROOT / "contracts").glob("*.toml"))
REFERENCE = ROOT / "examples" / "benchmark" / "reference.toml"
GENERATE = ROOT / "examples" / "generate.py"
EXPORTS = ROOT / "examples" / "generate_exports.py"
BENCHMARK = ROOT / "examples" / "benchmark.py"

pytestmark = pytest.mark.spark


def _example_module(path: Path = GENERATE):
    spec = importlib.util.spec_from_file_location(f"slaengine_examples_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def benchmark(tmp_path_factory) -> dict[str, Path]:
    """The benchmark contract on 3,000 generated tickets and 6 broken rows, as Parquet (an
    ``arrow`` source Spark splits) and as CSV (read whole by the adapter), as
    examples/benchmark.py points its copy of the contract at the file it measures."""
    folder = tmp_path_factory.mktemp("benchmark")
    generate = _example_module().generate
    found = {}
    for fmt, adapter in (("parquet", "arrow"), ("csv", "csv")):
        data = folder / f"tickets.{fmt}"
        assert generate(data, rows=3000, seed=11, fmt=fmt, bad_rows=6) == 3006
        document = tomllib.loads(REFERENCE.read_text(encoding="utf-8"))
        document["sources"]["tickets"]["adapter"] = adapter
        document["sources"]["tickets"]["path"] = str(data)
        contract = folder / f"reference-{fmt}.toml"
        contract.write_text(tomli_w.dumps(document), encoding="utf-8")
        found[fmt] = contract
    return found


def _reconciles(report: dict) -> None:
    for name, account in report["sources"].items():
        assert account["read"] == (account["accepted"] + account["rejected"]
                                   + account.get("duplicates", 0)), name


def test_every_example_contract_is_covered():
    names = {path.name for path in CONTRACTS}
    assert {"helpdesk-events.toml", "zendesk-metric-events.toml", "bpo-contact-centre.toml",
            "ecommerce-email.toml", "isp-helpdesk.toml", "isp-helpdesk-parquet.toml"} <= names


@pytest.mark.parametrize("contract", CONTRACTS, ids=lambda path: path.stem)
def test_an_example_contract_is_identical_on_spark(spark, contract):
    report = _identical(contract, spark)
    assert report["verdicts"]
    _reconciles(report)


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_the_benchmark_contract_is_identical_on_spark(spark, benchmark, fmt):
    report = _identical(benchmark[fmt], spark)
    account = report["sources"]["tickets"]
    # 3000 clean tickets + 6 broken rows written; in CSV all 6 are rejected, in Parquet 5
    # (its typed contacts column cannot hold the CSV's non-number: that row is accepted)
    assert account["read"] == 3006
    assert account["rejected"] == {"csv": 6, "parquet": 5}[fmt]
    assert account["accepted"] == 3006 - account["rejected"]
    _reconciles(report)
    # nine service levels (reference.toml), each with a verdict per month and priority
    assert len({v["service_level"] for v in report["verdicts"]}) == 9


def test_clocks_over_csv_sources_as_of_a_day_are_identical_on_spark(spark):
    """helpdesk-events: CSV events linked to CSV tickets (both read whole by their adapter),
    custom clocks; a day inside the data cuts records on both sources."""
    report = _identical(ROOT / "contracts" / "helpdesk-events.toml", spark, as_of="2026-02-15")
    assert sum(a["after_as_of"] for a in report["sources"].values()) > 0
    _reconciles(report)


def test_parquet_events_linked_to_csv_tickets_are_identical_on_spark(spark, tmp_path):
    """helpdesk-events with its events as Parquet (integer ticket ids, split by Spark) linked
    to the CSV tickets (read whole by the adapter): the tickets' records reach the clock parts
    of their events, as locally (requester-wait by the tickets' organization)."""
    source = ROOT / "contracts" / "helpdesk-events.toml"
    document = tomllib.loads(source.read_text(encoding="utf-8"))
    events = document["sources"]["events"]
    events["adapter"] = "arrow"
    events["path"] = str(ROOT / "examples" / "data" / "events.parquet")
    document["sources"]["tickets"]["path"] = str(ROOT / "examples" / "data"
                                                 / "events-tickets.csv")
    for name, calendar in document.get("calendars", {}).items():
        assert "file" not in calendar and "path" not in calendar, name  # nothing else relative
    contract = tmp_path / "helpdesk-events-parquet.toml"
    contract.write_text(tomli_w.dumps(document), encoding="utf-8")
    report = _identical(contract, spark)
    by_organization = [v for v in report["verdicts"] if "organization" in v["segment"]]
    assert by_organization and all(v["segment"]["organization"] for v in by_organization)
    _reconciles(report)


def test_the_benchmark_contract_on_export_shaped_data_is_identical_on_spark(spark, tmp_path):
    """The benchmark's second data variant (int64 ticket ids with gaps, int8-indexed dictionary
    categories, nullable int8 figures, UTC times in milliseconds), pointed at by the contract
    exactly as examples/benchmark.py points its copy: integer ids stay integers on Spark too,
    and the ids a verdict names are their decimal text, as locally."""
    data = tmp_path / "exports.parquet"
    _example_module(EXPORTS).generate(data, rows=3000, seed=11)
    bench = _example_module(BENCHMARK)
    contract = bench.contract_copy(data, "parquet", bench.VARIANTS["exports"], tmp_path)
    report = _identical(contract, spark)
    assert report["sources"]["tickets"]["read"] == 3000
    _reconciles(report)
    named = [i for v in report["verdicts"] for i in v.get("missed") or []]
    assert named and all(isinstance(i, str) and i.isdigit() for i in named)
