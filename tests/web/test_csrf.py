"""Every state-changing form, and the API reached with the session cookie, needs the CSRF token."""

from __future__ import annotations

import html
import json

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.app import create_app
from api.context import AppContext
from api.web import sessions
from api.web.forms import CSRF_REFUSED
from custody.models import Case, Evidence, LedgerEntry
from tests.api.test_access import api_routes
from tests.conftest import Actor
from tests.web.helpers import csrf_of, intake, sign_in


def _counts(ctx: AppContext) -> tuple[int, int, int]:
    with ctx.session() as db:
        return tuple(  # type: ignore[return-value]
            db.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (Case, Evidence, LedgerEntry)
        )


def _web_posts(ctx: AppContext) -> list[str]:
    app = create_app(context=ctx)
    return [
        r.path
        for r in api_routes(app.routes)
        if "POST" in r.methods and not r.path.startswith("/api/")
    ]


def test_every_web_post_without_or_with_a_wrong_token_is_refused_and_changes_nothing(
    client: TestClient, ctx: AppContext, technician: Actor, case: str
) -> None:
    sign_in(client, technician)
    ev = intake(client, case, b"evidence", csrf_of(client.get("/cases").text))
    posts = _web_posts(ctx)
    assert {"/signin", "/signout", "/cases", "/check"} <= set(posts)
    before = _counts(ctx)
    values = {"number": case, "evidence_id": ev["id"]}
    for path in posts:
        url = path.format(**{k: v for k, v in values.items() if "{" + k + "}" in path})
        for token in (None, "0" * 64):
            data = {"number": "2026-NEW-1", "title": "t", "purpose": "p", "token": technician.token}
            if token:
                data["csrf"] = token
            r = client.post(url, data=data, follow_redirects=False)
            assert r.status_code == 403, (url, r.status_code)
            assert html.escape(CSRF_REFUSED, quote=False) in r.text.replace("&#39;", "'"), url
    assert _counts(ctx) == before
    assert client.get("/cases").status_code == 200  # the session survived (sign-out refused)


def test_a_cross_site_form_is_refused_even_with_the_right_token(
    client: TestClient, ctx: AppContext, technician: Actor
) -> None:
    csrf = sign_in(client, technician)
    before = _counts(ctx)
    for headers in ({"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}):
        r = client.post(
            "/cases", data={"csrf": csrf, "number": "X-1", "title": "t"}, headers=headers
        )
        assert r.status_code == 403
    assert _counts(ctx) == before
    r = client.post("/cases", data={"csrf": csrf, "number": "X-1", "title": "t"})
    assert r.status_code == 200 and _counts(ctx)[0] == before[0] + 1


def test_the_api_with_the_session_cookie_needs_the_csrf_header(
    client: TestClient, ctx: AppContext, technician: Actor, case: str
) -> None:
    csrf = sign_in(client, technician)
    before = _counts(ctx)
    for header in ({}, {"X-CSRF-Token": "0" * 64}):
        r = client.post(
            "/api/v1/evidence",
            files=[
                ("metadata", (None, json.dumps({"case": case}))),
                ("file", ("a.bin", b"x" * 100)),
            ],
            headers=header,
        )
        assert r.status_code == 403, r.text
    assert _counts(ctx) == before
    assert client.get("/api/v1/cases").status_code == 200  # reads need no header
    assert intake(client, case, b"x" * 100, csrf)["size"] == 100


def test_sign_in_needs_its_own_double_submit_token(
    client: TestClient, ctx: AppContext, technician: Actor
) -> None:
    client.get("/signin")
    r = client.post(
        "/signin", data={"csrf": "forged", "token": technician.token}, follow_redirects=False
    )
    assert r.status_code == 403
    assert sessions.COOKIE not in r.headers.get("set-cookie", "")
