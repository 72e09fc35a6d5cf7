"""The case list (with a form for a new case) and the case page: items, timeline, export."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import ValidationError
from starlette.background import BackgroundTask
from starlette.datastructures import FormData
from starlette.responses import FileResponse, RedirectResponse, Response

from api.authz import authorize, grants_of, principal_of, visible_case
from api.deps import ContextDep, SessionDep
from api.problems import status_for
from api.reports import words
from api.routers import cases as cases_api
from api.routers import verifications as verifications_api
from api.schemas import CaseCreate
from api.services import secrecy
from api.web.auth import WebAccountDep, may, page_guard
from api.web.forms import CsrfForm, text
from api.web.route import WebRoute
from api.web.services import export_zip, safe_zip, timeline
from api.web.templating import page
from custody import ledger_store, policy
from custody.errors import CustodyError
from custody.ledger import utc_now
from custody.models import Account

router = APIRouter(route_class=WebRoute, include_in_schema=False)
LEVELS = [str(level) for level in policy.Level]


def _list_page(
    request: Request,
    session: SessionDep,
    account: Account,
    *,
    error: str | None = None,
    form: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    return page(
        request,
        "cases.html",
        account=account,
        status_code=status_code,
        cases=cases_api.list_cases(session, account),
        can_create=may(account, policy.Permission.CASE_CREATE),
        levels=LEVELS,
        error=error,
        form=form or {"number": "", "title": "", "classification": "internal"},
    )


@router.get("/cases", dependencies=[page_guard(policy.Permission.CASE_LIST)])
def case_list(request: Request, session: SessionDep, account: WebAccountDep) -> Response:
    return _list_page(request, session, account)


@router.post("/cases", dependencies=[page_guard(policy.Permission.CASE_CREATE)])
def create_case(
    request: Request,
    session: SessionDep,
    account: WebAccountDep,
    form: Annotated[FormData, Depends(CsrfForm())],
) -> Response:
    """``POST /api/v1/cases`` itself: the same checks, refusals and ``case.created`` entry."""
    fields = ("number", "title", "classification", "secrecy_period", "secrecy_basis")
    values = {k: text(form, k, limit=2000) for k in fields}
    values["classification"] = values["classification"] or "internal"
    try:
        body = CaseCreate(**{k: v for k, v in values.items() if v or k in fields[:3]})
        case = cases_api.create_case(body, session, account)
    except ValidationError as e:
        problems = "; ".join(f"{'.'.join(map(str, x['loc']))}: {x['msg']}" for x in e.errors())
        return _list_page(request, session, account, error=problems, form=values, status_code=422)
    except CustodyError as e:
        session.rollback()
        return _list_page(
            request, session, account, error=e.message, form=values, status_code=status_for(e)
        )
    return RedirectResponse(f"/cases/{case.number}", status_code=303)


def _can(session: SessionDep, account: Account, number: str, action: policy.Permission) -> bool:
    """Whether to offer a button: decided by the policy, nothing recorded (not an attempt)."""
    case = visible_case(session, number)
    scope, borrowings = secrecy.scope(session, case)
    decision = policy.decide(
        principal=principal_of(account),
        action=action,
        case=scope,
        grants=grants_of(session, account.name, case.number),
        borrowings=borrowings,
        now=utc_now(),
    )
    return decision.allowed


@router.get("/cases/{number}", dependencies=[page_guard(policy.Permission.CASE_VIEW)])
def case_page(
    request: Request, number: str, session: SessionDep, account: WebAccountDep
) -> Response:
    """The API's case view and evidence list (the same ``evidence.view`` entry), plus the
    case's own chain of entries: its timeline, its grants and, if classified, borrowings."""
    case = cases_api.get_case(number, session, account)
    items = verifications_api.list_evidence(number, session, account)
    rows = timeline.rows(ledger_store.entries_of_case(session, number))
    classified = words.classification_mark(case.classification) is not None
    return page(
        request,
        "case.html",
        account=account,
        case=case,
        mark=words.classification_mark(case.classification),
        items=items,
        timeline=list(reversed(rows)),
        grants=timeline.grants(rows, utc_now()),
        borrowings=timeline.borrowings(rows) if classified else None,
        can_intake=_can(session, account, number, policy.Permission.EVIDENCE_INTAKE),
        can_export=_can(session, account, number, policy.Permission.EVIDENCE_EXPORT),
    )


@router.post("/cases/{number}/export", dependencies=[page_guard(policy.Permission.EVIDENCE_EXPORT)])
def export(
    number: str,
    ctx: ContextDep,
    session: SessionDep,
    account: WebAccountDep,
    form: Annotated[FormData, Depends(CsrfForm())],
) -> Response:
    """The court bundle as a zip: the API's export, the content downloads, the CLI's bag."""
    purpose = text(form, "purpose", limit=2000)
    with_content = text(form, "with_content") == "1"
    exported = export_zip.export_zip(
        ctx, session, account, number, purpose, with_content=with_content
    )
    return FileResponse(
        exported.path,
        media_type="application/zip",
        filename=exported.download_name,
        background=BackgroundTask(safe_zip.remove, exported.folder),
    )


@router.post(
    "/cases/{number}/case-report", dependencies=[page_guard(policy.Permission.EVIDENCE_EXPORT)]
)
def case_report(
    number: str,
    ctx: ContextDep,
    session: SessionDep,
    account: WebAccountDep,
    form: Annotated[FormData, Depends(CsrfForm())],
) -> Response:
    """The signed case report PDF (made, like the bundle's, by a recorded export)."""
    purpose = text(form, "purpose", limit=2000)
    pdf = export_zip.case_report_pdf(ctx, session, account, number, purpose)
    name = f"case-report-{export_zip.safe_name(number)}.pdf"
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/cases/{number}/intake", dependencies=[page_guard(policy.Permission.EVIDENCE_INTAKE)])
def intake_page(
    request: Request, number: str, session: SessionDep, account: WebAccountDep
) -> Response:
    """The intake form; the upload itself goes to ``POST /api/v1/evidence`` (multipart)."""
    case = visible_case(session, number)
    authorize(session, account, policy.Permission.EVIDENCE_INTAKE, case=case)
    return page(
        request,
        "intake.html",
        account=account,
        case=case,
        mark=words.classification_mark(case.classification),
    )
