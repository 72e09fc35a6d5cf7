"""Jinja2 rendering with autoescaping everywhere: every value is text unless we say so.

Templates never mark a value safe; a file name like ``<img src=x onerror=alert(1)>.bin``
is therefore shown as those characters. The environment is built on first use.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from api.reports import words
from api.web import i18n, sessions
from api.web.headers import secure
from custody.models import Account

TEMPLATES = Path(__file__).with_name("templates")


@cache
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,  # every template, whatever its name
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["beijing"] = words.beijing
    env.filters["utc"] = words.utc
    env.filters["size"] = words.size
    return env


def page(
    request: Request,
    template: str,
    *,
    account: Account | None = None,
    status_code: int = 200,
    **values: Any,
) -> Response:
    """Render a page with what every page needs: language, account, CSRF token, path."""
    lang = i18n.language_of(request)
    session_id = request.cookies.get(sessions.COOKIE)
    html = (
        environment()
        .get_template(template)
        .render(
            t=i18n.Translator(lang),
            lang=lang,
            account=account,
            csrf=sessions.csrf_token(session_id) if session_id and account else "",
            path=request.url.path,
            here=i18n.here(request),
            **values,
        )
    )
    return secure(HTMLResponse(html, status_code=status_code))
