"""Column checks shared by the tabular sources (CSV, Arrow/Parquet).

A contract's ``fields`` maps canonical names to the source's column names; a field it does not
map is looked up under its canonical name. :func:`check_columns` checks every requested column
before any data is read and names, in one error, each one that is missing or repeated.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from slaengine.errors import DataError, did_you_mean
from slaengine.plugin import SourceConfig


def requested_columns(config: SourceConfig, fields: Sequence[str]) -> dict[str, str]:
    """Canonical field -> the column that holds it (``fields`` mapping, else the same name)."""
    return {f: config.fields.get(f, f) for f in fields}


def check_columns(
    path: Path, config: SourceConfig, columns: Mapping[str, str], header: Sequence[str]
) -> None:
    """Raise a DataError naming every requested column ``header`` lacks or repeats (ambiguous:
    the positions, counted from 1, of each column of that name).

    Each problem names the contract key (``sources.NAME.fields.FIELD``), what it says (or that it
    is not set), the closest column when there is one, and the message ends with every column
    the data has.
    """
    header = list(header)
    problems = []
    for field_name, column in columns.items():
        mapped = field_name in config.fields
        key = f"sources.{config.name}.fields.{field_name}"
        said = f'{key} = "{column}"' if mapped else f"{key} (not set, so its canonical name)"
        count = header.count(column)
        if count == 1:
            continue
        if count > 1:
            places = [str(i + 1) for i, h in enumerate(header) if h == column]
            problems.append(f'{said}: ambiguous: column "{column}" appears {count} times in the '
                            f"header, at columns {' and '.join(places)}")
            continue
        guess = closest(column, header)
        hint = f' (did you mean "{guess}"?)' if guess else ""
        problems.append(f'{said}: no column "{column}"{hint}')
    if problems:
        listed = ", ".join(f'"{c}"' for c in header)
        message = "\n".join([*problems, f"the file's columns are: {listed}"])
        raise DataError(message, file=path)


def closest(column: str, header: Sequence[str]) -> str | None:
    """A header name equal up to case and spaces, else the closest one, else None."""
    folded = {h.strip().casefold(): h for h in header}
    return folded.get(column.strip().casefold()) or did_you_mean(column, header)
