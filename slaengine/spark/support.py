"""What Spark evaluates so far, and a clear refusal of the rest.

A contract that uses a feature the Spark engine does not evaluate yet is refused before any
work, with exit 2 and the feature named: never an answer that could differ from the local
engine's.
"""

from __future__ import annotations

from slaengine.contract import Contract
from slaengine.engine.plan import join_plan
from slaengine.errors import UsageError
from slaengine.pluginmanager import Registry
from slaengine.spark.records import refusals


def unsupported(contract: Contract, registry: Registry, *, evidence: bool = False,
                ) -> list[str]:
    """The features of ``contract`` (and of the options asked) Spark does not evaluate yet."""
    found: list[str] = []
    if evidence:
        found.append("--evidence (the records behind failed verdicts)")
    from slaengine.spark.catalog import is_catalog, remote_path
    from slaengine.spark.whole import IPC_SUFFIXES, reads_whole

    joined = join_plan(contract, registry)
    for name, spec in sorted(contract.sources.items()):
        if name in joined and not (reads_whole(contract, registry, name)
                                   and not is_catalog(contract, str(spec.link))):
            found.append(f"source {name}: a link to source {spec.link} joined to its records "
                         "as they are read, for service levels other than event clocks (Spark "
                         "joins it for a source read whole by its adapter, such as CSV or "
                         "Zendesk, linked to a source of files)")
        remote = remote_path(contract, name)
        if remote is not None and (spec.options.get("format") == "ipc" or remote.lower()
                                   .rstrip("/").endswith(IPC_SUFFIXES)):
            found.append(f"source {name}: Arrow IPC files at a URI (Spark reads Parquet "
                         "there; Arrow IPC files are read from a local or shared path)")
    found += refusals(contract, registry)
    return found


def check(contract: Contract, registry: Registry, *, evidence: bool = False) -> None:
    """Raise a UsageError naming every feature Spark does not evaluate yet."""
    found = unsupported(contract, registry, evidence=evidence)
    if found:
        where = f" ({contract.path})" if contract.path is not None else ""
        raise UsageError(
            f"--engine spark does not evaluate these yet{where}:\n"
            + "\n".join(f"  {item}" for item in found)
            + "\n--engine local evaluates them")
