"""Tamper evidence: every kind of edit made with the sqlite3 module after dropping the
triggers (what the ``sqlite3`` shell can do) is found by ``ledger verify``, which exits 1 naming
the first entry that does not match.

The ledger (see ledger_kit.build_ledger): entry 1 evaluates March and April, entry 2 closes
March, entry 3 restates March.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from ledger_kit import build_ledger, cli, copy_ledger, tamper

from slaengine.ledger import canonical, verify_ledger
from slaengine.ledger.schema import ENTRY_COLUMNS, ROW_TABLES


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_ledger(tmp_path_factory.mktemp("tamper"))


@pytest.fixture
def ledger(built: Path, tmp_path: Path) -> Path:
    copied = copy_ledger(built, tmp_path / "copy.db")
    assert verify_ledger(copied).intact
    return copied


CSAT_MARCH = "entry = 1 AND service_level = 'csat' AND period = '2026-03'"

EDITS = {
    "verdict status": ([f"UPDATE verdicts SET status = 'met' WHERE {CSAT_MARCH}"],
                       "entry 1 ", "verdicts row 8 changed (status)"),
    "verdict value": ([f"UPDATE verdicts SET value = '4.1' WHERE {CSAT_MARCH}"],
                      "entry 1 ", "verdicts row 8 changed (value)"),
    "verdict set to null": (["UPDATE verdicts SET minimum = NULL WHERE entry = 1 AND "
                             "position = 0"], "entry 1 ", "verdicts row 0 changed (minimum)"),
    "credit amount": (["UPDATE credits SET amount = '20.00' WHERE entry = 1 AND position = 1"],
                      "entry 1 ", "credits row 1 changed (amount)"),
    "credit total": (["UPDATE credit_totals SET net = '0.00' WHERE entry = 3"],
                     "entry 3 ", "credit_totals row 0 changed (net)"),
    "restatement reason": (["UPDATE restatements SET reason = 'typo'"],
                           "entry 3 ", "restatements row 0 changed (reason)"),
    "closed period": (["UPDATE closed_periods SET period = '2026-04'"],
                      "entry 2 ", "closed_periods row 0 changed (period)"),
    "entry contract hash": (["UPDATE entries SET contract_sha256 = 'ab' WHERE seq = 1"],
                            "entry 1 ", "entries row changed (contract_sha256)"),
    "entry recorded time": (["UPDATE entries SET recorded_at = '2020-01-01' WHERE seq = 3"],
                            "entry 3 ", "entries row changed (recorded_at)"),
    "entry manifest": (["UPDATE entries SET manifest = replace(manifest, 'small', 'big') "
                        "WHERE seq = 1"], "entry 1 ", "entries row changed (manifest)"),
    "stored content text only": (["UPDATE entries SET content = content || ' ' WHERE seq = 2"],
                                 "entry 2 ", "its stored content text was edited"),
    "entry hash": (["UPDATE entries SET entry_hash = 'ff' || substr(entry_hash, 3) "
                    "WHERE seq = 2"], "entry 2 ", "entry hash is not that of its content"),
    "delete a verdict row": ([f"DELETE FROM verdicts WHERE {CSAT_MARCH}"],
                             "entry 1 ", "verdicts: 10 rows recorded, 9 now"),
    "delete a credit row": (["DELETE FROM credits WHERE entry = 3"],
                            "entry 3 ", "credits: 1 rows recorded, 0 now"),
    "delete an entry": (["DELETE FROM closed_periods WHERE entry = 2",
                         "DELETE FROM entries WHERE seq = 2"],
                        "entry 2 is missing", "the next is entry 3"),
    "delete an entry, renumber the next": (
        ["DELETE FROM closed_periods WHERE entry = 2", "DELETE FROM entries WHERE seq = 2",
         "UPDATE entries SET seq = 2 WHERE seq = 3"], "entry 2 ", "does not match its hash"),
    "delete an entry, leave its rows": (["DELETE FROM entries WHERE seq = 3"],
                                        "holds rows of entry 3", "not in the ledger"),
    "reorder entries by rewriting seq": (
        ["UPDATE entries SET seq = 99 WHERE seq = 1", "UPDATE entries SET seq = 1 WHERE seq = 2",
         "UPDATE entries SET seq = 2 WHERE seq = 99"], "entry 1 ", "entries row changed (seq)"),
    "reorder verdict rows": (
        ["UPDATE verdicts SET position = 99 WHERE entry = 1 AND position = 0",
         "UPDATE verdicts SET position = 0 WHERE entry = 1 AND position = 1",
         "UPDATE verdicts SET position = 1 WHERE entry = 1 AND position = 99"],
        "entry 1 ", "verdicts row 0 changed"),
    "move a verdict to another entry": (
        [f"UPDATE verdicts SET entry = 3, position = 50 WHERE {CSAT_MARCH}"],
        "entry 1 ", "verdicts: 10 rows recorded, 9 now"),
    "insert a verdict row": (
        ["INSERT INTO verdicts SELECT entry, 10, service_level, metric, '2026-05', segment, "
         "statistic, unit, value, target, minimum, status, compliance, margin, sample_size, "
         "unmeasured, excluded, hits, missed_count, missed, paused, note, provisional "
         f"FROM verdicts WHERE {CSAT_MARCH}"], "entry 1 ", "verdicts: 10 rows recorded, 11 now"),
    "insert rows of no entry": (
        ["INSERT INTO credits VALUES (7, 0, 'credit', '2026-03', 'csat', '1.00', 'USD', 'x', "
         "'y', 0)"], "credits holds rows of entry 7", "not in the ledger"),
    "insert a forged entry at the end": (
        ["INSERT INTO entries SELECT 4, kind, recorded_at, contract_id, contract_version, "
         "contract_sha256, options, manifest, reason, content, content_sha256, previous_hash, "
         "'00' || substr(entry_hash, 3), contract_effective_from, contract_client, "
         "contract_vendor FROM entries WHERE seq = 2"],
        "entry 4 ", "does not match its hash"),
}


@pytest.mark.parametrize("kind", sorted(EDITS))
def test_verify_names_the_first_entry_that_does_not_match(ledger: Path, kind: str) -> None:
    statements, entry, why = EDITS[kind]
    tamper(ledger, *statements)
    done = cli("ledger", "verify", ledger)
    assert done.exit_code == 1, done.output
    assert done.output.startswith(f"{ledger}: ")
    assert entry in done.output and why in done.output
    assert "Traceback" not in done.output


def _forge(ledger: Path, seq: int, edit: str) -> None:
    """Edit entry ``seq`` with ``edit``, then recompute its content, content hash and entry
    hash as the verifier would: the entry itself holds, the chain breaks at the next one."""
    tamper(ledger, edit)
    connection = sqlite3.connect(ledger)
    connection.row_factory = sqlite3.Row
    entry = dict(connection.execute("SELECT * FROM entries WHERE seq = ?", (seq,)).fetchone())
    rows = {t.name: [dict(r) for r in connection.execute(
        f"SELECT * FROM {t.name} WHERE entry = ? ORDER BY position", (seq,))]
        for t in ROW_TABLES}
    text = canonical.content({n: entry[n] for n, _ in ENTRY_COLUMNS}, rows)
    digest = canonical.sha256(text)
    connection.execute("UPDATE entries SET content = ?, content_sha256 = ?, entry_hash = ? "
                       "WHERE seq = ?", (text, digest, canonical.chain(entry["previous_hash"],
                                                                       digest), seq))
    connection.commit()
    connection.close()


def test_a_consistently_forged_entry_breaks_the_chain_at_the_next(ledger: Path) -> None:
    _forge(ledger, 1, f"UPDATE verdicts SET status = 'met' WHERE {CSAT_MARCH}")
    done = cli("ledger", "verify", ledger)
    assert done.exit_code == 1
    assert "entry 2 " in done.output and "does not follow entry 1 in the chain" in done.output


def test_entries_removed_from_the_end_show_against_a_kept_head(ledger: Path) -> None:
    head = verify_ledger(ledger).head
    tamper(ledger, *(f"DELETE FROM {t} WHERE entry = 3" for t in
                     ("restatements", "credits", "credit_totals", "verdicts")),
           "DELETE FROM entries WHERE seq = 3")
    assert cli("ledger", "verify", ledger).exit_code == 0  # a shorter chain is whole
    done = cli("ledger", "verify", ledger, "--head", head)
    assert done.exit_code == 1 and f"the head {head} recorded earlier is not in the chain" \
        in done.output


def test_an_untouched_copy_verifies(ledger: Path) -> None:
    """The check is not simply failing: the same copy, untouched, is intact."""
    tamper(ledger)  # triggers dropped, nothing edited
    assert cli("ledger", "verify", ledger).exit_code == 0
