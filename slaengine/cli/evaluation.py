"""``evaluate`` and ``verify``: an evaluation run and its reports written whole (outputs paired
with formats, checked against the inputs), ``--fail-on``, ``--as-of``, progress on a terminal."""

from __future__ import annotations

import sys
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import click

from slaengine.cli.common import debug_option, echo, rich_console, run_body
from slaengine.errors import UsageError, did_you_mean

if TYPE_CHECKING:
    from slaengine.progress import Progress

FAIL_ON = {"breached": ("breached", "critical"), "critical": ("critical",)}


@click.command()
@debug_option
@click.argument("contract", type=click.Path(path_type=Path))
@click.option("--format", "formats", multiple=True,
              help="Output format: a reporter's name (see `slaengine plugins`). Repeat it with "
                   "--output to write several reports at once. Default: guessed from the "
                   "--output suffix, else table.")
@click.option("--output", "-o", "outputs", type=click.Path(path_type=Path), multiple=True,
              help="Write the report to this file instead of standard output (repeatable; "
                   "- is standard output).")
@click.option("--fail-on", type=click.Choice(sorted(FAIL_ON)), default=None,
              help="Exit with code 1 when a verdict is breached (or critical) / critical.")
@click.option("--rejects", default=None, metavar="PATH",
              help="Write every rejected or duplicate input row (source, row, field, value, "
                   "reason) to this CSV file. With --engine spark, Spark writes them as a new "
                   "folder of CSV part files with a header (Parquet when PATH ends in "
                   ".parquet): a local path or any URI Spark writes; one that exists is "
                   "refused.")
@click.option("--evidence", type=click.Path(path_type=Path), default=None,
              help="Write the records behind every breached or critical verdict to this folder "
                   "(one CSV per service level and period, and index.csv).")
@click.option("--as-of", "as_of", default=None, metavar="WHEN",
              help="Evaluate the data as it stood then (2026-03-18 means the end of that day "
                   "in the contract's timezone) and show the running period's outlook.")
@click.option("--ledger", "ledger", type=click.Path(path_type=Path), default=None,
              help="Append the evaluation to this SQLite ledger (created when missing): its "
                   "verdicts, credits, manifest and options, chained by SHA-256.")
@click.option("--period", default=None, metavar="PERIOD",
              help="Evaluate only this period (2026-03, 2026-Q1, 2026-W09: the contract's kind "
                   "of period); the sources are still read whole. With --ledger, earlier "
                   "periods' credits history comes from the ledger.")
@click.option("--reason", default=None, metavar="TEXT",
              help="Why a closed period is evaluated again (required then; recorded with the "
                   "restatement).")
@click.option("--engine", type=click.Choice(["local", "spark"]), default="local",
              show_default=True,
              help="Where to evaluate: this process, or Apache Spark (the spark extra and a "
                   "Java runtime; the same report).")
@click.option("--spark-master", "spark_master", default=None, metavar="URL",
              help="With --engine spark: the Spark master (default: $SPARK_MASTER, else "
                   "local[*]).")
def evaluate(contract: Path, formats: tuple[str, ...], outputs: tuple[Path, ...],
             fail_on: str | None, rejects: str | None, evidence: Path | None,
             as_of: str | None, ledger: Path | None, period: str | None,
             reason: str | None, engine: str, spark_master: str | None) -> None:
    """Evaluate every service level of CONTRACT on its data and report the verdicts."""

    def body() -> int:
        from slaengine.contract import load_contract
        from slaengine.engine import evaluate as run
        from slaengine.pluginmanager import build_registry, guarded
        from slaengine.runtime import tuned

        if reason is not None and ledger is None:
            raise UsageError("--reason is recorded in a ledger: add --ledger")
        if spark_master is not None and engine != "spark":
            raise UsageError("--spark-master is used with --engine spark")
        registry = build_registry()
        plan = _plan_outputs(registry, formats, outputs)
        loaded = load_contract(contract, registry)
        if period is not None:
            from slaengine.ledger.history import narrowed_to

            loaded = narrowed_to(loaded, period)
        local_rejects = Path(rejects) if rejects is not None else None
        if engine == "spark" and rejects is not None:  # Spark writes a new folder there
            from slaengine.spark.rejects import check_location, is_uri

            check_location(rejects)
            if is_uri(rejects):  # no local place to check
                local_rejects = None
        _check_places(loaded, registry, plan, local_rejects, evidence, ledger)
        if ledger is not None:  # a file that is no ledger is refused before the work
            from slaengine.ledger.schema import connect

            connect(ledger, write=True).close()
        moment = _as_of(as_of, loaded.timezone) if as_of else None
        options: dict[str, Any] = {"formats": [name for name, _ in plan], "fail_on": fail_on}
        if period is not None:
            options["period"] = period
        if engine == "spark":
            evaluation = _on_spark(loaded, registry, options, spark_master, moment,
                                   evidence=evidence is not None, rejects=rejects)
        else:
            with tuned(), _progress() as step:
                evaluation = run(loaded, registry, options=options,
                                 evidence=evidence is not None, as_of=moment, progress=step)
        if period is not None and not evaluation.verdicts:
            raise UsageError(f"--period {period}: no service level has a verdict in it (the "
                             "sources hold no records of that period)")
        if ledger is not None:
            from slaengine.ledger.history import assess_with_history
            from slaengine.ledger.record import append_evaluation

            if loaded.penalties is not None:
                model = registry.penalty_models[loaded.penalties["model"]]
                assess_with_history(evaluation, model, ledger)

            appended = append_evaluation(ledger, evaluation, reason=reason)
            restated = (f", restating {', '.join(appended.restated)}" if appended.restated
                        else "")
            echo(f"ledger: entry {appended.seq} appended to {ledger}{restated}", err=True)
        files: list[Path] = []
        # Every file is written beside its place and all are moved in at the end: a failure
        # or an interrupt on the way leaves every earlier output as it was.
        with ExitStack() as finish:
            for name, output in plan:
                write = guarded(registry, "reporter", name, "write")
                _write(finish, output, lambda stream, write=write: write(evaluation, stream))
            if rejects is not None and engine == "local":
                from slaengine.outputs import atomic_file, write_csv_table

                stream = finish.enter_context(atomic_file(Path(rejects), "--rejects",
                                                          binary=True))
                write_csv_table(evaluation.rejected, stream)
            if evidence is not None:
                from slaengine.evidence import write_evidence_files
                from slaengine.outputs import atomic_folder

                folder = finish.enter_context(atomic_folder(evidence))
                files = [evidence / f for f in write_evidence_files(evaluation, folder)]
        if evidence is not None:
            echo(f"evidence: {len(files) - 1} file(s), index in {files[0]}", err=True)
        failed = _fail_on_line(fail_on, evaluation.verdicts) if fail_on else None
        if failed:
            echo(failed, err=True)
            return 1
        return 0

    run_body(body)


@click.command()
@debug_option
@click.argument("result", type=click.Path(path_type=Path))
def verify(result: Path) -> None:
    """Re-run the evaluation recorded in RESULT (a JSON report) and compare every verdict.

    Exit code 0 when every verdict and credit is identical, 1 when something differs (and
    which input changed, if one did), 2 when RESULT cannot be used.
    """

    def body() -> int:
        from slaengine.runtime import tuned
        from slaengine.verify import verify_result

        with tuned():
            report = verify_result(result)
        for line in report.lines:
            echo(line)
        return 0 if report.identical else 1

    run_body(body)

def _on_spark(contract: Any, registry: Any, options: dict[str, Any], master: str | None,
              as_of: Any, *, evidence: bool, rejects: str | None) -> Any:
    """The evaluation on a Spark session of its own (``--engine spark``), stopped after;
    the rejected rows written by Spark to ``rejects`` when given."""
    from slaengine import spark

    spark.require_pyspark()
    spark.require_java()
    from slaengine.spark import run, support

    support.check(contract, registry.with_clocks(contract.clocks), evidence=evidence)
    session = spark.start_session(master)
    try:
        with _progress() as step:
            evaluation = run.evaluate(contract, session, registry, options=options,
                                      as_of=as_of, progress=step)
            if rejects is not None:
                from slaengine.spark.rejects import write_rejects

                step("writing the rejected rows with Spark")
                write_rejects(session, contract, registry, evaluation, rejects, as_of=as_of)
            return evaluation
    finally:
        session.stop()


FAIL_ON_SHOWN = 5
"""The failing verdicts ``--fail-on`` names on its line; the rest are counted."""


def _fail_on_line(fail_on: str, verdicts: list[Any]) -> str | None:
    """One line saying which verdicts made ``--fail-on`` fail, or None when none did:
    ``fail-on breached: 19 breached and 1 critical verdicts: fcr 2026-03, … and 15 more``."""
    failed = [v for v in verdicts if v.status in FAIL_ON[fail_on]]
    if not failed:
        return None
    counts = " and ".join(f"{n} {status}" for status in FAIL_ON[fail_on]
                          if (n := sum(v.status == status for v in failed)))
    names = []
    for v in failed[:FAIL_ON_SHOWN]:
        segment = ", ".join(f"{k}={value}" for k, value in v.segment.items())
        names.append(f"{v.service_level} {v.period}" + (f" ({segment})" if segment else ""))
    more = len(failed) - FAIL_ON_SHOWN
    return (f"fail-on {fail_on}: {counts} verdict{'s' if len(failed) > 1 else ''}: "
            + ", ".join(names) + (f" and {more} more" if more > 0 else ""))


def _plan_outputs(
    registry: Any, formats: tuple[str, ...], outputs: tuple[Path, ...]
) -> list[tuple[str, Path | None]]:
    """Pair formats with outputs: in order when both are given, by suffix when only outputs."""
    if formats and outputs and len(formats) != len(outputs):
        raise UsageError(f"{len(formats)} --format but {len(outputs)} --output: give one "
                         "--output per --format, or only --output files with known suffixes")
    by_suffix = {r.suffix: r.name for r in registry.reporters.values() if r.suffix}
    if sum(str(o) == "-" for o in outputs) > 1:
        raise UsageError("--output -: standard output can take one report only")
    if not outputs:
        pairs: list[tuple[str, Path | None]] = [(f, None) for f in formats] or [("table", None)]
        if len(pairs) > 1:
            raise UsageError("several --format need one --output each")
    elif formats:
        pairs = list(zip(formats, outputs, strict=True))
    else:
        pairs = []
        for output in outputs:
            if str(output) == "-":
                pairs.append(("table", None))
                continue
            if output.suffix not in by_suffix:
                raise UsageError(f"--output {output}: cannot tell the format from "
                                 f'"{output.suffix}"; add --format',
                                 accepted=sorted(by_suffix))
            pairs.append((by_suffix[output.suffix], output))
    pairs = [(name, None if str(output) == "-" else output) for name, output in pairs]
    for name, _ in pairs:
        if name not in registry.reporters:
            names = registry.names("reporter")
            raise UsageError(f'--format: no reporter called "{name}"',
                             suggestion=did_you_mean(name, names), accepted=names)
    return pairs


def _as_of(text: str, timezone: str) -> Any:
    """``2026-03-18`` (the end of that day) or an ISO date-time; naive in ``timezone``: the
    rule of :func:`slaengine.api.as_of_instant`, which a Python caller's ``as_of`` follows."""
    from slaengine.api import as_of_instant

    return as_of_instant(text, timezone, "--as-of")


class _progress:
    """Progress on stderr while the engine works, only when stderr is a terminal.

    What the engine is doing is shown with a spinner and the time it has taken so far; while
    it reads a source whose size is known, with a bar, the share read and the time left.
    """

    def __init__(self) -> None:
        self.bar: Any = None
        self.task: Any = None
        self.total: int | None = None
        self.done = 0

    def __enter__(self) -> Progress:
        if not sys.stderr.isatty():
            return _no_progress
        from rich.progress import (
            BarColumn,
            SpinnerColumn,
            TaskProgressColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )
        from rich.progress import Progress as Display

        class SizedBar(BarColumn):
            """A bar only for a read whose size is known (rich would pulse one otherwise)."""

            def render(self, task: Any) -> Any:
                return super().render(task) if task.total is not None else ""

        # The engine reads and evaluates in one pass, so what it reports is what it is doing
        # ("reading tickets: 2,400,000 records").
        self.bar = Display(SpinnerColumn(), TextColumn("{task.description}", markup=False),
                            SizedBar(), TaskProgressColumn(), TimeRemainingColumn(),
                            TimeElapsedColumn(), transient=True, console=rich_console(stderr=True))
        self.bar.start()
        self.task = self.bar.add_task("starting", total=None)
        return self.step

    def step(self, description: str, done: int | None = None, total: int | None = None) -> None:
        """Show ``description``; with ``done`` of ``total`` bytes, the bar and the time left."""
        if total != self.total or (done is not None and done < self.done):
            # Another read (or none): a new task, so the time left is estimated afresh.
            self.bar.remove_task(self.task)
            self.task = self.bar.add_task(description, total=total)
            self.total = total
        self.done = done or 0
        self.bar.update(self.task, description=description,
                        completed=done if total is not None else None)

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()


def _no_progress(description: str, done: int | None = None, total: int | None = None) -> None:
    """Progress where none is shown (stderr is not a terminal)."""


def _write(finish: ExitStack, output: Path | None, render: Callable[[TextIO], None]) -> None:
    """Render to stdout, or to a file that ``finish`` moves into place when all is written."""
    from slaengine.outputs import atomic_file

    if output is None:
        render(sys.stdout)
        return
    render(finish.enter_context(atomic_file(output, "--output")))


def _check_places(contract: Any, registry: Any, plan: list[tuple[str, Path | None]],
                  rejects: Path | None, evidence: Path | None, ledger: Path | None) -> None:
    """Before any work: no output may replace the contract, an input or another output."""
    from slaengine.engine import source_files
    from slaengine.outputs import Place, check_outputs

    places = [Place(output, "--output") for _, output in plan if output is not None]
    if rejects is not None:
        places.append(Place(rejects, "--rejects"))
    if ledger is not None:
        places.append(Place(ledger, "--ledger"))
    check_outputs(contract.path, source_files(contract, registry), places, evidence,
                  {name: spec.path for name, spec in contract.sources.items()})

