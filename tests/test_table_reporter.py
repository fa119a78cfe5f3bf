"""The terminal table: it fits 80, 100 and 120 columns with every period, value and status whole,
wraps its text at whole words, and still accounts for every row.

Rendered to a StringIO (not a terminal, as when piped): the width is ``COLUMNS``, else 80.
The expected cells come from each evaluation's own verdicts, never typed in here.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rich.cells import cell_len

from slaengine.contract import load_contract
from slaengine.engine import evaluate
from slaengine.pluginmanager import build_registry
from slaengine.plugins.reporters.table import TableReporter, _target, _wrap
from slaengine.present import format_value
from slaengine.verdicts import Evaluation

ROOT = Path(__file__).parent.parent
DATA = Path(__file__).parent / "data"
EXAMPLES = sorted(p.name for p in (ROOT / "contracts").glob("*.toml"))
# The isp example on 2026-05-20: May is running, so its verdicts read "... (provisional)" and
# "insufficient_data (provisional)", the widest status there is.
CASES = [*EXAMPLES, "isp-helpdesk.toml --as-of 2026-05-20", "small.toml --as-of 2026-04-02"]


@pytest.fixture(scope="module")
def evaluations() -> dict[str, Evaluation]:
    registry = build_registry()
    found = {}
    for case in CASES:
        name, _, moment = case.partition(" --as-of ")
        path = (DATA if name == "small.toml" else ROOT / "contracts") / name
        as_of = datetime.fromisoformat(moment).replace(tzinfo=UTC) if moment else None
        found[case] = evaluate(load_contract(path, registry), registry, as_of=as_of)
    return found


def render(evaluation: Evaluation, columns: str | None, monkeypatch) -> str:
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    if columns is None:
        monkeypatch.delenv("COLUMNS", raising=False)
    else:
        monkeypatch.setenv("COLUMNS", columns)
    stream = io.StringIO()
    TableReporter().write(evaluation, stream)
    return stream.getvalue()


def block_rows(text: str, evaluation: Evaluation) -> dict[str, list[list[str]]]:
    """Each service level's rows, cell by cell (cells are 2 or more spaces apart): the lines
    after its heading and column headers, up to the blank line."""
    lines = text.splitlines()
    rows: dict[str, list[list[str]]] = {}
    for v in evaluation.verdicts:
        if v.service_level in rows:
            continue
        start = next(i for i, line in enumerate(lines)
                     if re.match(rf"{re.escape(v.service_level)}:( {v.metric}|$)", line))
        header = next(i for i in range(start + 1, len(lines))
                      if lines[i].startswith("  period  "))
        end = next(i for i in range(header, len(lines)) if not lines[i].strip())
        rows[v.service_level] = [re.split(r"\s{2,}", line.strip())
                                 for line in lines[header + 1:end]]
    return rows


def assert_every_verdict_whole(text: str, evaluation: Evaluation) -> None:
    """Row by row, in order: the period, the segment, the value and the status, each whole."""
    rows = block_rows(text, evaluation)
    assert sum(len(r) for r in rows.values()) == len(evaluation.verdicts)
    targets: dict[str, set] = {}
    for v in evaluation.verdicts:
        targets.setdefault(v.service_level, set()).add((v.target, v.minimum))
    seen: Counter[str] = Counter()
    for v in evaluation.verdicts:
        row = rows[v.service_level][seen[v.service_level]]
        seen[v.service_level] += 1
        segment = [", ".join(str(x) for x in v.segment.values())] if v.segment else []
        target = [_target(v)] if len(targets[v.service_level]) > 1 else []
        status = f"{v.status} (provisional)" if v.provisional else v.status
        expected = [v.period, *segment, *target, format_value(v.value, v.unit), status]
        assert row[:len(expected)] == expected, (v, row)


@pytest.mark.parametrize("width", [80, 100, 120])
@pytest.mark.parametrize("case", CASES)
def test_every_line_fits_and_every_verdict_is_whole(evaluations, case, width, monkeypatch):
    evaluation = evaluations[case]
    text = render(evaluation, str(width), monkeypatch)
    too_wide = [line for line in text.splitlines() if cell_len(line) > width]
    assert not too_wide, too_wide
    assert_every_verdict_whole(text, evaluation)
    # Every period label and every status, as a word of its own.
    words = set(text.split())
    assert {v.period for v in evaluation.verdicts} <= words
    assert {v.status for v in evaluation.verdicts} <= words
    assert ("(provisional)" in text) is any(v.provisional for v in evaluation.verdicts)


def test_the_widths_are_used(evaluations, monkeypatch):
    # At 120 the isp example shows every column (its widest block, by priority, is 98 wide);
    # at 80 some blocks leave out columns, and the report says which.
    evaluation = evaluations["isp-helpdesk.toml"]
    wide = render(evaluation, "120", monkeypatch)
    assert "left out where" not in wide
    assert max(cell_len(line) for line in wide.splitlines()) > 90
    narrow = render(evaluation, "80", monkeypatch)
    assert ("left out where they do not fit in 80 columns: unmeasured, excluded"
            in " ".join(narrow.split()))
    # COLUMNS unset, empty or not a number: 80.
    for columns in (None, "", "wide", "-5", "0"):
        assert render(evaluation, columns, monkeypatch) == narrow, columns


@pytest.mark.parametrize("width", [30, 50])
def test_key_columns_stay_whole_when_the_width_is_too_small(evaluations, width, monkeypatch):
    # Narrower than the key columns of a block (the provisional one is 2 + 7 + 2 + 12 + 2 + 31
    # = 56 wide): the rows grow past the width rather than cut a value or a status.
    evaluation = evaluations["isp-helpdesk.toml --as-of 2026-05-20"]
    text = render(evaluation, str(width), monkeypatch)
    assert_every_verdict_whole(text, evaluation)
    prose = text[text.index("\nverdicts: "):]
    assert all(cell_len(line) <= width or " " not in line.strip()
               for line in prose.splitlines())


@pytest.mark.parametrize("width", [20, 80])
@pytest.mark.parametrize("case", CASES)
def test_piped_text_breaks_only_between_words(evaluations, case, width, monkeypatch):
    # The summary, the credits and the accounting at 80 columns hold exactly the words of the
    # same text unwrapped (at 2000 columns): no word is cut across two lines, not even one
    # longer than a line (at 20 columns, a path).
    evaluation = evaluations[case]
    narrow = render(evaluation, str(width), monkeypatch)
    wide = render(evaluation, "2000", monkeypatch)

    def prose(text: str) -> Counter[str]:
        return Counter(text[text.index("\nverdicts: "):].split())

    assert prose(narrow) == prose(wide)
    assert "\x1b" not in narrow
    if evaluation.credits is not None:
        assert "Service credits" in narrow


@given(words=st.lists(st.text("abc-1…×", min_size=1, max_size=14), min_size=1, max_size=40),
       gaps=st.lists(st.integers(1, 3), min_size=40, max_size=40),
       indent=st.integers(0, 4), width=st.integers(8, 60))
def test_wrap_keeps_every_word_whole(words, gaps, indent, width):
    line = " " * indent + "".join(w + " " * g for w, g in zip(words, gaps, strict=False))
    line = line.rstrip()
    out = _wrap(line, width)
    assert " ".join(out).split() == words  # the words, whole and in order
    assert out[0].startswith(" " * indent)
    for part in out:
        # A line is within the width, or holds one word longer than the width on its own.
        assert cell_len(part) <= width or len(part.split()) == 1, (part, width)
    for part in out[1:]:
        assert part.startswith(" " * (indent + 2)) and part.split()


def test_wrap_hangs_a_credit_line_under_its_rule():
    line = "       8640.00 at-risk-pool   fcr: fcr critical in 2026-03: 62.2% against target"
    assert _wrap(line, 50) == ["       8640.00 at-risk-pool   fcr: fcr critical in",
                               "               2026-03: 62.2% against target"]


def test_a_level_whose_verdicts_differ_in_target_shows_a_target_column(evaluations,
                                                                       monkeypatch):
    # One target per level is named in the heading; should a level's verdicts differ (a
    # third-party engine or a future contract), each row names its own.
    evaluation = evaluations["small.toml --as-of 2026-04-02"]
    verdicts = [replace(v, target="90% within 2h") if v.service_level == "fcr" and
                v.period == "2026-04" else v for v in evaluation.verdicts]
    changed = replace(evaluation, verdicts=verdicts)
    text = render(changed, "80", monkeypatch)
    assert_every_verdict_whole(text, changed)
    assert "\nfcr: first_contact_resolution\n  period   target  " in text
    assert "target" not in text.split("\nfcr: ")[0].splitlines()[-1]


def parse_levels(text: str, every: list[str]) -> set[str]:
    """The service levels a line of the accounting names."""
    if text == "every service level":
        return set(every)
    if text.startswith("every service level but "):
        return set(every) - set(text.removeprefix("every service level but ").split(", "))
    if text.startswith("service levels "):
        return set(text.removeprefix("service levels ").removesuffix(", each").split(", "))
    return {text.removeprefix("service level ")}


@pytest.mark.parametrize("case", CASES)
def test_every_row_is_accounted_for(evaluations, case, monkeypatch):
    evaluation = evaluations[case]
    text = render(evaluation, "2000", monkeypatch)
    lines = text.splitlines()
    for name, a in evaluation.sources.items():
        duplicates = f" + {a.duplicates} duplicates" if a.duplicates else ""
        assert (f"source {name}: {a.read} rows read = {a.accepted} accepted + {a.rejected} "
                f"rejected{duplicates} ") in text
        assert a.read == a.accepted + a.rejected + a.duplicates
        for reason, count in a.rejected_by_reason.items():
            assert f"  rejected {count}: {reason}" in lines
    # Each level's counts, once per line that names it (by name, or as every level but some).
    every = list(evaluation.levels)
    said: Counter[tuple[str, str]] = Counter()
    for line in lines:
        found = re.fullmatch(r"(.+?): (\d+ of \d+ records .*)", line)
        if found and found.group(1).startswith(("service level", "every service level")):
            for level in parse_levels(found.group(1), every):
                said[level, found.group(2)] += 1
    expected: Counter[tuple[str, str]] = Counter()
    for name, level in evaluation.levels.items():
        of = f"of {level.accepted} records"
        if by_where := level.excluded - sum(level.agreed.values()):
            expected[name, f"{by_where} {of} left out by where"] += 1
        for reason, count in level.agreed.items():
            expected[name, f"{count} {of} excluded by agreement: {reason}"] += 1
        if level.without_period:
            expected[name, f"{level.without_period} {of} have no time in period_by yet and "
                           "belong to no period"] += 1
        if level.outside_window:
            expected[name, f"{level.outside_window} {of} in periods outside start..end"] += 1
    assert said == expected


def test_repeated_accounting_is_said_once(evaluations, monkeypatch):
    # isp-helpdesk: the agreed exclusion of April's power outage takes 18 records from each of
    # the 14 service levels but urgent-first-response (none of them urgent): one line.
    text = " ".join(render(evaluations["isp-helpdesk.toml"], "80", monkeypatch).split())
    assert text.count("excluded by agreement") == 1
    assert ("every service level but urgent-first-response: 18 of 4000 records excluded by "
            "agreement: regional power outage, force majeure notice FM-2026-04") in text
    # ecommerce-email: 9 of the 1400 surveys lie outside the contract's months for the three
    # levels measured on them; 4 of the 2200 sales for the six measured on those.
    text = " ".join(render(evaluations["ecommerce-email.toml"], "80", monkeypatch).split())
    assert ("service levels csat-surveys, nps-surveys, effort, each: 9 of 1400 records in "
            "periods outside start..end") in text
    assert text.count("of 2200 records in periods outside start..end") == 1


COLOUR = re.compile(r"\x1b\[[0-9;]*(3[0-9]|9[0-7]|38;)")


def test_colour_only_when_asked_on_standard_output():
    command = [sys.executable, "-m", "slaengine.cli", "evaluate", str(DATA / "small.toml")]
    base = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    piped = subprocess.run(command, capture_output=True, text=True, env=base)
    forced = subprocess.run(command, capture_output=True, text=True,
                            env={**base, "FORCE_COLOR": "1"})
    off = subprocess.run(command, capture_output=True, text=True,
                         env={**base, "FORCE_COLOR": "1", "NO_COLOR": "1"})
    assert piped.returncode == forced.returncode == off.returncode == 0
    assert "\x1b" not in piped.stdout
    assert COLOUR.search(forced.stdout)
    assert not COLOUR.search(off.stdout)
