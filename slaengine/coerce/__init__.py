"""Turn a source's raw columns into canonical records, and reject the rows that cannot be used.

Every tabular source (CSV, Arrow, Parquet, ...) hands :func:`coerce` its columns as they came:
text to be parsed, or values that are already typed. :func:`coerce` returns the records typed
as :mod:`slaengine.fields` says, and one reject row (:data:`slaengine.plugin.REJECT_SCHEMA`) for
every input row it could not use, with the reason. Nothing is dropped silently, so
``accepted + rejected == read`` always holds.

Everything is vectorised with ``pyarrow.compute``; Python loops run per column, or per distinct
bad value on the error path, never per record.

- ``rows``: :func:`coerce`, the records and the rejects of a batch, and the rules that look at
  typed values (bounds, order, required fields);
- ``types``: one column typed as its field's type (:func:`expects`: which column types a field
  can take), and the rules, by field type;
- ``times``: timestamps, and wall times placed in the contract's timezone;
- ``column``: one field's column while it is coerced, and what every type's coercion shares.
"""

from slaengine.coerce.rows import coerce
from slaengine.coerce.types import expects

__all__ = ["coerce", "expects"]
