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

import math
import operator
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from decimal import Decimal
from fractions import Fraction

from slaengine.errors import SlaError, did_you_mean

STATISTICS: tuple[str, ...] = (
    "mean", "median", "min", "max", "count", "share", "value", "attainment"
)
"""The fixed statistic names; ``pNN`` (a percentile, 0 < NN <= 100) is accepted besides them.

``value`` is the figure of a period-level metric (backlog, cost per contact, retention), which
has no per-record measures to summarise."""

OPERATORS: tuple[str, ...] = ("<", "<=", ">", ">=")

DURATION_UNITS: dict[str, int] = {"s": 1, "min": 60, "h": 3600, "d": 86400}
"""Duration units and their length in seconds."""

MAX_DURATION = 36_525 * 86_400
"""The longest duration a target may name (100 years, in seconds): longer ones overflow the
microsecond arithmetic of the engine and mean nothing in an agreement."""

MAX_NUMBER_CHARS = 20
"""The longest number a target may write (``99.99999`` is 8): longer ones lose their meaning
when compared as floats."""

_WRITTEN_STATISTICS = (
    "mean", "median", "min", "max", "count", "share", "value", "pNN (e.g. p90, p99.9)"
)

_COMPARE: dict[str, Callable[[object, object], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}

_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
_OP = re.compile(r"<=|>=|<|>")
_OPLIKE = re.compile(r"[=!<>]+|\S+")
_UNIT = re.compile(r"%|[A-Za-z]+")
_WS = re.compile(r"[ \t]*")
_PERCENTILE = re.compile(r"p([0-9]+(?:\.[0-9]+)?)")

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


@dataclass(frozen=True)
class Target:
    """A parsed service-level target.

    ``threshold`` is in base units: seconds for durations, a 0-1 fraction for ``%`` (85% ->
    17/20), the plain number otherwise; ``unit`` says which ("duration", "rate", "number").
    ``statistic`` is None when the target names none (the metric's default applies, see
    :meth:`with_statistic`). ``within`` is the per-record limit in seconds, for ``attainment``.
    ``written`` is the threshold part as written (normalised), used by :meth:`describe`.
    """

    text: str
    statistic: str | None
    op: str
    threshold: Fraction
    unit: str
    within: Fraction | None = None
    written: str = field(default="", compare=False, repr=False)

    @property
    def better(self) -> str:
        """``"lower"`` for ``<``/``<=``, ``"higher"`` for ``>``/``>=``."""
        return "lower" if self.op in ("<", "<=") else "higher"

    def with_statistic(self, statistic: str) -> Target:
        """A copy with ``statistic`` filled in (the metric's default when the target named none)."""
        if not is_statistic(statistic):
            raise ValueError(f"unknown statistic {statistic!r}")
        return replace(self, statistic=statistic)

    def holds(
        self, value: float | Decimal | Fraction | None, *, hits: int | None = None,
        n: int | None = None,
    ) -> bool | None:
        """Whether a measured value satisfies the target; None when there is nothing to compare.

        The comparison is exact (see :func:`exact_figure`): with ``hits`` and ``n`` (share,
        attainment) the ratio ``hits/n``, so 17 of 20 meets ``>= 85%``; ``n == 0`` gives None.
        A float ``value`` is read as the decimal it prints as, so a mean of ``0.85`` meets
        ``>= 85%`` as written.
        """
        achieved = _achieved(value, hits, n)
        if achieved is None:
            return None
        return bool(_COMPARE[self.op](achieved, self.threshold))

    def compliance(
        self, value: float | Decimal | Fraction | None, *, hits: int | None = None,
        n: int | None = None,
    ) -> Fraction | None:
        """Achieved ÷ target in the good direction, clamped to [0, 1], as an exact Fraction;
        None with no value.

        Higher-better: ``value / threshold`` (FCR 0.80 vs ``>= 85%`` -> 16/17; 72 of 100 vs
        ``>= 80%`` -> exactly 9/10). Lower-better: ``threshold / value`` (a mean of 45 min vs
        ``< 1h`` -> 1; a value of 0 -> 1). Where the ratio means nothing (a threshold <= 0 for
        higher-better, < 0 for lower-better, an infinite value) the result is 1 when the value
        is on the good side of (or at) the threshold, else 0. The figure decides credit bands,
        so it is computed from the exact achieved value (:func:`exact_figure`), never from a
        float ratio.
        """
        achieved = _achieved(value, hits, n)
        if achieved is None:
            return None
        v, t = achieved, self.threshold
        higher = self.better == "higher"
        if isinstance(v, float):  # infinite: no ratio
            ratio = Fraction(int(v >= t if higher else v <= t))
        elif higher:
            ratio = v / t if t > 0 else Fraction(int(v >= t))
        elif t < 0:
            ratio = Fraction(int(v <= t))
        else:
            ratio = _ONE if v <= 0 else t / v
        return _ONE if ratio > 1 else _ZERO if ratio < 0 else ratio

    def margin(self, value: float | None) -> float | None:
        """Room to spare on the good side, in base units (negative = missed by); None if no value.

        Higher-better: ``value - threshold``; lower-better: ``threshold - value``.
        """
        if _is_missing(value):
            return None
        v, t = float(value), float(self.threshold)  # type: ignore[arg-type]
        return v - t if self.better == "higher" else t - v

    def describe(self) -> str:
        """Human form: ``"p90 <= 24h"``, ``"95% within 1h"``, ``">= 85%"``."""
        if self.within is not None:
            if self.written:
                return self.written
            return f"{_format_number(self.threshold * 100)}% within {_duration_token(self.within)}"
        written = self.written or _threshold_token(self.threshold, self.unit)
        head = f"{self.statistic} " if self.statistic else ""
        return f"{head}{self.op} {written}"

    def __str__(self) -> str:
        return self.describe()


# --------------------------------------------------------------------------- public helpers


def is_statistic(name: str) -> bool:
    """Whether ``name`` is a statistic: one of :data:`STATISTICS` or ``pNN`` with 0 < NN <= 100."""
    if name in STATISTICS:
        return True
    pct = _percentile_number(name)
    return pct is not None and 0 < pct <= 100


def percentile_of(name: str) -> Fraction | None:
    """The percentile a statistic stands for: ``"p90"`` -> 90, ``"median"`` -> 50, else None."""
    if name == "median":
        return Fraction(50)
    pct = _percentile_number(name)
    return pct if pct is not None and 0 < pct <= 100 else None


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


def format_duration(seconds: float) -> str:
    """Compact human text for reports: 2700 -> "45min", 5400 -> "1h 30min", 12.5 -> "12.5s".

    Below a minute, seconds with up to two decimals; below an hour, whole minutes and seconds;
    from an hour up, days, hours and minutes (rounded to the minute: 90061 -> "1d 1h 1min").
    Negative values (a missed margin) get a leading "-"; NaN or infinity give "n/a".
    """
    value = float(seconds)
    if not math.isfinite(value):
        return "n/a"
    sign = "-" if value < 0 else ""
    value = abs(value)
    if round(value, 2) < 60:
        return f"{sign}{round(value, 2):g}s"
    if round(value) < 3600:
        parts = _split(round(value), (("min", 60), ("s", 1)))
    else:
        parts = _split(round(value / 60) * 60, (("d", 86400), ("h", 3600), ("min", 60)))
    return sign + " ".join(parts)


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
    pct = _percentile_number(name)
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


# --------------------------------------------------------------------------- small helpers


def _percentile_number(name: str) -> Fraction | None:
    m = _PERCENTILE.fullmatch(name)
    return Fraction(m.group(1)) if m else None


def _is_missing(value: object) -> bool:
    if value is None:
        return True
    try:
        return math.isnan(float(value))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False


def exact_figure(value: float | Decimal | Fraction | int) -> Fraction | float:
    """A measured value as an exact number, for deciding targets, bands and bonuses.

    An int, Fraction or Decimal is taken as it is. A finite float (a mean, a ratio a metric
    computed) is read as the shortest decimal that gives the float back -- the figure the JSON
    report prints -- so 0.72 is exactly 72/100 and a reader who redoes ``0.72 / 0.8`` from the
    report gets the same 90%. An infinite float is returned unchanged (it compares exactly with
    any Fraction).
    """
    if isinstance(value, Fraction | int) and not isinstance(value, bool):
        return Fraction(value)
    if isinstance(value, Decimal) and value.is_finite():
        return Fraction(value)
    number = float(value)
    if not math.isfinite(number):
        return number
    return Fraction(*Decimal(repr(number)).as_integer_ratio())  # the printed digits, exactly


_ONE, _ZERO = Fraction(1), Fraction(0)


def _achieved(
    value: float | Decimal | Fraction | None, hits: int | None, n: int | None
) -> Fraction | float | None:
    """The exact value to judge: ``hits/n`` when both are given, else ``value``; None if
    nothing (no value, NaN, ``n == 0``)."""
    if (hits is None) != (n is None):
        raise ValueError("give both hits and n, or neither")
    if hits is not None and n is not None:
        if n == 0:
            return None
        return Fraction(int(hits), int(n))
    if type(value) is Fraction:  # already exact (the engine's figures)
        return value
    if _is_missing(value):
        return None
    return exact_figure(value)  # type: ignore[arg-type]


def _format_number(value: Fraction) -> str:
    """A Fraction as short decimal text: 90 -> "90", 999/10 -> "99.9"."""
    if value.denominator == 1:
        return str(value.numerator)
    return f"{float(value):g}"


def _duration_token(seconds: Fraction) -> str:
    """Seconds as one parseable token in the largest unit that divides them: 86400 -> "1d"."""
    for unit, size in sorted(DURATION_UNITS.items(), key=lambda item: -item[1]):
        if seconds != 0 and (seconds / size).denominator == 1:
            return f"{seconds / size}{unit}"
    return f"{_format_number(seconds)}s"


def _threshold_token(threshold: Fraction, unit: str) -> str:
    if unit == "duration":
        return _duration_token(threshold)
    if unit == "rate":
        return f"{_format_number(threshold * 100)}%"
    return _format_number(threshold)


def _split(total: int, units: tuple[tuple[str, int], ...]) -> list[str]:
    parts = []
    for name, size in units:
        count, total = divmod(total, size)
        if count:
            parts.append(f"{count}{name}")
    return parts or [f"0{units[-1][0]}"]
