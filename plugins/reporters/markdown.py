"""``--format md``: the evaluation as Markdown that pastes cleanly into a review or a pull request.

A heading with the parties and the period, a summary line, one GitHub-flavoured table per
service level (period, segment, value, target, status, compliance, margin, sample), the service
credits when the contract has a ``[penalties]`` table, where every input row went, and the
manifest hashes in a short list. Statuses carry a symbol and a word (``✗ breached``), so they
read without colour. A ``|`` inside a cell is escaped (``\\|``) and line breaks become spaces,
so a value from the contract or the data cannot break a table.
"""

from __future__ import annotations

import re
from typing import TextIO

from slaengine import hookimpl
from slaengine.kinds import Reporter
from slaengine.verdicts import Evaluation


def cell(value: object) -> str:
    """Text safe inside a GitHub-flavoured table cell: ``|`` escaped, no line breaks."""
    text = re.sub(r"\s*[\r\n]+\s*", " ", "" if value is None else str(value))
    return text.replace("\\", "\\\\").replace("|", "\\|")


def inline(value: object) -> str:
    """Text safe in a heading or list item: one line."""
    return re.sub(r"\s*[\r\n]+\s*", " ", "" if value is None else str(value))


class MarkdownReporter(Reporter):
    """Markdown for a review document or a pull request: a table per service level."""

    name = "md"
    suffix = ".md"

    def write(self, evaluation: Evaluation, stream: TextIO) -> None:
        from slaengine.plugins.reporters.html import environment, report_context

        env = environment(autoescape=False)
        env.filters["cell"] = cell
        env.filters["inline"] = inline
        template = env.get_template("report.md.j2")
        stream.write(template.render(**report_context(evaluation)))


@hookimpl
def register_reporters() -> list[Reporter]:
    return [MarkdownReporter()]
