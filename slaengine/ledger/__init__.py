"""The evaluation ledger: every evaluation, period closed and restatement, in one SQLite file
that is only ever appended to and whose entries are chained by SHA-256.

- :mod:`~slaengine.ledger.schema`: the ``STRICT`` append-only tables, the schema version and
  its forward migrations, opening a file (a non-ledger, corrupt or newer file is refused);
- :mod:`~slaengine.ledger.canonical`: an entry's canonical content and the hash chain;
- :mod:`~slaengine.ledger.record`: appending an evaluation (restating closed periods) or a
  period closed, each in one ``BEGIN IMMEDIATE`` transaction;
- :mod:`~slaengine.ledger.verify`: the content and chain recomputed from the stored rows;
- :mod:`~slaengine.ledger.read`: :func:`open_ledger`, the history as Arrow tables.

It stores results and reads them back, so it sits on the presentation floor; nothing here
imports numpy or pyarrow until Arrow tables are asked for (``ledger verify`` stays light).
"""

from __future__ import annotations

from slaengine.ledger.read import Ledger, open_ledger
from slaengine.ledger.schema import SCHEMA_VERSION
from slaengine.ledger.verify import Verification, verify_ledger

__all__ = ["SCHEMA_VERSION", "Ledger", "Verification", "open_ledger", "verify_ledger"]
