"""Order statistics (median, percentiles, min, max) selected inside Spark, exact and
nearest-rank as the local engine selects them.

A partition does not keep the measured values an order statistic needs: after each batch it
emits them as rows ``(tally, group, value)`` beside its state (:func:`value_rows`). Spark
numbers each group's values in ascending order (``row_number`` over a window partitioned by
tally and group) and counts them, and keeps only the rows at the ranks asked:
``max(1, ceil(p/100 * n))`` in exact integers, 1 for min, ``n`` for max
(:func:`ranked`). The driver receives one value per group and statistic, never one per
record, and hands them to the finish of the local engine (:class:`SelectedTally`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from slaengine.lazy import np, pa, pc
from slaengine.statistics import Tally, TallyResult, nearest_rank
from slaengine.targets import percentile_of

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

OUTPUT = "state binary, tally int, grp string, value double, part int, records binary"
"""What every partition emits: its one state row (``state``; the other columns null), the
measured values of its order statistics (``tally``, ``grp``, ``value``), and the records some
levels need whole (``part``, ``records``: :mod:`slaengine.spark.records`)."""

_SCHEMA_FIELDS = (("state", "binary"), ("tally", "int32"), ("grp", "string"),
                  ("value", "float64"), ("part", "int32"), ("records", "binary"))


def output_schema() -> pa.Schema:
    """The Arrow schema of :data:`OUTPUT`."""
    return pa.schema([(name, getattr(pa, kind)()) for name, kind in _SCHEMA_FIELDS])


def output_batch(size: int, **columns: pa.Array) -> pa.RecordBatch:
    """``size`` rows of :data:`OUTPUT` with the ``columns`` given, the others null."""
    schema = output_schema()
    return pa.RecordBatch.from_arrays(
        [columns[f.name] if f.name in columns else pa.nulls(size, f.type) for f in schema],
        schema=schema)


def ordered_tallies(levels: Iterable[Any]) -> list[tuple[Tally, tuple]]:
    """The tallies of ``levels`` that keep values for an order statistic, each with its
    grouping, in the order of the plan: the partitions and the driver number them alike."""
    found: list[tuple[Tally, tuple]] = []
    for level in levels:
        tally = getattr(level, "tally", None)
        if tally is None or not tally.orders or any(tally is t for t, _ in found):
            continue
        found.append((tally, level.grouping))
    return found


def group_key(pair: tuple[int, tuple]) -> str:
    """One text per (period, segment) group, the same for equal groups in every partition:
    the driver's groups are told apart by equality, and so are Spark's."""
    period, segment = pair
    return json.dumps([int(period), [_canonical(v) for v in segment]],
                      separators=(",", ":"), allow_nan=True)


def _canonical(value: Any) -> Any:
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value + 0.0  # -0.0 and 0.0 are one segment
    return f"{type(value).__name__}:{value!r}"


def value_rows(tallies: list[tuple[Tally, tuple]], indexes: dict) -> pa.RecordBatch | None:
    """The values the ``tallies`` kept since the last call, as rows of :data:`OUTPUT`; the
    tallies keep none after it (a partition holds one batch's values at a time)."""
    values, owners, codes, keys = [], [], [], []
    for number, (tally, grouping) in enumerate(tallies):
        kept = tally.values or {}
        tally.values = {}
        pairs = indexes[grouping].pairs
        for group in sorted(kept):
            run = np.concatenate(kept[group])
            values.append(run)
            owners.append(np.full(len(run), number, dtype=np.int32))
            codes.append(np.full(len(run), len(keys), dtype=np.int32))
            keys.append(group_key(pairs[group]))
    if not values:
        return None
    size = sum(len(v) for v in values)
    return output_batch(size, tally=pa.array(np.concatenate(owners)),
                        grp=pc.take(pa.array(keys, pa.string()), pa.array(np.concatenate(codes))),
                        value=pa.array(np.concatenate(values)))


def rank_of(statistic: str, n: int) -> int:
    """The 1-based rank ``statistic`` takes among ``n`` sorted values (as the local
    engine's selection takes it)."""
    if statistic == "min":
        return 1
    if statistic == "max":
        return n
    percentile = percentile_of(statistic)
    assert percentile is not None
    return int(nearest_rank(percentile, np.array([n]))[0])


def _rank_column(statistic: str) -> Column:
    """:func:`rank_of` as a Spark column over the group's size ``n`` (exact: integer
    arithmetic in decimals, which cannot overflow)."""
    from pyspark.sql import functions as F

    if statistic == "min":
        return F.lit(1).cast("long")
    if statistic == "max":
        return F.col("n")
    percentile = percentile_of(statistic)
    assert percentile is not None
    num, den = percentile.numerator, percentile.denominator * 100
    return F.expr(f"greatest(CAST(1 AS BIGINT), (CAST(n AS DECIMAL(38,0)) * {num} + {den - 1})"
                  f" div {den})")


def ranked(out: DataFrame, wanted: dict[int, list[str]]) -> DataFrame:
    """The partitions' output ``out`` reduced to their states and, per tally and group, the
    values at the ranks its statistics take (with ``rank`` and the group's size ``n``)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    if not wanted:
        return out.where(F.col("state").isNotNull()).select(
            "state", "tally", "grp", F.lit(None).cast("long").alias("rank"),
            F.lit(None).cast("long").alias("n"), "value")
    order = Window.partitionBy("tally", "grp").orderBy("value")
    whole = order.rowsBetween(Window.unboundedPreceding, Window.unboundedFollowing)
    frame = out.select("*", F.row_number().over(order).cast("long").alias("rank"),
                       F.count("value").over(whole).cast("long").alias("n"))
    keep = F.col("state").isNotNull()
    for number, statistics in wanted.items():
        at = None
        for statistic in statistics:
            hit = F.col("rank") == _rank_column(statistic)
            at = hit if at is None else at | hit
        assert at is not None
        keep = keep | ((F.col("tally") == number) & at)
    return frame.where(keep)


@dataclass
class Pick:
    """One value Spark selected: its tally (number), group (key), rank and group size."""

    tally: int
    group: str
    rank: int
    n: int
    value: float


class SelectedTally(Tally):
    """A driver's :class:`Tally` whose order statistics were selected by Spark: it finishes
    as a tally does, with the selected values (``chosen``: per group of the tally, each
    statistic's value) in place of a selection over kept values."""

    chosen: dict[int, dict[str, float]]

    @classmethod
    def adopt(cls, tally: Tally) -> SelectedTally:
        tally.__class__ = cls
        assert isinstance(tally, SelectedTally)
        tally.chosen = {}
        return tally

    def finish(self, remap: np.ndarray, n_groups: int) -> TallyResult:
        result = super().finish(remap, n_groups)
        remap = np.asarray(remap, dtype=np.int64)
        for group, values in self.chosen.items():
            if group < len(remap) and remap[group] >= 0:
                for statistic, value in values.items():
                    result.orders[statistic][remap[group]] = value
        return result


def apply(picks: list[Pick], tallies: list[tuple[Tally, tuple]], indexes: dict) -> None:
    """Give the driver's ``tallies`` the values Spark selected: each group's statistics, at
    the ranks of the group's size the driver counted. A group's size or a rank that does not
    match is an error, never a wrong figure."""
    groups_of = []
    for tally, grouping in tallies:
        SelectedTally.adopt(tally)
        index = indexes.get(grouping)
        pairs = index.pairs if index is not None else []
        groups_of.append({group_key(pair): g for g, pair in enumerate(pairs)})
    for pick in picks:
        tally = tallies[pick.tally][0]
        assert isinstance(tally, SelectedTally)
        group = groups_of[pick.tally][pick.group]
        if pick.n != int(tally.counted[group]):
            raise RuntimeError(f"group {pick.group}: Spark ranked {pick.n} values, the "
                               f"partitions counted {int(tally.counted[group])}")
        for statistic in tally.orders:
            if rank_of(statistic, pick.n) == pick.rank:
                tally.chosen.setdefault(group, {})[statistic] = pick.value
    for tally, _ in tallies:
        assert isinstance(tally, SelectedTally)
        for group in np.flatnonzero(tally.counted > 0).tolist():
            if set(tally.chosen.get(group, {})) != tally.orders:
                raise RuntimeError(f"group {group}: Spark selected "
                                   f"{sorted(tally.chosen.get(group, {}))} of "
                                   f"{sorted(tally.orders)}")
