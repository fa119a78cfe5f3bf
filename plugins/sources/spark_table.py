"""The ``spark-table`` source: a table of the Spark session's catalog (Delta, Iceberg, Hive,
a temporary view: whatever the session is set up to read), evaluated with ``--engine spark``.

The local engine has no catalog to read it from: there it stops with exit 2 saying so.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar

from slaengine import hookimpl
from slaengine.errors import UsageError
from slaengine.plugin import Source, SourceBatch, SourceConfig

TABLE_NAME = r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*){0,2}$"
"""``name``, ``db.name`` or ``catalog.db.name``: plain identifiers, nothing Spark would parse
as SQL."""


class SparkTableSource(Source):
    """Read records from a catalog table of the Spark session (``adapter = "spark-table"``).

    Contract keys, besides ``adapter`` and ``fields``: ``table``, the table's name
    (``"support.tickets"``; ``catalog.db.name`` too). ``path`` is not used (a table has no
    file the contract names). Example::

        [sources.tickets]
        adapter = "spark-table"
        table = "support.tickets"
        fields = { ticket_id = "Ticket ID", created_at = "Created" }

    Only ``--engine spark`` reads it (the columns needed, the window pushed down as a filter,
    the rows coerced as the ``arrow`` adapter's are). The manifest names the table; it cannot
    hash a table's files, which the catalog owns.
    """

    name: ClassVar[str] = "spark-table"
    schema: ClassVar[dict[str, Any]] = {
        "table": {"type": "string", "required": True, "regex": TABLE_NAME},
        "path": {"type": "string", "default": "."},
    }
    batch_rows: ClassVar[int] = 131_072

    def files(self, config: SourceConfig) -> list[Path]:
        """No file: the catalog owns the table's files."""
        return []

    def read(self, config: SourceConfig, fields: Sequence[str]) -> Iterator[SourceBatch]:
        raise UsageError(
            f'sources.{config.name}: the "spark-table" adapter reads table '
            f'"{config.options.get("table")}" from a Spark session\'s catalog: evaluate with '
            "--engine spark")


@hookimpl
def register_sources() -> list[Source]:
    """Offer the ``spark-table`` adapter."""
    return [SparkTableSource()]
