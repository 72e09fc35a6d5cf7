"""API tokens and enrolment codes: high-entropy, shown once, stored only as a SHA-256 hash."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from custody.db import aware
from custody.errors import AuthenticationRequired
from custody.ledger import utc_now
from custody.models import Account, ApiToken

TOKEN_PREFIX = "cst_"  # noqa: S105 - a public prefix, not a secret
CODE_PREFIX = "enr_"


def new_token() -> tuple[str, str, str]:
    """Return ``(token_id, token, token_hash)``; only the id and hash are ever stored."""
    token_id = secrets.token_hex(8)
    token = f"{TOKEN_PREFIX}{token_id}_{secrets.token_urlsafe(32)}"
    return token_id, token, hash_token(token)


def new_enrolment_code() -> tuple[str, str, str]:
    """Return ``(code_id, code, code_hash)``; the code is shown once, to the administrator."""
    code_id = secrets.token_hex(8)
    code = f"{CODE_PREFIX}{code_id}_{secrets.token_urlsafe(32)}"
    return code_id, code, hash_token(code)


def hash_token(token: str) -> str:
    # 256 bits of entropy make a slow password hash unnecessary; SHA-256 suffices.
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_token(
    session: Session, account: str, *, expires_at: datetime | None = None
) -> tuple[ApiToken, str]:
    token_id, token, digest = new_token()
    row = ApiToken(
        id=token_id,
        account_name=account,
        token_hash=digest,
        created_at=utc_now(),
        expires_at=expires_at,
    )
    session.add(row)
    return row, token


def authenticate(session: Session, token: str | None) -> Account:
    """The active account a live token belongs to, or AuthenticationRequired."""
    if not token:
        raise AuthenticationRequired(
            "this endpoint needs an API token: send 'Authorization: Bearer <token>' "
            "(set CUSTODY_TOKEN for the CLI)"
        )
    row = session.execute(
        select(ApiToken).where(col(ApiToken.token_hash) == hash_token(token))
    ).scalar_one_or_none()
    now = utc_now()
    if row is None or row.revoked_at is not None:
        raise AuthenticationRequired("the API token is unknown or revoked; ask for a new one")
    if row.expires_at is not None and aware(row.expires_at) <= now:
        raise AuthenticationRequired("the API token has expired; ask for a new one")
    account = session.get(Account, row.account_name)
    if account is None or not account.active:
        raise AuthenticationRequired("the account of this token is deactivated")
    return account
