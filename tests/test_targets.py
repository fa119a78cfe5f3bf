"""The target grammar: every written form, every error, and judging values against a target."""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

import pytest

from slaengine.errors import SlaError
from slaengine.targets import (
    STATISTICS,
    Target,
    TargetError,
    format_duration,
    is_statistic,
    parse_duration,
    parse_target,
    percentile_of,
)

# --------------------------------------------------------------------------- parsing


@pytest.mark.parametrize(
    ("text", "statistic", "op", "threshold", "unit"),
    [
        ("< 1h", None, "<", Fraction(3600), "duration"),
        ("p90 <= 24h", "p90", "<=", Fraction(86400), "duration"),
        ("p90 <= 24 h", "p90", "<=", Fraction(86400), "duration"),
        ("p90<=24h", "p90", "<=", Fraction(86400), "duration"),
        ("mean >= 4.2", "mean", ">=", Fraction(21, 5), "number"),
        (">= 85%", None, ">=", Fraction(17, 20), "rate"),
        ("median < 30min", "median", "<", Fraction(1800), "duration"),
        ("count <= 5000", "count", "<=", Fraction(5000), "number"),
        ("share >= 80%", "share", ">=", Fraction(4, 5), "rate"),
        ("p99.9 <= 2d", "p99.9", "<=", Fraction(172800), "duration"),
        ("p50 > 0.5s", "p50", ">", Fraction(1, 2), "duration"),
        ("min >= 1.5min", "min", ">=", Fraction(90), "duration"),
        ("max < 10s", "max", "<", Fraction(10), "duration"),
        ("mean >= -10", "mean", ">=", Fraction(-10), "number"),  # NPS can be negative
        ("  >= 30  ", None, ">=", Fraction(30), "number"),
    ],
)
def test_parse_operator_form(
    text: str, statistic: str | None, op: str, threshold: Fraction, unit: str
) -> None:
    target = parse_target(text)
    assert target.text == text.strip()
    assert target.statistic == statistic
    assert target.op == op
    assert target.threshold == threshold
    assert isinstance(target.threshold, Fraction)
    assert target.unit == unit
    assert target.within is None


@pytest.mark.parametrize(
    ("text", "threshold", "within"),
    [
        ("95% within 1h", Fraction(19, 20), Fraction(3600)),
        ("80% within 20s", Fraction(4, 5), Fraction(20)),
        ("99.5% within 24 h", Fraction(199, 200), Fraction(86400)),
        ("100% within 0.5min", Fraction(1), Fraction(30)),
    ],
)
def test_parse_within_form_is_attainment(text: str, threshold: Fraction, within: Fraction) -> None:
    target = parse_target(text)
    assert target.statistic == "attainment"
    assert target.op == ">="
    assert target.threshold == threshold
    assert target.unit == "rate"
    assert target.within == within
    assert target.better == "higher"


def test_better_follows_the_operator() -> None:
    assert parse_target("< 1h").better == "lower"
    assert parse_target("<= 1h").better == "lower"
    assert parse_target("> 4").better == "higher"
    assert parse_target(">= 85%").better == "higher"


def test_with_statistic_fills_the_default() -> None:
    target = parse_target(">= 85%")
    filled = target.with_statistic("share")
    assert filled.statistic == "share"
    assert filled.threshold == Fraction(17, 20)
    assert target.statistic is None  # the original is unchanged (frozen)
    assert filled.describe() == "share >= 85%"
    with pytest.raises(ValueError, match="unknown statistic"):
        target.with_statistic("avg")


@pytest.mark.parametrize(
    ("text", "described"),
    [
        ("p90 <= 24h", "p90 <= 24h"),
        ("p90<=24 h", "p90 <= 24h"),
        ("95% within 1h", "95% within 1h"),
        (">= 85%", ">= 85%"),
        ("mean   >=  4.2", "mean >= 4.2"),
    ],
)
def test_describe(text: str, described: str) -> None:
    assert parse_target(text).describe() == described
    assert str(parse_target(text)) == described


def test_describe_without_written_text_uses_largest_exact_unit() -> None:
    # A Target built by hand: 86400 s is exactly 1 day, 17/20 is 85%.
    assert Target("x", "p90", "<=", Fraction(86400), "duration").describe() == "p90 <= 1d"
    assert Target("x", None, ">=", Fraction(17, 20), "rate").describe() == ">= 85%"
    attain = Target("x", "attainment", ">=", Fraction(19, 20), "rate", Fraction(5400))
    assert attain.describe() == "95% within 90min"


# --------------------------------------------------------------------------- errors


def _error(text: str) -> TargetError:
    with pytest.raises(TargetError) as info:
        parse_target(text)
    return info.value


def test_error_is_a_value_error_and_a_user_error() -> None:
    error = _error("p90 = 24h")
    assert isinstance(error, ValueError)
    assert isinstance(error, SlaError)


def test_error_wrong_operator() -> None:
    error = _error("p90 = 24h")
    assert error.position == 4  # "p90 " is 4 characters; "=" is the 5th
    message = str(error)
    assert "character 5" in message
    assert 'found "="' in message
    assert "operator" in message
    assert "<, <=, >, >=" in message


def test_error_within_without_duration() -> None:
    error = _error("95% within")
    assert error.position == 10  # the end of the text
    assert "expected a duration" in str(error)
    assert "end of the text" in str(error)


def test_error_unknown_unit_suggests_h() -> None:
    error = _error("<= 24 hours")
    assert error.position == 6
    message = str(error)
    assert 'unknown unit "hours"' in message
    assert 'did you mean "h"?' in message
    assert "d, h, min, s" in message


def test_error_percentile_out_of_range() -> None:
    error = _error("p101 <= 1h")
    assert error.position == 0
    assert "percentile must be in (0, 100]" in str(error)
    assert "p101" in str(error)
    assert "(0, 100]" in str(_error("p0 <= 1h"))


def test_error_unknown_statistic_lists_accepted() -> None:
    error = _error("avg >= 4")
    message = str(error)
    assert 'unknown statistic "avg"' in message
    assert 'did you mean "mean"?' in message
    for name in ("mean", "median", "min", "max", "count", "share", "pNN"):
        assert name in message


def test_error_percentage_over_100() -> None:
    assert "between 0% and 100%" in str(_error("150% within 1h"))
    assert "150%" in str(_error("150% within 1h"))
    assert "between 0% and 100%" in str(_error("share >= 101%"))


def test_a_plain_rate_may_pass_100_or_go_below_0() -> None:
    # Rates such as a return on investment or a resolution rate are not shares of records.
    assert parse_target(">= 150%").threshold == Fraction(3, 2)
    assert parse_target(">= -50%").threshold == Fraction(-1, 2)


def test_error_empty() -> None:
    for text in ("", "   "):
        error = _error(text)
        assert error.position == 0
        assert "empty" in str(error)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("attainment >= 95%", "NN% within DURATION"),
        ("95%", 'expected "within DURATION"'),
        ("95 within 1h", 'expected "%"'),
        ("95% within 3600", "expected a duration unit"),
        ("95% within 1 hours", 'unknown unit "hours"'),
        ("<= -1h", "cannot be negative"),
        ("share >= -5%", "between 0% and 100%"),
        ("p90 <= 24h extra", 'unexpected "extra"'),
        ("p90 <= ", "expected a number"),
        ("=< 3", "expected a statistic or an operator"),
        ("count <= 5h", "count takes a plain number"),
        ("share >= 0.8", "share takes a percentage"),
    ],
)
def test_other_errors(text: str, fragment: str) -> None:
    assert fragment in str(_error(text))


# --------------------------------------------------------------------------- statistics names


def test_statistic_names() -> None:
    assert STATISTICS == (
        "mean", "median", "min", "max", "count", "share", "value", "attainment"
    )
    assert is_statistic("p90")
    assert is_statistic("p99.9")
    assert is_statistic("p100")
    assert is_statistic("attainment")
    assert not is_statistic("p0")
    assert not is_statistic("p101")
    assert not is_statistic("avg")
    assert percentile_of("p90") == Fraction(90)
    assert percentile_of("p99.9") == Fraction(999, 10)
    assert percentile_of("median") == Fraction(50)
    assert percentile_of("mean") is None
    assert percentile_of("p101") is None


# --------------------------------------------------------------------------- durations


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("1h", 3600),
        ("30min", 1800),
        ("24 h", 86400),
        ("2d", 172800),
        ("20s", 20),
        ("0.5s", Fraction(1, 2)),
        ("1.5h", 5400),
    ],
)
def test_parse_duration(text: str, seconds: Fraction) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "3600", "1 hour", "-1h", "1h 30min"])
def test_parse_duration_errors(text: str) -> None:
    with pytest.raises(TargetError):
        parse_duration(text)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (2700, "45min"),
        (5400, "1h 30min"),
        (90061, "1d 1h 1min"),  # 1d + 1h + 1min + 1s: seconds dropped from an hour up
        (12.5, "12.5s"),
        (0, "0s"),
        (90, "1min 30s"),
        (86400, "1d"),
        (59.999, "1min"),  # rounds to 60 s first
        (-900, "-15min"),
        (math.nan, "n/a"),
    ],
)
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


# --------------------------------------------------------------------------- judging values


def test_share_boundary_is_exact() -> None:
    target = parse_target(">= 85%")
    # 17/20 = 0.85 exactly: met. 16/20 = 0.80: missed.
    assert target.holds(None, hits=17, n=20) is True
    assert target.holds(None, hits=16, n=20) is False
    assert target.holds(None, hits=0, n=0) is None
    # The float 0.85 is the nearest float to 85%, so a mean written as 0.85 meets it too.
    assert target.holds(0.85) is True
    assert parse_target("> 85%").holds(None, hits=17, n=20) is False


def test_lower_better_boundary() -> None:
    target = parse_target("< 1h")
    assert target.holds(3600) is False  # exactly 1 h is not below 1 h
    assert target.holds(3599.999) is True
    assert parse_target("<= 1h").holds(3600) is True


def test_holds_without_a_value() -> None:
    target = parse_target("< 1h")
    assert target.holds(None) is None
    assert target.holds(math.nan) is None
    assert target.compliance(None) is None
    assert target.compliance(math.nan) is None
    assert target.margin(None) is None
    assert target.margin(math.nan) is None


def test_compliance_higher_better() -> None:
    target = parse_target(">= 85%")
    # FCR 0.80 against 0.85: 0.80 / 0.85 = 16/17 = 0.941176..., exactly.
    assert target.compliance(0.80) == Fraction(16, 17)
    # 16 of 20 is the same 0.80.
    assert target.compliance(None, hits=16, n=20) == Fraction(16, 17)
    assert target.compliance(0.90) == 1.0  # above target: capped
    assert target.compliance(-0.1) == 0.0  # negative clamps to 0


def test_compliance_lower_better() -> None:
    target = parse_target("< 1h")
    # a mean of 45 min: 3600 / 2700 = 1.33 -> capped at 1.0
    assert target.compliance(2700) == 1.0
    # a mean of 90 min: 3600 / 5400 = 2/3, exactly
    assert target.compliance(5400) == Fraction(2, 3)
    assert target.compliance(5400.0) == Fraction(2, 3)
    assert target.compliance(0) == 1.0


def test_compliance_zero_or_negative_threshold() -> None:
    nps = parse_target("mean >= 0")
    assert nps.compliance(12) == 1.0
    assert nps.compliance(0) == 1.0
    assert nps.compliance(-3) == 0.0
    negative = parse_target("mean >= -10")
    assert negative.compliance(-5) == 1.0  # on the good side of -10
    assert negative.compliance(-20) == 0.0
    assert parse_target("count <= 0").compliance(3) == 0.0  # 0 / 3


def test_compliance_is_an_exact_fraction_at_band_edges() -> None:
    # 72 of 100 against >= 80%: exactly 9/10 (the float 0.72 / 0.8 is 0.8999999999999999).
    assert parse_target(">= 80%").compliance(None, hits=72, n=100) == Fraction(9, 10)
    # 64 of 100 against 80%, 60 of 100 against 75%: exactly 4/5 (floats: 0.7999999999999999).
    assert parse_target("80% within 1h").compliance(None, hits=64, n=100) == Fraction(4, 5)
    assert parse_target("75% within 1h").compliance(None, hits=60, n=100) == Fraction(4, 5)
    # A Decimal is exact; a float is read as the decimal it prints as (0.72 is 72/100).
    assert parse_target("value <= 4.50").compliance(Decimal("5.00")) == Fraction(9, 10)
    assert parse_target(">= 80%").compliance(0.72) == Fraction(9, 10)
    # Every result is a Fraction, capped ones and the no-ratio cases too.
    for value in (0.9, -0.1, 0, float("inf"), Decimal(1)):
        assert isinstance(parse_target(">= 85%").compliance(value), Fraction)


def test_holds_is_exact_with_a_decimal_or_fraction() -> None:
    assert parse_target("value <= 4.50").holds(Decimal("4.50")) is True
    assert parse_target("value <= 4.50").holds(Decimal("4.500000000000000000001")) is False
    assert parse_target(">= 80%").holds(Fraction(4, 5)) is True


def test_margin() -> None:
    # lower-better: 3600 - 2700 = 900 s to spare; 3600 - 4000 = -400 s missed by
    assert parse_target("< 1h").margin(2700) == 900
    assert parse_target("< 1h").margin(4000) == -400
    # higher-better: 0.80 - 0.85 = -0.05
    assert parse_target(">= 85%").margin(0.80) == pytest.approx(-0.05)
    assert parse_target("mean >= 4.2").margin(4.5) == pytest.approx(0.3)


def test_holds_with_exact_values() -> None:
    target = parse_target(">= 85%")
    assert target.holds(Fraction(17, 20)) is True
    assert target.holds(Fraction(84, 100)) is False
    assert parse_target("count <= 5000").holds(5000) is True
    with pytest.raises(ValueError, match="both hits and n"):
        target.holds(None, hits=3)
