"""Annotated dependencies, as in FastAPI's full-stack template."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session

from api.authz import authorize
from api.context import AppContext
from api.fields import CASE_NUMBER_PATTERN
from api.security import authenticate
from api.web import sessions as web_sessions
from custody import policy
from custody.errors import PermissionDenied
from custody.models import Account

CaseNumberPath = Annotated[str, Path(pattern=CASE_NUMBER_PATTERN, max_length=128)]
"""A case number in a path; anything else is refused (400) before a query is made."""

bearer = HTTPBearer(auto_error=False, description="API token (custody account tokens)")


def get_context(request: Request) -> AppContext:
    ctx: AppContext = request.app.state.ctx
    return ctx


ContextDep = Annotated[AppContext, Depends(get_context)]


def get_session(ctx: ContextDep) -> Iterator[Session]:
    with ctx.session() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_HEADER = "X-CSRF-Token"


def current_account(
    request: Request,
    ctx: ContextDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Account:
    """Every endpoint but the health checks depends on this (a test enforces it).

    A bearer token wins; without one, the web interface's session cookie is accepted, and a
    state-changing request authenticated by the cookie must carry the session's CSRF token
    in ``X-CSRF-Token`` (a cookie alone is what a cross-site request would carry).
    """
    cookie = request.cookies.get(web_sessions.COOKIE)
    with ctx.session() as session:
        if credentials is not None or not cookie:
            return authenticate(session, credentials.credentials if credentials else None)
        account = web_sessions.account_of(session, cookie)
    if request.method not in SAFE_METHODS and not web_sessions.csrf_matches(
        cookie, request.headers.get(CSRF_HEADER)
    ):
        raise PermissionDenied(
            f"a request signed in by the web session cookie must carry its {CSRF_HEADER} header"
        )
    return account


AccountDep = Annotated[Account, Depends(current_account)]


class Guard:
    """The authorization dependency every route declares (a test checks that they all do).

    Actions that are not case-scoped are decided here; case-scoped ones are decided in the
    handler once the case is known (``api.authz.authorize``), so the guard only names them.
    """

    def __init__(self, action: policy.Permission) -> None:
        self.action = action

    def __call__(self, ctx: ContextDep, account: AccountDep) -> Account:
        if not self.action.case_scoped:
            with ctx.session() as session:
                authorize(session, account, self.action)
        return account


def guard(action: policy.Permission) -> Any:
    return Depends(Guard(action))
