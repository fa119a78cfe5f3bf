"""``slaengine verify result.json``: re-run a recorded evaluation and compare it.

A JSON report carries its manifest: the contract's path and SHA-256, every input's SHA-256 and
the files behind it, the versions and the options. Verification re-evaluates the contract with
the same options and compares every verdict, credit and count, and every input's files (by
name: a file added, removed, renamed or changed is named).

Where the contract is found: ``manifest.contract.path`` is absolute, or relative to the report's
own folder (the json reporter writes it so when it writes a file, so the folder holding the
contract, its data and the report can move as a whole). A relative path not found there is
tried against the working directory. Nothing else the manifest names is ever opened: the inputs
are the files the contract's sources resolve to now, and a manifest whose source paths are not
the contract's (edited to point at an untouched copy) is refused.

Exit codes through the CLI: 0 identical; 1 something differs (the contract, an input, a verdict,
a credit or a count), or the changed inputs no longer evaluate; 2 the report cannot be used
(not a regular file, too big, not UTF-8, not strict JSON, a manifest key missing or of the
wrong type, source paths that are not the contract's).
"""

from __future__ import annotations

import json
import os
import re
import stat
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from slaengine.errors import SlaError, UsageError

REPORT_LIMIT = 256 * 1024 * 1024
"""The largest report verify reads (bytes); checked before anything is read."""

SHA256 = re.compile(r"[0-9a-f]{64}")
OPTIONS = ("formats", "fail_on", "as_of", "period")
FAIL_ON = (None, "breached", "critical")
SHOWN = 50


@dataclass
class VerifyReport:
    identical: bool
    lines: list[str] = field(default_factory=list)


def verify_result(path: Path) -> VerifyReport:
    """Re-run the evaluation recorded in ``path`` and say whether everything is identical."""
    from slaengine.contract import load_contract
    from slaengine.engine import contract_folder, evaluate
    from slaengine.manifest import input_digest, relative_to
    from slaengine.pluginmanager import build_registry

    path = Path(path)
    recorded = _load(path)
    registry = build_registry()
    manifest = _checked_manifest(path, recorded["manifest"], set(registry.reporters))
    contract_path = find_contract(path, manifest["contract"]["path"])
    contract = load_contract(contract_path, registry)
    folder = contract_folder(contract)
    report = VerifyReport(identical=True)
    contract_changed = contract.sha256 != manifest["contract"]["sha256"]
    if contract_changed:
        report.lines.append(f"changed: the contract {contract_path} (SHA-256 "
                            f"{manifest['contract']['sha256'][:12]}… is now "
                            f"{contract.sha256[:12]}…)")
    inputs = manifest["inputs"]
    paths = {name: relative_to(spec.path, folder) for name, spec in contract.sources.items()}
    mismatched = _source_mismatches(inputs, paths)
    if mismatched and not contract_changed:
        raise UsageError("the manifest's sources are not the contract's (" + "; ".join(mismatched)
                         + "): the report was edited, or belongs to another contract",
                         file=path, where="manifest.inputs")
    report.lines += [f"differs: {line}" for line in mismatched]

    options = dict(manifest["options"])
    as_of = options.get("as_of")
    if options.get("period") is not None:  # evaluate --period: that period only
        from slaengine.ledger.history import narrowed_to

        contract = narrowed_to(contract, options["period"], "manifest.options.period")
    try:
        evaluation = evaluate(contract, registry, options=options,
                              as_of=datetime.fromisoformat(as_of) if as_of else None)
    except SlaError as exc:
        # Inputs changed so that the evaluation no longer runs: say which, then why.
        now = {}
        for name, found in _files_now(contract, registry).items():
            now[name] = input_digest(found, folder) if found else None
        changes = _input_changes(inputs, now, contract)
        if not (changes or contract_changed):
            raise
        report.identical = False
        report.lines += [*changes, f"differs: the evaluation no longer runs: {exc.render()}"]
        return report
    report.lines += _input_changes(inputs, evaluation.manifest["inputs"], contract)
    rerun = _as_reported(evaluation)
    differences = []
    for part in sorted((recorded.keys() | rerun.keys()) - {"manifest"}):
        differences += _compare(part, _comparable(part, recorded.get(part)),
                                _comparable(part, rerun.get(part)))
    report.lines += differences[:SHOWN]
    if len(differences) > SHOWN:
        report.lines.append(f"... and {len(differences) - SHOWN} more differences")
    if report.lines:
        report.identical = False
        if not differences:
            # A changed hash with identical results still fails: the evidence is not the same.
            report.lines.append("the verdicts are identical, but the inputs above are not")
        return report
    verdicts = len(rerun.get("verdicts", []))
    credits = len(rerun.get("credits", []) or [])
    report.lines.append(
        f"identical: {verdicts} verdicts and {credits} credits reproduced from the contract "
        f"and {len(inputs)} input(s) with matching SHA-256")
    return report


def find_contract(report: Path, recorded: str) -> Path:
    """The contract a report names: an absolute path as it is; a relative one against the
    report's folder, then the working directory."""
    named = Path(recorded)
    if named.is_absolute():
        return named
    beside = report.parent / named
    if beside.exists() or not named.exists():
        return beside
    return named


def _as_reported(evaluation: Any) -> dict[str, Any]:
    """The evaluation exactly as the json reporter writes it (strict JSON, read back)."""
    from slaengine.outputs import strict_json
    from slaengine.present import evaluation_to_dict

    return json.loads(json.dumps(strict_json(evaluation_to_dict(evaluation)),
                                 ensure_ascii=False, allow_nan=False))


def _comparable(part: str, value: Any) -> Any:
    """``value`` without what may rightly differ: a source's path, which is where the contract
    was read from (the manifest's inputs already say, relative to the contract, what was read)."""
    if part == "sources" and isinstance(value, dict):
        return {name: ({k: v for k, v in entry.items() if k != "path"}
                       if isinstance(entry, dict) else entry)
                for name, entry in value.items()}
    return value


def _files_now(contract: Any, registry: Any) -> dict[str, list[Path]]:
    """The files each source resolves to now; none for a source that resolves to none (gone,
    or no longer readable)."""
    from slaengine.engine import source_config
    from slaengine.pluginmanager import guarded

    out: dict[str, list[Path]] = {}
    for name, spec in sorted(contract.sources.items()):
        try:
            out[name] = guarded(registry, "source", spec.adapter, "files")(
                source_config(contract, spec))
        except SlaError:
            out[name] = []
    return out


def _source_mismatches(inputs: dict[str, dict], paths: dict[str, str]) -> list[str]:
    """How the manifest's sources differ from the contract's: names, then paths."""
    lines = [f"source {name} is recorded but not in the contract" for name in
             sorted(inputs.keys() - paths.keys())]
    lines += [f"source {name} is in the contract but not recorded" for name in
              sorted(paths.keys() - inputs.keys())]
    lines += [f"source {name} was read from {inputs[name]['path']!r} but the contract reads "
              f"{paths[name]!r}" for name in sorted(inputs.keys() & paths.keys())
              if inputs[name]["path"] != paths[name]]
    return lines


def _input_changes(recorded: dict[str, dict], now: dict[str, dict | None],
                   contract: Any) -> list[str]:
    """One line per changed input, then one per file added, removed, renamed or changed."""
    lines = []
    for name in sorted(recorded.keys() & now.keys()):
        entry, current = recorded[name], now[name]
        sha = current["sha256"] if current else "missing"
        if sha == entry["sha256"]:
            continue
        lines.append(f"changed: input {name} {contract.sources[name].path} (SHA-256 "
                     f"{entry['sha256'][:12]}… is now {sha[:12]}…)")
        lines += _file_changes(name, entry["files"], current["files"] if current else [])
    return lines


def _file_changes(name: str, before: list[dict], after: list[dict]) -> list[str]:
    old = {f["path"]: f for f in before}
    new = {f["path"]: f for f in after}
    gone = sorted(old.keys() - new.keys())
    added = sorted(new.keys() - old.keys())
    lines = []
    for path in gone:  # a file gone and one added with the same content: renamed
        twin = next((a for a in added if new[a]["sha256"] == old[path]["sha256"]), None)
        if twin is not None:
            added.remove(twin)
            lines.append(f"  renamed: {name} file {path} → {twin}")
        else:
            lines.append(f"  removed: {name} file {path}")
    lines += [f"  added: {name} file {path}" for path in added]
    lines += [f"  changed: {name} file {path} ({old[path]['bytes']} bytes, now "
              f"{new[path]['bytes']})" for path in sorted(old.keys() & new.keys())
              if old[path]["sha256"] != new[path]["sha256"]]
    return lines


def _load(path: Path) -> dict[str, Any]:
    """The report at ``path``: a regular file of at most :data:`REPORT_LIMIT` bytes of UTF-8
    strict JSON (no NaN or Infinity), an object with a manifest. Checked before it is read."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise UsageError("no such file", file=path) from None
    except OSError as exc:
        raise UsageError(f"cannot read the report: {exc.strerror}", file=path) from None
    if not stat.S_ISREG(info.st_mode):
        raise UsageError("not a regular file; verify reads a JSON report", file=path)
    if info.st_size > REPORT_LIMIT:
        raise UsageError(f"{info.st_size:,} bytes is more than a report can be "
                         f"({REPORT_LIMIT:,} at most)", file=path)
    try:
        with open(path, "rb") as handle:
            data = handle.read(REPORT_LIMIT + 1)
    except OSError as exc:
        raise UsageError(f"cannot read the report: {exc.strerror}", file=path) from None
    if len(data) > REPORT_LIMIT:
        raise UsageError(f"more than {REPORT_LIMIT:,} bytes", file=path)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"not UTF-8 text (byte {exc.start}); verify reads a JSON report",
                         file=path) from None
    try:
        document = json.loads(text, parse_constant=_not_json)
    except RecursionError:
        raise UsageError("not a JSON report: nested too deeply", file=path) from None
    except ValueError as exc:
        raise UsageError(f"not a JSON report: {exc}", file=path) from None
    if not isinstance(document, dict):
        raise UsageError(f"not a JSON report: a {_kind(document)}, not an object", file=path)
    if "manifest" not in document:
        raise UsageError("no manifest; verify needs a report written with --format json",
                         file=path)
    return document


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not a JSON number")


def _checked_manifest(path: Path, manifest: Any, reporters: set[str]) -> dict[str, Any]:
    """``manifest`` when every key verify uses is there with the right type, else a
    :class:`UsageError` naming the report and the key."""
    def need(value: Any, key: str, kind: type | tuple, what: str) -> Any:
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
            raise UsageError(f"expected {what}, found {_kind(value)}", file=path, where=key)
        return value

    def entry(value: dict, name: str, key: str, kind: type | tuple, what: str) -> Any:
        if name not in value:
            raise UsageError(f"missing; expected {what}", file=path, where=f"{key}.{name}")
        return need(value[name], f"{key}.{name}", kind, what)

    def digest(value: dict, key: str) -> None:
        sha = entry(value, "sha256", key, str, "a SHA-256 (64 hex digits)")
        if not SHA256.fullmatch(sha):
            raise UsageError(f"expected a SHA-256 (64 hex digits), found {sha[:80]!r}",
                             file=path, where=f"{key}.sha256")

    need(manifest, "manifest", dict, "an object")
    contract = entry(manifest, "contract", "manifest", dict, "an object")
    if not entry(contract, "path", "manifest.contract", str, "the contract's path"):
        raise UsageError("expected the contract's path, found an empty string", file=path,
                         where="manifest.contract.path")
    digest(contract, "manifest.contract")
    inputs = entry(manifest, "inputs", "manifest", dict, "an object of sources")
    for name, source in inputs.items():
        key = f"manifest.inputs.{name}"
        need(source, key, dict, "an object")
        entry(source, "path", key, str, "the source's path")
        digest(source, key)
        entry(source, "bytes", key, int, "a number of bytes")
        files = entry(source, "files", key, list, "a list of files")
        for i, file in enumerate(files):
            where = f"{key}.files[{i}]"
            need(file, where, dict, "an object")
            entry(file, "path", where, str, "the file's path")
            digest(file, where)
            entry(file, "bytes", where, int, "a number of bytes")
    options = entry(manifest, "options", "manifest", dict, "an object")
    for name in options:
        if name not in OPTIONS:
            raise UsageError("not an option verify knows", file=path,
                             where=f"manifest.options.{name}", accepted=OPTIONS)
    formats = need(options.get("formats", []), "manifest.options.formats", list,
                   "a list of report formats")
    for i, name in enumerate(formats):
        if name not in reporters:
            raise UsageError(f"{_short(name)} is not a report format", file=path,
                             where=f"manifest.options.formats[{i}]", accepted=reporters)
    if options.get("fail_on") not in FAIL_ON:
        raise UsageError(f"{_short(options.get('fail_on'))} is not accepted", file=path,
                         where="manifest.options.fail_on", accepted=["breached", "critical"])
    as_of = options.get("as_of")
    if as_of is not None:
        need(as_of, "manifest.options.as_of", str, "an ISO 8601 time with its offset")
        try:
            moment = datetime.fromisoformat(as_of)
        except ValueError:
            moment = None
        if moment is None or moment.tzinfo is None:
            raise UsageError(f"expected an ISO 8601 time with its offset, found {_short(as_of)}",
                             file=path, where="manifest.options.as_of")
    return manifest


def _kind(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "true/false",
             int: "a number", float: "a number", type(None): "null"}
    return names.get(type(value), type(value).__name__)


def _compare(part: str, old: Any, new: Any) -> list[str]:
    if old == new:
        return []
    if part == "verdicts" and _verdict_list(old) and _verdict_list(new):
        found = _compare_verdicts(old, new)
        if found:
            return found
        return [f"differs: verdicts: {len(old)} recorded, {len(new)} now, not in the same order "
                "or not once each"]
    return [f"differs: {part}: recorded {_short(old)} but now {_short(new)}"]


def _verdict_list(value: Any) -> bool:
    return isinstance(value, list) and all(
        isinstance(v, dict) and {"service_level", "period", "segment"} <= v.keys() for v in value)


def _compare_verdicts(old: list[dict], new: list[dict]) -> list[str]:
    def key(v: dict) -> tuple:
        return (str(v["service_level"]), str(v["period"]),
                json.dumps(v["segment"], sort_keys=True))

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
            fields = list(before[k]) + [f for f in after[k] if f not in before[k]]
            changed = [f"{f} {_short(before[k].get(f))} → {_short(after[k].get(f))}"
                       for f in fields if before[k].get(f) != after[k].get(f)]
            if changed:
                lines.append(f"differs: verdict {name}: " + ", ".join(changed))
    return lines


def _short(value: Any) -> str:
    text = json.dumps(value, default=str, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."
