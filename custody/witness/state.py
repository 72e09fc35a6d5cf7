"""The witness's durable memory: its key, and per log origin the latest checkpoint it cosigned.

Each origin's record is one small JSON file replaced atomically (temp file, fsync, rename,
fsync of the folder), so a crash leaves the old record or the new one, never a torn one,
and the witness never forgets a size it cosigned: it cannot be made to cosign a second root
for it. Checkpoints it refused for contradicting its record are kept too, as evidence.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from custody import b64
from custody.atomic import write_atomic
from custody.cosignature import WitnessSigningKey
from custody.errors import CheckpointError, InputError

KEY_FILE = "witness.key"
LOCK_FILE = "witness.lock"


def init_witness(directory: Path, name: str) -> WitnessSigningKey:
    """Create the witness folder and its key (0600); refuse to replace an existing key."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / KEY_FILE
    if path.exists():
        raise InputError(f"{path} exists: this folder already holds a witness")
    key = WitnessSigningKey.generate(name)
    write_atomic(path, (key.to_text() + "\n").encode(), mode=0o600)
    return key


def load_key(directory: Path) -> WitnessSigningKey:
    path = directory / KEY_FILE
    if not path.is_file():
        raise InputError(f"{path}: no witness key; run `custody witness init` first")
    try:
        return WitnessSigningKey.from_text(path.read_text(encoding="utf-8"))
    except CheckpointError as e:
        raise InputError(f"{path}: {e.message}") from None


@dataclass(frozen=True, kw_only=True)
class Record:
    """The latest checkpoint cosigned for one origin."""

    origin: str
    size: int
    root: bytes
    note: str


class WitnessState:
    """Per-origin records under ``<dir>/logs/``; one process per folder (an exclusive lock)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._lock: IO[bytes] | None = None

    def lock(self) -> None:
        """Hold the folder for this process: two witnesses on one record could each cosign."""
        handle = (self.directory / LOCK_FILE).open("ab")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            raise InputError(f"{self.directory} is in use by another witness process") from None
        self._lock = handle

    def unlock(self) -> None:
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    def _path(self, origin: str, kind: str = "logs") -> Path:
        digest = hashlib.sha256(origin.encode("utf-8")).hexdigest()
        return self.directory / kind / f"{digest}.json"

    def get(self, origin: str) -> Record | None:
        path = self._path(origin)
        if not path.is_file():
            return None
        value = json.loads(path.read_text(encoding="utf-8"))
        if value.get("origin") != origin:
            raise InputError(f"{path} records another origin")
        return Record(
            origin=origin,
            size=int(value["size"]),
            root=b64.decode(value["root"], "recorded root"),
            note=str(value["note"]),
        )

    def put(self, record: Record) -> None:
        value = {
            "origin": record.origin,
            "size": record.size,
            "root": b64.encode(record.root),
            "note": record.note,
        }
        write_atomic(self._path(record.origin), json.dumps(value, sort_keys=True).encode())

    def keep_evidence(self, origin: str, size: int, root: bytes, note: str) -> Path:
        """Keep a signed checkpoint that contradicts the record: proof of a split view."""
        digest = hashlib.sha256(origin.encode("utf-8")).hexdigest()
        path = self.directory / "refused" / digest / f"{size}-{root.hex()}.txt"
        if not path.exists():
            write_atomic(path, note.encode("utf-8"))
        return path
