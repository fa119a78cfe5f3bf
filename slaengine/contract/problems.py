"""The problems of one contract, gathered while it is checked so one run reports every typo:
each names the file, the key path and, where the key can be found, its line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from slaengine import schema as contract_schema
from slaengine.calendars import Calendar
from slaengine.errors import ContractError, KeyPath, SlaError
from slaengine.pluginmanager import Registry


class ContractProblems(SlaError):
    """Several problems in one contract, reported together in line order."""

    def __init__(self, problems: list[ContractError]) -> None:
        self.problems = sorted(problems, key=lambda p: (p.line or 0, p.render()))
        head = f"{len(self.problems)} problems in the contract:\n" if len(problems) > 1 else ""
        super().__init__(head + "\n".join(p.render() for p in self.problems))

    def render(self) -> str:
        return self.message


class ProblemList:
    """The state every part of the check shares: the plugins, the key lines of the text, the
    problems found so far and what the parts found sound (calendars, the penalty model)."""

    def __init__(self, text: str, path: Path | None, registry: Registry) -> None:
        self.path = path
        self.registry = registry
        self.lines = contract_schema.key_lines(text)
        self.text = text
        self.problems: list[ContractError] = []
        self.penalty_model: Any = None
        self.calendars: dict[str, Calendar] = {}
        self.broken: set[tuple] = set()
        self.warnings: list[str] = []
        self.clock_names: set[str] = set()

    def problem(self, key_path: KeyPath, message: str, suggestion: str | None = None,
                accepted: list[str] | None = None) -> None:
        line = contract_schema.line_of(self.lines, key_path)
        self.problems.append(ContractError(
            self.path, tuple(_printable(p) for p in key_path), message, line=line,
            suggestion=suggestion, accepted=accepted,
        ))

    def raise_if_any(self) -> None:
        if len(self.problems) == 1:
            raise self.problems[0]
        if self.problems:
            raise ContractProblems(self.problems)


def _printable(part: str | int) -> str | int:
    """A key as it can be shown: control characters escaped, cut to 60 characters."""
    if isinstance(part, int) or (part.isprintable() and len(part) <= 60):
        return part
    shown = repr(part[:60])[1:-1]
    return f"{shown}…" if len(part) > 60 else shown
