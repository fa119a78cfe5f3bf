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


# --------------------------------------------------------------------------- agreed exclusions

def _agreed(exclusions, table, level="frt"):
    from types import SimpleNamespace

    from slaengine.engine.narrow import agreed_exclusions

    contract = SimpleNamespace(exclusions=tuple(exclusions))
    return agreed_exclusions(contract, SimpleNamespace(id=level), table, "created_at")


def _hours(*hours):
    from datetime import UTC, datetime

    return pa.array([None if h is None else datetime(2026, 4, 14, h, tzinfo=UTC)
                     for h in hours], pa.timestamp("us", tz="UTC"))


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
def test_exclusions_outside_inside_and_across_a_batch(unit):
    """A batch wholly before, wholly after, straddling or holding an exclusion's window,
    with missing times, in every timestamp unit: the records in [start, end) are excluded,
    counted once for the first reason that takes them."""
    from datetime import UTC, datetime

    from slaengine.contract.model import Exclusion

    at = lambda h: datetime(2026, 4, 14, h, tzinfo=UTC)  # noqa: E731
    table = pa.table({"created_at": _hours(8, 9, None, 12, 16, 17).cast(
        pa.timestamp(unit, tz="UTC")), "priority": ["a", "b", "a", "a", "b", "a"]})
    before = Exclusion("before", at(1), at(8))  # ends as the first record starts: none
    after = Exclusion("after", at(18), at(20))  # none
    inside = Exclusion("outage", at(9), at(17))  # 9, 12, 16 (not 17: the end is open)
    again = Exclusion("again", at(12), at(13))  # 12, already taken by the outage
    only_b = Exclusion("b only", at(0), at(23), where={"priority": ("b",)})  # 9 (taken), 16
    other = Exclusion("other level", at(0), at(23), service_levels=("aht",))  # not frt's
    out, counts = _agreed([before, after, inside, again, only_b, other], table)
    assert out.tolist() == [False, True, False, True, True, False]
    assert counts == {"outage": 3}
    out, counts = _agreed([before, after], table)
    assert not out.any() and counts == {}
    out, counts = _agreed([only_b], table)
    assert out.tolist() == [False, True, False, False, True, False] and counts == {"b only": 2}


def test_exclusions_on_a_batch_without_any_time():
    from datetime import UTC, datetime

    from slaengine.contract.model import Exclusion

    table = pa.table({"created_at": _hours(None, None)})
    whole = Exclusion("all", datetime(1900, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))
    out, counts = _agreed([whole], table)
    assert not out.any() and counts == {}


@pytest.mark.parametrize("spread", [1, 3, 12])  # one period, a few, more than the few counted
def test_records_left_out_are_counted_per_period_as_their_keys_say(spread: int) -> None:
    import numpy as np

    from slaengine.engine.batch import batch_periods
    from slaengine.engine.narrow import _left_out, per_period

    rng = np.random.default_rng(spread)
    keys = 202601 + rng.integers(0, spread, 5_000)  # months 2026-01 .. as keys
    valid = rng.random(5_000) > 0.1
    periods = batch_periods(keys, valid)
    left_out = valid & (rng.random(5_000) > 0.7)  # only records with a period are left out
    found = _left_out(periods, left_out)
    assert found == per_period(keys[left_out])
    assert sum(found.values()) == int(left_out.sum())


def test_where_on_a_category_never_reads_a_null_slot() -> None:
    import numpy as np

    # indices 1, <null holding 7, past the dictionary>, 0 and an all-null empty dictionary
    indices = pa.Array.from_buffers(
        pa.int8(), 3, [pa.py_buffer(np.packbits([1, 0, 1], bitorder="little").tobytes()),
                       pa.py_buffer(np.array([1, 7, 0], dtype=np.int8).tobytes())],
        null_count=1)
    column = pa.DictionaryArray.from_arrays(indices, pa.array(["low", "urgent"]))
    table = pa.table({"priority": column})
    assert where_mask(table, {"priority": ("urgent",)}).tolist() == [True, False, False]
    empty = pa.DictionaryArray.from_arrays(pa.nulls(2, pa.int8()), pa.array([], pa.string()))
    assert where_mask(pa.table({"priority": empty}), {"priority": ("urgent",)}).tolist() == [
        False, False]
