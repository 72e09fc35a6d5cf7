"""Browser sessions: a token is exchanged once for a random session id kept in a cookie.

Only the SHA-256 of the id is stored (like API tokens), next to the token it was opened
with, so revoking that token or deactivating the account ends the session at once. The
CSRF token is derived from the session id, so it needs no storage and dies with it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from sqlmodel import col

from api.security import authenticate, hash_token
from custody.db import aware
from custody.errors import AuthenticationRequired
from custody.ledger import utc_now
from custody.models import Account, ApiToken, WebSession

COOKIE = "custody_session"
LIFETIME = timedelta(hours=8)
SIGNED_OUT = "the web session has ended (signed out, expired or its token revoked); sign in again"


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()


def csrf_token(session_id: str) -> str:
    """The CSRF token of a session: an HMAC of a fixed label under the secret session id."""
    return hmac.new(session_id.encode("utf-8"), b"custody web csrf", hashlib.sha256).hexdigest()


def csrf_matches(session_id: str, presented: str | None) -> bool:
    return bool(presented) and hmac.compare_digest(csrf_token(session_id), str(presented))


def open_session(db: Session, token: str) -> tuple[str, Account]:
    """Check the token as the API does, then store a new session; returns (session id, account)."""
    account = authenticate(db, token)
    token_row = db.execute(
        select(ApiToken).where(col(ApiToken.token_hash) == hash_token(token))
    ).scalar_one()
    now = utc_now()
    db.execute(delete(WebSession).where(col(WebSession.expires_at) < now))  # housekeeping
    session_id = secrets.token_urlsafe(32)
    expires = now + LIFETIME
    if token_row.expires_at is not None:
        expires = min(expires, aware(token_row.expires_at))
    db.add(
        WebSession(
            id_hash=_hash(session_id),
            account_name=account.name,
            token_id=token_row.id,
            created_at=now,
            expires_at=expires,
        )
    )
    db.commit()
    return session_id, account


def account_of(db: Session, session_id: str | None) -> Account:
    """The account of a live session, or AuthenticationRequired (same rules as a token)."""
    if not session_id:
        raise AuthenticationRequired("sign in first: this page needs a web session")
    row = db.get(WebSession, _hash(session_id))
    now = utc_now()
    if row is None or aware(row.expires_at) <= now:
        raise AuthenticationRequired(SIGNED_OUT)
    token = db.get(ApiToken, row.token_id)
    if token is None or token.revoked_at is not None:
        raise AuthenticationRequired(SIGNED_OUT)
    if token.expires_at is not None and aware(token.expires_at) <= now:
        raise AuthenticationRequired(SIGNED_OUT)
    account = db.get(Account, row.account_name)
    if account is None or not account.active:
        raise AuthenticationRequired("the account of this session is deactivated")
    return account


def close_session(db: Session, session_id: str | None) -> None:
    """Sign out: the session row is deleted, so the cookie is worthless even if kept."""
    if session_id:
        db.execute(delete(WebSession).where(col(WebSession.id_hash) == _hash(session_id)))
        db.commit()
