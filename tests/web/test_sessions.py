"""Sign-in turns a token into a server-side session; the cookie and the stored row are safe."""

from __future__ import annotations

from datetime import timedelta
from http.cookies import SimpleCookie

from fastapi.testclient import TestClient
from sqlalchemy import select, text, update

from api.app import create_app
from api.context import AppContext
from api.web import sessions
from custody.ledger import utc_now
from custody.models import ApiToken, WebSession
from tests.conftest import Actor
from tests.web.helpers import csrf_of, sign_in


def _cookie(response_headers: list[str], name: str) -> SimpleCookie:
    jar: SimpleCookie = SimpleCookie()
    for header in response_headers:
        if header.startswith(f"{name}="):
            jar.load(header)
    assert name in jar, response_headers
    return jar


def _sign_in_response(client: TestClient, actor: Actor):  # type: ignore[no-untyped-def]
    form = client.get("/signin")
    return client.post(
        "/signin",
        data={"csrf": csrf_of(form.text), "token": actor.token, "next": "/cases"},
        follow_redirects=False,
    )


def test_sign_in_sets_a_strict_http_only_cookie_and_stores_only_a_hash(
    client: TestClient, ctx: AppContext, technician: Actor
) -> None:
    r = _sign_in_response(client, technician)
    assert r.status_code == 303 and r.headers["location"] == "/cases"
    assert technician.token not in r.headers["location"]
    morsel = _cookie(r.headers.get_list("set-cookie"), sessions.COOKIE)[sessions.COOKIE]
    assert morsel["httponly"] and morsel["samesite"].lower() == "strict"
    assert not morsel["secure"]  # plain http on loopback: a Secure cookie would never return
    session_id = morsel.value
    with ctx.engine.connect() as conn:
        dump = repr(conn.execute(text("SELECT * FROM web_sessions")).all())
    assert session_id not in dump and technician.token not in dump
    with ctx.session() as db:
        row = db.execute(select(WebSession)).scalar_one()
        assert row.account_name == technician.name
        assert row.id_hash == sessions._hash(session_id)


def test_over_tls_the_cookie_is_secure(ctx: AppContext, technician: Actor) -> None:
    with TestClient(create_app(context=ctx), base_url="https://testserver") as client:
        r = _sign_in_response(client, technician)
    morsel = _cookie(r.headers.get_list("set-cookie"), sessions.COOKIE)[sessions.COOKIE]
    assert morsel["secure"]


def test_a_wrong_token_is_refused_and_opens_no_session(client: TestClient, ctx: AppContext) -> None:
    form = client.get("/signin")
    r = client.post(
        "/signin",
        data={"csrf": csrf_of(form.text), "token": "cst_0000_bogus", "next": ""},
        follow_redirects=False,
    )
    assert r.status_code == 401
    assert sessions.COOKIE not in r.headers.get("set-cookie", "")
    assert "cst_0000_bogus" not in r.text
    with ctx.session() as db:
        assert db.execute(select(WebSession)).first() is None


def test_sign_out_deletes_the_session_so_the_old_cookie_is_worthless(
    client: TestClient, ctx: AppContext, technician: Actor
) -> None:
    csrf = sign_in(client, technician)
    cookie = client.cookies[sessions.COOKIE]
    r = client.post("/signout", data={"csrf": csrf}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/signin"
    with ctx.session() as db:
        assert db.execute(select(WebSession)).first() is None
    client.cookies.set(sessions.COOKIE, cookie)  # a copy kept by an attacker
    r = client.get("/cases", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/signin")
    api = client.get("/api/v1/cases")
    assert api.status_code == 401


def test_revoking_the_token_or_expiry_ends_the_session(
    client: TestClient, ctx: AppContext, technician: Actor
) -> None:
    sign_in(client, technician)
    assert client.get("/cases").status_code == 200
    with ctx.session() as db:
        db.execute(update(ApiToken).values(revoked_at=utc_now()))
        db.commit()
    assert client.get("/cases", follow_redirects=False).status_code == 303
    with ctx.session() as db:
        db.execute(update(ApiToken).values(revoked_at=None))
        db.commit()
    assert client.get("/cases").status_code == 200
    with ctx.session() as db:
        db.execute(update(WebSession).values(expires_at=utc_now() - timedelta(seconds=1)))
        db.commit()
    r = client.get("/cases?x=1", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/signin?next=%2Fcases%3Fx%3D1"


def test_sign_in_redirects_only_to_local_paths(client: TestClient, technician: Actor) -> None:
    for hostile in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        form = client.get("/signin")
        r = client.post(
            "/signin",
            data={"csrf": csrf_of(form.text), "token": technician.token, "next": hostile},
            follow_redirects=False,
        )
        assert r.status_code == 303 and r.headers["location"] == "/cases", hostile
    r = client.get("/lang/en?next=https://evil.example/", follow_redirects=False)
    assert r.headers["location"] == "/"


def test_the_sign_in_form_never_puts_the_token_in_a_url(client: TestClient) -> None:
    html = client.get("/signin").text
    assert 'method="post" action="/signin"' in html
    assert 'name="token" type="password"' in html
