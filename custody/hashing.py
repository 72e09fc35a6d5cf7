"""Hashing files for ``custody-verify hash`` and ``custody hash``: digests only, nothing else.

Kept apart from :mod:`custody.offline` so that hashing a file does not load the checkpoint,
timestamp and report modules (cryptography, rfc3161): the command starts in a tenth of a
second, which matters when a clerk hashes many exhibits one by one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from custody.digests import SUPPORTED, hash_file, parse_algorithms
from custody.errors import InputError


def require_file(path: Path) -> Path:
    if not path.is_file():
        raise InputError(f"{path}: not a file" if path.exists() else f"{path}: no such file")
    return path


@dataclass(frozen=True, kw_only=True)
class HashedFile:
    """One file's size and digests, in the order of ``algorithms``."""

    path: Path
    size: int
    algorithms: tuple[str, ...]
    digests: dict[str, str]

    def to_json(self) -> dict[str, Any]:
        return {"file": str(self.path), "size": self.size, "digests": dict(self.digests)}


def hash_files(paths: Sequence[Path], algorithms: str | None = None) -> list[HashedFile]:
    """Hash each file in one pass; ``algorithms`` is ``"md5,sm3"``-style, default all."""
    chosen = parse_algorithms(",".join(SUPPORTED) if algorithms is None else algorithms)
    for path in paths:
        require_file(path)
    results = []
    for path in paths:
        digests = hash_file(path, chosen)
        results.append(
            HashedFile(path=path, size=digests.size, algorithms=chosen, digests=digests.digests)
        )
    return results
