"""Issue 10, findings 8 and 9: case numbers do not leak across departments, and an
administrator cannot act as another account (no admin-issued tokens, no self-grants)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text

from api.app import create_app
from api.context import AppContext, build_context
from custody.ledger import Action, utc_now
from custody.models import ApiToken, Grant, LedgerEntry
from tests.api.test_access import create_account
from tests.conftest import Actor, add_account, make_settings

PER_REQUEST = ("instance", "request_id")


def entries(ctx: AppContext) -> list[dict[str, Any]]:
    with ctx.session() as s:
        rows = s.execute(select(LedgerEntry).order_by(LedgerEntry.seq)).scalars().all()
        return [json.loads(r.canonical) for r in rows]


def stable(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k not in PER_REQUEST}


@dataclass
class Two:
    ctx: AppContext
    client: TestClient
    admin: Actor
    tech: Actor  # forensics
    outsider: Actor  # another department


@pytest.fixture
def two(tmp_path: Path, database_url: str) -> Iterator[Two]:
    ctx = build_context(make_settings(tmp_path, database_url=database_url))
    admin = Actor(
        name="admin",
        token=ctx.settings.admin_token_path.read_text().strip(),
        role="admin",
        department="administration",
    )
    tech = add_account(ctx, "li.wei", role="technician", department="forensics")
    outsider = add_account(ctx, "qian", role="technician", department="other-bureau")
    with TestClient(create_app(context=ctx)) as client:
        yield Two(ctx=ctx, client=client, admin=admin, tech=tech, outsider=outsider)
    ctx.engine.dispose()


# --- finding 8 ----------------------------------------------------------------------------


def test_finding8_taken_case_number_answers_like_any_unavailable_number(two: Two) -> None:
    c = two.client
    r = c.post("/api/v1/cases", json={"number": "F-1", "title": "ours"}, headers=two.tech.headers)
    assert r.status_code == 201
    r = c.post(
        "/api/v1/cases", json={"number": "Q-1", "title": "theirs"}, headers=two.outsider.headers
    )
    assert r.status_code == 201
    before = entries(two.ctx)
    # The outsider asks for a number another department holds, and for one its own holds.
    foreign = c.post(
        "/api/v1/cases", json={"number": "F-1", "title": "x"}, headers=two.outsider.headers
    )
    own = c.post(
        "/api/v1/cases", json={"number": "Q-1", "title": "x"}, headers=two.outsider.headers
    )
    for r in (foreign, own):
        assert r.status_code == 409
        assert r.headers["content-type"].startswith("application/problem+json")
    assert stable(foreign.json()) == stable(own.json())
    assert foreign.json()["detail"] == "the number is not available; choose another"
    assert "F-1" not in foreign.text and "forensics" not in foreign.text
    # Both attempts are on the ledger, outside any case's chain, with the number in details.
    new = entries(two.ctx)[len(before) :]
    assert [e["action"] for e in new] == [Action.ACCESS_DENIED, Action.ACCESS_DENIED]
    assert [e["details"]["number"] for e in new] == ["F-1", "Q-1"]
    assert all(e["case"] is None and e["actor"] == "qian" for e in new)
    assert all(e["details"]["attempted"] == "case.create" for e in new)
    # A GET of the foreign number reads exactly like a number that never existed.
    hidden = c.get("/api/v1/cases/F-1", headers=two.outsider.headers)
    never = c.get("/api/v1/cases/N-1", headers=two.outsider.headers)
    assert hidden.status_code == never.status_code == 404
    hidden_body = stable(hidden.json())
    hidden_body["detail"] = hidden_body["detail"].replace("F-1", "N-1")
    assert hidden_body == stable(never.json())
    # Nothing else changed: F-1 still belongs to forensics.
    assert c.get("/api/v1/cases/F-1", headers=two.tech.headers).json()["department"] == "forensics"


def test_finding8_refused_case_creation_is_recorded_without_a_case(two: Two) -> None:
    before = entries(two.ctx)
    r = two.client.post(
        "/api/v1/cases",
        json={"number": "X-9", "title": "t", "department": "other-bureau"},
        headers=two.tech.headers,
    )
    assert r.status_code == 403
    new = entries(two.ctx)[len(before) :]
    assert len(new) == 1 and new[0]["action"] == Action.ACCESS_DENIED
    assert new[0]["case"] is None and new[0]["details"]["number"] == "X-9"


# --- finding 9 ----------------------------------------------------------------------------


def test_finding9_admin_gets_no_working_token_for_another_account(two: Two) -> None:
    c = two.client
    r = c.post(
        "/api/v1/accounts",
        json={"name": "wang", "display_name": "Wang", "role": "technician", "department": "lab"},
        headers=two.admin.headers,
    )
    assert r.status_code == 201, r.text
    issued = r.json()
    assert "token" not in issued and issued["code"].startswith("enr_")
    # The code is not a token.
    assert (
        c.get(
            "/api/v1/accounts/me", headers={"Authorization": f"Bearer {issued['code']}"}
        ).status_code
        == 401
    )
    # The old route that minted tokens for someone else is gone.
    for path in ("/api/v1/accounts/li.wei/tokens", "/api/v1/accounts/wang/tokens"):
        r = c.post(path, json={}, headers=two.admin.headers)
        assert r.status_code in (404, 405), r.text
    # No token row was made for wang by anything the administrator did.
    with two.ctx.session() as s:
        count = s.execute(
            select(func.count()).select_from(ApiToken).where(ApiToken.account_name == "wang")
        ).scalar_one()
    assert count == 0
    # The holder exchanges the code; the token is theirs, the ledger says so.
    r = c.post("/api/v1/enrolment", json={"account": "wang", "code": issued["code"]})
    assert r.status_code == 201, r.text
    token = r.json()["token"]
    me = c.get("/api/v1/accounts/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["name"] == "wang"
    enrolled = entries(two.ctx)[-1]
    assert enrolled["action"] == Action.ENROLLED and enrolled["actor"] == "wang"
    assert enrolled["details"]["code_issued_by"] == "admin"
    assert token not in json.dumps(entries(two.ctx))
    # Single use.
    again = c.post("/api/v1/enrolment", json={"account": "wang", "code": issued["code"]})
    assert again.status_code == 401
    assert again.json()["type"].endswith(":invalid-enrolment-code")


def test_finding9_reenrolment_replaces_the_holders_tokens(two: Two) -> None:
    """An administrator who re-enrols an account to act as it locks its holder out, visibly."""
    c = two.client
    r = c.post("/api/v1/accounts/li.wei/enrolment", json={"hours": 1}, headers=two.admin.headers)
    assert r.status_code == 201 and r.json()["replaces_tokens"] is True
    issued = entries(two.ctx)[-1]
    assert issued["action"] == Action.ENROLMENT_ISSUED and issued["actor"] == "admin"
    assert c.get("/api/v1/accounts/me", headers=two.tech.headers).status_code == 200
    r = c.post("/api/v1/enrolment", json={"account": "li.wei", "code": r.json()["code"]})
    assert r.status_code == 201
    assert c.get("/api/v1/accounts/me", headers=two.tech.headers).status_code == 401
    assert entries(two.ctx)[-1]["details"]["revoked_tokens"]


def test_finding9_enrolment_code_is_bound_to_account_expiry_and_newest_code(two: Two) -> None:
    c = two.client
    first = c.post("/api/v1/accounts/li.wei/enrolment", json={}, headers=two.admin.headers).json()
    second = c.post("/api/v1/accounts/li.wei/enrolment", json={}, headers=two.admin.headers).json()
    before = entries(two.ctx)
    answers = [
        c.post("/api/v1/enrolment", json={"account": "li.wei", "code": first["code"]}),
        c.post("/api/v1/enrolment", json={"account": "qian", "code": second["code"]}),
        c.post("/api/v1/enrolment", json={"account": "li.wei", "code": "enr_guess_guess"}),
    ]
    with two.ctx.engine.begin() as conn:
        conn.execute(
            text("UPDATE enrolment_codes SET expires_at = :t WHERE id = :i"),
            {"t": utc_now() - timedelta(seconds=1), "i": second["code_id"]},
        )
    answers.append(c.post("/api/v1/enrolment", json={"account": "li.wei", "code": second["code"]}))
    details = {r.json()["detail"] for r in answers}
    assert [r.status_code for r in answers] == [401] * 4 and len(details) == 1
    assert entries(two.ctx) == before
    assert c.get("/api/v1/accounts/me", headers=two.tech.headers).status_code == 200


def test_finding9_a_code_is_spent_once_even_when_exchanged_concurrently(two: Two) -> None:
    code = two.client.post(
        "/api/v1/accounts/qian/enrolment", json={}, headers=two.admin.headers
    ).json()["code"]
    barrier = threading.Barrier(4)
    statuses: list[int] = []

    def exchange() -> None:
        barrier.wait()
        r = two.client.post("/api/v1/enrolment", json={"account": "qian", "code": code})
        statuses.append(r.status_code)

    threads = [threading.Thread(target=exchange) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(statuses) == [201, 401, 401, 401]
    enrolled = [e for e in entries(two.ctx) if e["action"] == Action.ENROLLED]
    assert len(enrolled) == 1


def test_finding9_an_account_issues_further_tokens_for_itself(two: Two) -> None:
    r = two.client.post(
        "/api/v1/accounts/me/tokens", json={"expires_days": 30}, headers=two.tech.headers
    )
    assert r.status_code == 201, r.text
    token = r.json()["token"]
    me = two.client.get("/api/v1/accounts/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["name"] == "li.wei"
    last = entries(two.ctx)[-1]
    assert last["action"] == Action.TOKEN_ISSUED and last["actor"] == "li.wei"
    assert last["details"]["via"] == "self"


@pytest.mark.parametrize("grantee", ["admin", "admin2"])
def test_finding9_admin_cannot_grant_case_permissions_to_itself_or_any_admin(
    two: Two, grantee: str
) -> None:
    add_account(two.ctx, "admin2", role="admin", department="administration")
    r = two.client.post(
        "/api/v1/cases", json={"number": "F-1", "title": "t"}, headers=two.tech.headers
    )
    assert r.status_code == 201
    before = entries(two.ctx)
    r = two.client.post(
        "/api/v1/cases/F-1/grants",
        json={"account": grantee, "permissions": ["view", "download"], "reason": "curious"},
        headers=two.admin.headers,
    )
    assert r.status_code == 403, r.text
    assert "administrator" in r.json()["detail"] or "itself" in r.json()["detail"]
    new = entries(two.ctx)[len(before) :]
    assert [e["action"] for e in new] == [Action.ACCESS_DENIED]
    assert new[0]["case"] == "F-1" and new[0]["details"]["grantee"] == grantee
    with two.ctx.session() as s:
        assert s.execute(select(func.count()).select_from(Grant)).scalar_one() == 0
    # A grant to a non-administrator still works.
    r = two.client.post(
        "/api/v1/cases/F-1/grants",
        json={"account": "qian", "permissions": ["view"]},
        headers=two.admin.headers,
    )
    assert r.status_code == 201, r.text


def test_finding9_accounts_made_through_the_api_enrol_and_work(
    client: TestClient, admin: Actor
) -> None:
    tech = create_account(client, admin, "zhao", role="technician", department="lab")
    assert client.get("/api/v1/accounts/me", headers=tech.headers).json()["name"] == "zhao"
