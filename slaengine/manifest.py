"""What an evaluation read, by SHA-256: the inputs part of a report's manifest.

Each source's entry lists exactly the files its adapter reads (:meth:`Source.files`), with
their paths relative to the contract's folder, so a report can be verified from any working
directory and a copy of the data elsewhere cannot stand in for the files the contract names.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from slaengine.workers import Worker

CHUNK = 1 << 20


class Stopped(Exception):
    """Hashing was stopped before it finished (the evaluation ended early)."""


def file_sha256(path: Path, stop: threading.Event | None = None) -> str:
    """The file's SHA-256, read a megabyte at a time; ``stop`` ends it between chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK), b""):
            if stop is not None and stop.is_set():
                raise Stopped(str(path))
            digest.update(chunk)
    return digest.hexdigest()


def relative_to(path: Path, base: Path) -> str:
    """``path`` relative to the folder ``base`` (with ``..`` where needed), ``/``-separated."""
    return Path(os.path.relpath(os.path.abspath(path), os.path.abspath(base))).as_posix()


def input_digest(files: Sequence[Path], base: Path,
                 stop: threading.Event | None = None) -> dict[str, Any]:
    """The SHA-256 and size of one source's ``files``, each listed relative to ``base``.

    One file: its own SHA-256. Several: the SHA-256 of the listing ``relative path<TAB>sha256``
    (one line each, sorted), so adding, removing, renaming or changing a file shows.
    """
    listed = [{"path": relative_to(f, base), "sha256": file_sha256(f, stop),
               "bytes": f.stat().st_size} for f in files]
    if len(listed) == 1:
        sha256 = listed[0]["sha256"]
    else:
        lines = "".join(f"{e['path']}\t{e['sha256']}\n" for e in sorted(listed,
                                                                     key=lambda e: e["path"]))
        sha256 = hashlib.sha256(lines.encode()).hexdigest()
    return {"sha256": sha256, "bytes": sum(int(e["bytes"]) for e in listed), "files": listed}


def for_report(manifest: Mapping[str, Any], report: str | Path | None) -> dict[str, Any]:
    """``manifest`` as written into the report file ``report``: the contract's path relative
    to the report's folder, so the folder holding contract, data and report can move as a
    whole and be verified from anywhere. Unchanged (an absolute path) when the report goes to
    a stream without a file name."""
    contract = manifest.get("contract") or {}
    if (not isinstance(report, str | Path) or str(report).startswith("<")
            or not contract.get("path")):
        return dict(manifest)
    folder = os.path.dirname(os.path.abspath(report))
    return {**manifest, "contract": {**contract,
                                     "path": relative_to(Path(contract["path"]), Path(folder))}}


class Digests:
    """The input digests of a contract's sources, computed on a thread of their own while the
    sources are read (hashing releases the interpreter lock, so it costs no evaluation time).

    :meth:`close` stops the thread between two chunks and waits for it: every path out of an
    evaluation, an error included, leaves no thread behind.
    """

    def __init__(self, paths: Mapping[str, Path], files: Mapping[str, Sequence[Path]],
                 base: Path) -> None:
        self._paths = dict(paths)
        self._files = {name: list(found) for name, found in files.items()}
        self._base = base
        self._found: dict[str, dict[str, Any]] = {}
        self._worker = Worker(self._run, "slaengine-digests")

    def _run(self, stop: threading.Event) -> None:
        try:
            for name, found in self._files.items():
                entry = {"path": relative_to(self._paths[name], self._base)}
                entry.update(input_digest(found, self._base, stop))
                self._found[name] = entry
        except Stopped:
            pass

    def result(self) -> dict[str, dict[str, Any]]:
        """The digests, once all are computed; an error met while hashing is raised here."""
        self._worker.join()
        return self._found

    def close(self) -> None:
        """Stop hashing (if it still runs) and wait for the thread to end."""
        self._worker.close()
