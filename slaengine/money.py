"""Money: ``decimal.Decimal`` from contract text, never a float."""

from __future__ import annotations

import re
from decimal import Decimal

_AMOUNT = re.compile(r"^-?\d+(\.\d+)?$")


def parse_amount(text: object) -> Decimal:
    """Read an amount written as a string (``"180000.00"``).

    A TOML float would already have lost exactness, so it is refused with a hint to quote it.
    """
    if isinstance(text, bool) or not isinstance(text, str):
        raise ValueError(f'write the amount as a string, e.g. "{text}", so no float touches it')
    cleaned = text.replace("_", "").replace(",", "").strip()
    if not _AMOUNT.match(cleaned):
        raise ValueError(f"{text!r} is not an amount; expected digits and optional decimals")
    return Decimal(cleaned)
