"""The ledger signing key: created on first start (mode 0600) or loaded from a file."""

from __future__ import annotations

import os
from pathlib import Path

from custody.checkpoint import SigningKey
from custody.errors import CheckpointError, StorageMisconfigured


def load_or_create_signing_key(path: Path, origin: str, *, create: bool = True) -> SigningKey:
    """Load the note-format private key at ``path``; create it there if absent and allowed.

    The key's name is the ledger origin, so checkpoints name the log they belong to.
    """
    if path.exists():
        try:
            key = SigningKey.from_text(path.read_text())
        except CheckpointError as e:
            raise StorageMisconfigured(f"signing key {path} is unreadable: {e.message}") from e
        if key.name != origin:
            raise StorageMisconfigured(
                f"signing key {path} is named {key.name!r} but CUSTODY_LEDGER_ORIGIN is "
                f"{origin!r}; use the key that belongs to this ledger"
            )
        return key
    if not create:
        raise StorageMisconfigured(f"signing key {path} does not exist")
    key = SigningKey.generate(origin)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(key.to_text() + "\n")
    return key
