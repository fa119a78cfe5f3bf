"""Text from contracts and data, made safe to print on a terminal.

A contract or a data file can hold any character, among them terminal controls: ESC starts
sequences that move the cursor, recolour or retitle the window, rewrite what was printed before;
BEL rings; a carriage return overprints a line; bidirectional overrides reorder what is read.
:func:`printable` shows each of them as an escape (``\\x1b``, ``\\u202e``) instead, at the point
where text reaches the terminal: the command's messages and the table reporter's cells.
"""

from __future__ import annotations

import re

_CONTROLS = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]"
)
_CONTROLS_AND_NEWLINE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]"
)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: object, *, newlines: bool = True) -> str:
    """``text`` with every control character (C0, DEL, C1, bidirectional and line separators)
    shown as its escape; newlines are kept when ``newlines`` (a multi-line message), escaped
    otherwise (one table cell, one line)."""
    pattern = _CONTROLS if newlines else _CONTROLS_AND_NEWLINE
    return pattern.sub(_escape, str(text))
