"""What slaengine writes: never over an input or another output, whole or not at all, unique
evidence names, formula-safe CSV, strict JSON, and text that cannot drive a terminal."""

import csv
import dataclasses
import io
import json
import os
import stat
from pathlib import Path
from types import SimpleNamespace

import pyarrow as pa
import pytest
from click.testing import CliRunner

from slaengine.cli import main
from slaengine.evidence import write_evidence, write_evidence_files
from slaengine.outputs import (
    atomic_file,
    atomic_folder,
    neutralise_array,
    neutralise_cell,
    strict_json,
)
from slaengine.text import printable

DATA = Path(__file__).parent / "data"


@pytest.fixture
def small(tmp_path):
    """The small fixture copied where outputs may be written next to it."""
    (tmp_path / "small-tickets.csv").write_bytes((DATA / "small-tickets.csv").read_bytes())
    contract = tmp_path / "small.toml"
    contract.write_bytes((DATA / "small.toml").read_bytes())
    return contract


def run(*args: str):
    return CliRunner().invoke(main, [str(a) for a in args])


def leftovers(folder: Path) -> list[str]:
    """Temporary files or folders left beside the outputs."""
    return sorted(p.name for p in folder.rglob("*") if p.name.endswith((".tmp", ".old")))


# --------------------------------------------------------------------------- placement


def test_an_output_may_not_replace_the_contract(small):
    before = small.read_bytes()
    for option in ("-o", "--rejects"):
        target = small if option == "--rejects" else small.with_suffix(".toml")
        args = [option, target] if option == "--rejects" else ["--format", "json", "-o", target]
        result = run("evaluate", small, *args)
        assert result.exit_code == 2, result.output
        assert "the contract" in result.output and str(small) in result.output
        assert "Traceback" not in result.output
    assert small.read_bytes() == before


def test_an_output_may_not_replace_an_input_however_it_is_named(small, monkeypatch):
    tickets = small.parent / "small-tickets.csv"
    before = tickets.read_bytes()
    link = small.parent / "link.csv"
    link.symlink_to(tickets)
    hard = small.parent / "hard.csv"
    os.link(tickets, hard)
    monkeypatch.chdir(small.parent)
    for name in ("small-tickets.csv", "./small-tickets.csv", str(tickets), "link.csv",
                 "hard.csv", "sub/../small-tickets.csv"):
        (small.parent / "sub").mkdir(exist_ok=True)
        for option in (["-o", name], ["--rejects", name]):
            result = run("evaluate", "small.toml", *option)
            assert result.exit_code == 2, (name, result.output)
            assert "input file of source tickets" in result.output, result.output
            assert str(Path(name)) in result.output
    assert tickets.read_bytes() == before


def test_two_outputs_may_not_share_a_file(small):
    out = small.parent / "r.csv"
    for args in (["-o", out, "-o", out], ["-o", out, "--rejects", out],
                 ["--format", "csv", "--format", "json", "-o", out, "-o", "./" + os.path.relpath(
                     out)]):
        result = run("evaluate", small, *args)
        assert result.exit_code == 2, result.output
        assert result.output.count(out.name) >= 2
    assert not out.exists()


def test_evidence_may_not_hold_or_be_another_path(small):
    folder = small.parent
    cases = [
        (["--evidence", folder / "ev", "-o", folder / "ev" / "r.json"], "--output"),
        (["--evidence", folder / "ev", "--rejects", folder / "ev" / "r.csv"], "--rejects"),
        (["--evidence", folder], "the contract"),  # the folder holds the contract and data
        (["--evidence", folder / "small-tickets.csv"], "input file"),
    ]
    (folder / "ev").mkdir()
    for args, named in cases:
        result = run("evaluate", small, *args)
        assert result.exit_code == 2, (args, result.output)
        assert named in result.output and "--evidence" in result.output, result.output
    assert sorted(p.name for p in folder.iterdir()) == ["ev", "small-tickets.csv", "small.toml"]


def zendesk_contract(tmp_path: Path, path: str) -> Path:
    """A contract reading the example Zendesk pages copied to ``tmp_path/data``."""
    data = tmp_path / "data"
    data.mkdir()
    for page in (DATA.parent.parent / "examples" / "data" / "zendesk").iterdir():
        (data / page.name).write_bytes(page.read_bytes())
    contract = tmp_path / "c.toml"
    contract.write_text(f'[contract]\nid = "z"\nclient = "C"\nvendor = "V"\n'
                        f'[sources.tickets]\nadapter = "zendesk"\npath = "{path}"\n'
                        '[[service_levels]]\nid = "volume"\nmetric = "ticket_volume"\n'
                        'target = "count <= 1000000"\n')
    return contract


def test_an_output_in_a_source_folder_would_be_read_next_time(tmp_path):
    contract = zendesk_contract(tmp_path, "data")
    data = tmp_path / "data"
    (data / "sub").mkdir()
    for args in (["--rejects", data / "rejects.csv"], ["-o", data / "sub" / "r.json"],
                 ["--evidence", data / "evidence"], ["--evidence", tmp_path]):
        result = run("evaluate", contract, *args)
        assert result.exit_code == 2, (args, result.output)
        assert "source tickets" in result.output or "the contract" in result.output
    # A hidden name is not read by the source, so it may be written there.
    assert run("evaluate", contract, "--rejects", data / ".rejects.csv").exit_code == 0
    assert sorted(p.name for p in data.iterdir() if not p.name.startswith("tickets-page")) == [
        ".rejects.csv", "sub"]


def test_an_output_matching_a_source_pattern_is_refused(tmp_path):
    contract = zendesk_contract(tmp_path, "data/tickets-*.json.gz")
    result = run("evaluate", contract, "-o", tmp_path / "data" / "tickets-9.json.gz",
                 "--format", "json")
    assert result.exit_code == 2 and "source tickets" in result.output
    assert run("evaluate", contract, "-o", tmp_path / "data" / "report.json").exit_code == 0


def test_a_missing_folder_is_named_without_a_traceback(small):
    missing = small.parent / "missing" / "dir"
    for args in (["--rejects", missing / "r.csv"], ["-o", missing / "x.json"],
                 ["--evidence", missing / "ev"]):
        result = run("evaluate", small, *args)
        assert result.exit_code == 2, result.output
        assert f"no such folder {missing}" in result.output
        assert "Traceback" not in result.output
    assert not (small.parent / "missing").exists()


def test_a_file_output_that_is_a_folder_is_refused(small):
    folder = small.parent / "reports.json"
    folder.mkdir()
    for option, name in (("-o", "--output"), ("--rejects", "--rejects")):
        result = run("evaluate", small, option, folder)
        assert result.exit_code == 2
        assert f"{name} {folder} is a folder" in result.output
    assert list(folder.iterdir()) == []


def test_evidence_never_replaces_a_folder_of_other_files(small):
    folder = small.parent / "docs"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    result = run("evaluate", small, "--evidence", folder)
    assert result.exit_code == 2
    assert "not an earlier evidence folder" in result.output
    assert (folder / "notes.txt").read_text() == "mine"


def test_dash_is_standard_output(small):
    result = run("evaluate", small, "--format", "json", "-o", "-")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["contract"]["id"] == "small"
    assert not (small.parent / "-").exists()
    assert "urgent-first-response" in run("evaluate", small, "-o", "-").stdout


# --------------------------------------------------------------------------- whole or nothing


def test_atomic_file_keeps_the_earlier_file_on_any_failure(tmp_path):
    path = tmp_path / "r.txt"
    path.write_text("earlier")
    for error in (RuntimeError("half-way"), KeyboardInterrupt()):
        with pytest.raises(type(error)), atomic_file(path) as stream:
            stream.write("partial")
            raise error
        assert path.read_text() == "earlier"
        assert leftovers(tmp_path) == []
    with atomic_file(path) as stream:
        stream.write("new")
    assert path.read_text() == "new"
    assert leftovers(tmp_path) == []


def test_a_new_output_gets_the_usual_permissions_and_keeps_an_earlier_files(tmp_path):
    mask = os.umask(0o022)
    try:
        with atomic_file(tmp_path / "new.txt") as stream:
            stream.write("x")
        # tempfile makes private 0600 files; an output is 0666 less the umask 022 = 0644.
        assert stat.S_IMODE((tmp_path / "new.txt").stat().st_mode) == 0o644
        kept = tmp_path / "kept.txt"
        kept.write_text("x")
        kept.chmod(0o640)
        with atomic_file(kept) as stream:
            stream.write("y")
        assert stat.S_IMODE(kept.stat().st_mode) == 0o640
    finally:
        os.umask(mask)


def test_atomic_folder_swaps_whole_or_leaves_the_earlier_one(tmp_path):
    path = tmp_path / "ev"
    path.mkdir()
    (path / "index.csv").write_text("old")
    (path / "stale.csv").write_text("old")
    with pytest.raises(KeyboardInterrupt), atomic_folder(path) as folder:
        (folder / "index.csv").write_text("new")
        raise KeyboardInterrupt
    assert sorted(p.name for p in path.iterdir()) == ["index.csv", "stale.csv"]
    assert leftovers(tmp_path) == []
    with atomic_folder(path) as folder:
        (folder / "index.csv").write_text("new")
    assert [p.name for p in path.iterdir()] == ["index.csv"]
    assert (path / "index.csv").read_text() == "new"
    assert leftovers(tmp_path) == []


def _fail_in_json(monkeypatch, error):
    from slaengine.plugins.reporters.json import JsonReporter

    def write(self, evaluation, stream):
        stream.write('{"half": ')
        raise error

    monkeypatch.setattr(JsonReporter, "write", write)


@pytest.mark.parametrize("error, code", [(KeyboardInterrupt(), 130),
                                         (RuntimeError("bug"), 2),
                                         (OSError(28, "No space left on device"), 2)])
def test_a_failing_or_interrupted_run_leaves_every_earlier_output(small, monkeypatch, error,
                                                                   code):
    folder = small.parent
    args = ["-o", folder / "r.csv", "-o", folder / "r.json", "--rejects", folder / "rej.csv",
            "--evidence", folder / "ev"]
    assert run("evaluate", small, *args).exit_code == 0
    before = {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    (folder / "ev" / "urgent-first-response" / "stale.csv").write_text("x")
    before[folder / "ev" / "urgent-first-response" / "stale.csv"] = b"x"
    _fail_in_json(monkeypatch, error)
    result = run("evaluate", small, *args)
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    if code == 130:
        assert result.stderr.strip() == "interrupted"
    assert {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()} == before
    assert leftovers(folder) == []


def test_an_interrupt_while_evaluating_exits_130(small, monkeypatch):
    import slaengine.engine

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(slaengine.engine, "evaluate", interrupted)
    out = small.parent / "r.json"
    result = run("evaluate", small, "-o", out)
    assert (result.exit_code, result.stderr) == (130, "interrupted\n")
    assert not out.exists() and leftovers(small.parent) == []


def test_a_closed_pipe_ends_quietly(small, monkeypatch):
    from slaengine.plugins.reporters.table import TableReporter

    def write(self, evaluation, stream):
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(TableReporter, "write", write)
    result = run("evaluate", small)
    assert result.exit_code == 141
    assert result.output == ""


def test_evidence_rerun_replaces_the_folder_whole(small):
    folder = small.parent / "ev"
    assert run("evaluate", small, "--evidence", folder).exit_code == 0
    stale = folder / "urgent-first-response" / "1999-01.csv"
    stale.write_text("stale")
    assert run("evaluate", small, "--evidence", folder).exit_code == 0
    assert not stale.exists()
    assert leftovers(small.parent) == []


# --------------------------------------------------------------------------- evidence names

SEGMENT_VALUES = ["a/b", "a?b", "a:b", "A/B", "a-b", "a\\b", "x" * 300, "é" * 200, "..", ".",
                  "", None, "None", "CON", "index.csv", "a b", "=cmd|' /C calc'!A0"]


def _evaluation(values):
    """Just what the evidence writer reads: one breached verdict per segment value."""
    verdicts = [SimpleNamespace(service_level=level, period="2026-03", segment={"queue": v},
                                status="breached", missed_count=1, target="p90 <= 1h",
                                statistic="p90", value=7200.0)
                for level in ("q/level", "Q?level") for v in values]
    table = pa.table({"period": ["2026-03"] * len(values), "queue": values,
                      "ticket_id": [f"T{i}" for i in range(len(values))],
                      "margin": [-0.25] * len(values)})
    return SimpleNamespace(verdicts=verdicts, concentration={}, intervals={}, audit={},
                           evidence={"q/level": table, "Q?level": table})


def test_evidence_names_are_unique_and_the_index_is_exact(tmp_path):
    written = write_evidence_files(_evaluation(SEGMENT_VALUES), tmp_path)
    files = written[1:]
    assert len(files) == 2 * len(SEGMENT_VALUES)
    # Unique even where names are compared without case (macOS, Windows).
    assert len({str(f).casefold() for f in files}) == len(files)
    on_disk = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.csv"))
    assert on_disk == sorted(p.as_posix() for p in written)
    for path in files:
        assert len(path.parts) == 2
        for part in path.parts:
            assert len(part.encode()) <= 255 and part not in (".", "..")
            assert all(c.isascii() and (c.isalnum() or c in "_.=-~") for c in part), part
    with (tmp_path / "index.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == len(files)
    assert sorted(r["file"] for r in rows) == sorted(p.as_posix() for p in files)
    seen = set()
    for row in rows:
        level = row["service_level"]
        value = json.loads(row["segment"])["queue"]
        seen.add((level, value))
        with (tmp_path / row["file"]).open(newline="", encoding="utf-8") as handle:
            records = list(csv.DictReader(handle))
        # Each file holds the one record of its value ("" and null told apart).
        expected = "" if value is None else neutralise_cell(value)
        assert len(records) == 1 and records[0]["queue"] == expected, row
        assert records[0]["margin"] == "-0.25"
    assert seen == {(lv, v) for lv in ("q/level", "Q?level") for v in SEGMENT_VALUES}


def test_evidence_of_the_cli_is_indexed(small):
    folder = small.parent / "ev"
    result = run("evaluate", small, "--evidence", folder)
    assert result.exit_code == 0, result.output
    with (folder / "index.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert {r["file"] for r in rows} == {
        p.relative_to(folder).as_posix() for p in folder.rglob("*.csv") if p.name != "index.csv"}
    assert all(json.loads(r["segment"]) is not None for r in rows)


def test_write_evidence_returns_the_final_paths(tmp_path):
    paths = write_evidence(_evaluation(["a", "b"]), tmp_path / "ev")
    assert paths[0] == tmp_path / "ev" / "index.csv"
    assert all(p.is_file() for p in paths)


# --------------------------------------------------------------------------- formulas in CSV


def test_neutralise_array_prefixes_formula_text_only():
    values = ["=1+1", "+1", "-x", "@SUM(A1)", "\tx", "\rx", "ok", "", None, "a=b", "'=x"]
    out = neutralise_array(pa.array(values)).to_pylist()
    assert out == ["'=1+1", "'+1", "'-x", "'@SUM(A1)", "'\tx", "'\rx", "ok", "", None, "a=b",
                   "'=x"]
    assert out == [neutralise_cell(v) for v in values]
    numbers = pa.array([-0.25, 1.0])
    assert neutralise_array(numbers) is numbers
    dictionary = pa.array(["=a", "b"]).dictionary_encode()
    assert neutralise_array(dictionary).to_pylist() == ["'=a", "b"]
    large = pa.array(["-a"], pa.large_string())
    assert neutralise_array(large).to_pylist() == ["'-a"]


def test_rejects_evidence_and_csv_report_neutralise_formulas(small):
    tickets = small.parent / "small-tickets.csv"
    text = tickets.read_text().replace("yesterday", "=HYPERLINK(\"http://x\")")
    tickets.write_text(text.replace("T3,", "@T3,"))
    folder = small.parent
    result = run("evaluate", small, "--rejects", folder / "rej.csv", "--evidence",
                 folder / "ev", "-o", folder / "r.csv")
    assert result.exit_code == 0, result.output
    with (folder / "rej.csv").open(newline="") as handle:
        rejects = list(csv.DictReader(handle))
    assert "'=HYPERLINK(\"http://x\")" in [r["value"] for r in rejects]
    assert all(not r[k].startswith(("=", "+", "-", "@")) for r in rejects for k in r)
    with (folder / "ev" / "urgent-first-response" / "2026-03.csv").open(newline="") as handle:
        evidence = list(csv.DictReader(handle))
    assert [r["ticket_id"] for r in evidence] == ["T4", "'@T3"]  # worst (never answered) first
    # The measure is a number (seconds): T3 answered 2h after it was opened = 7200.
    assert evidence[1]["measure"] == "7200"
    with (folder / "r.csv").open(newline="") as handle:
        report = list(csv.DictReader(handle))
    margins = [r["margin"] for r in report if r["margin"].startswith("-")]
    assert margins and all(_number(m) for m in margins)  # numbers stay numbers
    missed = {r["service_level"] + " " + r["period"]: r["missed"] for r in report}
    assert missed["urgent-first-response 2026-03"] == "'@T3 T4"


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


# --------------------------------------------------------------------------- strict JSON


def _strict(text: str):
    def refuse(name):
        raise ValueError(f"not strict JSON: {name}")

    return json.loads(text, parse_constant=refuse)


def test_strict_json_turns_non_finite_numbers_into_null():
    assert strict_json({"a": [float("nan"), float("inf"), -float("inf"), 1.5, "x", None]}) == {
        "a": [None, None, None, 1.5, "x", None]}


def test_json_report_is_strict_even_with_non_finite_figures(small, monkeypatch):
    import slaengine.engine

    real = slaengine.engine.evaluate

    def with_odd_figures(*args, **kwargs):
        evaluation = real(*args, **kwargs)
        odd = [dataclasses.replace(v, value=float("inf"), margin=float("nan"),
                                   compliance=-float("inf")) if i % 2 == 0 else v
               for i, v in enumerate(evaluation.verdicts)]
        return dataclasses.replace(evaluation, verdicts=odd)

    monkeypatch.setattr(slaengine.engine, "evaluate", with_odd_figures)
    out = small.parent / "r.json"
    result = run("evaluate", small, "-o", out, "--format", "json", "-o", "-", "--format",
                 "json")
    assert result.exit_code == 0, result.output
    for text in (out.read_text(), result.stdout):
        document = _strict(text)
        first = document["verdicts"][0]
        assert (first["value"], first["margin"], first["compliance"]) == (None, None, None)


# --------------------------------------------------------------------------- terminal text


def test_printable_escapes_controls():
    assert printable("a\x1b[2Jb\x07c\x9bd\u202ee") == "a\\x1b[2Jb\\x07c\\x9bd\\u202ee"
    assert printable("one\ntwo") == "one\ntwo"
    assert printable("one\ntwo\r", newlines=False) == "one\\x0atwo\\x0d"
    assert printable("plain — ü") == "plain — ü"


def test_errors_and_tables_show_controls_and_markup_as_text(small):
    tickets = small.parent / "small-tickets.csv"
    tickets.write_text(tickets.read_text().replace(",urgent,", ",[red]ur\x1b[2Jgent[/red],"))
    result = run("evaluate", small)
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.output
    # The segment's value in its cell, under the header "priority".
    assert "  [red]ur\\x1b[2Jgent[/red]  " in result.output
    assert ", by priority\n" in result.output
    bad = small.parent / "bad.toml"
    bad.write_text(small.read_text().replace('metric = "csat"', 'metric = "c\\u001b]0;x\\u0007"'))
    result = run("evaluate", bad)
    assert result.exit_code == 2
    assert "\x1b" not in result.output and "\x07" not in result.output
    assert "\\x1b" in result.output  # shown escaped


def test_table_reporter_keeps_markup_like_text(small):
    small.write_text(small.read_text().replace('client = "Client Ltd"',
                                               'client = "[bold]Acme[/bold] :smile:"'))
    result = run("evaluate", small)
    assert "[bold]Acme[/bold] :smile:" in result.output


# --------------------------------------------------------------------------- markdown, html


def _render(name, evaluation):
    from slaengine.pluginmanager import build_registry

    out = io.StringIO()
    build_registry().reporters[name].write(evaluation, out)
    return out.getvalue()


EVIL = '<script>alert(1)</script> | [x](javascript:1) **b** &amp; `c`\n# h'


@pytest.fixture
def evil(small):
    from slaengine.contract import load_contract
    from slaengine.engine import evaluate

    tickets = small.parent / "small-tickets.csv"
    value = EVIL.replace('"', '""').replace("\n", " ")
    tickets.write_text(tickets.read_text().replace(",urgent,", f',"{value}",'))
    text = small.read_text().replace('"urgent"', json.dumps(EVIL.replace("\n", " ")))
    text = text.replace('client = "Client Ltd"', 'client = "<b>C</b> | _x_"')
    text = text.replace('id = "fcr"', 'id = "fcr"\ndescription = ' + json.dumps(EVIL))
    small.write_text(text)
    return evaluate(load_contract(small))


def test_markdown_escapes_every_value_from_contract_or_data(evil):
    text = _render("md", evil)
    assert "<script" not in text and "<b>" not in text
    assert "[x](javascript" not in text and "**b**" not in text
    assert "&amp;amp;" in text
    assert "\n# h" not in text
    rows = [line for line in text.splitlines() if line.startswith("| 20")]
    assert all(row.count("|") - row.count("\\|") == 9 for row in rows)


def test_html_escapes_every_value_including_the_charts(evil):
    text = _render("html", evil)
    assert "<script" not in text and "<b>C</b>" not in text
    assert "&lt;script&gt;" in text
    pytest.importorskip("pygal")
    svg = text[text.index("<svg"):text.rindex("</svg>")]
    assert "&lt;script&gt;" in svg and "<script" not in svg
