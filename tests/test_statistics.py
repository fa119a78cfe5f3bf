"""Per-group statistics: hand-worked tables and a property linking percentiles to attainment."""

from __future__ import annotations

import itertools
from fractions import Fraction

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slaengine.statistics import GroupStats, group_statistic, nearest_rank

# Four groups:
#   group 0: 10, null, 30, 20      -> measured 10, 20, 30 (3), one null
#   group 1: no records at all
#   group 2: null, null            -> nothing measured
#   group 3: 7                     -> a single record
VALUES = pa.array([10.0, None, 30.0, None, 7.0, 20.0, None], type=pa.float64())
GROUPS = np.array([0, 0, 0, 2, 3, 0, 2], dtype=np.int64)
N_GROUPS = 4
NAN = np.nan


def _stat(statistic: str, **kwargs: object) -> GroupStats:
    return group_statistic(statistic, VALUES, GROUPS, N_GROUPS, **kwargs)  # type: ignore[arg-type]


def test_count_includes_null_measures() -> None:
    stats = _stat("count")
    np.testing.assert_array_equal(stats.value, [4, 0, 2, 1])
    np.testing.assert_array_equal(stats.sample_size, [4, 0, 2, 1])
    np.testing.assert_array_equal(stats.unmeasured, [1, 0, 2, 0])
    assert stats.hits is None
    assert stats.sample_size.dtype == np.int64


def test_mean_min_max_skip_nulls() -> None:
    mean = _stat("mean")
    # group 0: (10 + 30 + 20) / 3 = 20; groups 1, 2: nothing measured; group 3: 7
    np.testing.assert_array_equal(mean.value, [20, NAN, NAN, 7])
    np.testing.assert_array_equal(mean.sample_size, [3, 0, 0, 1])
    np.testing.assert_array_equal(mean.unmeasured, [1, 0, 2, 0])
    np.testing.assert_array_equal(_stat("min").value, [10, NAN, NAN, 7])
    np.testing.assert_array_equal(_stat("max").value, [30, NAN, NAN, 7])


def test_percentiles_nearest_rank() -> None:
    # group 0 sorted: 10, 20, 30 (n = 3)
    #   p50: k = ceil(1.5) = 2 -> 20;  p34: k = ceil(1.02) = 2 -> 20;  p33: k = ceil(0.99) = 1 -> 10
    #   p100: k = 3 -> 30
    np.testing.assert_array_equal(_stat("median").value, [20, NAN, NAN, 7])
    np.testing.assert_array_equal(_stat("p50").value, [20, NAN, NAN, 7])
    np.testing.assert_array_equal(_stat("p34").value, [20, NAN, NAN, 7])
    np.testing.assert_array_equal(_stat("p33").value, [10, NAN, NAN, 7])
    np.testing.assert_array_equal(_stat("p100").value, [30, NAN, NAN, 7])
    np.testing.assert_array_equal(_stat("p90").sample_size, [3, 0, 0, 1])


def test_percentile_ties() -> None:
    # [1, 2, 2, 2, 5], n = 5: p50 -> k = ceil(2.5) = 3 -> 2;  p90 -> k = ceil(4.5) = 5 -> 5;
    # p80 -> k = ceil(4.0) = 4 -> 2;  p0.1 -> k = ceil(0.005) = 1 -> 1
    values = np.array([2, 5, 1, 2, 2], dtype=np.float64)
    groups = np.zeros(5, dtype=np.int64)
    assert group_statistic("p50", values, groups, 1).value[0] == 2
    assert group_statistic("p90", values, groups, 1).value[0] == 5
    assert group_statistic("p80", values, groups, 1).value[0] == 2
    assert group_statistic("p0.1", values, groups, 1).value[0] == 1


def test_p90_of_ten_values_is_the_ninth() -> None:
    # 0.9 * 10 in floats is 9.000000000000002, whose ceiling 10 would pick the 10th value.
    # Exact: k = ceil(90 * 10 / 100) = 9 -> the 9th smallest, 90.
    values = np.arange(100, 0, -10, dtype=np.float64)  # 100, 90, ..., 10 (unsorted on purpose)
    groups = np.zeros(10, dtype=np.int64)
    assert group_statistic("p90", values, groups, 1).value[0] == 90
    np.testing.assert_array_equal(
        nearest_rank(Fraction(90), np.array([10, 0, 1, 20])), [9, 1, 1, 18]
    )
    # p99.9 of 1000: k = ceil(999 * 1000 / 1000) = 999
    assert nearest_rank(Fraction(999, 10), np.array([1000]))[0] == 999


def test_percentile_runs_do_not_leak_between_groups() -> None:
    # group 0: 5, 1, 3 -> max 5, min 1;  group 1: 100, 50 -> min 50, max 100;  p50: k = 2, k = 1
    values = np.array([100, 5, 1, 50, 3], dtype=np.float64)
    groups = np.array([1, 0, 0, 1, 0], dtype=np.int64)
    np.testing.assert_array_equal(group_statistic("min", values, groups, 2).value, [1, 50])
    np.testing.assert_array_equal(group_statistic("max", values, groups, 2).value, [5, 100])
    np.testing.assert_array_equal(group_statistic("p50", values, groups, 2).value, [3, 50])


def test_share_counts_true_among_measured() -> None:
    # group 0: true, null, false, true -> 2 hits of 3 measured;  group 1: empty;
    # group 2: null, null -> no sample;  group 3: true -> 1 of 1
    success = pa.array([True, None, False, None, True, True, None], type=pa.bool_())
    values = pa.array([1.0, None, 0.0, None, 1.0, 1.0, None])
    stats = group_statistic("share", values, GROUPS, N_GROUPS, success=success)
    np.testing.assert_array_equal(stats.hits, [2, 0, 0, 1])
    np.testing.assert_array_equal(stats.sample_size, [3, 0, 0, 1])
    np.testing.assert_array_equal(stats.unmeasured, [1, 0, 2, 0])
    np.testing.assert_allclose(stats.value, [2 / 3, NAN, NAN, 1.0])


def test_attainment_counts_nulls_as_misses() -> None:
    # within 20: group 0: 10 yes, null miss, 30 no, 20 yes -> 2 of 4;  group 1: empty;
    # group 2: two nulls -> 0 of 2;  group 3: 7 yes -> 1 of 1
    stats = _stat("attainment", within=20)
    np.testing.assert_array_equal(stats.hits, [2, 0, 0, 1])
    np.testing.assert_array_equal(stats.sample_size, [4, 0, 2, 1])
    np.testing.assert_array_equal(stats.unmeasured, [1, 0, 2, 0])
    np.testing.assert_array_equal(stats.value, [0.5, NAN, 0.0, 1.0])
    # the limit may be a Fraction from parse_target
    np.testing.assert_array_equal(_stat("attainment", within=Fraction(20)).hits, [2, 0, 0, 1])


def test_booleans_are_zero_one() -> None:
    # FCR: true, false, true, null -> mean over measured = 2 / 3
    values = pa.array([True, False, True, None])
    groups = np.zeros(4, dtype=np.int64)
    stats = group_statistic("mean", values, groups, 1)
    assert stats.value[0] == pytest.approx(2 / 3)
    assert stats.sample_size[0] == 3
    assert stats.unmeasured[0] == 1
    flags = np.array([True, False, True, True])
    assert group_statistic("mean", flags, groups, 1).value[0] == 0.75


def test_numpy_nan_is_null_and_chunked_arrays_work() -> None:
    values = np.array([1.0, np.nan, 3.0])
    groups = np.array([0, 0, 1], dtype=np.int64)
    stats = group_statistic("mean", values, groups, 2)
    np.testing.assert_array_equal(stats.value, [1.0, 3.0])
    np.testing.assert_array_equal(stats.unmeasured, [1, 0])
    chunked = pa.chunked_array([[1.0, None], [3.0]])
    np.testing.assert_array_equal(group_statistic("max", chunked, groups, 2).value, [1.0, 3.0])


def test_no_records_at_all() -> None:
    stats = group_statistic("p90", np.array([], dtype=np.float64), np.array([], np.int64), 2)
    np.testing.assert_array_equal(stats.value, [NAN, NAN])
    np.testing.assert_array_equal(stats.sample_size, [0, 0])


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="unknown statistic"):
        _stat("avg")
    with pytest.raises(ValueError, match="within"):
        _stat("attainment")
    with pytest.raises(ValueError, match="success"):
        _stat("share")
    with pytest.raises(ValueError, match="group ids"):
        group_statistic("mean", np.array([1.0]), np.array([3]), 2)
    with pytest.raises(ValueError, match="entries"):
        group_statistic("mean", np.array([1.0, 2.0]), np.array([0]), 1)


# --------------------------------------------------------------------------- property


@settings(max_examples=200, deadline=None)
@given(
    data=st.lists(
        st.tuples(st.one_of(st.none(), st.integers(0, 500)), st.integers(0, 3)), max_size=60
    ),
    limit=st.integers(0, 500),
    percentile=st.sampled_from(["p1", "p10", "p33.3", "p50", "p90", "p95", "p99.9", "p100"]),
)
def test_percentile_target_matches_attainment_of_measured(
    data: list[tuple[int | None, int]], limit: int, percentile: str
) -> None:
    """``pNN <= X`` holds exactly when at least NN% of the measured records are ``<= X``."""
    values = pa.array([v for v, _ in data], type=pa.float64())
    groups = np.array([g for _, g in data], dtype=np.int64)
    stats = group_statistic(percentile, values, groups, 4)
    nn = Fraction(percentile[1:])
    for group in range(4):  # a loop over 4 groups in the test, not in the code under test
        measured = [v for v, g in data if g == group and v is not None]
        n = len(measured)
        assert stats.sample_size[group] == n
        if n == 0:
            assert np.isnan(stats.value[group])
            continue
        hits = sum(v <= limit for v in measured)
        assert (stats.value[group] <= limit) == (hits * 100 >= nn * n)


@settings(max_examples=100, deadline=None)
@given(
    statistic=st.sampled_from(["count", "mean", "median", "p90", "min", "max", "share",
                               "attainment"]),
    rows=st.lists(st.tuples(st.integers(0, 3), st.one_of(st.none(), st.integers(0, 100))),
                  max_size=60),
    cuts=st.lists(st.integers(0, 60), max_size=4),
)
def test_accumulator_over_batches_equals_one_pass(statistic, rows, cuts):
    # Feeding the records in arbitrary batches, with group ids numbered in order of first
    # appearance, must give exactly what one pass over all of them gives.
    from slaengine.statistics import GroupAccumulator

    groups = np.array([g for g, _ in rows], dtype=np.int64)
    values = np.array([np.nan if v is None else float(v) for _, v in rows])
    success = np.where(np.isnan(values), np.nan, (values >= 50).astype(float))
    whole = group_statistic(statistic, values, groups, 4, success=success, within=40)
    first_seen: dict[int, int] = {}
    local = np.array([first_seen.setdefault(int(g), len(first_seen)) for g in groups],
                     dtype=np.int64)
    accumulator = GroupAccumulator(statistic, within=40)
    bounds = sorted({0, len(rows), *(c for c in cuts if c <= len(rows))})
    for start, end in itertools.pairwise(bounds):
        accumulator.add(values[start:end], local[start:end], success[start:end])
    remap = np.array(sorted(first_seen, key=first_seen.get), dtype=np.int64)
    merged = accumulator.finish(remap, 4)
    np.testing.assert_array_equal(merged.value, whole.value)
    np.testing.assert_array_equal(merged.sample_size, whole.sample_size)
    np.testing.assert_array_equal(merged.unmeasured, whole.unmeasured)
    if whole.hits is not None:
        np.testing.assert_array_equal(merged.hits, whole.hits)


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(st.tuples(st.integers(0, 39), st.one_of(st.none(), st.integers(0, 100))),
                  max_size=120),
    cuts=st.lists(st.integers(0, 120), max_size=5),
)
def test_one_tally_serves_every_statistic_as_one_pass_would(rows, cuts):
    # One tally asked for all its statistics at once, fed in arbitrary batches over up to 40
    # groups (more than a batch counts run by run, so both ways of counting are used), must
    # give for each statistic exactly what group_statistic gives in one pass.
    from slaengine.statistics import Tally

    groups = np.array([g for g, _ in rows], dtype=np.int64)
    values = np.array([np.nan if v is None else float(v) for _, v in rows])
    success = np.where(np.isnan(values), np.nan, (values >= 50).astype(float))
    statistics = ["count", "mean", "median", "p90", "min", "max", "share", "attainment"]
    tally = Tally()
    for statistic in statistics:
        tally.want(statistic, within=40.0)
    tally.count_where(">", 75.0)
    bounds = sorted({0, len(rows), *(c for c in cuts if c <= len(rows))})
    for start, end in itertools.pairwise(bounds):
        tally.add(values[start:end], groups[start:end], success[start:end])
    result = tally.finish(np.arange(40), 40)
    for statistic in statistics:
        whole = group_statistic(statistic, values, groups, 40, success=success, within=40)
        got = result.stats(statistic, within=40.0)
        np.testing.assert_array_equal(got.value, whole.value, err_msg=statistic)
        np.testing.assert_array_equal(got.sample_size, whole.sample_size, err_msg=statistic)
        np.testing.assert_array_equal(got.unmeasured, whole.unmeasured, err_msg=statistic)
    over = np.bincount(groups[values > 75], minlength=40) if len(rows) else np.zeros(40)
    np.testing.assert_array_equal(result.thresholds[(">", 75.0)], over)


def test_selection_shared_with_a_second_thread_gives_the_same_values(monkeypatch):
    # Above a threshold the groups' selections are split between two threads; with the
    # threshold lowered, 7 groups of uneven sizes must give exactly the one-pass values.
    from slaengine import statistics
    from slaengine.statistics import Tally

    rng = np.random.default_rng(5)
    groups = rng.integers(0, 7, 500) ** 2 % 7
    values = rng.integers(0, 1000, 500).astype(float)
    monkeypatch.setattr(statistics, "_SPLIT_SELECTION", 10)
    tally = Tally()
    for statistic in ("median", "p90", "min", "max"):
        tally.want(statistic)
    tally.add(values[:250], groups[:250])
    tally.add(values[250:], groups[250:])
    result = tally.finish(np.arange(7), 7)
    for statistic in ("median", "p90", "min", "max"):
        whole = group_statistic(statistic, values, groups, 7)
        np.testing.assert_array_equal(result.stats(statistic).value, whole.value)


@settings(max_examples=80, deadline=None)
@given(
    rows=st.lists(st.tuples(st.integers(0, 5), st.one_of(st.none(), st.floats(0, 1e6))),
                  max_size=80),
    ascending=st.booleans(),
    wanted=st.sets(st.sampled_from(["count", "mean", "median", "share", "attainment"]),
                   min_size=1),
)
def test_a_batch_in_group_order_counts_as_a_sorted_one_does(rows, ascending, wanted):
    # A batch whose groups never decrease is left in place (not sorted): it must give, bit
    # for bit (float sums included), what counting the batch sorted by group gives.
    from slaengine import statistics
    from slaengine.statistics import Layout, Tally

    if ascending:
        rows = sorted(rows, key=lambda row: row[0])
    groups = np.array([g for g, _ in rows], dtype=np.intp)
    values = np.array([np.nan if v is None else v / 7 for _, v in rows])
    success = np.where(np.isnan(values), np.nan, (values >= 5e4).astype(float))

    def counted(layout_of) -> statistics.TallyResult:
        tally = Tally()
        for statistic in wanted:
            tally.want(statistic, within=3e4)
        if len(rows):
            tally.add(values, groups, success, layout_of(groups))
        return tally.finish(np.arange(6), 6)

    quick = counted(Layout.of)

    def sorted_layout(g: np.ndarray) -> Layout:
        layout = Layout.of(g)
        if layout.order is None:  # one group: the sort is the identity
            layout.order = np.arange(len(g))
        return layout

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(statistics, "_ascending", lambda _groups: False)
        slow = counted(sorted_layout)
    for statistic in wanted:
        a, b = quick.stats(statistic, within=3e4), slow.stats(statistic, within=3e4)
        assert a.value.tobytes() == b.value.tobytes(), statistic
        np.testing.assert_array_equal(a.sample_size, b.sample_size)
        np.testing.assert_array_equal(a.unmeasured, b.unmeasured)
    if "mean" in wanted:
        assert quick.sums.tobytes() == slow.sums.tobytes()
