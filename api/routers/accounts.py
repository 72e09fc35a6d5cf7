"""Accounts and API tokens (admin only): one account per person or department."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, status
from sqlalchemy import select
from sqlmodel import col

from api.deps import AccountDep, SessionDep, guard
from api.schemas import AccountCreate, AccountPublic, IssuedToken, TokenRequest
from api.security import issue_token
from custody import policy
from custody.db import aware
from custody.errors import Conflict, UnknownAccount
from custody.ledger import Action, EntryDraft, utc_now
from custody.ledger_store import append
from custody.models import Account, ApiToken

router = APIRouter(prefix="/api/v1/accounts", tags=["accounts"])


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


def _issue(session: SessionDep, admin: Account, target: Account, days: int | None) -> IssuedToken:
    expires = utc_now() + timedelta(days=days) if days else None
    row, token = issue_token(session, target.name, expires_at=expires)
    _record(
        session,
        admin,
        Action.TOKEN_ISSUED,
        {
            "account": target.name,
            "token_id": row.id,
            "expires_at": str(expires) if expires else None,
        },
    )
    session.commit()
    return IssuedToken(
        account=account_public(target), token_id=row.id, token=token, expires_at=expires
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=IssuedToken,
    dependencies=[guard(policy.Action.ACCOUNT_MANAGE)],
)
def create_account(body: AccountCreate, session: SessionDep, admin: AccountDep) -> IssuedToken:
    """Create an account and its first token (shown once)."""
    role = policy.parse_role(body.role)
    clearance = policy.parse_level(body.clearance)
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
    return _issue(session, admin, account, body.token_expires_days)


@router.get(
    "", response_model=list[AccountPublic], dependencies=[guard(policy.Action.ACCOUNT_MANAGE)]
)
def list_accounts(session: SessionDep) -> list[AccountPublic]:
    rows = session.execute(select(Account).order_by(col(Account.name))).scalars().all()
    return [account_public(a) for a in rows]


@router.get("/me", response_model=AccountPublic, dependencies=[guard(policy.Action.WHOAMI)])
def whoami(account: AccountDep) -> AccountPublic:
    return account_public(account)


def _get(session: SessionDep, name: str) -> Account:
    account = session.get(Account, name)
    if account is None:
        raise UnknownAccount(f"account {name!r} does not exist")
    return account


@router.post(
    "/{name}/tokens",
    status_code=status.HTTP_201_CREATED,
    response_model=IssuedToken,
    dependencies=[guard(policy.Action.ACCOUNT_MANAGE)],
)
def new_token(name: str, body: TokenRequest, session: SessionDep, admin: AccountDep) -> IssuedToken:
    target = _get(session, name)
    if not target.active:
        raise Conflict(f"account {name!r} is deactivated")
    return _issue(session, admin, target, body.expires_days)


@router.post(
    "/{name}/revoke",
    response_model=AccountPublic,
    dependencies=[guard(policy.Action.ACCOUNT_MANAGE)],
)
def revoke_account(name: str, session: SessionDep, admin: AccountDep) -> AccountPublic:
    """Deactivate the account and revoke every token it holds."""
    target = _get(session, name)
    if target.name == admin.name:
        raise Conflict("you cannot revoke your own account; ask another administrator")
    now = utc_now()
    tokens = session.execute(
        select(ApiToken).where(
            col(ApiToken.account_name) == name, col(ApiToken.revoked_at).is_(None)
        )
    ).scalars()
    revoked = []
    for t in tokens:
        t.revoked_at = now
        session.add(t)
        revoked.append(t.id)
    target.active = False
    session.add(target)
    _record(session, admin, Action.ACCOUNT_DEACTIVATED, {"account": name, "tokens": revoked})
    session.commit()
    return account_public(target)
