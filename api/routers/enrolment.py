"""Enrolment: the account's holder exchanges a one-time code for the account's token.

The only endpoint besides the health checks that takes no token, because the caller has
none yet: the code is the credential. It is 256 bits of randomness (guessing is hopeless),
stored only as a hash, valid for hours, spent by the first exchange, and every answer to a
bad code is the same, whatever was wrong with it.
"""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, status
from sqlalchemy import select, update
from sqlmodel import col

from api.deps import SessionDep
from api.openapi import problems
from api.routers.accounts import account_public, live_tokens
from api.schemas import EnrolmentExchange, IssuedToken
from api.security import hash_token, issue_token
from custody.db import aware
from custody.errors import InvalidEnrolmentCode
from custody.ledger import Action, EntryDraft, rfc3339, utc_now
from custody.ledger_store import append
from custody.models import Account, EnrolmentCode

router = APIRouter(prefix="/api/v1", tags=["accounts"])

INVALID = (
    "the enrolment code is unknown, already used, withdrawn or expired, or belongs to "
    "another account; ask an administrator for a new one"
)


@router.post(
    "/enrolment",
    status_code=status.HTTP_201_CREATED,
    response_model=IssuedToken,
    responses=problems(401, 503),
)
def enrol(body: EnrolmentExchange, session: SessionDep) -> IssuedToken:
    """Exchange an enrolment code for a token (shown once). No Authorization header."""
    now = utc_now()
    code = session.execute(
        select(EnrolmentCode).where(col(EnrolmentCode.code_hash) == hash_token(body.code))
    ).scalar_one_or_none()
    account = session.get(Account, body.account)
    if (
        code is None
        or account is None
        or code.account_name != account.name
        or not account.active
        or aware(code.expires_at) <= now
    ):
        raise InvalidEnrolmentCode(INVALID)
    spent = session.execute(
        update(EnrolmentCode)
        .where(
            col(EnrolmentCode.id) == code.id,
            col(EnrolmentCode.used_at).is_(None),
            col(EnrolmentCode.withdrawn_at).is_(None),
        )
        .values(used_at=now)
    )
    if spent.rowcount != 1:  # type: ignore[attr-defined]  # used or withdrawn meanwhile
        session.rollback()
        raise InvalidEnrolmentCode(INVALID)
    revoked = []
    for t in live_tokens(session, account.name):
        t.revoked_at = now
        session.add(t)
        revoked.append(t.id)
    expires = now + timedelta(days=body.expires_days) if body.expires_days else None
    row, token = issue_token(session, account.name, expires_at=expires)
    append(
        session,
        EntryDraft(
            actor=account.name,
            department=account.department,
            action=Action.ENROLLED,
            details={
                "account": account.name,
                "code_id": code.id,
                "code_issued_by": code.issued_by,
                "token_id": row.id,
                "expires_at": rfc3339(expires) if expires else None,
                "revoked_tokens": revoked,
            },
        ),
    )
    session.commit()
    return IssuedToken(
        account=account_public(account), token_id=row.id, token=token, expires_at=expires
    )
