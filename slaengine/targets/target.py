"""A parsed target and what it decides: whether a figure meets it, the compliance ratio and the
margin, all from the exact figure (never a float ratio); the statistic names; durations as text."""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from decimal import Decimal
from fractions import Fraction

STATISTICS: tuple[str, ...] = (
    "mean", "median", "min", "max", "count", "share", "value", "attainment"
)
"""The fixed statistic names; ``pNN`` (a percentile, 0 < NN <= 100) is accepted besides them.

``value`` is the figure of a period-level metric (backlog, cost per contact, retention), which
has no per-record measures to summarise."""

DURATION_UNITS: dict[str, int] = {"s": 1, "min": 60, "h": 3600, "d": 86400}
"""Duration units and their length in seconds."""

_COMPARE: dict[str, Callable[[object, object], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}

_PERCENTILE = re.compile(r"p([0-9]+(?:\.[0-9]+)?)")


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
    pct = percentile_number(name)
    return pct is not None and 0 < pct <= 100


def percentile_of(name: str) -> Fraction | None:
    """The percentile a statistic stands for: ``"p90"`` -> 90, ``"median"`` -> 50, else None."""
    if name == "median":
        return Fraction(50)
    pct = percentile_number(name)
    return pct if pct is not None and 0 < pct <= 100 else None


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


def percentile_number(name: str) -> Fraction | None:
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
