"""Pages go through the API's authorization and record what the API records; all is escaped."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from api.app import create_app
from api.context import AppContext
from api.deps import Guard
from api.web.auth import PageGuard, PublicPage
from custody.models import LedgerEntry
from tests.api.test_access import api_routes
from tests.conftest import Actor, add_account
from tests.web.helpers import intake, sign_in

XSS_NAME = "<img src=x onerror=alert(1)>.bin"
XSS_TEXT = "<script>alert('desc')</script>"
PUBLIC = {("GET", "/"), ("GET", "/signin"), ("POST", "/signin"), ("GET", "/lang/{code}")}


def entries(ctx: AppContext, start: int = 0) -> list[dict[str, Any]]:
    with ctx.session() as db:
        rows = db.execute(select(LedgerEntry).where(LedgerEntry.seq >= start)).scalars()
        return [json.loads(r.canonical) for r in rows]


def head(ctx: AppContext) -> int:
    with ctx.session() as db:
        return len(db.execute(select(LedgerEntry.seq)).all())


def test_every_page_declares_one_guard_and_only_sign_in_pages_are_public(
    ctx: AppContext,
) -> None:
    pages = [
        r
        for r in api_routes(create_app(context=ctx).routes)
        # the API, the health checks and the tiled log (tlog-tiles) are not pages
        if not r.path.startswith(("/api/", "/healthz", "/readyz", "/checkpoint", "/tile/"))
    ]
    public = set()
    for route in pages:
        guards = [d.call for d in route.dependant.dependencies if isinstance(d.call, Guard)]
        assert len(guards) == 1, route.path
        if isinstance(guards[0], PublicPage):
            public |= {(m, route.path) for m in route.methods}
        else:
            assert isinstance(guards[0], PageGuard), route.path
    assert public == PUBLIC
    assert len(pages) >= 15


def test_an_item_page_view_is_the_apis_view_entries(
    client: TestClient, ctx: AppContext, technician: Actor, case: str
) -> None:
    csrf = sign_in(client, technician)
    ev = intake(client, case, b"seized chat export", csrf)
    start = head(ctx)
    page = client.get(f"/evidence/{ev['id']}")
    assert page.status_code == 200
    assert page.text.count("本地只读锁定") == 2  # as recorded at intake, and as the store says now
    page_entries = entries(ctx, start)
    start = head(ctx)
    api = {"Authorization": f"Bearer {technician.token}"}
    client.get(f"/api/v1/evidence/{ev['id']}", headers=api)
    client.get(f"/api/v1/evidence/{ev['id']}/custody", headers=api)
    api_entries = entries(ctx, start)

    def shape(values: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
        return [(e["action"], e["actor"], e["evidence"], e["details"]) for e in values]

    assert shape(page_entries) == shape(api_entries)
    assert [e["action"] for e in page_entries] == ["evidence.view", "evidence.view"]


def test_a_case_page_view_is_the_apis_evidence_list_entry(
    client: TestClient, ctx: AppContext, technician: Actor, case: str
) -> None:
    sign_in(client, technician)
    start = head(ctx)
    assert client.get(f"/cases/{case}").status_code == 200
    assert [(e["action"], e["details"]) for e in entries(ctx, start)] == [
        ("evidence.view", {"what": "evidence list", "count": 0})
    ]


def test_another_departments_case_is_not_found_and_the_refusal_is_recorded(
    client: TestClient, ctx: AppContext, technician: Actor, case: str
) -> None:
    outsider = add_account(ctx, "wang", role="technician", department="economic-crimes")
    sign_in(client, outsider)
    start = head(ctx)
    r = client.get(f"/cases/{case}")
    assert r.status_code == 404
    assert "does not exist or you have no access" in r.text
    assert "text/html" in r.headers["content-type"]
    denied = entries(ctx, start)
    assert [(e["action"], e["actor"], e["details"]["attempted"]) for e in denied] == [
        ("access.denied", "wang", "case.view")
    ]
    assert f'href="/cases/{case}"' not in client.get("/cases").text


def test_a_judge_without_a_grant_sees_no_case_and_cannot_take_in(
    client: TestClient, ctx: AppContext, technician: Actor, case: str
) -> None:
    judge = add_account(ctx, "court", role="judge", department="forensics")
    sign_in(client, judge)
    assert client.get(f"/cases/{case}").status_code == 404
    r = client.get("/cases")
    assert r.status_code == 200 and f'href="/cases/{case}"' not in r.text
    assert 'action="/cases"' not in r.text  # a judge creates no cases
    assert client.get(f"/cases/{case}/intake").status_code == 404


def test_hostile_names_and_descriptions_render_escaped(
    client: TestClient, ctx: AppContext, technician: Actor, case: str
) -> None:
    csrf = sign_in(client, technician)
    ev = intake(
        client,
        case,
        b"payload",
        csrf,
        filename=XSS_NAME,
        description=XSS_TEXT,
        seal_no='"><svg onload=alert(3)>',
    )
    for url in (f"/cases/{case}", f"/evidence/{ev['id']}"):
        html = client.get(url).text
        assert XSS_NAME not in html and XSS_TEXT not in html and "<svg" not in html
        assert "&lt;img src=x onerror=alert(1)&gt;.bin" in html
        assert "&lt;script&gt;alert(&#39;desc&#39;)&lt;/script&gt;" in html
    report = client.post(f"/evidence/{ev['id']}/verify", data={"csrf": csrf})
    assert report.status_code == 200
    assert XSS_NAME not in report.text and "&lt;img src=x" in report.text


def test_pages_carry_a_strict_csp_and_no_inline_script(
    client: TestClient, technician: Actor, case: str
) -> None:
    sign_in(client, technician)
    for url in ("/signin", "/cases", f"/cases/{case}", f"/cases/{case}/intake", "/ledger"):
        r = client.get(url)
        csp = r.headers["content-security-policy"]
        assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp
        assert "script-src 'self' 'wasm-unsafe-eval'" in csp
        assert "frame-ancestors 'none'" in csp
        assert r.headers["x-content-type-options"] == "nosniff"
        assert "<script>" not in r.text  # every script has a src
    static = client.get("/static/js/intake.js")
    assert static.status_code == 200 and static.headers["x-content-type-options"] == "nosniff"


def test_language_is_chinese_by_default_and_english_on_request(client: TestClient) -> None:
    assert '<html lang="zh-CN">' in client.get("/signin").text
    client.get("/lang/en")
    html = client.get("/signin").text
    assert '<html lang="en">' in html and "Sign in" in html
