#!/usr/bin/env python
"""Benchmark: slaengine's event clocks against DuckDB SQL with window functions, same file.

Not a test (nothing here asserts a time). From a fresh clone::

    pip install -e ".[bench]" && python examples/bench_clocks.py --tickets 5000000 --repeat 3

(``--tickets`` is repeatable; ``--data-dir DIR`` keeps the generated files somewhere else;
``--repeat 3`` runs three rounds, every engine once per round, and shows the best and the median
wall time; ``--json FILE`` keeps the figures.)

What it does:

1. Generates ticket histories with ``examples/generate_events.py`` (seed 7, January-March 2026)
   as Parquet, once: a file already in the data directory (default: ``slaengine-bench`` in the
   system's temporary directory) is reused.
2. Runs each engine in its own fresh Python process (so the peak memory, the process's own
   ``ru_maxrss``, belongs to that engine alone); the wall time is measured inside the process
   around the work, module imports excluded:

   - ``slaengine``: ``pyarrow.parquet.read_table`` of the six columns the clocks read, then
     ``slaengine.clocks.measure`` of ``requester_wait_time``, ``agent_work_time`` and
     ``reply_time`` round the clock (the ``ALWAYS`` calendar), then the monthly figures from the
     records with numpy/pyarrow. This is the clocks' own function on an Arrow table, not a
     contract evaluated through a source and the engine.
   - ``duckdb``: one SQL query over the same file computing the same clocks with window
     functions, the way dbt packages rebuild Zendesk's metrics from ticket history.
3. Checks that both give the same figures per clock and month of the record's start (UTC):
   records measured, records still running at the end of the data, the sum of the measured
   records' time in whole microseconds and how many were within 4 hours (attainment hits / n),
   all compared exactly as integers. Exit status 1 when they differ, with the first differing
   clock and month.

The SQL follows the clocks' definitions (``slaengine/clocks/__init__.py``): a ticket's creation
is its earliest ``created`` event (else its earliest event) and earlier events are taken at the
creation; simultaneous events of a ticket are ordered creation, stop (solved/closed), pause
(pending/hold), start (new/open), then everything else, each kind in file order
(``file_row_number``); a solve takes an unsolved ticket to solved or closed, so closing a solved
ticket is no new solve; the ticket clocks run in new/open/hold (requester wait) or new/open
(agent work), continue after a reopen and are measured only when the ticket ends solved; a reply
instance starts at the creation of a ticket the requester opened or at the first public
requester comment after the previous instance ended, and ends at the next public agent comment
or solve (none: still running).

Requires the ``bench`` extra (``duckdb``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
GENERATOR = HERE / "generate_events.py"
SEED = 7
ENGINES = ("slaengine", "duckdb", "contract")
CLOCKS = ("requester_wait_time", "agent_work_time", "reply_time")
COLUMNS = ["ticket_id", "at", "event", "status", "author", "public"]
WITHIN_US = 4 * 3600 * 1_000_000  # attainment target: within 4 hours
FIGURES = ("measured", "running", "sum_us", "within_4h")

# Figures: {"clock|YYYY-MM": [measured, running, sum_us, within_4h]}, integers.


# ----------------------------------------------------------------------------- data


def data_file(data_dir: Path, tickets: int) -> Path:
    """The generated events of ``tickets`` tickets as Parquet, made once and then reused."""
    path = data_dir / f"events-{tickets}-seed{SEED}.parquet"
    if path.is_file():
        return path
    data_dir.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    print(f"generating {path} ...", file=sys.stderr, flush=True)
    subprocess.run([sys.executable, str(GENERATOR), "--tickets", str(tickets), "--seed",
                    str(SEED), "--format", "parquet", "--out", str(partial)], check=True)
    partial.replace(path)
    return path


# ----------------------------------------------------------------------------- the engines


def run_slaengine(path: Path) -> dict[str, list[int]]:
    """The three clocks measured by ``slaengine.clocks.measure`` on the file read with
    ``pyarrow.parquet``, summed per clock and month of the record's start."""
    import pyarrow.parquet as pq

    from slaengine.calendars import ALWAYS
    from slaengine.clocks import measure

    events = pq.read_table(path, columns=COLUMNS)
    found = measure(events, CLOCKS, calendar=ALWAYS)
    out: dict[str, list[int]] = {}
    for clock in CLOCKS:
        out.update(monthly(clock, found[clock].records))
    return out


def monthly(clock: str, records) -> dict[str, list[int]]:
    """Per month of ``started_at`` (UTC): measured, running, sum of the measured records'
    microseconds, measured records within 4 hours. Whole arrays, integer sums."""
    import numpy as np
    import pyarrow as pa

    started = records["started_at"].combine_chunks().cast(pa.int64()).to_numpy()
    month = started.astype("datetime64[us]").astype("datetime64[M]")
    running = records["running"].combine_chunks().to_numpy(zero_copy_only=False)
    seconds = records["seconds"].combine_chunks().to_numpy(zero_copy_only=False)
    micros = np.where(running, 0, np.rint(np.nan_to_num(seconds) * 1e6)).astype(np.int64)
    measured = ~running
    months, index = np.unique(month, return_inverse=True)
    table = pa.table({
        "m": pa.array(index.astype(np.int32)),
        "measured": pa.array(measured.astype(np.int64)),
        "running": pa.array(running.astype(np.int64)),
        "sum_us": pa.array(micros),
        "within_4h": pa.array((measured & (micros <= WITHIN_US)).astype(np.int64)),
    })
    sums = table.group_by("m").aggregate([(name, "sum") for name in FIGURES])
    names = np.datetime_as_string(months, unit="M")
    return {f"{clock}|{names[m]}": [int(sums[f"{name}_sum"][i].as_py()) for name in FIGURES]
            for i, m in enumerate(sums["m"].to_pylist())}


DUCKDB_QUERY = """
WITH raw AS (
    SELECT ticket_id AS t, epoch_us("at") AS us, file_row_number AS row, event::VARCHAR AS event,
           CASE WHEN event = 'status' THEN status::VARCHAR END AS status,
           author::VARCHAR AS author, coalesce(public, false) AS public
    FROM read_parquet('{path}', file_row_number = true)
),
-- creation: the earliest created event (by instant, then file order), else the earliest event;
-- outbound: that created event's author is an agent or the system
tickets AS (
    SELECT t,
           coalesce(min(us) FILTER (WHERE event = 'created'), min(us)) AS created_us,
           coalesce(arg_min(coalesce(author IN ('agent', 'system'), false), (us, row))
                    FILTER (WHERE event = 'created'), false) AS outbound
    FROM raw GROUP BY t
),
-- one creation row first in each ticket; events before the creation taken at it; the rank of
-- simultaneous events: creation, stop, pause, start, the rest
hist AS (
    SELECT t, greatest(us, created_us) AS us, row, event, status,
           CASE WHEN status IN ('solved', 'closed') THEN 1
                WHEN status IN ('pending', 'hold') THEN 2
                WHEN status IN ('new', 'open') THEN 3 ELSE 4 END AS rank,
           event = 'comment' AND public AND author = 'requester' AS requester,
           event = 'comment' AND public AND author = 'agent' AS agent
    FROM raw JOIN tickets USING (t)
    UNION ALL
    SELECT t, created_us, -1, 'creation', NULL, 0, NOT outbound, false FROM tickets
),
-- the status after each event and before it (new before the first status event)
state AS MATERIALIZED (
    SELECT t, us, rank, row, requester, agent,
           coalesce(last_value(status IGNORE NULLS) OVER upto, 'new') AS st,
           coalesce(last_value(status IGNORE NULLS) OVER before, 'new') AS prev,
           lead(us) OVER upto AS next_us
    FROM hist
    WINDOW upto AS (PARTITION BY t ORDER BY us, rank, row
                    ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW),
           before AS (PARTITION BY t ORDER BY us, rank, row
                      ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
),
-- ticket clocks: a ticket ending solved is measured; after its last solve nothing runs, so its
-- time is the sum of the spans spent in the running statuses
ticket_clocks AS (
    SELECT min(us) AS start_us,
           arg_max(st, (us, rank, row)) IN ('solved', 'closed') AS done,
           sum(CASE WHEN st IN ('new', 'open', 'hold') THEN next_us - us ELSE 0 END) AS wait_us,
           sum(CASE WHEN st IN ('new', 'open') THEN next_us - us ELSE 0 END) AS work_us
    FROM state GROUP BY t
),
-- reply instances: among the starters (requester messages, the creation of a ticket the
-- requester opened) and closers (answers, solves), a starter right after a closer (or first)
-- opens an instance, which the next closer ends
marks AS (
    SELECT t, us, rank, row, requester AS starter,
           agent OR (st IN ('solved', 'closed') AND prev NOT IN ('solved', 'closed')) AS closer
    FROM state
    WHERE requester OR agent OR (st IN ('solved', 'closed') AND prev NOT IN ('solved', 'closed'))
),
replies AS (
    SELECT us AS start_us, end_us - us AS reply_us FROM (
        SELECT us, starter,
               coalesce(NOT lag(starter) OVER w, true) AS opens,
               min(CASE WHEN closer THEN us END) OVER (w ROWS BETWEEN 1 FOLLOWING
                                                         AND UNBOUNDED FOLLOWING) AS end_us
        FROM marks
        WINDOW w AS (PARTITION BY t ORDER BY us, rank, row)
    ) WHERE starter AND opens
),
records AS (
    SELECT 'requester_wait_time' AS clock, start_us, CASE WHEN done THEN wait_us END AS us
    FROM ticket_clocks
    UNION ALL
    SELECT 'agent_work_time', start_us, CASE WHEN done THEN work_us END FROM ticket_clocks
    UNION ALL
    SELECT 'reply_time', start_us, reply_us FROM replies
)
SELECT clock, strftime(make_timestamp(start_us), '%Y-%m') AS month,
       count(us) AS measured, count(*) - count(us) AS running,
       coalesce(sum(us), 0) AS sum_us, count(*) FILTER (WHERE us <= {within}) AS within_4h
FROM records GROUP BY ALL ORDER BY ALL
"""


def run_duckdb(path: Path) -> dict[str, list[int]]:
    """The same figures from one SQL query over the file."""
    import duckdb

    con = duckdb.connect()
    query = DUCKDB_QUERY.format(path=str(path).replace("'", "''"), within=WITHIN_US)
    rows = con.execute(query).fetchall()
    return {f"{clock}|{month}": [int(v) for v in values] for clock, month, *values in rows}


CONTRACT = """[contract]
id = "bench-clocks"
client = "Client"
vendor = "Vendor"
period = "month"
timezone = "UTC"

[sources.events]
adapter = "arrow"
kind = "events"
path = "{path}"
{levels}"""

LEVEL = """
[[service_levels]]
id = "{clock}"
metric = "{clock}"
target = "100% within 4h"
"""


def run_contract(path: Path) -> dict[str, list[int]]:
    """The three clocks as the service levels of a contract evaluated by ``slaengine.evaluate``
    (source, engine, the events held in parts on disk past the memory budget): per clock and
    month, the records (the attainment's sample: measured or running) and those within 4h."""
    import slaengine

    with tempfile.TemporaryDirectory(prefix="slaengine-bench-contract-") as folder:
        contract = Path(folder) / "contract.toml"
        levels = "".join(LEVEL.format(clock=clock) for clock in CLOCKS)
        contract.write_text(CONTRACT.format(path=path.resolve().as_posix(), levels=levels))
        result = slaengine.evaluate(contract)
    return {f"{v.service_level}|{v.period}": [v.sample_size, int(v.hits or 0)]
            for v in result.verdicts}


ENGINE_RUNS = {"slaengine": run_slaengine, "duckdb": run_duckdb, "contract": run_contract}


# ----------------------------------------------------------------------------- comparison


def compare(reference: dict[str, list[int]], other: dict[str, list[int]],
            name: str = "duckdb") -> list[str]:
    """Disagreements of ``other`` with slaengine's figures, one line each, in clock and month
    order (the first is the first differing clock and month)."""
    problems = []
    order = {clock: i for i, clock in enumerate(CLOCKS)}
    keys = sorted(set(reference) | set(other),
                  key=lambda k: (order.get(k.split("|")[0], len(order)), k))
    zero = [0] * len(FIGURES)
    for k in keys:
        ours, theirs = reference.get(k, zero), other.get(k, zero)
        for figure, a, b in zip(FIGURES, ours, theirs, strict=True):
            if a != b:
                problems.append(f"{k}: {figure}: {name} {b} vs slaengine {a}")
    return problems


def compare_contract(reference: dict[str, list[int]],
                     contract: dict[str, list[int]]) -> list[str]:
    """Disagreements of the contract's verdicts with the clocks' figures: per clock and month
    the records (measured + running: an attainment's sample) and those within 4h."""
    problems = []
    for k in sorted(set(reference) | set(contract)):
        measured, running, _, within = reference.get(k, [0, 0, 0, 0])
        found = contract.get(k, [0, 0])
        if [measured + running, within] != found:
            problems.append(f"{k}: records and within 4h: contract {found} vs "
                            f"{[measured + running, within]}")
    return problems


def totals(figures: dict[str, list[int]]) -> dict[str, list[int]]:
    """Per clock, the figures summed over the months."""
    out: dict[str, list[int]] = {}
    for k, values in figures.items():
        clock = k.split("|")[0]
        out[clock] = [a + b for a, b in zip(out.get(clock, [0] * len(FIGURES)), values,
                                            strict=True)]
    return out


# ----------------------------------------------------------------------------- driver


def child(engine: str, path: Path, result: Path) -> None:
    """Run one engine once in this process and write its figures and costs to ``result``."""
    # imports first, outside the timing (slaengine imports numpy and pyarrow on first use)
    if engine in ("slaengine", "contract"):
        import numpy  # noqa: F401
        import pyarrow.compute
        import pyarrow.parquet  # noqa: F401

        import slaengine.calendars
        import slaengine.clocks
    if engine == "contract":
        import slaengine.api
        import slaengine.engine  # noqa: F401
    elif engine == "duckdb":
        import duckdb  # noqa: F401
    base = rss_mib()
    t0 = time.perf_counter()
    figures = ENGINE_RUNS[engine](path)
    wall = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    if sys.platform == "darwin":
        peak /= 1024  # bytes there
    result.write_text(json.dumps({"wall": wall, "peak_mib": peak, "base_mib": base,
                                  "figures": figures}))


def rss_mib() -> float | None:
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return None


def run_once(engine: str, path: Path, work: Path) -> dict | None:
    """One run of ``engine`` in a fresh process; None (and its error shown) when it fails."""
    result = work / f"result-{engine}.json"
    command = [sys.executable, str(Path(__file__).resolve()), "--child", engine,
               "--child-data", str(path), "--child-result", str(result)]
    env = {**os.environ, "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS", "1")}
    done = subprocess.run(command, stderr=subprocess.PIPE, text=True, env=env)
    if done.returncode != 0 or not result.is_file():
        tail = "\n    ".join(done.stderr.strip().splitlines()[-6:])
        print(f"  {engine}: failed (exit {done.returncode}):\n    {tail}", file=sys.stderr)
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
    return (f"{os.cpu_count()} cores ({model}){memory_text}, {platform.system()} "
            f"{platform.release()}, Python {platform.python_version()}")


def versions() -> str:
    parts = []
    for module in ("slaengine", "pyarrow", "numpy", "duckdb"):
        try:
            parts.append(f"{module} {__import__(module).__version__}")
        except ImportError:
            parts.append(f"{module} (not installed)")
    return ", ".join(parts)


def events_in(path: Path) -> int:
    import pyarrow.parquet as pq

    return pq.ParquetFile(path).metadata.num_rows


def print_figures(figures: dict[str, list[int]]) -> None:
    """The figures both engines computed, per clock and month."""
    header = (f"{'clock':<20} {'month':<8} {'measured':>10} {'running':>9} {'mean s':>10} "
              f"{'within 4h':>10} {'attainment':>10}")
    print(header)
    print("-" * len(header))
    order = {clock: i for i, clock in enumerate(CLOCKS)}
    for k in sorted(figures, key=lambda k: (order.get(k.split("|")[0], 9), k)):
        clock, month = k.split("|")
        measured, running, sum_us, within = figures[k]
        mean = f"{sum_us / measured / 1e6:.0f}" if measured else "-"
        share = f"{within / measured:.4f}" if measured else "-"
        print(f"{clock:<20} {month:<8} {measured:>10,} {running:>9,} {mean:>10} "
              f"{within:>10,} {share:>10}")
    print()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", "--rows", type=int, action="append",
                        help="tickets to generate and measure (repeatable; 1000000)")
    parser.add_argument("--engine", choices=ENGINES, action="append",
                        help="engines to run (repeatable; both by default)")
    parser.add_argument("--data-dir", type=Path,
                        default=Path(tempfile.gettempdir()) / "slaengine-bench",
                        help="where the generated files are kept and reused")
    parser.add_argument("--repeat", type=int, default=1,
                        help="rounds, each running every engine once; the best and median wall "
                        "time and the largest peak count")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--child", choices=ENGINES, help=argparse.SUPPRESS)
    parser.add_argument("--child-data", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--child-result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child, args.child_data, args.child_result)
        return 0
    if any(n < 1 for n in args.tickets or []) or args.repeat < 1:
        parser.error("--tickets and --repeat must be 1 or more")

    sizes = args.tickets or [1_000_000]
    engines = [e for e in ENGINES if e in (args.engine or ENGINES)]
    print(f"machine: {machine()}")
    print(f"versions: {versions()}")
    print("slaengine: pyarrow.parquet.read_table + slaengine.clocks.measure (24x7), not the "
          "engine; contract: slaengine.evaluate of a contract with the three clocks as "
          "service levels (the whole engine); duckdb: one SQL query with window functions")
    print()
    out_rows: list[dict] = []
    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="slaengine-bench-clocks-") as tmp:
        work = Path(tmp)
        for size in sizes:
            path = data_file(args.data_dir, size)
            events = events_in(path)
            runs: dict[str, list[dict | None]] = {engine: [] for engine in engines}
            for _ in range(args.repeat):  # rounds interleave the engines
                for engine in engines:
                    runs[engine].append(run_once(engine, path, work))
            found: dict[str, dict] = {}
            for engine in engines:
                if any(r is None for r in runs[engine]):
                    problems.append(f"{size:,} tickets: {engine} failed (see above)")
                    continue
                measured = [r for r in runs[engine] if r is not None]
                best = min(measured, key=lambda r: r["wall"])
                best["median"] = statistics.median(r["wall"] for r in measured)
                best["peak_mib"] = max(r["peak_mib"] for r in measured)
                if any(r["figures"] != best["figures"] for r in measured):
                    problems.append(f"{size:,} tickets: {engine} figures differ between rounds")
                found[engine] = best
                print(f"  {engine:<10} {size:>11,} tickets {events:>12,} events  "
                      f"{best['wall']:8.2f} s (median {best['median']:.2f} s)  "
                      f"{best['peak_mib']:7.0f} MiB", file=sys.stderr, flush=True)
            if "slaengine" in found and "duckdb" in found:
                problems += [f"{size:,} tickets: {p}" for p in
                             compare(found["slaengine"]["figures"], found["duckdb"]["figures"])]
            reference = found.get("duckdb") or found.get("slaengine")
            if "contract" in found and reference is not None:
                problems += [f"{size:,} tickets: {p}" for p in compare_contract(
                    reference["figures"], found["contract"]["figures"])]
            sla = found.get("slaengine", {}).get("wall")
            for engine, r in found.items():
                out_rows.append({"engine": engine, "tickets": size, "events": events,
                                 "wall_s": r["wall"], "median_s": r["median"],
                                 "events_per_s": events / r["wall"] if r["wall"] else None,
                                 "peak_mib": r["peak_mib"], "base_mib": r["base_mib"],
                                 "sla_over_this": sla / r["wall"] if sla and r["wall"] else None})
            shown = found.get("slaengine") or found.get("duckdb")
            if shown:
                print(f"figures at {size:,} tickets (records by month of their start, UTC):")
                print_figures(shown["figures"])

    print_table(out_rows)
    if len(engines) >= 2:
        print(f"agree: {'no' if problems else 'yes'} (records measured and running, summed "
              "microseconds and hits within 4h per clock and month, compared as integers)")
    if problems:
        print(f"first difference: {problems[0]}")
    for problem in problems[:50]:
        print(f"  {problem}")
    if len(problems) > 50:
        print(f"  ... and {len(problems) - 50} more")
    if args.json:
        args.json.write_text(json.dumps({"machine": machine(), "versions": versions(),
                                         "runs": out_rows, "agree": not problems,
                                         "problems": problems}, indent=2))
    return 1 if problems else 0


def print_table(rows: list[dict]) -> None:
    print("wall: best seconds of work in a fresh process (imports excluded), median: of the "
          "rounds; peak: the process's max RSS; base: RSS after imports")
    print("sla/this: slaengine's wall time / this engine's (< 1.0: slaengine is faster)")
    header = (f"{'engine':<10} {'tickets':>11} {'events':>12} {'wall s':>8} {'median s':>9} "
              f"{'events/s':>12} {'peak MiB':>9} {'base MiB':>9} {'sla/this':>9}")
    print(header)
    print("-" * len(header))
    for r in rows:
        ratio = f"{r['sla_over_this']:.2f}" if r["sla_over_this"] else "-"
        base = f"{r['base_mib']:.0f}" if r["base_mib"] is not None else "-"
        print(f"{r['engine']:<10} {r['tickets']:>11,} {r['events']:>12,} {r['wall_s']:>8.2f} "
              f"{r['median_s']:>9.2f} {r['events_per_s']:>12,.0f} {r['peak_mib']:>9.0f} "
              f"{base:>9} {ratio:>9}")
    print()


if __name__ == "__main__":
    sys.exit(main())
