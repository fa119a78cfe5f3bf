"""The files behind a source's ``path``: one rule for every source, the manifest and ``verify``.

A source path names

- an existing **file**: that file, even when its name holds glob characters (``data[1].csv``);
- an existing **folder**: every regular file under it (hidden ``.x`` and ``_x`` entries left out),
  symbolic links followed once: a link back to a folder already walked is not walked again;
- otherwise, a path with glob characters (``*``, ``?``, ``[``): the regular files it matches.

Every file is listed **once**, however many ways lead to it (a link, an overlapping pattern):
files are told apart by device and inode, and the first path in sorted order names it. What a
source reads, the manifest hashes and ``verify`` compares is exactly this list.
"""

from __future__ import annotations

import glob
import os
import stat
from collections.abc import Callable
from pathlib import Path

from slaengine.errors import DataError

GLOB_CHARS = frozenset("*?[")

Accept = Callable[[Path], bool]
"""Decides, from a file's path relative to the folder (or its name for a pattern), whether a
source reads it."""


def is_pattern(path: str | Path) -> bool:
    """True when ``path`` holds glob characters (whether or not it also names a file)."""
    return any(c in GLOB_CHARS for c in str(path))


def visible(relative: Path) -> bool:
    """False for hidden entries (``.git``, ``_SUCCESS``, ``_metadata``): writers' bookkeeping."""
    return not any(part.startswith((".", "_")) for part in relative.parts)


def input_files(path: str | Path, accept: Accept | None = None) -> list[Path]:
    """The regular files ``path`` names (see the module's rule), each once, sorted by path."""
    path = Path(path)
    accept = accept or (lambda _: True)
    if path.is_file():
        return [path]
    if path.is_dir():
        return _unique(_walk(path, accept))
    if path.exists():  # a device, a pipe, a socket: nothing a source can read whole
        return []
    if is_pattern(path):
        found = (Path(p) for p in glob.glob(str(path)))
        return _unique(p for p in found if p.is_file() and accept(Path(p.name)))
    return []


def source_files(path: str | Path, key: str, accept: Accept | None = None, *,
                 what: str = "files") -> list[Path]:
    """:func:`input_files`, or a :class:`DataError` naming ``path``, the contract ``key`` and
    why nothing can be read (missing, not a regular file, an empty folder or pattern)."""
    path = Path(path)
    found = input_files(path, accept)
    if found:
        return found
    if path.is_dir():
        raise DataError(f"the folder holds no {what} ({key})", file=path)
    if path.exists():
        raise DataError(f"not a regular file, nor a folder ({key})", file=path)
    if is_pattern(path):
        raise DataError(f"no file matches the pattern ({key})", file=path)
    raise DataError(f"file not found ({key})", file=path)


def _walk(top: Path, accept: Accept) -> list[Path]:
    """Every accepted regular file under ``top``; a folder reached again (a link loop, two
    links to one folder) is walked once."""
    seen: set[tuple[int, int]] = set()
    found: list[Path] = []
    stack = [top]
    while stack:
        folder = stack.pop()
        try:
            info = folder.stat()
        except OSError:
            continue  # a dangling link or a folder gone since it was listed
        if (info.st_dev, info.st_ino) in seen:
            continue
        seen.add((info.st_dev, info.st_ino))
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            child = Path(entry.path)
            relative = child.relative_to(top)
            if not visible(relative):
                continue
            try:
                mode = os.stat(entry.path).st_mode  # follows links
            except OSError:
                continue
            if stat.S_ISDIR(mode):
                stack.append(child)
            elif stat.S_ISREG(mode) and accept(relative):
                found.append(child)
    return found


def _unique(paths: object) -> list[Path]:
    """Sorted by path, each file (device and inode) once, under its first name."""
    seen: set[tuple[int, int]] = set()
    out: list[Path] = []
    for path in sorted(paths, key=str):  # type: ignore[call-overload]
        try:
            info = path.stat()
        except OSError:
            continue
        key = (info.st_dev, info.st_ino)
        if key not in seen:
            seen.add(key)
            out.append(path)
    return out
