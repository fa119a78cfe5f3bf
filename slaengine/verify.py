"""``slaengine verify result.json``: re-run a recorded evaluation and compare it.

A JSON report carries its manifest: the contract's path and SHA-256, every input's SHA-256, the
versions and the options. Verification checks the hashes first (so it can say *which* input
changed), re-evaluates with the same options, and compares every verdict, credit and row count.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from slaengine.errors import UsageError

COMPARED = ("verdicts", "credits", "credit_totals", "flags", "sources", "service_levels")
"""The parts of a report that must be identical; the manifest's time and paths may differ."""


@dataclass
class VerifyReport:
    identical: bool
    lines: list[str] = field(default_factory=list)


def verify_result(path: Path) -> VerifyReport:
    """Re-run the evaluation recorded in ``path`` and say whether everything is identical."""
    from slaengine.contract import load_contract
    from slaengine.engine import contract_folder, evaluate, source_files
    from slaengine.manifest import input_digest
    from slaengine.pluginmanager import build_registry
    from slaengine.verdicts import evaluation_to_dict

    recorded = _load(path)
    manifest = recorded["manifest"]
    contract_path = Path(manifest["contract"]["path"])
    report = VerifyReport(identical=True)
    if not contract_path.is_file():
        raise UsageError(f"{path}: the recorded contract {contract_path} no longer exists")
    registry = build_registry()
    contract = load_contract(contract_path, registry)
    if contract.sha256 != manifest["contract"]["sha256"]:
        report.lines.append(f"changed: the contract {contract_path} (SHA-256 "
                            f"{manifest['contract']['sha256'][:12]}… is now "
                            f"{contract.sha256[:12]}…)")
    files = source_files(contract, registry)
    for name, entry in sorted(manifest.get("inputs", {}).items()):
        spec = contract.sources.get(name)
        input_path = spec.path if spec is not None else Path(entry["path"])
        found = files.get(name)
        now = (input_digest(found, contract_folder(contract))["sha256"] if found
               else "missing")
        if now != entry["sha256"]:
            report.lines.append(f"changed: input {name} {input_path} (SHA-256 "
                                f"{entry['sha256'][:12]}… is now {now[:12]}…)")
    options = dict(manifest.get("options", {}))
    as_of = options.get("as_of")
    evaluation = evaluate(contract, registry, options=options,
                          as_of=datetime.fromisoformat(as_of) if as_of else None)
    rerun = json.loads(json.dumps(evaluation_to_dict(evaluation), default=str))
    differences = []
    for part in COMPARED:
        differences += _compare(part, recorded.get(part), rerun.get(part))
    if differences:
        report.identical = False
        report.lines += differences[:50]
        if len(differences) > 50:
            report.lines.append(f"... and {len(differences) - 50} more differences")
    if report.identical and report.lines:
        # A changed hash with identical results still fails: the evidence is not the same.
        report.identical = False
        report.lines.append("the verdicts are identical, but the inputs above are not")
    if report.identical:
        verdicts = len(rerun.get("verdicts", []))
        credits = len(rerun.get("credits", []) or [])
        report.lines.append(
            f"identical: {verdicts} verdicts and {credits} credits reproduced from the contract "
            f"and {len(manifest.get('inputs', {}))} input(s) with matching SHA-256")
    return report


def _load(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except (OSError, ValueError) as exc:
        raise UsageError(f"{path}: not a JSON report: {exc}") from None
    if not isinstance(document, dict) or "manifest" not in document:
        raise UsageError(f"{path}: no manifest; verify needs a report written with "
                         "--format json")
    return document


def _compare(part: str, old: Any, new: Any) -> list[str]:
    if old == new:
        return []
    if part == "verdicts" and isinstance(old, list) and isinstance(new, list):
        return _compare_verdicts(old, new)
    return [f"differs: {part}: recorded {_short(old)} but now {_short(new)}"]


def _compare_verdicts(old: list[dict], new: list[dict]) -> list[str]:
    def key(v: dict) -> tuple:
        return (v["service_level"], v["period"], json.dumps(v["segment"], sort_keys=True))

    before = {key(v): v for v in old}
    after = {key(v): v for v in new}
    lines = []
    for k in sorted(before.keys() | after.keys()):
        name = f"{k[0]} {k[1]}" + ("" if k[2] == "{}" else f" {k[2]}")
        if k not in after:
            lines.append(f"differs: verdict {name} is gone")
        elif k not in before:
            lines.append(f"differs: verdict {name} is new")
        else:
            changed = [f"{f} {_short(before[k][f])} → {_short(after[k].get(f))}"
                       for f in before[k] if before[k][f] != after[k].get(f)]
            if changed:
                lines.append(f"differs: verdict {name}: " + ", ".join(changed))
    return lines


def _short(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."
