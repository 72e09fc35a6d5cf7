"""Key rotation as a ledger entry: the old key names its successor, in its own signature.

A rotation entry (``ledger.key_rotated``) carries the old and the new verifier key and the
old key's Ed25519 signature over :func:`statement`. The checkpoint that first includes the
entry is still signed by the old key; every later one by the new key. So a court that
trusts only the old key can follow the chain — each step authorised by the key before it,
and each rotation entry proven in the log — to the key that signed a later bundle, and old
checkpoints keep verifying under the key that signed them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from custody import b64
from custody.checkpoint import SigningKey, VerifierKey
from custody.errors import CheckpointError
from custody.ledger import Action

HEADER = "custody key rotation/v1"


def statement(origin: str, old: VerifierKey, new: VerifierKey) -> bytes:
    """The bytes the old key signs: domain, log, and both keys."""
    return f"{HEADER}\norigin {origin}\nold {old.to_text()}\nnew {new.to_text()}\n".encode()


def rotation_details(origin: str, old: SigningKey, new: VerifierKey) -> dict[str, Any]:
    """The ``details`` of a rotation entry, signed by ``old``."""
    signature = old.sign(statement(origin, old.verifier(), new))
    return {
        "origin": origin,
        "old_key": old.verifier().to_text(),
        "new_key": new.to_text(),
        "signature": b64.encode(signature),
    }


@dataclass(frozen=True, kw_only=True)
class Rotation:
    """A checked rotation: at entry ``seq`` the log moved from ``old`` to ``new``."""

    seq: int
    old: VerifierKey
    new: VerifierKey


def parse_rotation(seq: int, value: dict[str, Any]) -> Rotation:
    """Check a rotation entry's own signature (by the old key); raise CheckpointError."""
    if value.get("action") != Action.KEY_ROTATED:
        raise CheckpointError(f"entry {seq} is {value.get('action')!r}, not a key rotation")
    details = value.get("details")
    if not isinstance(details, dict):
        raise CheckpointError(f"rotation entry {seq} has no details")
    try:
        old = VerifierKey.from_text(str(details["old_key"]))
        new = VerifierKey.from_text(str(details["new_key"]))
        signature = b64.decode(details["signature"], f"rotation {seq} signature")
        origin = str(details["origin"])
    except KeyError as e:
        raise CheckpointError(f"rotation entry {seq} lacks {e.args[0]!r}") from None
    if old.name != origin or new.name != origin:
        raise CheckpointError(f"rotation entry {seq}: both keys must be named {origin!r}")
    try:
        old.verify(statement(origin, old, new), signature)
    except CheckpointError:
        raise CheckpointError(
            f"rotation entry {seq} is not signed by the key it rotates from ({old.name}+"
            f"{old.key_id.hex()}): a forged rotation"
        ) from None
    return Rotation(seq=seq, old=old, new=new)


def parse_entry(seq: int, canonical: bytes) -> Rotation:
    try:
        value = json.loads(canonical)
    except ValueError as e:
        raise CheckpointError(f"rotation entry {seq} is not JSON: {e}") from None
    if not isinstance(value, dict) or value.get("seq") != seq:
        raise CheckpointError(f"rotation entry {seq} is not a ledger entry of that seq")
    return parse_rotation(seq, value)


def follow(trusted: VerifierKey, rotations: Sequence[Rotation]) -> list[Rotation]:
    """The chain of rotations from ``trusted``, in ledger order; a gap is an error."""
    chain: list[Rotation] = []
    current = trusted
    for rotation in sorted(rotations, key=lambda r: r.seq):
        if rotation.old != current:
            raise CheckpointError(
                f"rotation entry {rotation.seq} rotates from {rotation.old.name}+"
                f"{rotation.old.key_id.hex()}, but the key at that point is {current.name}+"
                f"{current.key_id.hex()}: a rotation is missing or forged"
            )
        chain.append(rotation)
        current = rotation.new
    return chain


def key_for_size(trusted: VerifierKey, chain: Sequence[Rotation], size: int) -> VerifierKey:
    """The key that must sign the checkpoint of ``size``: a rotation at seq r takes effect
    for trees larger than r + 1 (the tree of r + 1 leaves is the old key's last)."""
    key = trusted
    for rotation in chain:
        if size > rotation.seq + 1:
            key = rotation.new
    return key
