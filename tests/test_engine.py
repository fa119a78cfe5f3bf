"""End to end on tests/data/small.toml: every expected number worked out by hand below.

The fixture (tests/data/small-tickets.csv), times in New York (EST -05:00 until March 8th,
EDT -04:00 after):

    id   created (local)    1st reply  resolved  prio    contacts csat
    T1   Mar 02 09:00       +30min     +2h       urgent  1        5
    T2   Mar 02 10:00       +50min     +5h       urgent  1        4
    T3   Mar 03 11:00       +2h        +30h      urgent  2        2
    T4   Mar 04 12:00       —          —         urgent  —        —
    T5   Mar 05 09:00       +3h        +10h      normal  1        3
    T6   Mar 31 23:30 EDT   +20min     +1h       normal  1        5   (Apr 1st UTC: still March)
    T7   Apr 01 09:00       +10min     +1h       urgent  1        5
    T8   Apr 02 09:00       +40min     +3h       urgent  1        4
    T9   Apr 03 09:00 naive +5h        +8h       normal  3        4   (no offset: read in New York)
    T10  "yesterday"                                                  rejected: created_at
    ""   Apr 03                                                       rejected: ticket_id missing
    T12  Apr 03 ...                                         csat 9    rejected: outside 1-5
"""

from pathlib import Path

import pytest

from slaengine.contract import load_contract
from slaengine.engine import evaluate
from slaengine.errors import SlaError

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def evaluation():
    return evaluate(load_contract(DATA / "small.toml"))


def test_rows_reconcile(evaluation):
    # 12 data rows = 9 accepted + 3 rejected (T10, the row without id, T12).
    tickets = evaluation.sources["tickets"]
    assert (tickets.read, tickets.accepted, tickets.rejected) == (12, 9, 3)
    assert evaluation.rejected.num_rows == 3
    assert sorted(evaluation.rejected["field"].to_pylist()) == ["created_at", "csat", "ticket_id"]
    # Line numbers: header is line 1, T10 is the 10th data row -> line 11.
    rows = dict(zip(evaluation.rejected["field"].to_pylist(),
                    evaluation.rejected["row"].to_pylist(), strict=True))
    assert rows == {"created_at": 11, "ticket_id": 12, "csat": 13}


def test_attainment_counts_unanswered_as_miss(evaluation):
    # March urgent: T1 30min ok, T2 50min ok, T3 2h miss, T4 never answered = miss.
    # 2 of 4 = 50%: below the target 75%, but not below the minimum 50% -> breached.
    v = evaluation.verdict("urgent-first-response", "2026-03")
    assert v.value == 0.5
    assert v.status == "breached"
    assert v.sample_size == 4
    assert v.unmeasured == 1
    assert v.compliance == pytest.approx(0.5 / 0.75)
    assert v.margin == pytest.approx(-0.25)
    assert v.missed == ("T3", "T4")
    # where = urgent left out T5 and T6 in March.
    assert v.excluded == 2


def test_attainment_met_in_april(evaluation):
    # April urgent: T7 10min, T8 40min -> 2 of 2; T9 (normal) left out.
    v = evaluation.verdict("urgent-first-response", "2026-04")
    assert (v.value, v.status, v.sample_size, v.excluded, v.missed) == (1.0, "met", 2, 1, ())
    assert v.compliance == 1.0


def test_median_by_priority_nearest_rank(evaluation):
    # March urgent measured: [30min, 50min, 2h] (T4 has no reply, left out of a median);
    # nearest rank k = ceil(0.5 * 3) = 2 -> 50min <= 1h: met.
    v = evaluation.verdict("median-first-response", "2026-03", priority="urgent")
    assert (v.value, v.status, v.sample_size, v.unmeasured) == (3000.0, "met", 3, 1)
    assert v.margin == 600.0
    # March normal: T6 answered in 20min counts in March although it is April in UTC.
    # [20min, 3h], k = ceil(0.5 * 2) = 1 -> 20min: met.
    v = evaluation.verdict("median-first-response", "2026-03", priority="normal")
    assert (v.value, v.status, v.sample_size) == (1200.0, "met", 2)
    # April normal: only T9, read in New York time: 09:00 -> 14:00 = 5h > 1h.
    v = evaluation.verdict("median-first-response", "2026-04", priority="normal")
    assert (v.value, v.status) == (5 * 3600.0, "breached")
    assert v.missed == ("T9",)


def test_fcr_boundary_is_met_exactly(evaluation):
    # March resolved: T1 1, T2 1, T3 2, T5 1, T6 1 contacts -> 4 of 5 = 80% >= 80%: met.
    # T4 is unresolved: no value.
    v = evaluation.verdict("fcr", "2026-03")
    assert (v.value, v.status, v.sample_size, v.unmeasured) == (0.8, "met", 5, 1)
    # April: T7 1, T8 1, T9 3 -> 2 of 3; compliance (2/3) / 0.8 = 0.8333.
    v = evaluation.verdict("fcr", "2026-04")
    assert v.status == "breached"
    assert v.compliance == pytest.approx((2 / 3) / 0.8)
    assert v.missed == ("T9",)


def test_csat_mean(evaluation):
    # March: 5, 4, 2, 3, 5 -> 19 / 5 = 3.8 < 4: breached, compliance 0.95, margin -0.2.
    v = evaluation.verdict("csat", "2026-03")
    assert v.value == pytest.approx(3.8)
    assert v.status == "breached"
    assert v.compliance == pytest.approx(0.95)
    assert v.margin == pytest.approx(-0.2)
    # April: 5, 4, 4 -> 13 / 3 = 4.33: met.
    assert evaluation.verdict("csat", "2026-04").status == "met"


def test_every_period_and_segment_has_a_verdict(evaluation):
    # 2 periods x (1 + 2 segments + 1 + 1) service-level rows = 10 verdicts.
    assert len(evaluation.verdicts) == 10
    assert evaluation.periods == ["2026-03", "2026-04"]


def test_level_accounting_reconciles(evaluation):
    level = evaluation.levels["urgent-first-response"]
    # 9 accepted = 6 urgent included + 3 normal left out by where.
    assert (level.accepted, level.included, level.excluded) == (9, 6, 3)


def test_manifest_hashes_contract_and_input(evaluation):
    import hashlib

    manifest = evaluation.manifest
    contract_bytes = (DATA / "small.toml").read_bytes()
    assert manifest["contract"]["sha256"] == hashlib.sha256(contract_bytes).hexdigest()
    data_bytes = (DATA / "small-tickets.csv").read_bytes()
    assert manifest["inputs"]["tickets"]["sha256"] == hashlib.sha256(data_bytes).hexdigest()
    assert "metric:csat" in manifest["plugins"]
    assert manifest["plugins"]["source:csv"]["distribution"] == "slaengine"


def test_business_hours_calendar_counts_only_support_time(tmp_path):
    # Support hours Mon-Fri 09:00-17:00 New York; March 3rd is a holiday.
    # March urgent replies: T1 Mon 09:00 -> 09:30 = 30 min; T2 Mon 10:00 -> 10:50 = 50 min;
    # T3 opened on the holiday Tue 11:00, answered 13:00 = 0 business minutes; T4 none.
    # Sorted [0, 30, 50] min: median rank ceil(0.5 * 3) = 2 -> 30 min (24x7 said 50 min).
    # March normal: T5 Thu 09:00 -> 12:00 = 3h; T6 Tue 23:30 -> 23:50 = 0 (outside hours):
    # [0, 3h] -> rank 1 -> 0 s. April normal: T9 Fri 09:00 -> 14:00 = 5h, still a miss.
    text = (DATA / "small.toml").read_text().replace(
        'by = ["priority"]\ntarget = "median <= 1h"',
        'by = ["priority"]\ntarget = "median <= 1h"\ncalendar = "support"',
    ) + ('\n[calendars.support]\ntimezone = "America/New_York"\n'
         'hours = { mon-fri = "09:00-17:00" }\nholidays = [2026-03-03]\n')
    (tmp_path / "c.toml").write_text(text)
    (tmp_path / "small-tickets.csv").write_bytes((DATA / "small-tickets.csv").read_bytes())
    evaluation = evaluate(load_contract(tmp_path / "c.toml"))
    urgent = evaluation.verdict("median-first-response", "2026-03", priority="urgent")
    assert (urgent.value, urgent.sample_size, urgent.unmeasured) == (1800.0, 3, 1)
    normal = evaluation.verdict("median-first-response", "2026-03", priority="normal")
    assert normal.value == 0.0
    april = evaluation.verdict("median-first-response", "2026-04", priority="normal")
    assert (april.value, april.status) == (5 * 3600.0, "breached")
    # The other service levels keep counting round the clock.
    assert evaluation.verdict("urgent-first-response", "2026-03").value == 0.5


def test_on_hold_time_pauses_the_clock(tmp_path):
    # Resolution of T1..T3 with on-hold seconds 3600, none, 7200 subtracted:
    # T1 2h - 1h = 1h; T2 5h - 0 = 5h; T3 30h - 2h = 28h. Paused in total 3h = 10800 s.
    rows = ["id,created,resolved,hold",
            "T1,2026-03-02T09:00:00Z,2026-03-02T11:00:00Z,3600",
            "T2,2026-03-02T10:00:00Z,2026-03-02T15:00:00Z,",
            "T3,2026-03-03T11:00:00Z,2026-03-04T17:00:00Z,7200"]
    (tmp_path / "t.csv").write_text("\n".join(rows) + "\n")
    (tmp_path / "c.toml").write_text(
        '[contract]\nid = "p"\nclient = "C"\nvendor = "V"\n'
        '[sources.t]\nadapter = "csv"\npath = "t.csv"\n'
        'fields = { ticket_id = "id", created_at = "created", resolved_at = "resolved", '
        'on_hold_seconds = "hold" }\n'
        '[[service_levels]]\nid = "res"\nmetric = "resolution_time"\ntarget = "max <= 30h"\n'
        'pause = ["on_hold"]\n')
    v = evaluate(load_contract(tmp_path / "c.toml")).verdict("res", "2026-03")
    assert (v.value, v.paused, v.status) == (28 * 3600.0, 10800.0, "met")


def test_batch_size_does_not_change_any_verdict(monkeypatch):
    # The engine folds batches into counters as they arrive; three-row batches must give
    # exactly what one batch gives (the fixture's 12 rows make four batches).
    from slaengine.plugins.sources.csv import CsvSource

    whole = evaluate(load_contract(DATA / "small.toml"))
    monkeypatch.setattr(CsvSource, "batch_rows", 3)
    batched = evaluate(load_contract(DATA / "small.toml"))
    assert batched.verdicts == whole.verdicts
    assert batched.levels == whole.levels
    assert batched.sources["tickets"].read == 12


def test_missed_ids_are_capped_but_counted_in_full(monkeypatch):
    # March urgent missed T3 and T4; with room for one id per verdict, T3 (the first in file
    # order) is kept and the count still says 2 — across two-row batches as well.
    from slaengine.engine.record import RecordLevel
    from slaengine.plugins.sources.csv import CsvSource

    monkeypatch.setattr(RecordLevel, "missed_limit", 1)
    monkeypatch.setattr(CsvSource, "batch_rows", 2)
    verdict = evaluate(load_contract(DATA / "small.toml")).verdict(
        "urgent-first-response", "2026-03")
    assert (verdict.missed, verdict.missed_count) == (("T3",), 2)


def test_segments_left_out_by_where_do_not_appear(tmp_path):
    # by = ["priority"] with where = urgent: only the urgent segment exists, in both months;
    # the normal tickets of the same batches must not produce empty "normal" verdicts.
    text = (DATA / "small.toml").read_text().replace(
        'where = { priority = ["urgent"] }',
        'where = { priority = ["urgent"] }\nby = ["priority"]')
    (tmp_path / "c.toml").write_text(text)
    (tmp_path / "small-tickets.csv").write_bytes((DATA / "small-tickets.csv").read_bytes())
    evaluation = evaluate(load_contract(tmp_path / "c.toml"))
    segments = [v.segment for v in evaluation.verdicts
                if v.service_level == "urgent-first-response"]
    assert segments == [{"priority": "urgent"}, {"priority": "urgent"}]


def test_records_excluded_by_agreement_are_left_out_and_counted(tmp_path):
    # A client-caused outage on March 2nd, 09:00-10:30 New York time, for the urgent first
    # response only: T1 (09:00) and T2 (10:00) are excluded. March urgent then has T3 (2h,
    # miss) and T4 (never answered, miss): 0 of 2. The where-excluded T5, T6 still count as
    # excluded, so the period's excluded = 2 (where) + 2 (agreed) = 4.
    text = (DATA / "small.toml").read_text() + (
        '\n[[exclusions]]\nreason = "client network change CHG-1881"\n'
        "from = 2026-03-02T09:00:00\nto = 2026-03-02T10:30:00\n"
        'service_levels = ["urgent-first-response"]\n')
    (tmp_path / "c.toml").write_text(text)
    (tmp_path / "small-tickets.csv").write_bytes((DATA / "small-tickets.csv").read_bytes())
    evaluation = evaluate(load_contract(tmp_path / "c.toml"))
    v = evaluation.verdict("urgent-first-response", "2026-03")
    assert (v.value, v.sample_size, v.excluded, v.missed) == (0.0, 2, 4, ("T3", "T4"))
    level = evaluation.levels["urgent-first-response"]
    assert level.agreed == {"client network change CHG-1881": 2}
    # 9 accepted = 4 included (T3, T4, T7, T8) + 5 excluded (3 by where + 2 by agreement).
    assert (level.accepted, level.included, level.excluded) == (9, 4, 5)
    # Other service levels are untouched: FCR March still counts T1 and T2.
    assert evaluation.verdict("fcr", "2026-03").sample_size == 5


def test_an_exclusion_naming_an_unknown_service_level_is_an_error(tmp_path):
    text = (DATA / "small.toml").read_text() + (
        '\n[[exclusions]]\nreason = "x"\nfrom = 2026-03-02\nto = 2026-03-03\n'
        'service_levels = ["fcrr"]\n')
    (tmp_path / "c.toml").write_text(text)
    (tmp_path / "small-tickets.csv").write_bytes((DATA / "small-tickets.csv").read_bytes())
    with pytest.raises(SlaError) as info:
        load_contract(tmp_path / "c.toml")
    assert 'exclusions[0].service_levels: no service level called "fcrr"' in info.value.render()
    assert 'did you mean "fcr"?' in info.value.render()


def test_surveys_linked_to_tickets_take_their_priority(tmp_path):
    # Surveys carry no priority; link = "tickets" finds each survey's ticket by ticket_id.
    # March: S1 on T1 (urgent) 5, S2 on T3 (urgent) 2 -> urgent mean 3.5; S3 on T5 (normal) 4;
    # S4 names a ticket that does not exist: its priority is missing, a segment of its own.
    (tmp_path / "small-tickets.csv").write_bytes((DATA / "small-tickets.csv").read_bytes())
    (tmp_path / "surveys.csv").write_text(
        "survey_id,responded_at,ticket_id,csat\n"
        "S1,2026-03-03T10:00:00Z,T1,5\nS2,2026-03-04T10:00:00Z,T3,2\n"
        "S3,2026-03-06T10:00:00Z,T5,4\nS4,2026-03-07T10:00:00Z,T99,3\n")
    contract = (DATA / "small.toml").read_text().split("[[service_levels]]")[0] + (
        '[sources.surveys]\nadapter = "csv"\nkind = "surveys"\npath = "surveys.csv"\n'
        'link = "tickets"\n\n'
        '[[service_levels]]\nid = "csat-by-priority"\nsource = "surveys"\nmetric = "csat"\n'
        'by = ["priority"]\ntarget = "mean >= 4"\n')
    (tmp_path / "c.toml").write_text(contract)
    evaluation = evaluate(load_contract(tmp_path / "c.toml"))
    values = {v.segment["priority"]: v.value for v in evaluation.verdicts}
    assert values == {"urgent": 3.5, "normal": 4.0, None: 3.0}
    notes = evaluation.sources["surveys"].notes
    assert notes == {"records without a matching tickets record": 1}


def test_a_link_without_a_shared_id_is_an_error(tmp_path):
    # Calls reach tickets by ticket_id, but tickets have no call_id to reach calls by.
    contract = (DATA / "small.toml").read_text().replace(
        '[sources.tickets]', '[sources.calls]\nadapter = "csv"\nkind = "calls"\n'
        'path = "calls.csv"\n\n[sources.tickets]\nlink = "calls"')
    contract = contract.replace('metric = "', 'source = "tickets"\nmetric = "')
    (tmp_path / "c.toml").write_text(contract)
    with pytest.raises(SlaError) as info:
        load_contract(tmp_path / "c.toml")
    assert "sources.tickets.link: tickets records have no call_id" in info.value.render()


def test_levels_sharing_a_measure_give_what_they_give_alone(tmp_path):
    # mean and median of the same first response by priority share one measure per batch;
    # each must equal its verdicts when evaluated in a contract of its own.
    (tmp_path / "small-tickets.csv").write_bytes((DATA / "small-tickets.csv").read_bytes())
    head = (DATA / "small.toml").read_text().split("[[service_levels]]")[0]
    level = ('[[service_levels]]\nid = "{id}"\nmetric = "first_response_time"\n'
             'by = ["priority"]\ntarget = "{target}"\n')
    mean = level.format(id="mean", target="mean <= 1h")
    median = level.format(id="median", target="median <= 1h")
    results = {}
    for name, body in (("both", mean + median), ("mean", mean), ("median", median)):
        (tmp_path / f"{name}.toml").write_text(head + body)
        results[name] = evaluate(load_contract(tmp_path / f"{name}.toml")).verdicts
    assert results["both"] == results["mean"] + results["median"]
    # March urgent mean: (30 + 50 + 120) / 3 min = 66.7 min; median 50 min.
    march = {(v.service_level, v.segment["priority"]): v.value for v in results["both"]
             if v.period == "2026-03"}
    assert march[("mean", "urgent")] == pytest.approx(4000.0)
    assert march[("median", "urgent")] == 3000.0


def test_period_by_resolution_counts_tickets_in_the_month_they_were_resolved(tmp_path):
    # Resolution time by the month of resolution (New York): T6 was created on March 31st
    # 23:30 but resolved April 1st 00:30, so it moves to April; T4 was never resolved and
    # belongs to no period. March: T1 2h, T2 5h, T3 30h, T5 10h -> max 30h, 4 tickets.
    # April: T6 1h, T7 1h, T8 3h, T9 8h -> 4 tickets.
    text = (DATA / "small.toml").read_text().split("[[service_levels]]")[0] + (
        '[[service_levels]]\nid = "resolved"\nmetric = "resolution_time"\n'
        'period_by = "resolved_at"\ntarget = "max <= 30h"\n')
    (tmp_path / "c.toml").write_text(text)
    (tmp_path / "small-tickets.csv").write_bytes((DATA / "small-tickets.csv").read_bytes())
    evaluation = evaluate(load_contract(tmp_path / "c.toml"))
    march, april = (evaluation.verdict("resolved", p) for p in ("2026-03", "2026-04"))
    assert (march.value, march.sample_size) == (30 * 3600.0, 4)
    assert (april.value, april.sample_size) == (8 * 3600.0, 4)
    level = evaluation.levels["resolved"]
    # Only id, created_at and resolved_at are read here, so T12 (whose CSAT of 9 rejects it
    # elsewhere) is accepted: 10 accepted = 8 included + 2 never resolved (T4, T12).
    assert (level.accepted, level.included, level.without_period) == (10, 8, 2)


def test_period_by_must_name_a_time_field(tmp_path):
    text = (DATA / "small.toml").read_text().replace(
        'target = "mean >= 4"', 'target = "mean >= 4"\nperiod_by = "resolved"')
    (tmp_path / "c.toml").write_text(text)
    with pytest.raises(SlaError) as info:
        load_contract(tmp_path / "c.toml")
    assert 'service_levels[3].period_by: "resolved" is not a time field of tickets' in (
        info.value.render())
    assert 'did you mean "resolved_at"?' in info.value.render()


@pytest.mark.parametrize("agents", [30, 4, 1])
@pytest.mark.parametrize("batch_rows", [7, 64, 1000])
def test_missed_ids_are_the_first_of_each_group_however_many_groups_a_batch_holds(
        tmp_path, monkeypatch, batch_rows, agents):
    # 600 tickets over two months, 30 agents (more groups per batch than the engine walks one
    # by one), 4 (fewer: each group's run of the batch is read) or 1 (the batch is in group
    # order already), every third ticket answered late. With room for 2 ids per verdict, each
    # verdict keeps the first two late tickets of its (month, agent) in file order, and counts
    # them all.
    from slaengine.engine.record import RecordLevel
    from slaengine.plugins.sources.csv import CsvSource

    monkeypatch.setattr(RecordLevel, "missed_limit", 2)
    monkeypatch.setattr(CsvSource, "batch_rows", batch_rows)
    rows = ["id,created,reply,agent"]
    late: dict[tuple[str, str], list[str]] = {}
    for i in range(600):
        month = "03" if i < 300 else "04"
        agent = f"a{(i * 7) % agents:02d}"
        minutes = 90 if i % 3 == 0 else 10
        rows.append(f"T{i},2026-{month}-10 09:00,2026-{month}-10 "
                    f"{9 + minutes // 60:02d}:{minutes % 60:02d},{agent}")
        if minutes > 60:
            late.setdefault((f"2026-{month}", agent), []).append(f"T{i}")
    (tmp_path / "t.csv").write_text("\n".join(rows) + "\n")
    (tmp_path / "c.toml").write_text(
        '[contract]\nid = "c"\nclient = "C"\nvendor = "V"\nmonthly_fee = "1.00"\n'
        'period = "month"\ntimezone = "UTC"\n'
        '[sources.tickets]\nadapter = "csv"\npath = "t.csv"\n'
        'fields = { ticket_id = "id", created_at = "created", first_response_at = "reply", '
        'agent = "agent" }\n'
        '[[service_levels]]\nid = "frt"\nmetric = "first_response_time"\nby = ["agent"]\n'
        'target = "90% within 1h"\n')
    verdicts = evaluate(load_contract(tmp_path / "c.toml")).verdicts
    assert len(verdicts) == 2 * agents
    for v in verdicts:
        expected = late.get((v.period, v.segment["agent"]), [])
        assert (v.missed, v.missed_count) == (tuple(expected[:2]), len(expected))


@pytest.mark.parametrize("batch_rows", [5, 64, 1000])
def test_missed_ids_skip_groups_whose_records_where_leaves_out(tmp_path, monkeypatch,
                                                               batch_rows):
    # Four agents, where = email only: a01 answers only by phone, so its group is in every
    # batch but none of its records is kept; a02 alternates phone and email. Every third
    # ticket is late. With room for 2 ids per verdict, each agent's verdict names its first
    # two late emails in file order and counts them all, and no agent's ids land in another's.
    from slaengine.engine.record import RecordLevel
    from slaengine.plugins.sources.csv import CsvSource

    monkeypatch.setattr(RecordLevel, "missed_limit", 2)
    monkeypatch.setattr(CsvSource, "batch_rows", batch_rows)
    rows = ["id,created,reply,agent,channel"]
    late: dict[str, list[str]] = {}
    for i in range(200):
        agent = f"a{i % 4:02d}"
        email = agent != "a01" and not (agent == "a02" and i % 8 == 2)
        minutes = 90 if i % 3 == 0 else 10
        rows.append(f"T{i},2026-03-10 09:00,2026-03-10 {9 + minutes // 60:02d}:"
                    f"{minutes % 60:02d},{agent},{'email' if email else 'phone'}")
        if email and minutes > 60:
            late.setdefault(agent, []).append(f"T{i}")
    (tmp_path / "t.csv").write_text("\n".join(rows) + "\n")
    (tmp_path / "c.toml").write_text(
        '[contract]\nid = "c"\nclient = "C"\nvendor = "V"\nmonthly_fee = "1.00"\n'
        'period = "month"\ntimezone = "UTC"\n'
        '[sources.tickets]\nadapter = "csv"\npath = "t.csv"\n'
        'fields = { ticket_id = "id", created_at = "created", first_response_at = "reply", '
        'agent = "agent", channel = "channel" }\n'
        '[[service_levels]]\nid = "frt"\nmetric = "first_response_time"\nby = ["agent"]\n'
        'where = { channel = ["email"] }\ntarget = "90% within 1h"\n')
    verdicts = evaluate(load_contract(tmp_path / "c.toml")).verdicts
    assert sorted(v.segment["agent"] for v in verdicts) == ["a00", "a02", "a03"]
    for v in verdicts:
        expected = late[v.segment["agent"]]
        assert (v.missed, v.missed_count) == (tuple(expected[:2]), len(expected))


def test_every_service_level_setting_is_in_the_measure_spec_or_only_judges():
    # A setting that changes what a level measures but is missing from MeasureSpec would let
    # two levels differing in it share one measure: every field must be placed on one side.
    from dataclasses import fields

    from slaengine.contract import NOT_MEASURED, MeasureSpec, ServiceLevel

    settings = {f.name for f in fields(ServiceLevel)}
    spec = {f.name for f in fields(MeasureSpec)} - {"exclusions"}
    assert settings - NOT_MEASURED == spec
    assert not NOT_MEASURED & spec


def test_levels_differing_only_in_an_option_value_type_do_not_share_a_measure():
    from dataclasses import replace

    from slaengine.contract import measure_spec

    contract = load_contract(DATA / "small.toml")
    level = contract.service_levels[0]
    specs = {measure_spec(contract, replace(level, options={"x": value}))
             for value in (1, 1.0, True, "1", [1], {"y": 1})}
    assert len(specs) == 6
    same = replace(level, options={"a": 1, "b": [2, 3]})
    reordered = replace(level, options={"b": [2, 3], "a": 1})
    assert measure_spec(contract, same) == measure_spec(contract, reordered)
    assert measure_spec(contract, level) != measure_spec(
        contract, replace(level, where={"priority": ("normal",)}))
