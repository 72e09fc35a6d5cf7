"""Sign in with an API token (it becomes a server-side session), sign out, switch language."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from api.deps import ContextDep
from api.web import i18n, sessions
from api.web.auth import page_guard, public_page
from api.web.forms import SIGNIN_COOKIE, CsrfForm, new_signin_token, text
from api.web.route import WebRoute
from api.web.templating import page
from custody import policy
from custody.errors import AuthenticationRequired

router = APIRouter(route_class=WebRoute, include_in_schema=False)


def safe_next(value: str | None, default: str = "/cases") -> str:
    """Only a path on this site: never another host (no open redirect)."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return default
    if any(c in value for c in "\r\n\\"):
        return default
    return value


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def _landing(role: str) -> str:
    may_list = policy.Permission.CASE_LIST in policy.ROLE_PERMISSIONS[policy.parse_role(role)]
    return "/cases" if may_list else "/ledger"


def _signin_page(
    request: Request, *, next_path: str, error: str | None = None, status_code: int = 200
) -> Response:
    token = new_signin_token()
    response = page(
        request,
        "signin.html",
        status_code=status_code,
        signin_csrf=token,
        next=next_path,
        error=error,
    )
    response.set_cookie(
        SIGNIN_COOKIE,
        token,
        max_age=1800,
        path="/signin",
        secure=_secure(request),
        httponly=True,
        samesite="strict",
    )
    return response


@router.get("/", dependencies=[public_page()])
def home(request: Request, ctx: ContextDep) -> Response:
    with ctx.session() as db:
        try:
            account = sessions.account_of(db, request.cookies.get(sessions.COOKIE))
        except AuthenticationRequired:
            return RedirectResponse("/signin", status_code=303)
    return RedirectResponse(_landing(account.role), status_code=303)


@router.get("/signin", dependencies=[public_page()])
def signin_form(request: Request, next: str | None = None) -> Response:
    return _signin_page(request, next_path=safe_next(next, ""))


@router.post("/signin", dependencies=[public_page()])
def signin(
    request: Request,
    ctx: ContextDep,
    form: Annotated[FormData, Depends(CsrfForm(signin=True))],
) -> Response:
    """Exchange the token for a session; the token itself is never stored or echoed."""
    next_path = safe_next(text(form, "next", limit=2000), "")
    try:
        with ctx.session() as db:
            session_id, account = sessions.open_session(db, text(form, "token", limit=512))
    except AuthenticationRequired as e:
        t = i18n.Translator(i18n.language_of(request))
        return _signin_page(
            request,
            next_path=next_path,
            error=f"{t('signin.failed')} ({e.message})",
            status_code=401,
        )
    response = RedirectResponse(next_path or _landing(account.role), status_code=303)
    response.set_cookie(
        sessions.COOKIE,
        session_id,
        max_age=int(sessions.LIFETIME.total_seconds()),
        path="/",
        secure=_secure(request),
        httponly=True,
        samesite="strict",
    )
    response.delete_cookie(SIGNIN_COOKIE, path="/signin", httponly=True, samesite="strict")
    return response


@router.post("/signout", dependencies=[page_guard(policy.Permission.WHOAMI)])
def signout(
    request: Request, ctx: ContextDep, form: Annotated[FormData, Depends(CsrfForm())]
) -> Response:
    with ctx.session() as db:
        sessions.close_session(db, request.cookies.get(sessions.COOKIE))
    response = RedirectResponse("/signin", status_code=303)
    response.delete_cookie(
        sessions.COOKIE, path="/", secure=_secure(request), httponly=True, samesite="strict"
    )
    return response


@router.get("/lang/{code}", dependencies=[public_page()])
def switch_language(request: Request, code: str, next: str | None = None) -> Response:
    """Remember the language in a cookie (a preference, not state: no CSRF needed)."""
    response = RedirectResponse(safe_next(next, "/"), status_code=303)
    if code in i18n.LANGUAGES:
        response.set_cookie(
            i18n.COOKIE,
            code,
            max_age=365 * 24 * 3600,
            path="/",
            secure=_secure(request),
            httponly=True,
            samesite="lax",
        )
    return response
