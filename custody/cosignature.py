"""C2SP tlog-cosignature (cosignature/v1, Ed25519): how a witness vouches for a checkpoint.

A cosignature is a note signature line whose signature is ``u64 timestamp || Ed25519
signature`` over ``cosignature/v1\\ntime <t>\\n`` followed by the checkpoint body. Its key id
is SHA-256(name || 0x0A || 0x04 || pubkey)[:4], and its verifier key is
``name+hexid+base64(0x04||pubkey)``. Byte-compatible with the Go reference
(transparency-dev/formats/note) and tlog-scales, so a court can check a witness's word with
any of them. The witness's private key uses the note form ``PRIVATE+KEY+name+hexid+
base64(0x04||seed)``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from custody import b64
from custody.checkpoint import NoteSignature, _check_name, split_note
from custody.errors import CheckpointError

ALG_COSIGNATURE_V1 = 0x04
HEADER = "cosignature/v1"
MAX_TIMESTAMP = 2**63 - 1
_KEY_ID_HEX = re.compile(r"[0-9a-f]{8}")


def cosigner_key_id(name: str, public: bytes) -> bytes:
    """SHA-256(name || 0x0A || 0x04 || pubkey)[:4]."""
    data = name.encode("utf-8") + b"\n" + bytes([ALG_COSIGNATURE_V1]) + public
    return hashlib.sha256(data).digest()[:4]


def cosigned_message(body: str, timestamp: int) -> bytes:
    """What a cosigner signs: the header line, the time line and the whole checkpoint body."""
    if isinstance(timestamp, bool) or not 0 <= timestamp <= MAX_TIMESTAMP:
        raise CheckpointError(f"cosignature timestamp {timestamp!r} is out of range")
    return f"{HEADER}\ntime {timestamp}\n".encode() + body.encode("utf-8")


@dataclass(frozen=True, kw_only=True)
class WitnessKey:
    """A witness's public key: ``name+hexid+base64(0x04||pubkey)``."""

    name: str
    key_id: bytes
    public: bytes

    def __post_init__(self) -> None:
        _check_name(self.name)
        if not isinstance(self.public, bytes) or len(self.public) != 32:
            raise CheckpointError("an Ed25519 public key must be 32 bytes")
        if self.key_id != cosigner_key_id(self.name, self.public):
            raise CheckpointError(f"key id does not match witness key {self.name!r}")

    @classmethod
    def from_text(cls, text: str) -> WitnessKey:
        parts = text.strip().split("+", 2)
        if len(parts) != 3:
            raise CheckpointError("malformed witness key: expected name+keyid+key")
        name, hex_id, key64 = parts
        _check_name(name)
        if not _KEY_ID_HEX.fullmatch(hex_id.lower()):
            raise CheckpointError(f"malformed witness key: key id {hex_id!r} is not 8 hex digits")
        raw = b64.decode(key64, "witness key")
        if len(raw) != 33 or raw[0] != ALG_COSIGNATURE_V1:
            raise CheckpointError(
                "malformed witness key: expected algorithm 0x04 (Ed25519 cosignature/v1) and a "
                "32-byte key"
            )
        public = raw[1:]
        if bytes.fromhex(hex_id) != cosigner_key_id(name, public):
            raise CheckpointError(f"witness key {name!r}: key id {hex_id} does not match the key")
        return cls(name=name, key_id=bytes.fromhex(hex_id), public=public)

    def to_text(self) -> str:
        raw = bytes([ALG_COSIGNATURE_V1]) + self.public
        return f"{self.name}+{self.key_id.hex()}+{b64.encode(raw)}"

    @property
    def label(self) -> str:
        return f"{self.name}+{self.key_id.hex()}"

    def verify(self, body: str, signature: bytes) -> int:
        """Check ``timestamp || sig`` over ``body``; return the timestamp."""
        if len(signature) != 8 + 64:
            raise CheckpointError(f"cosignature by {self.label} is not 72 bytes")
        timestamp = int.from_bytes(signature[:8], "big")
        try:
            Ed25519PublicKey.from_public_bytes(self.public).verify(
                signature[8:], cosigned_message(body, timestamp)
            )
        except (InvalidSignature, ValueError):
            raise CheckpointError(f"cosignature by {self.label} does not verify") from None
        return timestamp


@dataclass(frozen=True, kw_only=True)
class WitnessSigningKey:
    """A witness's private key."""

    name: str
    private: Ed25519PrivateKey = field(repr=False)

    def __post_init__(self) -> None:
        _check_name(self.name)

    @classmethod
    def generate(cls, name: str) -> WitnessSigningKey:
        return cls(name=name, private=Ed25519PrivateKey.generate())

    @property
    def public(self) -> bytes:
        return self.private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    def verifier(self) -> WitnessKey:
        return WitnessKey(
            name=self.name, key_id=cosigner_key_id(self.name, self.public), public=self.public
        )

    def to_text(self) -> str:
        raw = bytes([ALG_COSIGNATURE_V1]) + self.private.private_bytes_raw()
        return f"PRIVATE+KEY+{self.name}+{self.verifier().key_id.hex()}+{b64.encode(raw)}"

    @classmethod
    def from_text(cls, text: str) -> WitnessSigningKey:
        parts = text.strip().split("+", 4)
        if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
            raise CheckpointError("malformed witness signing key: expected PRIVATE+KEY+…")
        _, _, name, hex_id, key64 = parts
        raw = b64.decode(key64, "witness signing key")
        if len(raw) != 33 or raw[0] != ALG_COSIGNATURE_V1:
            raise CheckpointError("malformed witness signing key: expected algorithm 0x04")
        key = cls(name=name, private=Ed25519PrivateKey.from_private_bytes(raw[1:]))
        if key.verifier().key_id.hex() != hex_id.lower():
            raise CheckpointError(f"witness signing key {name!r}: key id {hex_id} does not match")
        return key

    def cosign(self, body: str, timestamp: int) -> NoteSignature:
        """The cosignature line over a checkpoint body, made at ``timestamp``."""
        signature = self.private.sign(cosigned_message(body, timestamp))
        v = self.verifier()
        return NoteSignature(
            name=self.name, key_id=v.key_id, signature=timestamp.to_bytes(8, "big") + signature
        )


CosignatureStatus = Literal["ok", "missing", "invalid"]


@dataclass(frozen=True, kw_only=True)
class CosignatureCheck:
    """What one trusted witness's line on a note says: vouched (at ``timestamp``) or not."""

    witness: WitnessKey
    status: CosignatureStatus
    timestamp: int | None = None
    message: str = ""


def check_cosignatures(
    note: str, witnesses: Sequence[WitnessKey]
) -> tuple[str, list[CosignatureCheck]]:
    """The note body and, per trusted witness, whether its cosignature is there and verifies.

    Lines by unknown keys are ignored (C2SP). ``invalid`` keeps the line's claimed
    timestamp when it has one, so a caller can tell a replayed older cosignature from noise.
    """
    body, lines = split_note(note)
    results: list[CosignatureCheck] = []
    for witness in witnesses:
        mine = [s for s in lines if (s.name, s.key_id) == (witness.name, witness.key_id)]
        if not mine:
            results.append(
                CosignatureCheck(
                    witness=witness, status="missing", message=f"no cosignature by {witness.label}"
                )
            )
            continue
        checked: CosignatureCheck | None = None
        for line in mine:
            try:
                timestamp = witness.verify(body, line.signature)
            except CheckpointError as e:
                claimed = (
                    int.from_bytes(line.signature[:8], "big") if len(line.signature) >= 8 else None
                )
                checked = checked or CosignatureCheck(
                    witness=witness, status="invalid", timestamp=claimed, message=e.message
                )
                continue
            checked = CosignatureCheck(witness=witness, status="ok", timestamp=timestamp)
            break
        assert checked is not None
        results.append(checked)
    return body, results


def add_signatures(note: str, extra: Sequence[NoteSignature]) -> str:
    """The note with signature lines appended (each once), its body untouched."""
    _, present = split_note(note)
    lines = [s.line() for s in extra if s not in present]
    unique = list(dict.fromkeys(lines))
    return note + "".join(unique)
