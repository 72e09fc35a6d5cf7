"""Accounts, enrolment codes and API tokens: one account per person or department.

No administrator ever holds a working token for another account. Creating an account (or
replacing a lost token) yields a one-time enrolment code; the account's holder exchanges it
for a token (:mod:`api.routers.enrolment`), and further tokens are issued by the account
itself (``/me/tokens``). Exchanging a replacement code revokes the tokens the account held,
so an administrator who used one to act as someone else would lock that person out, and
the ledger names who issued the code.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Path, status
from sqlalchemy import select, update
from sqlmodel import col

from api.deps import AccountDep, SessionDep, guard
from api.fields import ACCOUNT_NAME_PATTERN
from api.openapi import problems
from api.schemas import (
    AccountCreate,
    AccountPublic,
    EnrolmentIssued,
    EnrolmentRequest,
    IssuedToken,
    TokenRequest,
)
from api.security import issue_token, new_enrolment_code
from custody import policy
from custody.db import aware
from custody.errors import Conflict, UnknownAccount
from custody.ledger import Action, EntryDraft, rfc3339, utc_now
from custody.ledger_store import append
from custody.models import Account, ApiToken, EnrolmentCode

router = APIRouter(prefix="/api/v1/accounts", tags=["accounts"])

NamePath = Annotated[str, Path(pattern=ACCOUNT_NAME_PATTERN, max_length=128)]
RESERVED_NAMES = frozenset({"me"})  # /accounts/me is the caller's own account


def account_public(a: Account) -> AccountPublic:
    return AccountPublic(
        name=a.name,
        display_name=a.display_name,
        role=a.role,
        department=a.department,
        clearance=a.clearance,
        active=a.active,
        created_at=aware(a.created_at),
        created_by=a.created_by,
    )


def _record(
    session: SessionDep, actor: Account, action: Action, details: dict[str, object]
) -> None:
    append(
        session,
        EntryDraft(actor=actor.name, department=actor.department, action=action, details=details),
    )


def live_tokens(session: SessionDep, name: str) -> list[ApiToken]:
    return list(
        session.execute(
            select(ApiToken).where(
                col(ApiToken.account_name) == name, col(ApiToken.revoked_at).is_(None)
            )
        ).scalars()
    )


def _withdraw_codes(session: SessionDep, name: str) -> list[str]:
    """Withdraw every unspent code of an account; a newer code (or revocation) replaces them."""
    rows = session.execute(
        select(EnrolmentCode).where(
            col(EnrolmentCode.account_name) == name,
            col(EnrolmentCode.used_at).is_(None),
            col(EnrolmentCode.withdrawn_at).is_(None),
        )
    ).scalars()
    ids = [r.id for r in rows]
    if ids:
        session.execute(
            update(EnrolmentCode)
            .where(col(EnrolmentCode.id).in_(ids))
            .values(withdrawn_at=utc_now())
        )
    return ids


def _issue_enrolment(
    session: SessionDep, admin: Account, target: Account, hours: int
) -> EnrolmentIssued:
    withdrawn = _withdraw_codes(session, target.name)
    replaces = bool(live_tokens(session, target.name))
    code_id, code, digest = new_enrolment_code()
    now = utc_now()
    expires = now + timedelta(hours=hours)
    session.add(
        EnrolmentCode(
            id=code_id,
            account_name=target.name,
            code_hash=digest,
            issued_by=admin.name,
            created_at=now,
            expires_at=expires,
        )
    )
    _record(
        session,
        admin,
        Action.ENROLMENT_ISSUED,
        {
            "account": target.name,
            "code_id": code_id,
            "expires_at": rfc3339(expires),
            "replaces_tokens": replaces,
            "withdrawn_codes": withdrawn,
        },
    )
    session.commit()
    return EnrolmentIssued(
        account=account_public(target),
        code_id=code_id,
        code=code,
        expires_at=expires,
        replaces_tokens=replaces,
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=EnrolmentIssued,
    dependencies=[guard(policy.Permission.ACCOUNT_MANAGE)],
    responses=problems(409),
)
def create_account(body: AccountCreate, session: SessionDep, admin: AccountDep) -> EnrolmentIssued:
    """Create an account and its enrolment code (shown once; hand it to the account's holder)."""
    role = policy.parse_role(body.role)
    clearance = policy.parse_level(body.clearance)
    if body.name in RESERVED_NAMES:
        raise Conflict(f"{body.name!r} is reserved; choose another account name")
    if session.get(Account, body.name) is not None:
        raise Conflict(f"account {body.name!r} already exists")
    account = Account(
        name=body.name,
        display_name=body.display_name,
        role=str(role),
        department=body.department,
        clearance=str(clearance),
        active=True,
        created_at=utc_now(),
        created_by=admin.name,
    )
    session.add(account)
    session.flush()
    _record(
        session,
        admin,
        Action.ACCOUNT_CREATED,
        {
            "account": account.name,
            "role": account.role,
            "account_department": account.department,
            "clearance": account.clearance,
        },
    )
    return _issue_enrolment(session, admin, account, body.enrolment_hours)


@router.get(
    "", response_model=list[AccountPublic], dependencies=[guard(policy.Permission.ACCOUNT_MANAGE)]
)
def list_accounts(session: SessionDep) -> list[AccountPublic]:
    rows = session.execute(select(Account).order_by(col(Account.name))).scalars().all()
    return [account_public(a) for a in rows]


@router.get("/me", response_model=AccountPublic, dependencies=[guard(policy.Permission.WHOAMI)])
def whoami(account: AccountDep) -> AccountPublic:
    return account_public(account)


@router.post(
    "/me/tokens",
    status_code=status.HTTP_201_CREATED,
    response_model=IssuedToken,
    dependencies=[guard(policy.Permission.OWN_TOKENS)],
)
def own_token(body: TokenRequest, session: SessionDep, account: AccountDep) -> IssuedToken:
    """Issue a further token for your own account (another machine, a script)."""
    expires = utc_now() + timedelta(days=body.expires_days) if body.expires_days else None
    row, token = issue_token(session, account.name, expires_at=expires)
    _record(
        session,
        account,
        Action.TOKEN_ISSUED,
        {
            "account": account.name,
            "token_id": row.id,
            "expires_at": rfc3339(expires) if expires else None,
            "via": "self",
        },
    )
    session.commit()
    return IssuedToken(
        account=account_public(account), token_id=row.id, token=token, expires_at=expires
    )


def _get(session: SessionDep, name: str) -> Account:
    account = session.get(Account, name)
    if account is None:
        raise UnknownAccount(f"account {name!r} does not exist")
    return account


@router.post(
    "/{name}/enrolment",
    status_code=status.HTTP_201_CREATED,
    response_model=EnrolmentIssued,
    dependencies=[guard(policy.Permission.ACCOUNT_MANAGE)],
    responses=problems(404, 409),
)
def new_enrolment(
    name: NamePath, body: EnrolmentRequest, session: SessionDep, admin: AccountDep
) -> EnrolmentIssued:
    """A new enrolment code for an account that lost its token.

    Earlier unspent codes are withdrawn, and exchanging this one revokes the account's
    current tokens: a replacement, never a second key to someone else's account.
    """
    target = _get(session, name)
    if not target.active:
        raise Conflict(f"account {name!r} is deactivated")
    return _issue_enrolment(session, admin, target, body.hours)


@router.post(
    "/{name}/revoke",
    response_model=AccountPublic,
    dependencies=[guard(policy.Permission.ACCOUNT_MANAGE)],
    responses=problems(404, 409),
)
def revoke_account(name: NamePath, session: SessionDep, admin: AccountDep) -> AccountPublic:
    """Deactivate the account, revoke every token it holds and withdraw its enrolment codes."""
    target = _get(session, name)
    if target.name == admin.name:
        raise Conflict("you cannot revoke your own account; ask another administrator")
    now = utc_now()
    revoked = []
    for t in live_tokens(session, name):
        t.revoked_at = now
        session.add(t)
        revoked.append(t.id)
    withdrawn = _withdraw_codes(session, name)
    target.active = False
    session.add(target)
    _record(
        session,
        admin,
        Action.ACCOUNT_DEACTIVATED,
        {"account": name, "tokens": revoked, "withdrawn_codes": withdrawn},
    )
    session.commit()
    return account_public(target)
