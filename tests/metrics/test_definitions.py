"""Metric definitions beyond what a case file can say: the plain ``csv`` source (which reads an
optional column only when its header has it), and options checked by each metric's schema."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

from slaengine import hookimpl
from slaengine.contract import load_contract
from slaengine.engine import evaluate
from slaengine.errors import ContractError, DataError
from slaengine.plugin import Input, PeriodFigures, PeriodMetric, count_by
from slaengine.plugins.metrics._period import per_period
from slaengine.testing import case_registry, evaluate_case

HEAD = """[contract]
id = "c"
client = "Client"
vendor = "Vendor"
period = "month"
timezone = "UTC"
"""


def write(folder: Path, sources: dict[str, tuple[str, str]], level: str) -> Path:
    """A contract over plain ``csv`` sources (name -> (kind, CSV text)) with one service level."""
    text = HEAD
    for name, (kind, rows) in sources.items():
        (folder / f"{name}.csv").write_text(rows, encoding="utf-8")
        text += f'[sources.{name}]\nadapter = "csv"\nkind = "{kind}"\npath = "{name}.csv"\n'
    path = folder / "contract.toml"
    path.write_text(text + '[[service_levels]]\nid = "x"\n' + level, encoding="utf-8")
    return path


TICKETS = """ticket_id,created_at,resolved_at,contacts{extra}
T1,2026-01-05T09:00:00Z,2026-01-05T10:00:00Z,1{r1}
T2,2026-01-06T09:00:00Z,2026-01-06T10:00:00Z,1{r2}
T3,2026-01-07T09:00:00Z,,1{r3}
T4,2026-01-08T09:00:00Z,2026-01-08T10:00:00Z,2{r4}
"""


@pytest.mark.parametrize(("reopens", "value"), [
    # T2 was reopened: T1 alone of 4 cases -> 1 / 4 (T3 unresolved, T4 two contacts).
    ((",reopens", ",0", ",1", ",", ",0"), 0.25),
    # No reopens column: contacts decide -> T1, T2 of 4 = 2 / 4.
    (("", "", "", "", ""), 0.5),
])
def test_fcr_reads_reopens_when_the_csv_has_them(tmp_path, reopens, value):
    extra, r1, r2, r3, r4 = reopens
    rows = TICKETS.format(extra=extra, r1=r1, r2=r2, r3=r3, r4=r4)
    path = write(tmp_path, {"tickets": ("tickets", rows)},
                 'metric = "first_contact_resolution"\ntarget = ">= 50%"\n')
    verdict = evaluate(load_contract(path)).verdict("x", "2026-01")
    assert (verdict.value, verdict.sample_size) == (value, 4)


@pytest.mark.parametrize(("metric", "option", "accepted"), [
    ("first_contact_resolution", 'of = "closed"', "resolved"),
    ("resolution_rate", 'basis = "resolved"', "throughput"),
    ("cost_per_contact", 'per = "answered"', "offered"),
    ("service_level", 'short_abandon = "soon"', "duration"),
    ("first_contact_resolution", 'off = "resolved"', "of"),
])
def test_a_bad_option_names_the_key_and_what_is_accepted(tmp_path, metric, option, accepted):
    calls = "call_id,started_at,answered_at,ended_at\nC1,2026-01-05T09:00:00Z,,\n"
    costs = "cost_id,incurred_at,amount\nK1,2026-01-05T09:00:00Z,1.00\n"
    source = "calls" if metric in ("service_level", "cost_per_contact") else "tickets"
    sources = {source: (source, calls if source == "calls" else TICKETS.format(
        extra="", r1="", r2="", r3="", r4="")), "costs": ("costs", costs)}
    target = {"service_level": "80% within 20s", "cost_per_contact": "<= 6.50"}.get(metric,
                                                                              ">= 50%")
    path = write(tmp_path, sources, f'source = "{source}"\nmetric = "{metric}"\n'
                 f'target = "{target}"\noptions = {{ {option} }}\n')
    with pytest.raises(ContractError) as info:
        load_contract(path)
    text = info.value.render()
    assert "options" in text and option.split(" ")[0] in text
    assert accepted in text


def test_short_abandon_without_ended_at_is_a_clear_error(tmp_path):
    # Short abandons are timed from started_at to ended_at: without ended_at the option cannot
    # be honoured, and ignoring it would count every quick hang-up as a miss.
    calls = "call_id,started_at,answered_at\nC1,2026-01-05T09:00:00Z,\n"
    path = write(tmp_path, {"calls": ("calls", calls)},
                 'metric = "service_level"\ntarget = "80% within 20s"\n'
                 'options = { short_abandon = "5s" }\n')
    with pytest.raises(DataError, match="short_abandon needs the calls' ended_at"):
        evaluate(load_contract(path))


def test_contacts_handled_by_agent_counts_a_handled_contact_without_agent(tmp_path):
    # C1 answered by ana; C2 answered, agent unknown; C3 abandoned (no agent, not handled).
    # Segments: ana 1 and the unknown agent 1; the abandoned call is excluded and forms none.
    calls = ("call_id,started_at,answered_at,agent\n"
             "C1,2026-01-05T09:00:00Z,2026-01-05T09:00:10Z,ana\n"
             "C2,2026-01-05T10:00:00Z,2026-01-05T10:00:10Z,\n"
             "C3,2026-01-05T11:00:00Z,,\n")
    path = write(tmp_path, {"calls": ("calls", calls)},
                 'metric = "contacts_handled"\nby = ["agent"]\ntarget = "count >= 1"\n')
    verdicts = evaluate(load_contract(path)).verdicts
    assert sorted(((v.segment["agent"] or ""), v.value, v.sample_size, v.excluded)
                  for v in verdicts) == [("", 1.0, 1, 1), ("ana", 1.0, 1, 1)]


def test_retention_gives_the_articles_quarters(tmp_path):
    # Reference article 001's table: 1000 customers at the start of Q1, then 950, 900, 850
    # retained, 825 at the end of Q4; nobody new all year (each quarter only has churn).
    # Q1 950 / 1000 = 95%; Q2 900 / 950 = 94.74%; Q3 850 / 900 = 94.44%; Q4 825 / 850 = 97.06%.
    ends = ["2025-02-15"] * 50 + ["2025-05-15"] * 50 + ["2025-08-15"] * 50 + ["2025-11-15"] * 25
    ends += [""] * (1000 - len(ends))
    rows = "customer_id,started_at,ended_at\n" + "".join(
        f"K{i},2024-12-01T00:00:00Z,{end and end + 'T00:00:00Z'}\n" for i, end in enumerate(ends))
    path = write(tmp_path, {"customers": ("customers", rows)},
                 'metric = "retention_rate"\ntarget = ">= 95%"\n')
    text = path.read_text().replace('period = "month"', 'period = "quarter"')
    path.write_text(text)
    evaluation = evaluate(load_contract(path))
    found = {v.period: (v.value, v.sample_size) for v in evaluation.verdicts}
    assert found == {"2024-Q4": (None, 0), "2025-Q1": (0.95, 1000),
                     "2025-Q2": (900 / 950, 950), "2025-Q3": (850 / 900, 900),
                     "2025-Q4": (825 / 850, 850)}
    assert [round(found[f"2025-Q{q}"][0] * 100, 1) for q in (1, 2, 3, 4)] == [
        95.0, 94.7, 94.4, 97.1]


class _Ended(PeriodMetric):
    """Customers whose ``ended_at`` falls in the period: a streamed metric with ``spans``."""

    name = "ended_test"
    unit = "count"
    better = "lower"
    inputs: ClassVar[dict[str, Input]] = {
        "customers": Input(("customers",), ("started_at", "ended_at"))}
    spans = ("started_at", "ended_at")
    summary_keys = ("ended",)

    def summarise(self, role, records, context):
        return count_by({"ended": context.period_keys(records["ended_at"])})

    def figures(self, summaries, grid, context):
        summary = summaries["customers"]
        ended = per_period(summary["ended"].to_numpy(), summary["n"].to_numpy(), grid)
        return PeriodFigures(value=[float(n) for n in ended],
                             sample_size=np.ones(len(grid), dtype=np.int64))


class _EndedPlugin:
    @hookimpl
    def register_metrics(self):
        return [_Ended()]


@pytest.mark.parametrize("batch_rows", [1, 100])
def test_spans_stretch_streamed_periods_too(tmp_path, monkeypatch, batch_rows):
    # K1 Jan..Feb, K2 Apr..May: periods Jan..May without a gap; March (nothing started or
    # ended, and in no batch's span when each batch holds one customer) included with 0.
    from slaengine.plugins.sources.csv import CsvSource

    monkeypatch.setattr(CsvSource, "batch_rows", batch_rows)
    case = {"sources": {"customers": {"rows": [
        {"customer_id": "K1", "started_at": "2026-01-05T00:00:00Z",
         "ended_at": "2026-02-10T00:00:00Z"},
        {"customer_id": "K2", "started_at": "2026-04-05T00:00:00Z",
         "ended_at": "2026-05-10T00:00:00Z"}]}},
            "service_level": {"metric": "ended_test", "target": "<= 1"}}
    evaluation = evaluate_case(case, tmp_path, case_registry([_EndedPlugin()]))
    assert [(v.period, v.value) for v in evaluation.verdicts] == [
        ("2026-01", 0.0), ("2026-02", 1.0), ("2026-03", 0.0), ("2026-04", 0.0),
        ("2026-05", 1.0)]
