"""Fixtures shared by the test files: one SparkSession for the whole session (``spark``).

Hypothesis runs without its deadline (200 ms an example by default): nothing in the suite
asserts a time (timing belongs to the benchmarks), and on a slow or busy machine a first
example that imports or compiles something would fail a test that is right."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import settings

settings.register_profile("slaengine", deadline=None)
settings.load_profile("slaengine")


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """A SparkSession in ``local[2]`` shared by every Spark test (starting one takes seconds).

    Small files are packed several to a partition (``openCostInBytes``), so partitions read
    files out of their order, as on a cluster. Without pyspark or Java the Spark tests are
    skipped, saying why — unless ``SLAENGINE_REQUIRE_SPARK`` is set (CI): then they fail.
    """
    from slaengine import spark as on_spark
    from slaengine.errors import UsageError

    try:
        on_spark.require_pyspark()
        on_spark.require_java()
    except UsageError as exc:
        if os.environ.get("SLAENGINE_REQUIRE_SPARK"):
            pytest.fail(str(exc))
        pytest.skip(str(exc))
    from pyspark.sql import SparkSession

    session = (SparkSession.builder.master("local[2]").appName("slaengine-tests")
               .config("spark.sql.shuffle.partitions", "2")
               .config("spark.default.parallelism", "2")
               .config("spark.sql.files.openCostInBytes", "1024")
               .config("spark.ui.enabled", "false")
               .config("spark.ui.showConsoleProgress", "false")
               .config("spark.sql.session.timeZone", "UTC")
               .getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
