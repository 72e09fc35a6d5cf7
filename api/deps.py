"""Annotated dependencies, as in FastAPI's full-stack template."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session

from api.context import AppContext
from api.security import authenticate
from custody.models import Account

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
