"""The target grammar: what a contract writes after ``target =``.

Two forms, parsed by a small scanner (regular expressions, never ``eval``)::

    [statistic] OP NUMBER[unit]      p90 <= 24h   mean >= 4.2   >= 85%   count <= 5000
    NUMBER% within DURATION          95% within 1h   (the ``attainment`` statistic)

``OP`` is one of ``<``, ``<=``, ``>``, ``>=``. Units are durations (``s``, ``min``, ``h``,
``d``, an optional space before them), ``%`` for rates, or none for a plain number. Thresholds
are kept as exact :class:`~fractions.Fraction` values in base units (seconds, a 0-1 fraction, the
plain number) so that boundaries such as "17 of 20 meets >= 85%" are decided without float error.

All names are lower case. A mistake raises :class:`TargetError`, which says what was found, at
which character, and what is accepted there.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from fractions import Fraction

from slaengine.errors import SlaError, did_you_mean
from slaengine.targets.target import (
    DURATION_UNITS,
    STATISTICS,
    Target,
    percentile_number,
)

OPERATORS: tuple[str, ...] = ("<", "<=", ">", ">=")

MAX_DURATION = 36_525 * 86_400
"""The longest duration a target may name (100 years, in seconds): longer ones overflow the
microsecond arithmetic of the engine and mean nothing in an agreement."""

MAX_NUMBER_CHARS = 20
"""The longest number a target may write (``99.99999`` is 8): longer ones lose their meaning
when compared as floats."""

_WRITTEN_STATISTICS = (
    "mean", "median", "min", "max", "count", "share", "value", "pNN (e.g. p90, p99.9)"
)

_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
_OP = re.compile(r"<=|>=|<|>")
_OPLIKE = re.compile(r"[=!<>]+|\S+")
_UNIT = re.compile(r"%|[A-Za-z]+")
_WS = re.compile(r"[ \t]*")

# Common ways of writing a unit or statistic that the grammar does not accept, and what to write.
_UNIT_ALIASES = {
    "sec": "s", "secs": "s", "second": "s", "seconds": "s",
    "m": "min", "mins": "min", "minute": "min", "minutes": "min",
    "hr": "h", "hrs": "h", "hour": "h", "hours": "h",
    "day": "d", "days": "d",
}  # fmt: skip
_STATISTIC_ALIASES = {
    "avg": "mean", "average": "mean", "minimum": "min", "maximum": "max",
    "total": "count", "rate": "share", "percent": "share", "p": "p90",
}  # fmt: skip


class TargetError(SlaError, ValueError):
    """A target string that does not follow the grammar.

    ``position`` is the 0-based index in ``text`` (the stripped target) where the problem was
    found; the message shows it 1-based as "character N". ``reason`` is the bare explanation,
    for callers that want to wrap it in their own error (e.g. with the contract's key path).
    """

    def __init__(
        self,
        text: str,
        position: int,
        message: str,
        *,
        suggestion: str | None = None,
        accepted: Iterable[str] | None = None,
    ) -> None:
        self.text = text
        self.position = position
        self.reason = message
        super().__init__(
            f'target "{text}", character {position + 1}: {message}',
            suggestion=suggestion,
            accepted=accepted,
        )


class _Scanner:
    """A cursor over the target text: match a pattern here, skip blanks, report errors here."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def match(self, pattern: re.Pattern[str]) -> re.Match[str] | None:
        m = pattern.match(self.text, self.pos)
        if m is not None and m.end() > m.start():
            self.pos = m.end()
            return m
        return None

    def peek(self, pattern: re.Pattern[str]) -> re.Match[str] | None:
        m = pattern.match(self.text, self.pos)
        return m if m is not None and m.end() > m.start() else None

    def skip_ws(self) -> bool:
        """Skip blanks; True when there were any."""
        start = self.pos
        self.pos = _WS.match(self.text, self.pos).end()  # type: ignore[union-attr]
        return self.pos > start

    def at_end(self) -> bool:
        return self.pos >= len(self.text)

    def found(self) -> str:
        """The next token, quoted, or "the end of the text"."""
        if self.at_end():
            return "the end of the text"
        m = _OPLIKE.match(self.text, self.pos)
        return f'"{m.group()}"' if m else f'"{self.text[self.pos]}"'

    def error(self, message: str, position: int | None = None, **hints: object) -> TargetError:
        pos = self.pos if position is None else position
        return TargetError(self.text, pos, message, **hints)  # type: ignore[arg-type]

    def expect_end(self) -> None:
        self.skip_ws()
        if not self.at_end():
            raise self.error(f"unexpected {self.found()} after the target")


def parse_target(text: str) -> Target:
    """Parse a target string (see the module docstring); raise :class:`TargetError` if invalid."""
    stripped = text.strip()
    sc = _Scanner(stripped)
    if not stripped:
        raise sc.error('the target is empty; write e.g. "p90 <= 24h", ">= 85%" or "95% within 1h"')
    if sc.peek(_NUMBER):
        return _parse_within(sc)

    statistic = None
    word = sc.match(_WORD)
    if word is not None:
        statistic = _check_statistic(sc, word)
        sc.skip_ws()
    op = _expect_operator(sc, after_statistic=statistic is not None)
    sc.skip_ws()
    start = sc.pos
    value, unit, token = _read_quantity(sc, what="a number")
    _check_compatible(sc, statistic, unit, value, start)
    sc.expect_end()
    return Target(stripped, statistic, op, value, unit, None, token)


def parse_duration(text: str) -> Fraction:
    """Parse a duration such as ``"1h"``, ``"30min"``, ``"24 h"``, ``"0.5s"`` into seconds.

    A unit is required (``s``, ``min``, ``h``, ``d``); a bare number is ambiguous and rejected.
    """
    sc = _Scanner(text.strip())
    seconds, _ = _read_duration(sc)
    sc.expect_end()
    return seconds


# --------------------------------------------------------------------------- grammar pieces


def _parse_within(sc: _Scanner) -> Target:
    """``NUMBER% within DURATION`` -> the attainment statistic."""
    start = sc.pos
    number = _read_number(sc, "a percentage")
    pct = Fraction(number.group())
    sc.skip_ws()
    if sc.match(re.compile("%")) is None:
        raise sc.error(
            f'expected "%" after {number.group()} (as in "95% within 1h"), found {sc.found()}; '
            'a target that starts with a number is "NN% within DURATION", other targets start '
            "with a statistic or an operator"
        )
    if not 0 <= pct <= 100:
        raise sc.error(f"a percentage must be between 0% and 100%, found {number.group()}%", start)
    spaced = sc.skip_ws()
    keyword = sc.peek(_WORD)
    if keyword is None or keyword.group() != "within" or not spaced:
        raise sc.error(
            f'expected "within DURATION" after "{number.group()}%" (as in "95% within 1h"), '
            f'found {sc.found()}; for a rate write the operator first, as in ">= 95%"'
        )
    sc.match(_WORD)
    if not sc.skip_ws() and not sc.at_end():
        raise sc.error(f'expected a blank after "within", found {sc.found()}')
    limit, token = _read_duration(sc)
    sc.expect_end()
    written = f"{number.group()}% within {token}"
    return Target(sc.text, "attainment", ">=", pct / 100, "rate", limit, written)


def _check_statistic(sc: _Scanner, word: re.Match[str]) -> str:
    name = word.group()
    if name == "attainment":
        raise sc.error(
            'attainment is written as "NN% within DURATION", e.g. "95% within 1h"', word.start()
        )
    if name in STATISTICS:
        return name
    pct = percentile_number(name)
    if pct is not None:
        if 0 < pct <= 100:
            return name
        raise sc.error(f"a percentile must be in (0, 100], found {name}", word.start())
    suggestion = _STATISTIC_ALIASES.get(name.lower()) or did_you_mean(name.lower(), STATISTICS[:-1])
    raise sc.error(
        f'unknown statistic "{name}"',
        word.start(),
        suggestion=suggestion,
        accepted=_WRITTEN_STATISTICS,
    )


def _expect_operator(sc: _Scanner, *, after_statistic: bool) -> str:
    op = sc.match(_OP)
    if op is not None:
        return op.group()
    what = "an operator" if after_statistic else "a statistic or an operator"
    raise sc.error(f"expected {what}, found {sc.found()}", accepted=OPERATORS)


def _read_number(sc: _Scanner, what: str) -> re.Match[str]:
    number = sc.match(_NUMBER)
    if number is None:
        raise sc.error(f"expected {what}, found {sc.found()}")
    if len(number.group()) > MAX_NUMBER_CHARS:
        raise sc.error(f"the number has {len(number.group())} characters; at most "
                       f"{MAX_NUMBER_CHARS} are accepted", number.start())
    return number


def _check_duration(sc: _Scanner, seconds: Fraction, token: str, position: int) -> Fraction:
    if seconds > MAX_DURATION:
        raise sc.error(f"{token} is longer than 100 years (36525d), the longest duration "
                       "accepted", position)
    return seconds


def _read_quantity(sc: _Scanner, what: str) -> tuple[Fraction, str, str]:
    """``NUMBER[ ][unit]`` -> (value in base units, "duration"/"rate"/"number", written token)."""
    number = _read_number(sc, what)
    value = Fraction(number.group())
    before_unit = sc.pos
    sc.skip_ws()
    unit_start = sc.pos
    unit = sc.match(_UNIT)
    if unit is None:
        sc.pos = before_unit
        return value, "number", number.group()
    name = unit.group()
    token = f"{number.group()}{name}"
    if name == "%":
        # Any rate: a resolution rate or a return on investment can pass 100% or go below 0;
        # a share of records cannot, which _check_compatible and the contract check.
        return value / 100, "rate", token
    if name in DURATION_UNITS:
        if value < 0:
            raise sc.error(f"a duration cannot be negative, found {token}", number.start())
        seconds = _check_duration(sc, value * DURATION_UNITS[name], token, number.start())
        return seconds, "duration", token
    raise _unknown_unit(sc, name, unit_start, with_percent=True)


def _read_duration(sc: _Scanner) -> tuple[Fraction, str]:
    """``NUMBER[ ]UNIT`` with a duration unit -> (seconds, written token)."""
    if sc.at_end() or not sc.peek(_NUMBER):
        raise sc.error(
            f"expected a duration (a number and a unit, e.g. 1h, 30min, 20s), found {sc.found()}",
            accepted=DURATION_UNITS,
        )
    number = _read_number(sc, "a duration")
    if number.group().startswith("-"):
        raise sc.error(f"a duration cannot be negative, found {number.group()}", number.start())
    sc.skip_ws()
    unit_start = sc.pos
    unit = sc.match(_UNIT)
    if unit is None:
        raise sc.error(
            f"expected a duration unit after {number.group()}, found {sc.found()}",
            accepted=DURATION_UNITS,
        )
    if unit.group() not in DURATION_UNITS:
        raise _unknown_unit(sc, unit.group(), unit_start, with_percent=False)
    token = f"{number.group()}{unit.group()}"
    seconds = Fraction(number.group()) * DURATION_UNITS[unit.group()]
    return _check_duration(sc, seconds, token, number.start()), token


def _unknown_unit(sc: _Scanner, name: str, position: int, *, with_percent: bool) -> TargetError:
    accepted = [*DURATION_UNITS, "%"] if with_percent else list(DURATION_UNITS)
    suggestion = _UNIT_ALIASES.get(name.lower()) or did_you_mean(name.lower(), accepted)
    return sc.error(f'unknown unit "{name}"', position, suggestion=suggestion, accepted=accepted)


def _check_compatible(
    sc: _Scanner, statistic: str | None, unit: str, value: Fraction, position: int
) -> None:
    """Reject thresholds that cannot suit the statistic (a count in hours, a share in seconds)."""
    if statistic == "count" and unit != "number":
        raise sc.error('count takes a plain number, as in "count <= 5000"', position)
    if statistic == "share" and unit != "rate":
        raise sc.error('share takes a percentage, as in "share >= 80%"', position)
    if statistic == "share" and not 0 <= value <= 1:
        raise sc.error(f"a share must be between 0% and 100%, found {value * 100}%", position)


