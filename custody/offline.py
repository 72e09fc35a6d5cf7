"""The offline checks behind both CLIs (``custody`` and ``custody-verify``): files in, values out.

One copy of each decision, so that the court's small verifier and the server's full CLI can
never disagree. Nothing here prints; :mod:`custody.verdicts` says what a result means.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from custody.checkpoint import Checkpoint, VerifierKey, open_checkpoint
from custody.digests import SUPPORTED, hash_file, parse_algorithms
from custody.errors import CheckpointError, InputError, MalformedMetadata, ProofError
from custody.log_audit import check_consistency
from custody.merkle import parse_consistency_proof
from custody.report import VerificationReport, parse_report, verify_report_signature

# --- the trusted key -------------------------------------------------------------------


def load_trusted_key(value: str, *, option: str = "--trusted-key") -> VerifierKey:
    """The key text ``name+hexid+base64``, or a file holding it; a bad value is an input error.

    It is the one thing a court must obtain independently (the lab's published key), so a
    typo must say which of the two readings failed rather than look like a forged bundle.
    """
    path = Path(value)
    if path.is_file():
        text = path.read_text(encoding="utf-8")
        where = f"{option} {value}"
    elif path.exists():
        raise InputError(f"{option} {value}: is not a file")
    else:
        text = value
        where = option
    try:
        return VerifierKey.from_text(text.strip())
    except CheckpointError as e:
        hint = "" if "+" in value else f" (and there is no file {value!r})"
        raise InputError(f"{where}: {e.message}{hint}") from None


def require_file(path: Path) -> Path:
    if not path.is_file():
        raise InputError(f"{path}: not a file" if path.exists() else f"{path}: no such file")
    return path


def require_folder(path: Path) -> Path:
    if not path.is_dir():
        raise InputError(f"{path}: not a folder" if path.exists() else f"{path}: no such folder")
    return path


# --- hashing ---------------------------------------------------------------------------


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


# --- consistency between two checkpoints -----------------------------------------------

ProofSource = Callable[[Checkpoint, Checkpoint], Sequence[bytes]]
"""Where the proof hashes come from: a saved proof file offline, the server online."""


def read_checkpoint(path: Path, key: VerifierKey) -> Checkpoint:
    """A checkpoint note from a file, its signature checked against the trusted key."""
    return open_checkpoint(path.read_text(encoding="utf-8"), [key])


def proof_from_json(proof_json: str) -> ProofSource:
    """A saved ``{"first","second","hashes"}`` proof; it must be for the two sizes checked."""

    def hashes(old: Checkpoint, new: Checkpoint) -> list[bytes]:
        try:
            value: object = json.loads(proof_json)
        except ValueError as e:
            raise MalformedMetadata(f"the consistency proof is not valid JSON: {e}") from None
        parsed = parse_consistency_proof(value)
        if (parsed.first, parsed.second) != (old.size, new.size):
            raise ProofError(
                f"the proof is for sizes {parsed.first}->{parsed.second}, not "
                f"{old.size}->{new.size}"
            )
        return list(parsed.hashes)

    return hashes


@dataclass(frozen=True, kw_only=True)
class Consistency:
    """Proven: the log at ``new`` extends the log at ``old`` (both signed by ``key``)."""

    old: Checkpoint
    new: Checkpoint
    key: VerifierKey


def prove_consistency(
    old_note: str, new_note: str, *, key: VerifierKey, proof: ProofSource
) -> Consistency:
    """Both notes signed by ``key``, and ``new`` extends ``old``; else a VerificationError.

    The proof is asked for only when one is needed (RFC 9162 §2.1.4: a strictly growing,
    non-empty pair); equal sizes must carry equal roots, or the log forked.
    """
    old = open_checkpoint(old_note, [key])
    new = open_checkpoint(new_note, [key])
    hashes = proof(old, new) if 0 < old.size < new.size else []
    check_consistency(old, new, hashes)
    return Consistency(old=old, new=new, key=key)


# --- a signed verification report ------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class SignedReport:
    """A report whose detached signature verified with ``signer``."""

    signer: VerifierKey
    report: VerificationReport
    report_hash: str


def check_signed_report(data: bytes, signature_text: str, key: VerifierKey) -> SignedReport:
    """Verify the signature over exactly ``data``, then parse it; never parse unsigned bytes."""
    signer = verify_report_signature(data, signature_text, [key])
    return SignedReport(
        signer=signer, report=parse_report(data), report_hash=hashlib.sha256(data).hexdigest()
    )
