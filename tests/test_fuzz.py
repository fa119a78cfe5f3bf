"""Fuzzing the command with hypothesis: contract text and CSV rows as a careless or hostile user
might write them. Whatever comes in, ``slaengine evaluate`` ends with 0, 1 or 2 — never a
traceback — and every row it was given is accounted for: read = accepted + rejected +
duplicates, with read equal to the rows in the file and the --rejects file holding the others.
"""

from __future__ import annotations

import csv
import json
import os
import tempfile
from pathlib import Path

from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from slaengine.cli import main

DATA = Path(__file__).parent / "data"
BASE = (DATA / "small.toml").read_text(encoding="utf-8") + (
    '\n[penalties]\nmodel = "fixed"\namount = "500.00"\n'
)
# A longer campaign: SLAENGINE_FUZZ_EXAMPLES=2000 python -m pytest tests/test_fuzz.py
EXAMPLES = int(os.environ.get("SLAENGINE_FUZZ_EXAMPLES", "40"))
HEADER = ["Ticket", "Opened", "First reply", "Resolved", "Priority", "Contacts", "CSAT"]
ROWS = list(csv.reader((DATA / "small-tickets.csv").read_text().splitlines()))[1:]

# Values a contract line may be given instead of its own: other types, edge cases, text that
# looks like syntax, controls and far-away dates.
TOML_VALUES = [
    '""', '"x"', "0", "-1", "1e400", "nan", "inf", "true", "[]", "{}", "[[]]", '["a", 1]',
    "{ a = 1 }", "9999-12-31", "0001-01-01", "2026-13-01", '"180000,50"', '"1.234,56"',
    '"-0"', '"١٢٣"', '"12%"', '"150%"', '"-5%"', '"p100 <= 1h"', '"p0 <= 1h"',
    '"95% within 99999999999d"', '">= 101%"', '"mean >= "', '"\\u001b[31mred"', '"a\\u0007b"',
    '"*.csv"', '"../small-tickets.csv"', '"/dev/zero"', '"[sources.tickets]"',
    '"America/Nowhere"', '"../../etc/passwd"', '"week"', '"day"', '"x" "y"',
    '{ priority = ["urgent", "urgent"] }', '["priority", "priority"]', '["agent"]',
]

CELL = st.one_of(
    st.sampled_from([
        "", "T1", "T1", "T2", "2026-03-02T09:00:00-05:00", "2026-03-02 09:00:00",
        "2026-04-30T23:59:59Z", "2026-02-30T09:00:00Z", "9999-12-31T23:59:59Z",
        "0001-01-01T00:00:00Z", "yesterday", "urgent", "normal", "1", "0", "-1", "-0", "5", "9",
        "1e309", "nan", "inf", "-inf", "4.5", "99999999999999999999999", "=1+1", "+1", "@x",
        "\x1b[31m", "a\x00b", "é", "一", "\ufeff", '"', "a,b", "a\nb", "\r",
    ]),
    st.text(max_size=12),
)


def _run(*args: str):
    return CliRunner().invoke(main, list(args))


def _check_run(result, report: Path, rows: int | None, rejects: Path) -> None:
    """Exit 0, 1 or 2 without a traceback; on success a strict JSON report that reconciles."""
    assert result.exit_code in (0, 1, 2), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        repr(result.exception))
    assert "Traceback" not in result.output
    if result.exit_code == 2:
        assert result.output.startswith("error: "), result.output
        return
    document = json.loads(report.read_text(encoding="utf-8"),
                          parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))
    unused = 0
    for account in document["sources"].values():
        assert account["read"] == (account["accepted"] + account["rejected"]
                                   + account["duplicates"])
        assert sum(account["rejected_by_reason"].values()) == account["rejected"]
        unused += account["rejected"] + account["duplicates"]
        if rows is not None:
            assert account["read"] == rows
    with rejects.open(newline="", encoding="utf-8") as handle:
        assert sum(1 for _ in csv.DictReader(handle)) == unused


def _mutate(text: str, data: st.DataObject) -> str:
    lines = text.splitlines()
    for _ in range(data.draw(st.integers(1, 3), label="mutations")):
        at = data.draw(st.integers(0, len(lines) - 1), label="line")
        how = data.draw(st.sampled_from(["value", "delete", "duplicate", "text"]), label="how")
        if how == "value" and " = " in lines[at]:
            key = lines[at].split(" = ", 1)[0]
            lines[at] = f"{key} = {data.draw(st.sampled_from(TOML_VALUES), label='value')}"
        elif how == "delete":
            del lines[at]
        elif how == "duplicate":
            lines.insert(at, lines[at])
        else:
            lines.insert(at, data.draw(st.text(max_size=20), label="text"))
        if not lines:
            lines = [""]
    return "\n".join(lines) + "\n"


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_any_contract_text_ends_in_0_1_or_2_and_reconciles(data):
    text = _mutate(BASE, data)
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder)
        (base / "small-tickets.csv").write_text((DATA / "small-tickets.csv").read_text())
        contract = base / "c.toml"
        contract.write_text(text, encoding="utf-8")
        report, rejects = base / "r.json", base / "rejects.csv"
        result = _run("evaluate", str(contract), "-o", str(report), "--rejects", str(rejects),
                      "--fail-on", "breached")
        _check_run(result, report, None, rejects)
        validated = _run("validate", str(contract))
        assert validated.exit_code in (0, 2), validated.output
        assert validated.exception is None or isinstance(validated.exception, SystemExit)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(rows=st.lists(st.one_of(st.sampled_from(ROWS), st.lists(CELL, min_size=7, max_size=7)),
                     max_size=25))
def test_any_csv_rows_end_in_0_1_or_2_and_every_row_is_accounted_for(rows):
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder)
        with (base / "small-tickets.csv").open("w", newline="", encoding="utf-8") as handle:
            out = csv.writer(handle)
            out.writerow(HEADER)
            out.writerows(rows)
        contract = base / "c.toml"
        contract.write_text(BASE, encoding="utf-8")
        report, rejects = base / "r.json", base / "rejects.csv"
        result = _run("evaluate", str(contract), "-o", str(report), "--rejects", str(rejects))
        _check_run(result, report, len(rows), rejects)
