"""A contract evaluated on Apache Spark, with the verdicts of the local engine.

Spark reads the sources (``spark.read.parquet`` of an ``arrow`` source's files or URI, or a
``spark-table`` source's catalog table: only the needed columns, the evaluated window pushed
down as a filter); inside ``mapInArrow`` every partition runs the local engine's own Arrow
functions on its rows — coercion and rejects, the narrowing, the measures, the per-group
tallies — and sends the driver one small state: counters per group, never records
(:mod:`slaengine.spark.partition`). Order statistics are selected inside Spark at the local
engine's nearest ranks, one value per group and statistic (:mod:`slaengine.spark.orders`).
The driver adds the states up in the order the local engine reads the data
(:mod:`slaengine.spark.run`) and finishes every level exactly as the local engine does, so
the report is the local engine's, bit for bit.

A source Spark cannot split (CSV, Zendesk, Arrow IPC, a third-party adapter) is read by its
own adapter in one Spark task (:mod:`slaengine.spark.whole`); ``--rejects`` is written by
Spark (:mod:`slaengine.spark.rejects`).

Service levels whose records must be whole stay in Spark too: a source's kept records leave
its partitions (or the one task reading it whole) as Arrow IPC rows by part, for
``applyInArrow`` tasks that derive event clocks part by part (a ticket's history whole in one
part, :mod:`slaengine.spark.derived`) or evaluate a period-level metric without summaries on
its records (:mod:`slaengine.spark.held`).

What Spark does not evaluate yet (evidence, a link joined to the records of a source Spark
splits, clocks derived from a whole source at once) is refused by
:func:`slaengine.spark.support.check` before any work, naming the feature: ``--engine local``
evaluates it.

pyspark is imported only here, and only when Spark is asked for.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from slaengine.errors import UsageError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

INSTALL = 'pip install "slaengine[spark]"'
DEFAULT_MASTER = "local[*]"


def require_pyspark() -> Any:
    """The pyspark module, or a UsageError saying how to install it."""
    try:
        import pyspark
    except ImportError:
        raise UsageError(f"--engine spark needs pyspark, which is not installed: {INSTALL} "
                         "(or evaluate with --engine local)") from None
    return pyspark


def java_found() -> bool:
    """Whether a Java runtime is there for Spark to start: ``$JAVA_HOME/bin/java`` or
    ``java`` on the PATH."""
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").is_file():
        return True
    return shutil.which("java") is not None


def require_java() -> None:
    if not java_found():
        raise UsageError(
            "--engine spark needs a Java runtime (17 or later) to start Spark, and none was "
            "found (no java on the PATH, no JAVA_HOME): install one (Debian: apt-get install "
            "openjdk-17-jre-headless) or evaluate with --engine local")


def master_of(master: str | None) -> str:
    """The Spark master: ``master``, else ``$SPARK_MASTER``, else ``local[*]``."""
    return master or os.environ.get("SPARK_MASTER") or DEFAULT_MASTER


def start_session(master: str | None = None) -> SparkSession:
    """A SparkSession for one evaluation (``master``: see :func:`master_of`), after checking
    that pyspark and Java are there. Few shuffle partitions: the driver only adds up states."""
    require_pyspark()
    require_java()
    from pyspark.sql import SparkSession

    return (SparkSession.builder.master(master_of(master)).appName("slaengine")
            .config("spark.sql.shuffle.partitions", "4")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.session.timeZone", "UTC")
            .getOrCreate())
