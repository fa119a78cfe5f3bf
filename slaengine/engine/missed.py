"""The single records that count against a target: which missed, the ids a verdict names,
the evidence tables and the figure without the worst 1%.
"""

from __future__ import annotations

import operator

from slaengine.contract import ServiceLevel
from slaengine.engine.batch import shown_ids
from slaengine.lazy import np, pa, pc
from slaengine.statistics import TallyResult, group_statistic
from slaengine.targets import Target, percentile_of
from slaengine.verdicts import FAILED, MISSED_LIMIT, Concentration, Ids, Verdict, verdict_key

COMPARISONS = ("<", "<=", ">", ">=")
"""The target operators whose misses the tally counts by threshold."""
FAILS = {"<=": ">", "<": ">=", ">=": "<", ">": "<="}
"""The operator a record's measure fails a target by (``p90 <= 4h``: over 4h fails)."""


def miss_rule(target: Target, statistic: str) -> tuple | None:
    """Which single records count against a per-record target (none for a mean or a count):

    - attainment: ``("attainment", within)``, a record not measured within the limit (a
      record never answered is a miss);
    - share: ``("share", better)``, a record whose outcome counts against the target (lower is
      better, as for a reopen rate: the successes of the measure);
    - a percentile, min or max: ``(op, threshold)``, a measured record on the wrong side of
      the threshold (``p90 <= 4h``: the records over 4h).
    """
    if statistic == "attainment":
        return ("attainment", float(target.within))
    if statistic == "share":
        return ("share", target.better)
    if statistic in ("min", "max") or percentile_of(statistic) is not None:
        return (FAILS[target.op], float(target.threshold))
    return None


def missed_mask(rule: tuple, numbers: np.ndarray, outcomes: np.ndarray | None) -> np.ndarray:
    """Which records of a batch missed, by :func:`miss_rule` (``numbers``: NaN unmeasured)."""
    kind, limit = rule
    if kind == "attainment":
        return ~(numbers <= limit)  # NaN compares false: unmeasured is a miss
    if kind == "share":
        assert outcomes is not None
        measured = ~np.isnan(numbers)
        return measured & (outcomes == (1.0 if limit == "lower" else 0.0))
    return _COMPARE_NP[kind](numbers, limit)  # NaN compares false: unmeasured is no miss


# On arrays these are numpy's element-wise comparisons (np.less, ...).
_COMPARE_NP = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


def missed_count(rule: tuple | None, result: TallyResult, within: float | None,
                 ) -> np.ndarray | None:
    """How many records missed, per group, from the tally's counters."""
    if rule is None:
        return None
    kind, limit = rule
    if kind == "attainment":
        return result.total - result.thresholds[("<=", float(limit))]
    if kind == "share":
        assert result.sample is not None and result.wins is not None
        return result.wins if limit == "lower" else result.sample - result.wins
    return result.thresholds[(kind, limit)]


def segment_order(segment: tuple) -> tuple:
    """Segments sort by value; a missing value after the others."""
    return tuple((value is None, value or "") for value in segment)


def evidence_of(parts: list[tuple[pa.Table, np.ndarray]], remap: np.ndarray,
                 labels: list[str], n_segments: int) -> pa.Table:
    tables = []
    for table, groups in parts:
        periods = np.array(labels)[remap[groups] // n_segments]
        tables.append(table.add_column(1, "period", pa.array(periods, pa.string())))
    return pa.concat_tables(tables, promote_options="permissive")


def worst_first(table: pa.Table, rule: tuple | None, better: str) -> pa.Table:
    """Evidence records sorted worst measure first (stable: record order among equals): the
    largest first when lower is better, the smallest first when higher is; a record never
    measured (never answered, under an attainment target) before all. Yes/no outcomes (a
    share target) keep record order."""
    if rule is None or rule[0] in ("share", "every"):
        return table
    order = "descending" if better == "lower" else "ascending"
    indices = pc.sort_indices(table, sort_keys=[("measure", order)])  # nulls at the end
    nulls = table["measure"].null_count
    if nulls:
        indices = pa.concat_arrays([indices[-nulls:], indices[:-nulls]])
    return table.take(indices)


def concentration(level: ServiceLevel, verdicts: list[Verdict], remap: np.ndarray,
                  measured: list[tuple[np.ndarray, np.ndarray]],
                  ) -> dict[tuple[str, str, tuple], Concentration]:
    """For each failed verdict (``verdicts[g]``, group ``g``): its statistic over the measures
    of its group without the worst ``ceil(n / 100)`` of them (the worst 1%, at least one)."""
    failed = [g for g, v in enumerate(verdicts) if v.status in FAILED]
    if not failed:
        return {}
    values = np.concatenate([v for v, _ in measured])
    owners = remap[np.concatenate([g for _, g in measured])]
    order = np.argsort(owners, kind="stable")
    values, owners = values[order], owners[order]
    found = {}
    for g in failed:  # once per failed verdict, over its own measures
        lo, hi = np.searchsorted(owners, [g, g + 1])
        mine = np.sort(values[lo:hi])
        left_out = -(-len(mine) // 100)
        rest = mine[: len(mine) - left_out] if level.target.better == "lower" else mine[left_out:]
        figure = None
        if len(rest):
            figure = float(group_statistic(level.statistic, rest, np.zeros(len(rest),
                                                                           dtype=np.int64),
                                           1).value[0])
        found[verdict_key(verdicts[g])] = Concentration(left_out, figure)
    return found


def evidence_table(kept: pa.Table, values: pa.Array, missed: np.ndarray,
                   id_field: str, time_field: str) -> pa.Table:
    """The records that missed, with every field the evaluation read and their measure.

    ``measure`` is the record's measure in base units (seconds, yes/no, score); empty when the
    record had none (never answered counts as a miss). The period is added by the caller.
    """
    rows = pa.array(missed)
    table = kept.filter(rows)
    front = [id_field, time_field]
    table = table.select(front + [c for c in table.column_names if c not in front])
    table = table.set_column(0, id_field, shown_ids(table[id_field]))  # shown: as text
    return table.append_column("measure", values.filter(rows))


def group_missed(
    ids: pa.ChunkedArray | pa.Array, missed: np.ndarray, group_ids: np.ndarray, n_groups: int,
    limit: int = MISSED_LIMIT,
) -> list[tuple[Ids, int]]:
    """Per group: the first ``limit`` missed ids (in record order, as text) and their count.

    The ids stay one Arrow array, each group's a slice of it (:class:`~slaengine.verdicts.Ids`).
    """
    where = np.flatnonzero(missed)
    groups = group_ids[where]
    order = np.argsort(groups, kind="stable")
    where, groups = where[order], groups[order]
    counts = np.bincount(groups, minlength=n_groups)
    starts = np.concatenate([[0], np.cumsum(counts)])
    keep = np.arange(len(where)) - starts[groups] < limit
    chosen = shown_ids(pc.take(ids, pa.array(where[keep], pa.int64())))
    chosen_groups = groups[keep]
    bounds = np.searchsorted(chosen_groups, np.arange(n_groups + 1)).tolist()
    counts_ = counts.tolist()
    return [(Ids(chosen.slice(bounds[g], bounds[g + 1] - bounds[g])), counts_[g])
            for g in range(n_groups)]
