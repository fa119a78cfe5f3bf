"""Per-record lookups the metrics make on category columns (by the dictionary's entries, then
by index: the same answer as on the text), and the counts their summaries are made of."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import given, settings
from hypothesis import strategies as st

from slaengine.plugin import NO_PERIOD, count_by
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


def _rows(table: pa.Table, names: list[str]) -> list[tuple]:
    return sorted(tuple(row[n] for n in names) for row in table.to_pylist())


@settings(deadline=None)
@given(st.lists(st.tuples(st.sampled_from([0, 202601, 202602, 202612, 202701]),
                          st.sampled_from([202601, 202603, 202604, NO_PERIOD]),
                          st.integers(0, 2**40)), min_size=1, max_size=60))
def test_count_by_counts_as_arrows_group_by_does(rows: list[tuple[int, int, int]]) -> None:
    import numpy as np

    created, resolved, wide = (np.array(c, dtype=np.int64) for c in zip(*rows, strict=True))
    for columns in ({"created": created, "resolved": resolved},  # few values: numpy
                    {"created": created, "wide": wide}):  # far apart: Arrow's group-by
        expected = pa.table(columns).group_by(list(columns)).aggregate([([], "count_all")])
        found = count_by(columns)
        assert found.column_names == [*columns, "n"]
        assert found.schema.field("n").type == pa.int64()
        assert _rows(found, [*columns, "n"]) == _rows(expected, [*columns, "count_all"])


@settings(deadline=None)
@given(st.lists(st.tuples(st.sampled_from([202601, 202602, NO_PERIOD]), st.integers(0, 2**40),
                          st.integers(-5, 5), st.integers(0, 10**6)), min_size=1, max_size=60))
def test_sum_by_sums_as_combine_summaries_does(rows: list[tuple[int, int, int, int]]) -> None:
    import numpy as np

    from slaengine.plugin import combine_summaries, sum_by

    created, wide, replies, seconds = zip(*rows, strict=True)
    values = {"replies": np.array(replies, dtype=np.int64),
              "waited": np.array(seconds, dtype=np.float64) / 4}  # quarter seconds: exact sums
    for keys in ({"created": np.array(created, dtype=np.int64)},  # numpy
                 {"wide": np.array(wide, dtype=np.int64)}):  # Arrow's group-by
        expected = combine_summaries([pa.table({**keys, **values})], list(keys))
        found = sum_by(keys, values)
        assert found.schema == expected.schema
        names = [*keys, "replies", "waited"]
        assert _rows(found, names) == _rows(expected, names)
