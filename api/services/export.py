"""A case's export package: everything a court bundle holds but the content bytes.

The items come from the case's INTAKE entries on the ledger, not from the evidence table,
so an item cannot drop out of an export because a row was deleted. Each item in custody is
re-verified and its signed report rendered first; only then, in one transaction, are the
VERIFICATION entries and the EXPORT entry appended and a checkpoint signed, while the
ledger-head lock is held. So a failed export records nothing, and the export entry is the
last leaf of that checkpoint's tree: provably the head of the case's chain at the time of
export (custody.bundle walks that chain back to ``case.created``).
"""

from __future__ import annotations

import base64
import json
from typing import Any

from sqlalchemy.orm import Session

from api.context import AppContext
from api.reports import render_html, signed_report_pdf
from api.services import secrecy
from api.services.anchoring_package import anchoring_package
from api.services.case_report import ItemFacts, build_case_report
from api.services.checkpoints import cosigned_note, sign_checkpoint
from api.services.evidence_view import entry_values, evidence_public, intake_of
from api.services.verification import SignedReport, prepare_report, record_report
from custody import ledger_store, merkle
from custody.errors import LedgerIntegrityError
from custody.intake_record import intake_record
from custody.ledger import Action, EntryDraft
from custody.models import Account, Case, Evidence
from custody.state import EvidenceStatus, derive_state


def case_items(session: Session, case: Case) -> list[Evidence]:
    """The case's items in intake order, as its INTAKE entries name them."""
    items = []
    for row in ledger_store.entries_of_case(session, case.number):
        if row.action != Action.INTAKE:
            continue
        record = intake_record(json.loads(row.canonical))
        ev = session.get(Evidence, record.evidence_id)
        if ev is None:
            raise LedgerIntegrityError(
                f"the evidence table lacks item {record.evidence_id}, which INTAKE entry "
                f"{record.seq} of case {case.number} records: the table was edited; restore "
                "its row before exporting",
                seq=record.seq,
            )
        items.append(ev)
    return items


def _entry_with_proofs(session: Session, seq: int, canonical: bytes, size: int) -> dict[str, Any]:
    proof = ledger_store.inclusion_proof(session, seq, size)
    prev = (
        merkle.inclusion_proof_json(
            seq - 1, size, ledger_store.inclusion_proof(session, seq - 1, size)
        )
        if seq > 0
        else None
    )
    return {
        "seq": seq,
        "canonical": base64.b64encode(canonical).decode(),
        "proof": merkle.inclusion_proof_json(seq, size, proof),
        "prev_proof": prev,
    }


def export_package(
    ctx: AppContext, session: Session, account: Account, case: Case, purpose: str | None
) -> dict[str, Any]:
    items: list[dict[str, Any]] = []
    reports: list[tuple[Evidence, SignedReport]] = []
    exported: list[str] = []
    disposed: list[str] = []
    facts: list[ItemFacts] = []
    signer = ctx.report_signer
    procedures = secrecy.load(session, case.number)
    # a classified case's export is a numbered copy (第 N 份): promised now, so that the case
    # report can print it, and claimed under the ledger lock when the export is recorded
    copy_no = procedures.next_copy_number() if procedures.classified else None
    mark = procedures.classification.mark
    for ev in case_items(session, case):
        state = derive_state(entry_values(session, ev.id))
        if state.status == EvidenceStatus.DISPOSED:
            # No content is left to verify: the bundle carries the item's whole history
            # (intake to disposal) and the EXPORT entry names it, but no report.
            disposed.append(ev.id)
            facts.append(ItemFacts(record=intake_of(session, ev.id), state=state, report=None))
            continue
        signed = prepare_report(ctx, session, account, ev, case)
        reports.append((ev, signed))
        exported.append(ev.id)
        facts.append(ItemFacts(record=intake_of(session, ev.id), state=state, report=signed))
        pdf = signed_report_pdf(
            signed.report,
            canonical=signed.canonical,
            report_hash=signed.hash,
            signature=signed.signature,
            signer=signer,
        )
        items.append(
            {
                "evidence": evidence_public(session, ev).model_dump(mode="json"),
                "report_json": base64.b64encode(signed.canonical).decode(),
                "report_hash": signed.hash,
                "report_signature": signed.signature,
                "report_html": render_html(
                    signed.report,
                    report_hash=signed.hash,
                    signature=signed.signature,
                    signer=signer,
                ),
                "report_pdf": base64.b64encode(pdf).decode(),
            }
        )
    # the case report (one signed PDF for the whole case) is rendered before anything is
    # recorded too
    case_report = build_case_report(
        ctx, account, case, purpose, facts, secrecy_mark=mark, copy_no=copy_no
    )
    session.rollback()  # end the read transaction: nothing has been recorded so far
    # Every report is rendered: now, in one transaction, the verifications, the export and
    # the checkpoint that ends at it. A failure above has recorded nothing.
    secrecy.claim_copy_number(session, case.number, copy_no)
    for ev, signed in reports:
        record_report(session, account, ev, case, signed)
    report_hashes = {ev.id: signed.hash for ev, signed in reports}
    export = ledger_store.append(
        session,
        EntryDraft(
            actor=account.name,
            department=account.department,
            action=Action.EXPORT,
            case=case.number,
            details={
                "purpose": purpose,
                "evidence": exported,
                "disposed": disposed,
                "reports": report_hashes,
                "case_report": case_report.hash,
                **({"copy_no": copy_no} if copy_no is not None else {}),
            },
        ),
    )
    checkpoint = sign_checkpoint(ctx, session)
    if checkpoint.size != export.seq + 1:  # the lock held since the append makes this so
        raise LedgerIntegrityError(
            f"the export checkpoint has size {checkpoint.size}, not {export.seq + 1}",
            seq=export.seq,
        )
    session.commit()
    if ctx.anchor is not None:  # after the commit: cosignatures and tokens sit beside the note
        ctx.anchor.anchor(ctx, checkpoint, timestamp=True, force=True)
    entries = [
        _entry_with_proofs(session, row.seq, row.canonical, checkpoint.size)
        for row in ledger_store.entries_of_case(session, case.number)
        if row.seq < checkpoint.size
    ]
    return {
        "case": {
            "number": case.number,
            "title": case.title,
            "classification": procedures.classification.level.value,
            "department": case.department,
            **({"secrecy_mark": mark} if mark else {}),
        },
        **({"copy_no": copy_no} if copy_no is not None else {}),
        "exported_by": account.name,
        "exported_by_department": account.department,
        "purpose": purpose,
        "export_seq": export.seq,
        "items": items,
        "disposed": disposed,
        "entries": entries,
        "checkpoint": cosigned_note(session, checkpoint),
        "verifier_key": ctx.signing_key.verifier().to_text(),
        "case_report": {
            "json": base64.b64encode(case_report.canonical).decode(),
            "hash": case_report.hash,
            "signature": case_report.signature,
            "html": case_report.html,
            "pdf": base64.b64encode(case_report.pdf).decode(),
        },
        "report_certificate": {"pem": signer.pem(), "sha256": signer.sha256},
        **anchoring_package(ctx, session, checkpoint.size),
    }
