"""Metric definitions beyond what a case file can say: the plain ``csv`` source (which reads an
optional column only when its header has it), and options checked by each metric's schema."""

from __future__ import annotations

from pathlib import Path

import pytest

from slaengine.contract import load_contract
from slaengine.engine import evaluate
from slaengine.errors import ContractError, DataError

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
