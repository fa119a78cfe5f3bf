"""Period-level metrics give what brute force gives, summarised batch by batch or whole.

300 tickets over four months in New York (the March DST change inside), some never resolved
and some resolved after the data ends, read in batches of 7 rows with a ``where``, a contract
window and an agreed exclusion. Each figure is recomputed here by plain Python over the rows,
period by period, from the metric's written definition.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow.compute as pc
import pytest

from slaengine.contract import load_contract
from slaengine.engine import evaluate

NY = ZoneInfo("America/New_York")
MONTHS = [(2026, 2), (2026, 3), (2026, 4)]  # the window; January is outside it


def month_bounds(year: int, month: int) -> tuple[datetime, datetime]:
    start = datetime(year, month, 1, tzinfo=NY)
    end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=NY)
    return start.astimezone(UTC), end.astimezone(UTC)


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    folder = tmp_path_factory.mktemp("period")
    rng = np.random.default_rng(11)
    first = datetime(2026, 1, 1, tzinfo=UTC)
    rows = []
    for i in range(300):
        created = first + timedelta(seconds=int(rng.integers(0, 118 * 86400)))
        resolved = None
        if rng.random() < 0.8:
            resolved = created + timedelta(seconds=int(rng.integers(60, 40 * 86400)))
        replies = int(rng.integers(0, 4)) if rng.random() < 0.9 else None
        waited = int(rng.integers(0, 20000)) if replies is not None else None
        priority = "urgent" if rng.random() < 0.3 else "normal"
        rows.append((f"T{i}", created, resolved, priority, replies, waited))
    rows.sort(key=lambda r: r[1])

    def text(moment: datetime | None) -> str:
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else ""

    lines = ["id,created,resolved,priority,replies,waited"]
    lines += [f"{i},{text(c)},{text(r)},{p},{'' if n is None else n},{'' if w is None else w}"
              for i, c, r, p, n, w in rows]
    (folder / "t.csv").write_text("\n".join(lines) + "\n")
    levels = ""
    for metric, target, extra in (
            ("backlog", "<= 50", ""),
            ("aged_backlog", "<= 20", 'options = { older_than = "10d" }'),
            ("resolution_rate", ">= 90%", ""),
            ("response_time", "<= 4h", "")):
        levels += (f'[[service_levels]]\nid = "{metric}"\nmetric = "{metric}"\n'
                   f'where = {{ priority = ["normal"] }}\ntarget = "{target}"\n{extra}\n')
    (folder / "c.toml").write_text(
        '[contract]\nid = "p"\nclient = "C"\nvendor = "V"\nmonthly_fee = "1.00"\n'
        'period = "month"\ntimezone = "America/New_York"\n'
        'start = 2026-02-01\nend = 2026-04-30\n'
        '[[exclusions]]\nreason = "outage"\nfrom = 2026-03-10\nto = 2026-03-20\n'
        '[sources.tickets]\nadapter = "csv"\npath = "t.csv"\n'
        'fields = { ticket_id = "id", created_at = "created", resolved_at = "resolved", '
        'priority = "priority", replies = "replies", response_seconds = "waited" }\n'
        + levels)
    outage = (datetime(2026, 3, 10, tzinfo=NY), datetime(2026, 3, 20, tzinfo=NY))
    kept = [r for r in rows if r[3] == "normal" and not outage[0] <= r[1] < outage[1]]
    return folder / "c.toml", kept


def held_whole(monkeypatch) -> None:
    """Make the four metrics look like ones without summaries: the engine then keeps their
    records whole and calls ``aggregate`` once (the path of metrics that do not stream)."""
    from slaengine.plugin import combine_summaries
    from slaengine.plugins.metrics import aged_backlog, backlog, resolution_rate, response_time

    for cls in (backlog.Backlog, aged_backlog.AgedBacklog, resolution_rate.ResolutionRate,
                response_time.ResponseTime):
        keys = cls.summary_keys

        def aggregate(self, inputs, grid, context, keys=keys):
            return self.figures({role: combine_summaries([self.summarise(role, t, context)],
                                                         keys)
                                 for role, t in inputs.items()}, grid, context)

        monkeypatch.setattr(cls, "summary_keys", ())
        monkeypatch.setattr(cls, "aggregate", aggregate)


@pytest.mark.parametrize(("batch_rows", "whole"), [(7, False), (100_000, False), (7, True)])
def test_figures_equal_brute_force(case, monkeypatch, batch_rows, whole):
    from slaengine.plugins.sources.csv import CsvSource

    monkeypatch.setattr(CsvSource, "batch_rows", batch_rows)
    if whole:
        held_whole(monkeypatch)
    path, normal = case
    evaluation = evaluate(load_contract(path))
    for year, month in MONTHS:
        start, end = month_bounds(year, month)
        label = f"{year}-{month:02d}"
        # backlog: created before the end, not resolved by it (resolved at/after it or never)
        existing = [r for r in normal if r[1] < end]
        still_open = [r for r in existing if r[2] is None or r[2] >= end]
        v = evaluation.verdict("backlog", label)
        assert (v.value, v.sample_size) == (float(len(still_open)), len(existing))
        # aged backlog: also created more than 10 days before the end
        aged = [r for r in still_open if r[1] < end - timedelta(days=10)]
        v = evaluation.verdict("aged_backlog", label)
        assert (v.value, v.sample_size) == (float(len(aged)), len(existing))
        # resolution rate: of the tickets created in the month, those resolved (at any time)
        received = [r for r in normal if start <= r[1] < end]
        resolved = [r for r in received if r[2] is not None]
        v = evaluation.verdict("resolution_rate", label)
        assert v.sample_size == len(received)
        assert v.value == pytest.approx(len(resolved) / len(received))
        # response time: waiting time / replies over the month's tickets with both
        answered = [r for r in received if r[4] is not None and r[5] is not None]
        replies = sum(r[4] for r in answered)
        v = evaluation.verdict("response_time", label)
        assert v.sample_size == replies
        assert v.value == pytest.approx(sum(r[5] for r in answered) / replies)
    # January is outside the window: no verdict, its tickets counted apart
    assert {v.period for v in evaluation.verdicts} == {f"{y}-{m:02d}" for y, m in MONTHS}
    account = evaluation.levels["backlog"]
    january = sum(1 for r in normal if r[1] < month_bounds(2026, 2)[0])
    assert account.outside_window >= january
    assert account.accepted == 300
    assert sum(account.agreed.values()) > 0  # the outage's tickets, counted with their reason


@pytest.mark.parametrize("outage", [("2026-01-01", "2026-01-31"), ("2026-03-10", "2026-03-20")])
def test_streamed_held_and_evidence_narrow_the_same_records(case, monkeypatch, tmp_path, outage):
    # One narrowing for every path: summarised batch by batch, held whole, and the records
    # shown behind a failed figure. With the outage in January (before the window) its
    # tickets are not excluded (an exclusion only removes records that would count), so a
    # February backlog still holds those of them still open (6 of its 28 in this data), and
    # so does its evidence: it once left them out and showed 22 records behind a 28.
    from slaengine.plugins.sources.csv import CsvSource

    path, _ = case
    text = path.read_text().replace("from = 2026-03-10\nto = 2026-03-20",
                                    f"from = {outage[0]}\nto = {outage[1]}")
    text = text.replace('target = "<= 50"', 'target = "<= 0"')  # every backlog month fails
    (tmp_path / "t.csv").write_text((path.parent / "t.csv").read_text())
    (tmp_path / "c.toml").write_text(text)
    monkeypatch.setattr(CsvSource, "batch_rows", 7)
    streamed = evaluate(load_contract(tmp_path / "c.toml"), evidence=True)
    with monkeypatch.context() as patched:
        held_whole(patched)
        held = evaluate(load_contract(tmp_path / "c.toml"), evidence=True)
    assert held.verdicts == streamed.verdicts
    assert held.levels == streamed.levels
    for evaluation in (streamed, held):
        behind = evaluation.evidence["backlog"]
        for v in evaluation.verdicts:
            if v.service_level != "backlog":
                continue
            assert v.status == "breached"
            rows = behind.filter(pc.equal(behind["period"], v.period)).num_rows
            assert rows == v.value  # the records behind a backlog are the open tickets counted
