"""Re-verification of one evidence item: content, storage lock and ledger, in one report.

It re-reads the pinned object version, recomputes every recorded digest in one pass,
checks the storage lock against what the ledger says it should be, checks each of the
item's ledger entries (hash, prev link, inclusion proof against a freshly signed
checkpoint), records the verification as a ledger entry and returns a signed report.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from api.context import AppContext
from api.services.evidence_view import retained_until
from custody import ledger_store, merkle
from custody.checkpoint import open_checkpoint
from custody.db import aware
from custody.digests import MultiHasher
from custody.errors import CustodyError, ObjectMissing, StorageUnavailable
from custody.ledger import Action, EntryDraft, check_entry, rfc3339, utc_now
from custody.models import Account, Case, Evidence, LedgerEntry
from custody.report import (
    CustodyEvent,
    DigestCheck,
    LedgerCheck,
    LockCheck,
    VerificationReport,
    report_bytes,
    report_hash,
    sign_report,
)
from custody.state import derive_state
from storage.base import ObjectInfo


@dataclass(frozen=True, kw_only=True)
class SignedReport:
    report: VerificationReport
    canonical: bytes
    hash: str
    signature: str
    seq: int  # the VERIFICATION entry that recorded it

    def to_json(self) -> dict[str, Any]:
        return {
            "result": self.report.result,
            "report_hash": self.hash,
            "signature": self.signature,
            "ledger_seq": self.seq,
            "report": self.report.to_json(),
        }


def _recompute(ctx: AppContext, ev: Evidence, algorithms: list[str]) -> tuple[int, dict[str, str]]:
    with MultiHasher(algorithms) as hasher:
        for chunk in ctx.store.open(ev.object_key, ev.object_version):
            hasher.update(chunk)
        return hasher.size, hasher.hexdigests()


EXPECTED_MODE = {"s3": "COMPLIANCE", "local": "LOCAL-WORM"}


def _lock_check(
    ev: Evidence, info: ObjectInfo | None, hold: bool, expected_until: datetime
) -> LockCheck:
    """Compare the store's lock with what the ledger says it must be (intake + extensions)."""
    findings: list[str] = []
    if info is None:
        findings.append("the pinned object version is missing from storage")
        return LockCheck(
            backend=ev.storage_backend,
            mode=None,
            retain_until=None,
            legal_hold=False,
            expected_retain_until=rfc3339(expected_until),
            expected_legal_hold=hold,
            pinned_version=ev.object_version,
            latest_version=None,
            versions=0,
            ok=False,
            findings=findings,
        )
    lock = info.lock
    want_mode = EXPECTED_MODE.get(ev.storage_backend)
    if lock.mode != want_mode:
        findings.append(f"retention mode is {lock.mode or 'none'}, expected {want_mode}")
    if lock.retain_until is None or lock.retain_until < expected_until:
        actual = lock.retain_until.isoformat() if lock.retain_until else "never"
        findings.append(
            f"retention runs until {actual}, but the ledger recorded "
            f"{expected_until.isoformat()}: it was shortened or removed"
        )
    if lock.legal_hold != hold:
        findings.append(
            f"legal hold is {'on' if lock.legal_hold else 'off'} in storage but "
            f"{'on' if hold else 'off'} according to the ledger"
        )
    if info.latest_version_id != info.version_id or info.versions > 1:
        findings.append(
            f"a newer version ({info.latest_version_id}) was written under {ev.object_key} "
            f"behind our back ({info.versions} versions); the pinned version "
            f"{ev.object_version} is the evidence"
        )
    return LockCheck(
        backend=ev.storage_backend,
        mode=lock.mode,
        retain_until=rfc3339(lock.retain_until) if lock.retain_until else None,
        legal_hold=lock.legal_hold,
        expected_retain_until=rfc3339(expected_until),
        expected_legal_hold=hold,
        pinned_version=ev.object_version,
        latest_version=info.latest_version_id,
        versions=info.versions,
        ok=not findings,
        findings=findings,
    )


def _why(entry: dict[str, Any]) -> str | None:
    details = entry.get("details") or {}
    for key in ("purpose", "reason", "what"):
        if details.get(key):
            return str(details[key])
    return None


def _as_bytes(value: object) -> bytes:
    """A tampered SQLite row may hold TEXT where BLOB belongs; hash what is there."""
    return value if isinstance(value, bytes) else str(value).encode("utf-8")


def _ledger_check(
    ctx: AppContext, session: Session, rows: list[LedgerEntry]
) -> tuple[LedgerCheck, list[CustodyEvent]]:
    checkpoint_row = ledger_store.sign_current(session, ctx.signing_key, ctx.settings.ledger_origin)
    session.commit()
    checkpoint = open_checkpoint(checkpoint_row.note, [ctx.signing_key.verifier()])
    events: list[CustodyEvent] = []
    proofs: list[dict[str, Any]] = []
    findings: list[str] = []
    for row in rows:
        if row.seq >= checkpoint.size:
            continue
        canonical = _as_bytes(row.canonical)
        value = json.loads(canonical)
        prev_row = ledger_store.entry_at(session, row.seq - 1) if row.seq > 0 else None
        expected_prev = (
            merkle.leaf_hash(_as_bytes(prev_row.canonical)).hex() if prev_row else "0" * 64
        )
        try:
            leaf = check_entry(canonical, expected_seq=row.seq, expected_prev=expected_prev)
            chain_ok = True
        except CustodyError as e:
            leaf = merkle.leaf_hash(canonical)
            chain_ok = False
            findings.append(f"entry {row.seq}: {e.message}")
        proof = ledger_store.inclusion_proof(session, row.seq, checkpoint.size)
        try:
            merkle.verify_inclusion(
                leaf_hash=leaf,
                index=row.seq,
                size=checkpoint.size,
                proof=proof,
                root=checkpoint.root,
            )
            proof_ok = True
        except CustodyError:
            proof_ok = False
            findings.append(f"entry {row.seq} does not match the signed checkpoint: it was altered")
        proofs.append(merkle.inclusion_proof_json(row.seq, checkpoint.size, proof))
        events.append(
            CustodyEvent(
                seq=row.seq,
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
    check = LedgerCheck(
        checkpoint_note=checkpoint_row.note,
        tree_size=checkpoint.size,
        root_b64=ledger_store.b64(checkpoint.root),
        verifier_key=ctx.signing_key.verifier().to_text(),
        proofs=proofs,
        ok=not findings,
        findings=findings,
    )
    return check, events


def verify_evidence(
    ctx: AppContext, session: Session, account: Account, ev: Evidence, case: Case
) -> SignedReport:
    recorded: dict[str, str] = json.loads(ev.digests)
    findings: list[str] = []
    size: int | None = None
    recomputed: dict[str, str] = {}
    try:
        size, recomputed = _recompute(ctx, ev, list(recorded))
    except StorageUnavailable:
        raise
    except ObjectMissing as e:
        findings.append(f"content: {e.message}")
    rows = list(ledger_store.entries_of_evidence(session, ev.id))
    state = derive_state(json.loads(r.canonical) for r in rows)
    info: ObjectInfo | None
    if state.status == "disposed":
        info = None
    else:
        try:
            info = ctx.store.stat(ev.object_key, ev.object_version)
        except ObjectMissing:
            info = None
    digests = [
        DigestCheck(
            algorithm=algo,
            recorded=value,
            recomputed=recomputed.get(algo),
            match=recomputed.get(algo) == value,
        )
        for algo, value in sorted(recorded.items())
    ]
    for d in digests:
        if d.recomputed is not None and not d.match:
            findings.append(
                f"content: {d.algorithm} is now {d.recomputed}, recorded {d.recorded}: "
                "the stored bytes changed"
            )
    if size is not None and size != ev.size:
        findings.append(f"content: size is now {size} bytes, recorded {ev.size}")
    lock = _lock_check(ev, info, state.legal_hold, retained_until(ev, state))
    findings.extend(f"storage: {f}" for f in lock.findings)
    ledger_check, events = _ledger_check(ctx, session, rows)
    findings.extend(f"ledger: {f}" for f in ledger_check.findings)
    ok = not findings and all(d.match for d in digests)
    report = VerificationReport(
        generated_at=rfc3339(utc_now()),
        generated_by=account.name,
        generated_by_department=account.department,
        case_number=case.number,
        case_title=case.title,
        case_classification=case.classification,
        evidence_id=ev.id,
        original_filename=ev.original_filename,
        content_type=ev.content_type,
        seal_no=ev.seal_no,
        description=ev.description,
        size_recorded=ev.size,
        size_recomputed=size,
        intake_time=rfc3339(aware(ev.intake_time)),
        intake_technician=ev.technician,
        storage_key=ev.object_key,
        storage_version=ev.object_version,
        digests=digests,
        lock=lock,
        custody=events,
        ledger=ledger_check,
        result="pass" if ok else "fail",
        findings=findings,
    )
    canonical = report_bytes(report)
    digest = report_hash(report)
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
                "report_sha256": digest,
                "findings": findings,
                "checkpoint_size": ledger_check.tree_size,
            },
        ),
    )
    session.commit()
    return SignedReport(
        report=report,
        canonical=canonical,
        hash=digest,
        signature=sign_report(canonical, ctx.signing_key),
        seq=sealed.seq,
    )
