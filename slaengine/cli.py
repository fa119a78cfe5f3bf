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
from typing import TYPE_CHECKING, Any, TextIO

import click

from slaengine import __version__
from slaengine.errors import SlaError, UsageError, did_you_mean
from slaengine.text import printable

if TYPE_CHECKING:
    from slaengine.progress import Progress

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


def _set_debug(_: click.Context, __: click.Parameter, value: bool) -> None:
    if value:
        _Context.debug = True


def _debug_option(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--debug`` accepted after the subcommand too (``slaengine evaluate --debug c.toml``)."""
    return click.option("--debug", is_flag=True, expose_value=False, callback=_set_debug,
                        help="Show the full traceback of any error.")(command)


def _console(*, stderr: bool = False) -> Any:
    """A rich console for text from contracts and data: no markup or emoji codes read in it
    (``[sources.tickets]`` is shown as written). Colour follows ``NO_COLOR`` and
    ``FORCE_COLOR``, as rich reads them from the environment."""
    from rich.console import Console

    return Console(stderr=stderr, markup=False, emoji=False)


def _may_be_terminal() -> bool:
    """Whether rich could take stdout for a terminal (it is one, or ``FORCE_COLOR`` or
    ``TTY_COMPATIBLE`` say so): when not, plain text is written without importing rich."""
    return (sys.stdout.isatty() or bool(os.environ.get("FORCE_COLOR"))
            or os.environ.get("TTY_COMPATIBLE") == "1")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="slaengine")
@click.option("--debug", is_flag=True, help="Show the full traceback of any error.")
def main(debug: bool) -> None:
    """Evaluate service-level agreements from data: verdicts, evidence and row accounting."""
    _Context.debug = debug


@main.command()
@_debug_option
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
        from slaengine.runtime import tuned

        registry = build_registry()
        plan = _plan_outputs(registry, formats, outputs)
        loaded = load_contract(contract, registry)
        _check_places(loaded, registry, plan, rejects, evidence)
        moment = _as_of(as_of, loaded.timezone) if as_of else None
        options = {"formats": [name for name, _ in plan], "fail_on": fail_on}
        with tuned(), _progress() as step:
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
        failed = _fail_on_line(fail_on, evaluation.verdicts) if fail_on else None
        if failed:
            _echo(failed, err=True)
            return 1
        return 0

    _run(body)


@main.command()
@_debug_option
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
            _echo(line)
        return 0 if report.identical else 1

    _run(body)


@main.command()
@_debug_option
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
@_debug_option
@click.argument("name", required=False)
def plugins(name: str | None) -> None:
    """List the installed plugins: sources, metrics, reporters and penalty models.

    With NAME: that plugin's description and the keys it accepts in a contract.
    """

    def body() -> int:
        from slaengine.pluginmanager import KINDS, PluginWarning, build_registry

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PluginWarning)  # listed below instead
            registry = build_registry()
        if name is not None:
            _show_plugin(registry, name)
            return 0
        for kind in KINDS:
            names = registry.names(kind)
            _echo(f"{kind}s:" if names else f"{kind}s: (none installed)")
            for found in names:
                obj = registry.get(kind, found)
                _echo(f"  {found:28} {_summary(obj)}  [{registry.origin(kind, found)}]")
        if registry.broken:
            _echo("failed to load (not in use):")
            for broken, why in sorted(registry.broken.items()):
                _echo(f"  {broken:28} {printable(why, newlines=False)}")
        return 0

    _run(body)


def _summary(obj: Any) -> str:
    from slaengine.describe import summary

    return summary(type(obj).__doc__)


def _show_plugin(registry: Any, name: str) -> None:
    """Every installed plugin object called ``name`` (a source and a reporter may share one),
    with the keys a contract may give it."""
    from slaengine.describe import key_lines, plain_text
    from slaengine.pluginmanager import KINDS
    from slaengine.schema import SOURCE_KEYS

    found = [(kind, registry.objects[kind][name]) for kind in KINDS
             if name in registry.objects.get(kind, {})]
    if not found:
        every = sorted({n for kind in KINDS for n in registry.names(kind)})
        raise UsageError(f'no plugin called "{name}"' + registry.broken_note(),
                         suggestion=did_you_mean(name, every), accepted=every)
    blocks = []
    for kind, obj in found:
        lines = [f"{kind} {name}  [{registry.origin(kind, name)}]"]
        if kind == "metric":
            lines += _metric_lines(obj)
        elif kind == "source":
            lines += [f"keys in [sources.NAME] with adapter = \"{name}\":",
                      *key_lines({**SOURCE_KEYS, **obj.schema})]
        elif kind == "penalty model":
            from slaengine.credits.schema import PENALTY_COMMON_SCHEMA

            own = obj.schema
            lines += [f"keys in [penalties] with model = \"{name}\":",
                      *(key_lines(own) or ["  (none of its own)"]),
                      "keys every penalty model accepts:", *key_lines(PENALTY_COMMON_SCHEMA)]
        elif kind == "reporter":
            suffix = getattr(obj, "suffix", None)
            lines.append(f"--format {name}" + (f", or --output FILE{suffix}" if suffix else ""))
        lines += ["", plain_text(type(obj).__doc__)]
        blocks.append("\n".join(lines).rstrip())
    _echo("\n\n".join(blocks))


def _metric_lines(metric: Any) -> list[str]:
    """A metric's facts, then the keys its service level's ``options`` accept."""
    from slaengine.describe import key_lines

    kinds, fields = _metric_inputs(metric)
    lines = [f"kinds: {kinds}", f"unit: {metric.unit}, {metric.better} is better, "
             f"default statistic: {metric.default_statistic}", f"fields: {fields}",
             f"formula: {metric.formula}"]
    options = key_lines(metric.schema)
    if options:
        lines += ["options (options = { ... } in its [[service_levels]]):", *options]
    else:
        lines.append("options: none")
    return lines


def _metric_inputs(metric: Any) -> tuple[str, str]:
    """A metric's record kinds and the fields it reads, in words."""
    from slaengine.fields import RECORD_KINDS
    from slaengine.kinds import PeriodMetric

    if isinstance(metric, PeriodMetric):
        kinds = " + ".join("/".join(i.kinds) for i in metric.inputs.values())
        fields = "; ".join(f"{role}: {', '.join(i.fields) or '(id, time)'}"
                           for role, i in metric.inputs.items())
        return kinds, fields
    alternatives = {metric.required_fields(set(RECORD_KINDS[k].fields))
                    for k in metric.kinds if k in RECORD_KINDS}
    fields = " | ".join(", ".join(f) or "(id, time)" for f in sorted(alternatives))
    return "/".join(metric.kinds), fields


@main.command("inspect")
@_debug_option
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
        from slaengine.inspect import inspect_target, render

        found = inspect_target(target, source=source_name, adapter=adapter, rows=rows)
        render(found, _console())
        return 0

    _run(body)


@main.command()
@_debug_option
@click.argument("name", required=False)
def metrics(name: str | None) -> None:
    """List every installed metric: kinds, unit, direction, default statistic, fields, formula.

    With NAME: that metric's options (the keys of `options = { ... }` in a service level) and
    its full description.
    """

    def body() -> int:
        from slaengine.describe import plain_text
        from slaengine.pluginmanager import build_registry

        registry = build_registry()
        if name is not None:
            metric = registry.metrics.get(name)
            if metric is None:
                names = registry.names("metric")
                raise UsageError(f'no metric called "{name}"' + registry.broken_note(),
                                 suggestion=did_you_mean(name, names), accepted=names)
            lines = [f"metric {name}  [{registry.origin('metric', name)}]",
                     *_metric_lines(metric), "", plain_text(type(metric).__doc__)]
            _echo("\n".join(lines).rstrip())
            return 0
        rows = []
        for found in registry.names("metric"):
            metric = registry.metrics[found]
            kinds, fields = _metric_inputs(metric)
            options = ", ".join(metric.schema) or "—"
            rows.append((found, kinds, metric.unit, metric.better, metric.default_statistic,
                         fields, options, metric.formula))
        header = ("metric", "kinds", "unit", "better", "default", "fields", "options", "formula")
        console = _console() if _may_be_terminal() else None
        if console is not None and console.is_terminal:  # a terminal, or FORCE_COLOR
            from rich.table import Table
            from rich.text import Text

            table = Table(title="metrics", caption="slaengine metrics NAME: a metric's options "
                          "and description")
            for column in header:
                table.add_column(column, no_wrap=column in ("metric", "unit", "better"))
            for row in rows:
                table.add_row(*(Text(printable(cell)) for cell in row))
            console.print(table)
        else:
            for row in rows:
                found, kinds, unit, better, default, fields, options, formula = row
                _echo(f"{found}\n  kinds: {kinds}\n  unit: {unit}, {better} is better, "
                      f"default statistic: {default}\n  fields: {fields}\n"
                      f"  options: {options}\n  formula: {formula}")
        return 0

    _run(body)


@main.command()
@_debug_option
@click.option("--from", "data_file", type=click.Path(path_type=Path), default=None,
              metavar="DATA_FILE",
              help="Propose the fields mapping from this data file's columns (and use it as "
                   "the source's path, as given: save the contract where you run the command).")
@click.option("--metric", default=None,
              help="The metric of the first service level (default: first_response_time, or "
                   "what the data of --from can measure).")
@click.option("--target", default=None, help='Its target, e.g. "95% within 1h".')
@click.option("--id", "contract_id", default="my-contract", show_default=True)
@click.option("--path", "data_path", default=None,
              help="The data file, relative to where the contract will be saved "
                   "[default: the --from file, else data/tickets.csv].")
@click.option("--adapter", default=None,
              help="The source adapter [default: from the --from file's suffix, else csv].")
@click.option("--timezone", default="UTC", show_default=True,
              help="The contract's time zone (IANA name); times without an offset are read "
                   "in it.")
def init(data_file: Path | None, metric: str | None, target: str | None, contract_id: str,
         data_path: str | None, adapter: str | None, timezone: str) -> None:
    """Print a starter contract (TOML, every section explained in comments), ready to edit.

    Save it and check it: `slaengine init --from data/tickets.csv > contract.toml` then
    `slaengine validate contract.toml`.
    """

    def body() -> int:
        from slaengine.contract import parse_contract
        from slaengine.pluginmanager import build_registry
        from slaengine.starter import choose_metric, starter_contract

        registry = build_registry()
        fields: dict[str, str] | None = None
        columns: list[str] = []
        chosen_adapter = adapter
        if data_file is not None:
            from slaengine.inspect import data_columns, propose_fields

            chosen_adapter, columns = data_columns(data_file, adapter, registry)
            fields = propose_fields(columns)
            missing = [f for f in ("ticket_id", "created_at") if f not in fields]
            if missing:
                raise UsageError(
                    f"{data_file}: no column looks like {' or '.join(missing)} (columns: "
                    f"{', '.join(columns)}); write the mapping by hand: slaengine init "
                    "without --from, then fields = { ticket_id = \"...\", created_at = "
                    "\"...\" }")
        name, level_target = choose_metric(registry, metric, target, fields)
        text = starter_contract(
            contract_id=contract_id, timezone=timezone, adapter=chosen_adapter or "csv",
            path=data_path or (str(data_file) if data_file is not None else "data/tickets.csv"),
            metric=name, target=level_target, fields=fields,
            unmapped=[c for c in columns if c not in (fields or {}).values()],
            registry=registry)
        try:
            parse_contract(text, registry=registry)
        except SlaError as exc:
            raise UsageError(f"the starter contract would not be valid: {exc.render()}") from exc
        click.echo(text, nl=False)
        return 0

    _run(body)


@main.group()
def schema() -> None:
    """Print a JSON Schema (draft 2020-12): of a contract, or of the JSON report."""


@schema.command("contract")
@_debug_option
def schema_contract() -> None:
    """The JSON Schema of a contract, with the installed plugins' keys.

    Save it beside your contracts and name it on a contract's first line for completion and
    checks in TOML editors (Taplo, Even Better TOML):
    `#:schema ./slaengine-contract.schema.json`.
    """

    def body() -> int:
        import json

        from slaengine.jsonschema import contract_schema
        from slaengine.pluginmanager import build_registry

        click.echo(json.dumps(contract_schema(build_registry()), indent=2, ensure_ascii=False))
        return 0

    _run(body)


@schema.command("report")
@_debug_option
def schema_report() -> None:
    """The JSON Schema of the report `evaluate --format json` writes (see its schema_version)."""

    def body() -> int:
        import json

        from slaengine.jsonschema import report_schema

        click.echo(json.dumps(report_schema(), indent=2, ensure_ascii=False))
        return 0

    _run(body)


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
                            TimeElapsedColumn(), transient=True, console=_console(stderr=True))
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
                  rejects: Path | None, evidence: Path | None) -> None:
    """Before any work: no output may replace the contract, an input or another output."""
    from slaengine.engine import source_files
    from slaengine.outputs import Place, check_outputs

    places = [Place(output, "--output") for _, output in plan if output is not None]
    if rejects is not None:
        places.append(Place(rejects, "--rejects"))
    check_outputs(contract.path, source_files(contract, registry), places, evidence,
                  {name: spec.path for name, spec in contract.sources.items()})


if __name__ == "__main__":
    main()
