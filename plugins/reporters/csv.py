"""``--format csv``: one row per service level × period × segment, for spreadsheets.

The columns are the verdict fields of the JSON output, in base units: ``value`` in seconds for
durations and a fraction 0-1 for rates (``unit`` says which), ``compliance`` a fraction, money as
exact decimal text; an empty cell is a missing value. ``segment`` reads ``key=value; key=value``
(empty without ``by``); ``missed`` lists the ids of the records that missed (at most 1000,
``missed_count`` has the full number), separated by spaces. Floats are written in full
precision, so a spreadsheet gets exactly the numbers of the JSON output. A text cell that a
spreadsheet would read as a formula (starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return) gets a leading ``'``; the figures (``value``, ``compliance``, ``margin`` and the counts)
are numbers and are written as they are. ``provisional`` is ``true`` for a verdict of a period
not over at the ``--as-of`` instant (its figure may still change), ``false`` otherwise.
"""

from __future__ import annotations

import csv
from typing import Any, TextIO

from slaengine import hookimpl
from slaengine.outputs import neutralise_cell
from slaengine.plugin import Reporter
from slaengine.present import figure, number
from slaengine.verdicts import Evaluation, Verdict

COLUMNS = (
    "service_level", "metric", "period", "segment", "statistic", "value", "unit", "target",
    "minimum", "status", "compliance", "margin", "sample_size", "unmeasured", "excluded",
    "missed_count", "paused", "missed", "provisional",
)

FIGURES = frozenset(("value", "compliance", "margin", "sample_size", "unmeasured", "excluded",
                     "missed_count", "paused"))
"""Number columns (money among them, as exact decimal text): never read as a formula."""


def _text(column: str, value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if column in FIGURES else neutralise_cell(value)


class CsvReporter(Reporter):
    """One CSV row per service level, period and segment, in base units, for spreadsheets."""

    name = "csv"
    suffix = ".csv"

    def write(self, evaluation: Evaluation, stream: TextIO) -> None:
        writer = csv.writer(stream, lineterminator="\r\n")
        writer.writerow(COLUMNS)
        for verdict in evaluation.verdicts:
            row = _row(verdict)
            writer.writerow([_text(column, row[column]) for column in COLUMNS])


def _row(v: Verdict) -> dict[str, Any]:
    """A verdict's cells by column, in the base units of the JSON report."""
    return {
        "service_level": v.service_level, "metric": v.metric, "period": v.period,
        "segment": "; ".join(f"{k}={'' if x is None else x}" for k, x in v.segment.items()),
        "statistic": v.statistic, "value": figure(v.value), "unit": v.unit,
        "target": v.target, "minimum": v.minimum, "status": v.status,
        "compliance": number(v.compliance), "margin": v.margin, "sample_size": v.sample_size,
        "unmeasured": v.unmeasured, "excluded": v.excluded, "missed_count": v.missed_count,
        "paused": v.paused, "missed": " ".join(v.missed), "provisional": v.provisional,
    }


@hookimpl
def register_reporters() -> list[Reporter]:
    return [CsvReporter()]
