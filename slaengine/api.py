"""slaengine from Python: load a contract, evaluate it, take the result as objects, as Arrow
tables or as the JSON report's document.

    >>> import slaengine
    >>> result = slaengine.evaluate("contracts/isp-helpdesk.toml")
    >>> result.verdict("fcr", "2026-01").status
    'breached'
    >>> result.to_arrow()["verdicts"].num_rows == len(result.verdicts)
    True

Errors a caller can fix (no such contract, a bad contract, unusable data, a bad argument) are
:class:`slaengine.errors.SlaError` subclasses with the file and the place named, as the
command line prints them. :func:`evaluate` changes nothing in the process unless asked to
(``tuned=True``: see :func:`slaengine.runtime.tuned`).
"""

from __future__ import annotations

import os
from contextlib import nullcontext
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from slaengine import contract as contracts
from slaengine import engine as engines
from slaengine import runtime
from slaengine.contract import Contract
from slaengine.errors import UsageError
from slaengine.outputs import strict_json
from slaengine.periods import date_range_problem
from slaengine.pluginmanager import Registry, build_registry
from slaengine.present import evaluation_to_dict  # the JSON report's shape
from slaengine.tables import evaluation_tables
from slaengine.verdicts import Evaluation

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from slaengine.lazy import pa

__all__ = ["Result", "as_of_instant", "evaluate", "load_contract"]

ContractPath = str | os.PathLike[str]


@dataclass(repr=False)
class Result(Evaluation):
    """An :class:`~slaengine.verdicts.Evaluation` (every reporter and function that takes one
    takes it) that also gives itself as Arrow tables and as the JSON report's document."""

    @classmethod
    def of(cls, evaluation: Evaluation) -> Result:
        """``evaluation`` as a Result: the same verdicts, accounts, tables and credits."""
        return cls(**{f.name: getattr(evaluation, f.name) for f in fields(Evaluation)})

    def to_arrow(self) -> dict[str, pa.Table]:
        """The tables ``verdicts``, ``credits``, ``credit_totals``, ``sources`` and ``levels``
        (columns: :mod:`slaengine.tables`); money as decimals, period bounds as timestamps in
        the contract's timezone."""
        return evaluation_tables(self)

    def to_dict(self) -> dict[str, Any]:
        """The document ``slaengine evaluate --format json`` writes to standard output (the
        README's *JSON output*): money as strings, a figure that is not a finite number as
        None. A new document on each call: changing it changes nothing here."""
        return strict_json(evaluation_to_dict(self))

    def __repr__(self) -> str:
        counts = ", ".join(f"{self.count(s)} {s}" for s in ("met", "breached", "critical",
                                                              "insufficient_data"))
        return (f"<Result {self.contract.id}: {len(self.verdicts)} verdicts ({counts}) in "
                f"{len(self.periods)} periods>")


def load_contract(path: ContractPath, registry: Registry | None = None) -> Contract:
    """Read and check the contract at ``path`` (its sources resolved against its folder)
    against the installed plugins, or those of ``registry``.

    Raises :class:`~slaengine.errors.ContractError` naming the file and the key at fault.
    """
    if isinstance(path, bool) or not isinstance(path, str | os.PathLike):
        raise UsageError(f"load_contract: expected the path of a contract file (.toml), got "
                         f"{type(path).__name__}")
    return contracts.load_contract(Path(path), registry)


def evaluate(
    contract: Contract | ContractPath,
    *,
    as_of: datetime | date | str | None = None,
    evidence: bool = False,
    registry: Registry | None = None,
    tuned: bool = False,
    engine: str = "local",
    spark: SparkSession | None = None,
) -> Result:
    """Evaluate ``contract`` (a :class:`~slaengine.contract.Contract` or the path of one) on
    its sources, as ``slaengine evaluate`` does.

    ``as_of`` evaluates the data as it stood then (see :func:`as_of_instant`); ``evidence``
    keeps the records behind every failed verdict (``result.evidence``, a table per service
    level); ``registry`` the plugins to use (default: the installed ones). ``tuned`` enters
    :func:`slaengine.runtime.tuned` for the evaluation, as the command line does (faster on
    large data; glibc's allocator settings stay changed afterwards); without it the process
    is left as it was found.

    ``engine="spark"`` evaluates on Apache Spark (:mod:`slaengine.spark`) with ``spark``, a
    ``SparkSession`` (default: one started on ``$SPARK_MASTER``, else ``local[*]``); the result
    is the local engine's, its manifest naming the engine. A contract using what Spark does
    not evaluate yet is refused with a UsageError naming it.
    """
    for name, flag in (("evidence", evidence), ("tuned", tuned)):
        if not isinstance(flag, bool):
            raise UsageError(f"evaluate: {name} must be True or False, got {flag!r}")
    if engine not in ENGINES:
        raise UsageError(f"evaluate: engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    if spark is not None and engine != "spark":
        raise UsageError('evaluate: a Spark session is used with engine="spark" only')
    registry = registry or build_registry()
    if isinstance(contract, Contract):
        loaded = contract
    elif isinstance(contract, str | os.PathLike) and not isinstance(contract, bool):
        loaded = load_contract(contract, registry)
    else:
        raise UsageError("evaluate: expected a Contract or the path of a contract file "
                         f"(.toml), got {type(contract).__name__}")
    moment = as_of_instant(as_of, loaded.timezone) if as_of is not None else None
    if engine == "spark":
        return Result.of(_on_spark(loaded, registry, spark, evidence=evidence, as_of=moment))
    with runtime.tuned() if tuned else nullcontext():
        evaluation = engines.evaluate(loaded, registry, evidence=evidence, as_of=moment)
    return Result.of(evaluation)


ENGINES = ("local", "spark")


def _on_spark(contract: Contract, registry: Registry, spark: SparkSession | None, *,
              evidence: bool, as_of: datetime | None) -> Evaluation:
    """``contract`` evaluated on Spark (pyspark imported only now)."""
    from slaengine import spark as on_spark

    on_spark.require_pyspark()
    from slaengine.spark import run, support

    support.check(contract, registry.with_clocks(contract.clocks), evidence=evidence)
    session = spark if spark is not None else on_spark.start_session()
    return run.evaluate(contract, session, registry, as_of=as_of)


def as_of_instant(as_of: datetime | date | str, timezone: str, name: str = "as_of") -> datetime:
    """The instant ``as_of`` names, in UTC, by the rule of ``--as-of``: a date (``2026-03-18``
    as text or a :class:`~datetime.date`) means the end of that day, a date-time without an
    offset is wall time in ``timezone`` (the contract's).

    It must fall within the dates a contract may name (:data:`slaengine.periods.FIRST_DAY` ..
    ``LAST_DAY``), so no date arithmetic downstream can overflow. ``name`` is what messages
    call it (``--as-of`` on the command line).
    """
    moment: datetime
    if isinstance(as_of, str):
        try:
            parsed: date = (date.fromisoformat(as_of) if len(as_of) == 10
                            else datetime.fromisoformat(as_of))
        except ValueError:
            raise UsageError(f'{name}: "{as_of}" is not a date (2026-03-18) or an ISO date-time '
                             "(2026-03-18T12:00)") from None
        return as_of_instant(parsed, timezone, name)
    if not isinstance(as_of, date):
        raise UsageError(f"{name}: expected a date, a date-time or ISO text, got "
                         f"{type(as_of).__name__}")
    problem = date_range_problem(as_of)
    if problem is not None:
        raise UsageError(f"{name}: {problem}")
    if isinstance(as_of, datetime):
        moment = as_of
    else:  # the end of the day: the start of the next
        day = as_of + timedelta(days=1)
        moment = datetime(day.year, day.month, day.day)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(timezone))
    return moment.astimezone(UTC)
