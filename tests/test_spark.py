"""--engine spark gives the local engine's report, field by field (Spark in local[2])."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

import slaengine
from slaengine.cli import main
from slaengine.testing import report_differences as _differences
from slaengine.testing import without_run_facts as _without_run_facts

ROOT = Path(__file__).resolve().parent.parent
PARQUET = ROOT / "contracts" / "isp-helpdesk-parquet.toml"
TICKETS = ROOT / "examples" / "data" / "tickets.parquet"


def _identical(contract, spark, **kwargs) -> dict:
    local = slaengine.evaluate(contract, **kwargs).to_dict()
    on_spark = slaengine.evaluate(contract, engine="spark", spark=spark, **kwargs).to_dict()
    assert on_spark["manifest"]["engine"]["name"] == "spark"
    assert "engine" not in local["manifest"]
    differences = _differences(_without_run_facts(local), _without_run_facts(on_spark))
    assert not differences, "\n".join(differences[:20])
    return on_spark


@pytest.mark.spark
def test_the_parquet_contract_is_identical_on_spark(spark):
    report = _identical(PARQUET, spark)
    # 4006 rows read = 4001 accepted + 5 rejected (the example data's documented rejects)
    assert report["sources"]["tickets"]["read"] == 4006
    assert report["sources"]["tickets"]["rejected"] == 5
    assert any(v["missed"] for v in report["verdicts"])  # missed ids are compared too


@pytest.mark.spark
def test_as_of_pushes_the_window_down_and_stays_identical(spark):
    report = _identical(PARQUET, spark, as_of="2026-03-18")
    account = report["sources"]["tickets"]
    # rows after the window are not read at all (pushed down), as the arrow adapter skips them
    assert account["read"] < 4006
    assert account["read"] == account["accepted"] + account["rejected"]


def _partitioned(tmp_path: Path) -> tuple[Path, Path]:
    """The example tickets as 8 hive-style files (part=0 .. part=7, in row order) — one of
    only rejected rows (no ticket id, no creation time), one empty — and the same rows as one
    file."""
    table = pq.read_table(TICKETS)
    ids, created = table["Ticket ID"], table["Created"]
    bad = pa.compute.or_(pa.compute.is_null(ids), pa.compute.is_null(created))
    rejected_only = table.filter(bad)
    good = table.filter(pa.compute.invert(bad))
    assert rejected_only.num_rows == 2  # rows 334 and 1002 of the file
    n = good.num_rows
    cuts = [0, n // 6, n // 3, n // 2, 2 * n // 3, 5 * n // 6, n]
    chunks = [good.slice(a, b - a) for a, b in itertools.pairwise(cuts)]
    chunks.insert(2, rejected_only)
    chunks.insert(5, table.slice(0, 0))  # an empty file
    assert len(chunks) == 8
    folder = tmp_path / "tickets"
    for i, chunk in enumerate(chunks):
        (folder / f"part={i}").mkdir(parents=True)
        pq.write_table(chunk, folder / f"part={i}" / "data.parquet")
    single = tmp_path / "tickets.parquet"
    pq.write_table(pa.concat_tables(chunks), single)
    return folder, single


def _contract_on(path: Path, tmp_path: Path, name: str) -> Path:
    text = PARQUET.read_text(encoding="utf-8").replace(
        'path = "../examples/data/tickets.parquet"', f'path = "{path.as_posix()}"')
    contract = tmp_path / name
    contract.write_text(text, encoding="utf-8")
    return contract


@pytest.mark.spark
def test_a_partitioned_dataset_equals_one_file(spark, tmp_path):
    folder, single = _partitioned(tmp_path)
    on_folder = _identical(_contract_on(folder, tmp_path, "folder.toml"), spark)
    on_file = _identical(_contract_on(single, tmp_path, "file.toml"), spark)
    account = on_folder["sources"]["tickets"]
    # 4006 rows: the two rejected-only rows are in their own file; the empty file adds none
    assert (account["read"], account["accepted"], account["rejected"]) == (4006, 4001, 5)
    assert account["rejected_by_reason"]["created_at: missing"] == 2  # as in the single file
    for key in ("verdicts", "sources", "service_levels", "credits", "credit_totals"):
        left = json.loads(json.dumps(on_folder[key]).replace(str(folder), "X"))
        right = json.loads(json.dumps(on_file[key]).replace(str(single), "X"))
        assert not _differences(left, right), key


def test_unsupported_features_are_refused_naming_them(monkeypatch, tmp_path):
    from slaengine import spark as on_spark

    monkeypatch.setattr(on_spark, "require_java", lambda: None)
    monkeypatch.setattr(on_spark, "require_pyspark", lambda: None)
    # a link joined to the records of a source Spark splits (Parquet surveys to tickets)
    text = ('[contract]\nid = "c"\nclient = "C"\nvendor = "V"\ncurrency = "USD"\n'
            'monthly_fee = "1.00"\nperiod = "month"\ntimezone = "UTC"\n\n'
            '[sources.tickets]\nadapter = "arrow"\nkind = "tickets"\npath = "t.parquet"\n\n'
            '[sources.surveys]\nadapter = "arrow"\nkind = "surveys"\npath = "s.parquet"\n'
            'link = "tickets"\n\n'
            '[[service_levels]]\nid = "csat-by-priority"\nsource = "surveys"\n'
            'metric = "csat"\nby = ["priority"]\ntarget = "mean >= 4"\n')
    (tmp_path / "c.toml").write_text(text, encoding="utf-8")
    for name in ("t.parquet", "s.parquet"):  # refused before a row is read
        (tmp_path / name).write_bytes(TICKETS.read_bytes())
    result = CliRunner().invoke(main, ["evaluate", str(tmp_path / "c.toml"),
                                       "--engine", "spark"])
    assert result.exit_code == 2, result.output
    assert "--engine local evaluates" in result.output
    assert "surveys: a link to source tickets" in result.output
    result = CliRunner().invoke(main, ["evaluate", str(PARQUET), "--engine", "spark",
                                       "--evidence", "ev"])
    assert result.exit_code == 2 and "--evidence" in result.output


def test_without_pyspark_the_install_command_is_given(monkeypatch):
    monkeypatch.setitem(sys.modules, "pyspark", None)  # import pyspark raises ImportError
    result = CliRunner().invoke(main, ["evaluate", str(PARQUET), "--engine", "spark"])
    assert result.exit_code == 2
    assert 'pip install "slaengine[spark]"' in result.output
    with pytest.raises(slaengine.errors.UsageError, match="slaengine\\[spark\\]"):
        slaengine.evaluate(PARQUET, engine="spark")


def test_without_java_spark_is_not_started(monkeypatch, tmp_path):
    pytest.importorskip("pyspark")
    monkeypatch.setenv("PATH", str(tmp_path))  # no java on it
    monkeypatch.delenv("JAVA_HOME", raising=False)
    result = CliRunner().invoke(main, ["evaluate", str(PARQUET), "--engine", "spark"])
    assert result.exit_code == 2
    assert "Java runtime" in result.output and "openjdk-17-jre-headless" in result.output


def test_bad_engine_options_are_usage_errors():
    result = CliRunner().invoke(main, ["evaluate", str(PARQUET), "--spark-master", "local[1]"])
    assert result.exit_code == 2 and "--engine spark" in result.output
    with pytest.raises(slaengine.errors.UsageError, match="engine must be one of"):
        slaengine.evaluate(PARQUET, engine="dask")
    with pytest.raises(slaengine.errors.UsageError, match='engine="spark" only'):
        slaengine.evaluate(PARQUET, spark=object())


def test_the_local_engine_imports_no_pyspark(tmp_path):
    probe = ("import sys, slaengine\n"
             f"slaengine.evaluate({str(PARQUET)!r})\n"
             "from slaengine.cli import main\n"
             "print('pyspark' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True, cwd=tmp_path)
    assert out.stdout.strip() == "False"
