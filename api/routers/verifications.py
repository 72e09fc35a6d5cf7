"""Verifications (signed reports in JSON, HTML or PDF), evidence lists and court exports."""

from __future__ import annotations

import base64
import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlmodel import col

from api.authz import authorize, authorized_evidence, require_purpose, visible_case
from api.deps import AccountDep, ContextDep, SessionDep, guard
from api.render import render_html, render_pdf
from api.schemas import EvidencePublic
from api.services.evidence_view import evidence_public, evidence_state
from api.services.verification import verify_evidence
from custody import ledger_store, merkle, policy
from custody.checkpoint import open_checkpoint
from custody.errors import InvalidState
from custody.ledger import Action, EntryDraft
from custody.models import Evidence

router = APIRouter(prefix="/api/v1", tags=["verification"])


@router.post(
    "/evidence/{evidence_id}/verifications",
    dependencies=[guard(policy.Action.EVIDENCE_VERIFY)],
    responses={
        200: {
            "content": {
                "application/json": {},
                "text/html": {},
                "application/pdf": {},
            },
            "description": "The signed verification report",
        }
    },
)
def verify(
    evidence_id: str,
    ctx: ContextDep,
    session: SessionDep,
    account: AccountDep,
    format: Annotated[Literal["json", "html", "pdf"], Query()] = "json",
) -> Response:
    """Re-verify content, storage lock and ledger; record it; return the signed report."""
    ev, case = authorized_evidence(session, account, policy.Action.EVIDENCE_VERIFY, evidence_id)
    if evidence_state(session, ev.id).status == "disposed":
        raise InvalidState(
            f"evidence {ev.id} was disposed of after an approved request: its content no "
            "longer exists to verify; its record, digests and history remain (custody history)"
        )
    signed = verify_evidence(ctx, session, account, ev, case)
    headers = {
        "X-Report-SHA256": signed.hash,
        "X-Report-Signature": signed.signature.strip(),
        "X-Verification-Result": signed.report.result,
    }
    if format == "html":
        html = render_html(signed.report, report_hash=signed.hash)
        return Response(html, media_type="text/html; charset=utf-8", headers=headers)
    if format == "pdf":
        pdf = render_pdf(signed.report, report_hash=signed.hash)
        return Response(pdf, media_type="application/pdf", headers=headers)
    return Response(json.dumps(signed.to_json()), media_type="application/json", headers=headers)


@router.get(
    "/cases/{number}/evidence",
    response_model=list[EvidencePublic],
    dependencies=[guard(policy.Action.EVIDENCE_VIEW)],
)
def list_evidence(number: str, session: SessionDep, account: AccountDep) -> list[EvidencePublic]:
    case = visible_case(session, account, number)
    authorize(session, account, policy.Action.EVIDENCE_VIEW, case=case)
    rows = session.execute(
        select(Evidence)
        .where(col(Evidence.case_number) == case.number)
        .order_by(col(Evidence.intake_time))
    ).scalars()
    result = [evidence_public(session, ev) for ev in rows]
    ledger_store.append(
        session,
        EntryDraft(
            actor=account.name,
            department=account.department,
            action=Action.VIEW,
            case=case.number,
            details={"what": "evidence list", "count": len(result)},
        ),
    )
    session.commit()
    return result


class ExportRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    purpose: str = Field(min_length=1, max_length=2000)


@router.post("/cases/{number}/exports", dependencies=[guard(policy.Action.EVIDENCE_EXPORT)])
def export_case(
    number: str, body: ExportRequest, ctx: ContextDep, session: SessionDep, account: AccountDep
) -> dict[str, Any]:
    """Everything a court bundle holds except the content bytes (fetched separately).

    Each item is re-verified (a signed report per item), the export is recorded, and every
    entry of the case comes with an inclusion proof and a proof of its prev link, both
    against one freshly signed checkpoint.
    """
    case = visible_case(session, account, number)
    authorize(session, account, policy.Action.EVIDENCE_EXPORT, case=case, purpose=body.purpose)
    purpose = require_purpose(policy.Action.EVIDENCE_EXPORT, body.purpose)
    all_rows = list(
        session.execute(
            select(Evidence)
            .where(col(Evidence.case_number) == case.number)
            .order_by(col(Evidence.intake_time))
        ).scalars()
    )
    # Disposed items have no content left to verify: the bundle carries their whole ledger
    # history (intake to disposal) and the EXPORT entry names them, but no report.
    disposed = [ev.id for ev in all_rows if evidence_state(session, ev.id).status == "disposed"]
    evidence_rows = [ev for ev in all_rows if ev.id not in disposed]
    items: list[dict[str, Any]] = []
    report_hashes: dict[str, str] = {}
    for ev in evidence_rows:
        signed = verify_evidence(ctx, session, account, ev, case)
        report_hashes[ev.id] = signed.hash
        items.append(
            {
                "evidence": evidence_public(session, ev).model_dump(mode="json"),
                "report_json": base64.b64encode(signed.canonical).decode(),
                "report_hash": signed.hash,
                "report_signature": signed.signature,
                "report_html": render_html(signed.report, report_hash=signed.hash),
                "report_pdf": base64.b64encode(
                    render_pdf(signed.report, report_hash=signed.hash)
                ).decode(),
            }
        )
    ledger_store.append(
        session,
        EntryDraft(
            actor=account.name,
            department=account.department,
            action=Action.EXPORT,
            case=case.number,
            details={
                "purpose": purpose,
                "evidence": [ev.id for ev in evidence_rows],
                "disposed": disposed,
                "reports": report_hashes,
            },
        ),
    )
    session.commit()
    checkpoint_row = ledger_store.sign_current(session, ctx.signing_key, ctx.settings.ledger_origin)
    session.commit()
    checkpoint = open_checkpoint(checkpoint_row.note, [ctx.signing_key.verifier()])
    rows = {row.seq: row for row in ledger_store.entries_of_case(session, case.number)}
    for ev in all_rows:  # entries about an item but filed without its case
        rows.update({row.seq: row for row in ledger_store.entries_of_evidence(session, ev.id)})
    entries = []
    for row in (rows[seq] for seq in sorted(rows)):
        if row.seq >= checkpoint.size:
            continue
        proof = ledger_store.inclusion_proof(session, row.seq, checkpoint.size)
        prev = (
            merkle.inclusion_proof_json(
                row.seq - 1,
                checkpoint.size,
                ledger_store.inclusion_proof(session, row.seq - 1, checkpoint.size),
            )
            if row.seq > 0
            else None
        )
        entries.append(
            {
                "seq": row.seq,
                "canonical": base64.b64encode(row.canonical).decode(),
                "proof": merkle.inclusion_proof_json(row.seq, checkpoint.size, proof),
                "prev_proof": prev,
            }
        )
    return {
        "case": {
            "number": case.number,
            "title": case.title,
            "classification": case.classification,
            "department": case.department,
        },
        "exported_by": account.name,
        "exported_by_department": account.department,
        "purpose": purpose,
        "items": items,
        "disposed": disposed,
        "entries": entries,
        "checkpoint": checkpoint_row.note,
        "verifier_key": ctx.signing_key.verifier().to_text(),
    }
