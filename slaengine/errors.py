"""One exception family for everything a user can fix.

The CLI prints a :class:`SlaError` once, as a short paragraph, and exits with code 2. Any other
exception is a bug and keeps its traceback.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from pathlib import Path

KeyPath = Sequence[str | int]


def format_key_path(key_path: KeyPath) -> str:
    """``("service_levels", 2, "target")`` -> ``service_levels[2].target``."""
    out = ""
    for part in key_path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    """The closest of ``choices`` to ``word``, if any is close enough to suggest."""
    matches = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.6)
    return matches[0] if matches else None


class SlaError(Exception):
    """An error the user can fix: bad contract, bad data, bad usage."""

    def __init__(
        self,
        message: str,
        *,
        file: str | Path | None = None,
        where: str | None = None,
        suggestion: str | None = None,
        accepted: Iterable[str] | None = None,
    ) -> None:
        self.message = message
        self.file = str(file) if file is not None else None
        self.where = where
        self.suggestion = suggestion
        self.accepted = sorted(accepted) if accepted is not None else None
        super().__init__(self.render())

    def render(self) -> str:
        head = ": ".join(part for part in (self.file, self.where) if part)
        lines = [f"{head}: {self.message}" if head else self.message]
        hints = []
        if self.suggestion:
            hints.append(f'did you mean "{self.suggestion}"?')
        if self.accepted is not None:
            hints.append("accepted: " + ", ".join(self.accepted))
        if hints:
            lines.append("  " + " ".join(hints))
        return "\n".join(lines)


class ContractError(SlaError):
    """A contract that cannot be read, or that says something the engine cannot do.

    ``key_path`` is rendered as ``service_levels[2].target``; ``line`` is the line in the TOML
    file where that key was found, when it could be found.
    """

    def __init__(
        self,
        path: str | Path | None,
        key_path: KeyPath,
        message: str,
        *,
        line: int | None = None,
        suggestion: str | None = None,
        accepted: Iterable[str] | None = None,
    ) -> None:
        self.key_path = tuple(key_path)
        self.line = line
        where = format_key_path(key_path)
        if line is not None:
            where = f"line {line}: {where}" if where else f"line {line}"
        super().__init__(
            message, file=path, where=where or None, suggestion=suggestion, accepted=accepted
        )


class DataError(SlaError):
    """Input data that cannot be used at all (a missing file or column, an unreadable format).

    Single bad rows are not errors: sources reject them, count them and report them.
    """


class PluginError(SlaError):
    """A plugin that cannot be loaded, clashes with another one, or failed while it ran."""


class UsageError(SlaError):
    """A command-line request that cannot be carried out as asked."""
