"""Verification is anchored in the ledger: an insider who edits the evidence table is caught.

The setup of issue 9: someone with write access to the database and the store flips a byte
of an object, restores its read-only mode, and rewrites the row's digests (and seal number)
to match. The INTAKE entry, proven against the signed checkpoint, still holds the original
values; verification compares with it and names the table as disagreeing.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import blake3
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from api.context import AppContext
from tests.conftest import Actor

DATA = os.urandom(150_000)


def intake(client: TestClient, actor: Actor, case: str, data: bytes = DATA) -> dict[str, Any]:
    meta = {
        "case": case,
        "seal_no": "FC-2026-001",
        "description": "涉案手机全盘镜像",
        "media": {"kind": "phone", "serial": "F2LX1234"},
    }
    r = client.post(
        "/api/v1/evidence",
        files=[("metadata", (None, json.dumps(meta))), ("file", ("phone.E01", data))],
        headers=actor.headers,
    )
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


def object_path(ctx: AppContext, ev: dict[str, Any]) -> Path:
    return ctx.settings.data_dir / "store" / ev["object_key"]


def flip_byte(path: Path, at: int = 1000) -> bytes:
    """Flip one byte behind the store's back and restore the read-only mode."""
    os.chmod(path, 0o644)
    data = bytearray(path.read_bytes())
    data[at] ^= 0x01
    path.write_bytes(bytes(data))
    os.chmod(path, 0o444)
    return bytes(data)


def edit_row(ctx: AppContext, evidence_id: str, **columns: object) -> None:
    """An UPDATE straight into the evidence table, as an insider with database access."""
    sets = ", ".join(f"{name} = :{name}" for name in columns)
    with ctx.engine.begin() as conn:
        conn.execute(
            text(f"UPDATE evidence SET {sets} WHERE id = :id"), {**columns, "id": evidence_id}
        )


def verify(client: TestClient, actor: Actor, evidence_id: str) -> dict[str, Any]:
    r = client.post(f"/api/v1/evidence/{evidence_id}/verifications", headers=actor.headers)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def test_attack_flipped_byte_with_table_digests_rewritten_to_match(
    client: TestClient, ctx: AppContext, technician: Actor, case: str
) -> None:
    ev = intake(client, technician, case, DATA)
    changed = flip_byte(object_path(ctx, ev))
    forged = {
        "blake3": blake3.blake3(changed).hexdigest(),
        "md5": hashlib.md5(changed).hexdigest(),
        "sha256": hashlib.sha256(changed).hexdigest(),
    }
    edit_row(ctx, ev["id"], digests=json.dumps(forged, sort_keys=True), seal_no="FC-FORGED")
    body = verify(client, technician, ev["id"])
    assert body["result"] == "fail"
    report = body["report"]
    # compared with the INTAKE entry, not the row: every recorded value is the original
    assert {d["algorithm"]: d["recorded"] for d in report["digests"]} == ev["digests"]
    assert not any(d["match"] for d in report["digests"])
    assert report["seal_no"] == "FC-2026-001"
    findings = report["findings"]
    assert any("sha256 is now " + forged["sha256"] in f and "INTAKE entry" in f for f in findings)
    assert any(
        f.startswith("the evidence table disagrees with the ledger: digests") for f in findings
    )
    assert any(
        f.startswith("the evidence table disagrees with the ledger: seal_no is 'FC-FORGED'")
        for f in findings
    )
    # what the API shows is the ledger's record, with the disagreement named
    shown = client.get(f"/api/v1/evidence/{ev['id']}", headers=technician.headers).json()
    assert shown["digests"] == ev["digests"] and shown["seal_no"] == ev["seal_no"]
    assert any("seal_no" in f for f in shown["ledger_findings"])


@pytest.mark.parametrize(
    ("column", "value", "field"),
    [
        ("seal_no", "FC-0000", "seal_no"),
        ("size", 1, "size"),
        ("original_filename", "other.bin", "filename"),
        ("description", "edited", "description"),
        ("content_type", "text/plain", "content_type"),
        ("declared_digests", '{"md5": "00000000000000000000000000000000"}', "declared_digests"),
        ("technician", "mallory", "technician"),
        ("retention_until", "2000-01-01 00:00:00", "retention_until"),
        ("intake_seq", 0, "intake_seq"),
        ("media", '{"kind": "edited"}', "media"),
    ],
)
def test_attack_evidence_row_edited_is_a_finding(
    client: TestClient,
    ctx: AppContext,
    technician: Actor,
    case: str,
    column: str,
    value: object,
    field: str,
) -> None:
    ev = intake(client, technician, case, DATA)
    edit_row(ctx, ev["id"], **{column: value})
    body = verify(client, technician, ev["id"])
    assert body["result"] == "fail"
    assert any(
        f.startswith(f"the evidence table disagrees with the ledger: {field} is ")
        for f in body["report"]["findings"]
    ), body["report"]["findings"]
    # the content itself is intact and is still checked against the INTAKE entry
    assert all(d["match"] for d in body["report"]["digests"])


def test_attack_object_key_redirected_to_other_content(
    client: TestClient, ctx: AppContext, technician: Actor, case: str
) -> None:
    """The row is pointed at another (intact, locked) object: verification still reads the
    object the INTAKE entry pinned, and names the redirect."""
    ev = intake(client, technician, case, DATA)
    other = intake(client, technician, case, os.urandom(5000))
    edit_row(ctx, ev["id"], object_key=other["object_key"])
    body = verify(client, technician, ev["id"])
    assert all(d["match"] for d in body["report"]["digests"])
    assert body["report"]["storage_key"] == ev["object_key"]
    assert any("object_key is " in f for f in body["report"]["findings"])
    assert body["result"] == "fail"


def test_untouched_item_passes_with_no_table_findings(
    client: TestClient, technician: Actor, case: str
) -> None:
    ev = intake(client, technician, case, DATA)
    body = verify(client, technician, ev["id"])
    assert body["result"] == "pass", body["report"]["findings"]
    shown = client.get(f"/api/v1/evidence/{ev['id']}", headers=technician.headers).json()
    assert shown["ledger_findings"] == []


def test_attack_row_redirected_download_still_serves_the_intake_object(
    client: TestClient, ctx: AppContext, technician: Actor, case: str
) -> None:
    """A download serves, names and sizes what the INTAKE entry recorded, not the row."""
    ev = intake(client, technician, case, DATA)
    other = intake(client, technician, case, os.urandom(5000))
    edit_row(
        ctx,
        ev["id"],
        object_key=other["object_key"],
        size=5000,
        original_filename="other.bin",
        digests=json.dumps(other["digests"]),
    )
    r = client.get(
        f"/api/v1/evidence/{ev['id']}/content",
        params={"purpose": "review"},
        headers=technician.headers,
    )
    assert r.status_code == 200, r.text
    assert r.content == DATA
    assert r.headers["x-custody-sha256"] == ev["digests"]["sha256"]
    assert "phone.E01" in r.headers["content-disposition"]
