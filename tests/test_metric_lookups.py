"""Per-record lookups the metrics make on category columns: by the dictionary's entries, then
by index, with the same answer as on the text."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from slaengine.plugins.metrics.sla_attainment import _positions

NAMES = ["urgent", "high", "normal", "low"]


def text_positions(values: list) -> list:
    return pc.index_in(pa.array(values, pa.string()),
                       value_set=pa.array(NAMES, pa.string())).to_pylist()


def test_dictionary_text_and_chunks_give_the_same_places() -> None:
    values = ["low", None, "vip", "urgent", "high", "low"]
    expected = [3, None, None, 0, 1, 3]  # vip is not a name; a missing priority has no place
    assert text_positions(values) == expected
    as_text = pa.array(values, pa.string())
    as_category = pc.dictionary_encode(as_text)
    assert _positions(as_text, NAMES).to_pylist() == expected
    assert _positions(as_category, NAMES).to_pylist() == expected
    # two chunks whose dictionaries differ (each in its own order)
    chunked = pa.chunked_array([pc.dictionary_encode(pa.array(values[:3])),
                                pc.dictionary_encode(pa.array(values[3:]))])
    assert _positions(chunked, NAMES).to_pylist() == expected
    assert _positions(pa.chunked_array([], pa.string()), NAMES).to_pylist() == []
