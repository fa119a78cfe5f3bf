"""Weekly opening hours as a contract writes them: ``"08:00-12:00, 13:00-18:00"`` for a day or
a range of days such as ``mon-fri``, read into intervals of minutes from local midnight."""

from __future__ import annotations

import re
from itertools import pairwise

Interval = tuple[int, int]
"""Minutes from local midnight ``(start, end)``; ``end`` may pass 1440 for an overnight shift."""

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
HOURS_FORM = "HH:MM-HH:MM[, HH:MM-HH:MM]"

_TIME = r"([0-9]{1,2}):([0-9]{2})"
_INTERVAL = re.compile(rf"^\s*{_TIME}\s*-\s*{_TIME}\s*$")
_CLOSED = ("", "closed")


def parse_hours(text: str) -> tuple[Interval, ...]:
    """``"08:00-12:00, 13:00-18:00"`` -> ``((480, 720), (780, 1080))``.

    An end before the start runs past midnight (``"22:00-06:00"`` -> ``(1320, 1800)``);
    ``"24:00"`` as an end is the midnight ending the day; ``""`` or ``"closed"`` means no hours.
    Raises ValueError with a message for people.
    """
    if text.strip().lower() in _CLOSED:
        return ()
    out: list[Interval] = []
    for part in text.split(","):
        match = _INTERVAL.match(part)
        if not match:
            raise ValueError(f'"{part.strip()}" is not a time interval; expected {HOURS_FORM}')
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        if h1 > 23 or m1 > 59:
            raise ValueError(f'"{part.strip()}": start time must be 00:00..23:59')
        if h2 > 24 or m2 > 59 or (h2 == 24 and m2 != 0):
            raise ValueError(f'"{part.strip()}": end time must be 00:00..24:00')
        a, b = h1 * 60 + m1, h2 * 60 + m2
        if a == b:
            raise ValueError(f'"{part.strip()}" is empty; write "00:00-24:00" for a whole day')
        out.append((a, b if b > a else b + 1440))
    out.sort()
    for (a1, b1), (a2, b2) in pairwise(out):
        if a2 < b1:
            raise ValueError(f"intervals {_show(a1, b1)} and {_show(a2, b2)} overlap")
    return tuple(out)


def _show(a: int, b: int) -> str:
    """Minutes back to ``"HH:MM-HH:MM"`` for messages."""
    b = b if b == 1440 else b % 1440
    return f"{a // 60:02d}:{a % 60:02d}-{b // 60:02d}:{b % 60:02d}"


def parse_days(key: str) -> tuple[int, ...]:
    """``"mon-fri"`` -> ``(0, 1, 2, 3, 4)``; a range may wrap (``"fri-mon"`` -> fri..sun, mon).

    Raises KeyError(bad_word) for a word that is not a day.
    """
    words = [w.strip().lower() for w in key.split("-")]
    if len(words) not in (1, 2) or not all(words):
        raise KeyError(key)
    for word in words:
        if word not in DAYS:
            raise KeyError(word)
    first, last = DAYS.index(words[0]), DAYS.index(words[-1])
    return tuple((first + k) % 7 for k in range((last - first) % 7 + 1))

