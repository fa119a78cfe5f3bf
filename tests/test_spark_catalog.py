"""Sources Spark reads without local files: a catalog table (``spark-table``) and an
``arrow`` path that is a URI, each giving the local engine's figures on the same rows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_spark import PARQUET, TICKETS, _contract_on, _differences, _partitioned

import slaengine
from slaengine.cli import main

COMPARED = ("verdicts", "service_levels", "credits", "credit_totals")


def _table_contract(tmp_path: Path, table: str, name: str = "table.toml") -> Path:
    text = PARQUET.read_text(encoding="utf-8").replace(
        'adapter = "arrow"\npath = "../examples/data/tickets.parquet"',
        f'adapter = "spark-table"\ntable = "{table}"')
    assert 'adapter = "spark-table"' in text
    contract = tmp_path / name
    contract.write_text(text, encoding="utf-8")
    return contract


def _same_figures(local: dict, on_spark: dict) -> None:
    for key in COMPARED:
        differences = _differences(local[key], on_spark[key])
        assert not differences, (key, differences[:10])
    mine, theirs = local["sources"]["tickets"], on_spark["sources"]["tickets"]
    for key in ("read", "accepted", "rejected", "duplicates", "rejected_by_reason"):
        assert mine[key] == theirs[key], key


@pytest.mark.spark
def test_a_catalog_table_gives_the_local_figures(spark, tmp_path):
    # the example tickets saved as a table in one file, rows in the file's order
    (spark.read.parquet(str(TICKETS)).coalesce(1).write
     .option("path", str(tmp_path / "warehouse" / "tickets"))
     .saveAsTable("slaengine_tickets"))
    try:
        local = slaengine.evaluate(PARQUET).to_dict()
        report = slaengine.evaluate(_table_contract(tmp_path, "slaengine_tickets"),
                                    engine="spark", spark=spark).to_dict()
    finally:
        spark.sql("DROP TABLE IF EXISTS slaengine_tickets")
    _same_figures(local, report)
    # 4006 rows = 4001 accepted + 5 rejected, as from the file
    assert report["sources"]["tickets"]["read"] == 4006
    assert report["sources"]["tickets"]["path"] == "table slaengine_tickets"
    assert report["manifest"]["inputs"]["tickets"] == {"path": "table slaengine_tickets"}


@pytest.mark.spark
def test_a_view_without_files_counts_every_row(spark, tmp_path):
    files = spark.read.parquet(str(TICKETS))
    frame = spark.createDataFrame(files.rdd, files.schema)  # rows, no file behind them
    assert frame.inputFiles() == []
    frame.createOrReplaceTempView("slaengine_view")
    try:
        local = slaengine.evaluate(PARQUET).to_dict()
        report = slaengine.evaluate(_table_contract(tmp_path, "slaengine_view"),
                                    engine="spark", spark=spark).to_dict()
    finally:
        spark.catalog.dropTempView("slaengine_view")
    mine, theirs = local["sources"]["tickets"], report["sources"]["tickets"]
    assert (theirs["read"], theirs["accepted"], theirs["rejected"]) == (4006, 4001, 5)
    assert theirs["rejected_by_reason"] == mine["rejected_by_reason"]
    # counts and order statistics do not depend on the rows' order: equal exactly
    for a, b in zip(local["verdicts"], report["verdicts"], strict=True):
        assert (a["service_level"], a["period"], a["status"], a["sample_size"]) == (
            b["service_level"], b["period"], b["status"], b["sample_size"])
        if a["value"] is None or b["value"] is None:
            assert a["value"] == b["value"]
        else:  # a mean's float sum may be added in another order
            assert b["value"] == pytest.approx(a["value"], rel=1e-12)


@pytest.mark.spark
def test_a_missing_table_is_a_clear_error(spark, tmp_path):
    with pytest.raises(slaengine.errors.DataError, match="no_such_table"):
        slaengine.evaluate(_table_contract(tmp_path, "no_such_table"), engine="spark",
                           spark=spark)


@pytest.mark.spark
def test_a_file_uri_is_read_by_spark_as_written(spark, tmp_path):
    folder, _ = _partitioned(tmp_path)
    local = slaengine.evaluate(_contract_on(folder, tmp_path, "local.toml")).to_dict()
    uri = folder.as_uri()  # file:///tmp/.../tickets
    assert uri.startswith("file:///")
    contract = _contract_on(folder, tmp_path, "uri.toml")
    contract.write_text(contract.read_text(encoding="utf-8").replace(
        f'path = "{folder.as_posix()}"', f'path = "{uri}"'), encoding="utf-8")
    report = slaengine.evaluate(contract, engine="spark", spark=spark).to_dict()
    _same_figures(local, json.loads(json.dumps(report).replace(uri, str(folder))))
    assert report["sources"]["tickets"]["path"] == uri
    assert report["manifest"]["inputs"]["tickets"] == {"path": uri}
    # 8 hive-style files: 4006 rows, one file of rejected rows only, one empty
    assert report["sources"]["tickets"]["read"] == 4006


def test_the_local_engine_refuses_a_spark_table(tmp_path):
    result = CliRunner().invoke(main, ["evaluate", str(_table_contract(tmp_path, "db.t"))])
    assert result.exit_code == 2, result.output
    assert "--engine spark" in result.output and '"db.t"' in result.output


@pytest.mark.parametrize("name", ["db.t; DROP TABLE x", "", "a.b.c.d", "1abc", "db..t"])
def test_a_table_name_must_be_plain_identifiers(tmp_path, name):
    result = CliRunner().invoke(main, ["evaluate", str(_table_contract(tmp_path, name))])
    assert result.exit_code == 2, result.output
    assert "sources.tickets.table" in result.output
