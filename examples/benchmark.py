#!/usr/bin/env python
"""Benchmark: slaengine against DuckDB SQL and polars on the same contract and the same file.

Not a test (nothing here asserts a time). From a fresh clone::

    pip install -e ".[bench]" && python examples/benchmark.py --rows 1000000

(``--rows 1000000 --rows 10000000`` for both sizes; ``--format parquet`` or ``--format csv`` for
one format; ``--data-dir DIR`` to keep the generated files somewhere else; ``--repeat 3`` for three
rounds (every engine once per round; the best and the median wall time are shown);
``--json FILE`` to keep the figures.)

What it does:

1. Generates the reference tickets with ``examples/generate.py`` (seed 7, January-June 2026) as
   Parquet and as CSV, once: files already in the data directory (default: ``slaengine-bench``
   in the system's temporary directory) are reused.
2. For each format runs, each in its own fresh Python process (so the peak memory, the process's
   own ``ru_maxrss``, belongs to that engine alone):

   - ``slaengine``: ``load_contract`` + ``evaluate`` through the Python API on
     ``examples/benchmark/reference.toml`` (a temporary copy pointing at the file);
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
from pathlib import Path

HERE = Path(__file__).resolve().parent
GENERATOR = HERE / "generate.py"
REFERENCE = HERE / "benchmark" / "reference.toml"
TZ = "America/New_York"
SEED = 7
ENGINES = ("slaengine", "duckdb", "polars", "floor", "floor+id")
FORMATS = ("parquet", "csv")

# The columns the numbers need (slaengine also reads "Ticket ID").
NEEDED = ["Created", "First Reply", "Solved", "Priority", "Contacts", "Handle (s)", "CSAT", "NPS"]
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


def data_file(data_dir: Path, rows: int, fmt: str) -> Path:
    """The generated file for ``rows`` tickets in ``fmt``, made once and then reused."""
    path = data_dir / f"tickets-{rows}-seed{SEED}.{fmt}"
    if path.is_file():
        return path
    data_dir.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    print(f"generating {path} ...", file=sys.stderr, flush=True)
    subprocess.run(
        [
            sys.executable,
            str(GENERATOR),
            "--rows",
            str(rows),
            "--seed",
            str(SEED),
            "--format",
            fmt,
            "--out",
            str(partial),
        ],
        check=True,
    )
    partial.replace(path)
    return path


def contract_copy(data: Path, fmt: str, folder: Path) -> Path:
    """A copy of the reference contract reading ``data`` with the adapter for ``fmt``."""
    import tomli_w

    document = tomllib.loads(REFERENCE.read_text(encoding="utf-8"))
    source = document["sources"]["tickets"]
    source["adapter"] = "arrow" if fmt == "parquet" else "csv"
    source["path"] = str(data)
    out = folder / f"reference-{fmt}.toml"
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


def run_slaengine(path: Path, fmt: str, contract: Path, registry: object) -> tuple[dict, int]:
    from slaengine.contract import load_contract
    from slaengine.engine import evaluate, tuned

    with tuned():
        evaluation = evaluate(load_contract(contract, registry), registry)
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
    return out, evaluation.sources["tickets"].read


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


def run_duckdb(path: Path, fmt: str) -> tuple[dict, int]:
    import duckdb

    con = duckdb.connect()
    if fmt == "parquet":
        source = f"read_parquet('{path}')"
        # tz-aware instants: local month via timezone(), durations between the instants
        month = f"date_trunc('month', timezone('{TZ}', \"Created\"))"
        instant = '"{}"'.format
    else:
        columns = {c: "VARCHAR" for c in csv_columns(Path(path))}
        columns.update(
            {
                "Created": "TIMESTAMP",
                "First Reply": "TIMESTAMP",
                "Solved": "TIMESTAMP",
                "Contacts": "INTEGER",
                "Handle (s)": "INTEGER",
                "CSAT": "INTEGER",
                "NPS": "INTEGER",
            }
        )
        spec = ", ".join(f"'{c}': '{t}'" for c, t in columns.items())
        source = f"read_csv('{path}', header = true, auto_detect = false, columns = {{{spec}}})"
        # naive local wall times: the month is that of the wall time; instants via timezone()
        month = "date_trunc('month', \"Created\")"
        instant = f"timezone('{TZ}', \"{{}}\")".format

    def seconds(end: str) -> str:
        return f"(epoch_us({instant(end)}) - epoch_us({instant('Created')})) / 1e6"

    query = f"""
    WITH t AS (
        SELECT {month} AS month, "Priority" AS priority,
               {seconds("First Reply")} AS frt,
               {seconds("Solved")} AS res,
               CASE WHEN "Solved" IS NOT NULL THEN "Contacts" = 1 END AS fcr,
               "CSAT" AS csat,
               CASE WHEN "NPS" >= 9 THEN 100 WHEN "NPS" <= 6 THEN -100
                    WHEN "NPS" IS NOT NULL THEN 0 END AS nps,
               "Handle (s)" AS aht
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


def run_polars(path: Path, fmt: str) -> tuple[dict, int]:
    import polars as pl

    if fmt == "parquet":
        frame = pl.scan_parquet(path)
        created = pl.col("Created")  # tz-aware: month and components are New York local
        local_created = created

        def instant(name: str) -> pl.Expr:
            return pl.col(name)
    else:
        # Text, then parsed with the explicit format: a Datetime in the CSV schema is ~3.5x
        # slower on 10M rows (polars infers the pattern value by value).
        schema = {c: pl.String for c in csv_columns(Path(path))}
        schema.update(
            {"Contacts": pl.Int32, "Handle (s)": pl.Int32, "CSAT": pl.Int32, "NPS": pl.Int32}
        )
        frame = pl.scan_csv(path, schema=schema).with_columns(
            pl.col(c).str.to_datetime("%Y-%m-%d %H:%M:%S", time_unit="us")
            for c in ("Created", "First Reply", "Solved")
        )
        local_created = pl.col("Created")  # naive wall time: its month is the local month

        def instant(name: str) -> pl.Expr:
            return pl.col(name).dt.replace_time_zone(TZ, ambiguous="earliest", non_existent="null")

    def seconds(end: str) -> pl.Expr:
        micros = instant(end).cast(pl.Int64) - instant("Created").cast(pl.Int64)
        return micros / 1e6

    nps = pl.col("NPS")
    measures = frame.select(
        local_created.dt.truncate("1mo").alias("month"),
        pl.col("Priority").alias("priority"),
        seconds("First Reply").alias("frt"),
        seconds("Solved").alias("res"),
        pl.when(pl.col("Solved").is_not_null()).then(pl.col("Contacts") == 1).alias("fcr"),
        pl.col("CSAT").alias("csat"),
        pl.when(nps >= 9)
        .then(100)
        .when(nps <= 6)
        .then(-100)
        .when(nps.is_not_null())
        .then(0)
        .alias("nps"),
        pl.col("Handle (s)").alias("aht"),
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


def run_floor(path: Path, fmt: str, with_id: bool) -> tuple[dict, int]:
    import pyarrow as pa

    columns = (["Ticket ID"] if with_id else []) + NEEDED
    if fmt == "parquet":
        import pyarrow.parquet as pq

        table = pq.read_table(path, columns=columns)
    else:
        import pyarrow.csv as pacsv

        types = {
            "Ticket ID": pa.string(),
            "Created": pa.timestamp("s"),
            "First Reply": pa.timestamp("s"),
            "Solved": pa.timestamp("s"),
            "Priority": pa.string(),
            "Contacts": pa.int32(),
            "Handle (s)": pa.int32(),
            "CSAT": pa.int32(),
            "NPS": pa.int32(),
        }
        table = pacsv.read_csv(
            path,
            convert_options=pacsv.ConvertOptions(
                include_columns=columns, column_types={c: types[c] for c in columns}
            ),
        )
    return {}, table.num_rows


def child(engine: str, path: Path, fmt: str, contract: Path | None, result: Path) -> None:
    """Run one engine once in this process and write its figures to ``result``."""
    # imports first, outside the timing; for slaengine that includes building the plugin
    # registry, which imports the plugin modules (timed apart as "setup")
    setup = 0.0
    if engine == "slaengine":
        # slaengine imports numpy and pyarrow on first use (slaengine.lazy): import them here,
        # as the other engines' libraries are, so the timing excludes module imports for all
        import numpy  # noqa: F401
        import pyarrow.compute
        import pyarrow.csv
        import pyarrow.dataset
        import pyarrow.parquet

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
        import pyarrow.parquet  # noqa: F401
    base = rss_mib()
    t0 = time.perf_counter()
    if engine == "slaengine":
        figures_, rows = run_slaengine(path, fmt, contract, registry)
    elif engine == "duckdb":
        figures_, rows = run_duckdb(path, fmt)
    elif engine == "polars":
        figures_, rows = run_polars(path, fmt)
    else:
        figures_, rows = run_floor(path, fmt, with_id=engine == "floor+id")
    wall = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    if sys.platform == "darwin":
        peak /= 1024  # bytes there
    result.write_text(
        json.dumps(
            {
                "wall": wall,
                "setup": setup,
                "peak_mib": peak,
                "base_mib": base,
                "rows": rows,
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


def run_once(engine: str, path: Path, fmt: str, contract: Path, work: Path) -> dict | None:
    """One run of ``engine`` in a fresh process; None (and its error shown) when it fails."""
    result = work / f"result-{engine}-{fmt}.json"
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        engine,
        "--child-format",
        fmt,
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
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--child", choices=ENGINES, help=argparse.SUPPRESS)
    parser.add_argument("--child-format", choices=FORMATS, help=argparse.SUPPRESS)
    parser.add_argument("--child-data", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--child-contract", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--child-result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(
            args.child, args.child_data, args.child_format, args.child_contract, args.child_result
        )
        return 0

    check_reference()
    sizes = args.rows or [1_000_000]
    formats = args.format or list(FORMATS)
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
        for size in sizes:
            for fmt in formats:
                path = data_file(args.data_dir, size, fmt)
                contract = contract_copy(path, fmt, work)
                found: dict[str, dict] = {}
                # Rounds: every engine once per round, so a machine whose speed drifts (shared
                # hosts do) slows all engines alike instead of the ones measured last.
                runs: dict[str, list[dict | None]] = {engine: [] for engine in engines}
                for _ in range(max(args.repeat, 1)):
                    for engine in engines:
                        runs[engine].append(run_once(engine, path, fmt, contract, work))
                for engine in engines:
                    done = runs[engine]
                    if any(r is None for r in done):
                        problems.append(f"{fmt} {size:,}: {engine} failed (see above)")
                        continue
                    measured = [r for r in done if r is not None]
                    best = min(measured, key=lambda r: r["wall"])
                    best["peak_mib"] = max(r["peak_mib"] for r in measured)
                    best["median"] = statistics.median(r["wall"] for r in measured)
                    found[engine] = best
                    print(
                        f"  {engine:<10} {fmt:<8} {size:>11,} rows  {best['wall']:7.2f} s  "
                        f"(median {best['median']:.2f} s)  {best['peak_mib']:7.0f} MiB"
                        + (f"  (+{best['setup']:.2f} s plugin registry)" if best["setup"] else ""),
                        file=sys.stderr,
                        flush=True,
                    )
                    if best["rows"] != size:
                        problems.append(
                            f"{engine} {fmt} {size}: read {best['rows']} rows, expected {size}"
                        )
                reference = found.get("slaengine", {}).get("figures")
                if reference is not None:
                    compared += len(reference)
                for engine in ("duckdb", "polars"):
                    if engine in found and reference is not None:
                        problems += [
                            f"{fmt} {size:,}: {p}"
                            for p in compare(reference, found[engine]["figures"], engine)
                        ]
                sla = found.get("slaengine", {}).get("wall")
                for engine, r in found.items():
                    rows_out.append(
                        {
                            "engine": engine,
                            "format": fmt,
                            "rows": size,
                            "wall_s": r["wall"],
                            "median_s": r["median"],
                            "rows_per_s": size / r["wall"] if r["wall"] else None,
                            "peak_mib": r["peak_mib"],
                            "base_mib": r["base_mib"],
                            "setup_s": r["setup"],
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
        "plugin registry, which imports the plugins: its seconds are 'setup s'); peak: the "
        "process's max RSS; base: RSS after imports"
    )
    print("sla/this: slaengine's wall time / this engine's (< 1.0: slaengine is faster)")
    header = (
        f"{'engine':<10} {'format':<8} {'rows':>11} {'wall s':>8} {'median s':>9} {'rows/s':>12} "
        f"{'peak MiB':>9} {'base MiB':>9} {'sla/this':>9} {'setup s':>8}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        ratio = f"{r['sla_over_this']:.2f}" if r["sla_over_this"] else "-"
        base = f"{r['base_mib']:.0f}" if r["base_mib"] is not None else "-"
        print(
            f"{r['engine']:<10} {r['format']:<8} {r['rows']:>11,} {r['wall_s']:>8.2f} "
            f"{r['median_s']:>9.2f} "
            f"{r['rows_per_s']:>12,.0f} {r['peak_mib']:>9.0f} {base:>9} {ratio:>9} "
            + (f"{r['setup_s']:>8.2f}" if r["setup_s"] else f"{'-':>8}")
        )
    print()


def print_goals(rows: list[dict]) -> None:
    """The performance goals (see the README), for the largest size measured."""
    if not rows:
        return
    size = max(r["rows"] for r in rows)
    at = {(r["engine"], r["format"]): r for r in rows if r["rows"] == size}
    lines = []
    sla = at.get(("slaengine", "parquet"))
    if sla:
        for other in ("duckdb", "polars"):
            if (other, "parquet") in at:
                them = at[(other, "parquet")]
                lines.append(
                    f"parquet: slaengine / {other} = {sla['wall_s'] / them['wall_s']:.2f} best, "
                    f"{sla['median_s'] / them['median_s']:.2f} median (goal < 1.0)")
        lines.append(f"parquet: slaengine peak {sla['peak_mib']:.0f} MiB (goal < 512)")
    sla_csv, floor_csv = at.get(("slaengine", "csv")), at.get(("floor+id", "csv"))
    if sla_csv and floor_csv:
        lines.append(
            f"csv: slaengine / pyarrow.csv floor+id = "
            f"{sla_csv['wall_s'] / floor_csv['wall_s']:.2f} best, "
            f"{sla_csv['median_s'] / floor_csv['median_s']:.2f} median (goal <= 1.2)"
        )
    if lines:
        print(f"goals at {size:,} rows:")
        for line in lines:
            print(f"  {line}")


if __name__ == "__main__":
    sys.exit(main())
