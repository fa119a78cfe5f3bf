"""What every command shares: running its body with errors as one line and exit code 2,
``--debug`` after the subcommand, printing text from contracts and data safely, the console."""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Callable
from typing import Any

import click

from slaengine.errors import SlaError
from slaengine.text import printable


class Flags:
    """What the whole command line shares: ``--debug``, given before or after the subcommand."""

    debug = False


def run_body(func: Callable[[], int | None]) -> None:
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
            echo(text, err=True)

    try:
        with warnings.catch_warnings():
            from slaengine.pluginmanager import PluginWarning

            warnings.simplefilter("always", PluginWarning)
            warnings.showwarning = show  # type: ignore[assignment]
            code = func()
    except SlaError as exc:
        if Flags.debug:
            raise
        echo(f"error: {exc.render()}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        if Flags.debug:
            raise
        echo("interrupted", err=True)
        sys.exit(130)
    except BrokenPipeError:
        _silence_stdout()
        sys.exit(141)
    sys.exit(code or 0)


def echo(text: str, *, err: bool = False) -> None:
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
        Flags.debug = True


def debug_option(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--debug`` accepted after the subcommand too (``slaengine evaluate --debug c.toml``)."""
    return click.option("--debug", is_flag=True, expose_value=False, callback=_set_debug,
                        help="Show the full traceback of any error.")(command)


def rich_console(*, stderr: bool = False) -> Any:
    """A rich console for text from contracts and data: no markup or emoji codes read in it
    (``[sources.tickets]`` is shown as written). Colour follows ``NO_COLOR`` and
    ``FORCE_COLOR``, as rich reads them from the environment."""
    from rich.console import Console

    return Console(stderr=stderr, markup=False, emoji=False)


def may_be_terminal() -> bool:
    """Whether rich could take stdout for a terminal (it is one, or ``FORCE_COLOR`` or
    ``TTY_COMPATIBLE`` say so): when not, plain text is written without importing rich."""
    return (sys.stdout.isatty() or bool(os.environ.get("FORCE_COLOR"))
            or os.environ.get("TTY_COMPATIBLE") == "1")
