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

from custody.checkpoint import Checkpoint, VerifierKey, open_checkpoint
from custody.cosignature import WitnessKey
from custody.errors import CheckpointError, InputError, MalformedMetadata, ProofError
from custody.hashing import require_file as require_file  # re-exported for the CLIs
from custody.log_audit import check_consistency
from custody.merkle import parse_consistency_proof
from custody.report import VerificationReport, parse_report, verify_report_signature
from custody.timestamp import TsaTrust, load_trust

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


def require_folder(path: Path) -> Path:
    if not path.is_dir():
        raise InputError(f"{path}: not a folder" if path.exists() else f"{path}: no such folder")
    return path


# --- hashing ---------------------------------------------------------------------------


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


# --- anchoring: witness keys, TSA certificates, split views ----------------------------


def load_witness_keys(values: Sequence[str]) -> list[WitnessKey]:
    """``--witness-key`` values: ``name+hexid+base64(0x04||pubkey)`` or files holding one."""
    keys = []
    for value in values:
        path = Path(value)
        text = path.read_text(encoding="utf-8") if path.is_file() else value
        try:
            keys.append(WitnessKey.from_text(text.strip()))
        except CheckpointError as e:
            raise InputError(f"--witness-key {value}: {e.message}") from None
    if len({(k.name, k.key_id) for k in keys}) != len(keys):
        raise InputError("the same --witness-key is given twice")
    return keys


def check_min_witnesses(keys: Sequence[WitnessKey], minimum: int | None) -> int:
    """The quorum: default one when witness keys are given; never more than there are."""
    need = (1 if keys else 0) if minimum is None else minimum
    if need < 0 or need > len(keys):
        raise InputError(
            f"--min-witnesses {need} needs at least that many --witness-key (given {len(keys)})"
        )
    return need


def load_tsa_trust(paths: Sequence[Path]) -> list[TsaTrust]:
    """``--tsa-cert`` files: PEM with the TSA certificate and its CA certificate."""
    return [load_trust(require_file(p).read_bytes(), f"--tsa-cert {p}") for p in paths]


@dataclass(frozen=True, kw_only=True)
class SplitViewResult:
    """Two checkpoints both signed by ``key``: consistent, or a proof of misbehaviour."""

    key: VerifierKey
    first: Checkpoint
    second: Checkpoint
    notes: tuple[str, str]
    split: bool
    reason: str


def split_view(
    first_note: str, second_note: str, *, key: VerifierKey, proof: ProofSource | None
) -> SplitViewResult:
    """Do two signed checkpoints describe one history? Two roots for one size never do."""
    one = open_checkpoint(first_note, [key])
    two = open_checkpoint(second_note, [key])
    if one.origin != two.origin:
        raise InputError(f"the checkpoints are of two logs: {one.origin!r} and {two.origin!r}")
    old, new = (one, two) if one.size <= two.size else (two, one)

    def result(split: bool, reason: str) -> SplitViewResult:
        return SplitViewResult(
            key=key,
            first=one,
            second=two,
            notes=(first_note, second_note),
            split=split,
            reason=reason,
        )

    if old.size == new.size:
        if old.root == new.root:
            return result(False, f"both checkpoints sign the same root for size {old.size}")
        return result(True, f"the log's key signed two different roots for tree size {old.size}")
    if proof is None:
        raise InputError(
            f"the checkpoints are of sizes {old.size} and {new.size}: give --proof with the "
            "consistency proof between them (a split view of equal sizes needs none)"
        )
    try:
        check_consistency(old, new, proof(old, new) if old.size > 0 else [])
    except ProofError as e:
        return result(
            True,
            f"the checkpoint of size {new.size} does not extend the one of size {old.size}: "
            f"{e.message}",
        )
    return result(False, f"the checkpoint of size {new.size} extends the one of size {old.size}")
