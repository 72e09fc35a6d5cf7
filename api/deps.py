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
from custody import policy
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


def current_account(
    ctx: ContextDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Account:
    """Every endpoint but the health checks depends on this (a test enforces it)."""
    with ctx.session() as session:
        return authenticate(session, credentials.credentials if credentials else None)


AccountDep = Annotated[Account, Depends(current_account)]


class Guard:
    """The authorization dependency every route declares (a test checks that they all do).

    Actions that are not case-scoped are decided here; case-scoped ones are decided in the
    handler once the case is known (``api.authz.authorize``), so the guard only names them.
    """

    def __init__(self, action: policy.Action) -> None:
        self.action = action

    def __call__(self, ctx: ContextDep, account: AccountDep) -> Account:
        if not self.action.case_scoped:
            with ctx.session() as session:
                authorize(session, account, self.action)
        return account


def guard(action: policy.Action) -> Any:
    return Depends(Guard(action))
