#!/usr/bin/env python
"""Benchmark: slaengine against DuckDB SQL and polars on the same contract and the same file.

Not a test (nothing here asserts a time). From a fresh clone::

    pip install -e ".[bench]" && python examples/benchmark.py --rows 1000000

(``--rows 1000000 --rows 10000000`` for both sizes; ``--format parquet`` or ``--format csv`` for
one format; ``--data-dir DIR`` to keep the generated files somewhere else; ``--repeat 3`` for three
rounds (every engine once per round; the best and the median wall time are shown);
``--json FILE`` to keep the figures.)

What it does:

1. Generates the tickets of each data variant (``--variant``; both by default), once: files
   already in the data directory (default: ``slaengine-bench`` in the system's temporary
   directory) are reused.

   - ``reference``: ``examples/generate.py`` (seed 7, January-June 2026) as Parquet and as CSV:
     text ids, text categories, int32 figures, New York times;
   - ``exports``: ``examples/generate_exports.py`` (seed 7, the same simulation over January-
     December 2026) as Parquet only, shaped like real exports: int64 ids, int8-indexed
     dictionary categories, nullable int8 contacts / CSAT / NPS / reopens, UTC times in
     milliseconds, row groups of exactly 1M rows. The contract's fields are mapped onto its
     columns; its ``reopens`` column is read too (FCR does not count a reopened ticket), so
     the queries use it there.
2. For each format runs, each in its own fresh Python process (so the peak memory, the process's
   own ``ru_maxrss``, belongs to that engine alone):

   - ``slaengine``: ``load_contract`` + ``evaluate`` through the Python API on
     ``examples/benchmark/reference.toml`` (a temporary copy pointing at the file), then its
     JSON report written to a file as ``--format json --output FILE`` does (timed apart as
     "json s" and included in the wall time);
   - ``reading``: slaengine's reading alone, no service level: the contract's source read,
     typed, checked and its records placed in their months (``slaengine.engine.read_source``
     with the fields the levels read), as ``evaluate`` does before any level sees a batch;
     the part of slaengine's time that no level's work can remove (without the input
     file's SHA-256, which ``evaluate`` computes on a thread of its own);
   - ``duckdb``: one SQL query over the file (``GROUP BY month, priority``);
   - ``polars``: one lazy query over the file (``group_by(month, priority)``);
   - ``floor``: ``pyarrow.parquet`` decoding / ``pyarrow.csv`` parsing (typed) only the columns
     the numbers need, and ``floor+id``: the same plus ``Ticket ID``, which slaengine also reads
     (records are identified by it).

   The wall time is measured inside the process around the work: interpreter start and module
   imports excluded, like building slaengine's plugin registry (it imports the plugin modules;
   its seconds are shown apart as "setup"); loading the contract is included.
3. Checks that DuckDB and polars agree with slaengine on every service level x month x priority:
   counts and shares exactly (hits and sample sizes compared as integers), percentiles exactly,
   means to 1e-9 relative.

Percentiles are nearest-rank on all three sides: the value at rank ceil(p/100 x n) of the n
sorted non-null measures. slaengine computes the rank in integer arithmetic; DuckDB's
``quantile_disc(x, p)`` (the SQL-standard ``percentile_disc``: the first value whose cumulative
distribution reaches p) is that same value; polars has no interpolation mode that is (``lower``
and ``higher`` are ``floor``/``ceil`` of ``p x (n - 1)``), so the polars query sorts each
group's non-null measures and takes the element at index ``(num x n + den - 1) // den - 1``
computed in integers (p = num/den).

Periods are months of the creation time in America/New_York. CSV times are naive local wall
times: all three read them as New York local time (durations are taken between the instants,
so a ticket open across the March DST change is not an hour off); Parquet times are tz-aware.

Requires the ``bench`` extra (``duckdb``, ``polars``).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
REFERENCE = HERE / "benchmark" / "reference.toml"
TZ = "America/New_York"
SEED = 7
ENGINES = ("slaengine", "reading", "duckdb", "polars", "floor", "floor+id")
FORMATS = ("parquet", "csv")
ROLES = ("ticket_id", "created_at", "first_response_at", "resolved_at", "priority", "contacts",
         "handle_seconds", "csat", "nps", "reopens")
# "reopens": FCR counts a reopened ticket as not resolved on first contact when the source has
# the field (first_contact_resolution reads it), so the queries use it where a variant has it.


@dataclass(frozen=True)
class Variant:
    """A shape of the generated tickets: its generator, the formats it is written in and its
    column for each field the contract reads (``ROLES``)."""

    generator: Path
    prefix: str
    formats: tuple[str, ...]
    columns: dict[str, str]
    arguments: tuple[str, ...] = ()

    def needed(self, with_id: bool) -> list[str]:
        """The columns the numbers need (slaengine also reads the ticket id)."""
        return [self.columns[r] for r in ROLES
                if r in self.columns and (with_id or r != "ticket_id")]


VARIANTS = {
    # examples/generate.py: text ids ("NW-000001"), text categories, int32 figures, times as
    # timestamp[us, tz=America/New_York], row groups of whole hours (about 1M rows); also CSV.
    "reference": Variant(
        HERE / "generate.py", "tickets", FORMATS,
        dict(zip(ROLES, ["Ticket ID", "Created", "First Reply", "Solved", "Priority", "Contacts",
                         "Handle (s)", "CSAT", "NPS"], strict=False)),
        ("--format",)),
    # examples/generate_exports.py: the shapes of real exports: int64 ids, int8-indexed
    # dictionary categories, nullable int8 contacts / CSAT / NPS, times as timestamp[ms, UTC],
    # twelve months, row groups of exactly 1M rows; Parquet only.
    "exports": Variant(
        HERE / "generate_exports.py", "exports", ("parquet",),
        dict(zip(ROLES, ["id", "created_at", "first_reply_at", "solved_at", "priority",
                         "contacts", "handle_seconds", "csat", "nps", "reopens"], strict=True))),
}


def csv_columns(path: Path) -> list[str]:
    """Every column of the CSV file, in order, as its header names them (DuckDB's and polars'
    explicit schemas must list them all; the generator's set of columns may grow)."""
    with open(path, newline="", encoding="utf-8") as handle:
        return next(csv.reader(handle))

# The reference contract's service levels as the hand-written queries compute them:
# id -> (measure, statistic, by priority?). Statistics: mean, ("p", num, den) nearest rank,
# ("within", seconds) attainment, share.
LEVELS: dict[str, tuple[str, object, bool]] = {
    "frt-mean": ("frt", "mean", True),
    "frt-median": ("frt", ("p", 1, 2), True),
    "frt-p90": ("frt", ("p", 9, 10), True),
    "frt-within-1h": ("frt", ("within", 3600), True),
    "resolution-mean": ("res", "mean", True),
    "fcr": ("fcr", "share", True),
    "csat-satisfied": ("csat", "share", False),
    "nps": ("nps", "mean", False),
    "aht": ("aht", "mean", False),
}

PERCENTILE_DEFINITIONS = {
    "slaengine": "nearest rank: value at rank ceil(p/100*n) of the sorted non-null measures "
    "(integer arithmetic)",
    "duckdb": "quantile_disc(x, p) = SQL percentile_disc: first value whose cumulative "
    "distribution >= p, i.e. rank ceil(p*n) (same as slaengine)",
    "polars": "sort per group, element at index (num*n + den - 1)//den - 1 in integers, p = "
    "num/den (quantile(interpolation='lower'|'higher'|'nearest') is not nearest rank)",
}

MEAN_RTOL = 1e-9


# ----------------------------------------------------------------------------- data


def data_file(data_dir: Path, rows: int, fmt: str, variant: Variant) -> Path:
    """The generated file for ``rows`` tickets of ``variant`` in ``fmt``, made once and then
    reused."""
    path = data_dir / f"{variant.prefix}-{rows}-seed{SEED}.{fmt}"
    if path.is_file():
        return path
    data_dir.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    print(f"generating {path} ...", file=sys.stderr, flush=True)
    subprocess.run(
        [
            sys.executable,
            str(variant.generator),
            "--rows",
            str(rows),
            "--seed",
            str(SEED),
            *[a for flag in variant.arguments for a in (flag, fmt)],
            "--out",
            str(partial),
        ],
        check=True,
    )
    partial.replace(path)
    return path


def contract_copy(data: Path, fmt: str, variant: Variant, folder: Path) -> Path:
    """A copy of the reference contract reading ``data`` with the adapter for ``fmt`` and the
    columns of ``variant``."""
    import tomli_w

    document = tomllib.loads(REFERENCE.read_text(encoding="utf-8"))
    source = document["sources"]["tickets"]
    source["adapter"] = "arrow" if fmt == "parquet" else "csv"
    source["path"] = str(data)
    source["fields"] = dict(variant.columns)
    out = folder / f"reference-{data.stem}-{fmt}.toml"
    out.write_text(tomli_w.dumps(document), encoding="utf-8")
    return out


def check_reference() -> None:
    """The hand-written queries must compute the contract's service levels, no more, no less."""
    levels = tomllib.loads(REFERENCE.read_text(encoding="utf-8"))["service_levels"]
    ids = [level["id"] for level in levels]
    if sorted(ids) != sorted(LEVELS):
        raise SystemExit(
            f"{REFERENCE}: service levels {ids} do not match the benchmark's queries {list(LEVELS)}"
        )
    for level in levels:
        by_priority = level.get("by") == ["priority"]
        if by_priority != LEVELS[level["id"]][2] or level.get("where"):
            raise SystemExit(f"{REFERENCE}: {level['id']}: segments differ from the queries")


# ----------------------------------------------------------------------------- the engines
# Each returns {"level|period|segment": [n, hits, value]} (segment "" for the whole month) and
# the number of rows it read.


def key(level: str, period: str, segment: str) -> str:
    return f"{level}|{period}|{segment}"


def run_slaengine(path: Path, fmt: str, contract: Path, registry: object, report: Path,
                  ) -> tuple[dict, int, float]:
    """Evaluate the contract and write its JSON report to ``report``, as ``slaengine evaluate
    CONTRACT --format json --output REPORT`` does; the figures, the rows read and the seconds
    the report took to write."""
    from slaengine.contract import load_contract
    from slaengine.engine import evaluate, tuned
    from slaengine.outputs import atomic_file

    with tuned():
        evaluation = evaluate(load_contract(contract, registry), registry)
        t0 = time.perf_counter()
        with atomic_file(report) as stream:
            registry.reporters["json"].write(evaluation, stream)
        writing = time.perf_counter() - t0
    out = {}
    for v in evaluation.verdicts:
        value = None if v.value is None else float(v.value)
        hits = None
        if v.statistic in ("share", "attainment") and value is not None:
            hits = round(value * v.sample_size)  # value is hits / n
        out[key(v.service_level, v.period, v.segment.get("priority", ""))] = [
            v.sample_size,
            hits,
            value,
        ]
    return out, evaluation.sources["tickets"].read, writing


def per_priority_rows_to_results(rows: list[tuple]) -> dict:
    """Turn the per (month, priority) partial aggregates of DuckDB or polars into results.

    Levels by priority take their group's figures; whole-month levels add up the partial counts
    and sums of the month's priorities (exact: the sums are of whole numbers).
    """
    out: dict[str, list] = {}
    months: dict[str, dict[str, float]] = {}
    for row in rows:
        r = dict(row)
        period, priority = r.pop("period"), r.pop("priority") or ""
        for level, (measure, statistic, by_priority) in LEVELS.items():
            if not by_priority:
                continue
            out[key(level, period, priority)] = figures(r, measure, statistic)
        month = months.setdefault(period, {})
        for name, value in r.items():
            if name.endswith(("_n", "_hits", "_sum", "_total")):
                month[name] = month.get(name, 0) + (value or 0)
    for period, month in months.items():
        for level, (measure, statistic, by_priority) in LEVELS.items():
            if not by_priority:
                out[key(level, period, "")] = figures(month, measure, statistic)
    return out


def figures(r: dict, measure: str, statistic: object) -> list:
    if statistic == "mean":
        n = int(r[f"{measure}_n"])
        return [n, None, r[f"{measure}_sum"] / n if n else None]
    if statistic == "share":
        n, hits = int(r[f"{measure}_n"]), int(r[f"{measure}_hits"])
        return [n, hits, hits / n if n else None]
    if isinstance(statistic, tuple) and statistic[0] == "within":
        n, hits = int(r[f"{measure}_total"]), int(r[f"{measure}_within"])
        return [n, hits, hits / n if n else None]
    _, num, den = statistic
    value = r[f"{measure}_p{num}_{den}"]
    return [int(r[f"{measure}_n"]), None, None if value is None else float(value)]


def run_duckdb(path: Path, fmt: str, variant: Variant) -> tuple[dict, int]:
    import duckdb

    c = variant.columns
    con = duckdb.connect()
    if fmt == "parquet":
        source = f"read_parquet('{path}')"
        # tz-aware instants: local month via timezone(), durations between the instants
        month = f"date_trunc('month', timezone('{TZ}', \"{c['created_at']}\"))"
        instant = '"{}"'.format
    else:
        columns = {c: "VARCHAR" for c in csv_columns(Path(path))}
        columns.update(
            {
                c["created_at"]: "TIMESTAMP",
                c["first_response_at"]: "TIMESTAMP",
                c["resolved_at"]: "TIMESTAMP",
                c["contacts"]: "INTEGER",
                c["handle_seconds"]: "INTEGER",
                c["csat"]: "INTEGER",
                c["nps"]: "INTEGER",
            }
        )
        spec = ", ".join(f"'{c}': '{t}'" for c, t in columns.items())
        source = f"read_csv('{path}', header = true, auto_detect = false, columns = {{{spec}}})"
        # naive local wall times: the month is that of the wall time; instants via timezone()
        month = f"date_trunc('month', \"{c['created_at']}\")"
        instant = f"timezone('{TZ}', \"{{}}\")".format

    first = f'"{c["contacts"]}" = 1'
    if "reopens" in c:
        first += f' AND "{c["reopens"]}" = 0'

    def seconds(end: str) -> str:
        return f"(epoch_us({instant(end)}) - epoch_us({instant(c['created_at'])})) / 1e6"

    query = f"""
    WITH t AS (
        SELECT {month} AS month, "{c['priority']}" AS priority,
               {seconds(c["first_response_at"])} AS frt,
               {seconds(c["resolved_at"])} AS res,
               CASE WHEN "{c['resolved_at']}" IS NOT NULL THEN {first} END AS fcr,
               "{c['csat']}" AS csat,
               CASE WHEN "{c['nps']}" >= 9 THEN 100 WHEN "{c['nps']}" <= 6 THEN -100
                    WHEN "{c['nps']}" IS NOT NULL THEN 0 END AS nps,
               "{c['handle_seconds']}" AS aht
        FROM {source}
    )
    SELECT strftime(month, '%Y-%m') AS period, priority,
           count(frt) AS frt_n, sum(frt) AS frt_sum,
           quantile_disc(frt, 0.5) AS frt_p1_2, quantile_disc(frt, 0.9) AS frt_p9_10,
           count(*) AS frt_total, count(*) FILTER (WHERE frt <= 3600) AS frt_within,
           count(res) AS res_n, sum(res) AS res_sum,
           count(fcr) AS fcr_n, count(*) FILTER (WHERE fcr) AS fcr_hits,
           count(csat) AS csat_n, count(*) FILTER (WHERE csat >= 4) AS csat_hits,
           count(nps) AS nps_n, sum(nps) AS nps_sum,
           count(aht) AS aht_n, sum(aht) AS aht_sum
    FROM t GROUP BY ALL ORDER BY ALL
    """
    cursor = con.execute(query)
    names = [d[0] for d in cursor.description]
    rows = [tuple(zip(names, row, strict=True)) for row in cursor.fetchall()]
    total = sum(dict(r)["frt_total"] for r in rows)
    return per_priority_rows_to_results(rows), total


def run_polars(path: Path, fmt: str, variant: Variant) -> tuple[dict, int]:
    import polars as pl

    c = variant.columns
    if fmt == "parquet":
        frame = pl.scan_parquet(path)
        # tz-aware (New York or UTC): month and components in New York local time
        local_created = pl.col(c["created_at"]).dt.convert_time_zone(TZ)

        def instant(name: str) -> pl.Expr:
            return pl.col(name)
    else:
        # Text, then parsed with the explicit format: a Datetime in the CSV schema is ~3.5x
        # slower on 10M rows (polars infers the pattern value by value).
        schema = {c: pl.String for c in csv_columns(Path(path))}
        schema.update(
            {c[r]: pl.Int32 for r in ("contacts", "handle_seconds", "csat", "nps")}
        )
        frame = pl.scan_csv(path, schema=schema).with_columns(
            pl.col(c[r]).str.to_datetime("%Y-%m-%d %H:%M:%S", time_unit="us")
            for r in ("created_at", "first_response_at", "resolved_at")
        )
        local_created = pl.col(c["created_at"])  # naive wall time: its month is the local month

        def instant(name: str) -> pl.Expr:
            return pl.col(name).dt.replace_time_zone(TZ, ambiguous="earliest", non_existent="null")

    def seconds(end: str) -> pl.Expr:
        micros = instant(end).dt.epoch("us") - instant(c["created_at"]).dt.epoch("us")
        return micros / 1e6

    nps = pl.col(c["nps"])
    first = pl.col(c["contacts"]) == 1
    if "reopens" in c:
        first = first & (pl.col(c["reopens"]) == 0)
    measures = frame.select(
        local_created.dt.truncate("1mo").alias("month"),
        pl.col(c["priority"]).cast(pl.String).alias("priority"),
        seconds(c["first_response_at"]).alias("frt"),
        seconds(c["resolved_at"]).alias("res"),
        pl.when(pl.col(c["resolved_at"]).is_not_null())
        .then(first)
        .alias("fcr"),
        pl.col(c["csat"]).alias("csat"),
        pl.when(nps >= 9)
        .then(100)
        .when(nps <= 6)
        .then(-100)
        .when(nps.is_not_null())
        .then(0)
        .alias("nps"),
        pl.col(c["handle_seconds"]).alias("aht"),
    )

    def nearest_rank(name: str, num: int, den: int) -> pl.Expr:
        n = pl.col(name).count()  # non-null
        index = ((n * num + (den - 1)) // den - 1).clip(lower_bound=0)
        return pl.col(name).drop_nulls().sort().get(index, null_on_oob=True)

    result = (
        measures.group_by("month", "priority")
        .agg(
            pl.col("frt").count().alias("frt_n"),
            pl.col("frt").sum().alias("frt_sum"),
            nearest_rank("frt", 1, 2).alias("frt_p1_2"),
            nearest_rank("frt", 9, 10).alias("frt_p9_10"),
            pl.len().alias("frt_total"),
            (pl.col("frt") <= 3600).sum().alias("frt_within"),
            pl.col("res").count().alias("res_n"),
            pl.col("res").sum().alias("res_sum"),
            pl.col("fcr").count().alias("fcr_n"),
            pl.col("fcr").sum().alias("fcr_hits"),
            pl.col("csat").count().alias("csat_n"),
            (pl.col("csat") >= 4).sum().alias("csat_hits"),
            pl.col("nps").count().alias("nps_n"),
            pl.col("nps").sum().alias("nps_sum"),
            pl.col("aht").count().alias("aht_n"),
            pl.col("aht").sum().alias("aht_sum"),
        )
        .with_columns(pl.col("month").dt.strftime("%Y-%m").alias("period"))
        .drop("month")
        .collect()
    )
    rows = [tuple(row.items()) for row in result.iter_rows(named=True)]
    total = int(result["frt_total"].sum())
    return per_priority_rows_to_results(rows), total


def run_reading(contract: Path, registry: object) -> tuple[dict, int]:
    """slaengine reading the contract's source as ``evaluate`` does (typed, checked, every
    record placed in its period), with nothing measured or counted: the rows it read."""
    from slaengine.contract import load_contract
    from slaengine.engine import read_source, tuned
    from slaengine.engine.plan import needed_fields

    with tuned():
        loaded = load_contract(contract, registry)
        fields = needed_fields(loaded, registry)["tickets"]
        data = read_source(loaded, loaded.sources["tickets"], fields, registry,
                           on_batch=lambda records, keys: None, keep=[])
    return {}, data.account.read


def run_floor(path: Path, fmt: str, variant: Variant, with_id: bool) -> tuple[dict, int]:
    import pyarrow as pa

    columns = variant.needed(with_id)
    c = variant.columns
    if fmt == "parquet":
        import pyarrow.parquet as pq

        table = pq.read_table(path, columns=columns)
    else:
        import pyarrow.csv as pacsv

        types = {
            c["ticket_id"]: pa.string(),
            c["created_at"]: pa.timestamp("s"),
            c["first_response_at"]: pa.timestamp("s"),
            c["resolved_at"]: pa.timestamp("s"),
            c["priority"]: pa.string(),
            c["contacts"]: pa.int32(),
            c["handle_seconds"]: pa.int32(),
            c["csat"]: pa.int32(),
            c["nps"]: pa.int32(),
        }
        table = pacsv.read_csv(
            path,
            convert_options=pacsv.ConvertOptions(
                include_columns=columns, column_types={c: types[c] for c in columns}
            ),
        )
    return {}, table.num_rows


def child(engine: str, path: Path, fmt: str, variant: Variant, contract: Path | None,
          result: Path) -> None:
    """Run one engine once in this process and write its figures to ``result``."""
    # imports first, outside the timing; for slaengine that includes building the plugin
    # registry, which imports the plugin modules (timed apart as "setup")
    setup = 0.0
    if engine in ("slaengine", "reading"):
        # slaengine imports numpy and pyarrow on first use (slaengine.lazy): import them here,
        # as the other engines' libraries are, so the timing excludes module imports for all
        import numpy  # noqa: F401
        import pyarrow.compute
        import pyarrow.csv
        import pyarrow.dataset
        import pyarrow.parquet
        import tzdata  # noqa: F401  (a dependency: zoneinfo may read the zones from it)

        import slaengine.contract
        import slaengine.engine  # noqa: F401
        from slaengine.pluginmanager import build_registry

        t0 = time.perf_counter()
        registry = build_registry()
        setup = time.perf_counter() - t0
    elif engine == "duckdb":
        import duckdb  # noqa: F401
    elif engine == "polars":
        import polars  # noqa: F401
    else:
        import pyarrow.csv
        import pyarrow.dataset  # pq.read_table reads through it (it imports pandas, if present)
        import pyarrow.parquet  # noqa: F401
    base = rss_mib()
    before = set(sys.modules)
    report = 0.0
    t0 = time.perf_counter()
    if engine == "slaengine":
        figures_, rows, report = run_slaengine(path, fmt, contract, registry,
                                               result.with_suffix(".report.json"))
    elif engine == "reading":
        figures_, rows = run_reading(contract, registry)
    elif engine == "duckdb":
        figures_, rows = run_duckdb(path, fmt, variant)
    elif engine == "polars":
        figures_, rows = run_polars(path, fmt, variant)
    else:
        figures_, rows = run_floor(path, fmt, variant, with_id=engine == "floor+id")
    wall = time.perf_counter() - t0
    # Modules first imported inside the timed work: their import time was counted as work
    imported = sorted(name for name in set(sys.modules) - before if "." not in name)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    if sys.platform == "darwin":
        peak /= 1024  # bytes there
    result.write_text(
        json.dumps(
            {
                "wall": wall,
                "setup": setup,
                "report": report,
                "peak_mib": peak,
                "base_mib": base,
                "rows": rows,
                "imported": imported,
                "figures": figures_,
            }
        )
    )


def rss_mib() -> float | None:
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return None


# ----------------------------------------------------------------------------- comparison


def compare(reference: dict, other: dict, name: str) -> list[str]:
    """Disagreements of ``other`` with slaengine's figures, one line each."""
    problems = []
    for k in sorted(set(reference) | set(other)):
        level = k.split("|", 1)[0]
        ours = reference.get(k, [0, None, None])
        theirs = other.get(k, [0, None, None])
        if ours[0] == 0 and theirs[0] == 0:
            continue
        statistic = LEVELS[level][1]
        if ours[0] != theirs[0]:
            problems.append(f"{name}: {k}: sample size {theirs[0]} vs slaengine {ours[0]}")
        elif statistic == "share" or (isinstance(statistic, tuple) and statistic[0] == "within"):
            if ours[1] != theirs[1]:
                problems.append(
                    f"{name}: {k}: hits {theirs[1]}/{theirs[0]} vs slaengine {ours[1]}/{ours[0]}"
                )
        elif statistic == "mean":
            if not math.isclose(ours[2], theirs[2], rel_tol=MEAN_RTOL, abs_tol=0.0):
                problems.append(f"{name}: {k}: mean {theirs[2]!r} vs slaengine {ours[2]!r}")
        elif ours[2] != theirs[2]:
            problems.append(f"{name}: {k}: percentile {theirs[2]!r} vs slaengine {ours[2]!r}")
    return problems


# ----------------------------------------------------------------------------- driver


def run_once(engine: str, path: Path, fmt: str, variant: str, contract: Path, work: Path,
             ) -> dict | None:
    """One run of ``engine`` in a fresh process; None (and its error shown) when it fails."""
    result = work / f"result-{engine}-{variant}-{fmt}.json"
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        engine,
        "--child-format",
        fmt,
        "--child-variant",
        variant,
        "--child-data",
        str(path),
        "--child-contract",
        str(contract),
        "--child-result",
        str(result),
    ]
    # Every engine runs as the slaengine command does: without OpenBLAS's threads, which no
    # engine here uses and which busy-wait for a while after numpy starts them.
    env = {**os.environ, "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS", "1")}
    done = subprocess.run(command, stderr=subprocess.PIPE, text=True, env=env)
    if done.returncode != 0 or not result.is_file():
        tail = "\n    ".join(done.stderr.strip().splitlines()[-6:])
        print(f"  {engine} {fmt}: failed (exit {done.returncode}):\n    {tail}", file=sys.stderr)
        return None
    data = json.loads(result.read_text())
    result.unlink()
    result.with_suffix(".report.json").unlink(missing_ok=True)
    return data


def machine() -> str:
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
        memory_text = f", {memory:.0f} GiB RAM"
    except (ValueError, OSError):
        memory_text = ""
    return (
        f"{os.cpu_count()} cores ({model}){memory_text}, {platform.system()} "
        f"{platform.release()}, Python {platform.python_version()}"
    )


def versions() -> str:
    parts = []
    for module in ("slaengine", "pyarrow", "duckdb", "polars", "numpy"):
        try:
            parts.append(f"{module} {__import__(module).__version__}")
        except ImportError:
            parts.append(f"{module} (not installed)")
    return ", ".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rows",
        type=int,
        action="append",
        help="tickets to generate and measure (repeatable; 1000000)",
    )
    parser.add_argument(
        "--format",
        choices=FORMATS,
        action="append",
        help="file format (repeatable; both by default)",
    )
    parser.add_argument(
        "--engine",
        choices=ENGINES,
        action="append",
        help="engines to run (repeatable; all by default; slaengine always runs "
        "when another engine's figures are checked)",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "slaengine-bench",
        help="where the generated files are kept and reused",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="rounds, each running every engine once; the best and median wall time and the "
        "largest peak count",
    )
    parser.add_argument(
        "--variant",
        choices=tuple(VARIANTS),
        action="append",
        help="shape of the generated tickets (repeatable; both by default): reference "
        "(examples/generate.py, Parquet and CSV) or exports (examples/generate_exports.py: "
        "int64 ids, int8 dictionary categories, nullable int8 figures, UTC times; Parquet only)",
    )
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--child", choices=ENGINES, help=argparse.SUPPRESS)
    parser.add_argument("--child-format", choices=FORMATS, help=argparse.SUPPRESS)
    parser.add_argument("--child-variant", choices=tuple(VARIANTS), help=argparse.SUPPRESS)
    parser.add_argument("--child-data", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--child-contract", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--child-result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child, args.child_data, args.child_format, VARIANTS[args.child_variant],
              args.child_contract, args.child_result)
        return 0

    check_reference()
    sizes = args.rows or [1_000_000]
    formats = args.format or list(FORMATS)
    variants = args.variant or list(VARIANTS)
    engines = [e for e in ENGINES if e in (args.engine or ENGINES)]
    if any(e in engines for e in ("duckdb", "polars")) and "slaengine" not in engines:
        engines.insert(0, "slaengine")

    print(f"machine: {machine()}")
    print(f"versions: {versions()}")
    print("percentiles:")
    for name, text in PERCENTILE_DEFINITIONS.items():
        print(f"  {name}: {text}")
    print(
        f"means compared to {MEAN_RTOL:g} relative; counts, shares, attainment (hits/n) and "
        "percentiles exactly"
    )
    print()

    rows_out: list[dict] = []
    problems: list[str] = []
    compared = 0
    with tempfile.TemporaryDirectory(prefix="slaengine-bench-") as tmp:
        work = Path(tmp)
        plan = [(size, name, fmt) for size in sizes for name in variants for fmt in formats
                if fmt in VARIANTS[name].formats]
        for size, name, fmt in plan:
            variant = VARIANTS[name]
            path = data_file(args.data_dir, size, fmt, variant)
            contract = contract_copy(path, fmt, variant, work)
            found: dict[str, dict] = {}
            # Rounds: every engine once per round, so a machine whose speed drifts (shared
            # hosts do) slows all engines alike instead of the ones measured last.
            runs: dict[str, list[dict | None]] = {engine: [] for engine in engines}
            for _ in range(max(args.repeat, 1)):
                for engine in engines:
                    runs[engine].append(run_once(engine, path, fmt, name, contract, work))
            for engine in engines:
                done = runs[engine]
                if any(r is None for r in done):
                    problems.append(f"{name} {fmt} {size:,}: {engine} failed (see above)")
                    continue
                measured = [r for r in done if r is not None]
                best = min(measured, key=lambda r: r["wall"])
                best["peak_mib"] = max(r["peak_mib"] for r in measured)
                best["median"] = statistics.median(r["wall"] for r in measured)
                found[engine] = best
                print(
                    f"  {engine:<10} {name:<9} {fmt:<8} {size:>11,} rows  {best['wall']:7.2f} s  "
                    f"(median {best['median']:.2f} s)  {best['peak_mib']:7.0f} MiB"
                    + (f"  (+{best['setup']:.2f} s plugin registry)" if best["setup"] else ""),
                    file=sys.stderr,
                    flush=True,
                )
                imported = sorted({m for r in measured for m in r["imported"]})
                if imported:
                    problems.append(
                        f"{engine} {name} {fmt} {size}: imported {', '.join(imported)} inside "
                        "the timed work (import it before the clock starts)"
                    )
                if best["rows"] != size:
                    problems.append(
                        f"{engine} {name} {fmt} {size}: read {best['rows']} rows, expected {size}"
                    )
            reference = found.get("slaengine", {}).get("figures")
            if reference is not None:
                compared += len(reference)
            for engine in ("duckdb", "polars"):
                if engine in found and reference is not None:
                    problems += [
                        f"{name} {fmt} {size:,}: {p}"
                        for p in compare(reference, found[engine]["figures"], engine)
                    ]
            sla = found.get("slaengine", {}).get("wall")
            for engine, r in found.items():
                rows_out.append(
                    {
                        "engine": engine,
                        "variant": name,
                        "format": fmt,
                        "rows": size,
                        "wall_s": r["wall"],
                        "median_s": r["median"],
                        "rows_per_s": size / r["wall"] if r["wall"] else None,
                        "peak_mib": r["peak_mib"],
                        "base_mib": r["base_mib"],
                        "setup_s": r["setup"],
                        "report_s": r["report"],
                        "sla_over_this": sla / r["wall"] if sla and r["wall"] else None,
                    }
                )

    print_table(rows_out)
    checked = "duckdb" in engines or "polars" in engines
    if checked:
        print(
            f"agree: {'no' if problems else 'yes'} ({compared} slaengine figures "
            "(service level x month x segment) checked against each of "
            f"{', '.join(e for e in ('duckdb', 'polars') if e in engines)})"
        )
    for problem in problems[:200]:
        print(f"  {problem}")
    if len(problems) > 200:
        print(f"  ... and {len(problems) - 200} more")
    print_goals(rows_out)
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "machine": machine(),
                    "versions": versions(),
                    "runs": rows_out,
                    "agree": not problems,
                    "problems": problems,
                },
                indent=2,
            )
        )
    return 1 if problems else 0


def print_table(rows: list[dict]) -> None:
    print()
    print(
        "wall: best seconds of work in a fresh process, median: of the rounds (imports "
        "excluded; for slaengine also the "
        "plugin registry, which imports the plugins: its seconds are 'setup s'; slaengine's "
        "wall includes writing the JSON report, 'json s'); peak: the "
        "process's max RSS; base: RSS after imports"
    )
    print("sla/this: slaengine's wall time / this engine's (< 1.0: slaengine is faster)")
    header = (
        f"{'engine':<10} {'variant':<9} {'format':<8} {'rows':>11} {'wall s':>8} "
        f"{'median s':>9} {'rows/s':>12} {'peak MiB':>9} {'base MiB':>9} {'sla/this':>9} "
        f"{'setup s':>8} {'json s':>7}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        ratio = f"{r['sla_over_this']:.2f}" if r["sla_over_this"] else "-"
        base = f"{r['base_mib']:.0f}" if r["base_mib"] is not None else "-"
        print(
            f"{r['engine']:<10} {r['variant']:<9} {r['format']:<8} {r['rows']:>11,} "
            f"{r['wall_s']:>8.2f} {r['median_s']:>9.2f} "
            f"{r['rows_per_s']:>12,.0f} {r['peak_mib']:>9.0f} {base:>9} {ratio:>9} "
            + (f"{r['setup_s']:>8.2f}" if r["setup_s"] else f"{'-':>8}")
            + (f" {r['report_s']:>7.3f}" if r["report_s"] else f" {'-':>7}")
        )
    print()


def print_goals(rows: list[dict]) -> None:
    """The performance goals (see the README), for the largest size measured: on Parquet,
    slaengine within 1.5x of pyarrow reading the columns it reads (floor+id), at most 0.7x
    DuckDB's time, under 512 MiB, its JSON report in under 0.1 s; on CSV within 1.2x of
    pyarrow.csv reading them."""
    if not rows:
        return
    size = max(r["rows"] for r in rows)
    at = {(r["engine"], r["variant"], r["format"]): r for r in rows if r["rows"] == size}
    lines = []

    def ratio(name: str, fmt: str, other: str, goal: str, engine: str = "slaengine") -> None:
        ours, them = at.get((engine, name, fmt)), at.get((other, name, fmt))
        if ours and them:
            lines.append(
                f"{name} {fmt}: {engine} / {other} = {ours['wall_s'] / them['wall_s']:.2f} "
                f"best, {ours['median_s'] / them['median_s']:.2f} median ({goal})"
            )

    for name in VARIANTS:
        ratio(name, "parquet", "floor+id", "goal <= 1.5")
        ratio(name, "parquet", "floor+id", "slaengine's reading alone: what no level can remove",
              engine="reading")
        ratio(name, "parquet", "duckdb", "goal <= 0.7")
        ratio(name, "parquet", "polars", "goal < 1.0")
        sla = at.get(("slaengine", name, "parquet"))
        if sla:
            lines.append(
                f"{name} parquet: slaengine peak {sla['peak_mib']:.0f} MiB (goal < 512), "
                f"JSON report {sla['report_s']:.3f} s (goal < 0.1)"
            )
        ratio(name, "csv", "floor+id", "goal <= 1.2")
    if lines:
        print(f"goals at {size:,} rows:")
        for line in lines:
            print(f"  {line}")


if __name__ == "__main__":
    sys.exit(main())
