"""The ledger signing key: created on first start (mode 0600) or loaded from a file.

The key is written to a temp file, fsynced and linked into place, so a crash or a full
disk never leaves a truncated key behind, and two servers starting at once on one data
dir end up with the same key.
"""

from __future__ import annotations

from pathlib import Path

from custody.checkpoint import SigningKey
from custody.errors import CheckpointError, StorageFull, StorageMisconfigured
from storage.durable import create_exclusive, is_full


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
    try:
        created = create_exclusive(path, (key.to_text() + "\n").encode(), mode=0o600)
    except OSError as e:
        error = StorageFull if is_full(e) else StorageMisconfigured
        raise error(f"cannot write the signing key {path}: {e}") from e
    if not created:  # another server process created it first: use that one
        return load_or_create_signing_key(path, origin, create=False)
    return key
