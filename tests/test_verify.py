"""``slaengine verify``: identical from anywhere, every change named, no forged report accepted."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

import slaengine.verify
from slaengine.cli import main

DATA = Path(__file__).parent / "data"
ZENDESK = ('[contract]\nid = "z"\nclient = "C"\nvendor = "V"\n'
           '[sources.zd]\nadapter = "zendesk"\npath = "pages"\n'
           '[[service_levels]]\nid = "volume"\nmetric = "ticket_volume"\ntarget = "count <= 5"\n')


def run(*args: str):
    return CliRunner().invoke(main, list(args))


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A folder with the small contract, its data and a report in ``out/``."""
    root = tmp_path / "project"
    root.mkdir()
    shutil.copy(DATA / "small.toml", root / "small.toml")
    shutil.copy(DATA / "small-tickets.csv", root / "small-tickets.csv")
    (root / "out").mkdir()
    return root


def _evaluate(contract: Path, report: Path) -> None:
    result = run("evaluate", str(contract), "-o", str(report))
    assert result.exit_code == 0, result.output


def test_identical_from_any_working_directory_and_after_the_folder_moves(
        project, tmp_path, monkeypatch):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(project)  # cwd A: the contract named relatively
    _evaluate(Path("small.toml"), Path("out/result.json"))
    monkeypatch.chdir(elsewhere)  # cwd C
    result = run("verify", str(project / "out" / "result.json"))
    assert result.exit_code == 0, result.output
    assert "identical: 10 verdicts" in result.output
    moved = tmp_path / "moved"
    shutil.move(project, moved)
    result = run("verify", str(moved / "out" / "result.json"))
    assert result.exit_code == 0, result.output
    monkeypatch.chdir(moved / "out")
    assert run("verify", "result.json").exit_code == 0


def test_a_report_on_standard_output_records_the_contract_absolutely(project, monkeypatch):
    monkeypatch.chdir(project)
    result = run("evaluate", "small.toml", "--format", "json")
    document = json.loads(result.output)
    assert document["manifest"]["contract"]["path"] == str(project / "small.toml")
    (project / "out" / "r.json").write_text(result.output)
    monkeypatch.chdir(project / "out")
    assert run("verify", "r.json").exit_code == 0


@pytest.fixture
def pages(tmp_path: Path) -> tuple[Path, Path]:
    shutil.copytree(DATA / "zendesk" / "pages", tmp_path / "pages")
    (tmp_path / "z.toml").write_text(ZENDESK)
    report = tmp_path / "r.json"
    _evaluate(tmp_path / "z.toml", report)
    assert run("verify", str(report)).exit_code == 0
    return tmp_path, report


def test_a_page_added_to_a_folder_source_is_named(pages):
    folder, report = pages
    shutil.copy(folder / "pages" / "page-002.json", folder / "pages" / "page-003.json")
    result = run("verify", str(report))
    assert result.exit_code == 1
    assert "added: zd file pages/page-003.json" in result.output


def test_a_page_removed_from_a_folder_source_is_named(pages):
    folder, report = pages
    (folder / "pages" / "page-002.json").unlink()
    result = run("verify", str(report))
    assert result.exit_code == 1
    assert "removed: zd file pages/page-002.json" in result.output


def test_a_renamed_page_is_named_even_when_the_verdicts_stay(pages):
    folder, report = pages
    (folder / "pages" / "page-002.json").rename(folder / "pages" / "page-009.json")
    result = run("verify", str(report))
    assert result.exit_code == 1
    assert "renamed: zd file pages/page-002.json → pages/page-009.json" in result.output


def test_a_source_gone_is_a_difference_not_a_crash(project):
    _evaluate(project / "small.toml", project / "out" / "r.json")
    (project / "small-tickets.csv").unlink()
    result = run("verify", str(project / "out" / "r.json"))
    assert result.exit_code == 1, result.output
    assert "changed: input tickets" in result.output and "is now missing" in result.output
    assert "the evaluation no longer runs" in result.output


def test_a_manifest_pointing_at_an_untouched_copy_is_refused(project):
    report = project / "out" / "r.json"
    _evaluate(project / "small.toml", report)
    # The data is changed; an untouched copy is kept, and the manifest edited to name it.
    shutil.copy(project / "small-tickets.csv", project / "copy.csv")
    data = project / "small-tickets.csv"
    data.write_text(data.read_text().replace("T1,", "T100,"))
    document = json.loads(report.read_text())
    document["manifest"]["inputs"]["tickets"]["path"] = "copy.csv"
    report.write_text(json.dumps(document))
    result = run("verify", str(report))
    assert result.exit_code == 2
    assert str(report) in result.output and "manifest.inputs" in result.output
    assert "'copy.csv'" in result.output and "'small-tickets.csv'" in result.output


def test_an_edited_figure_is_found_in_every_part_of_the_report(project):
    report = project / "out" / "r.json"
    _evaluate(project / "small.toml", report)
    original = json.loads(report.read_text())
    edits = {
        "summary": lambda d: d["summary"].update(breached=0),
        "verdict": lambda d: d["verdicts"][0].update(status="met", sample_size=99),
        "duplicate": lambda d: d["verdicts"].append(dict(d["verdicts"][-1])),
        "order": lambda d: d["verdicts"].reverse(),
        "source count": lambda d: d["sources"]["tickets"].update(rejected=0),
        "new part": lambda d: d.update(note="all met"),
        "contract": lambda d: d["contract"].update(monthly_fee="1.00"),
    }
    for name, edit in edits.items():
        document = json.loads(json.dumps(original))
        edit(document)
        report.write_text(json.dumps(document))
        result = run("verify", str(report))
        assert result.exit_code == 1, (name, result.output)
        assert "differs:" in result.output, name


BAD_MANIFESTS = {
    "manifest": lambda m: m.clear() or None,
    "manifest.inputs": lambda m: m.update(inputs=[]),
    "manifest.contract.sha256": lambda m: m["contract"].update(sha256=5),
    "manifest.options": lambda m: m.update(options="x"),
    "manifest.options.as_of": lambda m: m["options"].update(as_of="garbage"),
    "manifest.contract.path": lambda m: m["contract"].update(path=None),
    "manifest.options.formats[0]": lambda m: m["options"].update(formats=["pdf"]),
    "manifest.inputs.tickets.files": lambda m: m["inputs"]["tickets"].pop("files"),
    "manifest.inputs.tickets.files[0].bytes": (
        lambda m: m["inputs"]["tickets"]["files"][0].update(bytes="12")),
    "manifest.inputs.tickets.sha256": lambda m: m["inputs"]["tickets"].update(sha256="abc"),
    "manifest.options.fail_on": lambda m: m["options"].update(fail_on=True),
    "manifest.options.colour": lambda m: m["options"].update(colour="red"),
}


@pytest.mark.parametrize("key", sorted(BAD_MANIFESTS))
def test_a_malformed_manifest_is_refused_naming_the_report_and_the_key(project, key):
    report = project / "out" / "r.json"
    _evaluate(project / "small.toml", report)
    document = json.loads(report.read_text())
    BAD_MANIFESTS[key](document["manifest"])
    if key == "manifest":
        document["manifest"] = "none"
    report.write_text(json.dumps(document))
    result = run("verify", str(report))
    assert result.exit_code == 2, result.output
    assert result.output.startswith(f"error: {report}: {key}"), result.output
    assert "Traceback" not in result.output


def test_reports_that_are_not_json_objects_are_refused(tmp_path, monkeypatch):
    cases = {
        "list.json": (b"[1, 2]", "a list, not an object"),
        "latin1.json": ('{"x": "caf\u00e9"}'.encode("latin-1"), "not UTF-8"),
        "deep.json": (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        "nan.json": (b'{"manifest": {}, "x": NaN}', "NaN is not a JSON number"),
        "empty.json": (b"", "not a JSON report"),
        "bare.json": (b'{"verdicts": []}', "no manifest"),
    }
    for name, (content, message) in cases.items():
        (tmp_path / name).write_bytes(content)
        result = run("verify", str(tmp_path / name))
        assert result.exit_code == 2, (name, result.output)
        assert f"{tmp_path / name}: " in result.output and message in result.output, name
    # Too big: refused from its size, before it is read (7 bytes with a 6-byte limit).
    monkeypatch.setattr(slaengine.verify, "REPORT_LIMIT", 6)
    (tmp_path / "big.json").write_bytes(b'{"a":1}')
    result = run("verify", str(tmp_path / "big.json"))
    assert result.exit_code == 2 and "more than a report can be" in result.output


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs and /dev/zero")
def test_devices_and_pipes_are_refused_without_being_read(tmp_path):
    os.mkfifo(tmp_path / "pipe")  # opening it would block: it must not be opened
    for path in (tmp_path / "pipe", Path("/dev/zero"), tmp_path):
        result = run("verify", str(path))
        assert result.exit_code == 2, result.output
        assert "not a regular file" in result.output
    result = run("verify", str(tmp_path / "none.json"))
    assert result.exit_code == 2 and "no such file" in result.output
