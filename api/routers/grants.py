"""Case grants: which account may see which case, for which purposes, until when."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, status
from sqlalchemy import select
from sqlmodel import col

from api.authz import principal_of, record_denial, visible_case
from api.deps import AccountDep, CaseNumberPath, SessionDep, guard
from api.openapi import problems
from api.schemas import GrantCreate, GrantPublic
from custody import policy
from custody.db import aware
from custody.errors import Conflict, InputError, NotFound, PermissionDenied, UnknownAccount
from custody.ledger import Action, EntryDraft, rfc3339, utc_now
from custody.ledger_store import append
from custody.models import Account, Grant

router = APIRouter(prefix="/api/v1", tags=["grants"])


def grant_public(g: Grant) -> GrantPublic:
    return GrantPublic(
        id=g.id,
        case=g.case_number,
        account=g.account_name,
        permissions=g.permissions.split(","),
        granted_by=g.granted_by,
        created_at=aware(g.created_at),
        expires_at=aware(g.expires_at) if g.expires_at else None,
        revoked_at=aware(g.revoked_at) if g.revoked_at else None,
        revoked_by=g.revoked_by,
    )


@router.post(
    "/cases/{number}/grants",
    status_code=status.HTTP_201_CREATED,
    response_model=GrantPublic,
    dependencies=[guard(policy.Permission.GRANT_MANAGE)],
    responses=problems(404),
)
def create_grant(
    number: CaseNumberPath, body: GrantCreate, session: SessionDep, admin: AccountDep
) -> GrantPublic:
    case = visible_case(session, number)
    grantee = session.get(Account, body.account)
    if grantee is None:
        raise UnknownAccount(f"account {body.account!r} does not exist")
    refusal = policy.grant_refusal(granter=admin.name, grantee=principal_of(grantee))
    if refusal:
        record_denial(
            session,
            admin,
            policy.Permission.GRANT_MANAGE,
            refusal,
            case=case.number,
            details={"grantee": grantee.name},
        )
        raise PermissionDenied(refusal)
    perms = sorted({str(policy.parse_grant_permission(p)) for p in body.permissions})
    expires = aware(body.expires_at) if body.expires_at else None
    if expires is not None and expires <= utc_now():
        raise InputError("the grant's expiry is in the past; give a future date")
    grant = Grant(
        id=str(uuid.uuid4()),
        case_number=case.number,
        account_name=grantee.name,
        permissions=",".join(perms),
        granted_by=admin.name,
        created_at=utc_now(),
        expires_at=expires,
    )
    session.add(grant)
    append(
        session,
        EntryDraft(
            actor=admin.name,
            department=admin.department,
            action=Action.GRANT_CREATED,
            case=case.number,
            details={
                "grant_id": grant.id,
                "account": grantee.name,
                "account_department": grantee.department,
                "permissions": perms,
                "expires_at": rfc3339(expires) if expires else None,
                "reason": body.reason,
            },
        ),
    )
    session.commit()
    return grant_public(grant)


@router.get(
    "/cases/{number}/grants",
    response_model=list[GrantPublic],
    dependencies=[guard(policy.Permission.GRANT_MANAGE)],
    responses=problems(404),
)
def list_grants(
    number: CaseNumberPath, session: SessionDep, admin: AccountDep
) -> list[GrantPublic]:
    case = visible_case(session, number)
    rows = session.execute(
        select(Grant).where(col(Grant.case_number) == case.number).order_by(col(Grant.created_at))
    ).scalars()
    return [grant_public(g) for g in rows]


@router.post(
    "/grants/{grant_id}/revoke",
    response_model=GrantPublic,
    dependencies=[guard(policy.Permission.GRANT_MANAGE)],
    responses=problems(404, 409),
)
def revoke_grant(
    grant_id: Annotated[str, Path(max_length=64)], session: SessionDep, admin: AccountDep
) -> GrantPublic:
    grant = session.get(Grant, grant_id)
    if grant is None:
        raise NotFound(f"grant {grant_id!r} does not exist")
    if grant.revoked_at is not None:
        raise Conflict(f"grant {grant_id} was already revoked")
    grant.revoked_at = utc_now()
    grant.revoked_by = admin.name
    session.add(grant)
    append(
        session,
        EntryDraft(
            actor=admin.name,
            department=admin.department,
            action=Action.GRANT_REVOKED,
            case=grant.case_number,
            details={"grant_id": grant.id, "account": grant.account_name},
        ),
    )
    session.commit()
    return grant_public(grant)
