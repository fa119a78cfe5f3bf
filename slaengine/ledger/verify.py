"""``ledger verify``: every entry's content recomputed from the rows as stored, and the chain.

For each entry in ``seq`` order (which must run 1, 2, 3, ... without a gap):

1. its canonical content is made again from its row in ``entries`` and its rows in every other
   table (not from the stored ``content`` text), and its SHA-256 must be ``content_sha256``;
2. the stored ``content`` must hash to it too (it is the entry's record as one text);
3. ``previous_hash`` must be the entry before's ``entry_hash`` (:data:`GENESIS` for the first),
   and ``entry_hash`` the SHA-256 of ``previous_hash + content_sha256``.

A row whose entry does not exist is reported too. The first entry that fails is named: a row
edited after its trigger was dropped, a row removed, added or moved, an entry removed,
inserted or renumbered. Removing the last entries leaves a shorter chain that is whole: the
summary line gives the head hash, to be kept elsewhere and compared (``--head``).
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from slaengine.errors import DataError
from slaengine.ledger import canonical
from slaengine.ledger.schema import ENTRY_COLUMNS, ROW_TABLES, connect


@dataclass(frozen=True)
class Verification:
    """The outcome: ``problem`` is None when the ledger is intact; ``entries`` how many were
    checked, ``head`` the last entry's hash."""

    path: Path
    entries: int
    head: str
    problem: str | None = None

    @property
    def intact(self) -> bool:
        return self.problem is None

    def line(self) -> str:
        """One line for people."""
        if self.problem is not None:
            return f"{self.path}: {self.problem}"
        return (f"{self.path}: intact, {self.entries} entr{'y' if self.entries == 1 else 'ies'}"
                f" chained, head {self.head}")


def verify_ledger(path: Path, head: str | None = None) -> Verification:
    """Check the ledger at ``path`` (read-only). ``head``: an entry hash recorded earlier,
    which must still be in the chain (so entries removed from the end show).

    Raises :class:`DataError` when the file is not a usable ledger (missing, not SQLite,
    corrupt, from a newer slaengine).
    """
    connection = connect(path, write=False)
    try:
        problem = _damaged(connection)
        if problem is not None:
            raise DataError(f"the SQLite file is corrupt: {problem}", file=path)
        return _verify(connection, path, head)
    except sqlite3.DatabaseError as exc:
        raise DataError(f"cannot be read as a slaengine ledger: {exc}", file=path) from None
    finally:
        connection.close()


def _damaged(connection: sqlite3.Connection) -> str | None:
    found = [row[0] for row in connection.execute("PRAGMA quick_check")]
    return None if found == ["ok"] else "; ".join(found[:3])


def _rows(connection: sqlite3.Connection, table: str) -> dict[int, list[dict]]:
    """Every row of ``table`` by entry, in ``position`` order, as stored."""
    cursor = connection.execute(f"SELECT * FROM {table} ORDER BY entry, position")
    names = [d[0] for d in cursor.description]
    found: dict[int, list[dict]] = {}
    for values in cursor:
        row = dict(zip(names, values, strict=True))
        found.setdefault(row["entry"], []).append(row)
    return found


def _verify(connection: sqlite3.Connection, path: Path, head: str | None) -> Verification:
    cursor = connection.execute("SELECT * FROM entries ORDER BY seq")
    names = [d[0] for d in cursor.description]
    entries = [dict(zip(names, values, strict=True)) for values in cursor]
    tables = {table.name: _rows(connection, table.name) for table in ROW_TABLES}
    previous = canonical.GENESIS
    seen: set[int] = set()
    for expected, entry in enumerate(entries, start=1):
        problem = _entry_problem(entry, expected, previous, tables)
        if problem is not None:
            return Verification(path, len(entries), previous, problem)
        previous = entry["entry_hash"]
        seen.add(entry["seq"])
    for name, by_entry in tables.items():
        stray = sorted(set(by_entry) - seen)
        if stray:
            return Verification(path, len(entries), previous,
                                f"{name} holds rows of entry {stray[0]}, which is not in the "
                                "ledger (an entry was removed, or rows were added)")
    if head is not None and head not in {e["entry_hash"] for e in entries}:
        return Verification(path, len(entries), previous,
                            f"the head {head} recorded earlier is not in the chain (entries "
                            "were removed from its end, or it is another ledger)")
    return Verification(path, len(entries), previous)


def _describe(entry: dict) -> str:
    what = "evaluation of" if entry["kind"] == "evaluation" else "period closed for"
    return (f"entry {entry['seq']} ({what} {entry['contract_id']}, recorded "
            f"{entry['recorded_at']})")


def _entry_problem(entry: dict, expected: int, previous: str,
                   tables: dict[str, dict[int, list[dict]]]) -> str | None:
    """Why ``entry`` (the ``expected``-th) fails, or None when it holds."""
    seq = entry["seq"]
    if seq != expected:
        return (f"entry {expected} is missing (the next is entry {seq}): an entry was removed "
                "or renumbered")
    rows = {name: by_entry.get(seq, []) for name, by_entry in tables.items()}
    own = {name: entry.get(name) for name, _ in ENTRY_COLUMNS}
    remade = canonical.content(own, rows)
    if canonical.sha256(remade) != entry["content_sha256"]:
        return f"{_describe(entry)} does not match its hash: {_what_differs(entry, remade)}"
    if canonical.sha256(entry["content"]) != entry["content_sha256"]:
        return f"{_describe(entry)}: its stored content text was edited"
    if entry["previous_hash"] != previous:
        return (f"{_describe(entry)} does not follow entry {expected - 1 or 'none'} in the chain "
                "(an entry before it was removed, inserted or reordered)")
    if canonical.chain(previous, entry["content_sha256"]) != entry["entry_hash"]:
        return f"{_describe(entry)}: its entry hash is not that of its content and chain"
    return None


def _what_differs(entry: dict, remade: str) -> str:
    """Which part of the entry no longer matches its stored content (the stored content may
    itself have been edited: then this names what the rows and the text disagree on)."""
    try:
        stored = json.loads(entry["content"])
    except (TypeError, ValueError):
        return "its rows changed, and its stored content text is not JSON"
    now = json.loads(remade)
    for part in ("entry", *(t.name for t in ROW_TABLES)):
        before, after = stored.get(part), now.get(part)
        if before == after:
            continue
        if part == "entry":
            keys = sorted(k for k in {*(before or {}), *(after or {})}
                          if (before or {}).get(k) != (after or {}).get(k))
            return f"its entries row changed ({', '.join(keys)})"
        before, after = before or [], after or []
        if len(before) != len(after):
            return f"{part}: {len(before)} rows recorded, {len(after)} now (rows removed or added)"
        for i, (old, new) in enumerate(zip(before, after, strict=True)):
            if old != new:
                keys = sorted(k for k in {*old, *new} if old.get(k) != new.get(k))
                return f"{part} row {i} changed ({', '.join(keys)})"
    return "its rows are as recorded but the recorded hash is not theirs"
