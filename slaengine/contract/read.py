"""Read a contract file: sized up before it is read, decoded as UTF-8, parsed as TOML with
every problem placed at its line (and, for a repeated key, named), nesting bounded."""

from __future__ import annotations

import re
import stat
import tomllib
from pathlib import Path
from typing import Any

from slaengine.contract.check import Checker
from slaengine.contract.model import Contract
from slaengine.errors import ContractError
from slaengine.pluginmanager import Registry, build_registry

MAX_CONTRACT_BYTES = 10 * 1024 * 1024
"""The largest contract file read (10 MiB; real contracts are a few KiB)."""

MAX_DEPTH = 32
"""The deepest nesting of tables and arrays a contract may have (real ones reach 4)."""


def load_contract(path: str | Path, registry: Registry | None = None) -> Contract:
    """Read and check the contract at ``path`` against the plugins in ``registry``.

    The file is sized up before it is read: anything but a regular file (a folder, a device such
    as ``/dev/zero``, a pipe) and anything above :data:`MAX_CONTRACT_BYTES` is refused unread.
    """
    path = Path(path)
    return parse_contract(_read_text(path), path=path, registry=registry)


def _read_text(path: Path) -> str:
    try:
        info = path.stat()
    except FileNotFoundError:
        raise ContractError(path, (), "no such contract file") from None
    except OSError as exc:
        raise ContractError(path, (), f"cannot read the contract: {exc.strerror}") from None
    if not stat.S_ISREG(info.st_mode):
        what = "a folder" if stat.S_ISDIR(info.st_mode) else "not a regular file"
        raise ContractError(path, (), f"{what}; expected a contract file (.toml)")
    if info.st_size > MAX_CONTRACT_BYTES:
        raise ContractError(path, (), f"{info.st_size} bytes; a contract may have at most "
                            f"{MAX_CONTRACT_BYTES} bytes")
    try:
        with path.open("rb") as stream:
            data = stream.read(MAX_CONTRACT_BYTES + 1)  # the file may have grown since
    except OSError as exc:
        raise ContractError(path, (), f"cannot read the contract: {exc.strerror}") from None
    if len(data) > MAX_CONTRACT_BYTES:
        raise ContractError(path, (), f"more than {MAX_CONTRACT_BYTES} bytes; a contract may "
                            f"have at most {MAX_CONTRACT_BYTES} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ContractError(path, (), f"byte {exc.start + 1} ({data[exc.start]:#04x}) is not "
                            "UTF-8; save the contract as UTF-8", line=line) from None


def parse_contract(
    text: str, *, path: Path | None = None, registry: Registry | None = None
) -> Contract:
    """Check contract ``text``; ``path`` (if any) names it in messages and anchors its paths."""
    registry = registry or build_registry()
    document = _parse_toml(text, path)
    try:
        return Checker(text, path, registry).check(document)
    except RecursionError:  # a shape no check foresaw; never a traceback
        raise ContractError(path, (), f"nested too deeply (at most {MAX_DEPTH} levels of "
                            "tables and arrays)") from None


_TOML_PLACE = re.compile(r"\(at line (\d+), column (\d+)\)")


def _parse_toml(text: str, path: Path | None) -> dict[str, Any]:
    """``text`` as TOML; a problem names its line and, for a repeated key, the key."""
    if text.startswith("\ufeff"):
        raise ContractError(path, (), "the file starts with a byte-order mark; save it as UTF-8 "
                            "without one", line=1)
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        place = _TOML_PLACE.search(message)
        line = int(place.group(1)) if place else None
        reason = _TOML_PLACE.sub("", message).strip()
        if line is not None and ("overwrite" in reason or "twice" in reason):
            key = _key_at(text, line, int(place.group(2)))
            if key:
                reason = f'"{key}" is given twice ({reason[:1].lower()}{reason[1:]})'
        raise ContractError(path, (), f"not valid TOML: {reason}", line=line) from None
    except RecursionError:
        raise ContractError(path, (), f"not valid TOML: nested too deeply (at most {MAX_DEPTH} "
                            "levels of tables and arrays)") from None
    depth = _depth(document)
    if depth > MAX_DEPTH:
        raise ContractError(path, (), f"nested {depth} levels deep; at most {MAX_DEPTH} levels "
                            "of tables and arrays")
    return document


def _key_at(text: str, line: int, column: int) -> str | None:
    """The key written on ``line`` at or before ``column`` (a header's name, ``key =``)."""
    lines = text.splitlines()
    if not 0 < line <= len(lines):
        return None
    found = lines[line - 1]
    header = re.match(r"\s*\[\[?\s*([^\]]+?)\s*\]", found)
    if header:
        return header.group(1)
    keys = [m.group(1) for m in re.finditer(r"([A-Za-z0-9_\-.\"']+)\s*=", found[:column + 1])]
    return keys[-1].strip("\"'") if keys else None


def _depth(document: Any) -> int:
    """How deeply tables and arrays nest in ``document`` (counted without recursion)."""
    deepest = 0
    stack = [(document, 0)]
    while stack:
        value, level = stack.pop()
        if isinstance(value, dict):
            children = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        deepest = max(deepest, level + 1)
        if deepest > MAX_DEPTH:
            return deepest
        stack.extend((child, level + 1) for child in children)
    return deepest
