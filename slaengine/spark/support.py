"""What Spark evaluates so far, and a clear refusal of the rest.

A contract that uses a feature the Spark engine does not evaluate yet is refused before any
work, with exit 2 and the feature named: never an answer that could differ from the local
engine's.
"""

from __future__ import annotations

from pathlib import Path

from slaengine.contract import Contract
from slaengine.errors import UsageError
from slaengine.pluginmanager import Registry
from slaengine.spark.records import refusals

PARQUET_SUFFIXES = (".parquet", ".pq")


def unsupported(contract: Contract, registry: Registry, *, evidence: bool = False,
                rejects: bool = False) -> list[str]:
    """The features of ``contract`` (and of the options asked) Spark does not evaluate yet."""
    found: list[str] = []
    if evidence:
        found.append("--evidence (the records behind failed verdicts)")
    if rejects:
        found.append("--rejects (the rejected rows written out; they are counted either way)")
    from slaengine.spark.catalog import remote_path

    for name, spec in sorted(contract.sources.items()):
        if spec.adapter == "spark-table":
            continue
        if spec.adapter != "arrow":
            found.append(f'source {name}: the "{spec.adapter}" adapter (Spark reads "arrow" '
                         'sources of Parquet files and "spark-table" tables)')
            continue
        fmt = spec.options.get("format")
        if remote_path(contract, name) is not None:
            if fmt == "ipc":
                found.append(f"source {name}: Arrow IPC files (Spark reads Parquet)")
            continue
        if fmt == "ipc" or (fmt is None and Path(spec.path).suffix.lower() not in
                            (*PARQUET_SUFFIXES, "") and not Path(spec.path).is_dir()):
            found.append(f"source {name}: Arrow IPC files (Spark reads Parquet)")
    found += refusals(contract, registry)
    return found


def check(contract: Contract, registry: Registry, *, evidence: bool = False,
          rejects: bool = False) -> None:
    """Raise a UsageError naming every feature Spark does not evaluate yet."""
    found = unsupported(contract, registry, evidence=evidence, rejects=rejects)
    if found:
        where = f" ({contract.path})" if contract.path is not None else ""
        raise UsageError(
            f"--engine spark does not evaluate these yet{where}:\n"
            + "\n".join(f"  {item}" for item in found)
            + "\n--engine local evaluates them")
