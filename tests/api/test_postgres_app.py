"""The whole service on PostgreSQL: intake, refusal, access denial, verification, proofs."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.context import AppContext, build_context
from custody.checkpoint import open_checkpoint
from custody.ledger import Action
from custody.log_audit import audit_log
from custody.merkle import leaf_hash, verify_inclusion
from tests.conftest import add_account, make_settings

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_ctx(tmp_path: Path, postgres_url: str) -> Iterator[AppContext]:
    ctx = build_context(make_settings(tmp_path, database_url=postgres_url))
    yield ctx
    ctx.engine.dispose()


def test_service_on_postgresql(pg_ctx: AppContext) -> None:
    data = os.urandom(100_000)
    tech = add_account(pg_ctx, "li.wei", role="technician", department="forensics")
    outsider = add_account(pg_ctx, "qian", role="technician", department="elsewhere")
    admin = {"Authorization": "Bearer " + pg_ctx.settings.admin_token_path.read_text().strip()}
    with TestClient(create_app(context=pg_ctx)) as client:
        assert (
            client.post(
                "/api/v1/cases", json={"number": "PG-1", "title": "pg"}, headers=tech.headers
            ).status_code
            == 201
        )
        files = [("metadata", (None, json.dumps({"case": "PG-1"}))), ("file", ("a.bin", data))]
        r = client.post("/api/v1/evidence", files=files, headers=tech.headers)
        assert r.status_code == 201, r.text
        ev = r.json()
        assert ev["digests"]["sha256"] == hashlib.sha256(data).hexdigest()
        wrong = [
            (
                "metadata",
                (None, json.dumps({"case": "PG-1", "declared_digests": {"md5": "0" * 32}})),
            ),
            ("file", ("a.bin", data)),
        ]
        assert client.post("/api/v1/evidence", files=wrong, headers=tech.headers).status_code == 422
        assert (
            client.get(f"/api/v1/evidence/{ev['id']}", headers=outsider.headers).status_code == 404
        )
        r = client.post(f"/api/v1/evidence/{ev['id']}/verifications", headers=tech.headers)
        assert r.json()["result"] == "pass", r.json()["report"]["findings"]

        # Custody history: every entry proven against one signed checkpoint.
        history = client.get(f"/api/v1/evidence/{ev['id']}/custody", headers=tech.headers).json()
        checkpoint = open_checkpoint(history["checkpoint"], [pg_ctx.signing_key.verifier()])
        for entry in history["entries"]:
            verify_inclusion(
                leaf_hash=leaf_hash(base64.b64decode(entry["canonical"])),
                index=entry["seq"],
                size=checkpoint.size,
                proof=[base64.b64decode(h) for h in entry["proof"]["hashes"]],
                root=checkpoint.root,
            )
        actions = [e["entry"]["action"] for e in history["entries"]]
        assert actions[0] == Action.INTAKE and Action.VERIFICATION in actions

        # The auditor's view of the whole ledger agrees with the signed root.
        note = client.get("/api/v1/ledger/checkpoint", headers=admin).text
        latest = open_checkpoint(note, [pg_ctx.signing_key.verifier()])
        rows = client.get(
            "/api/v1/ledger/entries", params={"start": 0, "end": latest.size}, headers=admin
        ).json()
        result = audit_log([(e["seq"], base64.b64decode(e["canonical"])) for e in rows], latest)
        assert result.size == latest.size
        assert Action.INTAKE_REFUSED in [e["entry"]["action"] for e in rows]
        assert Action.ACCESS_DENIED in [e["entry"]["action"] for e in rows]
