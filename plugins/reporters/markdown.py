"""``--format md``: the evaluation as Markdown that pastes cleanly into a review or a pull request.

A heading with the parties and the period, a summary line, one GitHub-flavoured table per
service level (period, segment, value, target, status, compliance, margin, sample), the service
credits when the contract has a ``[penalties]`` table, where every input row went, and the
manifest hashes in a short list. Statuses carry a symbol and a word (``✗ breached``), so they
read without colour.

Every value from the contract or the data stays text: HTML is escaped (``&lt;script&gt;``),
Markdown's own characters are backslash-escaped (no emphasis, link, image or heading can be
injected), ``|`` cannot end a table cell, line breaks become spaces, and a value shown as code
is fenced with more backticks than it holds. Escaping is the template's default: every
``{{ ... }}`` is escaped unless a filter here already made it safe.
"""

from __future__ import annotations

import re
from typing import TextIO

from slaengine import hookimpl
from slaengine.plugin import Reporter
from slaengine.verdicts import Evaluation

_BREAKS = re.compile(r"\s*[\r\n\v\f\x1c-\x1e\x85\u2028\u2029]+\s*")
_TAG = re.compile(r"<(?=[A-Za-z/!?])")
_SPECIAL = re.compile(r"([\\`*\[\]|#])")
_UNDERSCORE = re.compile(r"(?<![^\W_])_|_(?![^\W_])")
"""An underscore that could open or close emphasis; one inside a word (first_response) cannot."""
_LEADING = re.compile(r"^(?:[-+>](?=\s|$)|[-=]{2,}|\d{1,9}(?=[.)](?:\s|$)))")


class Safe(str):
    """Text already escaped for Markdown: the template shows it as it is."""


def _one_line(value: object) -> str:
    return _BREAKS.sub(" ", "" if value is None else str(value))


def escape(value: object) -> Safe:
    """Text shown as text anywhere in the document: one line, HTML and Markdown escaped."""
    if isinstance(value, Safe):
        return value
    # "&" opens an entity and "<" before a letter, "/", "!" or "?" a tag, a comment or an
    # autolink; "<= 1h" and a ">" open nothing (but a quote at a line start, see below).
    text = _TAG.sub("&lt;", _one_line(value).replace("&", "&amp;"))
    text = _UNDERSCORE.sub(r"\\_", _SPECIAL.sub(r"\\\1", text))
    if text.count("~") > 1:  # a single tilde cannot strike anything through
        text = text.replace("~", "\\~")
    # A block marker at the start of a line ("- ", "# ", "1. ", "> ", "---") is text too.
    text = _LEADING.sub(lambda m: m[0] + "\\" if m[0][0].isdigit() else "\\" + m[0], text)
    return Safe(text)


def cell(value: object) -> str:
    """Text safe inside a GitHub-flavoured table cell: ``|`` escaped, no line breaks, no HTML."""
    return escape(value)


def inline(value: object) -> str:
    """Text safe in a heading, a paragraph or a list item: one line, no HTML, no markup."""
    return escape(value)


def code(value: object) -> str:
    """A code span showing ``value`` exactly (one line): fenced with more backticks than the
    longest run inside it, padded when it starts or ends with a backtick."""
    text = _one_line(value)
    if not text:
        return Safe("")
    fence = "`" * (max((len(run) for run in re.findall("`+", text)), default=0) + 1)
    pad = " " if text[0] in "` " or text[-1] in "` " else ""
    return Safe(f"{fence}{pad}{text}{pad}{fence}")


class MarkdownReporter(Reporter):
    """Markdown for a review document or a pull request: a table per service level."""

    name = "md"
    suffix = ".md"

    def write(self, evaluation: Evaluation, stream: TextIO) -> None:
        from slaengine.plugins.reporters.html import environment, report_context

        env = environment(autoescape=False)
        env.filters["cell"] = cell
        env.filters["inline"] = inline
        env.filters["code"] = code
        env.finalize = escape
        template = env.get_template("report.md.j2")
        stream.write(template.render(**report_context(evaluation)))


@hookimpl
def register_reporters() -> list[Reporter]:
    return [MarkdownReporter()]
