"""Cases: create, list, get."""

from __future__ import annotations

from typing import NoReturn

from fastapi import APIRouter, status
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from api.authz import (
    authorize,
    grants_of,
    principal_of,
    record_denial,
    visible_case,
)
from api.deps import AccountDep, CaseNumberPath, SessionDep, guard
from api.openapi import problems
from api.schemas import CaseCreate, CasePublic
from api.services import secrecy
from custody import policy
from custody.db import aware
from custody.errors import NumberUnavailable, PermissionDenied
from custody.ledger import Action, EntryDraft, utc_now
from custody.ledger_store import append
from custody.models import Account, Case, Evidence
from custody.secrecy import parse_period, rules

router = APIRouter(prefix="/api/v1/cases", tags=["cases"])

UNAVAILABLE = "the number is not available; choose another"


def _public(session: SessionDep, case: Case) -> CasePublic:
    count = session.execute(
        select(func.count()).select_from(Evidence).where(col(Evidence.case_number) == case.number)
    ).scalar_one()
    state = secrecy.load(session, case.number)
    return CasePublic(
        number=case.number,
        title=case.title,
        department=state.department,
        classification=state.classification.level.value,
        secrecy=secrecy.secrecy_public(state),
        created_at=aware(case.created_at),
        created_by=case.created_by,
        evidence_count=count,
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=CasePublic,
    dependencies=[guard(policy.Permission.CASE_CREATE)],
    responses=problems(409),
)
def create_case(body: CaseCreate, session: SessionDep, account: AccountDep) -> CasePublic:
    classification = policy.parse_level(body.classification)
    period = parse_period(body.secrecy_period) if body.secrecy_period else None
    basis = (body.secrecy_basis or "").strip()
    department = body.department or account.department
    refusal = None
    if department != account.department:
        refusal = (
            f"cases are created in your own department ({account.department}), not {department}"
        )
    elif policy.parse_level(account.clearance) < classification:
        refusal = (
            f"your clearance {account.clearance} is below the classification {classification} "
            "you asked for"
        )
    if refusal:
        record_denial(
            session,
            account,
            policy.Permission.CASE_CREATE,
            refusal,
            details={"number": body.number},
        )
        raise PermissionDenied(refusal)
    rules.check_classification(classification, period, basis, utc_now())
    if session.get(Case, body.number) is not None:
        _refuse_number(session, account, body.number)
    case = Case(
        number=body.number,
        title=body.title,
        department=department,
        classification=str(classification),
        created_at=utc_now(),
        created_by=account.name,
    )
    try:
        session.add(case)
        session.flush()
        append(
            session,
            EntryDraft(
                actor=account.name,
                department=account.department,
                action=Action.CASE_CREATED,
                case=case.number,
                details={
                    "title": case.title,
                    "classification": case.classification,
                    **(
                        {"secrecy": {"period": period.to_json(), "basis": basis}}
                        if period is not None
                        else {}
                    ),
                },
            ),
        )
        session.commit()
    except IntegrityError:
        session.rollback()
        if session.get(Case, body.number) is None:
            raise
        _refuse_number(session, account, body.number)  # created concurrently
    return _public(session, case)


def _refuse_number(session: SessionDep, account: Account, number: str) -> NoReturn:
    """One answer for every taken number, whoever holds it; the attempt is recorded.

    The entry names no case (the number may belong to a case the caller must not learn
    about, and a case's chain holds only that case's entries); the number is in details.
    """
    record_denial(
        session,
        account,
        policy.Permission.CASE_CREATE,
        "the case number is taken",
        details={"number": number},
    )
    raise NumberUnavailable(UNAVAILABLE)


@router.get("", response_model=list[CasePublic], dependencies=[guard(policy.Permission.CASE_LIST)])
def list_cases(session: SessionDep, account: AccountDep) -> list[CasePublic]:
    principal = principal_of(account)
    grants = grants_of(session, account.name)
    now = utc_now()
    cases = session.execute(select(Case).order_by(col(Case.number))).scalars().all()
    visible = []
    for c in cases:
        scope, borrowings = secrecy.scope(session, c)
        if policy.can_view_case(principal, scope, grants, now, borrowings):
            visible.append(_public(session, c))
    return visible


@router.get(
    "/{number}",
    response_model=CasePublic,
    dependencies=[guard(policy.Permission.CASE_VIEW)],
    responses=problems(404),
)
def get_case(number: CaseNumberPath, session: SessionDep, account: AccountDep) -> CasePublic:
    case = visible_case(session, number)
    authorize(session, account, policy.Permission.CASE_VIEW, case=case)
    return _public(session, case)
