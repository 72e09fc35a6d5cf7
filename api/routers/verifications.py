"""Verifications (signed reports in JSON, HTML or PDF), evidence lists and court exports."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlmodel import col

from api.authz import authorize, authorized_evidence, require_purpose, visible_case
from api.context import AppContext
from api.deps import AccountDep, ContextDep, SessionDep, guard
from api.reports import render_html, signed_report_pdf
from api.schemas import EvidencePublic
from api.services.evidence_view import evidence_public, evidence_state
from api.services.export import export_package
from api.services.verification import SignedReport, prepare_report, record_report
from custody import ledger_store, policy
from custody.errors import InvalidState
from custody.ledger import Action, EntryDraft
from custody.models import Evidence
from custody.state import EvidenceStatus

router = APIRouter(prefix="/api/v1", tags=["verification"])


@router.post(
    "/evidence/{evidence_id}/verifications",
    dependencies=[guard(policy.Permission.EVIDENCE_VERIFY)],
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
    ev, case = authorized_evidence(session, account, policy.Permission.EVIDENCE_VERIFY, evidence_id)
    if evidence_state(session, ev.id).status == EvidenceStatus.DISPOSED:
        raise InvalidState(
            f"evidence {ev.id} was disposed of after an approved request: its content no "
            "longer exists to verify; its record, digests and history remain (custody history)"
        )
    prepared = prepare_report(ctx, session, account, ev, case)
    # rendered before it is recorded: a rendering that fails records no verification
    rendered = _render(ctx, prepared, format)
    signed = record_report(session, account, ev, case, prepared)
    session.commit()
    headers = {
        "X-Report-SHA256": signed.hash,
        "X-Report-Signature": signed.signature.strip(),
        "X-Verification-Result": signed.report.result,
    }
    if rendered is not None:
        return Response(rendered[0], media_type=rendered[1], headers=headers)
    return Response(json.dumps(signed.to_json()), media_type="application/json", headers=headers)


def _render(ctx: AppContext, prepared: SignedReport, format: str) -> tuple[str | bytes, str] | None:
    """HTML, or the self-contained PDF (embedded signed JSON, PAdES signature)."""
    if format == "html":
        html = render_html(
            prepared.report,
            report_hash=prepared.hash,
            signature=prepared.signature,
            signer=ctx.report_signer,
        )
        return html, "text/html; charset=utf-8"
    if format == "pdf":
        pdf = signed_report_pdf(
            prepared.report,
            canonical=prepared.canonical,
            report_hash=prepared.hash,
            signature=prepared.signature,
            signer=ctx.report_signer,
        )
        return pdf, "application/pdf"
    return None


@router.get(
    "/cases/{number}/evidence",
    response_model=list[EvidencePublic],
    dependencies=[guard(policy.Permission.EVIDENCE_VIEW)],
)
def list_evidence(number: str, session: SessionDep, account: AccountDep) -> list[EvidencePublic]:
    case = visible_case(session, number)
    authorize(session, account, policy.Permission.EVIDENCE_VIEW, case=case)
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


@router.post("/cases/{number}/exports", dependencies=[guard(policy.Permission.EVIDENCE_EXPORT)])
def export_case(
    number: str, body: ExportRequest, ctx: ContextDep, session: SessionDep, account: AccountDep
) -> dict[str, Any]:
    """Everything a court bundle holds except the content bytes (fetched separately).

    Each item is re-verified (a signed report per item), the export is recorded, and every
    entry of the case, from ``case.created`` to the EXPORT entry, comes with an inclusion
    proof and a proof of its prev link against a checkpoint whose last leaf is the EXPORT
    entry.
    """
    case = visible_case(session, number)
    authorize(session, account, policy.Permission.EVIDENCE_EXPORT, case=case, purpose=body.purpose)
    purpose = require_purpose(policy.Permission.EVIDENCE_EXPORT, body.purpose)
    return export_package(ctx, session, account, case, purpose)
