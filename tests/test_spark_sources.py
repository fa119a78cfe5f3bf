"""Sources Spark does not split (CSV, Zendesk, Arrow IPC) read inside Spark by their own
adapter, and the rejected rows written by Spark: the local engine's report and rejects."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
import tomli_w
from click.testing import CliRunner
from test_spark import _identical, _partitioned

import slaengine
from slaengine.cli import main
from slaengine.contract import load_contract
from slaengine.pluginmanager import build_registry

ROOT = Path(__file__).resolve().parent.parent
CSV_CONTRACT = ROOT / "contracts" / "isp-helpdesk.toml"
PARQUET_CONTRACT = ROOT / "contracts" / "isp-helpdesk-parquet.toml"
ECOMMERCE = ROOT / "contracts" / "ecommerce-email.toml"
TICKETS_CSV = ROOT / "examples" / "data" / "tickets.csv"
TICKETS_PARQUET = ROOT / "examples" / "data" / "tickets.parquet"


def _zendesk_contract(tmp_path: Path) -> Path:
    """The e-commerce contract's Zendesk and survey sources with their streamed levels only
    (the first-response, resolution, volume and rating levels; surveys' csat and nps)."""
    document = tomllib.loads(ECOMMERCE.read_text())
    document["sources"] = {name: spec for name, spec in document["sources"].items()
                           if name in ("zendesk", "surveys")}
    for spec in document["sources"].values():
        spec["path"] = str((ECOMMERCE.parent / spec["path"]).resolve())
    document["service_levels"] = [
        level for level in document["service_levels"]
        if level.get("source") in ("zendesk", "surveys")
        and level["metric"] in ("first_response_time", "resolution_time", "ticket_volume",
                                "csat", "nps")]
    path = tmp_path / "zendesk.toml"
    path.write_text(tomli_w.dumps(document))
    return path


def _with_source(tmp_path: Path, base: Path, path: Path, **source) -> Path:
    """The example contract ``base`` with its tickets source read from ``path``."""
    document = tomllib.loads(base.read_text())
    document["sources"]["tickets"].update(source, path=str(path))
    contract = tmp_path / f"{path.stem}.toml"
    contract.write_text(tomli_w.dumps(document))
    return contract


@pytest.mark.spark
def test_a_csv_source_is_identical_on_spark(spark):
    report = _identical(CSV_CONTRACT, spark)
    account = report["sources"]["tickets"]
    # the example CSV: 4006 data rows = 4000 accepted + 6 rejected (lines 335 and 1003: no
    # timestamp; 1671: csat 7; 2338: no id; 3006: reply before creation; 3674: contacts "two")
    assert (account["read"], account["accepted"], account["rejected"]) == (4006, 4000, 6)
    assert any(v["missed"] for v in report["verdicts"])  # missed ids are compared too


@pytest.mark.spark
def test_a_csv_source_as_of_a_day_is_identical_on_spark(spark):
    report = _identical(CSV_CONTRACT, spark, as_of="2026-03-18")
    account = report["sources"]["tickets"]
    # a CSV is read whole (nothing pushed down): the rows after the day are counted apart
    assert account["read"] == 4006
    assert account["after_as_of"] > 0
    assert account["read"] == account["accepted"] + account["rejected"]
    assert any(v.get("outlook") for v in report["verdicts"])


@pytest.mark.spark
def test_a_zendesk_source_is_identical_on_spark(spark, tmp_path):
    report = _identical(_zendesk_contract(tmp_path), spark)
    zendesk, surveys = report["sources"]["zendesk"], report["sources"]["surveys"]
    assert zendesk["adapter"] == "zendesk" and surveys["adapter"] == "csv"
    # every row accounted for; the export repeats tickets (duplicates) and notes the
    # ratings offered but not answered: both reach the report from the Spark task
    assert zendesk["read"] == zendesk["accepted"] + zendesk["rejected"] + zendesk["duplicates"]
    assert zendesk["duplicates"] > 0
    assert zendesk["notes"]
    assert {v["service_level"] for v in report["verdicts"]} >= {"first-response", "csat"}


@pytest.mark.spark
def test_a_zendesk_sources_rejects_and_duplicates_are_written_by_spark(spark, tmp_path):
    contract = _zendesk_contract(tmp_path)
    local = _local_rejects(contract, tmp_path / "local.csv")
    written = _spark_rejects(spark, contract, tmp_path / "spark.csv")
    on_spark = _rows(sorted((tmp_path / "spark.csv").glob("part-*.csv")))
    # the example export: 3 rejected tickets (2 deleted, 1 without a metric set) and 8
    # superseded versions; the surveys file has none
    assert written == len(local) == 11
    assert sum(row[4].startswith("duplicate") for row in on_spark) == 8
    assert sorted(on_spark, key=repr) == sorted(local, key=repr)


@pytest.mark.spark
def test_an_arrow_ipc_source_is_identical_on_spark(spark, tmp_path):
    table = pq.read_table(TICKETS_PARQUET)
    ipc = tmp_path / "tickets.arrow"
    with pa.OSFile(str(ipc), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        for batch in table.to_batches(max_chunksize=1000):  # 4006 rows: 5 record batches
            writer.write_batch(batch)
    report = _identical(_with_source(tmp_path, PARQUET_CONTRACT, ipc), spark,
                        as_of="2026-03-18")
    account = report["sources"]["tickets"]
    assert account["adapter"] == "arrow"
    # the adapter pushes the window down into the IPC scan, in the Spark task as locally:
    # rows after it are not read at all
    assert 0 < account["read"] < 4006
    assert account["read"] == account["accepted"] + account["rejected"]


# Appended to a copy of the example CSV (4006 data rows, lines 2-4007): rows 4008-4013 (the
# last one a quoted value over two lines).
BAD_ROWS = '''\
NW-000001,2026-01-02 10:00:00,2026-01-02 10:30:00,,normal,email,f.oconnor,1,100,,,,no,1,1800
NW-900001,not a date,,,normal,email,f.oconnor,1,100,,,,no,1,10
NW-900002,2026-01-05 10:00:00,,,normal,email,f.oconnor,=1+1,100,,,,no,1,10
NW-900003,2026-01-05 11:00:00,,,normal,email,f.oconnor,"3, ""three""",100,,,,no,1,10
,2026-01-05 12:00:00,,,normal,email,f.oconnor,1,100,,,,no,1,10
NW-900004,2026-01-05 13:00:00,,,normal,email,f.oconnor,"a
b",100,,,,no,1,10
'''


def _rows(paths: list[Path]) -> list[tuple]:
    """The rows of reject CSV files (every column as text, a missing value as None)."""
    options = pacsv.ConvertOptions(column_types={n: pa.string() for n in
                                                 ("source", "row", "field", "value", "reason")},
                                   strings_can_be_null=True, quoted_strings_can_be_null=False)
    rows: list[tuple] = []
    for path in paths:
        table = pacsv.read_csv(path, convert_options=options)
        assert table.column_names == ["source", "row", "field", "value", "reason"], path
        rows += [tuple(r.values()) for r in table.to_pylist()]
    return rows


def _spark_rejects(spark, contract: Path, location: Path, **kwargs) -> int:
    """The rejects of ``contract`` written by Spark to ``location``; how many."""
    from slaengine.spark.rejects import write_rejects

    registry = build_registry()
    loaded = load_contract(contract, registry)
    evaluation = slaengine.evaluate(contract, engine="spark", spark=spark, **kwargs)
    as_of = evaluation.manifest["options"].get("as_of")
    if as_of is not None:
        from datetime import datetime

        as_of = datetime.fromisoformat(as_of)
    return write_rejects(spark, loaded, registry, evaluation, str(location), as_of=as_of)


def _local_rejects(contract: Path, location: Path, *args: str) -> list[tuple]:
    result = CliRunner().invoke(main, ["evaluate", str(contract), "--rejects", str(location),
                                       *args])
    assert result.exit_code == 0, result.output
    return _rows([location])


@pytest.mark.spark
def test_rejects_written_by_spark_are_the_local_engines(spark, tmp_path):
    data = tmp_path / "tickets.csv"
    data.write_text(TICKETS_CSV.read_text() + BAD_ROWS)
    contract = _with_source(tmp_path, CSV_CONTRACT, data)
    local = _local_rejects(contract, tmp_path / "local.csv")
    written = _spark_rejects(spark, contract, tmp_path / "spark.csv")
    on_spark = _rows(sorted((tmp_path / "spark.csv").glob("part-*.csv")))
    # 6 rejected rows of the example + 5 appended (4009: no timestamp; 4010, 4011 and 4013:
    # contacts not a number; 4012: no id) + 1 duplicate (4008 repeats NW-000001 of line 2)
    assert written == len(local) == 12
    assert sorted(on_spark, key=repr) == sorted(local, key=repr)
    by_line = {int(row[1]): row for row in on_spark}
    assert by_line[4008][4] == "duplicate of line 2"
    assert by_line[4010][3] == "'=1+1"  # a formula neutralised, as in the local file
    assert by_line[4011][3] == '3, "three"'
    assert by_line[4013][3] == "a\nb"


@pytest.mark.spark
def test_rejects_of_parquet_are_numbered_as_the_arrow_adapter_numbers_them(spark, tmp_path):
    folder, single = _partitioned(tmp_path)
    base = ROOT / "contracts" / "isp-helpdesk-parquet.toml"
    # 8 hive-style files (one of only rejected rows, one empty), the same rows in one file
    # of one row group, the example file
    for number, data in enumerate((folder, single, TICKETS_PARQUET)):
        contract = _with_source(tmp_path, base, data)
        local = _local_rejects(contract, tmp_path / f"local-{number}.csv")
        location = tmp_path / f"spark-{number}.parquet"
        written = _spark_rejects(spark, contract, location)
        on_spark = ds.dataset(location, format="parquet").to_table().to_pylist()
        on_spark = [tuple(None if v is None else str(v) for v in r.values())
                    for r in on_spark]
        # the example's 5 rejected rows (4006 read, 4001 accepted), wherever they lie
        assert written == len(local) == 5, data
        assert sorted(on_spark, key=repr) == sorted(local, key=repr), data


@pytest.mark.spark
def test_rejects_in_a_window_are_numbered_among_the_rows_read(spark, tmp_path):
    rows = pq.read_table(TICKETS_PARQUET)
    rows = rows.take(pa.array(range(rows.num_rows - 1, -1, -1)))  # newest first
    data = tmp_path / "groups.parquet"
    pq.write_table(rows, data, row_group_size=500)  # 4006 rows: 9 row groups
    assert pq.ParquetFile(data).metadata.num_row_groups == 9
    contract = _with_source(tmp_path, ROOT / "contracts" / "isp-helpdesk-parquet.toml", data)
    local = _local_rejects(contract, tmp_path / "local.csv", "--as-of", "2026-03-18")
    written = _spark_rejects(spark, contract, tmp_path / "spark.csv", as_of="2026-03-18")
    on_spark = _rows(sorted((tmp_path / "spark.csv").glob("part-*.csv")))
    # The rows after the day come first: their row groups are skipped and the rows outside
    # the window filtered, locally and by Spark: 4006 - 1707 read = 2299 rows not read, all
    # before the rejects that are read. The example's rejects lie at rows 1002, 1670, 2337,
    # 3005 and 3673 of the reversed file; the first two are not read; the others are
    # numbered among the rows read: 2337 - 2299 = 38, 3005 - 2299 = 706, 3673 - 2299 = 1374.
    assert written == len(local) == 3
    assert sorted(int(row[1]) for row in on_spark) == [38, 706, 1374]
    assert sorted(on_spark, key=repr) == sorted(local, key=repr)


@pytest.mark.spark
def test_no_rejected_row_writes_an_empty_location(spark, tmp_path):
    data = tmp_path / "clean.csv"
    lines = TICKETS_CSV.read_text().splitlines(keepends=True)
    data.write_text("".join(lines[:301]))  # the header and the first 300 rows: none rejected
    contract = _with_source(tmp_path, CSV_CONTRACT, data)
    assert _local_rejects(contract, tmp_path / "local.csv") == []
    assert _spark_rejects(spark, contract, tmp_path / "spark.csv") == 0
    assert _rows(sorted((tmp_path / "spark.csv").glob("part-*.csv"))) == []
    assert (tmp_path / "spark.csv").is_dir()


def test_rejects_onto_an_existing_location_are_refused(tmp_path):
    existing = tmp_path / "rejects.csv"
    existing.write_text("kept\n")
    result = CliRunner().invoke(main, ["evaluate", str(CSV_CONTRACT), "--engine", "spark",
                                       "--rejects", str(existing)])
    assert result.exit_code == 2
    assert "exists" in result.output and str(existing) in result.output
    assert existing.read_text() == "kept\n"  # nothing replaced
    (tmp_path / "folder").mkdir()
    result = CliRunner().invoke(main, ["evaluate", str(CSV_CONTRACT), "--engine", "spark",
                                       "--rejects", str(tmp_path / "folder")])
    assert result.exit_code == 2 and "exists" in result.output
    result = CliRunner().invoke(main, ["evaluate", str(CSV_CONTRACT), "--engine", "spark",
                                       "--rejects", str(tmp_path / "no" / "r.csv")])
    assert result.exit_code == 2 and "no such folder" in result.output
    result = CliRunner().invoke(main, ["evaluate", str(CSV_CONTRACT), "--engine", "spark",
                                       "--rejects", f"file://{existing}"])
    assert result.exit_code == 2 and "exists" in result.output
    assert existing.read_text() == "kept\n"


@pytest.mark.spark
def test_an_adapters_error_in_the_spark_task_is_the_local_engines(spark, tmp_path):
    data = tmp_path / "tickets.csv"
    data.write_text(TICKETS_CSV.read_text().replace("Created", "Opened", 1))
    contract = _with_source(tmp_path, CSV_CONTRACT, data)  # fields name "Created": not there
    with pytest.raises(slaengine.errors.DataError) as local:
        slaengine.evaluate(contract)
    with pytest.raises(slaengine.errors.DataError) as on_spark:
        slaengine.evaluate(contract, engine="spark", spark=spark)
    assert "Created" in local.value.message
    assert on_spark.value.message == local.value.message
    assert str(on_spark.value.file) == str(local.value.file)


@pytest.mark.spark
def test_the_command_writes_the_rejects_with_spark(spark, tmp_path, monkeypatch):
    import json

    from slaengine import spark as on_spark

    monkeypatch.setattr(on_spark, "start_session", lambda master=None: spark)
    monkeypatch.setattr(spark, "stop", lambda: None)  # the session is shared by the tests
    data = tmp_path / "tickets.csv"
    data.write_text(TICKETS_CSV.read_text() + BAD_ROWS)
    contract = _with_source(tmp_path, CSV_CONTRACT, data)
    local = _local_rejects(contract, tmp_path / "local.csv")
    location = tmp_path / "spark.csv"
    result = CliRunner().invoke(main, ["evaluate", str(contract), "--engine", "spark",
                                       "--rejects", str(location), "-o",
                                       str(tmp_path / "report.json")])
    assert result.exit_code == 0, result.output
    assert location.is_dir()  # Spark's folder of part files, not the local engine's file
    on_spark = _rows(sorted(location.glob("part-*.csv")))
    assert sorted(on_spark, key=repr) == sorted(local, key=repr)
    account = json.loads((tmp_path / "report.json").read_text())["sources"]["tickets"]
    # 4012 rows read = 4000 accepted + 11 rejected + 1 duplicate; the files: 11 + 1 rows
    assert (account["read"], account["accepted"], account["rejected"],
            account["duplicates"]) == (4012, 4000, 11, 1)
    assert len(on_spark) == account["rejected"] + account["duplicates"]
    again = CliRunner().invoke(main, ["evaluate", str(contract), "--engine", "spark",
                                      "--rejects", str(location)])
    assert again.exit_code == 2 and "exists" in again.output
    assert sorted(_rows(sorted(location.glob("part-*.csv"))), key=repr) == sorted(local,
                                                                                  key=repr)


SURVEYS = """survey_id,responded_at,ticket_id,csat
S1,2026-01-02T10:00:00Z,NW-000002,5
S2,2026-01-03T10:00:00Z,NW-000003,2
S3,2026-01-04T10:00:00Z,NW-000001,4
S4,2026-01-05T10:00:00Z,NW-999999,3
S5,2026-03-01T10:00:00Z,NW-003500,5
S6,2026-05-01T10:00:00Z,NW-000004,1
"""


@pytest.mark.spark
def test_a_source_read_whole_takes_its_linked_sources_fields_on_spark(spark, tmp_path):
    document = tomllib.loads(CSV_CONTRACT.read_text())
    document.pop("penalties", None)
    document["sources"]["tickets"]["path"] = str(TICKETS_CSV)
    (tmp_path / "surveys.csv").write_text(SURVEYS)
    document["sources"]["surveys"] = {"adapter": "csv", "kind": "surveys", "link": "tickets",
                                      "path": str(tmp_path / "surveys.csv")}
    document["service_levels"] = [{"id": "csat-by-priority", "source": "surveys",
                                   "metric": "csat", "by": ["priority"],
                                   "target": "mean >= 4"}]
    contract = tmp_path / "linked.toml"
    contract.write_text(tomli_w.dumps(document))
    report = _identical(contract, spark)
    values = {(v["period"], v["segment"]["priority"]): v["value"] for v in report["verdicts"]
              if v["value"] is not None}  # a segment seen in another period: no value here
    # tickets 2 and 3 are high (5 and 2: mean 3.5), ticket 1 normal, NW-999999 none; in
    # March NW-003500 is normal; in May NW-000004 is low
    assert values == {("2026-01", "high"): 3.5, ("2026-01", "normal"): 4.0,
                      ("2026-01", None): 3.0, ("2026-03", "normal"): 5.0,
                      ("2026-05", "low"): 1.0}
    notes = report["sources"]["surveys"]["notes"]
    assert notes == {"records without a matching tickets record": 1}
    report = _identical(contract, spark, as_of="2026-03-18")
    surveys = report["sources"]["surveys"]
    # S6 (May) is after the day; NW-003500 was created in June: no ticket yet for S5
    assert surveys["after_as_of"] == 1
    assert surveys["notes"] == {"records without a matching tickets record": 2}


def test_a_link_from_a_source_spark_splits_stays_refused(tmp_path):
    from slaengine.spark.support import unsupported

    table = pacsv.read_csv(pa.BufferReader(SURVEYS.encode()))
    pq.write_table(table, tmp_path / "surveys.parquet")
    (tmp_path / "surveys.csv").write_text(SURVEYS)
    document = tomllib.loads(CSV_CONTRACT.read_text())
    document.pop("penalties", None)
    document["sources"]["tickets"]["path"] = str(TICKETS_CSV)
    document["service_levels"] = [{"id": "csat-by-priority", "source": "surveys",
                                   "metric": "csat", "by": ["priority"],
                                   "target": "mean >= 4"}]
    registry = build_registry()
    found = {}
    for adapter, name in (("arrow", "surveys.parquet"), ("csv", "surveys.csv")):
        document["sources"]["surveys"] = {"adapter": adapter, "kind": "surveys",
                                          "link": "tickets", "path": str(tmp_path / name)}
        (tmp_path / "c.toml").write_text(tomli_w.dumps(document))
        found[adapter] = unsupported(load_contract(tmp_path / "c.toml", registry), registry)
    assert found["csv"] == []  # read whole by its adapter: joined in its Spark task
    assert len(found["arrow"]) == 1 and "a link to source tickets" in found["arrow"][0]


@pytest.mark.spark
def test_rejects_of_a_view_without_files_are_numbered_in_its_rows_order(spark, tmp_path):
    files = spark.read.parquet(str(TICKETS_PARQUET))
    # no file behind it: the file's rows in their order, in 3 partitions of Spark's row ids
    rows = spark.sparkContext.parallelize(files.collect(), 3)
    frame = spark.createDataFrame(rows, files.schema)
    assert frame.inputFiles() == []
    frame.createOrReplaceTempView("slaengine_rejects_view")
    document = tomllib.loads((ROOT / "contracts" / "isp-helpdesk-parquet.toml").read_text())
    document["sources"]["tickets"] = {"adapter": "spark-table",
                                      "table": "slaengine_rejects_view",
                                      "fields": document["sources"]["tickets"]["fields"]}
    contract = tmp_path / "view.toml"
    contract.write_text(tomli_w.dumps(document))
    local = _local_rejects(_with_source(tmp_path, ROOT / "contracts" /
                                       "isp-helpdesk-parquet.toml", TICKETS_PARQUET),
                           tmp_path / "local.csv")
    try:
        written = _spark_rejects(spark, contract, tmp_path / "spark.parquet")
    finally:
        spark.catalog.dropTempView("slaengine_rejects_view")
    on_spark = ds.dataset(tmp_path / "spark.parquet", format="parquet").to_table().to_pylist()
    # the view's rows are numbered in its order, which is the file's: the same places and
    # reasons as the arrow adapter gives (a time's text is in Spark's zone: left out)
    assert written == len(local) == 5
    assert sorted((r["source"], str(r["row"]), r["field"], r["reason"]) for r in on_spark) == (
        sorted((r[0], r[1], r[2], r[4]) for r in local))


@pytest.mark.spark
def test_rejects_that_no_longer_match_the_report_fail(spark, tmp_path):
    from slaengine.spark.rejects import write_rejects

    data = tmp_path / "tickets.csv"
    data.write_text(TICKETS_CSV.read_text())
    contract = _with_source(tmp_path, CSV_CONTRACT, data)
    registry = build_registry()
    evaluation = slaengine.evaluate(contract, engine="spark", spark=spark)
    assert evaluation.sources["tickets"].rejected == 6
    data.write_text(TICKETS_CSV.read_text() + BAD_ROWS)  # the input changes in between
    with pytest.raises(slaengine.errors.DataError, match="12 rows written, but the report "
                                                          "counts 6"):
        write_rejects(spark, load_contract(contract, registry), registry, evaluation,
                      str(tmp_path / "spark.csv"))
