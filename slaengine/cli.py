"""The ``slaengine`` command: parses arguments, calls the engine, renders. Nothing else.

Exit codes: 0 success; 1 when ``--fail-on`` finds such a verdict; 2 for a bad contract, bad data
or bad usage, always as a short message without a traceback (``--debug`` shows it).
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any, TextIO

import click
import tomli_w

from slaengine import __version__
from slaengine.errors import SlaError, UsageError, did_you_mean
from slaengine.text import printable

# The command never uses BLAS, and numpy's OpenBLAS threads busy-wait for a while after they
# start, taking a core from the evaluation: the command runs without them (set before numpy is
# imported; an explicit setting in the environment wins).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

FAIL_ON = {"breached": ("breached", "critical"), "critical": ("critical",)}


class _Context:
    debug = False


def _run(func: Callable[[], int | None]) -> None:
    """Run a command body: user errors become one paragraph on stderr and exit code 2.

    Ctrl-C exits with 130 (the shell's code for an interrupt, not 1, which means "breached")
    after one line; outputs are written whole or not at all, so none is left half-written. A
    reader that stops early (``| head``) ends the command quietly. Plugins that failed to load
    are named once each, on one warning line.
    """
    shown: set[str] = set()

    def show(message: Warning | str, category: type[Warning], *_: object, **__: object) -> None:
        text = f"warning: {message}"
        if text not in shown:
            shown.add(text)
            _echo(text, err=True)

    try:
        with warnings.catch_warnings():
            from slaengine.pluginmanager import PluginWarning

            warnings.simplefilter("always", PluginWarning)
            warnings.showwarning = show  # type: ignore[assignment]
            code = func()
    except SlaError as exc:
        if _Context.debug:
            raise
        _echo(f"error: {exc.render()}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        if _Context.debug:
            raise
        _echo("interrupted", err=True)
        sys.exit(130)
    except BrokenPipeError:
        _silence_stdout()
        sys.exit(141)
    sys.exit(code or 0)


def _echo(text: str, *, err: bool = False) -> None:
    """Print a line that may hold text from a contract or data: control characters escaped."""
    click.echo(printable(text), err=err)


def _silence_stdout() -> None:
    """Point stdout at the null device, so that the interpreter's last flush into a closed
    pipe does not print a traceback of its own."""
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="slaengine")
@click.option("--debug", is_flag=True, help="Show the full traceback of any error.")
def main(debug: bool) -> None:
    """Evaluate service-level agreements from data: verdicts, evidence and row accounting."""
    _Context.debug = debug


@main.command()
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
@click.option("--rejects", type=click.Path(path_type=Path), default=None,
              help="Write every rejected or duplicate input row (source, row, field, value, "
                   "reason) to this CSV file.")
@click.option("--evidence", type=click.Path(path_type=Path), default=None,
              help="Write the records behind every breached or critical verdict to this folder "
                   "(one CSV per service level and period, and index.csv).")
@click.option("--as-of", "as_of", default=None, metavar="WHEN",
              help="Evaluate the data as it stood then (2026-03-18 means the end of that day "
                   "in the contract's timezone) and show the running period's outlook.")
def evaluate(contract: Path, formats: tuple[str, ...], outputs: tuple[Path, ...],
             fail_on: str | None, rejects: Path | None, evidence: Path | None,
             as_of: str | None) -> None:
    """Evaluate every service level of CONTRACT on its data and report the verdicts."""

    def body() -> int:
        from slaengine.contract import load_contract
        from slaengine.engine import evaluate as run
        from slaengine.pluginmanager import build_registry, guarded

        registry = build_registry()
        plan = _plan_outputs(registry, formats, outputs)
        loaded = load_contract(contract, registry)
        _check_places(loaded, registry, plan, rejects, evidence)
        moment = _as_of(as_of, loaded.timezone) if as_of else None
        options = {"formats": [name for name, _ in plan], "fail_on": fail_on}
        with _progress() as step:
            evaluation = run(loaded, registry, options=options, evidence=evidence is not None,
                             as_of=moment, progress=step)
        files: list[Path] = []
        # Every file is written beside its place and all are moved in at the end: a failure
        # or an interrupt on the way leaves every earlier output as it was.
        with ExitStack() as finish:
            for name, output in plan:
                write = guarded(registry, "reporter", name, "write")
                _write(finish, output, lambda stream, write=write: write(evaluation, stream))
            if rejects is not None:
                from slaengine.outputs import atomic_file, write_csv_table

                stream = finish.enter_context(atomic_file(rejects, "--rejects", binary=True))
                write_csv_table(evaluation.rejected, stream)
            if evidence is not None:
                from slaengine.evidence import write_evidence_files
                from slaengine.outputs import atomic_folder

                folder = finish.enter_context(atomic_folder(evidence))
                files = [evidence / f for f in write_evidence_files(evaluation, folder)]
        if evidence is not None:
            _echo(f"evidence: {len(files) - 1} file(s), index in {files[0]}", err=True)
        if fail_on and any(v.status in FAIL_ON[fail_on] for v in evaluation.verdicts):
            return 1
        return 0

    _run(body)


@main.command()
@click.argument("result", type=click.Path(path_type=Path))
def verify(result: Path) -> None:
    """Re-run the evaluation recorded in RESULT (a JSON report) and compare every verdict.

    Exit code 0 when every verdict and credit is identical, 1 when something differs (and
    which input changed, if one did), 2 when RESULT cannot be used.
    """

    def body() -> int:
        from slaengine.verify import verify_result

        report = verify_result(result)
        for line in report.lines:
            _echo(line)
        return 0 if report.identical else 1

    _run(body)


@main.command()
@click.argument("contract", type=click.Path(path_type=Path))
def validate(contract: Path) -> None:
    """Check CONTRACT (keys, targets, plugin names and data paths) without reading data."""

    def body() -> int:
        from slaengine.contract import load_contract
        from slaengine.engine import source_files
        from slaengine.pluginmanager import build_registry

        registry = build_registry()
        loaded = load_contract(contract, registry)
        source_files(loaded, registry)  # the files evaluate would read, by the same rule
        for warning in loaded.warnings:
            _echo(f"warning: {contract}: {warning}", err=True)
        _echo(f"{contract}: ok — {len(loaded.service_levels)} service levels, "
              f"{len(loaded.sources)} source(s), {loaded.period}ly in {loaded.timezone}")
        return 0

    _run(body)


@main.command()
def plugins() -> None:
    """List the installed plugins: sources, metrics, reporters and penalty models."""

    def body() -> int:
        from slaengine.pluginmanager import KINDS, PluginWarning, build_registry

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PluginWarning)  # listed below instead
            registry = build_registry()
        for kind in KINDS:
            names = registry.names(kind)
            _echo(f"{kind}s:" if names else f"{kind}s: (none installed)")
            for name in names:
                obj = registry.get(kind, name)
                doc = (type(obj).__doc__ or "").strip().splitlines()
                _echo(f"  {name:28} {doc[0] if doc else ''}  [{registry.origin(kind, name)}]")
        if registry.broken:
            _echo("failed to load (not in use):")
            for name, why in sorted(registry.broken.items()):
                _echo(f"  {name:28} {printable(why, newlines=False)}")
        return 0

    _run(body)


@main.command("inspect")
@click.argument("target", type=click.Path(path_type=Path))
@click.option("--source", "source_name", default=None,
              help="For a contract: inspect only this source.")
@click.option("--adapter", default=None,
              help="For a data file or folder: the source adapter (default: from the suffix).")
@click.option("--rows", default=5, show_default=True, type=click.IntRange(0, 1000),
              help="Sample records to show.")
def inspect_command(target: Path, source_name: str | None, adapter: str | None,
                    rows: int) -> None:
    """Show what a source delivers: columns, mapping, types, row counts, time range, samples.

    TARGET is a contract (.toml: each of its sources, or --source NAME) or a data file or
    folder (read with canonical column names, no mapping, in UTC).
    """

    def body() -> int:
        from rich.console import Console

        from slaengine.inspect import inspect_target, render

        found = inspect_target(target, source=source_name, adapter=adapter, rows=rows)
        render(found, Console())
        return 0

    _run(body)


@main.command()
def metrics() -> None:
    """List every installed metric: kinds, unit, direction, default statistic, fields, formula."""

    def body() -> int:
        from slaengine.fields import RECORD_KINDS
        from slaengine.kinds import PeriodMetric
        from slaengine.pluginmanager import build_registry

        registry = build_registry()
        rows = []
        for name in registry.names("metric"):
            metric = registry.metrics[name]
            if isinstance(metric, PeriodMetric):
                kinds = " + ".join("/".join(i.kinds) for i in metric.inputs.values())
                fields = "; ".join(f"{role}: {', '.join(i.fields) or '(id, time)'}"
                                   for role, i in metric.inputs.items())
            else:
                kinds = "/".join(metric.kinds)
                alternatives = {metric.required_fields(set(RECORD_KINDS[k].fields))
                                for k in metric.kinds if k in RECORD_KINDS}
                fields = " | ".join(", ".join(f) or "(id, time)" for f in sorted(alternatives))
            rows.append((name, kinds, metric.unit, metric.better, metric.default_statistic,
                         fields, metric.formula))
        header = ("metric", "kinds", "unit", "better", "default", "fields", "formula")
        if sys.stdout.isatty():
            from rich.console import Console
            from rich.table import Table
            from rich.text import Text

            table = Table(title="metrics")
            for column in header:
                table.add_column(column, no_wrap=column in ("metric", "unit", "better"))
            for row in rows:
                table.add_row(*(Text(printable(cell)) for cell in row))
            Console().print(table)
        else:
            for row in rows:
                name, kinds, unit, better, default, fields, formula = row
                _echo(f"{name}\n  kinds: {kinds}\n  unit: {unit}, {better} is better, "
                      f"default statistic: {default}\n  fields: {fields}\n"
                      f"  formula: {formula}")
        return 0

    _run(body)


@main.command()
@click.option("--metric", required=True, help="The metric of the first service level.")
@click.option("--target", required=True, help='Its target, e.g. "95% within 1h".')
@click.option("--id", "contract_id", default="my-contract", show_default=True)
@click.option("--path", "data_path", default="data/tickets.csv", show_default=True,
              help="The data file, relative to where the contract will be saved.")
@click.option("--adapter", default="csv", show_default=True)
@click.option("--timezone", default="UTC", show_default=True)
def init(metric: str, target: str, contract_id: str, data_path: str, adapter: str,
         timezone: str) -> None:
    """Print a starter contract (TOML) with one service level, ready to edit."""

    def body() -> int:
        from slaengine.contract import parse_contract
        from slaengine.pluginmanager import build_registry

        registry = build_registry()
        if metric not in registry.metrics:
            names = registry.names("metric")
            raise UsageError(f'--metric: no metric called "{metric}"',
                             suggestion=did_you_mean(metric, names), accepted=names)
        document: dict[str, Any] = {
            "contract": {"id": contract_id, "client": "Client Ltd", "vendor": "Vendor Inc",
                         "currency": "USD", "monthly_fee": "10000.00", "period": "month",
                         "timezone": timezone},
            "sources": {"tickets": {"adapter": adapter, "path": data_path}},
            "service_levels": [{"id": metric.replace("_", "-"), "metric": metric,
                                "target": target, "min_sample": 30}],
        }
        text = tomli_w.dumps(document)
        try:
            parse_contract(text, registry=registry)
        except SlaError as exc:
            raise UsageError(f"the starter contract would not be valid: {exc.render()}") from exc
        click.echo(text, nl=False)
        return 0

    _run(body)


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
    """``2026-03-18`` (the end of that day) or an ISO date-time; naive in ``timezone``.

    The moment must fall within the dates a contract may name (``slaengine.periods``), so no
    date arithmetic downstream can overflow.
    """
    from datetime import UTC, date, datetime, timedelta
    from zoneinfo import ZoneInfo

    from slaengine.periods import date_range_problem

    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            problem = date_range_problem(day)
            if problem is None:
                day += timedelta(days=1)
            moment = datetime(day.year, day.month, day.day)
        else:
            moment = datetime.fromisoformat(text)
            problem = date_range_problem(moment)
    except ValueError:
        raise UsageError(f'--as-of: "{text}" is not a date (2026-03-18) or an ISO date-time '
                         "(2026-03-18T12:00)") from None
    if problem is not None:
        raise UsageError(f"--as-of: {problem}")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(timezone))
    return moment.astimezone(UTC)


class _progress:
    """Progress on stderr while the engine works, only when stderr is a terminal."""

    def __init__(self) -> None:
        self.bar: Any = None

    def __enter__(self) -> Callable[[str], None]:
        if not sys.stderr.isatty():
            return lambda _: None
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        # The engine reads and evaluates in one pass, so what it reports is what it is doing
        # ("reading tickets: 2,400,000 records"), with a spinner and the time so far.
        self.bar = Progress(SpinnerColumn(), TextColumn("{task.description}"),
                            TimeElapsedColumn(), transient=True)
        self.bar.start()
        task = self.bar.add_task("starting", total=None)

        def step(description: str) -> None:
            self.bar.update(task, description=description)

        return step

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()


def _write(finish: ExitStack, output: Path | None, render: Callable[[TextIO], None]) -> None:
    """Render to stdout, or to a file that ``finish`` moves into place when all is written."""
    from slaengine.outputs import atomic_file

    if output is None:
        render(sys.stdout)
        return
    render(finish.enter_context(atomic_file(output, "--output")))


def _check_places(contract: Any, registry: Any, plan: list[tuple[str, Path | None]],
                  rejects: Path | None, evidence: Path | None) -> None:
    """Before any work: no output may replace the contract, an input or another output."""
    from slaengine.engine import source_files
    from slaengine.outputs import Place, check_outputs

    places = [Place(output, "--output") for _, output in plan if output is not None]
    if rejects is not None:
        places.append(Place(rejects, "--rejects"))
    check_outputs(contract.path, source_files(contract, registry), places, evidence,
                  {name: spec.path for name, spec in contract.sources.items()})
