"""Re-verification over HTTP: signed reports, and attacks on the stored object named."""

from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from api.context import AppContext
from custody.ledger import Action, utc_now
from custody.models import LedgerEntry
from custody.report import parse_report, verify_report_signature
from tests.api.test_access import entries, intake
from tests.conftest import Actor

DATA = os.urandom(200_000)


def object_path(ctx: AppContext, ev: dict[str, Any]) -> Path:
    return ctx.settings.data_dir / "store" / ev["object_key"]


def verify(client: TestClient, actor: Actor, evidence_id: str, fmt: str = "json") -> Any:
    r = client.post(
        f"/api/v1/evidence/{evidence_id}/verifications",
        params={"format": fmt},
        headers=actor.headers,
    )
    assert r.status_code == 200, r.text
    return r


def test_verification_passes_is_signed_and_recorded(
    client: TestClient, ctx: AppContext, technician: Actor, case: str
) -> None:
    ev = intake(client, technician, case, DATA)
    r = verify(client, technician, ev["id"])
    body = r.json()
    assert body["result"] == "pass", body["report"]["findings"]
    report = body["report"]
    assert {d["algorithm"]: d["match"] for d in report["digests"]} == {
        "blake3": True,
        "md5": True,
        "sha256": True,
    }
    assert report["lock"]["mode"] == "LOCAL-WORM" and report["lock"]["ok"]
    assert next(e["action"] for e in report["custody"]) == Action.INTAKE
    assert all(e["chain_ok"] and e["proof_ok"] for e in report["custody"])
    # The detached signature verifies with the ledger key over the canonical bytes.
    from custody.canonical import canonical_json

    canonical = canonical_json(report)
    signer = verify_report_signature(canonical, body["signature"], [ctx.signing_key.verifier()])
    assert signer.name == ctx.settings.ledger_origin
    assert parse_report(canonical).result == "pass"
    recorded = entries(ctx)[body["ledger_seq"]]
    assert recorded["action"] == Action.VERIFICATION
    assert recorded["details"]["report_sha256"] == body["report_hash"]


def test_report_renders_as_html_and_pdf(client: TestClient, technician: Actor, case: str) -> None:
    ev = intake(client, technician, case, DATA)
    html = verify(client, technician, ev["id"], "html")
    assert html.headers["content-type"].startswith("text/html")
    assert ev["digests"]["sha256"] in html.text and "案件编号" in html.text
    pdf = verify(client, technician, ev["id"], "pdf")
    assert pdf.content.startswith(b"%PDF")
    assert pdf.headers["x-verification-result"] == "pass"


def test_attack_flipped_byte_in_stored_object(
    client: TestClient, ctx: AppContext, technician: Actor, case: str
) -> None:
    ev = intake(client, technician, case, DATA)
    path = object_path(ctx, ev)
    path.chmod(0o644)  # what root, or anyone with write access to the folder, can do
    raw = bytearray(path.read_bytes())
    raw[1000] ^= 0x01
    path.write_bytes(bytes(raw))
    path.chmod(0o444)
    body = verify(client, technician, ev["id"]).json()
    assert body["result"] == "fail"
    assert any("sha256" in f and "stored bytes changed" in f for f in body["report"]["findings"])
    assert not any(d["match"] for d in body["report"]["digests"])


def test_attack_retention_shortened_and_hold_removed_behind_the_ledger(
    client: TestClient, ctx: AppContext, technician: Actor, case: str
) -> None:
    ev = intake(client, technician, case, DATA)
    r = client.post(
        f"/api/v1/evidence/{ev['id']}/legal-hold",
        json={"on": True, "reason": "appeal"},
        headers=technician.headers,
    )
    assert r.status_code == 200
    lock_file = object_path(ctx, ev).with_name(object_path(ctx, ev).name + ".lock.json")
    shorter = (utc_now() + timedelta(days=1)).isoformat()
    lock_file.write_text(json.dumps({"retain_until": shorter, "legal_hold": False}))
    body = verify(client, technician, ev["id"]).json()
    assert body["result"] == "fail"
    findings = " | ".join(body["report"]["findings"])
    assert "shortened" in findings and "legal hold is off in storage but on" in findings


def test_attack_ledger_entry_edited_is_reported(
    client: TestClient, ctx: AppContext, technician: Actor, case: str
) -> None:
    ev = intake(client, technician, case, DATA)
    with ctx.session() as s:
        seq = (
            s.execute(select(LedgerEntry).where(LedgerEntry.evidence_id == ev["id"]))
            .scalar_one()
            .seq
        )
    from sqlalchemy import text

    with ctx.engine.begin() as conn:
        conn.exec_driver_sql("DROP TRIGGER ledger_entries_no_update")
        old = conn.execute(text(f"SELECT canonical FROM ledger_entries WHERE seq = {seq}")).scalar()
        conn.execute(
            text("UPDATE ledger_entries SET canonical = :c WHERE seq = :s"),
            {"c": bytes(old).replace(b"li.wei", b"mallo"), "s": seq},
        )
    body = verify(client, technician, ev["id"]).json()
    assert body["result"] == "fail"
    assert any(f"entry {seq}" in f and "altered" in f for f in body["report"]["findings"])


def test_disposed_evidence_cannot_be_verified_as_present(
    client: TestClient, ctx: AppContext, technician: Actor, case: str
) -> None:
    ev = intake(client, technician, case, DATA)
    path = object_path(ctx, ev)
    path.chmod(0o644)
    path.unlink()
    body = verify(client, technician, ev["id"]).json()
    assert body["result"] == "fail"
    assert any("missing" in f for f in body["report"]["findings"])
