"""Deciding a re-verification from values: the trusted core of ``custody verify``.

The service fetches (the item's stored entries and their proofs, a freshly signed
checkpoint, the recomputed digests, the store's lock state, the evidence row) and this
module decides, as python-tuf's ``TrustedMetadataSet`` decides for its ``Updater``. What
counts is the INTAKE entry proven against the signed checkpoint: the recomputed content is
compared with it, never with the evidence table, and a table that disagrees with it is a
finding of its own.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from custody import merkle
from custody.checkpoint import Checkpoint, VerifierKey, open_checkpoint
from custody.errors import CustodyError
from custody.intake_record import IntakeRecord, find_intake, table_disagreements
from custody.ledger import check_entry, parse_rfc3339, rfc3339
from custody.report import (
    CustodyEvent,
    DigestCheck,
    LedgerCheck,
    LockCheck,
    VerificationReport,
)
from custody.state import derive_state

EXPECTED_MODE = {"s3": "COMPLIANCE", "local": "LOCAL-WORM"}


@dataclass(frozen=True, kw_only=True)
class StoredEntry:
    """One of the item's entries as the database holds it, with what proves it."""

    seq: int
    canonical: bytes
    expected_prev: str  # hash of entry seq-1 as stored (64 zeros for entry 0)
    proof: Sequence[bytes]  # inclusion proof of leaf seq in the checkpoint's tree


@dataclass(frozen=True, kw_only=True)
class StoredLock:
    """The store's lock on the pinned version, as reported now."""

    mode: str | None
    retain_until: datetime | None
    legal_hold: bool
    version_id: str | None
    latest_version_id: str | None
    versions: int


@dataclass(frozen=True, kw_only=True)
class PartContent:
    """One stored part of an image re-read now (the container level)."""

    index: int
    size: int | None
    digests: Mapping[str, str] = field(default_factory=dict)
    problem: str | None = None


@dataclass(frozen=True, kw_only=True)
class MediaContent:
    """An image's media re-read now, with what the imager's stored hash reads now."""

    size: int | None
    digests: Mapping[str, str] = field(default_factory=dict)
    stored_digests: Mapping[str, str] = field(default_factory=dict)
    problem: str | None = None
    unavailable: bool = False  # libewf is not installed where this ran


@dataclass(frozen=True, kw_only=True)
class ContentReading:
    """What re-reading the pinned object gave, or why it could not be read.

    For an image, ``digests`` are those of its parts joined, ``parts`` each part's and
    ``media`` the media's.
    """

    size: int | None
    digests: Mapping[str, str] = field(default_factory=dict)
    problem: str | None = None
    parts: Sequence[PartContent] = ()
    media: MediaContent | None = None
    order_problem: str | None = None  # the stored segments are not the set, in order
    part_locks: Sequence[tuple[int, StoredLock | None]] = ()


@dataclass(frozen=True, kw_only=True)
class Requester:
    """Who asked for the verification, when, and about which case."""

    time: datetime
    account: str
    department: str
    case_number: str
    case_title: str
    case_classification: str
    secrecy_mark: str | None = None  # 「密级★期限」 from the case's ledger entries


@dataclass(frozen=True, kw_only=True)
class _ProvenEntries:
    checkpoint: Checkpoint
    values: list[dict[str, Any]]
    events: list[CustodyEvent]
    proofs: list[dict[str, Any]]
    unproven: set[int]
    findings: list[str]


def _prove_entries(entries: Sequence[StoredEntry], checkpoint: Checkpoint) -> _ProvenEntries:
    values: list[dict[str, Any]] = []
    events: list[CustodyEvent] = []
    proofs: list[dict[str, Any]] = []
    unproven: set[int] = set()
    findings: list[str] = []
    for stored in sorted(entries, key=lambda e: e.seq):
        if stored.seq >= checkpoint.size:
            continue
        try:
            value = json.loads(stored.canonical)
        except (ValueError, UnicodeDecodeError):
            findings.append(f"entry {stored.seq} is not JSON: it was altered")
            unproven.add(stored.seq)
            continue
        if not isinstance(value, dict):
            findings.append(f"entry {stored.seq} is not a JSON object: it was altered")
            unproven.add(stored.seq)
            continue
        try:
            leaf = check_entry(
                stored.canonical, expected_seq=stored.seq, expected_prev=stored.expected_prev
            )
            chain_ok = True
        except CustodyError as e:
            leaf = merkle.leaf_hash(stored.canonical)
            chain_ok = False
            findings.append(f"entry {stored.seq}: {e.message}")
        try:
            merkle.verify_inclusion(
                leaf_hash=leaf,
                index=stored.seq,
                size=checkpoint.size,
                proof=stored.proof,
                root=checkpoint.root,
            )
            proof_ok = True
        except CustodyError:
            proof_ok = False
            findings.append(
                f"entry {stored.seq} does not match the signed checkpoint: it was altered"
            )
        if not (chain_ok and proof_ok):
            unproven.add(stored.seq)
        values.append(value)
        proofs.append(merkle.inclusion_proof_json(stored.seq, checkpoint.size, stored.proof))
        events.append(
            CustodyEvent(
                seq=stored.seq,
                time=str(value.get("time")),
                actor=str(value.get("actor")),
                department=str(value.get("department")),
                action=str(value.get("action")),
                why=_why(value),
                entry_hash=leaf.hex(),
                chain_ok=chain_ok,
                proof_ok=proof_ok,
            )
        )
    return _ProvenEntries(
        checkpoint=checkpoint,
        values=values,
        events=events,
        proofs=proofs,
        unproven=unproven,
        findings=findings,
    )


def _why(entry: Mapping[str, Any]) -> str | None:
    details = entry.get("details") or {}
    if not isinstance(details, Mapping):
        return None
    for key in ("purpose", "reason", "what"):
        if details.get(key):
            return str(details[key])
    return None


def _digest_checks(record: IntakeRecord, content: ContentReading) -> list[DigestCheck]:
    return [
        DigestCheck(
            algorithm=algorithm,
            recorded=value,
            recomputed=content.digests.get(algorithm),
            match=content.digests.get(algorithm) == value,
        )
        for algorithm, value in sorted(record.digests.items())
    ]


def lock_check(
    record: IntakeRecord, lock: StoredLock | None, *, hold: bool, until: datetime
) -> LockCheck:
    """Compare the store's lock with what the ledger says it must be (intake + extensions)."""
    findings: list[str] = []
    if lock is None:
        findings.append("the pinned object version is missing from storage")
        return LockCheck(
            backend=record.storage,
            mode=None,
            retain_until=None,
            legal_hold=False,
            expected_retain_until=rfc3339(until),
            expected_legal_hold=hold,
            pinned_version=record.object_version,
            latest_version=None,
            versions=0,
            ok=False,
            findings=findings,
        )
    want_mode = EXPECTED_MODE.get(record.storage)
    if lock.mode != want_mode:
        findings.append(f"retention mode is {lock.mode or 'none'}, expected {want_mode}")
    if lock.retain_until is None or lock.retain_until < until:
        actual = lock.retain_until.isoformat() if lock.retain_until else "never"
        findings.append(
            f"retention runs until {actual}, but the ledger recorded {until.isoformat()}: it "
            "was shortened or removed"
        )
    if lock.legal_hold != hold:
        findings.append(
            f"legal hold is {'on' if lock.legal_hold else 'off'} in storage but "
            f"{'on' if hold else 'off'} according to the ledger"
        )
    if lock.latest_version_id != lock.version_id or lock.versions > 1:
        findings.append(
            f"a newer version ({lock.latest_version_id}) was written under {record.object_key} "
            f"behind our back ({lock.versions} versions); the pinned version "
            f"{record.object_version} is the evidence"
        )
    return LockCheck(
        backend=record.storage,
        mode=lock.mode,
        retain_until=rfc3339(lock.retain_until) if lock.retain_until else None,
        legal_hold=lock.legal_hold,
        expected_retain_until=rfc3339(until),
        expected_legal_hold=hold,
        pinned_version=record.object_version,
        latest_version=lock.latest_version_id,
        versions=lock.versions,
        ok=not findings,
        findings=findings,
    )


def image_findings(record: IntakeRecord, content: ContentReading) -> list[str]:
    """Both levels of an image: each part against its recorded digests (container), and
    the media against ``image.digests`` and the imager's stored hash (media)."""
    findings: list[str] = []
    by_index = {p.index: p for p in content.parts}
    where = f"INTAKE entry {record.seq}"
    for part in record.parts:
        now = by_index.get(part.index)
        if now is None:
            continue
        if now.problem is not None:
            findings.append(f"container: {part.label}: {now.problem}")
            continue
        for algorithm, value in sorted(part.digests.items()):
            got = now.digests.get(algorithm)
            if got is not None and got != value:
                findings.append(
                    f"container: {part.label}: {algorithm} is now {got}, recorded {value} in "
                    f"{where}: the stored segment changed"
                )
        if now.size is not None and now.size != part.size:
            findings.append(
                f"container: {part.label}: size is now {now.size} bytes, recorded {part.size}"
            )
    if content.order_problem is not None:
        findings.append(content.order_problem)
    image, media = record.image, content.media
    if image is None or media is None:
        return findings
    if media.problem is not None:
        if not media.unavailable:
            findings.append(f"media: {media.problem.removeprefix('media: ')}")
        return findings
    for algorithm, value in sorted(image.digests.items()):
        got = media.digests.get(algorithm)
        if got is not None and got != value:
            findings.append(
                f"media: {algorithm} of the media is now {got}, recorded {value} in {where} "
                "(image.digests): the image no longer holds the media acquired"
            )
    if media.size is not None and media.size != image.size:
        findings.append(f"media: size is now {media.size} bytes, recorded {image.size}")
    last = record.parts[-1].label if record.parts else "the image"
    for algorithm, value in sorted(image.stored_digests.items()):
        got = media.stored_digests.get(algorithm)
        if got != value:
            findings.append(
                f"media: the imager's stored {algorithm} (in {last}) now reads "
                f"{got or '(none)'}, recorded {value} in {where}: the stored hash was changed"
            )
        elif media.digests.get(algorithm) not in (None, value):
            findings.append(
                f"media: the imager's stored {algorithm} {value} (in {last}) does not match the "
                f"media now read ({media.digests.get(algorithm)})"
            )
    return findings


def decide_verification(
    *,
    requester: Requester,
    evidence_id: str,
    entries: Sequence[StoredEntry],
    checkpoint_note: str,
    verifier: VerifierKey,
    content: ContentReading,
    lock: StoredLock | None,
    table_row: Mapping[str, Any],
) -> VerificationReport:
    """The report on one item: content, storage lock and ledger against the INTAKE entry.

    Raises CheckpointError if the checkpoint is not signed by ``verifier`` and
    LedgerIntegrityError if the ledger holds no INTAKE entry for the item.
    """
    checkpoint = open_checkpoint(checkpoint_note, [verifier])
    proven = _prove_entries(entries, checkpoint)
    record = find_intake(proven.values, evidence_id)
    state = derive_state(proven.values)
    findings: list[str] = []
    if record.seq in proven.unproven:
        findings.append(
            f"ledger: the INTAKE entry {record.seq} is not proven against the signed "
            "checkpoint: the values recorded at intake cannot be relied on"
        )
    if content.problem is not None:
        findings.append(f"content: {content.problem}")
    digests = _digest_checks(record, content)
    for d in digests:
        if d.recomputed is not None and not d.match:
            findings.append(
                f"content: {d.algorithm} is now {d.recomputed}, recorded {d.recorded} in INTAKE "
                f"entry {record.seq}: the stored bytes changed"
            )
    if content.size is not None and content.size != record.size:
        findings.append(
            f"content: size is now {content.size} bytes, recorded {record.size} in INTAKE "
            f"entry {record.seq}"
        )
    findings.extend(image_findings(record, content))
    until_text = state.retention_until or record.retention_until
    until = parse_rfc3339(until_text) if until_text else requester.time
    storage = lock_check(record, lock, hold=state.legal_hold, until=until)
    findings.extend(f"storage: {f}" for f in storage.findings)
    labels = {p.index: p.label for p in record.parts}
    for index, part_lock in content.part_locks:
        part_check = lock_check(record, part_lock, hold=state.legal_hold, until=until)
        findings.extend(f"storage: {labels.get(index, index)}: {f}" for f in part_check.findings)
    findings.extend(f"ledger: {f}" for f in proven.findings)
    findings.extend(table_disagreements(record, table_row))
    ledger = LedgerCheck(
        checkpoint_note=checkpoint_note,
        tree_size=checkpoint.size,
        root_b64=base64.b64encode(checkpoint.root).decode("ascii"),
        verifier_key=verifier.to_text(),
        proofs=proven.proofs,
        ok=not proven.findings,
        findings=proven.findings,
    )
    ok = not findings and all(d.match for d in digests)
    return VerificationReport(
        generated_at=rfc3339(requester.time),
        generated_by=requester.account,
        generated_by_department=requester.department,
        case_number=requester.case_number,
        case_title=requester.case_title,
        case_classification=requester.case_classification,
        secrecy_mark=requester.secrecy_mark,
        evidence_id=evidence_id,
        original_filename=record.filename,
        content_type=record.content_type,
        seal_no=record.seal_no,
        description=record.description,
        size_recorded=record.size,
        size_recomputed=content.size,
        intake_time=record.time,
        intake_technician=record.technician,
        storage_key=record.object_key,
        storage_version=record.object_version,
        digests=digests,
        lock=storage,
        custody=proven.events,
        ledger=ledger,
        result="pass" if ok else "fail",
        findings=findings,
    )
