"""Signing in and submitting forms over HTTP, as a browser would (for the non-browser tests)."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import Actor

CSRF = re.compile(r'name="csrf" value="([^"]*)"')


def csrf_of(html: str) -> str:
    match = CSRF.search(html)
    assert match, "the page has no CSRF field"
    return match.group(1)


def sign_in(client: TestClient, actor: Actor) -> str:
    """Sign in through the form; returns the session's CSRF token."""
    form = client.get("/signin")
    r = client.post(
        "/signin",
        data={"csrf": csrf_of(form.text), "token": actor.token, "next": ""},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    page = client.get("/cases" if actor.role != "admin" else "/ledger")
    assert page.status_code == 200, page.text
    return csrf_of(page.text)


def intake(client: TestClient, case: str, data: bytes, csrf: str, **meta: Any) -> dict[str, Any]:
    """What the intake page's script sends: multipart, metadata first, the CSRF header."""
    import json

    r = client.post(
        "/api/v1/evidence",
        files=[
            ("metadata", (None, json.dumps({"case": case, **meta}))),
            ("file", ("upload.bin", data, "application/octet-stream")),
        ],
        headers={"X-CSRF-Token": csrf},
    )
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body
