"""``history``: a ledger's verdict trail, restatements, credits, earn-backs and chronic
failures per contract, and with several contracts their portfolio."""

from __future__ import annotations

from pathlib import Path

import click

from slaengine.cli.common import debug_option, run_body

FORMATS = ("table", "json", "html", "md")
SUFFIXES = {".txt": "table", ".json": "json", ".html": "html", ".htm": "html", ".md": "md"}


@click.command("history")
@debug_option
@click.argument("path", metavar="LEDGER", type=click.Path(path_type=Path))
@click.option("--contract", "contract_id", default=None, metavar="ID",
              help="Only this contract (`[contract] id`); default: every contract, with a "
                   "portfolio view when there are several.")
@click.option("--format", "-f", "format_", type=click.Choice(FORMATS), default=None,
              help="table (default), json, html or md; guessed from the --output suffix "
                   "when not given.")
@click.option("--output", "-o", type=click.Path(path_type=Path), default=None,
              help="Write to this file (whole or not at all) instead of standard output.")
def history(path: Path, contract_id: str | None, format_: str | None,
            output: Path | None) -> None:
    """Show the history recorded in LEDGER: per service level the verdict of each period
    with the contract version it was evaluated under, restatements, credits to date in the
    contract year, open earn-back runs and chronic failures.

    Exit code 0, or 2 when LEDGER is not a usable ledger or --contract names no contract in it.
    """

    def body() -> int:
        from slaengine.errors import UsageError
        from slaengine.ledger import open_ledger
        from slaengine.ledger.history_views.jsondoc import history_to_json
        from slaengine.ledger.history_views.markdown import render_markdown
        from slaengine.ledger.history_views.page import render_html
        from slaengine.ledger.history_views.text import render_text
        from slaengine.ledger.report import history_document

        chosen = format_
        if chosen is None and output is not None and str(output) != "-":
            chosen = SUFFIXES.get(output.suffix.lower())
            if chosen is None:
                raise UsageError(f"--output {output}: cannot tell the format from the suffix "
                                 f"{output.suffix or '(none)'}; give --format",
                                 accepted=list(FORMATS))
        chosen = chosen or "table"
        if output is not None and str(output) != "-" and output.resolve() == path.resolve():
            raise UsageError(f"--output {output} is the ledger itself: write somewhere else")
        with open_ledger(path) as ledger:
            document = history_document(ledger, contract_id)
        render = {"table": render_text, "json": history_to_json, "html": render_html,
                  "md": render_markdown}[chosen]
        text = render(document)
        if output is None or str(output) == "-":
            click.echo(text, nl=False)
        else:
            from slaengine.outputs import atomic_file

            with atomic_file(output) as stream:
                stream.write(text)
        return 0

    run_body(body)
