"""Hostile inputs and misuse through the command line: each class of bad input gives exit 2
with the file and the place, or a run whose every row is accounted for — never a traceback,
never a silent loss."""

from __future__ import annotations

import codecs
import gzip
import json
import random
from pathlib import Path

import pytest
from click.testing import CliRunner

from slaengine.cli import main
from slaengine.plugins.sources import csv as csv_source

DATA = Path(__file__).parent / "data"
HEADER = "Ticket,Opened,First reply,Resolved,Priority,Contacts,CSAT\n"
ROW = ("T{},2026-03-02T09:00:00-05:00,2026-03-02T09:30:00-05:00,2026-03-02T11:00:00-05:00,"
       "urgent,1,5\n")
TEN = "".join(ROW.format(i) for i in range(10))
QUOTED = "".join(
    f'"T{i}","2026-03-02T09:00:00-05:00","","","ur""gent","1","5"\n' for i in range(10))


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def contract_for(tmp_path: Path, data: bytes, name: str = "t.csv", extra: str = "") -> Path:
    """The hand-checked small contract, reading ``data`` as its tickets."""
    (tmp_path / name).write_bytes(data)
    text = (DATA / "small.toml").read_text().replace("small-tickets.csv", name)
    text = text.replace('adapter = "csv"\n', 'adapter = "csv"\n' + extra)
    path = tmp_path / "c.toml"
    path.write_text(text)
    return path


def evaluate_json(contract: Path):
    result = run("evaluate", str(contract), "--format", "json", "--output", "-")
    document = json.loads(result.stdout) if result.exit_code == 0 else None
    return result, document


# --- an unterminated quote -------------------------------------------------------------------

UNCLOSED = {
    # (file bytes, the line where the quote opens)
    "last row": ((HEADER + TEN + 'T99,"2026-03-02,x,y\n').encode(), 12),
    "middle, swallowing ten rows": ((HEADER + ROW.format(1) + 'T99,"x\n' + TEN).encode(), 3),
    "no final line break": ((HEADER + TEN + 'T99,2026,"abc').encode(), 12),
    "in the last column": ((HEADER + ROW.format(1)[:-2] + '"5\n' + TEN).encode(), 2),
    "after quoted rows": ((HEADER + QUOTED + '"T1').encode(), 12),
    "after an escaped quote": ((HEADER + 'T1,"a""\n' + TEN).encode(), 2),
    "in the header": (('"Ticket,' + TEN).encode(), 1),
    "in the header after a BOM": (("\ufeff\"Ticket," + TEN).encode(), 1),
    "CRLF lines": ((HEADER + TEN + 'T99,"x\n' + TEN).replace("\n", "\r\n").encode(), 12),
    "CR lines": ((HEADER + 'T99,"x\n' + TEN).replace("\n", "\r").encode(), 2),
    "three quotes open": ((HEADER + 'T1,"""a\n' + TEN).encode(), 2),
}


@pytest.mark.parametrize("case", list(UNCLOSED))
def test_a_quote_never_closed_stops_the_run_naming_the_line(tmp_path, case):
    data, line = UNCLOSED[case]
    result, _ = evaluate_json(contract_for(tmp_path, data))
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert f"t.csv: line {line}: a quoted value opened there is never closed" in result.output


@pytest.mark.parametrize("name,encode,extra", [
    ("t.csv.gz", lambda text: gzip.compress(text.encode()), ""),
    ("t.csv", lambda text: text.encode("utf-16"), 'encoding = "utf-16"\n'),
    ("t.csv", lambda text: text.encode("cp1252"), 'encoding = "cp1252"\n'),
])
def test_a_quote_never_closed_in_compressed_or_encoded_files(tmp_path, name, encode, extra):
    text = HEADER + ROW.format(1) + 'T99,"x\n' + TEN
    result, _ = evaluate_json(contract_for(tmp_path, encode(text), name, extra))
    assert result.exit_code == 2, result.output
    assert f"{name}: line 3: a quoted value opened there is never closed" in result.output
    good, document = evaluate_json(contract_for(tmp_path, encode(HEADER + TEN), name, extra))
    assert good.exit_code == 0, good.output
    assert document["sources"]["tickets"]["read"] == 10


CLOSED = {
    # (file text, rows read): quotes that close, or that are plain characters
    "every value quoted, escaped quotes": (HEADER + QUOTED, 10),
    "an escaped quote closing the last value": (HEADER + TEN + 'T99,"a""",b,c,d,e,f\n', 11),
    "quotes inside unquoted values": (HEADER + TEN.replace("urgent", '5" mon'), 10),
    "a value continuing after its closing quote": (HEADER + '"T"1,2026-03-02,,,"a"b"c,1,5\n', 1),
    "a quoted line break": (HEADER + 'T1,2026-03-02,,,"a\nb",1,5\n' + TEN, 11),
    "an empty quoted value last": (HEADER + TEN + 'T99,2026-03-02,,,,1,""', 11),
    "a quote after a space is plain": (HEADER + TEN + 'T99,2026-03-02,,, "a,1,5\n', 11),
}


@pytest.mark.parametrize("case", list(CLOSED))
def test_quotes_that_close_read_every_row(tmp_path, case):
    text, rows = CLOSED[case]
    result, document = evaluate_json(contract_for(tmp_path, text.encode()))
    assert result.exit_code == 0, result.output
    assert document["sources"]["tickets"]["read"] == rows


def _reference_open(text: bytes, delimiter: int = ord(",")) -> int | None:
    """Where the value left open at the end starts, by the parser's rules, one byte at a time."""
    state, opened, at_start, i = "out", None, True, 0
    while i < len(text):
        c = text[i]
        if state == "in":
            if c == 0x22:
                if i + 1 < len(text) and text[i + 1] == 0x22:
                    i += 2
                    continue
                state, at_start = "out", False
        elif c == 0x22 and at_start:
            state, opened = "in", i
        else:
            at_start = c in (delimiter, 0x0A, 0x0D)
        i += 1
    return opened if state == "in" else None


@pytest.mark.parametrize("seed", range(40))
def test_the_quote_state_matches_the_parser_rules_over_any_chunking(tmp_path, monkeypatch, seed):
    rng = random.Random(seed)
    text = bytes(rng.choice(b'"""",,\nab\r') for _ in range(rng.randrange(0, 300)))
    monkeypatch.setattr(csv_source, "_QUOTE_CHUNK", rng.choice([1, 2, 3, 7, 64]))
    expected = _reference_open(text)
    for name, data in (("t.csv", text), ("t.csv.gz", gzip.compress(text)),
                       ("b.csv", codecs.BOM_UTF8 + text)):
        path = tmp_path / name
        path.write_bytes(data)
        summary = csv_source._quote_summary(path, "utf8", b"\n\r,")
        assert (summary.opened if summary.odd else None) == expected, (name, text)


# --- encodings that cannot read a CSV file, and a file that is its header alone ---------------

@pytest.mark.parametrize("encoding", ["punycode", "rot13", "base64", "no-such-codec"])
def test_a_codec_that_cannot_read_a_csv_file_is_refused_naming_the_key(tmp_path, encoding):
    contract = contract_for(tmp_path, (HEADER + TEN).encode(), extra=f'encoding = "{encoding}"\n')
    result, _ = evaluate_json(contract)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert f'sources.tickets.encoding = "{encoding}"' in result.output


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252", "latin-1", "utf-16",
                                      "utf-7", "cp037", "iso2022_jp"])
def test_every_text_encoding_that_keeps_the_csv_shape_reads_every_row(tmp_path, encoding):
    data = (HEADER + TEN).encode(encoding)
    result, document = evaluate_json(
        contract_for(tmp_path, data, extra=f'encoding = "{encoding}"\n'))
    assert result.exit_code == 0, result.output
    assert document["sources"]["tickets"]["read"] == 10


@pytest.mark.parametrize("data,extra", [
    # a UTF-8 file read as EBCDIC has no line break at all: one line, its header, is checked
    ((HEADER + TEN).encode(), 'encoding = "cp037"\n'),
    (b"a,b,c", ""),  # one line without a line break
    ("\ufeffa;b".encode(), ""),
    (gzip.compress(b"a,b"), ""),
])
def test_a_one_line_file_still_has_its_columns_checked(tmp_path, data, extra):
    name = "t.csv.gz" if data[:2] == b"\x1f\x8b" else "t.csv"
    result, _ = evaluate_json(contract_for(tmp_path, data, name, extra))
    assert result.exit_code == 2, result.output
    assert 'sources.tickets.fields.ticket_id = "Ticket": no column "Ticket"' in result.output


@pytest.mark.parametrize("data", [b"", b"\n\n\n", HEADER.strip().encode(),
                                  ("\ufeff" + HEADER.strip()).encode(), HEADER.encode()])
def test_a_file_without_rows_gives_zero_rows(tmp_path, data):
    result, document = evaluate_json(contract_for(tmp_path, data))
    assert result.exit_code == 0, result.output
    assert document["sources"]["tickets"]["read"] == 0


# --- outputs onto things that are not regular files -------------------------------------------

def test_an_output_onto_a_named_pipe_is_written_into_it_and_the_pipe_stays(tmp_path):
    import os
    import stat
    import threading

    contract = contract_for(tmp_path, (HEADER + TEN).encode())
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(pipe.read_bytes()), daemon=True)
    reader.start()
    result = run("evaluate", str(contract), "--format", "json", "--output", str(pipe))
    reader.join(timeout=30)
    if reader.is_alive():  # nothing was written into the pipe: let the reader go
        os.close(os.open(pipe, os.O_WRONLY | os.O_NONBLOCK))
    assert result.exit_code == 0, result.output
    assert stat.S_ISFIFO(os.lstat(pipe).st_mode)  # not replaced by a regular file
    assert json.loads(received[0])["sources"]["tickets"]["read"] == 10
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


@pytest.mark.parametrize("option", ["--output", "--rejects"])
def test_an_output_through_a_link_replaces_the_linked_file_and_keeps_the_link(tmp_path, option):
    contract = contract_for(tmp_path, (HEADER + TEN).encode())
    target = tmp_path / "target.csv"
    target.write_text("earlier\n")
    link = tmp_path / "link.csv"
    link.symlink_to(target.name)
    result = run("evaluate", str(contract), option, str(link))
    assert result.exit_code == 0, result.output
    assert link.is_symlink() and link.resolve() == target.resolve()
    assert target.read_text() != "earlier\n"


# --- top-level parts of the contract of the wrong type ----------------------------------------

@pytest.mark.parametrize("part,expected", [
    ('[[penalties]]\nmodel = "fixed"\n', "penalties: expected a table, found a list"),
    ('[[calendars]]\nx = 1\n', "calendars: expected a table, found a list"),
    ('[exclusions]\nx = 1\n', "exclusions: expected a list, found a table"),
])
def test_a_part_of_the_wrong_type_is_named_not_a_traceback(tmp_path, part, expected):
    contract = contract_for(tmp_path, (HEADER + TEN).encode())
    contract.write_text(contract.read_text() + "\n" + part)
    for command in ("validate", "evaluate"):
        result = run(command, str(contract))
        assert result.exit_code == 2, result.output
        assert expected in result.output
