"""``--format table``: one block per service level, sized to the terminal, then the credits and
the row accounting as text wrapped at whole words.

The width is the terminal's; written to a pipe or a file it is ``COLUMNS`` when set, else 80.
A block keeps its key columns whole at any width (period, segment, value, status: never cut to
``…``) and leaves out secondary ones, least needed first, when they do not fit; the report then
says which. Repeated accounting lines (an agreed exclusion applied to every service level) are
said once, naming the levels; every count of the full report is still there.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TextIO

from slaengine import hookimpl
from slaengine.plugin import Reporter
from slaengine.present import format_compliance, format_margin, format_schedule, format_value
from slaengine.text import printable
from slaengine.verdicts import Evaluation, Verdict

if TYPE_CHECKING:
    from rich.console import Console

STYLES = {"met": "green", "breached": "yellow", "critical": "bold red",
          "insufficient_data": "dim"}
PIPE_WIDTH = 80
"""The width of the report written to a pipe or a file when ``COLUMNS`` is not set."""
INDENT = 2
"""A block's table is indented this much under its heading."""
SEGMENT_MIN = 16
"""A segment column narrower than its values wraps them (at spaces, else anywhere) down to this."""


@dataclass(frozen=True)
class Column:
    """A column of a block: its header, alignment and cell text; ``key`` columns are never
    left out and never cut."""

    header: str
    justify: str
    cell: Callable[[Verdict], str]
    key: bool = False


def _status(verdict: Verdict) -> str:
    return f"{verdict.status} (provisional)" if verdict.provisional else verdict.status


def _segment(verdict: Verdict) -> str:
    return ", ".join("—" if x is None else str(x) for x in verdict.segment.values())


def _target(verdict: Verdict) -> str:
    if verdict.target.startswith(verdict.statistic) or verdict.statistic in (
            "attainment", "value"):
        return verdict.target
    return f"{verdict.statistic} {verdict.target}"


PERIOD = Column("period", "left", lambda v: v.period, key=True)
TARGET = Column("target", "left", _target, key=True)
VALUE = Column("value", "right", lambda v: format_value(v.value, v.unit), key=True)
STATUS = Column("status", "left", _status, key=True)
SECONDARY = [
    Column("compliance", "right", lambda v: format_compliance(v.compliance)),
    Column("margin", "right", lambda v: format_margin(v.margin, v.unit)),
    Column("sample", "right", lambda v: str(v.sample_size)),
    Column("unmeasured", "right", lambda v: str(v.unmeasured)),
    Column("excluded", "right", lambda v: str(v.excluded)),
]
LEFT_OUT_FIRST = ["excluded", "unmeasured", "margin", "compliance", "sample"]
"""The order secondary columns are left out in when a block does not fit."""


class TableReporter(Reporter):
    """A readable report of every verdict, the credits and where every input row went.

    One block per service level: a heading with its metric and target, then a row per period
    (and segment) with the value, the status, the compliance, the margin and the sample sizes.
    With ``--as-of``, the status of a verdict of a period not yet over reads
    ``breached (provisional)``, and the credit schedule marks that period and splits the
    year's totals into final and provisional parts.

    Colours only on a terminal (``NO_COLOR`` turns them off; ``FORCE_COLOR`` on, for standard
    output); plain text when written to a file or a pipe. Text from the contract or the data is
    shown as it is written: no rich markup (``[sources.tickets]`` stays), no emoji codes,
    control characters escaped (``\\x1b``).
    """

    name = "table"
    suffix = ".txt"

    def write(self, evaluation: Evaluation, stream: TextIO) -> None:
        from rich.text import Text

        console = _console(stream)
        width = console.width

        def say(line: str = "", style: str = "") -> None:
            for part in _wrap(printable(line, newlines=False), width):
                console.print(Text(part, style=style), soft_wrap=True)  # already wrapped

        contract = evaluation.contract
        say(f"{contract.id}: {contract.vendor} for {contract.client} "
            f"({contract.period}ly, {contract.timezone})", "bold")
        left_out: set[str] = set()
        for level, verdicts in _by_level(evaluation.verdicts).items():
            columns = _columns(verdicts)
            say()
            say(_heading(level, verdicts, with_target=TARGET not in columns), "bold")
            left_out.update(_print_block(console, verdicts, columns, width))
        say()
        if left_out:
            shown = [c for c in LEFT_OUT_FIRST[::-1] if c in left_out]
            say(f"left out where they do not fit in {width} columns: {', '.join(shown)} (a "
                "wider terminal, COLUMNS=120 when piped, or --format md, csv or json shows "
                "them)")
        counts = ", ".join(f"{evaluation.count(s)} {s.replace('_', ' ')}" for s in STYLES)
        say(f"verdicts: {counts}")
        running = sorted({v.period for v in evaluation.verdicts if v.provisional})
        if running:
            say(f"provisional: the verdicts of {', '.join(running)}, not over at --as-of; "
                "they and their credits may still change")
        if evaluation.credits is not None:
            say()
            for line in format_schedule(evaluation.credits).split("\n"):
                say(line)
        say()
        for line in _accounting(evaluation):
            say(line)


def _console(stream: TextIO) -> Console:
    """A console on ``stream``: the terminal's width and colours on a terminal; otherwise
    ``COLUMNS`` (else 80) and plain text, unless ``FORCE_COLOR`` asks for colour on stdout."""
    import sys

    from rich.console import Console

    terminal = hasattr(stream, "isatty") and stream.isatty()
    colour = (terminal or (bool(os.environ.get("FORCE_COLOR")) and stream is sys.stdout)) \
        and not os.environ.get("NO_COLOR")
    columns = os.environ.get("COLUMNS", "")
    width = None if terminal else int(columns) if columns.isdigit() and int(columns) > 0 \
        else PIPE_WIDTH
    return Console(file=stream, width=width, force_terminal=colour, no_color=not colour,
                   highlight=False, markup=False, emoji=False)


def _by_level(verdicts: Iterable[Verdict]) -> dict[str, list[Verdict]]:
    levels: dict[str, list[Verdict]] = {}
    for verdict in verdicts:
        levels.setdefault(verdict.service_level, []).append(verdict)
    return levels


def _columns(verdicts: list[Verdict]) -> list[Column]:
    """Every column of a level's block: a segment column when the level is broken down, a
    target column only when its verdicts do not share one target (the heading names it)."""
    columns = [PERIOD]
    if verdicts[0].segment:
        columns.append(Column(printable(", ".join(verdicts[0].segment), newlines=False),
                              "left", _segment))
    if len({(v.target, v.minimum) for v in verdicts}) > 1:
        columns.append(TARGET)
    return [*columns, VALUE, STATUS, *SECONDARY]


def _heading(level: str, verdicts: list[Verdict], with_target: bool) -> str:
    first = verdicts[0]
    text = f"{level}: {first.metric}"
    if with_target:
        text += f", target {_target(first)}"
        if first.minimum:
            text += f", minimum {first.minimum}"
    if first.segment:
        text += f", by {', '.join(first.segment)}"
    return text


def _print_block(console: Console, verdicts: list[Verdict], columns: list[Column],
                 width: int) -> list[str]:
    """Print a level's rows with as many secondary columns as fit ``width``; return the
    headers of those left out. The key columns are printed whole even when they alone are
    wider than ``width``."""
    from rich.cells import cell_len

    cells = {c.header: [printable(c.cell(v), newlines=False) for v in verdicts]
             for c in columns}
    natural = {c.header: max(cell_len(x) for x in [c.header, *cells[c.header]])
               for c in columns}
    wraps = [c for c in columns if c not in (PERIOD, TARGET, VALUE, STATUS, *SECONDARY)]

    def needed(kept: list[Column], fold: bool = False) -> int:
        widths = [min(natural[c.header], SEGMENT_MIN) if fold and c in wraps
                  else natural[c.header] for c in kept]
        return INDENT + sum(widths) + 2 * (len(kept) - 1)

    kept = list(columns)
    for header in LEFT_OUT_FIRST:
        if needed(kept) <= width:
            break
        kept = [c for c in kept if c.header != header]
    _render(console, kept, cells, natural, max(width, needed(kept, fold=True)))
    return [c.header for c in columns if c not in kept]


def _render(console: Console, columns: list[Column], cells: dict[str, list[str]],
            natural: dict[str, int], width: int) -> None:
    from rich.padding import Padding
    from rich.table import Table
    from rich.text import Text

    table = Table(box=None, pad_edge=False, show_edge=False, header_style="bold")
    for c in columns:
        if c.key or c in SECONDARY:
            table.add_column(c.header, justify=c.justify,  # type: ignore[arg-type]
                             no_wrap=True, min_width=natural[c.header])
        else:
            table.add_column(c.header, justify=c.justify,  # type: ignore[arg-type]
                             overflow="fold")
    statuses = cells[STATUS.header]
    for i, status in enumerate(statuses):
        style = STYLES[status.split(" ")[0]]
        table.add_row(*(Text(cells[c.header][i], style=style if c is STATUS else "")
                        for c in columns))
    block = Padding(table, (0, 0, 0, INDENT), expand=False)
    if width > console.width:  # the key columns alone are wider than the terminal
        from rich.console import Console

        console = Console(file=console.file, width=width, color_system=console.color_system,
                          force_terminal=console.is_terminal, no_color=console.no_color,
                          highlight=False, markup=False, emoji=False)
    console.print(block)


def _accounting(evaluation: Evaluation) -> list[str]:
    """Where every row went: each source's rows read, accepted, rejected (by reason) and
    duplicate, then what each service level left out, a line per distinct count and reason
    naming every level it applies to."""
    lines: list[str] = []
    for name, account in evaluation.sources.items():
        duplicates = f" + {account.duplicates} duplicates" if account.duplicates else ""
        lines.append(f"source {name}: {account.read} rows read = {account.accepted} accepted "
                     f"+ {account.rejected} rejected{duplicates} ({account.adapter}: "
                     f"{_shown(account.path)})")
        if account.after_as_of:
            lines.append(f"  {account.after_as_of} accepted records lie after --as-of "
                         "and were left out")
        lines += [f"  rejected {count}: {reason}"
                  for reason, count in account.rejected_by_reason.items()]
        lines += [f"  {note}: {count}" for note, count in account.notes.items()]
    for v in evaluation.verdicts:
        if v.outlook is not None:
            from slaengine.present import describe_outlook as describe

            segment = "".join(f" {k}={x}" for k, x in v.segment.items())
            lines.append(f"outlook {v.service_level}{segment} {v.period}: "
                         f"{describe(v.outlook)}")
    paused: dict[str, float] = {}
    for v in evaluation.verdicts:
        if v.paused:
            paused[v.service_level] = paused.get(v.service_level, 0.0) + v.paused
    lines += [f"service level {name}: the clock stood still for "
              f"{format_value(seconds, 'duration')} on hold in all"
              for name, seconds in paused.items()]
    groups: dict[str, list[str]] = {}
    for name, level in evaluation.levels.items():
        of = f"of {level.accepted} records"
        by_where = level.excluded - sum(level.agreed.values())
        if by_where:
            groups.setdefault(f"{by_where} {of} left out by where", []).append(name)
        for reason, count in level.agreed.items():
            groups.setdefault(f"{count} {of} excluded by agreement: {reason}", []).append(name)
        if level.without_period:
            groups.setdefault(f"{level.without_period} {of} have no time in period_by yet "
                              "and belong to no period", []).append(name)
        if level.outside_window:
            groups.setdefault(f"{level.outside_window} {of} in periods outside start..end",
                              []).append(name)
    every = list(evaluation.levels)
    lines += [f"{_levels(names, every)}: {what}" for what, names in groups.items()]
    lines += _audit_lines(evaluation)
    lines += _reconciliation_lines(evaluation)
    return lines


_AUDIT = {"paused_unanswered": "set pending while the requester waited for an answer",
          "paused_near_target": "paused within the grace before the clock's target",
          "quick_reopen": "reopened by the requester within 24h of the solve",
          "cycle_reset": "cycles of the clock ended by its reset condition, not records",
          "cycle_cancelled": "cycles of the clock ended by its cancel condition, not records"}


def _audit_lines(evaluation: Evaluation) -> list[str]:
    """One line per service level and audit flag: how often it was seen, in how many periods
    (and segments, for a level with ``by``); flags, not verdicts: the JSON report and the
    evidence list the tickets."""
    lines = []
    for name, level in evaluation.levels.items():
        counts: dict[str, int] = {}
        periods: dict[str, set[str]] = {}
        segments: dict[str, set[str]] = {}
        for flag in level.audit:
            counts[flag.flag] = counts.get(flag.flag, 0) + flag.count
            periods.setdefault(flag.flag, set()).add(flag.period)
            segments.setdefault(flag.flag, set()).add(repr(sorted(flag.segment.items())))
        for flag, count in counts.items():
            seen = len(periods[flag])
            where = f"{seen} period{'s' if seen != 1 else ''}"
            if level.audit[0].segment:
                parts = len(segments[flag])
                where += f", {parts} segment{'s' if parts != 1 else ''}"
            lines.append(f"audit {name}: {count} {_AUDIT.get(flag, flag)} ({where})")
    return lines


def _reconciliation_lines(evaluation: Evaluation) -> list[str]:
    """One line per service level measured on Zendesk's metric events: its breaches and
    Zendesk's, and how many records only one side breaches (the JSON report names them)."""
    lines = []
    for name, level in evaluation.levels.items():
        found = level.reconciliation
        if found is None:
            continue
        differ = len(found.only_zendesk) + len(found.only_contract)
        line = (f"zendesk {name}: {found.zendesk_breached} breached by Zendesk, "
                f"{found.contract_breached} by the contract, {differ} differ")
        if found.other_target:
            line += (f"; Zendesk's target is not the contract's on {len(found.other_target)} "
                     f"record{'s' if len(found.other_target) != 1 else ''}")
        lines.append(line)
    return lines


def _shown(path: str) -> str:
    """A source's path relative to the working folder when it lies inside it (as a user
    typed it), else as recorded."""
    from pathlib import Path

    try:
        return Path(path).relative_to(Path.cwd()).as_posix()
    except ValueError:
        return path


def _levels(names: list[str], every: list[str]) -> str:
    """The service levels a line of the accounting applies to, each of them: ``service level
    fcr``, ``service levels a, b, each``, ``every service level`` or, when shorter, ``every
    service level but a``."""
    if len(names) == 1:
        return f"service level {names[0]}"
    others = [name for name in every if name not in names]
    if not others:
        return "every service level"
    if len(others) < len(names) // 2:
        return f"every service level but {', '.join(others)}"
    return f"service levels {', '.join(names)}, each"


_AMOUNT = re.compile(r" +-?\d[\d.,]* ")
_WORD = re.compile(r"(\s*)(\S+)")


def _wrap(line: str, width: int) -> list[str]:
    """``line`` broken at spaces into lines of at most ``width`` cells (a word longer than a
    line stays whole). Continuation lines hang under the text, past a credit line's amount."""
    from rich.cells import cell_len

    indent = len(line) - len(line.lstrip(" "))
    amount = _AMOUNT.match(line)
    hang = " " * (amount.end() if amount else indent + 2)
    out: list[str] = []
    current = line[:indent]
    for gap, word in _WORD.findall(line[indent:]):
        if current.strip() and cell_len(current) + cell_len(gap) + cell_len(word) > width:
            out.append(current)
            current = hang + word
        else:
            current += gap + word
    out.append(current)
    return out


@hookimpl
def register_reporters() -> list[Reporter]:
    return [TableReporter()]
