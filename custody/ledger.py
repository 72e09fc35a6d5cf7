"""Ledger entries and the hash chain: how an entry is built, encoded, hashed and checked.

Each entry is a JSON object canonicalized with RFC 8785; its hash is the RFC 9162 leaf hash
SHA-256(0x00 || canonical bytes), and ``prev`` carries the hash of the entry before it, so
the chain proves order and the Merkle tree over the same hashes proves inclusion and
append-only growth. An entry that concerns a case also carries ``case_prev``, the hash of
that case's previous entry (``null`` only for ``case.created``): a per-case chain inside
the global log, so that a bundle holding one case's entries proves it holds all of them
(custody.case_chain). Persistence lives elsewhere (custody.ledger_store); this module is
pure.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from custody.canonical import canonical_json
from custody.errors import InputError, LedgerIntegrityError
from custody.merkle import leaf_hash

GENESIS_PREV = "0" * 64
ENTRY_FIELDS = (
    "seq",
    "time",
    "actor",
    "department",
    "action",
    "case",
    "evidence",
    "details",
    "prev",
    "case_prev",
)


class Action(StrEnum):
    """Every kind of touch the ledger records."""

    CASE_CREATED = "case.created"
    INTAKE = "evidence.intake"
    INTAKE_REFUSED = "evidence.intake_refused"
    UPLOAD_ABANDONED = "evidence.upload_abandoned"  # a resumable upload expired unfinished
    DERIVED = "evidence.derived"  # on the parent: an item was extracted from it (lineage)
    VIEW = "evidence.view"
    DOWNLOAD = "evidence.download"
    DOWNLOAD_ENDED = "evidence.download_ended"
    VERIFICATION = "evidence.verification"
    TRANSFER_STARTED = "custody.transfer_started"
    TRANSFER_ACCEPTED = "custody.transfer_accepted"
    EXPORT = "case.export"
    LEGAL_HOLD_SET = "evidence.legal_hold_set"
    LEGAL_HOLD_CLEARED = "evidence.legal_hold_cleared"
    RETENTION_EXTENDED = "evidence.retention_extended"
    DISPOSAL_REQUESTED = "evidence.disposal_requested"
    DISPOSAL_APPROVED = "evidence.disposal_approved"
    DISPOSAL_FAILED = "evidence.disposal_failed"  # approved, but the content could not be removed
    DISPOSED = "evidence.disposed"
    DISPOSAL_WITHDRAWN = "evidence.disposal_withdrawn"  # its destruction list was rejected
    ACCESS_DENIED = "access.denied"
    OBJECT_UNREFERENCED = "object.unreferenced"  # stored content no evidence record references
    ACCOUNT_CREATED = "account.created"
    TOKEN_ISSUED = "account.token_issued"  # noqa: S105
    ENROLMENT_ISSUED = "account.enrolment_issued"
    ENROLLED = "account.enrolled"
    ACCOUNT_DEACTIVATED = "account.deactivated"
    GRANT_CREATED = "grant.created"
    GRANT_REVOKED = "grant.revoked"
    KEY_ROTATED = "ledger.key_rotated"  # signed by the old key, naming the new one
    # classified-material procedures (custody.secrecy folds them into the case's state)
    CLASSIFICATION_PROPOSED = "classification.proposed"  # 定密/升密/降密/解密 proposed
    CLASSIFICATION_APPROVED = "classification.approved"
    CLASSIFICATION_REJECTED = "classification.rejected"
    BORROWING_REQUESTED = "borrowing.requested"  # 借阅单
    BORROWING_APPROVED = "borrowing.approved"
    BORROWING_REJECTED = "borrowing.rejected"
    BORROWING_RETURNED = "borrowing.returned"
    COPY_DESTROYED = "copy.destroyed"  # a numbered copy (第 N 份) was destroyed
    DESTRUCTION_PROPOSED = "destruction.proposed"  # 销毁清册
    DESTRUCTION_APPROVED = "destruction.approved"
    DESTRUCTION_REJECTED = "destruction.rejected"
    DESTRUCTION_WITNESSED = "destruction.witnessed"  # 专人监销: the witness confirms


def utc_now() -> datetime:
    return datetime.now(UTC)


def rfc3339(moment: datetime) -> str:
    """RFC 3339 UTC with microseconds and a ``Z``: one spelling for every timestamp we hash."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_rfc3339(text: str) -> datetime:
    """Read back a timestamp written by :func:`rfc3339`."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


@dataclass(frozen=True, kw_only=True)
class EntryDraft:
    """What a caller wants recorded; the ledger adds ``seq``, ``time`` and ``prev``."""

    actor: str
    department: str
    action: Action | str
    case: str | None = None
    evidence: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class SealedEntry:
    """An entry as stored: its canonical bytes and their leaf hash."""

    seq: int
    canonical: bytes
    hash: bytes

    @property
    def hash_hex(self) -> str:
        return self.hash.hex()

    def value(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.canonical)
        return parsed


def seal_entry(
    draft: EntryDraft, *, seq: int, prev: str, case_prev: str | None, time: datetime
) -> SealedEntry:
    """Build entry ``seq`` after the entry whose hash is ``prev``.

    ``case_prev`` is the hash of the case's previous entry: required for every entry of a
    case but its ``case.created``, and absent (None) for entries that concern no case.
    """
    check_case_link(draft.action, draft.case, case_prev)
    value = {
        "seq": seq,
        "time": rfc3339(time),
        "actor": draft.actor,
        "department": draft.department,
        "action": str(draft.action),
        "case": draft.case,
        "evidence": draft.evidence,
        "details": dict(draft.details),
        "prev": prev,
        "case_prev": case_prev,
    }
    canonical = canonical_json(value)
    return SealedEntry(seq=seq, canonical=canonical, hash=leaf_hash(canonical))


def check_case_link(action: Action | str, case: str | None, case_prev: str | None) -> None:
    """The per-case chain's rule: only ``case.created`` starts a case, nothing else may."""
    if case is None:
        if case_prev is not None:
            raise InputError("an entry that names no case cannot carry case_prev")
    elif str(action) == Action.CASE_CREATED:
        if case_prev is not None:
            raise InputError(f"case {case!r} already has entries: it cannot be created again")
    elif case_prev is None:
        raise InputError(
            f"case {case!r} has no case.created entry: record an attempt on an unknown case "
            "with case=None and the number in details"
        )


def check_entry(canonical: bytes, *, expected_seq: int, expected_prev: str) -> bytes:
    """Check one stored entry against its position in the chain; return its leaf hash.

    Raises LedgerIntegrityError naming the seq when the bytes are not canonical JSON, the
    seq is out of place, or ``prev`` does not link to the previous entry.
    """
    try:
        value = json.loads(canonical)
    except (ValueError, UnicodeDecodeError) as e:
        raise LedgerIntegrityError(
            f"entry {expected_seq} is not valid JSON: {e}", seq=expected_seq
        ) from e
    if not isinstance(value, dict):
        raise LedgerIntegrityError(f"entry {expected_seq} is not a JSON object", seq=expected_seq)
    missing = [f for f in ENTRY_FIELDS if f not in value]
    if missing:
        raise LedgerIntegrityError(
            f"entry {expected_seq} lacks field(s) {', '.join(missing)}", seq=expected_seq
        )
    if canonical_json(value) != canonical:
        raise LedgerIntegrityError(
            f"entry {expected_seq} is not in RFC 8785 canonical form", seq=expected_seq
        )
    if value["seq"] != expected_seq:
        raise LedgerIntegrityError(
            f"entry at position {expected_seq} carries seq {value['seq']}: "
            "entries were deleted, inserted or reordered",
            seq=expected_seq,
        )
    if value["prev"] != expected_prev:
        raise LedgerIntegrityError(
            f"entry {expected_seq} has prev {value['prev']} but entry {expected_seq - 1} "
            f"hashes to {expected_prev}: the chain is broken here",
            seq=expected_seq,
        )
    return leaf_hash(canonical)


class MemoryLedger:
    """A ledger held in memory: the append rule of custody.ledger_store without a database.

    Offline tools and tests build ledgers with it; it tracks the global head and each
    case's head exactly as the database does under its lock.
    """

    def __init__(self) -> None:
        self.entries: list[SealedEntry] = []
        self._case_heads: dict[str, str] = {}

    def append(self, draft: EntryDraft, *, time: datetime) -> SealedEntry:
        prev = self.entries[-1].hash_hex if self.entries else GENESIS_PREV
        case_prev = self._case_heads.get(draft.case) if draft.case is not None else None
        sealed = seal_entry(draft, seq=len(self.entries), prev=prev, case_prev=case_prev, time=time)
        self.entries.append(sealed)
        if draft.case is not None:
            self._case_heads[draft.case] = sealed.hash_hex
        return sealed
