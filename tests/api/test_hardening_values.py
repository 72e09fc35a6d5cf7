"""Issue 10, finding 10 (silent changes to stored values): what cannot be stored as sent is
refused, never converted (NaN to null, 0 to false, control characters into names)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.context import AppContext
from custody.ledger import Action
from custody.models import Account, Case
from tests.api.test_intake import counts, stored_objects
from tests.conftest import Actor

DATA = b"bank statement export " * 500


def problem_code(r: Any) -> str:
    assert r.status_code == 400, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    return str(r.json()["type"]).rsplit(":", 1)[1]


@pytest.mark.parametrize(
    "media_json",
    [
        '{"capacity": NaN}',
        '{"capacity": Infinity}',
        '{"capacity": -Infinity}',
        '{"capacity": 1e400}',
        '{"partitions": [{"size": -1e400}]}',
        '{"capacity": 1, "capacity": 2}',
    ],
)
def test_finding10_nan_infinity_and_overflowing_numbers_in_media_are_refused(
    client: TestClient, ctx: AppContext, technician: Actor, case: str, media_json: str
) -> None:
    """Python's json reads these; they used to be stored as null (or the last duplicate)."""
    before = counts(ctx)
    metadata = f'{{"case": "{case}", "media": {media_json}}}'
    for form in ("multipart", "raw"):
        if form == "multipart":
            r = client.post(
                "/api/v1/evidence",
                files=[("metadata", (None, metadata)), ("file", ("a.bin", DATA))],
                headers=technician.headers,
            )
        else:
            r = client.post(
                "/api/v1/evidence",
                params={"metadata": metadata},
                content=DATA,
                headers={**technician.headers, "Content-Type": "application/octet-stream"},
            )
        assert problem_code(r) == "malformed-metadata"
    assert counts(ctx) == before
    assert stored_objects(ctx) == []


def test_finding10_finite_numbers_in_media_are_kept_exactly(
    client: TestClient, technician: Actor, case: str
) -> None:
    media = {"capacity": 1000204886016, "ratio": 0.5, "nested": {"list": [1, -2.25, None]}}
    r = client.post(
        "/api/v1/evidence",
        files=[
            ("metadata", (None, json.dumps({"case": case, "media": media}))),
            ("file", ("a.bin", DATA)),
        ],
        headers=technician.headers,
    )
    assert r.status_code == 201, r.text
    assert r.json()["media"] == media


@pytest.mark.parametrize("on", [0, 1, "true", "on", None, 1.0])
def test_finding10_legal_hold_on_must_be_a_json_boolean(
    client: TestClient, ctx: AppContext, technician: Actor, case: str, on: Any
) -> None:
    r = client.post(
        "/api/v1/evidence",
        files=[("metadata", (None, json.dumps({"case": case}))), ("file", ("a.bin", DATA))],
        headers=technician.headers,
    )
    evidence_id = r.json()["id"]
    before = counts(ctx)
    r = client.post(
        f"/api/v1/evidence/{evidence_id}/legal-hold",
        json={"on": on, "reason": "court order"},
        headers=technician.headers,
    )
    assert problem_code(r) == "request-validation"
    assert counts(ctx) == before
    shown = client.get(f"/api/v1/evidence/{evidence_id}", headers=technician.headers).json()
    assert shown["state"]["legal_hold"] is False
    r = client.post(
        f"/api/v1/evidence/{evidence_id}/legal-hold",
        json={"on": True, "reason": "court order"},
        headers=technician.headers,
    )
    assert r.status_code == 200 and r.json()["state"]["legal_hold"] is True


@pytest.mark.parametrize("department", ["lab\x07", "lab\nx", "lab\x00", "\x1b[31mlab", "lab\x85"])
def test_finding10_department_names_with_control_characters_are_refused(
    client: TestClient, ctx: AppContext, admin: Actor, technician: Actor, department: str
) -> None:
    before = counts(ctx)
    r = client.post(
        "/api/v1/accounts",
        json={
            "name": "zhou",
            "display_name": "Zhou",
            "role": "technician",
            "department": department,
        },
        headers=admin.headers,
    )
    assert problem_code(r) in {"request-validation", "malformed-json"}
    r = client.post(
        "/api/v1/cases",
        json={"number": "D-1", "title": "t", "department": department},
        headers=technician.headers,
    )
    assert problem_code(r) in {"request-validation", "malformed-json"}
    assert counts(ctx) == before
    with ctx.session() as s:
        assert s.get(Account, "zhou") is None
        assert s.execute(select(func.count()).select_from(Case)).scalar_one() == 0


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ('{"number": "A-1", "title": NaN}', "malformed-json"),
        ('{"number": "A-1", "title": "t", "title": "u"}', "malformed-json"),
        ('{"number": "A-1", "title": "a\\u0000b"}', "malformed-json"),
        ('{"number": "A-1", "title": "\\ud800"}', "malformed-json"),
        ('{"number": "A-1", "title": "two\\nlines"}', "request-validation"),
        ('{"number": "A-1\\n", "title": "t"}', "request-validation"),
        ('{"number": "A-1", "title": "t", "extra": 1}', "request-validation"),
    ],
)
def test_finding10_json_bodies_are_strict(
    client: TestClient, ctx: AppContext, technician: Actor, body: str, code: str
) -> None:
    before = counts(ctx)
    r = client.post(
        "/api/v1/cases",
        content=body.encode(),
        headers={**technician.headers, "Content-Type": "application/json"},
    )
    assert problem_code(r) == code
    assert counts(ctx) == before


def test_finding10_reasons_may_span_lines_but_hold_no_other_control_characters(
    client: TestClient, ctx: AppContext, technician: Actor, case: str
) -> None:
    r = client.post(
        "/api/v1/evidence",
        files=[("metadata", (None, json.dumps({"case": case}))), ("file", ("a.bin", DATA))],
        headers=technician.headers,
    )
    evidence_id = r.json()["id"]
    before = counts(ctx)
    r = client.post(
        f"/api/v1/evidence/{evidence_id}/legal-hold",
        json={"on": True, "reason": "order\x1b[2J"},
        headers=technician.headers,
    )
    assert problem_code(r) == "request-validation"
    assert counts(ctx) == before
    r = client.post(
        f"/api/v1/evidence/{evidence_id}/legal-hold",
        json={"on": True, "reason": "court order 17\r\nsigned by judge Li"},
        headers=technician.headers,
    )
    assert r.status_code == 200, r.text
    _, _, actions = counts(ctx)
    assert actions[-1] == Action.LEGAL_HOLD_SET


@pytest.mark.parametrize("moment", ["9999-12-31T23:59:59-05:00", "1969-12-31T23:59:59Z"])
def test_finding1_times_outside_what_utc_can_spell_are_400(
    client: TestClient, ctx: AppContext, admin: Actor, technician: Actor, case: str, moment: str
) -> None:
    """Converting these to UTC overflowed (or predates every record) and answered 500."""
    r = client.post(
        "/api/v1/evidence",
        files=[("metadata", (None, json.dumps({"case": case}))), ("file", ("a.bin", DATA))],
        headers=technician.headers,
    )
    evidence_id = r.json()["id"]
    before = counts(ctx)
    r = client.post(
        f"/api/v1/evidence/{evidence_id}/retention",
        json={"until": moment, "reason": "appeal"},
        headers=technician.headers,
    )
    assert problem_code(r) == "request-validation"
    r = client.post(
        f"/api/v1/cases/{case}/grants",
        json={"account": technician.name, "permissions": ["view"], "expires_at": moment},
        headers=admin.headers,
    )
    assert problem_code(r) == "request-validation"
    assert counts(ctx) == before
