"""An export either records its verifications and its export entry together, or nothing."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.context import AppContext
from api.services import export
from custody import ledger_store
from custody.ledger import Action
from custody.report import VerificationReport
from tests.api.test_access import entries, intake
from tests.conftest import Actor


def ledger_size(ctx: AppContext) -> int:
    with ctx.session() as session:
        return ledger_store.size(session)


def test_export_that_fails_while_rendering_records_no_entry(
    ctx: AppContext,
    technician: Actor,
    case: str,
    client: TestClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = intake(client, technician, case, os.urandom(3000))
    intake(client, technician, case, os.urandom(4000))
    before = ledger_size(ctx)
    original = export.signed_report_pdf

    def failing(report: VerificationReport, **kwargs: Any) -> bytes:
        if report.evidence_id != first["id"]:
            raise RuntimeError("the renderer gave up on the second item")
        return original(report, **kwargs)

    monkeypatch.setattr(export, "signed_report_pdf", failing)
    with TestClient(client.app, raise_server_exceptions=False) as c:
        r = c.post(
            f"/api/v1/cases/{case}/exports", json={"purpose": "court"}, headers=technician.headers
        )
    assert r.status_code == 500
    assert ledger_size(ctx) == before  # no verification entry, no export entry
    monkeypatch.setattr(export, "signed_report_pdf", original)
    r = client.post(
        f"/api/v1/cases/{case}/exports", json={"purpose": "court"}, headers=technician.headers
    )
    assert r.status_code == 200, r.text
    recorded = [e["action"] for e in entries(ctx)[before:]]
    assert recorded == [Action.VERIFICATION, Action.VERIFICATION, Action.EXPORT]
    package = r.json()
    assert package["export_seq"] == before + 2
    assert json.loads(package["checkpoint"].split("\n")[1]) == before + 3  # ends at the export
