"""``--format table``: the verdicts as a terminal table, then the row accounting."""

from __future__ import annotations

from typing import TextIO

from slaengine import hookimpl
from slaengine.kinds import Reporter
from slaengine.text import printable
from slaengine.verdicts import Evaluation, format_compliance, format_margin, format_value

STYLES = {"met": "green", "breached": "yellow", "critical": "bold red",
          "insufficient_data": "dim"}


class TableReporter(Reporter):
    """A readable table of every verdict, the summary and where every input row went.

    With ``--as-of``, the status of a verdict of a period not yet over reads
    ``breached (provisional)``, and the credit schedule marks that period and splits the
    year's totals into final and provisional parts.

    Colours only on a terminal; plain text when written to a file or a pipe. Text from the
    contract or the data is shown as it is written: no rich markup (``[sources.tickets]``
    stays), no emoji codes, control characters escaped (``\\x1b``).
    """

    name = "table"
    suffix = ".txt"

    def write(self, evaluation: Evaluation, stream: TextIO) -> None:
        from rich.console import Console
        from rich.table import Table
        from rich.text import Text

        terminal = hasattr(stream, "isatty") and stream.isatty()
        console = Console(file=stream, width=None if terminal else 200,
                          force_terminal=terminal, no_color=not terminal, highlight=False,
                          markup=False, emoji=False)

        def say(line: str = "") -> None:
            console.print(Text(printable(line)))

        contract = evaluation.contract
        table = Table(
            title=Text(printable(f"{contract.id}: {contract.vendor} for {contract.client} "
                                 f"({contract.period}ly, {contract.timezone})", newlines=False)),
            title_justify="left",
        )
        for header, justify in [("service level", "left"), ("period", "left"),
                                ("segment", "left"), ("value", "right"), ("target", "left"),
                                ("status", "left"), ("compliance", "right"),
                                ("margin", "right"), ("sample", "right"),
                                ("unmeasured", "right"), ("excluded", "right")]:
            table.add_column(header, justify=justify, no_wrap=True)  # type: ignore[arg-type]
        previous = None
        for v in evaluation.verdicts:
            first = previous != v.service_level
            if previous is not None and first:
                table.add_section()
            previous = v.service_level
            segment = ", ".join(f"{k}={'—' if x is None else x}" for k, x in v.segment.items())
            compliance = format_compliance(v.compliance)
            target = (f"{v.statistic} {v.target}" if not v.target.startswith(v.statistic)
                      and v.statistic not in ("attainment", "value") else v.target)
            cells = [v.service_level if first else "", v.period, segment,
                     format_value(v.value, v.unit), target]
            status = f"{v.status} (provisional)" if v.provisional else v.status
            table.add_row(
                *(Text(printable(c, newlines=False)) for c in cells),
                Text(status, style=STYLES[v.status]), compliance,
                format_margin(v.margin, v.unit), str(v.sample_size), str(v.unmeasured),
                str(v.excluded),
            )
        console.print(table)
        counts = ", ".join(f"{evaluation.count(s)} {s.replace('_', ' ')}" for s in STYLES)
        say(f"verdicts: {counts}")
        running = sorted({v.period for v in evaluation.verdicts if v.provisional})
        if running:
            say(f"provisional: the verdicts of {', '.join(running)}, not over at --as-of; "
                "they and their credits may still change")
        if evaluation.credits is not None:
            from slaengine.credits.present import format_schedule

            say()
            say(format_schedule(evaluation.credits))
            say()
        for name, account in evaluation.sources.items():
            duplicates = f" + {account.duplicates} duplicates" if account.duplicates else ""
            say(
                f"source {name}: {account.read} rows read = {account.accepted} accepted "
                f"+ {account.rejected} rejected{duplicates} ({account.adapter}: {account.path})"
            )
            if account.after_as_of:
                say(f"  {account.after_as_of} accepted records lie after --as-of "
                              "and were left out")
            for reason, count in account.rejected_by_reason.items():
                say(f"  rejected {count}: {reason}")
            for note, count in account.notes.items():
                say(f"  {note}: {count}")
        for v in evaluation.verdicts:
            if v.outlook is not None:
                from slaengine.outlook import describe

                segment = "".join(f" {k}={x}" for k, x in v.segment.items())
                say(f"outlook {v.service_level}{segment} {v.period}: "
                              f"{describe(v.outlook)}")
        paused: dict[str, float] = {}
        for v in evaluation.verdicts:
            if v.paused:
                paused[v.service_level] = paused.get(v.service_level, 0.0) + v.paused
        for name, seconds in paused.items():
            say(f"service level {name}: the clock stood still for "
                          f"{format_value(seconds, 'duration')} on hold in all")
        for name, level in evaluation.levels.items():
            by_where = level.excluded - sum(level.agreed.values())
            if by_where:
                say(f"service level {name}: {by_where} of {level.accepted} "
                              "records left out by where")
            for reason, count in level.agreed.items():
                say(f"service level {name}: {count} records excluded by agreement: "
                              f"{reason}")
            if level.without_period:
                say(f"service level {name}: {level.without_period} records have no "
                              "time in period_by yet and belong to no period")
            if level.outside_window:
                say(f"service level {name}: {level.outside_window} of "
                              f"{level.accepted} records in periods outside start..end")


@hookimpl
def register_reporters() -> list[Reporter]:
    return [TableReporter()]
