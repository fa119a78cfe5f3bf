"""``--format json``: the whole evaluation as one JSON document with a stable shape."""

from __future__ import annotations

from typing import TextIO

from slaengine import hookimpl
from slaengine.manifest import for_report
from slaengine.plugin import Reporter
from slaengine.present import report_json
from slaengine.verdicts import Evaluation


class JsonReporter(Reporter):
    """Writes ``{"contract", "manifest", "summary", "verdicts", "sources", "service_levels"}``.

    Durations are seconds, rates and compliance are fractions 0–1; the shape is documented in
    the README and is what ``verify`` and other programs read. The document is strict JSON: a
    figure that is not a finite number (a ratio over zero) is written as ``null``.
    """

    name = "json"
    suffix = ".json"

    def write(self, evaluation: Evaluation, stream: TextIO) -> None:
        def relative(document: dict) -> dict:
            # Written to a file: the contract's path relative to it (what verify looks for).
            document["manifest"] = for_report(document["manifest"], getattr(stream, "name",
                                                                            None))
            return document

        stream.write(report_json(evaluation, relative))


@hookimpl
def register_reporters() -> list[Reporter]:
    return [JsonReporter()]
