"""The confidentiality rules (保密制度) through the real API: each rule is refused where the
rules refuse it, and every step is on the case's hash-chained ledger."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.context import AppContext
from api.settings import Settings
from custody.bundle import verify_bundle, write_bundle
from custody.bundle.package import bundle_input
from custody.ledger import Action, rfc3339, utc_now
from tests.api.test_access import entries, intake
from tests.conftest import Actor, add_account, make_settings

CASE = "2026-JM-0042"
RETENTION_SECONDS = 1.5
DATA = os.urandom(20_000)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path, retention_days=RETENTION_SECONDS / 86400)


class People:
    def __init__(self, ctx: AppContext) -> None:
        self.handler = add_account(
            ctx, "li.wei", role="technician", department="forensics", clearance="top_secret"
        )
        self.witness = add_account(
            ctx, "zhao.min", role="technician", department="forensics", clearance="confidential"
        )
        self.leader = add_account(
            ctx, "wang.fang", role="leader", department="forensics", clearance="top_secret"
        )
        self.prosecutor = add_account(
            ctx, "chen.jie", role="prosecutor", department="prosecution", clearance="confidential"
        )
        self.prosecution_leader = add_account(
            ctx, "sun.li", role="leader", department="prosecution", clearance="confidential"
        )
        self.other_leader = add_account(
            ctx, "zhou.qiang", role="leader", department="traffic", clearance="top_secret"
        )


@pytest.fixture
def people(ctx: AppContext) -> People:
    return People(ctx)


def create_classified(client: TestClient, p: People, **extra: Any) -> dict[str, Any]:
    body = {
        "number": CASE,
        "title": "涉黑 organised crime",
        "classification": "confidential",
        "secrecy_period": "10",
        "secrecy_basis": "公安工作国家秘密范围的规定 第三条",
        **extra,
    }
    r = client.post("/api/v1/cases", json=body, headers=p.handler.headers)
    assert r.status_code == 201, r.text
    return dict(r.json())


def post(client: TestClient, who: Actor, path: str, body: dict[str, Any]) -> Any:
    return client.post(f"/api/v1/cases/{CASE}{path}", json=body, headers=who.headers)


def borrow(
    client: TestClient, who: Actor, perms: list[str], *, items: list[str] | None = None, **kw: Any
) -> dict[str, Any]:
    ends = kw.pop("ends_at", (utc_now() + timedelta(days=7)).isoformat())
    body = {"permissions": perms, "purpose": "起诉审查", "ends_at": ends, "items": items}
    r = post(client, who, "/borrowings", body)
    assert r.status_code == 201, r.text
    return dict(r.json())


def approve(client: TestClient, who: Actor, borrowing: str) -> Any:
    return post(client, who, f"/borrowings/{borrowing}/approve", {"reason": "同意"})


def denials(ctx: AppContext) -> list[dict[str, Any]]:
    return [e for e in entries(ctx) if e["action"] == Action.ACCESS_DENIED]


def download(client: TestClient, who: Actor, evidence: str) -> Any:
    return client.get(
        f"/api/v1/evidence/{evidence}/content", params={"purpose": "庭审"}, headers=who.headers
    )


# --- classification as a decision --------------------------------------------------------


def test_a_classified_case_without_a_period_or_basis_is_refused_and_not_created(
    client: TestClient, people: People, ctx: AppContext
) -> None:
    for missing in ("secrecy_period", "secrecy_basis"):
        body = {
            "number": CASE,
            "title": "x",
            "classification": "confidential",
            "secrecy_period": "10",
            "secrecy_basis": "依据",
        }
        del body[missing]
        r = client.post("/api/v1/cases", json=body, headers=people.handler.headers)
        assert r.status_code in (400, 422), r.text
        assert ("保密期限" in r.text) or ("定密依据" in r.text)
    body = {**body, "secrecy_basis": "依据", "secrecy_period": "25"}  # above 机密's 20 years
    r = client.post("/api/v1/cases", json=body, headers=people.handler.headers)
    assert r.status_code in (400, 422) and "20 years" in r.text
    assert not any(e["action"] == Action.CASE_CREATED for e in entries(ctx))


def test_the_mark_is_in_the_case_representation_and_the_decision_awaits_a_leader(
    client: TestClient, people: People
) -> None:
    case = create_classified(client, people)
    assert case["secrecy"]["mark"] == "机密★10年"
    assert case["secrecy"]["approver"] is None
    assert case["secrecy"]["pending_proposal"]["id"] == "initial"
    r = post(client, people.leader, "/classification/proposals/initial/approve", {"reason": "同意"})
    assert r.status_code == 200, r.text
    case = client.get(f"/api/v1/cases/{CASE}", headers=people.handler.headers).json()
    assert case["secrecy"]["approver"] == people.leader.name
    assert case["secrecy"]["proposer"] == people.handler.name
    assert case["secrecy"]["basis"].startswith("公安工作")


def test_a_classification_approved_by_its_proposer_or_another_departments_leader_is_refused(
    client: TestClient, people: People, ctx: AppContext, admin: Actor
) -> None:
    create_classified(client, people)
    path = "/classification/proposals/initial/approve"
    assert post(client, people.handler, path, {"reason": "x"}).status_code == 403  # not a leader
    assert post(client, admin, path, {"reason": "x"}).status_code in (403, 404)  # admins: accounts
    r = post(client, people.other_leader, path, {"reason": "x"})
    assert r.status_code in (403, 404)
    assert len(denials(ctx)) == 3


def test_raising_the_classification_takes_effect_only_when_a_leader_approves(
    client: TestClient, people: People, ctx: AppContext
) -> None:
    create_classified(client, people)
    r = post(
        client,
        people.handler,
        "/classification/proposals",
        {"level": "绝密", "period": "20", "basis": "涉及核心技术", "reason": "new facts"},
    )
    assert r.status_code == 409  # the initial decision is still open
    post(client, people.leader, "/classification/proposals/initial/approve", {"reason": "ok"})
    r = post(
        client,
        people.handler,
        "/classification/proposals",
        {"level": "绝密", "period": "20", "basis": "涉及核心技术", "reason": "new facts"},
    )
    assert r.status_code == 201 and r.json()["kind"] == "升密", r.text
    pid = r.json()["id"]
    case = client.get(f"/api/v1/cases/{CASE}", headers=people.handler.headers).json()
    assert case["classification"] == "confidential"  # not before the approval
    assert post(client, people.leader, f"/classification/proposals/{pid}/approve", {"reason": "ok"})
    case = client.get(f"/api/v1/cases/{CASE}", headers=people.handler.headers).json()
    assert case["classification"] == "top_secret" and case["secrecy"]["mark"] == "绝密★20年"
    kinds = [e["action"] for e in entries(ctx) if e["action"].startswith("classification.")]
    assert kinds == [
        "classification.approved",
        "classification.proposed",
        "classification.approved",
    ]
    # the witness (机密 clearance) no longer sees the case
    assert client.get(f"/api/v1/cases/{CASE}", headers=people.witness.headers).status_code == 404


def test_an_edited_cases_row_does_not_lower_the_classification(
    client: TestClient, people: People, ctx: AppContext
) -> None:
    from custody.models import Case

    create_classified(client, people)
    with ctx.session() as s:  # an insider rewrites the index row
        row = s.get(Case, CASE)
        assert row is not None
        row.classification = "public"
        s.commit()
    outsider = add_account(
        ctx, "qian.bo", role="technician", department="forensics", clearance="internal"
    )
    assert client.get(f"/api/v1/cases/{CASE}", headers=outsider.headers).status_code == 404


# --- borrowing ---------------------------------------------------------------------------


def test_borrowing_without_a_leaders_approval_gives_no_access(
    client: TestClient, people: People
) -> None:
    create_classified(client, people)
    ev = intake(client, people.handler, CASE, DATA)
    borrow(client, people.prosecutor, ["view", "download"])
    assert (
        client.get(f"/api/v1/evidence/{ev['id']}", headers=people.prosecutor.headers).status_code
        == 404
    )
    assert download(client, people.prosecutor, ev["id"]).status_code == 404


def test_a_grant_gives_nothing_on_a_classified_case(
    client: TestClient, people: People, admin: Actor
) -> None:
    create_classified(client, people)
    ev = intake(client, people.handler, CASE, DATA)
    r = client.post(
        f"/api/v1/cases/{CASE}/grants",
        json={
            "account": people.prosecutor.name,
            "permissions": ["view", "download"],
            "reason": "x",
        },
        headers=admin.headers,
    )
    assert r.status_code == 201, r.text
    assert download(client, people.prosecutor, ev["id"]).status_code == 404


def test_an_approval_by_the_wrong_departments_leader_is_refused(
    client: TestClient, people: People, ctx: AppContext
) -> None:
    create_classified(client, people)
    b = borrow(client, people.prosecutor, ["view"])
    before = len(denials(ctx))
    r = approve(client, people.other_leader, b["id"])
    assert r.status_code == 403 and "prosecution" in r.json()["detail"]
    assert len(denials(ctx)) == before + 1
    assert approve(client, people.prosecutor, b["id"]).status_code in (403, 404)  # not a leader


def test_a_confidential_borrowing_needs_both_departments_leaders_and_copies_are_numbered(
    client: TestClient, people: People
) -> None:
    create_classified(client, people)
    ev = intake(client, people.handler, CASE, DATA)
    b = borrow(client, people.prosecutor, ["view", "download"])
    assert b["needs_owner_approval"] is True
    r = approve(client, people.prosecution_leader, b["id"])
    assert r.status_code == 200 and r.json()["status"] == "pending"
    assert download(client, people.prosecutor, ev["id"]).status_code == 404
    assert approve(client, people.prosecution_leader, b["id"]).status_code == 403  # not twice
    r = approve(client, people.leader, b["id"])
    assert r.status_code == 200 and r.json()["status"] == "active", r.text
    first = download(client, people.prosecutor, ev["id"])
    assert first.status_code == 200 and first.content == DATA
    second = download(client, people.prosecutor, ev["id"])
    assert (first.headers["X-Custody-Copy-Number"], second.headers["X-Custody-Copy-Number"]) == (
        "1",
        "2",
    )


def test_access_after_the_borrowing_window_is_refused(client: TestClient, people: People) -> None:
    create_classified(client, people)
    ev = intake(client, people.handler, CASE, DATA)
    ends = (utc_now() + timedelta(seconds=2)).isoformat()
    b = borrow(client, people.prosecutor, ["view"], ends_at=ends)
    approve(client, people.prosecution_leader, b["id"])
    approve(client, people.leader, b["id"])
    assert (
        client.get(f"/api/v1/evidence/{ev['id']}", headers=people.prosecutor.headers).status_code
        == 200
    )
    time.sleep(2.2)
    assert (
        client.get(f"/api/v1/evidence/{ev['id']}", headers=people.prosecutor.headers).status_code
        == 404
    )
    listed = client.get(
        "/api/v1/borrowings", params={"status": "overdue"}, headers=people.leader.headers
    )
    assert [x["id"] for x in listed.json()] == [b["id"]]


def test_return_ends_access_early_and_items_outside_the_scope_stay_closed(
    client: TestClient, people: People
) -> None:
    create_classified(client, people)
    a = intake(client, people.handler, CASE, DATA)
    other = intake(client, people.handler, CASE, os.urandom(1000))
    b = borrow(client, people.prosecutor, ["view", "download"], items=[a["id"]])
    approve(client, people.prosecution_leader, b["id"])
    approve(client, people.leader, b["id"])
    assert download(client, people.prosecutor, a["id"]).status_code == 200
    assert download(client, people.prosecutor, other["id"]).status_code == 403
    r = post(client, people.prosecutor, f"/borrowings/{b['id']}/return", {"reason": "归还"})
    assert r.status_code == 200 and r.json()["status"] == "returned"
    assert download(client, people.prosecutor, a["id"]).status_code == 404


def test_the_owning_department_needs_a_borrowing_to_copy(
    client: TestClient, people: People
) -> None:
    create_classified(client, people)
    ev = intake(client, people.handler, CASE, DATA)
    assert (
        client.get(f"/api/v1/evidence/{ev['id']}", headers=people.handler.headers).status_code
        == 200
    )
    r = download(client, people.handler, ev["id"])
    assert r.status_code == 403 and "borrowing" in r.json()["detail"]
    b = borrow(client, people.handler, ["download"])
    assert b["needs_owner_approval"] is False  # one department: its leader signs once
    assert approve(client, people.leader, b["id"]).json()["status"] == "active"
    assert download(client, people.handler, ev["id"]).status_code == 200


def test_the_register_lists_requests_approvers_accesses_and_copies(
    client: TestClient, people: People, tmp_path: Path
) -> None:
    create_classified(client, people)
    ev = intake(client, people.handler, CASE, DATA)
    b = borrow(client, people.prosecutor, ["download"])
    approve(client, people.prosecution_leader, b["id"])
    approve(client, people.leader, b["id"])
    download(client, people.prosecutor, ev["id"])
    r = post(client, people.prosecutor, "/copies/1/destroyed", {"reason": "shredded"})
    assert r.status_code == 200, r.text
    assert (
        post(client, people.prosecutor, "/copies/1/destroyed", {"reason": "x"}).status_code == 409
    )
    r = client.get(
        f"/api/v1/cases/{CASE}/register", params={"format": "csv"}, headers=people.leader.headers
    )
    assert r.status_code == 200, r.text
    text = r.content.decode("utf-8-sig")
    assert text.startswith("机密★10年")
    for word in (
        b["id"],
        people.prosecution_leader.name,
        people.leader.name,
        "第 1 份",
        "shredded",
    ):
        assert word in text
    assert "evidence.download" in text
    r = client.get(
        f"/api/v1/cases/{CASE}/register", params={"format": "pdf"}, headers=people.leader.headers
    )
    assert r.content.startswith(b"%PDF")
    if shutil.which("pdftotext"):
        pdf = tmp_path / "register.pdf"
        pdf.write_bytes(r.content)
        first = subprocess.run(
            ["pdftotext", "-f", "1", "-l", "1", str(pdf), "-"], capture_output=True, text=True
        ).stdout
        assert "机密★10年" in first and b["id"][:8] in first
    assert client.get(
        f"/api/v1/cases/{CASE}/register", headers=people.prosecutor.headers
    ).status_code in (403, 404)


def test_an_export_is_a_numbered_copy_named_in_the_bundle(
    client: TestClient, people: People, ctx: AppContext, tmp_path: Path
) -> None:
    create_classified(client, people)
    ev = intake(client, people.handler, CASE, DATA)
    b = borrow(client, people.handler, ["download", "export"])
    approve(client, people.leader, b["id"])
    download(client, people.handler, ev["id"])  # copy 1
    r = client.post(
        f"/api/v1/cases/{CASE}/exports",
        json={"purpose": "移送法院"},
        headers=people.handler.headers,
    )
    assert r.status_code == 200, r.text
    package = r.json()
    assert package["copy_no"] == 2
    data = bundle_input(package, content={}, exported_at=rfc3339(utc_now()))
    out = write_bundle(data, tmp_path / "bundle", with_content=False)
    readme = (out / "data" / "README.zh.txt").read_text(encoding="utf-8")
    assert readme.splitlines()[0] == "机密★10年  第 2 份"
    case_json = json.loads((out / "data" / "case.json").read_text(encoding="utf-8"))
    assert case_json["export"]["copy_no"] == 2
    result = verify_bundle(out, trusted_key=ctx.signing_key.verifier())
    assert result.ok, [c for c in result.checks if not c.ok]
    assert any("numbered copies" in c.message and c.ok for c in result.checks)
    report = json.loads(base64.b64decode(package["case_report"]["json"]))
    assert report["copy_no"] == 2 and report["secrecy_mark"] == "机密★10年"


# --- destruction -------------------------------------------------------------------------


def _destruction(client: TestClient, p: People, ev: str, witness: str) -> Any:
    body = {"items": [ev], "reason": "结案", "place": "销毁室 3", "witness": witness}
    return post(client, p.handler, "/destructions", body)


def test_destruction_approved_by_an_administrator_is_refused(
    client: TestClient, people: People, admin: Actor, ctx: AppContext
) -> None:
    create_classified(client, people)
    ev = intake(client, people.handler, CASE, DATA)
    r = _destruction(client, people, ev["id"], people.witness.name)
    assert r.status_code == 201, r.text
    dl = r.json()
    r = post(client, admin, f"/destructions/{dl['id']}/approve", {"reason": "x"})
    assert r.status_code in (403, 404)  # administrators neither see nor approve
    # nor does the single-item path let anyone around the list
    r = client.post(
        f"/api/v1/evidence/{ev['id']}/disposal/approve", json={"reason": "x"}, headers=admin.headers
    )
    assert r.status_code in (403, 404)
    r = client.post(
        f"/api/v1/evidence/{ev['id']}/disposal",
        json={"reason": "x"},
        headers=people.handler.headers,
    )
    assert r.status_code == 403 and "destruction list" in r.json()["detail"]


def test_destruction_without_the_named_witness_deletes_nothing(
    client: TestClient, people: People, ctx: AppContext
) -> None:
    create_classified(client, people)
    ev = intake(client, people.handler, CASE, DATA)
    assert _destruction(client, people, ev["id"], people.handler.name).status_code == 403  # self
    dl = _destruction(client, people, ev["id"], people.witness.name).json()
    time.sleep(RETENTION_SECONDS + 0.2)
    r = post(client, people.leader, f"/destructions/{dl['id']}/approve", {"reason": "同意"})
    assert r.status_code == 200, r.text
    witness = {"place": "销毁室 3", "statement": "粉碎"}
    r = post(client, people.handler, f"/destructions/{dl['id']}/witness", witness)
    assert r.status_code == 403  # not the named witness
    shown = client.get(f"/api/v1/evidence/{ev['id']}", headers=people.handler.headers).json()
    assert shown["state"]["status"] == "disposal_approved"
    assert ctx.store.stat(ev["object_key"], ev["object_version"]) is not None
    r = post(client, people.witness, f"/destructions/{dl['id']}/witness", witness)
    assert r.status_code == 200 and r.json()["status"] == "witnessed", r.text
    shown = client.get(f"/api/v1/evidence/{ev['id']}", headers=people.handler.headers).json()
    assert shown["state"]["status"] == "disposed"
    steps = [e["action"] for e in entries(ctx) if e["action"].startswith("destruction.")]
    assert steps == ["destruction.proposed", "destruction.approved", "destruction.witnessed"]


def test_a_rejected_destruction_list_returns_its_items_to_custody(
    client: TestClient, people: People
) -> None:
    create_classified(client, people)
    ev = intake(client, people.handler, CASE, DATA)
    dl = _destruction(client, people, ev["id"], people.witness.name).json()
    r = post(client, people.leader, f"/destructions/{dl['id']}/reject", {"reason": "尚需保留"})
    assert r.status_code == 200 and r.json()["status"] == "rejected"
    shown = client.get(f"/api/v1/evidence/{ev['id']}", headers=people.handler.headers).json()
    assert shown["state"]["status"] == "in_custody"
    r = post(
        client,
        people.witness,
        f"/destructions/{dl['id']}/witness",
        {"place": "x", "statement": "y"},
    )
    assert r.status_code == 409
