"""Money: ``decimal.Decimal`` from contract text, never a float.

An amount has one written form, ``"180000.50"``: ASCII digits, optionally a ``.`` and more
digits, nothing else. Every other spelling is refused rather than guessed at, because each guess
can be wrong by orders of magnitude: ``"180000,50"`` is 180000.50 in Berlin and 18000050 to a
parser that drops commas; ``"1.234"`` is a thousand or one. No sign (no contract amount is
negative), no exponent, no blank, no thousands separator, no digit from another script.
"""

from __future__ import annotations

import re
from decimal import Decimal

MAX_INTEGER_DIGITS = 15
"""Digits before the point: up to 999 trillion, far above any fee, and small enough that every
product the credit rules form stays exact in :mod:`decimal`'s 28 significant digits."""

MAX_DECIMALS = 6
"""Digits after the point (a currency has at most 3; rates of exchange may want more)."""

AMOUNT_FORM = ('digits with an optional "." and decimals, quoted, such as "180000.50" '
               "(no sign, blank, exponent or thousands separator)")
"""The accepted form, for messages."""

_AMOUNT = re.compile(r"([0-9]+)(?:\.([0-9]+))?", re.ASCII)


def parse_amount(text: object) -> Decimal:
    """Read an amount written as a string in the one accepted form (see the module doc).

    A TOML number is refused with a hint to quote it: a float would already have lost
    exactness, and an integer next to quoted amounts is most likely a slip. Raises ValueError
    with a message for people (the caller adds the key path).
    """
    if isinstance(text, bool) or not isinstance(text, str):
        shown = "true or false" if isinstance(text, bool) else f"the number {text!r}"
        raise ValueError(f"found {shown}; write the amount quoted, as {AMOUNT_FORM}")
    match = _AMOUNT.fullmatch(text)
    if match is None:
        raise ValueError(f"{_show(text)} is not an amount{_why(text)}; expected {AMOUNT_FORM}")
    whole, decimals = match.group(1), match.group(2) or ""
    if len(whole.lstrip("0")) > MAX_INTEGER_DIGITS:
        raise ValueError(f"{_show(text)} has more than {MAX_INTEGER_DIGITS} digits before the "
                         "point; no contract amount is that large")
    if len(decimals) > MAX_DECIMALS:
        raise ValueError(f"{_show(text)} has more than {MAX_DECIMALS} decimals; expected at most "
                         f"{MAX_DECIMALS} digits after the point")
    return Decimal(text)


def _why(text: str) -> str:
    """The likely slip behind a refused amount, for the message (empty when none stands out)."""
    if not text:
        return " (it is empty)"
    if text != text.strip():
        return " (it has blanks around it)"
    if text[0] in "+-":
        return " (amounts carry no sign)"
    if "," in text or " " in text or "'" in text or "_" in text:
        return ' (write the decimal point as "." and no thousands separator)'
    if text.count(".") > 1:
        return " (only one decimal point; no thousands separator)"
    if text.startswith(".") or text.endswith("."):
        return ' (write a digit on both sides of the point, as "0.50" or "5.00")'
    if any(c.isdigit() and not "0" <= c <= "9" for c in text):
        return " (only the ASCII digits 0-9)"
    if text.lower().lstrip("+-") in ("nan", "inf", "infinity", "snan") or "e" in text.lower():
        return " (no exponent or special value)"
    return ""


def _show(text: str, limit: int = 40) -> str:
    """``text`` quoted for a message: escapes shown, cut to ``limit`` characters."""
    shown = repr(text[:limit])[1:-1]
    return f'"{shown}…"' if len(text) > limit else f'"{shown}"'
