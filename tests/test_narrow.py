"""slaengine.engine.narrow: ``where`` keeps the records whose field holds a listed value,
compared as text, whatever the column's Arrow type."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from slaengine.engine.narrow import where_mask

TEXT = ["urgent", None, "high", "low", "urgent", "", "high"]
# kept for ["urgent", "high"]: rows 0, 2, 4, 6 (a null or an empty value is no listed value)
URGENT_OR_HIGH = [True, False, True, False, True, False, True]


def _dictionary_with_null_entry() -> pa.DictionaryArray:
    # index 1 points at a null entry, index 2 is itself null: both are no value
    return pa.DictionaryArray.from_arrays(
        pa.array([0, 1, None, 2, 0, 3, 2], pa.int8()), pa.array(["urgent", None, "high", ""]))


@pytest.mark.parametrize("column", [
    pa.array(TEXT),
    pa.array(TEXT, pa.large_string()),
    pc.dictionary_encode(pa.array(TEXT)),
    pa.chunked_array([pc.dictionary_encode(pa.array(TEXT[:3])),
                      pc.dictionary_encode(pa.array(TEXT[3:]))]),  # dictionaries differ
    pc.dictionary_encode(pa.array(["x", *TEXT])).slice(1),  # indices at an offset
], ids=["text", "large", "dictionary", "chunks", "sliced"])
def test_where_keeps_the_listed_values_of_any_column_type(column):
    table = pa.table({"priority": column})
    assert where_mask(table, {"priority": ("urgent", "high")}).tolist() == URGENT_OR_HIGH
    assert where_mask(table, {"priority": ()}).tolist() == [False] * 7
    assert where_mask(table, {"priority": ("",)}).tolist() == [v == "" for v in TEXT]


def test_where_on_a_dictionary_with_null_entries_and_null_indices():
    table = pa.table({"priority": _dictionary_with_null_entry()})
    # rows: urgent, (null entry), (null index), high, urgent, "", high
    assert where_mask(table, {"priority": ("urgent", "high")}).tolist() == [
        True, False, False, True, True, False, True]


def test_where_compares_numbers_as_their_text():
    table = pa.table({"tier": pa.array([1, 2, None, 3], pa.int8())})
    assert where_mask(table, {"tier": ("1", "3")}).tolist() == [True, False, False, True]
    assert where_mask(table, {"missing": ("1",)}).tolist() == [True] * 4  # field not there
