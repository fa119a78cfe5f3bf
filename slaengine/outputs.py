"""Everything slaengine writes goes through here: whole files or nothing, never over an input.

- :func:`check_outputs` refuses, before anything is evaluated, an output that would replace the
  contract, a file a source reads (or would read next time: a file inside a source's folder or
  matching its pattern), another output, or that lies inside the ``--evidence`` folder.
- :func:`atomic_file` and :func:`atomic_folder` write to a temporary sibling and move it into
  place only when complete: an interrupted or failed run leaves the earlier file (or folder)
  untouched and no temporary file behind.
- :func:`neutralise_cell` and :func:`neutralise_table` keep spreadsheet formulas out of CSV files
  (the OWASP CSV-injection rule): a text cell starting with ``=``, ``+``, ``-``, ``@``, a tab or
  a carriage return gets a leading ``'``. Numbers stay numbers; only text is touched.
- :func:`strict_json` turns non-finite floats into ``null`` so that JSON output is strict JSON.
"""

from __future__ import annotations

import math
import os
import shutil
import stat
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any

from slaengine.errors import UsageError
from slaengine.inputs import is_pattern, visible
from slaengine.lazy import pa, pc

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
"""First characters a spreadsheet reads as the start of a formula (OWASP CSV injection)."""

_FORMULA_REGEX = "^[=+\\-@\t\r]"


# --------------------------------------------------------------------------- where outputs go


@dataclass(frozen=True)
class Place:
    """A path the command reads or writes, with what it is (``--output``, ``the contract``)."""

    path: Path
    what: str


def check_outputs(
    contract: Path,
    inputs: Mapping[str, Iterable[Path]],
    outputs: Iterable[Place],
    evidence: Path | None = None,
    source_paths: Mapping[str, Path] | None = None,
) -> None:
    """Refuse (:class:`UsageError`) any output that would replace or mix with what is read.

    ``inputs`` are the files each source reads (:func:`slaengine.engine.source_files`),
    ``outputs`` the report and rejects files, ``evidence`` the evidence folder and
    ``source_paths`` each source's ``path`` (a folder or pattern that would read a new file
    written there next time). Paths are compared as resolved real paths and, when both exist,
    as the same file (device and inode), so links and ``./x`` against ``x`` are caught.
    """
    reads = [Place(contract, "the contract")]
    for name, files in inputs.items():
        reads.extend(Place(Path(f), f"input file of source {name}") for f in files)
    written: list[Place] = []
    for out in outputs:
        _usable_folder(out)
        for other in (*reads, *written):
            if _same(out.path, other.path):
                raise UsageError(f"{out.what} {out.path} is {other.what} {other.path}: "
                                 "an output must not replace it; write somewhere else")
        for name, path in (source_paths or {}).items():
            if _would_read(path, out.path):
                raise UsageError(f"{out.what} {out.path} lies where source {name} reads its "
                                 f"data ({path}): the next run would read it as data; write "
                                 "somewhere else")
        written.append(out)
    if evidence is None:
        return
    folder = Place(evidence, "the --evidence folder")
    _usable_folder(folder, folder=True)
    for other in (*reads, *written):
        if _same(evidence, other.path) or _inside(other.path, evidence):
            raise UsageError(f"{other.what} {other.path} lies in {folder.what} {evidence}, "
                             "which is replaced whole by every run; choose another folder")
    for name, path in (source_paths or {}).items():
        base = _base(path)
        if _same(evidence, base) or _inside(base, evidence):
            raise UsageError(f"{folder.what} {evidence} holds the data of source {name} "
                             f"({path}) and is replaced whole by every run; choose another "
                             "folder")
        if _would_read(path, evidence / "index.csv"):
            raise UsageError(f"{folder.what} {evidence} lies where source {name} reads its data "
                             f"({path}): the next run would read the evidence as data; "
                             "choose another folder")
    _replaceable(evidence, folder.what)


def _real(path: Path) -> str:
    return os.path.normcase(os.path.realpath(path))


def _same(a: Path, b: Path) -> bool:
    if _real(a) == _real(b):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _inside(path: Path, folder: Path) -> bool:
    """True when ``path`` lies (strictly) inside ``folder``, after resolving links."""
    inner, outer = _real(path), _real(folder)
    return inner != outer and os.path.commonpath([inner, outer]) == outer


def _base(path: Path) -> Path:
    """The folder part of a source path without glob characters (the path itself otherwise)."""
    if not is_pattern(path) or path.exists():
        return path
    parts = []
    for part in path.parts:
        if is_pattern(part):
            break
        parts.append(part)
    return Path(*parts)


def _would_read(source: Path, output: Path) -> bool:
    """True when a source with ``path`` would read a new file at ``output``."""
    if source.is_dir():
        if not _inside(output, source):
            return False
        relative = Path(os.path.relpath(_real(output), _real(source)))
        return visible(relative)
    if is_pattern(source) and not source.exists():
        for candidate in {os.path.abspath(output), _real(output)}:
            if PurePath(candidate).match(os.path.abspath(source)):
                return True
    return False


def _usable_folder(place: Place, *, folder: bool = False) -> None:
    """The folder ``place`` is written into must exist, and a file must not be a folder: a
    clear error naming them otherwise."""
    parent = place.path.absolute().parent
    if not parent.is_dir():
        raise UsageError(f"{place.what} {place.path}: no such folder {parent}; create it first")
    if place.path.is_dir() and not folder:
        raise UsageError(f"{place.what} {place.path} is a folder; give a file name")


# --------------------------------------------------------------------------- writing whole files


def _default_mode(directory: bool) -> int:
    mask = os.umask(0)
    os.umask(mask)
    return (0o777 if directory else 0o666) & ~mask


@contextmanager
def atomic_file(path: Path, what: str = "--output", *, binary: bool = False) -> Iterator[Any]:
    """A text stream (UTF-8, newlines as written; bytes when ``binary``) whose content replaces
    ``path`` at the end.

    The text goes to a temporary file in the same folder, moved over ``path`` only when the
    block ends without an exception; on any exception (a reporter failing half-way, a full
    disk, Ctrl-C) the temporary file is removed and an earlier file at ``path`` is untouched.

    A link is followed: the file it points to is replaced, the link stays. Something that is
    not a regular file (``/dev/null``, a named pipe, a terminal) is written into, never
    replaced by a file; a failure to write it (``/dev/full``) is an error all the same.
    """
    path = Path(path)
    if _special(path):
        yield from _write_into(path, what, binary=binary)
        return
    if path.is_symlink():
        path = Path(os.path.realpath(path))
    folder = path.absolute().parent
    if not folder.is_dir():
        raise UsageError(f"{what} {path}: no such folder {folder}; create it first")
    try:
        handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 (closed in the block below)
            "wb" if binary else "w", encoding=None if binary else "utf-8",
            newline=None if binary else "", dir=folder, prefix=f".{path.name}.",
            suffix=".tmp", delete=False)
    except OSError as exc:
        raise UsageError(f"{what}: cannot write {path}: {exc.strerror}") from None
    temporary = Path(handle.name)
    try:
        with handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        _give_mode(temporary, path, directory=False)
        os.replace(temporary, path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise UsageError(f"{what}: cannot write {path}: {exc.strerror or exc}") from None
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _special(path: Path) -> bool:
    """Whether ``path`` (its links followed) exists and is not a regular file or a folder."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def _write_into(path: Path, what: str, *, binary: bool) -> Iterator[Any]:
    """A stream writing straight into the device or pipe at ``path``."""
    try:
        handle = open(path, "wb" if binary else "w",  # noqa: SIM115 (closed in the block below)
                      encoding=None if binary else "utf-8", newline=None if binary else "")
    except OSError as exc:
        raise UsageError(f"{what}: cannot write {path}: {exc.strerror}") from None
    try:
        with handle:
            yield handle
    except OSError as exc:
        raise UsageError(f"{what}: cannot write {path}: {exc.strerror or exc}") from None


@contextmanager
def atomic_folder(path: Path, what: str = "--evidence") -> Iterator[Path]:
    """A fresh temporary folder beside ``path`` that replaces ``path`` whole at the end.

    An earlier folder at ``path`` is replaced only when it is empty or was written by an
    earlier run (it holds ``index.csv`` and nothing but CSV files): a folder of other files is
    refused, never deleted. On any exception the temporary folder is removed and the earlier
    folder stays as it was.
    """
    path = Path(path)
    parent = path.absolute().parent
    if not parent.is_dir():
        raise UsageError(f"{what} {path}: no such folder {parent}; create it first")
    _replaceable(path, what)
    try:
        temporary = Path(tempfile.mkdtemp(dir=parent, prefix=f".{path.name}.", suffix=".tmp"))
    except OSError as exc:
        raise UsageError(f"{what}: cannot create a folder beside {path}: {exc.strerror}") from None
    try:
        yield temporary
        _give_mode(temporary, path, directory=True)
        _swap(temporary, path)
    except OSError as exc:
        shutil.rmtree(temporary, ignore_errors=True)
        raise UsageError(f"{what}: cannot write {path}: {exc.strerror or exc}") from None
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise


def _replaceable(path: Path, what: str) -> None:
    if not path.exists() and not path.is_symlink():
        return
    if not path.is_dir() or path.is_symlink():
        raise UsageError(f"{what} {path} exists and is not a folder; choose a folder name")
    entries = [Path(root, name) for root, _, names in os.walk(path) for name in names]
    if not entries:
        return
    if (path / "index.csv").is_file() and all(e.suffix == ".csv" for e in entries):
        return
    raise UsageError(f"{what} {path} is a folder of other files (not an earlier evidence "
                     "folder with its index.csv): it would be replaced whole; choose a new or "
                     "empty folder")


def _swap(new: Path, path: Path) -> None:
    """Move ``new`` to ``path``; an earlier ``path`` is set aside first and removed after."""
    if not path.exists():
        os.rename(new, path)
        return
    aside = Path(tempfile.mkdtemp(dir=path.absolute().parent, prefix=f".{path.name}.",
                                  suffix=".old"))
    os.rmdir(aside)
    os.rename(path, aside)
    try:
        os.rename(new, path)
    except BaseException:
        os.rename(aside, path)
        raise
    shutil.rmtree(aside, ignore_errors=True)


def _give_mode(temporary: Path, path: Path, *, directory: bool) -> None:
    """The mode of the file being replaced, else the default for new files (umask applied):
    temporary files are created private."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        mode = _default_mode(directory)
    os.chmod(temporary, mode)


# --------------------------------------------------------------------------- safe content


def neutralise_cell(value: Any) -> Any:
    """A text cell starting like a formula gets a leading ``'``; anything else is unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def neutralise_array(array: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """:func:`neutralise_cell` over a string column, vectorised; other columns unchanged."""
    kind = array.type
    if pa.types.is_dictionary(kind):
        array = pc.cast(array, kind.value_type)
        kind = array.type
    if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
        return array
    risky = pc.match_substring_regex(array, _FORMULA_REGEX)
    if not pc.any(risky).as_py():
        return array
    quoted = pc.binary_join_element_wise(pa.scalar("'", kind), array, pa.scalar("", kind))
    return pc.if_else(risky, quoted, array)


def neutralise_table(table: pa.Table) -> pa.Table:
    """Every text column (and column name) of ``table`` through :func:`neutralise_cell`."""
    columns = [neutralise_array(column) for column in table.columns]
    names = [neutralise_cell(name) for name in table.column_names]
    return pa.table(columns, names=names)


def write_csv_table(table: pa.Table, stream: Any) -> None:
    """``table`` as CSV (header and rows) with formulas neutralised, to a binary stream."""
    import pyarrow.csv as pacsv

    pacsv.write_csv(neutralise_table(table), stream)


def strict_json(value: Any) -> Any:
    """``value`` with every NaN or infinite float replaced by ``None`` (JSON ``null``).

    JSON has no NaN or Infinity; Python writes them by default and strict parsers reject the
    document, so a figure that is not a finite number is written as null, deliberately.
    """
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: strict_json(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [strict_json(item) for item in value]
    return value
