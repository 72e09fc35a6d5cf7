"""Re-verification of one evidence item: the service fetches, custody.verification decides.

Three steps, so that no database transaction spans the content read:
1. read the item's INTAKE entry (where the bytes are) and end the transaction;
2. re-read the pinned object version and recompute every recorded digest, and stat its lock;
3. in one transaction: read the item's entries, sign a fresh checkpoint, prove each entry
   against it, let the pure core decide, and record the VERIFICATION entry.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy.orm import Session

from api.context import AppContext
from api.services import images, secrecy
from api.services.checkpoints import sign_checkpoint
from api.services.evidence_view import evidence_state, intake_of, row_facts
from custody import ledger_store, merkle
from custody.digests import MultiHasher
from custody.errors import CustodyError, ObjectMissing
from custody.images.detect import ImageFormat
from custody.images.segments import PartHead, check_ewf_set
from custody.intake_record import IntakeRecord
from custody.ledger import GENESIS_PREV, Action, EntryDraft, utc_now
from custody.models import Account, Case, Evidence
from custody.report import VerificationReport, report_bytes, report_hash, sign_report
from custody.state import EvidenceStatus
from custody.verification import (
    ContentReading,
    MediaContent,
    PartContent,
    Requester,
    StoredEntry,
    StoredLock,
    decide_verification,
)


@dataclass(frozen=True, kw_only=True)
class SignedReport:
    report: VerificationReport
    canonical: bytes
    hash: str
    signature: str
    seq: int | None  # the VERIFICATION entry that recorded it (None until recorded)

    def to_json(self) -> dict[str, Any]:
        return {
            "result": self.report.result,
            "report_hash": self.hash,
            "signature": self.signature,
            "ledger_seq": self.seq,
            "report": self.report.to_json(),
        }


def _as_bytes(value: object) -> bytes:
    """A tampered SQLite row may hold TEXT where BLOB belongs; hash what is there."""
    return value if isinstance(value, bytes) else str(value).encode("utf-8")


def read_content(ctx: AppContext, record: IntakeRecord) -> ContentReading:
    """Recompute the INTAKE entry's algorithms over the version it pinned (every part and
    the media, for an image)."""
    if record.image is not None and record.parts:
        return _read_image(ctx, record)
    try:
        with MultiHasher(list(record.digests)) as hasher:
            for chunk in ctx.store.open(record.object_key, record.object_version):
                hasher.update(chunk)
            return ContentReading(size=hasher.size, digests=hasher.hexdigests())
    except ObjectMissing as e:
        return ContentReading(size=None, problem=e.message)


def _read_image(ctx: AppContext, record: IntakeRecord) -> ContentReading:
    assert record.image is not None
    algorithms = sorted(set(record.digests) | {a for p in record.parts for a in p.digests})
    container = images.read_container(ctx, record.parts, algorithms)
    media_algorithms = sorted(set(record.image.digests) | set(record.image.stored_digests))
    media = images.read_media(ctx, record.image.format, record.parts, media_algorithms, None)
    parts = [
        PartContent(index=r.part.index, size=r.size, digests=r.digests, problem=r.problem)
        for r in container.parts
    ]
    order_problem = None
    if record.image.format is ImageFormat.EWF and container.complete:
        try:
            heads = [images.head_and_tail(ctx, p) for p in record.parts]
            check_ewf_set(
                [
                    PartHead(index=p.index, name=p.name, size=p.size, head=h, tail=t)
                    for p, (h, t) in zip(record.parts, heads, strict=True)
                ]
            )
        except CustodyError as e:
            order_problem = e.message
    if len(record.parts) == 1:
        only = container.parts[0]
        size, digests, problem = only.size, only.digests, only.problem
    else:
        size, digests = container.joined_size, container.joined
        problem = None if container.complete else "a part of the image is missing from storage"
    return ContentReading(
        size=size,
        digests=digests,
        problem=problem,
        parts=parts,
        media=MediaContent(
            size=media.size,
            digests=media.digests,
            stored_digests=media.stored_digests,
            problem=media.problem,
            unavailable=media.unavailable,
        ),
        order_problem=order_problem,
        part_locks=[
            (p.index, _lock_of(ctx, p.object_key, p.object_version)) for p in record.parts[1:]
        ],
    )


def stored_lock(ctx: AppContext, record: IntakeRecord) -> StoredLock | None:
    return _lock_of(ctx, record.object_key, record.object_version)


def _lock_of(ctx: AppContext, key: str, version: str | None) -> StoredLock | None:
    try:
        info = ctx.store.stat(key, version)
    except ObjectMissing:
        return None
    return StoredLock(
        mode=info.lock.mode,
        retain_until=info.lock.retain_until,
        legal_hold=info.lock.legal_hold,
        version_id=info.version_id,
        latest_version_id=info.latest_version_id,
        versions=info.versions,
    )


def stored_entries(session: Session, evidence_id: str, tree_size: int) -> list[StoredEntry]:
    """The item's entries as stored, each with its stored predecessor hash and its proof."""
    out = []
    for row in ledger_store.entries_of_evidence(session, evidence_id):
        if row.seq >= tree_size:
            continue
        prev_row = ledger_store.entry_at(session, row.seq - 1) if row.seq > 0 else None
        expected_prev = (
            merkle.leaf_hash(_as_bytes(prev_row.canonical)).hex() if prev_row else GENESIS_PREV
        )
        out.append(
            StoredEntry(
                seq=row.seq,
                canonical=_as_bytes(row.canonical),
                expected_prev=expected_prev,
                proof=ledger_store.inclusion_proof(session, row.seq, tree_size),
            )
        )
    return out


def prepare_report(
    ctx: AppContext, session: Session, account: Account, ev: Evidence, case: Case
) -> SignedReport:
    """Steps 1–3 without the VERIFICATION entry: the signed report, nothing on the ledger.

    A checkpoint may be signed and stored on the way (checkpoints are not ledger entries).
    The caller records the report with :func:`record_report` and commits; an export renders
    every report first, so that a failure commits no entry at all.
    """
    record = intake_of(session, ev.id)
    disposed = evidence_state(session, ev.id).status == EvidenceStatus.DISPOSED
    table_row = row_facts(ev)
    classification = secrecy.load(session, case.number).classification
    requester = Requester(
        time=utc_now(),
        account=account.name,
        department=account.department,
        case_number=case.number,
        case_title=case.title,
        case_classification=classification.level.value,
        secrecy_mark=classification.mark,
    )
    session.commit()  # step 1 done: no transaction is held while the content is read
    content = read_content(ctx, record)
    lock = None if disposed else stored_lock(ctx, record)
    checkpoint = sign_checkpoint(ctx, session)
    report = decide_verification(
        requester=requester,
        evidence_id=ev.id,
        entries=stored_entries(session, ev.id, checkpoint.size),
        checkpoint_note=checkpoint.note,
        verifier=ctx.signing_key.verifier(),
        content=content,
        lock=lock,
        table_row=table_row,
    )
    session.commit()  # the checkpoint, if one was signed; no write lock is kept
    # who verified in what role, and the certificate that signs the PDF: named in the signed
    # JSON, so the ledger key also pins the PDF's signer
    report = replace(
        report,
        generated_by_role=account.role,
        pdf_certificate_sha256=ctx.report_signer.sha256,
    )
    canonical = report_bytes(report)
    return SignedReport(
        report=report,
        canonical=canonical,
        hash=report_hash(report),
        signature=sign_report(canonical, ctx.signing_key),
        seq=None,
    )


def record_report(
    session: Session, account: Account, ev: Evidence, case: Case, signed: SignedReport
) -> SignedReport:
    """Append the VERIFICATION entry of a prepared report; the caller commits."""
    report = signed.report
    sealed = ledger_store.append(
        session,
        EntryDraft(
            actor=account.name,
            department=account.department,
            action=Action.VERIFICATION,
            case=case.number,
            evidence=ev.id,
            details={
                "result": report.result,
                "report_sha256": signed.hash,
                "findings": report.findings,
                "checkpoint_size": report.ledger.tree_size,
            },
        ),
    )
    return replace(signed, seq=sealed.seq)
