"""C2SP tlog-checkpoint bodies signed as C2SP signed-notes with Ed25519.

The formats are byte-compatible with golang.org/x/mod/sumdb/note and the C2SP specs, so
any third-party note verifier can check our checkpoints without this software: that is
what lets a court trust the log without trusting us.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from custody import b64
from custody.errors import CheckpointError

ALG_ED25519 = 0x01
SIGNATURE_PREFIX = "\u2014 "  # em dash, space
MAX_SIGNATURES = 100
"""C2SP requires accepting at least 16; the Go reference stops at 100."""
MAX_TREE_SIZE = 2**64 - 1
"""Tree sizes are uint64 in every reference implementation."""

_HASH_SIZE = 32
_KEY_ID_HEX = re.compile(r"[0-9a-fA-F]{8}")
_DECIMAL = re.compile(r"0|[1-9][0-9]*")


def _is_valid_name(name: str) -> bool:
    """C2SP key names: non-empty, no Unicode spaces, no '+', no control characters."""
    return (
        bool(name)
        and "+" not in name
        and not any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in name)
        and _is_utf8(name)
    )


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates
        return False
    return True


def _check_name(name: object) -> str:
    if not isinstance(name, str) or not _is_valid_name(name):
        raise CheckpointError(
            f"invalid key name {name!r}: it must be non-empty, with no spaces and no '+'"
        )
    return name


def key_id(name: str, public: bytes) -> bytes:
    """SHA-256(name || 0x0A || 0x01 || pubkey)[:4] (C2SP signed-note, Ed25519)."""
    data = name.encode("utf-8") + b"\n" + bytes([ALG_ED25519]) + public
    return hashlib.sha256(data).digest()[:4]


# --- checkpoint bodies ---------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Checkpoint:
    """A tree head: the log's origin, its size and its RFC 9162 root hash."""

    origin: str
    size: int
    root: bytes

    def __post_init__(self) -> None:
        if (
            not isinstance(self.origin, str)
            or not self.origin
            or not _is_utf8(self.origin)
            or any(ord(c) < 0x20 for c in self.origin)
        ):
            # A newline in the origin would frame a different checkpoint when re-parsed.
            raise CheckpointError(
                f"checkpoint origin {self.origin!r} must be a non-empty single line"
            )
        if isinstance(self.size, bool) or not isinstance(self.size, int):
            raise CheckpointError(f"checkpoint size must be an integer, got {self.size!r}")
        if not 0 <= self.size <= MAX_TREE_SIZE:
            raise CheckpointError(f"checkpoint size {self.size} is out of range")
        if not isinstance(self.root, bytes) or len(self.root) != _HASH_SIZE:
            raise CheckpointError(f"checkpoint root hash must be {_HASH_SIZE} bytes")

    def body(self) -> str:
        """The note text: origin, decimal size, base64 root, each ending in a newline."""
        return f"{self.origin}\n{self.size}\n{b64.encode(self.root)}\n"


def parse_checkpoint(body: str) -> Checkpoint:
    """Strict C2SP tlog-checkpoint parse; extension lines are allowed (non-empty) and ignored."""
    if not isinstance(body, str) or not body.endswith("\n"):
        raise CheckpointError("malformed checkpoint: the body must end with a newline")
    lines = body[:-1].split("\n")
    if len(lines) < 3:
        raise CheckpointError("malformed checkpoint: it needs origin, size and root hash lines")
    if any(line == "" for line in lines):
        raise CheckpointError("malformed checkpoint: it contains an empty line")
    origin, size_text, root_text = lines[:3]
    if not _DECIMAL.fullmatch(size_text):
        raise CheckpointError(
            f"malformed checkpoint: tree size {size_text!r} is not a decimal number "
            "without leading zeros"
        )
    size = int(size_text)
    if size > MAX_TREE_SIZE:
        raise CheckpointError(f"malformed checkpoint: tree size {size_text} is too large")
    root = b64.decode(root_text, "checkpoint root hash")
    if len(root) != _HASH_SIZE:
        raise CheckpointError(
            f"malformed checkpoint: root hash is {len(root)} bytes, expected {_HASH_SIZE}"
        )
    return Checkpoint(origin=origin, size=size, root=root)


# --- keys ----------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class VerifierKey:
    """A public note key: ``name+hexkeyid+base64(0x01||pubkey)``."""

    name: str
    key_id: bytes
    public: bytes

    def __post_init__(self) -> None:
        _check_name(self.name)
        if not isinstance(self.public, bytes) or len(self.public) != 32:
            raise CheckpointError("an Ed25519 public key must be 32 bytes")
        if self.key_id != key_id(self.name, self.public):
            raise CheckpointError(
                f"key id does not match the name and public key of verifier key {self.name!r}"
            )

    @classmethod
    def from_public(cls, name: str, public: bytes) -> VerifierKey:
        return cls(name=name, key_id=key_id(_check_name(name), public), public=public)

    @classmethod
    def from_text(cls, text: str) -> VerifierKey:
        """Parse ``name+hexkeyid+base64(0x01||pubkey)`` (surrounding whitespace is ignored)."""
        # maxsplit: base64 itself may contain '+'; the name and hex id never do.
        parts = text.strip().split("+", 2)
        if len(parts) != 3:
            raise CheckpointError("malformed verifier key: expected name+keyid+key")
        name, hex_id, key64 = parts
        _check_name(name)
        if not _KEY_ID_HEX.fullmatch(hex_id):
            raise CheckpointError(f"malformed verifier key: key id {hex_id!r} is not 8 hex digits")
        raw = b64.decode(key64, "verifier key")
        if len(raw) != 33 or raw[0] != ALG_ED25519:
            raise CheckpointError(
                "malformed verifier key: expected algorithm 0x01 (Ed25519) and a 32-byte key"
            )
        public = raw[1:]
        if bytes.fromhex(hex_id) != key_id(name, public):
            raise CheckpointError(
                f"verifier key {name!r}: key id {hex_id} does not match the public key"
            )
        return cls(name=name, key_id=bytes.fromhex(hex_id), public=public)

    def to_text(self) -> str:
        return f"{self.name}+{self.key_id.hex()}+{b64.encode(bytes([ALG_ED25519]) + self.public)}"

    def verify(self, message: bytes, signature: bytes) -> None:
        """Raw Ed25519 verification; raises :class:`CheckpointError` on any failure."""
        try:
            Ed25519PublicKey.from_public_bytes(self.public).verify(signature, message)
        except (InvalidSignature, ValueError):
            raise CheckpointError(
                f"signature by {self.name}+{self.key_id.hex()} does not verify"
            ) from None


@dataclass(frozen=True, kw_only=True)
class SigningKey:
    """A private note key, named with the log origin so checkpoints are self-describing."""

    name: str
    private: Ed25519PrivateKey = field(repr=False)

    def __post_init__(self) -> None:
        _check_name(self.name)
        if not isinstance(self.private, Ed25519PrivateKey):
            raise CheckpointError("a signing key must hold an Ed25519 private key")

    @classmethod
    def generate(cls, name: str) -> SigningKey:
        return cls(name=name, private=Ed25519PrivateKey.generate())

    @classmethod
    def from_text(cls, text: str) -> SigningKey:
        """Parse ``PRIVATE+KEY+name+hexkeyid+base64(0x01||seed)`` (x/mod/sumdb/note form)."""
        parts = text.strip().split("+", 4)
        if len(parts) != 5 or parts[0] != "PRIVATE" or parts[1] != "KEY":
            raise CheckpointError("malformed signing key: expected PRIVATE+KEY+name+keyid+key")
        _, _, name, hex_id, key64 = parts
        _check_name(name)
        if not _KEY_ID_HEX.fullmatch(hex_id):
            raise CheckpointError(f"malformed signing key: key id {hex_id!r} is not 8 hex digits")
        raw = b64.decode(key64, "signing key")
        if len(raw) != 33 or raw[0] != ALG_ED25519:
            raise CheckpointError(
                "malformed signing key: expected algorithm 0x01 (Ed25519) and a 32-byte seed"
            )
        key = cls(name=name, private=Ed25519PrivateKey.from_private_bytes(raw[1:]))
        if bytes.fromhex(hex_id) != key.key_id:
            raise CheckpointError(f"signing key {name!r}: key id {hex_id} does not match the key")
        return key

    @property
    def public(self) -> bytes:
        return self.private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, self.public)

    def verifier(self) -> VerifierKey:
        return VerifierKey(name=self.name, key_id=self.key_id, public=self.public)

    def to_text(self) -> str:
        seed = b64.encode(bytes([ALG_ED25519]) + self.private.private_bytes_raw())
        return f"PRIVATE+KEY+{self.name}+{self.key_id.hex()}+{seed}"

    def sign(self, message: bytes) -> bytes:
        """Raw 64-byte Ed25519 signature."""
        return self.private.sign(message)


# --- signed notes --------------------------------------------------------------------


def _check_note_chars(text: str, what: str) -> None:
    if not _is_utf8(text) or any(ord(c) < 0x20 and c != "\n" for c in text):
        raise CheckpointError(
            f"malformed note: {what} must be UTF-8 with no control characters except newline"
        )


def sign_note(body: str, key: SigningKey) -> str:
    """``body`` + blank line + ``— <name> base64(keyid || sig)``, signing the body bytes."""
    if not body.endswith("\n"):
        raise CheckpointError("malformed note: the text must end with a newline")
    _check_note_chars(body, "the text")
    signature = key.key_id + key.sign(body.encode("utf-8"))
    return f"{body}\n{SIGNATURE_PREFIX}{key.name} {b64.encode(signature)}\n"


@dataclass(frozen=True, kw_only=True)
class NoteSignature:
    """One signature line of a note: the key name, the 4-byte key id and the signature."""

    name: str
    key_id: bytes
    signature: bytes

    def line(self) -> str:
        return f"{SIGNATURE_PREFIX}{self.name} {b64.encode(self.key_id + self.signature)}\n"


def split_note(text: str) -> tuple[str, list[NoteSignature]]:
    """A signed note's text and its signature lines, parsed but not verified (C2SP)."""
    if not isinstance(text, str):
        raise CheckpointError("malformed note: expected text")
    _check_note_chars(text, "a signed note")
    split = text.rfind("\n\n")
    if split < 0:
        raise CheckpointError("malformed note: no blank line before the signatures")
    body, block = text[: split + 1], text[split + 2 :]
    if not block.endswith("\n"):
        raise CheckpointError("malformed note: no signature lines, or the last is unterminated")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise CheckpointError(f"malformed note: more than {MAX_SIGNATURES} signatures")
    signatures: list[NoteSignature] = []
    for number, line in enumerate(lines, start=1):
        if not line.startswith(SIGNATURE_PREFIX):
            raise CheckpointError(
                f"malformed note: signature line {number} does not start with '— '"
            )
        name, sep, sig64 = line[len(SIGNATURE_PREFIX) :].partition(" ")
        if not sep or not _is_valid_name(name) or not sig64:
            raise CheckpointError(f"malformed note: signature line {number} is malformed")
        raw = b64.decode(sig64, f"signature line {number}")
        if len(raw) < 5:
            raise CheckpointError(f"malformed note: signature line {number} is too short")
        signatures.append(NoteSignature(name=name, key_id=raw[:4], signature=raw[4:]))
    return body, signatures


def open_note(text: str, verifiers: Sequence[VerifierKey]) -> tuple[str, list[VerifierKey]]:
    """Verify a signed note against trusted keys; return its text and who signed it.

    Signatures from unknown keys are ignored (C2SP: they may be witnesses or rotated keys),
    but a signature claiming a trusted name and key id that fails to verify rejects the
    whole note, and at least one trusted signature is required.
    """
    body, lines = split_note(text)
    known: dict[tuple[str, bytes], VerifierKey] = {}
    for v in verifiers:
        other = known.setdefault((v.name, v.key_id), v)
        if other.public != v.public:
            raise CheckpointError(f"two trusted keys share name {v.name!r} and key id")

    message = body.encode("utf-8")
    signed: list[VerifierKey] = []
    strangers: list[str] = []
    for line in lines:
        verifier = known.get((line.name, line.key_id))
        if verifier is None:
            strangers.append(f"{line.name}+{line.key_id.hex()}")
            continue
        if verifier in signed:
            continue  # a repeated signature by one key counts once
        try:
            verifier.verify(message, line.signature)
        except CheckpointError as e:
            raise CheckpointError(
                f"{e.message}: the note was changed after the trusted key signed it"
            ) from None
        signed.append(verifier)
    if not signed:
        trusted = ", ".join(f"{v.name}+{v.key_id.hex()}" for v in verifiers) or "(none given)"
        if strangers:
            raise CheckpointError(
                f"no signature by a trusted key: signed by key {', '.join(strangers)}, not by "
                f"the trusted key {trusted}"
            )
        raise CheckpointError(f"no signature by a trusted key (trusted: {trusted})")
    return body, signed


def sign_checkpoint(checkpoint: Checkpoint, key: SigningKey) -> str:
    """A signed checkpoint note; the key must be named with the checkpoint's origin."""
    if key.name != checkpoint.origin:
        raise CheckpointError(
            f"key {key.name!r} cannot sign a checkpoint of origin {checkpoint.origin!r}"
        )
    return sign_note(checkpoint.body(), key)


def open_checkpoint(text: str, verifiers: Sequence[VerifierKey]) -> Checkpoint:
    """Verify a signed checkpoint; a trusted key named like its origin must have signed it."""
    body, signers = open_note(text, verifiers)
    checkpoint = parse_checkpoint(body)
    if not any(v.name == checkpoint.origin for v in signers):
        names = ", ".join(sorted({v.name for v in signers}))
        raise CheckpointError(
            f"checkpoint origin {checkpoint.origin!r} is not signed by a trusted key of that "
            f"name (signed by: {names})"
        )
    return checkpoint
