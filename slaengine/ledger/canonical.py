"""The canonical content of a ledger entry and the hash chain over the entries.

The content of an entry is one JSON text made the same way every time from exactly what the
ledger stores for it: ``{"entry": {...its columns...}, "verdicts": [...], "credits": [...],
...}``, keys sorted, no spaces, ASCII only, every value a string, an integer or absent. Rows are
listed by their ``position``; a null column and a table with no rows for the entry are left
out, so a column or table added by a later migration keeps earlier entries' hashes.

``content_sha256 = sha256(content)`` and ``entry_hash = sha256(previous_hash + content_sha256)``
(hex text), the first entry's ``previous_hash`` being :data:`GENESIS`. Editing, removing or
adding a row changes its entry's content hash; removing, inserting or reordering an entry breaks
the chain at the next one. ``ledger verify`` recomputes the content from the rows as stored.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from slaengine.ledger.schema import ENTRY_COLUMNS, HASH_COLUMNS, ROW_TABLES

GENESIS = "0" * 64
"""The ``previous_hash`` of the first entry."""

Row = Mapping[str, str | int | None]


def canonical_json(value: Any) -> str:
    """``value`` as the one JSON text slaengine hashes: keys sorted, no spaces, ASCII only."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True,
                      allow_nan=False)


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def chain(previous_hash: str, content_sha256: str) -> str:
    """The entry hash: the SHA-256 of the previous entry's hash followed by this content's."""
    return sha256(previous_hash + content_sha256)


def _present(row: Row) -> dict[str, str | int]:
    return {name: value for name, value in row.items() if value is not None}


def content(entry: Row, rows: Mapping[str, Sequence[Row]]) -> str:
    """The canonical content of an entry: ``entry`` (its columns; the hash columns are left
    out) and ``rows`` (per table name, its rows in ``position`` order)."""
    own = {name: entry[name] for name, _ in ENTRY_COLUMNS
           if name not in HASH_COLUMNS and name in entry}
    document: dict[str, Any] = {"entry": _present(own)}
    for table in ROW_TABLES:
        found = rows.get(table.name) or ()
        if found:
            document[table.name] = [_present(row) for row in found]
    return canonical_json(document)
