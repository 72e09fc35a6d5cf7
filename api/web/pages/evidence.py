"""The item page, "verify now" with its signed report, and the report's PDF."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.datastructures import FormData
from starlette.responses import Response

from api.authz import authorized_evidence, visible_case
from api.deps import ContextDep, SessionDep
from api.reports import signed_report_pdf, words
from api.routers import evidence as evidence_api
from api.routers import verifications as verifications_api
from api.services.evidence_view import intake_of
from api.services.verification import stored_lock
from api.web.auth import WebAccountDep, may, page_guard
from api.web.forms import CsrfForm, text
from api.web.route import WebRoute
from api.web.services import proofs, timeline
from api.web.templating import page
from custody import policy
from custody.errors import CheckpointError, InputError
from custody.report import VerificationReport, parse_report, report_bytes, verify_report_signature

router = APIRouter(route_class=WebRoute, include_in_schema=False)


@router.get("/evidence/{evidence_id}", dependencies=[page_guard(policy.Permission.EVIDENCE_VIEW)])
def item_page(
    request: Request,
    evidence_id: str,
    ctx: ContextDep,
    session: SessionDep,
    account: WebAccountDep,
) -> Response:
    """Exactly the API's two reads, each its own ``evidence.view`` entry: the item's
    metadata (``GET /evidence/{id}``) and its custody history with proofs (``…/custody``)."""
    ev = evidence_api.show_evidence(evidence_id, session, account)
    history = evidence_api.custody_history(evidence_id, ctx, session, account)
    case = visible_case(session, ev.case)
    record = intake_of(session, evidence_id)
    session.commit()  # no transaction is held while the store is asked
    lock = stored_lock(ctx, record)  # the lock as the store reports it now (None: gone)
    rows = [
        proofs.proven(
            timeline.row_from(
                seq=e.seq, entry_hash=e.hash, canonical=base64.b64decode(e.canonical)
            ),
            proof=e.proof.hashes,
            root=history.root,
            size=history.tree_size,
        )
        for e in history.entries
    ]
    return page(
        request,
        "evidence.html",
        account=account,
        ev=ev,
        history=history,
        lock=lock,
        history_rows=list(reversed(rows)),
        mark=words.classification_mark(case.classification),
        can_verify=may(account, policy.Permission.EVIDENCE_VERIFY),
    )


@router.post(
    "/evidence/{evidence_id}/verify", dependencies=[page_guard(policy.Permission.EVIDENCE_VERIFY)]
)
def verify_now(
    request: Request,
    evidence_id: str,
    ctx: ContextDep,
    session: SessionDep,
    account: WebAccountDep,
    form: Annotated[FormData, Depends(CsrfForm())],
) -> Response:
    """``POST /api/v1/evidence/{id}/verifications`` itself; the signed report is shown."""
    answer = verifications_api.verify(evidence_id, ctx, session, account, format="json")
    signed = json.loads(bytes(answer.body))
    report = VerificationReport.from_json(signed["report"])
    canonical = report_bytes(report)
    case = visible_case(session, report.case_number)
    return page(
        request,
        "verification.html",
        account=account,
        report=report,
        report_hash=signed["report_hash"],
        signature=signed["signature"],
        canonical_b64=base64.b64encode(canonical).decode(),
        mark=words.classification_mark(case.classification),
    )


@router.post(
    "/evidence/{evidence_id}/report.pdf", dependencies=[page_guard(policy.Permission.EVIDENCE_VIEW)]
)
def report_pdf(
    evidence_id: str,
    ctx: ContextDep,
    session: SessionDep,
    account: WebAccountDep,
    form: Annotated[FormData, Depends(CsrfForm(max_bytes=4 * 1024 * 1024))],
) -> Response:
    """The PDF of a report just shown: re-rendered from the signed JSON the page holds.

    Only a report that our ledger key signed, about this item, is rendered: the form
    cannot make the server sign anything. Rendering records nothing (the verification
    was recorded when it ran), but the item must still be visible to the account.
    """
    try:
        canonical = base64.b64decode(text(form, "report", limit=3_000_000), validate=True)
    except binascii.Error:
        raise InputError("the report field is not base64") from None
    signature = text(form, "signature", limit=10_000) + "\n"
    try:
        verify_report_signature(canonical, signature, [ctx.signing_key.verifier()])
    except CheckpointError as e:
        raise InputError(f"this report is not one the service signed: {e.message}") from None
    report = parse_report(canonical)
    if report.evidence_id != evidence_id:
        raise InputError(f"the report is about {report.evidence_id}, not {evidence_id}")
    authorized_evidence(session, account, policy.Permission.EVIDENCE_VIEW, evidence_id)
    session.rollback()
    from custody.report import report_hash

    pdf = signed_report_pdf(
        report,
        canonical=canonical,
        report_hash=report_hash(report),
        signature=signature,
        signer=ctx.report_signer,
    )
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="verification-{evidence_id}.pdf"'},
    )
